package rulesets

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

// TestPresets renders every preset and pins what it sends to GitHub.
func TestPresets(t *testing.T) {
	o := PresetOptions{BypassAppID: 4242, RequiredChecks: []string{"validate"}, ReleaseAppID: 777}
	pr := `{"parameters":{"dismiss_stale_reviews_on_push":true,"require_code_owner_review":false,"require_last_push_approval":true,"required_approving_review_count":1,"required_review_thread_resolution":false},"type":"pull_request"}`
	hot := `"conditions":{"ref_name":{"exclude":[],"include":["refs/heads/hotfixes/*","refs/heads/hotfixes/**"]}},"enforcement":"active"`
	want := map[string][]string{
		"default": {
			`{"bypass_actors":[{"actor_id":4242,"actor_type":"Integration","bypass_mode":"pull_request"}],"conditions":{"ref_name":{"exclude":[],"include":["~DEFAULT_BRANCH"]}},"enforcement":"active","name":"Default",` +
				`"rules":[{"type":"deletion"},{"type":"non_fast_forward"},{"type":"creation"},{"type":"required_linear_history"},` + pr + `],"target":"branch"}`,
			// No bypass actors: a pull_request-mode bypass would skip the checks too.
			`{"bypass_actors":[],"conditions":{"ref_name":{"exclude":[],"include":["~DEFAULT_BRANCH"]}},"enforcement":"active","name":"Required checks",` +
				`"rules":[{"parameters":{"required_status_checks":[{"context":"validate","integration_id":15368}],"strict_required_status_checks_policy":true},"type":"required_status_checks"}],"target":"branch"}`,
		},
		"bot-branches": {
			`{"bypass_actors":[{"actor_id":4242,"actor_type":"Integration","bypass_mode":"always"}],"conditions":{"ref_name":{"exclude":[],"include":["refs/heads/cicd-excellence/*","refs/heads/cicd-excellence/**"]}},"enforcement":"active","name":"Bot branches",` +
				`"rules":[{"type":"creation"},{"type":"update"},{"type":"deletion"},{"type":"non_fast_forward"}],"target":"branch"}`,
		},
		"hotfixes": {
			// No update rule: GitHub's "Restrict updates" also blocks merging
			// the reviewed pull requests for anyone who does not bypass.
			`{"bypass_actors":[{"actor_id":4242,"actor_type":"Integration","bypass_mode":"always"}],` + hot + `,"name":"Hotfixes",` +
				`"rules":[{"type":"creation"},{"type":"deletion"},{"type":"non_fast_forward"}],"target":"branch"}`,
			`{"bypass_actors":[],` + hot + `,"name":"Hotfixes review","rules":[` + pr + `],"target":"branch"}`,
		},
		"release-tags": {
			`{"bypass_actors":[{"actor_id":777,"actor_type":"Integration","bypass_mode":"always"}],"conditions":{"ref_name":{"exclude":[],"include":["refs/tags/v*"]}},"enforcement":"active","name":"Release tags",` +
				`"rules":[{"type":"creation"},{"type":"update"},{"type":"deletion"},{"type":"non_fast_forward"}],"target":"tag"}`,
		},
	}
	f := newFixture(t)
	api := API{Client: f.client(t, adminToken)}
	for _, name := range Presets {
		t.Run(name, func(t *testing.T) {
			list, err := Preset(name, o)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != len(want[name]) {
				t.Fatalf("%d rulesets, want %d", len(list), len(want[name]))
			}
			for i, rs := range list {
				if got := show(rs.Body); got != want[name][i] {
					t.Errorf("ruleset %d:\n%s\nwant\n%s", i, got, want[name][i])
				}
				// An App bypasses always only where it skips no review.
				for _, a := range actorsByKey(rs.Body["bypass_actors"]) {
					if a["bypass_mode"] == "always" && !AppMayAlwaysBypass(rs.Body) {
						t.Errorf("%s: an App always bypasses a ruleset with review rules", rs.Name())
					}
				}
				// The local GitHub, which checks each request against GitHub's
				// OpenAPI description, takes it.
				if _, err := api.Create(context.Background(), "acme", "infra", rs); err != nil {
					t.Errorf("%s: %v", rs.Name(), err)
				}
			}
		})
	}

	for _, tc := range []struct {
		name string
		o    PresetOptions
		want string
	}{
		{"default", PresetOptions{BypassAppID: 1}, "needs the status checks a pull request must pass (required-checks)"},
		{"hotfixes", PresetOptions{}, "needs the bot GitHub App's id (bypass-app-id)"},
		{"bot-branches", PresetOptions{ReleaseAppID: 3}, "needs the bot GitHub App's id (bypass-app-id)"},
		{"release-tags", PresetOptions{BypassAppID: 3}, "needs the release GitHub App's id (release-app-id)"},
		{"nope", PresetOptions{}, `"nope" is not a preset`},
	} {
		if _, err := Preset(tc.name, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Preset(%s): %v, want %q", tc.name, err, tc.want)
		}
	}
	// Another checks App is bound when asked.
	list, err := Preset("default", PresetOptions{BypassAppID: 1, RequiredChecks: []string{"a", "b"}, ChecksAppID: 99})
	if err != nil {
		t.Fatal(err)
	}
	if got := show(list[1].Body["rules"]); !strings.Contains(got, `[{"context":"a","integration_id":99},{"context":"b","integration_id":99}]`) {
		t.Errorf("rules %s", got)
	}
}

// attackWorld is a repository with every branch preset applied by the
// action, the bot's and a hotfix branch, and mallory: a user with write
// access, the worst a compromised developer account can do.
type attackWorld struct {
	*fixture
	mallory *gh.Client
	bot     *gh.Client
	main    string
}

const malloryToken, botToken = "mallory-token", "bot-token"

func newAttackWorld(t *testing.T) *attackWorld {
	t.Helper()
	f := newFixture(t)
	f.srv.AddToken(malloryToken, "mallory", githubtest.Write)
	// The bot's bypass actor is matched by the id the local GitHub gives its
	// login (the local GitHub has no App identities yet).
	f.srv.AddToken(botToken, "cicd-bot[bot]", githubtest.Write)
	botID := strconv.FormatInt(f.srv.UserID("cicd-bot[bot]"), 10)
	res := f.run(t, "INPUT_COMMAND=apply", "INPUT_PRESET=default, bot-branches, hotfixes", "INPUT_REQUIRED_CHECKS=validate", "INPUT_BYPASS_APP_ID="+botID)
	if res.Err != nil {
		t.Fatalf("apply: %v\n%s", res.Err, res.Log)
	}
	refs, err := f.srv.Refs("acme", "app")
	if err != nil {
		t.Fatal(err)
	}
	w := &attackWorld{fixture: f, mallory: f.client(t, malloryToken), bot: f.client(t, botToken), main: refs["refs/heads/main"]}
	for _, ref := range []string{"refs/heads/cicd-excellence/dev/0123456789ab", "refs/heads/hotfixes/x", "refs/heads/feature/m"} {
		if err := f.srv.SetRef("acme", "app", ref, w.main); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// pull has mallory commit to from and open a pull request into base.
func (w *attackWorld) pull(t *testing.T, from, base string) (int, string) {
	t.Helper()
	head, err := w.srv.CommitFiles("acme", "app", from, map[string]string{"evil.txt": "x"}, "evil")
	if err != nil {
		t.Fatal(err)
	}
	pr, _, err := w.mallory.PullRequests.Create(context.Background(), "acme", "app", &gh.NewPullRequest{Title: gh.String("evil"), Head: gh.String(from), Base: gh.String(base)})
	if err != nil {
		t.Fatal(err)
	}
	return pr.GetNumber(), head
}

// TestPresetsHoldAgainstAWriter: each preset applied, a write-access user
// tries what the API allows, and GitHub (the local one) refuses.
func TestPresetsHoldAgainstAWriter(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		attack func(t *testing.T, w *attackWorld) error
		status int
		msg    string
	}{
		{
			name: "create a branch under the bot's prefix",
			attack: func(t *testing.T, w *attackWorld) error {
				_, _, err := w.mallory.Git.CreateRef(ctx, "acme", "app", refRef("refs/heads/cicd-excellence/x", w.main))
				return err
			},
			status: http.StatusUnprocessableEntity, msg: "Cannot create ref due to creations being restricted.",
		},
		{
			name: "move the bot's branch",
			attack: func(t *testing.T, w *attackWorld) error {
				sha, err := w.srv.CommitFiles("acme", "app", "feature/m", map[string]string{"a": "b"}, "m")
				if err != nil {
					t.Fatal(err)
				}
				_, _, err = w.mallory.Git.UpdateRef(ctx, "acme", "app", refRef("refs/heads/cicd-excellence/dev/0123456789ab", sha), false)
				return err
			},
			status: http.StatusUnprocessableEntity, msg: "Cannot update this protected ref.",
		},
		{
			name: "delete the bot's branch",
			attack: func(t *testing.T, w *attackWorld) error {
				_, err := w.mallory.Git.DeleteRef(ctx, "acme", "app", "heads/cicd-excellence/dev/0123456789ab")
				return err
			},
			status: http.StatusUnprocessableEntity, msg: "Cannot delete this branch",
		},
		{
			name: "create a hotfix branch",
			attack: func(t *testing.T, w *attackWorld) error {
				_, _, err := w.mallory.Git.CreateRef(ctx, "acme", "app", refRef("refs/heads/hotfixes/y", w.main))
				return err
			},
			status: http.StatusUnprocessableEntity, msg: "Cannot create ref due to creations being restricted.",
		},
		{
			name: "delete a hotfix branch",
			attack: func(t *testing.T, w *attackWorld) error {
				_, err := w.mallory.Git.DeleteRef(ctx, "acme", "app", "heads/hotfixes/x")
				return err
			},
			status: http.StatusUnprocessableEntity, msg: "Cannot delete this branch",
		},
		{
			name: "push to a hotfix branch",
			attack: func(t *testing.T, w *attackWorld) error {
				sha, err := w.srv.CommitFiles("acme", "app", "feature/m", map[string]string{"a": "b"}, "m")
				if err != nil {
					t.Fatal(err)
				}
				_, _, err = w.mallory.Git.UpdateRef(ctx, "acme", "app", refRef("refs/heads/hotfixes/x", sha), false)
				return err
			},
			status: http.StatusUnprocessableEntity, msg: "Changes must be made through a pull request.",
		},
		{
			name: "push to main",
			attack: func(t *testing.T, w *attackWorld) error {
				sha, err := w.srv.CommitFiles("acme", "app", "feature/m", map[string]string{"a": "b"}, "m")
				if err != nil {
					t.Fatal(err)
				}
				_, _, err = w.mallory.Git.UpdateRef(ctx, "acme", "app", refRef("refs/heads/main", sha), false)
				return err
			},
			status: http.StatusUnprocessableEntity, msg: "Changes must be made through a pull request.",
		},
		{
			name: "merge into main without approval, validate posted by himself",
			attack: func(t *testing.T, w *attackWorld) error {
				n, head := w.pull(t, "feature/m", "main")
				// Any writer can post a status with any context. The preset binds
				// validate to GitHub Actions (integration_id 15368, checked in
				// TestPresets); the local GitHub does not model the binding yet,
				// so here the refusal is the missing approval.
				if _, _, err := w.mallory.Repositories.CreateStatus(ctx, "acme", "app", head, &gh.RepoStatus{State: gh.String("success"), Context: gh.String("validate")}); err != nil {
					t.Fatal(err)
				}
				_, _, err := w.mallory.PullRequests.Merge(ctx, "acme", "app", n, "", &gh.PullRequestOptions{MergeMethod: "squash"})
				return err
			},
			status: http.StatusMethodNotAllowed, msg: "At least 1 approving review is required",
		},
		{
			name: "merge into a hotfix branch without approval",
			attack: func(t *testing.T, w *attackWorld) error {
				n, _ := w.pull(t, "feature/m", "hotfixes/x")
				_, _, err := w.mallory.PullRequests.Merge(ctx, "acme", "app", n, "", &gh.PullRequestOptions{MergeMethod: "squash"})
				return err
			},
			status: http.StatusMethodNotAllowed, msg: "At least 1 approving review is required",
		},
		{
			name: "the bot merges into main before validate reported",
			attack: func(t *testing.T, w *attackWorld) error {
				n, _ := w.pull(t, "feature/m", "main")
				_, _, err := w.bot.PullRequests.Merge(ctx, "acme", "app", n, "", &gh.PullRequestOptions{MergeMethod: "squash"})
				return err
			},
			// The bot's pull_request bypass of Default does not reach the
			// Required checks ruleset, which nobody bypasses.
			status: http.StatusMethodNotAllowed, msg: `Required status check "validate" is expected.`,
		},
		{
			name: "drop the required check",
			attack: func(t *testing.T, w *attackWorld) error {
				_, err := w.mallory.Repositories.DeleteRuleset(ctx, "acme", "app", w.rulesetID(t, "app", "Required checks"))
				return err
			},
			status: http.StatusForbidden,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newAttackWorld(t)
			before, err := w.srv.Refs("acme", "app")
			if err != nil {
				t.Fatal(err)
			}
			err = tc.attack(t, w)
			if githubStatus(err) != tc.status || !strings.Contains(fmt.Sprint(err), tc.msg) {
				t.Fatalf("err = %v, want %d %q", err, tc.status, tc.msg)
			}
			after, err := w.srv.Refs("acme", "app")
			if err != nil {
				t.Fatal(err)
			}
			for _, ref := range []string{"refs/heads/main", "refs/heads/hotfixes/x", "refs/heads/cicd-excellence/dev/0123456789ab"} {
				if before[ref] != after[ref] {
					t.Errorf("%s moved from %s to %s", ref, before[ref], after[ref])
				}
			}
			for _, ref := range []string{"refs/heads/cicd-excellence/x", "refs/heads/hotfixes/y"} {
				if after[ref] != "" {
					t.Errorf("%s was created", ref)
				}
			}
			// The controls still hold afterwards.
			res := w.run(t, "INPUT_COMMAND=verify", "INPUT_PRESET=default, bot-branches, hotfixes", "INPUT_REQUIRED_CHECKS=validate",
				"INPUT_BYPASS_APP_ID="+strconv.FormatInt(w.srv.UserID("cicd-bot[bot]"), 10), "INPUT_GITHUB_TOKEN="+auditToken)
			if res.Err != nil {
				t.Errorf("verify after the attack: %v\n%s", res.Err, res.Log)
			}
		})
	}
}

// allPresets applies or verifies every preset.
var allPresets = []string{"INPUT_PRESET=default, bot-branches, hotfixes, release-tags", "INPUT_REQUIRED_CHECKS=validate",
	"INPUT_BYPASS_APP_ID=" + botAppID, "INPUT_RELEASE_APP_ID=777", "INPUT_FILES="}

// TestVerifyControls: every preset applied, each control is one verified
// line of the summary; a control broken by hand fails its line.
func TestVerifyControls(t *testing.T) {
	f := newFixture(t)
	if res := f.run(t, with(allPresets, "INPUT_COMMAND=apply")...); res.Err != nil {
		t.Fatalf("apply: %v\n%s", res.Err, res.Log)
	}
	verify := with(allPresets, "INPUT_COMMAND=verify", "INPUT_GITHUB_TOKEN="+auditToken)
	res := f.run(t, verify...)
	if res.Err != nil {
		t.Fatalf("%v\n%s", res.Err, res.Log)
	}
	ids := []string{ControlRequiredCheck, ControlCheckBound, ControlBotBypass, ControlBotBranches, ControlHotfixes, ControlReleaseTags}
	got := map[string]Control{}
	for _, c := range res.report(t).Repositories[0].Controls {
		got[c.ID] = c
	}
	for _, id := range ids {
		c, ok := got[id]
		if !ok || c.Status != Verified {
			t.Errorf("control %s: %+v, want verified", id, c)
		}
		if n := strings.Count(res.Summary, "| acme/app | "+mdTitle(id)+" | ✅ verified |"); n != 1 {
			t.Errorf("summary has %d lines for %s:\n%s", n, id, res.Summary)
		}
	}

	// Broken by hand, one at a time: that line fails, and says why.
	for _, tc := range []struct {
		name    string
		ruleset string
		body    string
		control string
		detail  string
	}{
		{"bot branches: anyone may create", "Bot branches", `{"rules": [{"type": "update"}, {"type": "deletion"}, {"type": "non_fast_forward"}]}`,
			ControlBotBranches, "no active ruleset puts a creation rule on cicd-excellence/* branches"},
		{"bot branches: a person may bypass", "Bot branches", `{"bypass_actors": [{"actor_id": 4242, "actor_type": "Integration", "bypass_mode": "always"}, {"actor_id": 7, "actor_type": "User", "bypass_mode": "always"}]}`,
			ControlBotBranches, "rule creation on cicd-excellence/* branches is bypassed by more than Integration 4242: ruleset \"Bot branches\" (User 7 may bypass it)"},
		{"release tags: switched to evaluate", "Release tags", `{"enforcement": "evaluate"}`,
			ControlReleaseTags, "no active ruleset puts a creation rule on v* tags"},
		{"release tags: the bot may move them", "Release tags", `{"bypass_actors": [{"actor_id": 777, "actor_type": "Integration", "bypass_mode": "always"}, {"actor_id": 4242, "actor_type": "Integration", "bypass_mode": "always"}]}`,
			ControlReleaseTags, "bypassed by more than Integration 777"},
		{"hotfixes: the bot may push without review", "Hotfixes review", `{"bypass_actors": [{"actor_id": 4242, "actor_type": "Integration", "bypass_mode": "always"}]}`,
			ControlHotfixes, "ruleset \"Hotfixes review\" requires the review, but Integration 4242 (always) may skip it"},
		{"required checks: gone", "Required checks", `{"enforcement": "disabled"}`,
			ControlRequiredCheck, `no rule in force on main requires "validate"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := f.live(t, "app", tc.ruleset)
			f.put(t, "app", tc.ruleset, mustJSON(t, tc.body).(map[string]any))
			defer f.put(t, "app", tc.ruleset, writable(old))
			res := f.run(t, verify...)
			if res.Err == nil {
				t.Fatalf("verify passed:\n%s", res.Log)
			}
			var c Control
			for _, x := range res.report(t).Repositories[0].Controls {
				if x.ID == tc.control {
					c = x
				}
			}
			if c.Status != NotVerified || !strings.Contains(c.Detail, tc.detail) {
				t.Errorf("control %s: %s %q, want not verified with %q", tc.control, c.Status, c.Detail, tc.detail)
			}
			if !strings.Contains(res.Log, "acme/app: control "+tc.control+": not verified: ") ||
				!strings.Contains(res.Summary, "| acme/app | "+mdTitle(tc.control)+" | ❌ not verified |") {
				t.Errorf("log/summary lack the failed control:\n%s\n%s", res.Log, res.Summary)
			}
		})
	}
}

func mdTitle(id string) string {
	return strings.NewReplacer("_", "\\_", "*", "\\*").Replace(ruleControlTitles[id])
}

// hidingProxy sits in front of the local GitHub and drops bypass_actors from
// the rulesets it returns to token, as GitHub does for a caller who cannot
// edit the ruleset ("Managing rulesets for a repository"). It returns the
// API URL to use.
func hidingProxy(t *testing.T, srv *githubtest.Server, token string) string {
	t.Helper()
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	one := regexp.MustCompile(`/rulesets/\d+$`)
	p := httputil.NewSingleHostReverseProxy(target)
	p.ModifyResponse = func(r *http.Response) error {
		req := r.Request
		if req.Method != http.MethodGet || !one.MatchString(req.URL.Path) || req.Header.Get("Authorization") != "Bearer "+token || r.StatusCode != http.StatusOK {
			return nil
		}
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return err
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return err
		}
		delete(m, "bypass_actors")
		body, _ = json.Marshal(m)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	ps := httptest.NewServer(p)
	t.Cleanup(ps.Close)
	return ps.URL + strings.TrimPrefix(srv.APIURL(), srv.URL)
}

// TestVerifyWithoutBypassLists: a token that cannot see bypass lists never
// gets "verified" for a control that depends on them: it fails by default,
// warns with unverifiable-bypass: warn.
func TestVerifyWithoutBypassLists(t *testing.T) {
	f := newFixture(t)
	if res := f.run(t, with(allPresets, "INPUT_COMMAND=apply")...); res.Err != nil {
		t.Fatalf("apply: %v\n%s", res.Err, res.Log)
	}
	api := hidingProxy(t, f.srv, readToken)
	verify := with(allPresets, "INPUT_COMMAND=verify", "INPUT_GITHUB_TOKEN="+readToken, "GITHUB_API_URL="+api)
	for _, tc := range []struct {
		mode   string
		failed bool
		line   string
	}{
		{"", true, `acme/app: control bot-bypass: cannot be verified: ruleset "Default": ` + HiddenBypass},
		{"fail", true, `acme/app: control required-check: cannot be verified: ruleset "Required checks": ` + HiddenBypass},
		{"warn", false, `::warning::acme/app: control release-tags: cannot be verified: ruleset "Release tags": ` + HiddenBypass},
	} {
		t.Run("unverifiable-bypass="+tc.mode, func(t *testing.T) {
			res := f.run(t, with(verify, "INPUT_UNVERIFIABLE_BYPASS="+tc.mode)...)
			if (res.Err != nil) != tc.failed {
				t.Fatalf("err = %v, want failed=%v\n%s", res.Err, tc.failed, res.Log)
			}
			if !strings.Contains(res.Log, tc.line) {
				t.Errorf("log lacks\n%s\n---\n%s", tc.line, res.Log)
			}
			for _, c := range res.report(t).Repositories[0].Controls {
				if c.Status != Unverified || !strings.Contains(c.Detail, "bypass list not verifiable with this token (needs Administration: read and write for a GitHub App, or admin on the repository") {
					t.Errorf("control %s: %s %q", c.ID, c.Status, c.Detail)
				}
			}
			from, to := strings.Index(res.Summary, "#### Controls"), strings.Index(res.Summary, "#### Rulesets")
			if from < 0 || to < from || strings.Contains(res.Summary[from:to], "✅") || strings.Count(res.Summary[from:to], "⚠️ cannot be verified") != 6 {
				t.Errorf("the controls are not all shown as unverifiable:\n%s", res.Summary)
			}
			if !strings.Contains(res.Summary, "| bypass actors | ⚠️ cannot be verified | bypass list not verifiable with this token") ||
				(!tc.failed && !strings.Contains(res.Summary, "| acme/app | ⚠️ not verifiable: 12 control(s) or bypass list(s) hidden from this token |")) ||
				(tc.failed && !strings.Contains(res.Summary, "| acme/app | ❌ drift: 12 finding(s) |")) {
				t.Errorf("summary:\n%s", res.Summary)
			}
		})
	}
}

// TestApplyCrowd: many applies of every preset to the same repositories at
// once, then verify: each ruleset exists once, and all controls hold.
func TestApplyCrowd(t *testing.T) {
	f := newFixture(t)
	in := with(allPresets, "INPUT_COMMAND=apply", "INPUT_REPOSITORIES=acme/app, acme/infra")
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f.run(t, in...).Err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("apply %d: %v", i, err)
		}
	}
	for _, repo := range []string{"app", "infra"} {
		list, err := API{Client: f.client(t, githubtest.DefaultToken)}.Rulesets(context.Background(), "acme", repo)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 6 {
			t.Errorf("acme/%s has %d rulesets, want 6: %+v", repo, len(list), list)
		}
	}
	res := f.run(t, with(allPresets, "INPUT_COMMAND=verify", "INPUT_REPOSITORIES=acme/app, acme/infra", "INPUT_GITHUB_TOKEN="+auditToken)...)
	if res.Err != nil {
		t.Fatalf("verify: %v\n%s", res.Err, res.Log)
	}
	if !strings.Contains(res.Summary, "| acme/app | ✅ ok |\n| acme/infra | ✅ ok |") {
		t.Errorf("per-repository results:\n%s", res.Summary)
	}
}

// TestVerifyManyRepositories: the central job verifies several
// repositories; one drifted fails the run, and the summary gives each its
// own result.
func TestVerifyManyRepositories(t *testing.T) {
	f := newFixture(t)
	if err := f.srv.CreateRepo(githubtest.RepoConfig{Owner: "acme", Name: "api", AutoInit: true}); err != nil {
		t.Fatal(err)
	}
	repos := "INPUT_REPOSITORIES=acme/app\nacme/infra\nacme/api"
	if res := f.run(t, with(allPresets, "INPUT_COMMAND=apply", repos)...); res.Err != nil {
		t.Fatalf("apply: %v\n%s", res.Err, res.Log)
	}
	// Someone gives the bot a bypass of acme/infra's required checks.
	c := f.client(t, githubtest.DefaultToken)
	list, err := API{Client: c}.Rulesets(context.Background(), "acme", "infra")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range list {
		if l.Name == "Required checks" {
			req, _ := c.NewRequest("PUT", fmt.Sprintf("repos/acme/infra/rulesets/%d", l.ID), map[string]any{
				"bypass_actors": []any{map[string]any{"actor_id": 4242, "actor_type": "Integration", "bypass_mode": "pull_request"}}})
			if _, err := c.Do(context.Background(), req, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	res := f.run(t, with(allPresets, "INPUT_COMMAND=verify", repos, "INPUT_GITHUB_TOKEN="+auditToken)...)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "first: acme/infra: ") {
		t.Fatalf("err = %v\n%s", res.Err, res.Log)
	}
	for _, want := range []string{"| acme/app | ✅ ok |", "| acme/infra | ❌ drift: 4 finding(s) |", "| acme/api | ✅ ok |"} {
		if !strings.Contains(res.Summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, res.Summary)
		}
	}
	for _, rr := range res.report(t).Repositories {
		for _, c := range rr.Controls {
			failed := c.Status != Verified
			if want := rr.Repository == "acme/infra" && (c.ID == ControlRequiredCheck || c.ID == ControlCheckBound || c.ID == ControlBotBypass); failed != want {
				t.Errorf("%s: control %s: %s (%s)", rr.Repository, c.ID, c.Status, c.Detail)
			}
		}
	}
}
