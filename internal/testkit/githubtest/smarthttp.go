package githubtest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

// Git smart HTTP: the same bare repositories the API uses, served by
// git http-backend at <URL>/<owner>/<name>.git. Basic auth takes a token as
// the password (any user name), like GitHub. Pushes go straight into the
// repository, so the API sees them at once.

var gitPathRE = regexp.MustCompile(`^/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)\.git(/.*)?$`)

func isGitPath(p string) bool { return gitPathRE.MatchString(p) }

// countingWriter records the status and body size for the request log and
// keeps Hijack working for connection-reset faults.
type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (w *countingWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *countingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if hj, ok := w.ResponseWriter.(http.Hijacker); ok {
		return hj.Hijack()
	}
	return nil, nil, fmt.Errorf("hijack not supported")
}

const gitTemplate = "/{owner}/{repo}.git/{path}"

func (s *Server) serveGit(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	cw := &countingWriter{ResponseWriter: w}
	rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Operation: r.Method + " " + gitTemplate, RequestBytes: r.ContentLength}
	defer func() {
		rec.Status, rec.ResponseBytes, rec.Duration = cw.status, cw.n, time.Since(start)
		s.log.add(rec)
	}()
	if d := s.faults.currentLatency(); d > 0 {
		sleepCtx(r.Context(), d)
	}
	if f, hit := s.faults.take(r.Method, gitTemplate, r.URL.Path); hit {
		if f.Delay > 0 {
			sleepCtx(r.Context(), f.Delay)
		}
		if f.Reset || f.Status != 0 {
			rec.Injected = true
			s.applyFault(cw, r, &call{s: s, r: r}, f, &rec)
			return
		}
	}
	m := gitPathRE.FindStringSubmatch(r.URL.Path)
	repo := s.repo(m[1], m[2])
	service := r.URL.Query().Get("service")
	if service == "" {
		service = strings.TrimPrefix(m[3], "/")
	}
	need := Read
	if service == "git-receive-pack" {
		need = Write
	}
	given := tokenFrom(r)
	s.mu.Lock()
	tok := s.tokens[given]
	s.mu.Unlock()
	access := None
	if tok != nil {
		rec.Login = tok.login
		if repo != nil {
			access = tok.accessTo(repo.fullName())
			if tok.app != nil && access >= Read && tok.perms["contents"] >= Read {
				// Git needs contents: read to fetch and contents: write to
				// push, like the contents API.
				access = tok.perms["contents"]
			} else if tok.app != nil && access >= Read {
				access = None
				if !repo.private {
					access = Read
				}
			}
		}
	}
	if repo != nil && !repo.private && access < Read {
		access = Read
	}
	challenge := func() {
		cw.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
		http.Error(cw, "Authentication failed", http.StatusUnauthorized)
	}
	switch {
	case tok == nil && (given != "" || repo == nil || repo.private || need == Write):
		// Ask for (valid) credentials first, so git retries with them and
		// a private repository's existence does not leak.
		challenge()
		return
	case repo == nil || access < Read:
		http.Error(cw, "Repository not found.", http.StatusNotFound)
		return
	case access < need:
		http.Error(cw, fmt.Sprintf("Permission to %s.git denied to %s.", repo.fullName(), rec.Login), http.StatusForbidden)
		return
	}
	gitBin, err := exec.LookPath("git")
	if err != nil {
		http.Error(cw, "git not found", http.StatusInternalServerError)
		return
	}
	user := "anonymous"
	if tok != nil {
		user = tok.login
	}
	if service == "git-receive-pack" && r.Method == http.MethodPost {
		body, refused, cmds, err := s.checkPush(r, repo, tok)
		if err != nil {
			http.Error(cw, "push check: "+err.Error(), http.StatusInternalServerError)
			return
		}
		if refused != nil {
			cw.Header().Set("Content-Type", "application/x-git-receive-pack-result")
			cw.Header().Set("Cache-Control", "no-cache")
			cw.WriteHeader(http.StatusOK)
			cw.Write(refused)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		defer func() {
			s.pushed(repo, cmds, tok.login)
			s.noticeHeads(repo)
		}()
	}
	h := &cgi.Handler{
		Path: gitBin,
		Args: []string{"http-backend"},
		Dir:  s.dir,
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.dir,
			"GIT_HTTP_EXPORT_ALL=1",
			"REMOTE_USER=" + user,
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL=" + os.DevNull,
			"HOME=" + os.TempDir(),
			"PATH=" + os.Getenv("PATH"),
			"MALLOC_TOP_PAD_=67108864", // see gitEnv
			// Pushes made through smart HTTP are by the token's user.
			"GIT_COMMITTER_NAME=" + user,
			"GIT_COMMITTER_EMAIL=" + user + "@users.noreply.github.com",
		},
		Stderr: os.Stderr,
	}
	defer s.notePushes(repo, user, service == "git-receive-pack")() // fake-fidelity: require_last_push_approval
	h.ServeHTTP(cw, r)
}
