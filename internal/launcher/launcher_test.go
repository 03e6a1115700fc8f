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

	"github.com/cicd-excellence/actions/internal/tools"
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
