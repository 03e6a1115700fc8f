package gitread

import (
	"context"
	"github.com/cicd-excellence/actions/internal/testkit/gitrepo"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReaderExists(t *testing.T) {
	t.Parallel()
	r := gitrepo.New(t)
	c := r.Commit("one", map[string]string{"envs/dev.json": "{}"})
	blob := r.Git("rev-parse", c+":envs/dev.json")
	ctx := context.Background()
	g := reader(r)
	for sha, want := range map[string]bool{c: true, strings.ToUpper(c): true, strings.Repeat("1", 40): false, blob: false} {
		if got, err := g.Exists(ctx, sha); err != nil || got != want {
			t.Errorf("Exists(%s) = %v, %v; want %v", sha, got, err, want)
		}
	}
	for _, bad := range []string{"", "HEAD", c[:7], "--all", c + "0", "g" + c[1:]} {
		if _, err := g.Exists(ctx, bad); err == nil || !strings.Contains(err.Error(), "not a full commit SHA") {
			t.Errorf("Exists(%q): %v", bad, err)
		}
	}
	// Not a repository: an error, not "missing", so callers do not fall back
	// to the API for a broken checkout.
	if ok, err := (Reader{Dir: t.TempDir()}).Exists(ctx, c); err == nil || ok {
		t.Errorf("Exists outside a repository = %v, %v; want an error", ok, err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := g.Exists(cancelled, c); err == nil {
		t.Error("Exists with a cancelled context: no error")
	}
}

func TestReaderIsAncestor(t *testing.T) {
	t.Parallel()
	r := gitrepo.New(t)
	c1 := r.Commit("one", nil)
	c2 := r.Commit("two", nil)
	r.Git("checkout", "-q", "--orphan", "other")
	c3 := r.Commit("three", nil)
	g := reader(r)
	ctx := context.Background()
	tests := []struct {
		a, d string
		want bool
	}{{c1, c2, true}, {c2, c1, false}, {c1, c1, true}, {c1, c3, false}}
	for _, tt := range tests {
		if got, err := g.IsAncestor(ctx, tt.a, tt.d); err != nil || got != tt.want {
			t.Errorf("IsAncestor(%s, %s) = %v, %v; want %v", short(tt.a), short(tt.d), got, err, tt.want)
		}
	}
	if _, err := g.IsAncestor(ctx, strings.Repeat("1", 40), c1); err == nil {
		t.Error("IsAncestor of a missing commit: no error")
	}
	if _, err := g.IsAncestor(ctx, "-h", c1); err == nil {
		t.Error("IsAncestor(-h): no error")
	}
}

func TestReaderListFiles(t *testing.T) {
	t.Parallel()
	r := gitrepo.New(t)
	c := r.Commit("files", map[string]string{
		"envs/dev.json":    "{}",
		"envs/[ab].json":   "{}",
		"envs/sub/qa.json": "{}",
		"envs/README.md":   "x",
		"e*/glob.json":     "{}",
		"top.json":         "{}",
	})
	if err := os.Symlink("dev.json", filepath.Join(r.Dir, "envs", "link.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.Dir, "envs", "run.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.Git("update-index", "--add", "--cacheinfo", "160000,"+c+",envs/submodule")
	c = r.Commit("symlink, executable, submodule", nil)
	g := reader(r)
	ctx := context.Background()
	tests := []struct {
		dir  string
		want []string
	}{
		{"envs", []string{"envs/README.md", "envs/[ab].json", "envs/dev.json", "envs/run.sh"}},
		{"envs/sub", []string{"envs/sub/qa.json"}},
		{"e*", []string{"e*/glob.json"}}, // literal, not a glob matching envs/
		{"e?vs", nil},
		{"missing", nil},
		{"top.json", nil},
		{".", []string{"top.json"}},
	}
	for _, tt := range tests {
		got, err := g.ListFiles(ctx, c, tt.dir)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ListFiles(%s) = %q, %v; want %q", tt.dir, got, err, tt.want)
		}
	}
	// From a subdirectory of the clone, paths stay relative to the root.
	if got, err := (Reader{Dir: filepath.Join(r.Dir, "envs")}).ListFiles(ctx, c, "envs/sub"); err != nil || !reflect.DeepEqual(got, []string{"envs/sub/qa.json"}) {
		t.Errorf("ListFiles from a subdirectory = %q, %v", got, err)
	}
	for _, bad := range []string{"", "/etc", "../x", "envs/", "./envs", "-envs", "a\nb"} {
		if _, err := g.ListFiles(ctx, c, bad); err == nil {
			t.Errorf("ListFiles(%q): no error", bad)
		}
	}
	if _, err := g.ListFiles(ctx, strings.Repeat("1", 40), "envs"); err == nil {
		t.Error("ListFiles at a missing commit: no error")
	}
}

func TestReaderReadFile(t *testing.T) {
	t.Parallel()
	r := gitrepo.New(t)
	content := "{\r\n  \"api\": {\"tag\": \"ü\"}\r\n}" // CRLF, no final newline
	c := r.Commit("files", map[string]string{"envs/dev.json": content, "envs/sp ace.json": "{}\n"})
	g := reader(r)
	ctx := context.Background()
	if got, ok, err := g.ReadFile(ctx, c, "envs/dev.json"); err != nil || !ok || string(got) != content {
		t.Errorf("ReadFile = %q, %v, %v", got, ok, err)
	}
	if got, ok, err := g.ReadFile(ctx, c, "envs/sp ace.json"); err != nil || !ok || string(got) != "{}\n" {
		t.Errorf("ReadFile with a space = %q, %v, %v", got, ok, err)
	}
	if got, ok, err := g.ReadFile(ctx, c, "envs/qa.json"); err != nil || ok || got != nil {
		t.Errorf("ReadFile of a missing file = %q, %v, %v", got, ok, err)
	}
	if _, _, err := g.ReadFile(ctx, c, "envs"); err == nil || !strings.Contains(err.Error(), "is a tree, not a file") {
		t.Errorf("ReadFile of a directory: %v", err)
	}
	if _, ok, err := g.ReadFile(ctx, strings.Repeat("1", 40), "envs/dev.json"); err != nil || ok {
		t.Errorf("ReadFile at a missing commit = %v, %v", ok, err)
	}
	for _, bad := range []string{"", ".", "/etc/passwd", "../x", "envs/../x", "-p", "a\nb", "./envs/dev.json"} {
		if _, _, err := g.ReadFile(ctx, c, bad); err == nil {
			t.Errorf("ReadFile(%q): no error", bad)
		}
	}
	if _, _, err := g.ReadFile(ctx, "HEAD", "envs/dev.json"); err == nil {
		t.Error("ReadFile at HEAD: no error")
	}
}

func TestReaderReadFileTooLarge(t *testing.T) {
	t.Parallel()
	r := gitrepo.New(t)
	c := r.Commit("big", map[string]string{"big.json": strings.Repeat("x", maxBlobSize+1)})
	if _, _, err := reader(r).ReadFile(context.Background(), c, "big.json"); err == nil || !strings.Contains(err.Error(), "the limit is") {
		t.Fatalf("ReadFile of a %d-byte file: %v", maxBlobSize+1, err)
	}
}

// TestReaderOutputLimit checks that output beyond the limit stops git
// rather than filling memory.
func TestReaderOutputLimit(t *testing.T) {
	t.Parallel()
	r := gitrepo.New(t)
	c := r.Commit("file", map[string]string{"f.json": strings.Repeat("x", 4096)})
	_, err := reader(r).run(context.Background(), []byte(c+":f.json\n"), limitWriter{max: 100}, "cat-file", "--batch")
	if err == nil || !strings.Contains(err.Error(), "output larger than 100 bytes") {
		t.Fatalf("run with a 100-byte limit: %v", err)
	}
}
