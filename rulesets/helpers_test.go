package rulesets

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
	"github.com/cicd-excellence/actions/internal/testkit/steptest"
)

const (
	adminToken = "admin-token" // an App token with Administration: read and write
	readToken  = "read-token"  // an App token with Administration: read
	// auditToken verifies: GitHub shows bypass lists only to a token that
	// can edit rulesets, so a complete audit needs one (verify never writes).
	auditToken = "audit-token"
	botAppID   = "4242"
)

var testNow = time.Date(2025, 3, 14, 6, 30, 0, 0, time.UTC)

// fixture is two repositories on the local GitHub and a workspace with
// ruleset files.
type fixture struct {
	srv       *githubtest.Server
	workspace string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv := githubtest.New(t)
	for _, name := range []string{"app", "infra"} {
		if err := srv.CreateRepo(githubtest.RepoConfig{Owner: "acme", Name: name, AutoInit: true}); err != nil {
			t.Fatal(err)
		}
		// The test token injects drift "by hand", as an admin would.
		if err := srv.SetRepoAccess(githubtest.DefaultToken, "acme/"+name, githubtest.Admin); err != nil {
			t.Fatal(err)
		}
	}
	srv.AddToken(adminToken, "rulesets-bot[bot]", githubtest.Admin)
	srv.AddToken(readToken, "reader[bot]", githubtest.Read)
	srv.AddToken(auditToken, "auditor[bot]", githubtest.Admin)
	f := &fixture{srv: srv, workspace: t.TempDir()}
	f.write(t, ".github/rulesets/tags.json", tagsRuleset)
	return f
}

// tagsRuleset is a file-managed ruleset as the rulesets page exports it,
// server-side fields included.
const tagsRuleset = `{
  "id": 17,
  "name": "Release tags",
  "target": "tag",
  "source_type": "Repository",
  "source": "acme/app",
  "enforcement": "active",
  "conditions": {"ref_name": {"exclude": [], "include": ["refs/tags/v*"]}},
  "rules": [
    {"type": "deletion"},
    {"type": "update"},
    {"type": "non_fast_forward"}
  ],
  "bypass_actors": [],
  "current_user_can_bypass": "never",
  "created_at": "2025-01-02T03:04:05Z",
  "updated_at": "2025-01-02T03:04:05Z"
}`

func (f *fixture) write(t *testing.T, name, content string) {
	t.Helper()
	p := filepath.Join(f.workspace, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// result is one run of the step (steptest's) with the report read back.
type result struct{ steptest.Result }

func (r result) report(t *testing.T) Report {
	t.Helper()
	var rep Report
	if err := json.Unmarshal([]byte(r.Outputs["report"]), &rep); err != nil {
		t.Fatalf("report output: %v\n%s", err, r.Outputs["report"])
	}
	return rep
}

// run runs the step as a runner would, with outputs and summary in real
// files, the test's clock and fast retries.
func (f *fixture) run(t *testing.T, inputs ...string) result {
	t.Helper()
	env := append([]string{
		"GITHUB_REPOSITORY=acme/app", "GITHUB_API_URL=" + f.srv.APIURL(), "GITHUB_SERVER_URL=" + f.srv.ServerURL(),
		"INPUT_GITHUB_TOKEN=" + adminToken,
	}, inputs...)
	return result{steptest.RunWith(t, Step, steptest.WorkDir(f.workspace), steptest.Env(env...),
		steptest.Clock(func() time.Time { return testNow }), steptest.Backoff(time.Millisecond))}
}

// presetInputs apply both presets and the tag ruleset file.
var presetInputs = []string{
	"INPUT_PRESET=default, hotfixes", "INPUT_REQUIRED_CHECKS=test\nlint", "INPUT_BYPASS_APP_ID=" + botAppID,
	"INPUT_FILES=.github/rulesets/tags.json",
}

func with(base []string, more ...string) []string {
	return append(append([]string(nil), base...), more...)
}

// client is a plain go-github client with the given token, for changes made
// "by hand" around the action.
func (f *fixture) client(t *testing.T, token string) *gh.Client {
	t.Helper()
	u, err := url.Parse(f.srv.APIURL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	c := gh.NewClient(nil).WithAuthToken(token)
	c.BaseURL, c.UploadURL = u, u
	return c
}

// rulesetID finds a ruleset of acme/<repo> by name.
func (f *fixture) rulesetID(t *testing.T, repo, name string) int64 {
	t.Helper()
	list, err := API{Client: f.client(t, githubtest.DefaultToken)}.Rulesets(context.Background(), "acme", repo)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range list {
		if l.Name == name {
			return l.ID
		}
	}
	t.Fatalf("no ruleset %q in acme/%s", name, repo)
	return 0
}

// live reads a ruleset raw.
func (f *fixture) live(t *testing.T, repo, name string) map[string]any {
	t.Helper()
	m, err := API{Client: f.client(t, githubtest.DefaultToken)}.Ruleset(context.Background(), "acme", repo, f.rulesetID(t, repo, name))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// put changes a ruleset directly through the API with the test token, the
// way someone clicking in the settings would.
func (f *fixture) put(t *testing.T, repo, name string, body map[string]any) {
	t.Helper()
	c := f.client(t, githubtest.DefaultToken)
	req, err := c.NewRequest("PUT", fmt.Sprintf("repos/acme/%s/rulesets/%d", repo, f.rulesetID(t, repo, name)), body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(context.Background(), req, nil); err != nil {
		t.Fatalf("drift PUT: %v", err)
	}
}

func mustJSON(t *testing.T, s string) any {
	t.Helper()
	v, err := decode([]byte(s))
	if err != nil {
		t.Fatalf("%v in %s", err, s)
	}
	return v
}

// writes counts the ruleset writes in the request log.
func (f *fixture) writes() (posts, puts int) {
	return f.srv.CountRequests("POST /repos/{owner}/{repo}/rulesets"), f.srv.CountRequests("PUT /repos/{owner}/{repo}/rulesets/{ruleset_id}")
}
