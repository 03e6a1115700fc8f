package githubtest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

const owner, repo = "acme", "app"

var ctx = context.Background()

// setup starts a server with acme/app (one commit on main) and a client
// authenticated with the default (write) token.
func setup(t *testing.T, opts ...githubtest.Option) (*githubtest.Server, *github.Client, string) {
	t.Helper()
	srv := githubtest.New(t, opts...)
	if err := srv.CreateRepo(githubtest.RepoConfig{Owner: owner, Name: repo}); err != nil {
		t.Fatal(err)
	}
	sha, err := srv.CommitFiles(owner, repo, "main", map[string]string{"README.md": "hello\n"}, "init")
	if err != nil {
		t.Fatal(err)
	}
	return srv, client(t, srv, githubtest.DefaultToken), sha
}

func client(t *testing.T, srv *githubtest.Server, token string) *github.Client {
	t.Helper()
	c, err := github.NewClient(nil).WithAuthToken(token).WithEnterpriseURLs(srv.APIURL(), srv.APIURL())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func commit(t *testing.T, srv *githubtest.Server, branch string, files map[string]string) string {
	t.Helper()
	sha, err := srv.CommitFiles(owner, repo, branch, files, "change "+branch)
	if err != nil {
		t.Fatal(err)
	}
	return sha
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// wantErr checks an API error's status and that its message (with the
// errors list) contains msg.
func wantErr(t *testing.T, err error, status int, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want HTTP %d %q, got success", status, msg)
	}
	var er *github.ErrorResponse
	if !errors.As(err, &er) {
		var ae *github.AcceptedError
		if errors.As(err, &ae) && status == http.StatusAccepted {
			return
		}
		t.Fatalf("want *github.ErrorResponse, got %T: %v", err, err)
	}
	if er.Response.StatusCode != status {
		t.Fatalf("want HTTP %d, got %d: %v", status, er.Response.StatusCode, err)
	}
	if !strings.Contains(er.Error(), msg) {
		t.Fatalf("want message containing %q, got %v", msg, err)
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func checkRun(name, status, conclusion string) githubtest.CheckRun {
	return githubtest.CheckRun{Name: name, Status: status, Conclusion: conclusion}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
