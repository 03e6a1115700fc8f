// Package steptest runs a step in-process the way a runner would run its
// action: inputs and context in environment variables, outputs written to a
// real $GITHUB_OUTPUT file and read back with the runner's own format, the
// job summary in a real $GITHUB_STEP_SUMMARY file.
package steptest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cicd-excellence/actions/internal/action"
)

// Result is what one run of a step left behind.
type Result struct {
	Outputs map[string]string
	Log     string
	Summary string
	Err     error
}

// Run runs step with env (KEY=VALUE pairs) in workDir ("" for none).
func Run(t testing.TB, step action.Step, workDir string, env ...string) Result {
	t.Helper()
	dir := t.TempDir()
	out, summary := filepath.Join(dir, "output"), filepath.Join(dir, "summary")
	env = append([]string{"GITHUB_ACTIONS=true", "GITHUB_OUTPUT=" + out, "GITHUB_STEP_SUMMARY=" + summary}, env...)
	// Errorf, not Fatal, here and below: crowd tests call Run from many
	// goroutines, where t.Fatal must not be called.
	m, err := action.ParseManifest(step.Manifest)
	if err != nil {
		t.Errorf("steptest: %v", err)
		return Result{Err: err}
	}
	var log bytes.Buffer
	r := action.New(action.Options{Stdout: &log, Env: env, WorkDir: workDir, Manifest: m})
	res := Result{Err: step.Run(context.Background(), r)}
	data, _ := os.ReadFile(out)
	if res.Outputs, err = action.ParseOutputFile(string(data)); err != nil {
		t.Errorf("the step wrote a $GITHUB_OUTPUT the runner cannot read: %v", err)
	}
	s, _ := os.ReadFile(summary)
	res.Log, res.Summary = log.String(), string(s)
	return res
}
