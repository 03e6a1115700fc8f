// Package launcher holds launch.sh, the script every action.yml runs; these
// tests run the script itself with bash.
package launcher

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cicd-excellence/actions/internal/testkit/tools"
)

// fakeAction lays out an action checkout holding only the launcher, and
// optionally a release manifest.
func fakeAction(t *testing.T, manifest string) string {
	t.Helper()
	dir := t.TempDir()
	script, err := os.ReadFile("launch.sh")
	if err != nil {
		t.Fatal(err)
	}
	ld := filepath.Join(dir, "internal", "launcher")
	if err := os.MkdirAll(ld, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ld, "launch.sh"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	if manifest != "" {
		if err := os.WriteFile(filepath.Join(ld, "manifest.txt"), []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func launch(t *testing.T, actionDir string, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", filepath.Join(actionDir, "internal", "launcher", "launch.sh"), "setup", "--x", "y")
	cmd.Env = append(os.Environ(), "ACTIONS_BINARY=", "RUNNER_TOOL_CACHE="+t.TempDir())
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

const fakeBinary = "#!/bin/sh\necho \"release binary ran: $*\"\n"

func platform() string {
	arch := runtime.GOARCH
	return fmt.Sprintf("actions_%s_%s", runtime.GOOS, arch)
}

// releaseServer serves release assets the way GitHub does at
// $GITHUB_SERVER_URL/<repo>/releases/download/<version>/<name>.
func releaseServer(t *testing.T, assets map[string]string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		body, ok := assets[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestActionsBinaryWins(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "actions")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho \"override ran: $*\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := launch(t, fakeAction(t, "version v9.9.9\nrepository acme/actions\n"), "ACTIONS_BINARY="+bin)
	if err != nil || !strings.Contains(out, "override ran: setup --x y") {
		t.Fatalf("err=%v out=%s", err, out)
	}
}

func TestReleaseDownload(t *testing.T) {
	name := platform()
	path := "/acme/actions/releases/download/v1.2.3/" + name
	manifest := func(sha string) string {
		return fmt.Sprintf("version v1.2.3\nrepository acme/actions\nsha256 %s %s\nsha256 actions_plan9_mips %s\n", name, sha, sum("other"))
	}

	t.Run("good asset is verified, run and cached", func(t *testing.T) {
		srv, hits := releaseServer(t, map[string]string{path: fakeBinary})
		dir := fakeAction(t, manifest(sum(fakeBinary)))
		cache := t.TempDir()
		for i := 0; i < 2; i++ {
			out, err := launch(t, dir, "GITHUB_SERVER_URL="+srv.URL, "RUNNER_TOOL_CACHE="+cache)
			if err != nil || !strings.Contains(out, "release binary ran: setup --x y") {
				t.Fatalf("run %d: err=%v out=%s", i, err, out)
			}
		}
		if hits.Load() != 1 {
			t.Errorf("downloaded %d times, want once (then cached)", hits.Load())
		}
	})
	t.Run("tampered asset is refused", func(t *testing.T) {
		srv, _ := releaseServer(t, map[string]string{path: fakeBinary + "echo pwned\n"})
		cache := t.TempDir()
		out, err := launch(t, fakeAction(t, manifest(sum(fakeBinary))), "GITHUB_SERVER_URL="+srv.URL, "RUNNER_TOOL_CACHE="+cache)
		if err == nil || !strings.Contains(out, "checksum mismatch") || strings.Contains(out, "pwned") || strings.Contains(out, "ran:") {
			t.Fatalf("err=%v out=%s", err, out)
		}
		leftovers, _ := filepath.Glob(filepath.Join(cache, "cicd-excellence-actions", "*", "*", "*"))
		if len(leftovers) != 0 {
			t.Errorf("the refused download was left in the cache: %v", leftovers)
		}
	})
	t.Run("a tampered cache entry is downloaded again", func(t *testing.T) {
		srv, hits := releaseServer(t, map[string]string{path: fakeBinary})
		dir := fakeAction(t, manifest(sum(fakeBinary)))
		cache := t.TempDir()
		if _, err := launch(t, dir, "GITHUB_SERVER_URL="+srv.URL, "RUNNER_TOOL_CACHE="+cache); err != nil {
			t.Fatal(err)
		}
		cached := filepath.Join(cache, "cicd-excellence-actions", "v1.2.3", sum(fakeBinary), name)
		if err := os.WriteFile(cached, []byte("#!/bin/sh\necho pwned\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := launch(t, dir, "GITHUB_SERVER_URL="+srv.URL, "RUNNER_TOOL_CACHE="+cache)
		if err != nil || strings.Contains(out, "pwned") || hits.Load() != 2 {
			t.Fatalf("err=%v hits=%d out=%s", err, hits.Load(), out)
		}
	})
	t.Run("missing asset", func(t *testing.T) {
		srv, _ := releaseServer(t, map[string]string{})
		out, err := launch(t, fakeAction(t, manifest(sum(fakeBinary))), "GITHUB_SERVER_URL="+srv.URL)
		if err == nil || !strings.Contains(out, "could not download "+srv.URL+path) {
			t.Fatalf("err=%v out=%s", err, out)
		}
	})
	t.Run("unsupported platform", func(t *testing.T) {
		srv, hits := releaseServer(t, map[string]string{})
		m := "version v1.2.3\nrepository acme/actions\nsha256 actions_plan9_mips " + sum("x") + "\n"
		out, err := launch(t, fakeAction(t, m), "GITHUB_SERVER_URL="+srv.URL)
		if err == nil || !strings.Contains(out, "has no binary for "+runtime.GOOS+"/"+runtime.GOARCH) || hits.Load() != 0 {
			t.Fatalf("err=%v out=%s", err, out)
		}
	})
}

// TestBuildFromSource runs the launcher in a copy of this repository with no
// manifest: it must build the binary and run the step, then reuse the build.
func TestBuildFromSource(t *testing.T) {
	root, err := tools.Root()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "launcher", "manifest.txt")); err == nil {
		t.Fatal("this test needs a checkout without a release manifest")
	}
	cache := t.TempDir()
	cmd := exec.Command("bash", filepath.Join(root, "internal", "launcher", "launch.sh"), "setup", "--help")
	cmd.Env = append(os.Environ(), "ACTIONS_BINARY=", "RUNNER_TOOL_CACHE="+cache)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "building the actions binary from source") || !strings.Contains(string(out), "usage: actions setup") {
		t.Fatalf("err=%v out=%s", err, out)
	}
	cmd = exec.Command("bash", filepath.Join(root, "internal", "launcher", "launch.sh"), "setup", "--help")
	cmd.Env = append(os.Environ(), "ACTIONS_BINARY=", "RUNNER_TOOL_CACHE="+cache)
	out, err = cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "building") {
		t.Fatalf("second run rebuilt or failed: err=%v out=%s", err, out)
	}

	// Without Go, the error says what to do.
	cmd = exec.Command("bash", filepath.Join(root, "internal", "launcher", "launch.sh"), "setup")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "RUNNER_TOOL_CACHE=" + t.TempDir()}
	if _, err := os.Stat("/usr/bin/go"); err == nil {
		t.Fatal("a go in /usr/bin defeats this case")
	}
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no Go toolchain is installed") {
		t.Fatalf("err=%v out=%s", err, out)
	}
}

// fakeSource lays out, inside dir, an action checkout with no manifest whose
// ./actions is a tiny Go program printing its arguments and an embedded file;
// a file behind the "evil" build tag says "evil" instead.
func fakeSource(t *testing.T, dir string) string {
	t.Helper()
	root := fakeAction(t, "")
	files := map[string]string{
		"go.mod": "module example.com/fake\n\ngo 1.25\n",
		"actions/main.go": `package main

import (
	_ "embed"
	"fmt"
	"os"
)

//go:embed preset.json
var preset string

var who = "source binary"

func main() { fmt.Printf("%s ran: %v preset=%s\n", who, os.Args[1:], preset) }
`,
		"actions/evil.go":     "//go:build evil\n\npackage main\n\nfunc init() { who = \"evil\" }\n",
		"actions/preset.json": "one",
	}
	if dir != "" {
		// Move the checkout under dir (for a parent go.work).
		dst := filepath.Join(dir, "action")
		if err := os.Rename(root, dst); err != nil {
			t.Fatal(err)
		}
		root = dst
	}
	for name, body := range files {
		write(t, filepath.Join(root, name), body)
	}
	return root
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
}

// cachedBuild is the one source build in cache.
func cachedBuild(t *testing.T, cache string) string {
	t.Helper()
	got, _ := filepath.Glob(filepath.Join(cache, "cicd-excellence-actions", "src-*", "actions"))
	if len(got) != 1 {
		t.Fatalf("want one cached build, got %v", got)
	}
	return got[0]
}

func TestSourceBuildCache(t *testing.T) {
	const ran = "source binary ran: [setup --x y]"
	tests := []struct {
		name string
		// between runs one and two
		change      func(t *testing.T, root, cache string)
		wantRebuild bool
		want        string
	}{
		{"unchanged source reuses the build", func(*testing.T, string, string) {}, false, ran + " preset=one"},
		{"a changed embedded file rebuilds", func(t *testing.T, root, _ string) {
			write(t, filepath.Join(root, "actions", "preset.json"), "two")
		}, true, ran + " preset=two"},
		{"a changed go.mod rebuilds", func(t *testing.T, root, _ string) {
			write(t, filepath.Join(root, "go.mod"), "module example.com/fake\n\ngo 1.25.0\n")
		}, true, ran + " preset=one"},
		{"a new file anywhere rebuilds", func(t *testing.T, root, _ string) {
			write(t, filepath.Join(root, "internal", "x", "x.json"), "{}")
		}, true, ran + " preset=one"},
		{"a test file does not rebuild", func(t *testing.T, root, _ string) {
			write(t, filepath.Join(root, "actions", "main_test.go"), "package main\n")
		}, false, ran + " preset=one"},
		{"a tampered cached binary is refused and rebuilt", func(t *testing.T, _, cache string) {
			write(t, cachedBuild(t, cache), "#!/bin/sh\necho pwned\n")
		}, true, ran + " preset=one"},
		{"a missing record is rebuilt", func(t *testing.T, _, cache string) {
			if err := os.Remove(cachedBuild(t, cache) + ".sha256"); err != nil {
				t.Fatal(err)
			}
		}, true, ran + " preset=one"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := fakeSource(t, "")
			cache := t.TempDir()
			out, err := launch(t, root, "RUNNER_TOOL_CACHE="+cache)
			if err != nil || !strings.Contains(out, "building the actions binary") || !strings.Contains(out, ran+" preset=one") {
				t.Fatalf("first run: err=%v out=%s", err, out)
			}
			tc.change(t, root, cache)
			out, err = launch(t, root, "RUNNER_TOOL_CACHE="+cache)
			if err != nil || !strings.Contains(out, tc.want) || strings.Contains(out, "pwned") {
				t.Fatalf("second run: err=%v out=%s", err, out)
			}
			if rebuilt := strings.Contains(out, "building the actions binary"); rebuilt != tc.wantRebuild {
				t.Errorf("rebuilt=%v, want %v: %s", rebuilt, tc.wantRebuild, out)
			}
		})
	}
}

// TestSourceBuildIgnoresTheCallersGoSettings: a go.work in a parent directory
// and GOFLAGS/GOOS in the environment must not change what is built.
func TestSourceBuildIgnoresTheCallersGoSettings(t *testing.T) {
	parent := t.TempDir()
	// A workspace that leaves the action's module out: honoured, it makes
	// go build fail.
	write(t, filepath.Join(parent, "go.work"), "go 1.25\n\nuse ./other\n")
	write(t, filepath.Join(parent, "other", "go.mod"), "module example.com/other\n\ngo 1.25\n")
	root := fakeSource(t, parent)
	cmd := exec.Command("go", "build", "-o", os.DevNull, "./actions")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOWORK=")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("the parent go.work does not affect a plain go build, so this test proves nothing: %s", out)
	}
	for _, env := range [][]string{
		nil,
		{"GOFLAGS=-tags=evil"},
		{"GOFLAGS=-mod=mod -tags=evil", "GOOS=plan9", "GOARCH=mips"},
	} {
		out, err := launch(t, root, env...)
		if err != nil || !strings.Contains(out, "source binary ran: [setup --x y] preset=one") || strings.Contains(out, "evil") {
			t.Fatalf("env %v: err=%v out=%s", env, err, out)
		}
	}
}

// TestSwappedCacheNeverRuns swaps the cached release binary for another one
// over and over while the launcher runs: the launcher runs its own verified
// copy, so the swapped bytes must never run, whenever the swap lands.
func TestSwappedCacheNeverRuns(t *testing.T) {
	name := platform()
	path := "/acme/actions/releases/download/v1.2.3/" + name
	srv, _ := releaseServer(t, map[string]string{path: fakeBinary})
	dir := fakeAction(t, fmt.Sprintf("version v1.2.3\nrepository acme/actions\nsha256 %s %s\n", name, sum(fakeBinary)))
	cache := t.TempDir()
	if out, err := launch(t, dir, "GITHUB_SERVER_URL="+srv.URL, "RUNNER_TOOL_CACHE="+cache); err != nil {
		t.Fatalf("err=%v out=%s", err, out)
	}
	cached := filepath.Join(cache, "cicd-excellence-actions", "v1.2.3", sum(fakeBinary), name)
	stage := t.TempDir()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			body := fakeBinary
			if i%2 == 0 {
				body = "#!/bin/sh\necho pwned\n"
			}
			// Renamed into place: the file is always whole, good or evil.
			tmp := filepath.Join(stage, fmt.Sprint(i))
			if err := os.WriteFile(tmp, []byte(body), 0o755); err != nil {
				return
			}
			if err := os.Rename(tmp, cached); err != nil {
				return
			}
			// Often enough to land inside every launch, without starving it.
			time.Sleep(200 * time.Microsecond)
		}
	}()
	// The launcher before the private copy ran the swapped file in 66 of 300
	// tries (22%): 100 tries miss that with a chance of 0.78^100, about
	// 1e-11, at a third of the CPU (the swapper spins beside four launches).
	const tries, workers = 100, 4
	var bad, failed atomic.Int32
	next := make(chan int)
	finished := make(chan struct{})
	for w := 0; w < workers; w++ {
		go func() {
			defer func() { finished <- struct{}{} }()
			for range next {
				out, err := launch(t, dir, "GITHUB_SERVER_URL="+srv.URL, "RUNNER_TOOL_CACHE="+cache)
				if strings.Contains(out, "pwned") {
					bad.Add(1)
				} else if err != nil || !strings.Contains(out, "release binary ran: setup --x y") {
					failed.Add(1)
					t.Logf("err=%v out=%s", err, out)
				}
			}
		}()
	}
	for i := 0; i < tries; i++ {
		next <- i
	}
	close(next)
	for w := 0; w < workers; w++ {
		<-finished
	}
	close(stop)
	<-done
	if bad.Load() != 0 || failed.Load() != 0 {
		t.Fatalf("of %d runs, %d ran the swapped binary and %d failed", tries, bad.Load(), failed.Load())
	}
}

func TestActionsBinaryIsNeverSilent(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "actions")
	write(t, bin, "#!/bin/sh\necho \"override ran: $*\"\n")
	out, err := launch(t, fakeAction(t, ""), "ACTIONS_BINARY="+bin)
	want := "::notice title=cicd-excellence/actions::running ACTIONS_BINARY=" + bin
	if err != nil || !strings.Contains(out, want) {
		t.Fatalf("err=%v out=%s", err, out)
	}
}

// TestInputsCannotChooseTheBinary: a workflow's untrusted values reach the
// launcher only as INPUT_* variables (and the root action's inputs lines);
// none of them may name the binary that runs.
func TestInputsCannotChooseTheBinary(t *testing.T) {
	evil := filepath.Join(t.TempDir(), "evil")
	write(t, evil, "#!/bin/sh\necho pwned\n")
	name := platform()
	srv, _ := releaseServer(t, map[string]string{"/acme/actions/releases/download/v1.2.3/" + name: fakeBinary})
	dir := fakeAction(t, fmt.Sprintf("version v1.2.3\nrepository acme/actions\nsha256 %s %s\n", name, sum(fakeBinary)))
	for _, env := range []string{
		"INPUT_ACTIONS_BINARY=" + evil,
		"INPUT_ACTIONS-BINARY=" + evil,
		"INPUT_INPUTS=actions-binary=" + evil + "\nACTIONS_BINARY=" + evil,
		"INPUT_STEP=" + evil,
	} {
		out, err := launch(t, dir, "GITHUB_SERVER_URL="+srv.URL, env)
		if err != nil || strings.Contains(out, "pwned") || strings.Contains(out, "ACTIONS_BINARY") || !strings.Contains(out, "release binary ran: setup --x y") {
			t.Errorf("%s: err=%v out=%s", env, err, out)
		}
	}
}

// TestSourceBuildCrowd starts several launchers at once on an empty cache:
// each builds or reuses, every one runs the right binary, and the cache ends
// with a build whose record matches it.
func TestSourceBuildCrowd(t *testing.T) {
	root := fakeSource(t, "")
	cache := t.TempDir()
	const n = 4
	outs := make([]string, n)
	errs := make([]error, n)
	done := make(chan int)
	for i := 0; i < n; i++ {
		go func(i int) {
			outs[i], errs[i] = launch(t, root, "RUNNER_TOOL_CACHE="+cache)
			done <- i
		}(i)
	}
	for i := 0; i < n; i++ {
		<-done
	}
	for i := range outs {
		if errs[i] != nil || !strings.Contains(outs[i], "source binary ran: [setup --x y] preset=one") {
			t.Errorf("launcher %d: err=%v out=%s", i, errs[i], outs[i])
		}
	}
	bin := cachedBuild(t, cache)
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	record, err := os.ReadFile(bin + ".sha256")
	if err != nil || strings.TrimSpace(string(record)) != fmt.Sprintf("%x", sha256.Sum256(data)) {
		t.Errorf("record %q does not match the cached build (err=%v)", record, err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(bin), ".*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left in the cache: %v", leftovers)
	}
	// And the next launcher reuses it.
	out, err := launch(t, root, "RUNNER_TOOL_CACHE="+cache)
	if err != nil || strings.Contains(out, "building") {
		t.Errorf("err=%v out=%s", err, out)
	}
}
