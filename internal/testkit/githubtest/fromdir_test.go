package githubtest

import (
	"maps"
	"path/filepath"
	"testing"
)

// TestCreateRepoFromDir: a repository copied from another server's has the
// same refs and history, stays apart from its source, and a directory that
// is not a bare repository is refused.
func TestCreateRepoFromDir(t *testing.T) {
	src := New(t)
	if err := src.CreateRepo(RepoConfig{Owner: "acme", Name: "app", AutoInit: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.CommitFiles("acme", "app", "main", map[string]string{"a.txt": "1"}, "a"); err != nil {
		t.Fatal(err)
	}
	want, err := src.Refs("acme", "app")
	if err != nil {
		t.Fatal(err)
	}
	dst := New(t)
	if err := dst.CreateRepo(RepoConfig{Owner: "acme", Name: "app", FromDir: filepath.Join(src.Dir(), "acme", "app.git")}); err != nil {
		t.Fatal(err)
	}
	got, err := dst.Refs("acme", "app")
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Fatalf("copied refs = %v, want %v", got, want)
	}
	if s, err := dst.ReadFile("acme", "app", "main", "a.txt"); err != nil || s != "1" {
		t.Fatalf("a.txt in the copy = %q, %v", s, err)
	}
	if _, err := dst.CommitFiles("acme", "app", "main", map[string]string{"b.txt": "2"}, "b"); err != nil {
		t.Fatal(err)
	}
	if after, _ := src.Refs("acme", "app"); !maps.Equal(after, want) {
		t.Errorf("a commit to the copy moved the source: %v", after)
	}
	if err := dst.CreateRepo(RepoConfig{Owner: "acme", Name: "other", FromDir: t.TempDir()}); err == nil {
		t.Error("an empty directory was accepted as a bare repository")
	}
	if _, err := dst.Refs("acme", "other"); err == nil {
		t.Error("a refused copy left a repository behind")
	}
}
