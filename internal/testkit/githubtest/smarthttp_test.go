package githubtest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

func git(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=dev", "GIT_AUTHOR_EMAIL=dev@example.com", "GIT_COMMITTER_NAME=dev", "GIT_COMMITTER_EMAIL=dev@example.com",
		"MALLOC_TOP_PAD_=67108864")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func mustGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := git(t, dir, args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func TestSmartHTTPCloneAndPush(t *testing.T) {
	t.Parallel()
	srv, gh, main := setup(t)
	ok(t, srv.CreateRepo(githubtest.RepoConfig{Owner: owner, Name: "private", Private: true, AutoInit: true}))
	srv.AddToken("reader", "rita", githubtest.Read)
	work := t.TempDir()

	out := mustGit(t, work, "ls-remote", srv.CloneURL(owner, repo, githubtest.DefaultToken))
	if !strings.Contains(out, main+"\trefs/heads/main") {
		t.Fatalf("ls-remote: %s", out)
	}
	// Public repositories can be read anonymously, like on GitHub.
	mustGit(t, work, "ls-remote", srv.CloneURL(owner, repo, ""))

	dir := filepath.Join(work, "app")
	mustGit(t, work, "clone", "--quiet", srv.CloneURL(owner, repo, githubtest.DefaultToken), dir)
	if b, err := os.ReadFile(filepath.Join(dir, "README.md")); err != nil || string(b) != "hello\n" {
		t.Fatalf("cloned README: %q %v", b, err)
	}
	ok(t, os.WriteFile(filepath.Join(dir, "pushed.txt"), []byte("over http\n"), 0o644))
	mustGit(t, dir, "add", ".")
	mustGit(t, dir, "commit", "--quiet", "-m", "pushed over smart HTTP")
	mustGit(t, dir, "push", "--quiet", "origin", "HEAD:refs/heads/pushed", "HEAD:main")
	pushed := mustGit(t, dir, "rev-parse", "HEAD")

	// The API sees the push at once.
	ref, _, err := gh.Git.GetRef(ctx, owner, repo, "heads/pushed")
	ok(t, err)
	if ref.GetObject().GetSHA() != pushed {
		t.Fatalf("API sees %s, pushed %s", ref.GetObject().GetSHA(), pushed)
	}
	f, _, _, err := gh.Repositories.GetContents(ctx, owner, repo, "pushed.txt", nil)
	ok(t, err)
	if c, _ := f.GetContent(); c != "over http\n" {
		t.Fatalf("content %q", c)
	}
	c, _, err := gh.Repositories.GetCommit(ctx, owner, repo, pushed, nil)
	ok(t, err)
	if c.GetCommit().GetVerification().GetVerified() {
		t.Fatal("a pushed, unsigned commit must not be verified")
	}
	// And API writes are visible to git.
	_, _, err = gh.Repositories.CreateFile(ctx, owner, repo, "api.txt", &github.RepositoryContentFileOptions{Message: github.String("api"), Content: []byte("api")})
	ok(t, err)
	mustGit(t, dir, "pull", "--quiet", "--ff-only", "origin", "main")
	if _, err := os.Stat(filepath.Join(dir, "api.txt")); err != nil {
		t.Fatal("API commit not fetched")
	}

	failures := []struct {
		name string
		args []string
		want string
	}{
		{"private without credentials", []string{"ls-remote", srv.CloneURL(owner, "private", "")}, "could not read Username"},
		{"bad token", []string{"ls-remote", srv.CloneURL(owner, "private", "wrong")}, "Authentication failed"},
		{"push with read token", []string{"-C", dir, "push", srv.CloneURL(owner, repo, "reader"), "HEAD:refs/heads/nope"}, "403"},
		{"missing repository", []string{"ls-remote", srv.CloneURL(owner, "nope", githubtest.DefaultToken)}, "not found"},
	}
	for _, tc := range failures {
		t.Run(tc.name, func(t *testing.T) {
			out, err := git(t, work, tc.args...)
			if err == nil || !strings.Contains(out, tc.want) {
				t.Fatalf("want failure containing %q, got %v: %s", tc.want, err, out)
			}
		})
	}
	mustGit(t, work, "ls-remote", srv.CloneURL(owner, "private", "reader"))
	if n := srv.CountRequests("* /{owner}/{repo}.git/{path}"); n == 0 {
		t.Fatal("git requests are not in the request log")
	}
}
