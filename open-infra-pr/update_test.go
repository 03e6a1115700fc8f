package openinfrapr

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
	"github.com/cicd-excellence/actions/internal/testkit/steptest"
)

const devJSON = `{
  "api": {
    "tag": "%s",
    "replicas": 2
  },
  "web": {
    "tag": "%s"
  }
}
`

// world is an app repo with a history on main, a hotfix branch and an
// unmerged feature branch, and an infra repo whose envs point at its commits.
type world struct {
	srv             *githubtest.Server
	app             []string // main's commits, oldest first
	hotfix, feature string
	web             string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	srv := githubtest.New(t)
	w := &world{srv: srv}
	for _, r := range []string{"app", "infra"} {
		if err := srv.CreateRepo(githubtest.RepoConfig{Owner: "acme", Name: r}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 4; i++ {
		sha, err := srv.CommitFiles("acme", "app", "main", map[string]string{"v.txt": fmt.Sprint(i)}, fmt.Sprintf("app %d", i))
		if err != nil {
			t.Fatal(err)
		}
		w.app = append(w.app, sha)
	}
	w.web = w.app[0]
	must(t, srv.SetRef("acme", "app", "refs/heads/hotfixes/x", w.app[1]))
	var err error
	if w.hotfix, err = srv.CommitFiles("acme", "app", "hotfixes/x", map[string]string{"fix.txt": "1"}, "fix"); err != nil {
		t.Fatal(err)
	}
	must(t, srv.SetRef("acme", "app", "refs/heads/feature", w.app[3]))
	if w.feature, err = srv.CommitFiles("acme", "app", "feature", map[string]string{"f.txt": "1"}, "feature"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.CommitFiles("acme", "infra", "main", map[string]string{
		"envs/dev.json":     fmt.Sprintf(devJSON, w.app[1], w.web),
		"envs/staging.json": fmt.Sprintf(devJSON, w.app[0], w.web),
	}, "envs"); err != nil {
		t.Fatal(err)
	}
	return w
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// run runs the step as a runner would: inputs and event in the environment,
// outputs in a real file.
func (w *world) run(t *testing.T, inputs ...string) (map[string]string, string, error) {
	t.Helper()
	env := append([]string{
		"GITHUB_REPOSITORY=acme/app", "GITHUB_SHA=" + w.app[3], "GITHUB_ACTOR=dev", "GITHUB_EVENT_NAME=push",
		"GITHUB_API_URL=" + w.srv.APIURL(), "GITHUB_SERVER_URL=" + w.srv.ServerURL(),
		"INPUT_GITHUB_TOKEN=" + githubtest.DefaultToken, "INPUT_INFRA_REPO=acme/infra", "INPUT_MERGE_TIMEOUT=3m",
	}, inputs...)
	res := steptest.Run(t, Step, "", env...)
	return res.Outputs, res.Log, res.Err
}

func (w *world) file(t *testing.T, env string) string {
	t.Helper()
	s, err := w.srv.ReadFile("acme", "infra", "main", "envs/"+env+".json")
	must(t, err)
	return s
}

func (w *world) branches(t *testing.T) []string {
	t.Helper()
	refs, err := w.srv.Refs("acme", "infra")
	must(t, err)
	var out []string
	for r := range refs {
		if strings.HasPrefix(r, "refs/heads/") && r != "refs/heads/main" {
			out = append(out, r)
		}
	}
	return out
}

func (w *world) pulls(t *testing.T) []githubtest.PullRequest {
	t.Helper()
	var out []githubtest.PullRequest
	for n := 1; ; n++ {
		pr, err := w.srv.PullRequest("acme", "infra", n)
		if err != nil {
			return out
		}
		out = append(out, pr)
	}
}

func TestBumpDevMerges(t *testing.T) {
	w := newWorld(t)
	before := w.file(t, "dev")
	out, log, err := w.run(t)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	after := w.file(t, "dev")
	if want := strings.Replace(before, w.app[1], w.app[3], 1); after != want {
		t.Errorf("dev.json:\n%s\nwant only the tag changed:\n%s", after, want)
	}
	if out["operation"] != "merged" || out["merged"] != "true" || out["pull-request-number"] != "1" || out["verified"] != "true" {
		t.Errorf("outputs = %v", out)
	}
	prs := w.pulls(t)
	if len(prs) != 1 || !prs[0].Merged || prs[0].MergeCommitSHA != out["commit-sha"] {
		t.Fatalf("pulls = %+v, commit-sha %s", prs, out["commit-sha"])
	}
	// A rebase merge rewrites the commit: main's head is the merge commit,
	// not the PR head.
	refs, _ := w.srv.Refs("acme", "infra")
	if refs["refs/heads/main"] != out["commit-sha"] || prs[0].HeadSHA == out["commit-sha"] {
		t.Errorf("main at %s, PR head %s, commit-sha %s", refs["refs/heads/main"], prs[0].HeadSHA, out["commit-sha"])
	}
	if b := w.branches(t); len(b) != 0 {
		t.Errorf("branches left behind: %v", b)
	}
	var audit Audit
	must(t, json.Unmarshal([]byte(out["audit"]), &audit))
	if audit.Environment != "dev" || len(audit.Changes) != 1 || audit.Changes[0].Old != w.app[1] || audit.Changes[0].New != w.app[3] || audit.Actor != "dev" || audit.AppSHA != w.app[3] {
		t.Errorf("audit = %+v", audit)
	}
	if !strings.Contains(prs[0].Body, "/acme/app/compare/"+w.app[1]+"..."+w.app[3]) {
		t.Errorf("PR body has no compare link:\n%s", prs[0].Body)
	}

	// The same run again changes nothing.
	out, log, err = w.run(t)
	if err != nil || out["operation"] != "none" {
		t.Fatalf("rerun: %v %v\n%s", err, out, log)
	}
	if len(w.pulls(t)) != 1 {
		t.Error("rerun opened a PR")
	}
}

func TestRerunReusesPR(t *testing.T) {
	w := newWorld(t)
	for i := 0; i < 2; i++ {
		out, log, err := w.run(t, "INPUT_MERGE=none")
		if err != nil {
			t.Fatalf("run %d: %v\n%s", i, err, log)
		}
		want := map[int]string{0: "created", 1: "updated"}[i]
		if out["operation"] != want || out["pull-request-number"] != "1" {
			t.Errorf("run %d outputs = %v", i, out)
		}
	}
	if n := len(w.pulls(t)); n != 1 {
		t.Errorf("%d PRs, want 1", n)
	}
	if b := w.branches(t); len(b) != 1 {
		t.Errorf("branches = %v, want one", b)
	}
}

func TestOrderAndReachability(t *testing.T) {
	w := newWorld(t)
	t.Run("older commit is skipped", func(t *testing.T) {
		out, log, err := w.run(t, "INPUT_SET=api.tag="+w.app[0])
		if err != nil || out["operation"] != "skipped" || !strings.Contains(log, "is not newer than") {
			t.Fatalf("%v %v\n%s", err, out, log)
		}
		if len(w.pulls(t)) != 0 {
			t.Error("a PR was opened for a downgrade")
		}
	})
	t.Run("allow-downgrade rolls back", func(t *testing.T) {
		out, log, err := w.run(t, "INPUT_SET=api.tag="+w.app[0], "INPUT_ALLOW_DOWNGRADE=true")
		if err != nil || out["operation"] != "merged" || !strings.Contains(w.file(t, "dev"), w.app[0]) {
			t.Fatalf("%v %v\n%s", err, out, log)
		}
	})
	t.Run("a hotfix commit is reachable", func(t *testing.T) {
		out, log, err := w.run(t, "INPUT_SET=api.tag="+w.hotfix, "INPUT_ALLOW_DOWNGRADE=true")
		if err != nil || out["operation"] != "merged" {
			t.Fatalf("%v %v\n%s", err, out, log)
		}
	})
	t.Run("an unmerged commit is refused", func(t *testing.T) {
		before := w.file(t, "dev")
		_, log, err := w.run(t, "INPUT_SET=api.tag="+w.feature)
		var ie *action.InputError
		if !errors.As(err, &ie) || ie.Input != "set" || !strings.Contains(err.Error(), "only merged commits may be deployed") {
			t.Fatalf("err = %v\n%s", err, log)
		}
		if w.file(t, "dev") != before || len(w.branches(t)) != 0 {
			t.Error("something was written")
		}
	})
	t.Run("a commit the app does not have", func(t *testing.T) {
		_, _, err := w.run(t, "INPUT_SET=api.tag="+strings.Repeat("e", 40))
		if err == nil || !strings.Contains(err.Error(), "is not a commit of acme/app") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestHold(t *testing.T) {
	w := newWorld(t)
	held := strings.Replace(fmt.Sprintf(devJSON, w.app[1], w.web), `"replicas": 2`, `"replicas": 2,
    "hold": "INC-7: rolled back"`, 1)
	_, err := w.srv.CommitFiles("acme", "infra", "main", map[string]string{"envs/dev.json": held}, "hold api")
	must(t, err)
	out, log, err := w.run(t)
	if err != nil || out["operation"] != "skipped" || !strings.Contains(log, "INC-7: rolled back") {
		t.Fatalf("%v %v\n%s", err, out, log)
	}
	// Other keys still move.
	out, log, err = w.run(t, "INPUT_SET=web.tag="+w.app[2])
	if err != nil || out["operation"] != "merged" {
		t.Fatalf("%v %v\n%s", err, out, log)
	}
}

// TestSupersede: runs that move the same key meet on one branch and one PR.
// A newer value takes the PR over (its text follows); an older one writes
// nothing and ends "superseded", exit 0.
func TestSupersede(t *testing.T) {
	w := newWorld(t)
	first, log, err := w.run(t, "INPUT_MERGE=none", "INPUT_SET=api.tag="+w.app[2])
	if err != nil || first["operation"] != "created" {
		t.Fatalf("%v %v\n%s", err, first, log)
	}
	second, log, err := w.run(t, "INPUT_MERGE=none", "INPUT_SET=api.tag="+w.app[3])
	if err != nil || second["operation"] != "updated" || second["pull-request-number"] != first["pull-request-number"] {
		t.Fatalf("%v %v\n%s", err, second, log)
	}
	w.srv.ResetRequests()
	older, log, err := w.run(t, "INPUT_MERGE=none", "INPUT_SET=api.tag="+w.app[2])
	if err != nil || older["operation"] != "superseded" {
		t.Fatalf("%v %v\n%s", err, older, log)
	}
	for _, r := range w.srv.Requests() {
		if r.Method != "GET" && r.Status < 400 {
			t.Errorf("the superseded run wrote: %s %s", r.Method, r.Path)
		}
	}
	prs := w.pulls(t)
	if len(prs) != 1 || prs[0].State != "open" || prs[0].HeadSHA != second["commit-sha"] {
		t.Fatalf("pulls = %+v, want one open PR at %s", prs, second["commit-sha"])
	}
	if !strings.Contains(prs[0].Title, w.app[3][:7]) || !strings.Contains(prs[0].Body, w.app[3]) || strings.Contains(prs[0].Body, w.app[2]) {
		t.Errorf("the PR's text does not describe its head:\n%s\n%s", prs[0].Title, prs[0].Body)
	}
	if b := w.branches(t); len(b) != 1 {
		t.Errorf("branches = %v, want the one PR branch", b)
	}
}

func TestConflictMidMerge(t *testing.T) {
	w := newWorld(t)
	moved := false
	w.srv.Faults().BeforeMergeWrite(func(owner, repo string, number int) {
		if moved {
			return
		}
		moved = true
		// Someone lands a change to the same line between our read and merge.
		content := strings.Replace(fmt.Sprintf(devJSON, w.app[1], w.web), `"replicas": 2`, `"replicas": 3`, 1)
		content = strings.Replace(content, w.app[1], w.app[2], 1)
		if _, err := w.srv.CommitFiles("acme", "infra", "main", map[string]string{"envs/dev.json": content}, "concurrent"); err != nil {
			t.Error(err)
		}
	})
	out, log, err := w.run(t, "INPUT_SET=api.tag="+w.app[3])
	if err != nil || out["operation"] != "merged" {
		t.Fatalf("%v %v\n%s", err, out, log)
	}
	got := w.file(t, "dev")
	if !strings.Contains(got, w.app[3]) || !strings.Contains(got, `"replicas": 3`) {
		t.Errorf("lost an update:\n%s", got)
	}
}

func TestTwentyWriters(t *testing.T) {
	w := newWorld(t)
	var keys []string
	content := "{\n"
	for i := 0; i < 20; i++ {
		k := fmt.Sprintf("svc%02d", i)
		keys = append(keys, k)
		sep := ","
		if i == 19 {
			sep = ""
		}
		content += fmt.Sprintf("  %q: {\n    \"tag\": %q\n  }%s\n", k, w.app[1], sep)
	}
	content += "}\n"
	_, err := w.srv.CommitFiles("acme", "infra", "main", map[string]string{"envs/dev.json": content}, "20 services")
	must(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, len(keys))
	for _, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, log, err := w.run(t, "INPUT_SET="+k+".tag="+w.app[3])
			if err != nil || out["operation"] != "merged" {
				errs <- fmt.Errorf("%s: %v %v\n%s", k, err, out, log)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := w.file(t, "dev")
	if n := strings.Count(got, w.app[3]); n != 20 {
		t.Errorf("%d of 20 updates landed:\n%s", n, got)
	}
	if b := w.branches(t); len(b) != 0 {
		t.Errorf("branches left behind: %v", b)
	}
}

func TestPromotion(t *testing.T) {
	w := newWorld(t)
	out, log, err := w.run(t, "INPUT_ENVIRONMENT=staging", "INPUT_PROMOTE_FROM=dev")
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if out["operation"] != "created" || out["merged"] != "false" {
		t.Errorf("a promotion is not merged unless asked: %v", out)
	}
	prs := w.pulls(t)
	if len(prs) != 1 || !strings.Contains(prs[0].Body, "Promotes **dev** to **staging**") || !strings.Contains(prs[0].Body, "compare/"+w.app[0]+"..."+w.app[1]) {
		t.Fatalf("PR = %+v", prs)
	}
	if strings.Contains(w.file(t, "staging"), w.app[1]) {
		t.Error("staging changed before review")
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	w := newWorld(t)
	_, err := w.srv.CommitFiles("acme", "infra", "main", map[string]string{"envs/qa.json": `{"api": {"tag": "x"}, "api": {}}`}, "broken qa")
	must(t, err)
	tests := []struct {
		name   string
		inputs []string
		input  string
		msg    string
	}{
		{"missing key", []string{"INPUT_SET=db.tag=" + w.app[3]}, "", "not found"},
		{"missing file", []string{"INPUT_ENVIRONMENT=prod"}, "file", "envs/prod.json does not exist"},
		{"duplicate keys in the file", []string{"INPUT_ENVIRONMENT=qa", "INPUT_MERGE=none"}, "", "duplicate key"},
		{"environment with a slash", []string{"INPUT_ENVIRONMENT=../dev"}, "environment", "not an environment name"},
		{"file escaping the repo", []string{"INPUT_FILE=../{environment}.json"}, "file", "not a clean path"},
		{"absolute file", []string{"INPUT_FILE=/etc/{environment}.json"}, "file", "absolute"},
		{"not json", []string{"INPUT_FILE=envs/{environment}.yaml"}, "file", "not a .json file"},
		{"short SHA", []string{"INPUT_SET=api.tag=abc1234"}, "set", "full 40-character"},
		{"wildcard key", []string{"INPUT_SET=api.*=x"}, "set", ""},
		{"no equals", []string{"INPUT_SET=api.tag"}, "set", "not path=value"},
		{"base branch missing", []string{"INPUT_BASE=release"}, "base", "does not exist"},
		{"bad merge mode", []string{"INPUT_MERGE=yes"}, "merge", "auto, admin, none"},
		{"bad infra repo", []string{"INPUT_INFRA_REPO=acme"}, "infra-repo", "owner/name"},
		{"infra repo that does not exist", []string{"INPUT_INFRA_REPO=acme/nope"}, "", "acme/nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			refs, _ := w.srv.Refs("acme", "infra")
			_, log, err := w.run(t, tc.inputs...)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want %q\n%s", err, tc.msg, log)
			}
			var ie *action.InputError
			if tc.input != "" && (!errors.As(err, &ie) || ie.Input != tc.input) {
				t.Errorf("err = %v, want it to name input %q", err, tc.input)
			}
			after, _ := w.srv.Refs("acme", "infra")
			if fmt.Sprint(after) != fmt.Sprint(refs) || len(w.pulls(t)) != 0 {
				t.Errorf("something was written: refs %v -> %v", refs, after)
			}
		})
	}
}

// TestDisallowedMergeMethod: an infra repo that does not allow the merge
// method refuses the merge (as GitHub does); the run fails in one line
// naming the merge-method input and leaves the PR open.
func TestDisallowedMergeMethod(t *testing.T) {
	w := newWorld(t)
	no := false
	must(t, w.srv.CreateRepo(githubtest.RepoConfig{Owner: "acme", Name: "strict", AllowSquashMerge: &no}))
	_, err := w.srv.CommitFiles("acme", "strict", "main", map[string]string{"envs/dev.json": w.file(t, "dev")}, "envs")
	must(t, err)
	_, log, err := w.run(t, "INPUT_INFRA_REPO=acme/strict")
	if err == nil || !strings.Contains(err.Error(), `input "merge-method"`) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v, want one line naming merge-method\n%s", err, log)
	}
	if pr, err := w.srv.PullRequest("acme", "strict", 1); err != nil || pr.State != "open" {
		t.Errorf("want the PR left open: %+v %v", pr, err)
	}
	// The method the repository allows works.
	if out, log, err := w.run(t, "INPUT_INFRA_REPO=acme/strict", "INPUT_MERGE_METHOD=rebase"); err != nil || out["operation"] != "merged" {
		t.Fatalf("%v %v\n%s", err, out, log)
	}
}
