package githubtest_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
	"github.com/cicd-excellence/actions/internal/testkit/githubtest/openapi"
)

func TestListensOnLoopbackOnly(t *testing.T) {
	t.Parallel()
	srv := githubtest.New(t)
	u, err := url.Parse(srv.URL)
	ok(t, err)
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		t.Fatalf("server listens on %s, want a loopback address", u.Host)
	}
	if srv.APIURL() != srv.URL+"/api/v3" || srv.ServerURL() != srv.URL {
		t.Fatalf("APIURL %q ServerURL %q", srv.APIURL(), srv.ServerURL())
	}
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0"} {
		if _, err := githubtest.Start(ctx, githubtest.Config{Addr: addr}); err == nil {
			t.Errorf("Start(%q) succeeded, want a refusal to leave loopback", addr)
		}
	}
}

func TestExtractIsPinnedAndComplete(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("openapi", "github.json"))
	ok(t, err)
	var doc struct {
		Info struct {
			Source struct{ Package, Version string } `json:"x-source"`
		} `json:"info"`
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	ok(t, json.Unmarshal(raw, &doc))
	pkg, err := os.ReadFile(filepath.Join("openapi", "package.json"))
	ok(t, err)
	var pin struct {
		DevDependencies map[string]string `json:"devDependencies"`
	}
	ok(t, json.Unmarshal(pkg, &pin))
	if got, want := doc.Info.Source.Version, pin.DevDependencies["@octokit/openapi"]; got != want || got == "" {
		t.Fatalf("extract comes from @octokit/openapi %q, package.json pins %q", got, want)
	}
	var ops []string
	for p, item := range doc.Paths {
		for m := range item {
			if m != "parameters" {
				ops = append(ops, strings.ToUpper(m)+" "+p)
			}
		}
	}
	want := append([]string(nil), openapi.Operations...)
	sort.Strings(ops)
	sort.Strings(want)
	if strings.Join(ops, "\n") != strings.Join(want, "\n") {
		t.Fatalf("extract operations differ from openapi.Operations (regenerate):\n%s\nvs\n%s", ops, want)
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	srv, _, _ := setup(t)
	ok(t, srv.CreateRepo(githubtest.RepoConfig{Owner: owner, Name: "secret", Private: true}))
	commitTo(t, srv, "secret")
	srv.AddToken("reader", "rita", githubtest.Read)
	srv.AddToken("outsider", "olga", githubtest.None)
	srv.AddToken("admin", "ada", githubtest.Admin)
	ok(t, srv.SetRepoAccess("outsider", "acme/app", githubtest.Write))

	put := &github.RepositoryContentFileOptions{Message: github.String("m"), Content: []byte("new")}
	tests := []struct {
		name, token, repo string
		write             bool
		status            int
		msg               string
	}{
		{"missing token", "", repo, false, 401, "Bad credentials"},
		{"unknown token", "nope", repo, false, 401, "Bad credentials"},
		{"read public", "reader", repo, false, 200, ""},
		{"read-only write", "reader", repo, true, 403, "Resource not accessible by integration"},
		{"private without access", "outsider", "secret", false, 404, "Not Found"},
		{"public without access reads", "outsider", repo, false, 200, ""},
		{"per-repo write", "outsider", repo, true, 201, ""},
		{"private with access", "reader", "secret", false, 200, ""},
		{"admin writes", "admin", "secret", true, 201, ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gh := client(t, srv, tc.token)
			var resp *github.Response
			var err error
			if tc.write {
				_, resp, err = gh.Repositories.CreateFile(ctx, owner, tc.repo, "f"+strconv.Itoa(i), put)
			} else {
				_, resp, err = gh.Repositories.Get(ctx, owner, tc.repo)
			}
			if tc.msg != "" {
				wantErr(t, err, tc.status, tc.msg)
				return
			}
			ok(t, err)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
	// Token schemes: "Bearer" and "token" are both accepted.
	for _, scheme := range []string{"Bearer", "token"} {
		req, _ := http.NewRequest("GET", srv.APIURL()+"/repos/acme/app", nil)
		req.Header.Set("Authorization", scheme+" "+githubtest.DefaultToken)
		resp, err := http.DefaultClient.Do(req)
		ok(t, err)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s scheme: status %d", scheme, resp.StatusCode)
		}
	}
	// Repository permissions reflect the token.
	r, _, err := client(t, srv, "reader").Repositories.Get(ctx, owner, repo)
	ok(t, err)
	if p := r.GetPermissions(); p["pull"] != true || p["push"] != false || p["admin"] != false {
		t.Fatalf("reader permissions %v", p)
	}
}

func commitTo(t *testing.T, srv *githubtest.Server, name string) {
	t.Helper()
	if _, err := srv.CommitFiles(owner, name, "main", map[string]string{"x": "x"}, "x"); err != nil {
		t.Fatal(err)
	}
}

func TestRepositoryMetadata(t *testing.T) {
	t.Parallel()
	srv := githubtest.New(t)
	ok(t, srv.CreateRepo(githubtest.RepoConfig{Owner: "Octo", Name: "Tools", DefaultBranch: "trunk", Private: true, AutoInit: true}))
	gh := client(t, srv, githubtest.DefaultToken)
	r, _, err := gh.Repositories.Get(ctx, "octo", "tools") // case-insensitive, like GitHub
	ok(t, err)
	checks := map[string][2]string{
		"full_name":      {r.GetFullName(), "Octo/Tools"},
		"name":           {r.GetName(), "Tools"},
		"owner":          {r.GetOwner().GetLogin(), "Octo"},
		"default_branch": {r.GetDefaultBranch(), "trunk"},
		"html_url":       {r.GetHTMLURL(), srv.URL + "/Octo/Tools"},
		"clone_url":      {r.GetCloneURL(), srv.URL + "/Octo/Tools.git"},
		"visibility":     {r.GetVisibility(), "private"},
		"private":        {strconv.FormatBool(r.GetPrivate()), "true"},
		"push":           {strconv.FormatBool(r.GetPermissions()["push"]), "true"},
	}
	for field, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", field, c[0], c[1])
		}
	}
	if got, err := srv.ReadFile("Octo", "Tools", "trunk", "README.md"); err != nil || !strings.HasPrefix(got, "# Tools") {
		t.Fatalf("AutoInit README: %q %v", got, err)
	}
	if err := srv.CreateRepo(githubtest.RepoConfig{Owner: "octo", Name: "tools"}); err == nil {
		t.Fatal("duplicate CreateRepo succeeded")
	}
	_, _, err = gh.Repositories.Get(ctx, "octo", "missing")
	wantErr(t, err, 404, "Not Found")
}

func TestAPIServedAtRootAndV3(t *testing.T) {
	t.Parallel()
	srv, _, _ := setup(t)
	for _, base := range []string{srv.URL, srv.APIURL()} {
		req, _ := http.NewRequest("GET", base+"/repos/acme/app", nil)
		req.Header.Set("Authorization", "Bearer "+githubtest.DefaultToken)
		resp, err := http.DefaultClient.Do(req)
		ok(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"full_name":"acme/app"`) {
			t.Fatalf("%s: %d %s", base, resp.StatusCode, body)
		}
	}
	// Plain BaseURL clients (root layout) work too.
	gh := github.NewClient(nil).WithAuthToken(githubtest.DefaultToken)
	gh.BaseURL, _ = url.Parse(srv.URL + "/")
	_, _, err := gh.Repositories.Get(ctx, owner, repo)
	ok(t, err)
}

func TestRateLimitHeaders(t *testing.T) {
	t.Parallel()
	srv := githubtest.New(t, githubtest.WithRateLimit(3))
	ok(t, srv.CreateRepo(githubtest.RepoConfig{Owner: owner, Name: repo, AutoInit: true}))
	gh := client(t, srv, githubtest.DefaultToken)
	for i := 1; i <= 3; i++ {
		_, resp, err := gh.Repositories.Get(ctx, owner, repo)
		ok(t, err)
		h := resp.Header
		if h.Get("X-Ratelimit-Limit") != "3" || h.Get("X-Ratelimit-Used") != strconv.Itoa(i) ||
			h.Get("X-Ratelimit-Remaining") != strconv.Itoa(3-i) || h.Get("X-Ratelimit-Resource") != "core" {
			t.Fatalf("request %d: rate headers %v", i, h)
		}
		reset, err := strconv.ParseInt(h.Get("X-Ratelimit-Reset"), 10, 64)
		if err != nil || time.Unix(reset, 0).Before(time.Now()) {
			t.Fatalf("reset %q is not a future epoch", h.Get("X-Ratelimit-Reset"))
		}
	}
	_, _, err := gh.Repositories.Get(ctx, owner, repo)
	var rl *github.RateLimitError
	if !errorsAs(err, &rl) {
		t.Fatalf("4th request: want *github.RateLimitError, got %T %v", err, err)
	}
	// Even a 401 carries the headers.
	resp, err := http.Get(srv.APIURL() + "/repos/acme/app")
	ok(t, err)
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("X-Ratelimit-Limit") == "" {
		t.Fatalf("401 without rate-limit headers: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestUnknownRouteIs404(t *testing.T) {
	t.Parallel()
	srv, _, _ := setup(t)
	for _, p := range []string{"/repos/acme/app/hooks", "/user", "/repos/acme/app/pulls/1/files"} {
		req, _ := http.NewRequest("GET", srv.APIURL()+p, nil)
		req.Header.Set("Authorization", "Bearer "+githubtest.DefaultToken)
		resp, err := http.DefaultClient.Do(req)
		ok(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 || !strings.Contains(string(body), `"message":"Not Found"`) {
			t.Errorf("%s: %d %s", p, resp.StatusCode, body)
		}
	}
}
