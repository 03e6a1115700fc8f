package githubtest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// batchProc is a long-running "git cat-file --batch[-check]". Spawning git
// costs ~10-20 ms here; a query on a running one costs microseconds, and
// the API resolves names and reads objects on almost every request.
type batchProc struct {
	mu      sync.Mutex
	dir     string
	content bool // --batch (with content) rather than --batch-check
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Reader
}

func (b *batchProc) start() error {
	mode := "--batch-check"
	if b.content {
		mode = "--batch"
	}
	cmd := exec.Command("git", "cat-file", mode)
	cmd.Env = gitEnv("GIT_DIR=" + b.dir)
	cmd.Dir = b.dir
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start git cat-file %s: %w", mode, err)
	}
	b.cmd, b.in, b.out = cmd, in, bufio.NewReaderSize(out, 64<<10)
	return nil
}

func (b *batchProc) stop() {
	if b.cmd == nil {
		return
	}
	b.in.Close()
	done := make(chan struct{})
	go func() { b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		b.cmd.Process.Kill()
		<-done
	}
	b.cmd = nil
}

// query asks for one object name; found is false for missing or ambiguous
// names. Names never contain newlines (refs and SHAs cannot).
func (b *batchProc) query(name string) (sha, typ string, size int64, content []byte, found bool, err error) {
	if strings.ContainsAny(name, "\n\r") || name == "" {
		return "", "", 0, nil, false, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for attempt := 0; attempt < 2; attempt++ {
		if b.cmd == nil {
			if err = b.start(); err != nil {
				return
			}
		}
		sha, typ, size, content, found, err = b.ask(name)
		if err == nil {
			return
		}
		b.stop() // a broken pipe: restart once
	}
	return
}

func (b *batchProc) ask(name string) (sha, typ string, size int64, content []byte, found bool, err error) {
	if _, err = io.WriteString(b.in, name+"\n"); err != nil {
		return
	}
	line, err := b.out.ReadString('\n')
	if err != nil {
		return
	}
	f := strings.Fields(line)
	if len(f) != 3 {
		// "<name> missing" or "<name> ambiguous"
		return "", "", 0, nil, false, nil
	}
	size, err = strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return "", "", 0, nil, false, fmt.Errorf("cat-file: bad header %q", line)
	}
	if b.content {
		content = make([]byte, size+1) // object plus a trailing newline
		if _, err = io.ReadFull(b.out, content); err != nil {
			return
		}
		content = content[:size]
	}
	return f[0], f[1], size, content, true, nil
}

// gitCache keeps what never changes for a given object id.
type gitCache struct {
	mu      sync.Mutex
	commits map[string]commitInfo
	diffs   map[string][]fileChange
	merges  map[string]mergeResult
}

type mergeResult struct {
	tree      string
	ok        bool
	conflicts []string
}

func parseCommitObject(sha string, raw []byte) (commitInfo, error) {
	ci := commitInfo{SHA: sha}
	header, msg, _ := bytes.Cut(raw, []byte("\n\n"))
	ci.Message = string(msg)
	for _, line := range strings.Split(string(header), "\n") {
		key, val, _ := strings.Cut(line, " ")
		switch key {
		case "tree":
			ci.Tree = val
		case "parent":
			ci.Parents = append(ci.Parents, val)
		case "author":
			ci.Author = parseIdent(val)
		case "committer":
			ci.Committer = parseIdent(val)
		}
	}
	if ci.Tree == "" {
		return ci, fmt.Errorf("commit %s: no tree header", sha)
	}
	return ci, nil
}

// parseIdent reads "Name <email> 1700000000 +0100".
func parseIdent(s string) signature {
	lt, gt := strings.LastIndex(s, "<"), strings.LastIndex(s, ">")
	if lt < 0 || gt < lt {
		return signature{Name: s}
	}
	sig := signature{Name: strings.TrimSpace(s[:lt]), Email: s[lt+1 : gt]}
	f := strings.Fields(s[gt+1:])
	if len(f) == 2 {
		sec, _ := strconv.ParseInt(f[0], 10, 64)
		t := time.Unix(sec, 0)
		if zone, err := time.Parse("-0700", f[1]); err == nil {
			_, off := zone.Zone()
			t = t.In(time.FixedZone("", off))
		}
		sig.Date = t
	}
	return sig
}

func (g *gitRepo) close() {
	g.check.mu.Lock()
	g.check.stop()
	g.check.mu.Unlock()
	g.cat.mu.Lock()
	g.cat.stop()
	g.cat.mu.Unlock()
}
