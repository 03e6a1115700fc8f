package githubtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest/openapi"
)

func TestRoutesMatchOperations(t *testing.T) {
	s := &Server{}
	var keys []string
	for _, r := range s.routes() {
		keys = append(keys, r.key)
	}
	want := append([]string(nil), openapi.Operations...)
	sort.Strings(keys)
	sort.Strings(want)
	if strings.Join(keys, "\n") != strings.Join(want, "\n") {
		t.Fatalf("route table and openapi.Operations differ:\n%s\n--\n%s", keys, want)
	}
}

func TestRouterMatching(t *testing.T) {
	s := &Server{}
	rt := newRouter(s.routes())
	tests := []struct {
		method, path, key string
		params            map[string]string
	}{
		{"GET", "/repos/o/r/commits/feature/x/status", "GET /repos/{owner}/{repo}/commits/{ref}/status", map[string]string{"ref": "feature/x"}},
		{"GET", "/repos/o/r/commits/feature/x", "GET /repos/{owner}/{repo}/commits/{ref}", map[string]string{"ref": "feature/x"}},
		{"GET", "/repos/o/r/commits/abc/check-runs", "GET /repos/{owner}/{repo}/commits/{ref}/check-runs", map[string]string{"ref": "abc"}},
		{"GET", "/repos/o/r/contents/a/b%20c.txt", "GET /repos/{owner}/{repo}/contents/{path}", map[string]string{"path": "a/b c.txt"}},
		{"GET", "/repos/o/r/compare/main...feature%2Fx", "GET /repos/{owner}/{repo}/compare/{basehead}", map[string]string{"basehead": "main...feature/x"}},
		{"PATCH", "/repos/o/r/git/refs/heads/a/b", "PATCH /repos/{owner}/{repo}/git/refs/{ref}", map[string]string{"ref": "heads/a/b"}},
		{"GET", "/repos/o/r/branches/release%2F1.0", "GET /repos/{owner}/{repo}/branches/{branch}", map[string]string{"branch": "release/1.0"}},
		{"DELETE", "/repos/o/r/issues/3/labels/needs%20review", "DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}", map[string]string{"name": "needs review"}},
		{"GET", "/repos/o/r/pulls/3/files", "", nil},
		{"POST", "/repos/o/r", "", nil},
	}
	for _, tc := range tests {
		r, params, ok := rt.match(tc.method, tc.path)
		if tc.key == "" {
			if ok {
				t.Errorf("%s %s matched %s, want no match", tc.method, tc.path, r.key)
			}
			continue
		}
		if !ok || r.key != tc.key {
			t.Errorf("%s %s: got %v, want %s", tc.method, tc.path, r, tc.key)
			continue
		}
		for k, v := range tc.params {
			if params[k] != v {
				t.Errorf("%s %s: param %s = %q, want %q", tc.method, tc.path, k, params[k], v)
			}
		}
	}
}

// The validator must catch a response the server gets wrong; otherwise the
// "every response is validated" claim would be untested.
func TestResponseValidationCatchesBadBodies(t *testing.T) {
	sp, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/repos/o/r/git/ref/heads/main", nil)
	params := map[string]string{"owner": "o", "repo": "r", "ref": "heads/main"}
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	op := "GET /repos/{owner}/{repo}/git/ref/{ref}"
	good := `{"ref":"refs/heads/main","node_id":"x","url":"http://h/u","object":{"type":"commit","sha":"7638417db6d59f3c431d3e1f261cc637155684cd","url":"http://h/o"}}`
	cases := []struct {
		name   string
		status int
		body   string
		bad    bool
	}{
		{"valid", 200, good, false},
		{"missing required field", 200, `{"ref":"refs/heads/main","url":"http://h/u","object":{"type":"commit","sha":"7638417db6d59f3c431d3e1f261cc637155684cd","url":"http://h/o"}}`, true},
		{"wrong type", 200, strings.Replace(good, `"node_id":"x"`, `"node_id":5`, 1), true},
		{"bad uri", 200, strings.Replace(good, `"url":"http://h/u"`, `"url":"not a uri"`, 1), true},
		{"undeclared status", 418, `{"message":"teapot"}`, true},
		{"empty body where one is declared", 200, ``, true},
	}
	for _, tc := range cases {
		err := sp.validateResponse(context.Background(), op, req, params, tc.status, h, []byte(tc.body))
		if (err != nil) != tc.bad {
			t.Errorf("%s: err = %v, want error %v", tc.name, err, tc.bad)
		}
	}
}

func TestAmbiguousErrorOneOfRelaxedOnlyThere(t *testing.T) {
	sp, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("PUT", "/repos/o/r/contents/f", nil)
	params := map[string]string{"owner": "o", "repo": "r", "path": "f"}
	h := http.Header{"Content-Type": {"application/json"}}
	op := "PUT /repos/{owner}/{repo}/contents/{path}"
	if err := sp.validateResponse(context.Background(), op, req, params, 409, h, []byte(`{"message":"f does not match x","documentation_url":"u","status":"409"}`)); err != nil {
		t.Fatalf("409 error body rejected: %v", err)
	}
	if err := sp.validateResponse(context.Background(), op, req, params, 409, h, []byte(`{"message":5}`)); err == nil {
		t.Fatal("409 body with a numeric message accepted")
	}
}
