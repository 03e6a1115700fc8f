package githubtest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Rulesets on git pushes. GitHub checks every ref a push updates against
// the rulesets in force before accepting anything, and refuses the whole
// push with GH013 when a rule is broken, e.g.
//
//	remote: error: GH013: Repository rule violations found for refs/heads/main.
//	remote: Review all repository rules at https://github.com/o/r/rules?ref=refs%2Fheads%2Fmain
//	remote:
//	remote: - Changes must be made through a pull request.
//	remote:
//	 ! [remote rejected] main -> main (push declined due to repository rule violations)
//
// ("About rulesets"; the message as git shows it, e.g.
// https://github.com/opendatahub-io/notebooks/pull/2584). The server reads
// the push's commands and pack before git http-backend sees them, indexes
// the pack into a quarantine directory to judge fast-forwards and merge
// commits, and answers the refusal itself in git's receive-pack protocol.

const maxPush = 256 << 20

type pushCommand struct{ old, new, ref string }

// pushDeclined is the reason git prints after "[remote rejected]".
const pushDeclined = "push declined due to repository rule violations"

// checkPush reads the receive-pack request. It returns the body to hand to
// git http-backend, or the complete receive-pack answer refusing the push.
func (s *Server) checkPush(r *http.Request, repo *repoState, tok *token) (body, refused []byte, cmds []pushCommand, err error) {
	body, err = io.ReadAll(io.LimitReader(r.Body, maxPush+1))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read push: %w", err)
	}
	if len(body) > maxPush {
		return nil, nil, nil, fmt.Errorf("push larger than %d bytes", maxPush)
	}
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	r.TransferEncoding = nil
	plain := body
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, nil, nil, fmt.Errorf("gzip push: %w", err)
		}
		if plain, err = io.ReadAll(io.LimitReader(zr, maxPush)); err != nil {
			return nil, nil, nil, fmt.Errorf("gzip push: %w", err)
		}
	}
	cmds, caps, pack, err := parsePush(plain)
	if err != nil {
		return nil, nil, nil, err
	}
	s.mu.Lock()
	none := len(repo.rulesets) == 0
	s.mu.Unlock()
	if none || len(cmds) == 0 {
		return body, nil, cmds, nil
	}
	ctx := context.Background()
	var env []string
	quarantine := func() ([]string, error) {
		if env != nil || len(pack) == 0 {
			return env, nil
		}
		dir, err := os.MkdirTemp("", "githubtest-push-*")
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Join(dir, "pack"), 0o755); err != nil {
			return nil, err
		}
		// Objects of a refused push must never reach the repository, so
		// they are indexed on the side (git's own receive quarantine).
		if _, err := repo.git.run(ctx, pack, nil, "index-pack", "--stdin", "--fix-thin", filepath.Join(dir, "pack", "push.pack")); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		env = []string{"GIT_OBJECT_DIRECTORY=" + dir, "GIT_ALTERNATE_OBJECT_DIRECTORIES=" + filepath.Join(repo.git.dir, "objects")}
		return env, nil
	}
	defer func() {
		for _, e := range env {
			if d, ok := strings.CutPrefix(e, "GIT_OBJECT_DIRECTORY="); ok {
				os.RemoveAll(d)
			}
		}
	}()
	var report []string // the GH013 lines, per ref
	for _, c := range cmds {
		branch, ok := branchOf(c.ref)
		if !ok {
			continue
		}
		op, merges := opUpdate, false
		switch {
		case c.old == zeroOID:
			op = opCreate
		case c.new == zeroOID:
			op = opDelete
		}
		if op != opDelete {
			qenv, err := quarantine()
			if err != nil {
				return nil, nil, nil, fmt.Errorf("index pushed objects: %w", err)
			}
			if op == opUpdate {
				if _, err := repo.git.run(ctx, nil, qenv, "merge-base", "--is-ancestor", c.old, c.new); err != nil {
					if exitCode(err) != 1 {
						return nil, nil, nil, err
					}
					op = opForcePush
				}
			}
			if s.wantsLinear(repo, branch) {
				if merges, err = s.newMerges(ctx, repo, c.old, c.new, qenv); err != nil {
					return nil, nil, nil, err
				}
			}
		}
		v := s.refRules(repo, tok, branch, op, merges)
		if v == "" {
			continue
		}
		report = append(report,
			fmt.Sprintf("error: GH013: Repository rule violations found for %s.", c.ref),
			fmt.Sprintf("Review all repository rules at %s/rules?ref=%s", s.repoHTMLURL(repo), url.QueryEscape(c.ref)),
			"")
		for _, m := range strings.Split(v, "\n\n") {
			report = append(report, "- "+m)
		}
		report = append(report, "")
	}
	if len(report) == 0 {
		return body, nil, cmds, nil
	}
	return nil, receivePackRefusal(cmds, caps, report), nil, nil
}

// parsePush splits a receive-pack request into its commands, the
// capabilities of the first one, and the pack that follows.
func parsePush(b []byte) (cmds []pushCommand, caps map[string]bool, pack []byte, err error) {
	caps = map[string]bool{}
	readList := func() ([]string, error) {
		var lines []string
		for {
			if len(b) < 4 {
				return nil, errors.New("truncated pkt-line")
			}
			n, err := strconv.ParseUint(string(b[:4]), 16, 16)
			if err != nil {
				return nil, fmt.Errorf("bad pkt-line length %q", b[:4])
			}
			if n == 0 {
				b = b[4:]
				return lines, nil
			}
			if n < 4 || int(n) > len(b) {
				return nil, errors.New("bad pkt-line length")
			}
			lines = append(lines, strings.TrimSuffix(string(b[4:n]), "\n"))
			b = b[n:]
		}
	}
	lines, err := readList()
	if err != nil {
		return nil, nil, nil, err
	}
	for i, l := range lines {
		if strings.HasPrefix(l, "shallow ") {
			continue
		}
		l, capList, found := strings.Cut(l, "\x00")
		if found || i == 0 {
			for _, c := range strings.Fields(capList) {
				caps[c] = true
			}
		}
		f := strings.Fields(l)
		if len(f) != 3 {
			return nil, nil, nil, fmt.Errorf("bad push command %q", l)
		}
		cmds = append(cmds, pushCommand{old: f[0], new: f[1], ref: f[2]})
	}
	if caps["push-options"] && len(b) > 0 {
		if _, err := readList(); err != nil {
			return nil, nil, nil, err
		}
	}
	return cmds, caps, b, nil
}

func pktLine(s string) []byte { return []byte(fmt.Sprintf("%04x%s", len(s)+4, s)) }

// receivePackRefusal is receive-pack's answer refusing every command
// (atomically, as GitHub does for a rule violation): the messages on
// side-band 2 (git prints them as "remote: ..."), then the report-status.
func receivePackRefusal(cmds []pushCommand, caps map[string]bool, messages []string) []byte {
	var status bytes.Buffer
	status.Write(pktLine("unpack ok\n"))
	for _, c := range cmds {
		status.Write(pktLine("ng " + c.ref + " " + pushDeclined + "\n"))
	}
	status.WriteString("0000")
	if !caps["side-band-64k"] && !caps["side-band"] {
		return status.Bytes()
	}
	var out bytes.Buffer
	for _, m := range messages {
		out.Write(pktLine("\x02" + m + "\n"))
	}
	out.Write(pktLine("\x01" + status.String()))
	out.WriteString("0000")
	return out.Bytes()
}

// pushed records who moved each branch of an accepted push (the commands
// whose ref now holds the new value), for LastPusher.
func (s *Server) pushed(repo *repoState, cmds []pushCommand, login string) {
	for _, c := range cmds {
		branch, ok := branchOf(c.ref)
		if !ok || c.new == zeroOID {
			continue
		}
		if sha, err := repo.git.refSHA(context.Background(), c.ref); err == nil && sha == c.new {
			s.recordPush(repo, branch, login)
		}
	}
}

// recordPush notes that login moved branch: GitHub's "most recent
// reviewable push" has a pusher (require_last_push_approval).
func (s *Server) recordPush(r *repoState, branch, login string) {
	s.mu.Lock()
	s.pushers[strings.ToLower(r.fullName())+"\x00"+branch] = login
	s.mu.Unlock()
}

// LastPusher returns the login that last moved branch through the API
// (ref create/update, contents PUT) or a git push; "" when only seeding
// helpers or merges moved it.
func (s *Server) LastPusher(owner, repo, branch string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pushers[strings.ToLower(owner+"/"+repo)+"\x00"+branch]
}
