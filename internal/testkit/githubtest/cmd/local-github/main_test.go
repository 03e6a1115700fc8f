package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

func TestRunServesSeededRepository(t *testing.T) {
	dir := t.TempDir()
	readme := filepath.Join(dir, "README.md")
	if err := os.WriteFile(readme, []byte("# demo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	urlFile := filepath.Join(dir, "url")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{
			"-token", "ghs_demo=demo-bot:admin:bypass", "-token", "ghs_ro=viewer:read",
			"-app", "101=infra-ci", "-token", "ghs_ci=app:101:checks=write,contents=read:acme/app",
			"-repo", "acme/app:trunk", "-repo", "acme/secret::private",
			"-seed", "acme/app:README.md=" + readme, "-seed", "acme/app@dev:docs/x.md=" + readme,
			"-url-file", urlFile,
		}, pw, io.Discard)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	if !lines.Scan() {
		t.Fatalf("no output; run returned %v", <-done)
	}
	first := lines.Text()
	base, found := strings.CutPrefix(first, "LOCAL_GITHUB_URL=http://127.0.0.1:")
	if !found || base == "" {
		t.Fatalf("first line %q", first)
	}
	go io.Copy(io.Discard, pr)
	url := strings.TrimPrefix(first, "LOCAL_GITHUB_URL=")
	waitFor(t, func() bool { b, _ := os.ReadFile(urlFile); return strings.TrimSpace(string(b)) == url })

	gh, err := github.NewClient(nil).WithAuthToken("ghs_demo").WithEnterpriseURLs(url+"/api/v3", url+"/api/v3")
	if err != nil {
		t.Fatal(err)
	}
	bg := context.Background()
	r, _, err := gh.Repositories.Get(bg, "acme", "app")
	if err != nil || r.GetDefaultBranch() != "trunk" {
		t.Fatalf("repo %v %v", r, err)
	}
	f, _, _, err := gh.Repositories.GetContents(bg, "acme", "app", "docs/x.md", &github.RepositoryContentGetOptions{Ref: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := f.GetContent(); c != "# demo\n" {
		t.Fatalf("seeded content %q", c)
	}
	s, _, err := gh.Repositories.Get(bg, "acme", "secret")
	if err != nil || !s.GetPrivate() || s.GetDefaultBranch() != "main" {
		t.Fatalf("private repo %v %v", s, err)
	}
	ro, _ := github.NewClient(nil).WithAuthToken("ghs_ro").WithEnterpriseURLs(url+"/api/v3", url+"/api/v3")
	if _, _, err := ro.Repositories.CreateFile(bg, "acme", "app", "x", &github.RepositoryContentFileOptions{Message: github.String("m"), Content: []byte("x")}); err == nil {
		t.Fatal("read-only token could write")
	}
	// The app's installation token: checks on acme/app only.
	ci, _ := github.NewClient(nil).WithAuthToken("ghs_ci").WithEnterpriseURLs(url+"/api/v3", url+"/api/v3")
	head, _, err := ci.Repositories.GetBranch(bg, "acme", "app", "trunk", 0)
	if err != nil {
		t.Fatal(err)
	}
	run, _, err := ci.Checks.CreateCheckRun(bg, "acme", "app", github.CreateCheckRunOptions{Name: "validate", HeadSHA: head.GetCommit().GetSHA()})
	if err != nil || run.GetApp().GetID() != 101 {
		t.Fatalf("check run %v %v", run, err)
	}
	if _, _, err := ci.Repositories.Get(bg, "acme", "secret"); err == nil {
		t.Fatal("installation token read a private repository outside its installation")
	}
	// Without -token flags the default token is not registered.
	def, _ := github.NewClient(nil).WithAuthToken("test-token").WithEnterpriseURLs(url+"/api/v3", url+"/api/v3")
	if _, _, err := def.Repositories.Get(bg, "acme", "app"); err == nil {
		t.Fatal("default token accepted although -token was given")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop on cancel")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-token", "novalue"},
		{"-token", "t=login:superuser"},
		{"-repo", "noslash"},
		{"-seed", "acme/app:README.md=/does/not/exist", "-repo", "acme/app"},
		{"-seed", "ghost/repo:a=b"},
		{"-addr", "0.0.0.0:0"},
		{"-app", "x=ci"},
		{"-token", "t=app:9"},
		{"-app", "9=ci", "-token", "t=app:9:checks=admin"},
		{"-app", "9=ci", "-token", "t=app:9:secrets=read"},
	} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("condition not met in time")
}
