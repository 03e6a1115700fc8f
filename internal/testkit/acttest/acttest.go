// Package acttest is actrun for tests: it snapshots the checkout and builds
// the binary once per test process and fails the test on harness problems.
package acttest

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cicd-excellence/actions/internal/testkit/actrun"
	"github.com/cicd-excellence/actions/internal/testkit/tools"
)

// Run is one act run; see actrun.Options. BuildFromSource leaves
// ACTIONS_BINARY unset so the launcher builds the binary, as on a runner
// using a ref with no release; otherwise a binary built once is used.
type Run struct {
	actrun.Options
	BuildFromSource bool
}

var (
	snapshotOnce sync.Once
	snapshotDir  string
	snapshotErr  error
	binaryOnce   sync.Once
	binaryDir    string
	binaryPath   string
	binaryErr    error
)

// Snapshot is the checkout as users download it, made once per process.
func Snapshot(t testing.TB) string {
	t.Helper()
	snapshotOnce.Do(func() {
		root, err := tools.Root()
		if err != nil {
			snapshotErr = err
			return
		}
		snapshotDir, snapshotErr = actrun.Snapshot(root)
	})
	if snapshotErr != nil {
		t.Fatalf("snapshot of the checkout: %v", snapshotErr)
	}
	return snapshotDir
}

// Binary is the actions binary, built once per process.
func Binary(t testing.TB) string {
	t.Helper()
	binaryOnce.Do(func() {
		root, err := tools.Root()
		if err != nil {
			binaryErr = err
			return
		}
		if binaryDir, binaryErr = os.MkdirTemp("", "acttest-bin-"); binaryErr != nil {
			return
		}
		binaryPath, binaryErr = actrun.BuildBinary(root, binaryDir)
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryPath
}

// Execute runs the workflow with act; it fails the test only for harness
// problems, so tests can assert on failing workflows.
func Execute(t testing.TB, r Run) *actrun.Result {
	t.Helper()
	act, err := tools.Path("act")
	if err != nil {
		t.Fatalf("act: %v", err)
	}
	o := r.Options
	o.Act = act
	o.ActionsDir = Snapshot(t)
	o.WorkDir = t.TempDir()
	if !r.BuildFromSource {
		o.Binary = Binary(t)
	}
	res, err := actrun.Run(context.Background(), o)
	if err != nil {
		t.Fatalf("act harness: %v", err)
	}
	t.Logf("act %s took %s", o.Event, res.Duration.Round(1e6))
	return res
}

// MustSucceed runs the workflow and fails the test, with act's log, if the
// workflow failed.
func MustSucceed(t testing.TB, r Run) *actrun.Result {
	t.Helper()
	res := Execute(t, r)
	if res.Err != nil {
		t.Fatalf("act failed: %v\n%s", res.Err, res.Log)
	}
	return res
}

// Main runs the package's tests and removes what the harness made.
func Main(m *testing.M) int {
	code := m.Run()
	if snapshotDir != "" {
		os.RemoveAll(snapshotDir)
	}
	if binaryDir != "" {
		os.RemoveAll(filepath.Clean(binaryDir))
	}
	return code
}
