package githubtest_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

const requestViolation = "githubtest: request does not match GitHub's OpenAPI description:"

func TestMalformedRequestsAreRejected(t *testing.T) {
	t.Parallel()
	srv, _, _ := setup(t)
	tests := []struct {
		name, method, path, body string
		want                     string
	}{
		{"pull request without head", "POST", "/repos/acme/app/pulls", `{"title":"t","base":"main"}`, `property \"head\" is missing`},
		{"wrong type", "POST", "/repos/acme/app/pulls", `{"title":"t","head":"x","base":"main","draft":"yes"}`, "draft"},
		{"bad enum in query", "GET", "/repos/acme/app/pulls?state=merged", ``, "state"},
		{"non-integer path parameter", "GET", "/repos/acme/app/pulls/abc", ``, "pull_number"},
		{"bad merge method", "PUT", "/repos/acme/app/pulls/1/merge", `{"merge_method":"fast-forward"}`, "merge_method"},
		{"body on a GET", "GET", "/repos/acme/app", `{"x":1}`, "body"},
		{"status without state", "POST", "/repos/acme/app/statuses/0123456789012345678901234567890123456789", `{"context":"ci"}`, "state"},
		{"label objects need a name", "POST", "/repos/acme/app/issues/1/labels", `[{"color":"red"}]`, "name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = bytes.NewBufferString(tc.body)
			}
			req, _ := http.NewRequest(tc.method, srv.APIURL()+tc.path, body)
			req.Header.Set("Authorization", "Bearer "+githubtest.DefaultToken)
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := http.DefaultClient.Do(req)
			ok(t, err)
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 422 || !strings.Contains(string(got), requestViolation) || !strings.Contains(string(got), tc.want) {
				t.Fatalf("%d %s", resp.StatusCode, got)
			}
			v := srv.TakeViolations()
			if len(v) != 1 || v[0].Kind != "request" || !strings.HasPrefix(v[0].String(), requestViolation) {
				t.Fatalf("violations %v", v)
			}
		})
	}
}

// New(t) must fail the test for a violation nobody took: run a server on a
// fake testing.TB and check its cleanup reports.
func TestUntakenViolationsFailTheTest(t *testing.T) {
	t.Parallel()
	ft := &fakeTB{TB: t}
	srv := githubtest.New(ft)
	ok(t, srv.CreateRepo(githubtest.RepoConfig{Owner: owner, Name: repo, AutoInit: true}))
	req, _ := http.NewRequest("POST", srv.APIURL()+"/repos/acme/app/pulls", strings.NewReader(`{"base":"main"}`))
	req.Header.Set("Authorization", "Bearer "+githubtest.DefaultToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	ok(t, err)
	resp.Body.Close()
	ft.runCleanups()
	if len(ft.errors) != 1 || !strings.Contains(ft.errors[0], requestViolation) {
		t.Fatalf("cleanup errors %q", ft.errors)
	}
}

type fakeTB struct {
	testing.TB
	cleanups []func()
	errors   []string
}

func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) Errorf(format string, args ...any) {
	f.errors = append(f.errors, sprintf(format, args...))
}
func (f *fakeTB) Logf(string, ...any) {}
func (f *fakeTB) runCleanups() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}
