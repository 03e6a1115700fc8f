package action

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	githubactions "github.com/sethvargo/go-githubactions"
)

// Runtime is what a step gets from the process: its inputs, its environment,
// where to write, and the clock. Steps take everything from here and nothing
// from globals, so a test can run a step in-process with a fake environment.
type Runtime struct {
	Stdout  io.Writer
	WorkDir string
	Now     func() time.Time
	// HTTPClient, when set, carries the transport under the step's API
	// clients (tests: a recording or faulty transport); nil is the default.
	HTTPClient *http.Client
	// RetryBackoff and AttemptTimeout, when set, replace the GitHub client's
	// first retry backoff (1s) and per-try timeout (30s): tests only.
	RetryBackoff, AttemptTimeout time.Duration
	// Sleep waits d or until ctx ends: every wait of a step (retries,
	// polls) goes through it, so a test can shorten them.
	Sleep func(ctx context.Context, d time.Duration) error

	env      map[string]string
	flags    map[string]string
	manifest *Manifest
	gha      *githubactions.Action
	random   io.Reader
	secrets  *scrubber
}

// Options configures a Runtime. Zero values pick the process's own.
type Options struct {
	Stdout     io.Writer
	Env        []string // KEY=VALUE pairs, as os.Environ returns them
	Flags      map[string]string
	Manifest   *Manifest
	WorkDir    string
	Now        func() time.Time
	HTTPClient *http.Client
	Random     io.Reader // source of output delimiters; crypto/rand by default
	// RetryBackoff and AttemptTimeout: see Runtime. Everything a test
	// injects into a step comes through Options; no step reads an
	// environment hook for it.
	RetryBackoff, AttemptTimeout time.Duration
	Sleep                        func(ctx context.Context, d time.Duration) error
}

// New builds a Runtime.
func New(o Options) *Runtime {
	r := &Runtime{
		WorkDir:        o.WorkDir,
		Now:            o.Now,
		HTTPClient:     o.HTTPClient,
		RetryBackoff:   o.RetryBackoff,
		AttemptTimeout: o.AttemptTimeout,
		Sleep:          o.Sleep,
		env:            make(map[string]string, len(o.Env)),
		flags:          o.Flags,
		manifest:       o.Manifest,
		random:         o.Random,
	}
	for _, kv := range o.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			r.env[k] = v
		}
	}
	stdout := o.Stdout
	if stdout == nil {
		stdout = os.Stdout
	}
	r.secrets = &scrubber{w: stdout}
	r.Stdout = r.secrets
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Sleep == nil {
		r.Sleep = Sleep
	}
	if r.random == nil {
		r.random = rand.Reader
	}
	if r.WorkDir == "" {
		r.WorkDir = r.Getenv("GITHUB_WORKSPACE")
	}
	if r.WorkDir == "" {
		r.WorkDir, _ = os.Getwd()
	}
	r.gha = githubactions.New(
		githubactions.WithWriter(r.Stdout),
		githubactions.WithGetenv(r.Getenv),
	)
	return r
}

// Getenv returns an environment variable of the step's environment.
func (r *Runtime) Getenv(key string) string { return r.env[key] }

// LookupEnv reports whether key is set, and its value.
func (r *Runtime) LookupEnv(key string) (string, bool) {
	v, ok := r.env[key]
	return v, ok
}

// Environ returns the step's environment as KEY=VALUE pairs, for child
// processes.
func (r *Runtime) Environ() []string {
	out := make([]string, 0, len(r.env))
	for k, v := range r.env {
		out = append(out, k+"="+v)
	}
	return out
}

// InActions reports whether the step runs on a GitHub Actions runner (or act),
// where workflow commands and environment files are understood.
func (r *Runtime) InActions() bool { return r.Getenv("GITHUB_ACTIONS") == "true" }

// Mask hides secret in the runner's log and in everything this runtime
// prints, including when it runs outside Actions where add-mask means nothing.
func (r *Runtime) Mask(secret string) {
	if strings.TrimSpace(secret) == "" || r.secrets.has(secret) {
		return
	}
	if r.InActions() {
		// A multi-line secret must be masked line by line: the runner matches
		// masks within a line.
		for _, line := range strings.Split(secret, "\n") {
			if line = strings.TrimSpace(line); line != "" {
				r.gha.AddMask(line)
			}
		}
	}
	r.secrets.add(secret)
}

// Group runs fn inside a collapsible log group.
func (r *Runtime) Group(title string, fn func() error) error {
	if r.InActions() {
		r.gha.Group(clean(title))
		defer r.gha.EndGroup()
	} else {
		fmt.Fprintf(r.Stdout, "== %s\n", clean(title))
	}
	return fn()
}

// ErrNoOutputFile is returned when running under Actions without
// GITHUB_OUTPUT, which means the runner is too old for environment files.
var ErrNoOutputFile = errors.New("GITHUB_OUTPUT is not set: this runner is too old for environment files")

// Sleep is the real wait: d, or less if ctx ends first (its error). It is
// every step's default Runtime.Sleep.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
