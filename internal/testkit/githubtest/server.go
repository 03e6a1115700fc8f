// Package githubtest is a strict, stateful stand-in for GitHub's REST API
// and git smart HTTP, for tests and local demos. Repository content lives in
// real bare git repositories driven by the git CLI; pull requests, comments,
// labels, deployments, statuses and rulesets live in memory. Every request
// and response is validated against GitHub's official OpenAPI description
// (see openapi/), and tests can inject faults. See README.md.
package githubtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// Config configures Start. The zero value is usable.
type Config struct {
	// Addr to listen on; default "127.0.0.1:0". Only loopback addresses are
	// accepted: this server has no business on a real network.
	Addr string
	// Dir holds the bare repositories (Dir/owner/name.git). Default: a new
	// temporary directory, removed by Close.
	Dir string
	// RateLimit is each token's requests per hour (default 5000).
	RateLimit int
	// NoDefaultToken skips registering DefaultToken.
	NoDefaultToken bool
	// Logf receives OpenAPI violations and internal errors as they happen
	// (New wires it to t.Logf). Default: discard.
	Logf func(format string, args ...any)
}

// Option adjusts the Config used by New.
type Option func(*Config)

// WithRateLimit sets each token's requests per hour.
func WithRateLimit(n int) Option { return func(c *Config) { c.RateLimit = n } }

// Server is a running local GitHub.
type Server struct {
	// URL is the server root, e.g. http://127.0.0.1:PORT (GITHUB_SERVER_URL).
	URL string

	cfg    Config
	spec   *spec
	router *router
	faults *Faults
	log    requestLog
	ln     net.Listener
	http   *http.Server
	dir    string
	ownDir bool

	mu         sync.Mutex
	tokens     map[string]*token
	apps       map[int64]*app
	onHead     map[string][]func(pr int, headSHA string) // lower-case "owner/name"
	headSeen   map[string]map[int]string                 // PR heads already reported
	pushers    map[string]string                         // "owner/name\x00branch" -> login (LastPusher)
	users      map[string]*user
	repos      map[string]*repoState // lower-case "owner/name"
	rate       map[string]*rateBucket
	lastID     int64
	violations []Violation
	closed     bool
	done       chan struct{} // closed by Close
}

// New starts a server for a test. Cleanup closes it and fails the test with
// every OpenAPI violation that was not taken with TakeViolations.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	cfg := Config{Dir: t.TempDir(), Logf: t.Logf}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("githubtest.New: %v", err)
	}
	t.Cleanup(func() {
		for _, v := range s.TakeViolations() {
			t.Errorf("%s", v)
		}
		if err := s.Close(); err != nil {
			t.Errorf("githubtest: close: %v", err)
		}
	})
	return s
}

// Start starts a server that runs until ctx is done or Close is called.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	sp, err := loadSpec()
	if err != nil {
		return nil, err
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = 5000
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("githubtest: address %q: %w", cfg.Addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("githubtest: refusing to listen on %q: only loopback addresses are allowed", cfg.Addr)
	}
	s := &Server{
		cfg:      cfg,
		spec:     sp,
		faults:   &Faults{},
		tokens:   map[string]*token{},
		apps:     map[int64]*app{},
		onHead:   map[string][]func(int, string){},
		headSeen: map[string]map[int]string{},
		pushers:  map[string]string{},
		users:    map[string]*user{},
		repos:    map[string]*repoState{},
		rate:     map[string]*rateBucket{},
		done:     make(chan struct{}),
	}
	s.router = newRouter(s.routes())
	s.dir = cfg.Dir
	if s.dir == "" {
		if s.dir, err = os.MkdirTemp("", "githubtest-*"); err != nil {
			return nil, fmt.Errorf("githubtest: repo dir: %w", err)
		}
		s.ownDir = true
	}
	if !cfg.NoDefaultToken {
		s.AddToken(DefaultToken, DefaultLogin, Write)
	}
	s.ln, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		if s.ownDir {
			os.RemoveAll(s.dir)
		}
		return nil, fmt.Errorf("githubtest: listen: %w", err)
	}
	s.URL = "http://" + s.ln.Addr().String()
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	go func() {
		if err := s.http.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.cfg.Logf("githubtest: serve: %v", err)
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.done:
		}
	}()
	return s, nil
}

// Close stops the server and removes a temporary repository directory.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	if err != nil {
		err = s.http.Close()
	}
	s.mu.Lock()
	for _, r := range s.repos {
		if r != nil {
			r.git.close()
		}
	}
	s.mu.Unlock()
	if s.ownDir {
		if rmErr := os.RemoveAll(s.dir); rmErr != nil && err == nil {
			err = rmErr
		}
	}
	return err
}

// APIURL is what GITHUB_API_URL should be: URL + "/api/v3", the GitHub
// Enterprise Server layout go-github's WithEnterpriseURLs expects. The same
// API is also served at the root (like api.github.com) for clients that
// take a plain BaseURL.
func (s *Server) APIURL() string { return s.URL + "/api/v3" }

// ServerURL is what GITHUB_SERVER_URL should be; git smart HTTP lives at
// ServerURL()/owner/name.git.
func (s *Server) ServerURL() string { return s.URL }

// Faults returns the fault-injection API.
func (s *Server) Faults() *Faults { return s.faults }

// Dir is where the bare repositories live (Dir/owner/name.git).
func (s *Server) Dir() string { return s.dir }

// Violations returns the OpenAPI violations seen so far.
func (s *Server) Violations() []Violation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Violation(nil), s.violations...)
}

// TakeViolations returns and forgets the violations seen so far, for tests
// that provoke one on purpose.
func (s *Server) TakeViolations() []Violation {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.violations
	s.violations = nil
	return v
}

func (s *Server) addViolation(v Violation) {
	s.mu.Lock()
	s.violations = append(s.violations, v)
	s.mu.Unlock()
	s.cfg.Logf("%s", v)
}

func (s *Server) now() time.Time { return time.Now().UTC() }

func (s *Server) nextIDLocked() int64 {
	s.lastID++
	return s.lastID
}

func (s *Server) nextID() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextIDLocked()
}

// ServeHTTP routes git smart HTTP, raw file downloads and the REST API (at
// /api/v3 and at /).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	switch {
	case p == "/api/v3" || strings.HasPrefix(p, "/api/v3/"):
		s.serveAPI(w, r, strings.TrimPrefix(p, "/api/v3"))
	case isGitPath(p):
		s.serveGit(w, r)
	case isRawPath(p):
		s.serveRaw(w, r)
	default:
		s.serveAPI(w, r, p)
	}
}
