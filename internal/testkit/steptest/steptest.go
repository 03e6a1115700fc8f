// Package steptest runs a step in-process the way a runner would run its
// action: inputs and context in environment variables, outputs written to a
// real $GITHUB_OUTPUT file and read back with the runner's own format, the
// job summary in a real $GITHUB_STEP_SUMMARY file, and the error reported
// as actions/main.go reports it (one ::error:: line). It is the one way the
// tests run a step; what a test needs besides (a clock, fast retries, a
// transport, a secret scan) is an Option.
package steptest

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cicd-excellence/actions/internal/action"
)

// Result is what one run of a step left behind.
type Result struct {
	Outputs map[string]string
	Log     string // stdout, as the runner reads it (the error's ::error:: line included)
	Summary string
	Err     error
	// RawOutput is $GITHUB_OUTPUT verbatim; OutputsErr says the runner
	// could not read it (a test fails on it unless RawOutput was given).
	RawOutput  string
	OutputsErr error
	WorkDir    string
	RunnerTemp string // $RUNNER_TEMP of the run (RunWith), for leftovers
}

// config is what the options set.
type config struct {
	workDir   string
	env       []string
	now       func() time.Time
	transport http.RoundTripper
	backoff   time.Duration
	attempt   time.Duration
	secrets   []string
	rawOutput bool
	sleep     func(ctx context.Context, d time.Duration) error
	tee       []io.Writer
	// legacy is Run's run: no RUNNER_TEMP or GITHUB_WORKSPACE, the
	// client's own backoff, no ::error:: line, as before RunWith.
	legacy bool
}

// Option sets up a run.
type Option func(*config)

// WorkDir runs the step in dir ($GITHUB_WORKSPACE and the working directory).
func WorkDir(dir string) Option { return func(c *config) { c.workDir = dir } }

// Env adds KEY=VALUE pairs (inputs as INPUT_<NAME>, the runner's context);
// a later pair wins over an earlier one.
func Env(kv ...string) Option { return func(c *config) { c.env = append(c.env, kv...) } }

// Clock is the step's clock.
func Clock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// Backoff is the GitHub client's first retry backoff (10ms unless set:
// tests must not wait a second per retry).
func Backoff(d time.Duration) Option { return func(c *config) { c.backoff = d } }

// AttemptTimeout bounds each GitHub API try (the fault tests' hung calls).
func AttemptTimeout(d time.Duration) Option { return func(c *config) { c.attempt = d } }

// MaxSleep caps every wait of the step (retry backoffs, rate-limit resets,
// Retry-After, merge polls) at d: the step still takes each path that
// waits, without the wall-clock time. The local GitHub's faults are counted
// in calls, not time, so a shortened wait meets the same answers.
func MaxSleep(d time.Duration) Option {
	return func(c *config) {
		c.sleep = func(ctx context.Context, wait time.Duration) error { return action.Sleep(ctx, min(wait, d)) }
	}
}

// Tee copies the step's stdout to w as it is written (after masking), for
// a test that checks what had been printed at some moment of the run.
func Tee(w io.Writer) Option { return func(c *config) { c.tee = append(c.tee, w) } }

// Transport is the HTTP transport under the step's GitHub client.
func Transport(rt http.RoundTripper) Option { return func(c *config) { c.transport = rt } }

// SecretScan fails the test when any of secrets (or its base64 and
// Basic-auth forms) is in the log, the outputs, the summary or the error,
// but for the ::add-mask:: line the runtime prints on purpose.
func SecretScan(secrets ...string) Option {
	return func(c *config) { c.secrets = append(c.secrets, secrets...) }
}

// RawOutput keeps a $GITHUB_OUTPUT the runner cannot read in
// Result.OutputsErr instead of failing the test: for the tests that judge
// the file themselves.
func RawOutput() Option { return func(c *config) { c.rawOutput = true } }

// Run runs step with env (KEY=VALUE pairs) in workDir ("" for none).
func Run(t testing.TB, step action.Step, workDir string, env ...string) Result {
	t.Helper()
	return RunWith(t, step, WorkDir(workDir), Env(env...), func(c *config) { c.legacy, c.backoff = true, 0 })
}

// RunWith runs step as set up by opts. It is safe to call from many
// goroutines (crowd tests): it reports with t.Errorf, never t.Fatal.
func RunWith(t testing.TB, step action.Step, opts ...Option) Result {
	t.Helper()
	c := config{backoff: 10 * time.Millisecond}
	for _, o := range opts {
		o(&c)
	}
	dir := t.TempDir()
	out, summary := filepath.Join(dir, "output"), filepath.Join(dir, "summary")
	env := []string{"GITHUB_ACTIONS=true", "GITHUB_OUTPUT=" + out, "GITHUB_STEP_SUMMARY=" + summary}
	if !c.legacy {
		env = append(env, "RUNNER_TEMP="+dir)
	}
	if c.workDir != "" && !c.legacy {
		env = append(env, "GITHUB_WORKSPACE="+c.workDir)
	}
	env = append(env, c.env...)
	m, err := action.ParseManifest(step.Manifest)
	if err != nil {
		t.Errorf("steptest: %v", err)
		return Result{Err: err}
	}
	log := &Log{}
	var stdout io.Writer = log
	if len(c.tee) > 0 {
		stdout = io.MultiWriter(append([]io.Writer{log}, c.tee...)...)
	}
	o := action.Options{Stdout: stdout, Env: env, WorkDir: c.workDir, Manifest: m, Now: c.now,
		RetryBackoff: c.backoff, AttemptTimeout: c.attempt, Sleep: c.sleep}
	if c.transport != nil {
		o.HTTPClient = &http.Client{Transport: c.transport}
	}
	r := action.New(o)
	res := Result{Err: step.Run(context.Background(), r), WorkDir: c.workDir}
	if !c.legacy {
		res.RunnerTemp = dir
	}
	if res.Err != nil && !c.legacy {
		action.Report(r.Stdout, true, res.Err) // what main does with it
	}
	raw, _ := os.ReadFile(out)
	res.RawOutput = string(raw)
	res.Outputs, res.OutputsErr = action.ParseOutputFile(res.RawOutput)
	if res.OutputsErr != nil && !c.rawOutput {
		t.Errorf("the step wrote a $GITHUB_OUTPUT the runner cannot read: %v", res.OutputsErr)
	}
	s, _ := os.ReadFile(summary)
	res.Log, res.Summary = log.String(), string(s)
	for _, p := range Leaks(res, c.secrets...) {
		t.Errorf("%s", p)
	}
	return res
}

// SecretForms are a secret and the encodings it would travel in: a
// Basic-auth header (git's x-access-token user) and plain base64.
func SecretForms(s string) []string {
	return []string{
		s,
		base64.StdEncoding.EncodeToString([]byte("x-access-token:" + s)),
		base64.StdEncoding.EncodeToString([]byte(s)),
	}
}

// Leaks lists where a run shows any of secrets: a log line (but the
// ::add-mask:: line of that very secret), the outputs, the summary, the
// error.
func Leaks(res Result, secrets ...string) []string {
	var out []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, form := range SecretForms(s) {
			for i, line := range strings.Split(res.Log, "\n") {
				if strings.Contains(line, form) && strings.TrimRight(line, "\r") != "::add-mask::"+s {
					out = append(out, fmt.Sprintf("secret leaked in log line %d: %q", i+1, line))
				}
			}
			if strings.Contains(res.RawOutput, form) {
				out = append(out, "secret leaked in $GITHUB_OUTPUT")
			}
			if strings.Contains(res.Summary, form) {
				out = append(out, "secret leaked in the job summary")
			}
			if res.Err != nil && strings.Contains(res.Err.Error(), form) {
				out = append(out, "secret leaked in the error: "+res.Err.Error())
			}
		}
	}
	return out
}

// Log is a buffer that goroutines may write at once: the step's stdout
// (a step may log from several goroutines), or a Tee of it.
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Log) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Log) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
