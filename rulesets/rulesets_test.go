package rulesets

import (
	"context"
	"net/http"
	"strings"
	"testing"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/ghclient"
	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

// TestApply runs apply as a sequence over one repository, as a team would
// over time: each step's writes are read from the local GitHub's request log.
func TestApply(t *testing.T) {
	f := newFixture(t)
	steps := []struct {
		name        string
		before      func(t *testing.T)
		inputs      []string
		posts, puts int
		changed     string
		drift       string
		statuses    []string // per ruleset, in input order
		log         []string
	}{
		{
			name:    "dry run on a bare repository writes nothing",
			inputs:  with(presetInputs, "INPUT_COMMAND=apply", "INPUT_DRY_RUN=true"),
			changed: "false", drift: "true",
			statuses: []string{StatusWouldCreate, StatusWouldCreate, StatusWouldCreate, StatusWouldCreate, StatusWouldCreate},
			log:      []string{`acme/app: ruleset "Default" would create (dry run, nothing written):`, "would send: "},
		},
		{
			name:   "apply creates",
			inputs: with(presetInputs, "INPUT_COMMAND=apply"),
			posts:  5, changed: "true", drift: "true",
			statuses: []string{StatusCreated, StatusCreated, StatusCreated, StatusCreated, StatusCreated},
			log:      []string{`acme/app: created ruleset "Default"`, `created ruleset "Required checks"`, `created ruleset "Hotfixes"`, `created ruleset "Hotfixes review"`, `created ruleset "Release tags"`},
		},
		{
			name:    "a second apply changes nothing",
			inputs:  with(presetInputs, "INPUT_COMMAND=apply"),
			changed: "false", drift: "false",
			statuses: []string{StatusUnchanged, StatusUnchanged, StatusUnchanged, StatusUnchanged, StatusUnchanged},
			log:      []string{`ruleset "Default" is up to date`},
		},
		{
			name: "a changed file is a dry-run diff first",
			before: func(t *testing.T) {
				f.write(t, ".github/rulesets/tags.json", strings.Replace(tagsRuleset, `{"type": "update"},`, `{"type": "update"}, {"type": "creation"},`, 1))
			},
			inputs:  with(presetInputs, "INPUT_COMMAND=apply", "INPUT_DRY_RUN=TRUE"),
			changed: "false", drift: "true",
			statuses: []string{StatusUnchanged, StatusUnchanged, StatusUnchanged, StatusUnchanged, StatusWouldUpdate},
			log:      []string{`ruleset "Release tags" would update (dry run, nothing written):`, "  rule creation: removed (in the desired ruleset, missing live)"},
		},
		{
			name:   "then updates with one PUT",
			inputs: with(presetInputs, "INPUT_COMMAND=apply"),
			puts:   1, changed: "true", drift: "true",
			statuses: []string{StatusUnchanged, StatusUnchanged, StatusUnchanged, StatusUnchanged, StatusUpdated},
			log:      []string{`acme/app: updated ruleset "Release tags"`},
		},
		{
			name:   "a changed input updates the preset",
			inputs: with(presetInputs, "INPUT_COMMAND=apply", "INPUT_REQUIRED_CHECKS=test"),
			puts:   1, changed: "true", drift: "true",
			statuses: []string{StatusUnchanged, StatusUpdated, StatusUnchanged, StatusUnchanged, StatusUnchanged},
			log:      []string{`required status checks (parameters.required_status_checks) is [{"context":"test","integration_id":15368},{"context":"lint","integration_id":15368}], want [{"context":"test","integration_id":15368}]`},
		},
		{
			name: "drift made by hand is put back",
			before: func(t *testing.T) {
				f.put(t, "app", "Default", map[string]any{"enforcement": "disabled"})
			},
			inputs: with(presetInputs, "INPUT_COMMAND=apply", "INPUT_REQUIRED_CHECKS=test"),
			puts:   1, changed: "true", drift: "true",
			statuses: []string{StatusUpdated, StatusUnchanged, StatusUnchanged, StatusUnchanged, StatusUnchanged},
			log:      []string{`enforcement: is "disabled", want "active" (the ruleset is switched off)`},
		},
		{
			name:   "a context with a comma is one check",
			inputs: with(presetInputs, "INPUT_COMMAND=apply", "INPUT_REQUIRED_CHECKS=test\ntest (ubuntu, 1.22)"),
			puts:   1, changed: "true", drift: "true",
			statuses: []string{StatusUnchanged, StatusUpdated, StatusUnchanged, StatusUnchanged, StatusUnchanged},
			log:      []string{`want [{"context":"test","integration_id":15368},{"context":"test (ubuntu, 1.22)","integration_id":15368}]`},
		},
		{
			name:    "check order and preset order do not matter",
			inputs:  with(presetInputs, "INPUT_COMMAND=apply", "INPUT_REQUIRED_CHECKS=test (ubuntu, 1.22)\n test", "INPUT_PRESET=hotfixes,default"),
			changed: "false", drift: "false",
			statuses: []string{StatusUnchanged, StatusUnchanged, StatusUnchanged, StatusUnchanged, StatusUnchanged},
		},
	}
	for _, s := range steps {
		if !t.Run(s.name, func(t *testing.T) {
			if s.before != nil {
				s.before(t)
			}
			posts0, puts0 := f.writes()
			res := f.run(t, s.inputs...)
			if res.Err != nil {
				t.Fatalf("%v\n%s", res.Err, res.Log)
			}
			posts, puts := f.writes()
			if posts-posts0 != s.posts || puts-puts0 != s.puts {
				t.Errorf("POST %d, PUT %d; want %d, %d\n%s", posts-posts0, puts-puts0, s.posts, s.puts, res.Log)
			}
			if res.Outputs["changed"] != s.changed || res.Outputs["drift"] != s.drift {
				t.Errorf("changed=%s drift=%s, want %s %s", res.Outputs["changed"], res.Outputs["drift"], s.changed, s.drift)
			}
			rep := res.report(t)
			var got []string
			for _, rs := range rep.Repositories[0].Rulesets {
				got = append(got, rs.Status)
			}
			if strings.Join(got, ",") != strings.Join(s.statuses, ",") {
				t.Errorf("statuses %q, want %q", got, s.statuses)
			}
			for _, l := range s.log {
				if !strings.Contains(res.Log, l) {
					t.Errorf("log lacks %q:\n%s", l, res.Log)
				}
			}
			if !strings.Contains(res.Summary, "### Rulesets apply") || !strings.Contains(res.Summary, "2025-03-14T06:30:00Z") {
				t.Errorf("summary:\n%s", res.Summary)
			}
		}) {
			t.FailNow()
		}
	}

	// What was applied is what GitHub stores, rule by rule.
	d := f.live(t, "app", "Default")
	if got := show(d["bypass_actors"]); got != `[{"actor_id":4242,"actor_type":"Integration","bypass_mode":"pull_request"}]` {
		t.Errorf("bypass actors %s", got)
	}
	if got := d["enforcement"]; got != "active" {
		t.Errorf("enforcement %v", got)
	}
}

func TestApplyManyRepositories(t *testing.T) {
	f := newFixture(t)
	in := with(presetInputs, "INPUT_COMMAND=apply", "INPUT_REPOSITORIES=acme/app\nacme/infra, acme/APP")
	res := f.run(t, in...)
	if res.Err != nil {
		t.Fatalf("%v\n%s", res.Err, res.Log)
	}
	rep := res.report(t)
	if len(rep.Repositories) != 2 || rep.Repositories[1].Repository != "acme/infra" {
		t.Fatalf("repositories %+v", rep.Repositories)
	}
	if posts, _ := f.writes(); posts != 10 {
		t.Errorf("%d POSTs, want 10", posts)
	}
	// The auditor's read-only token verifies both.
	res = f.run(t, with(in, "INPUT_COMMAND=verify", "INPUT_GITHUB_TOKEN="+auditToken)...)
	if res.Err != nil {
		t.Fatalf("%v\n%s", res.Err, res.Log)
	}
	if res.Outputs["drift"] != "false" || res.Outputs["changed"] != "false" {
		t.Errorf("outputs %v", res.Outputs)
	}
}

// TestVerify applies, verifies clean, injects one drift through the API as
// an admin would, and expects verify to name it.
func TestVerify(t *testing.T) {
	bot := map[string]any{"actor_id": 4242, "actor_type": "Integration", "bypass_mode": "pull_request"}
	tests := []struct {
		name     string
		drift    func(t *testing.T, f *fixture)
		findings []string // each must be a line of the log
		sod      map[string]string
		controls map[string]string // the presets' controls, by id
	}{
		{
			name:     "enforcement switched to evaluate",
			drift:    func(t *testing.T, f *fixture) { f.put(t, "app", "Default", map[string]any{"enforcement": "evaluate"}) },
			findings: []string{`drift: acme/app: ruleset "Default": enforcement: is "evaluate", want "active" (evaluate mode only reports: nothing is enforced)`},
			sod:      map[string]string{ControlApprovals: NotVerified, ControlLastPush: NotVerified, ControlBypass: NotVerified},
		},
		{
			name: "enforcement disabled on the file-managed ruleset",
			drift: func(t *testing.T, f *fixture) {
				f.put(t, "app", "Release tags", map[string]any{"enforcement": "disabled"})
			},
			findings: []string{`::error file=.github/rulesets/tags.json::acme/app: ruleset "Release tags": enforcement: is "disabled", want "active" (the ruleset is switched off)`},
			sod:      map[string]string{ControlApprovals: Verified, ControlLastPush: Verified, ControlBypass: Verified},
		},
		{
			name: "a rule removed",
			drift: func(t *testing.T, f *fixture) {
				live := f.live(t, "app", "Default")
				var kept []any
				for _, r := range live["rules"].([]any) {
					if r.(map[string]any)["type"] != "required_linear_history" {
						kept = append(kept, r)
					}
				}
				f.put(t, "app", "Default", map[string]any{"rules": kept})
			},
			findings: []string{`drift: acme/app: ruleset "Default": rule required_linear_history: removed (in the desired ruleset, missing live)`},
		},
		{
			name: "a rule added",
			drift: func(t *testing.T, f *fixture) {
				live := f.live(t, "app", "Hotfixes")
				f.put(t, "app", "Hotfixes", map[string]any{"rules": append(live["rules"].([]any), map[string]any{"type": "update"})})
			},
			findings: []string{`drift: acme/app: ruleset "Hotfixes": rule update: added (not in the desired ruleset)`},
		},
		{
			name: "an always-bypassing app added",
			drift: func(t *testing.T, f *fixture) {
				f.put(t, "app", "Default", map[string]any{"bypass_actors": []any{bot, map[string]any{"actor_id": 99, "actor_type": "Integration", "bypass_mode": "always"}}})
			},
			findings: []string{`drift: acme/app: ruleset "Default": bypass actor Integration 99: added in always mode (not in the desired ruleset); a GitHub App that always bypasses can push to the branch without review`},
			sod:      map[string]string{ControlBypass: NotVerified},
		},
		{
			name: "the bot switched to always",
			drift: func(t *testing.T, f *fixture) {
				f.put(t, "app", "Default", map[string]any{"bypass_actors": []any{map[string]any{"actor_id": 4242, "actor_type": "Integration", "bypass_mode": "always"}}})
			},
			findings: []string{
				`drift: acme/app: ruleset "Default": bypass actor Integration 4242: bypass_mode is "always", want "pull_request"; a GitHub App that always bypasses can push to the branch without review`,
				`drift: acme/app: control bot-bypass: not verified: ruleset "Default": the bot (Integration 4242) bypasses in always mode; a GitHub App that always bypasses can push to the branch without review`,
			},
			controls: map[string]string{ControlBotBypass: NotVerified, ControlRequiredCheck: Verified, ControlCheckBound: Verified, ControlHotfixes: Verified},
		},
		{
			name: "the bot may bypass the required checks",
			drift: func(t *testing.T, f *fixture) {
				f.put(t, "app", "Required checks", map[string]any{"bypass_actors": []any{bot}})
			},
			findings: []string{
				`drift: acme/app: ruleset "Required checks": bypass actor Integration 4242: added in pull_request mode (not in the desired ruleset)`,
				`drift: acme/app: control required-check: not verified: "test" is required on main only by ruleset "Required checks", which Integration 4242 may bypass (a pull_request-mode bypass also skips the ruleset's required checks); "lint" is required on main only by ruleset "Required checks", which Integration 4242 may bypass (a pull_request-mode bypass also skips the ruleset's required checks)`,
				`drift: acme/app: control bot-bypass: not verified: ruleset "Required checks": the bot (Integration 4242) may bypass it in pull_request mode, and it requires no pull request: its rules (such as required checks) do not bind the bot`,
			},
			controls: map[string]string{ControlRequiredCheck: NotVerified, ControlCheckBound: NotVerified, ControlBotBypass: NotVerified, ControlHotfixes: Verified},
		},
		{
			name: "a required check no longer bound to its App",
			drift: func(t *testing.T, f *fixture) {
				f.put(t, "app", "Required checks", map[string]any{"rules": []any{mustJSON(t, `{"type": "required_status_checks", "parameters": {
					"strict_required_status_checks_policy": true, "required_status_checks": [{"context": "test"}, {"context": "lint", "integration_id": 15368}]}}`)}})
			},
			findings: []string{
				`drift: acme/app: control check-bound: not verified: "test" in ruleset "Required checks" is not bound to an App (no integration_id): anyone with write access can post a status named "test"`,
			},
			controls: map[string]string{ControlRequiredCheck: Verified, ControlCheckBound: NotVerified, ControlBotBypass: Verified, ControlHotfixes: Verified},
		},
		{
			name: "a writer may skip the hotfix review",
			drift: func(t *testing.T, f *fixture) {
				f.put(t, "app", "Hotfixes review", map[string]any{"bypass_actors": []any{map[string]any{"actor_id": 7, "actor_type": "User", "bypass_mode": "pull_request"}}})
			},
			findings: []string{
				`drift: acme/app: control hotfixes: not verified: ruleset "Hotfixes review" requires the review, but User 7 (pull_request) may skip it; no ruleset that only the bot may skip, and only in pull_request mode, requires an approved pull request on hotfixes/* branches`,
			},
			controls: map[string]string{ControlHotfixes: NotVerified, ControlRequiredCheck: Verified, ControlBotBypass: Verified},
		},
		{
			name: "anyone may delete hotfix branches",
			drift: func(t *testing.T, f *fixture) {
				f.put(t, "app", "Hotfixes", map[string]any{"rules": []any{mustJSON(t, `{"type": "creation"}`), mustJSON(t, `{"type": "non_fast_forward"}`)}})
			},
			findings: []string{
				`drift: acme/app: control hotfixes: not verified: no active ruleset puts a deletion rule on hotfixes/* branches`,
			},
			controls: map[string]string{ControlHotfixes: NotVerified},
		},
		{
			name: "approval count changed",
			drift: func(t *testing.T, f *fixture) {
				f.put(t, "app", "Default", map[string]any{"rules": setParam(t, f.live(t, "app", "Default"), "pull_request", "required_approving_review_count", 0)})
			},
			findings: []string{`drift: acme/app: ruleset "Default": rule pull_request: approval count (parameters.required_approving_review_count) is 0, want 1`},
			sod:      map[string]string{ControlApprovals: NotVerified, ControlLastPush: Verified},
		},
		{
			name: "last push approval switched off",
			drift: func(t *testing.T, f *fixture) {
				f.put(t, "app", "Default", map[string]any{"rules": setParam(t, f.live(t, "app", "Default"), "pull_request", "require_last_push_approval", false)})
			},
			findings: []string{
				`drift: acme/app: ruleset "Default": rule pull_request: last-push approval (parameters.require_last_push_approval) is false, want true`,
				`drift: acme/app: separation of duties: last-push-approval: not verified: no rule in force on main sets require_last_push_approval`,
			},
			sod: map[string]string{ControlApprovals: Verified, ControlLastPush: NotVerified},
		},
		{
			name: "a person may merge without review",
			drift: func(t *testing.T, f *fixture) {
				f.put(t, "app", "Default", map[string]any{"bypass_actors": []any{bot, map[string]any{"actor_id": 7, "actor_type": "User", "bypass_mode": "pull_request"}}})
			},
			findings: []string{
				`drift: acme/app: ruleset "Default": bypass actor User 7: added in pull_request mode (not in the desired ruleset)`,
				`drift: acme/app: separation of duties: bypass: not verified: ruleset "Default": User 7 may merge their own pull requests without an approving review`,
			},
			sod: map[string]string{ControlBypass: NotVerified},
		},
		{
			name: "a team that may bypass cannot be verified",
			drift: func(t *testing.T, f *fixture) {
				f.put(t, "app", "Default", map[string]any{"bypass_actors": []any{bot, map[string]any{"actor_id": 12, "actor_type": "Team", "bypass_mode": "pull_request"}}})
			},
			findings: []string{
				`drift: acme/app: ruleset "Default": bypass actor Team 12: added in pull_request mode (not in the desired ruleset)`,
				`::warning::acme/app: separation of duties: bypass: cannot be verified through the API: ruleset "Default": Team 12 may merge pull requests without review, and who holds it (team membership, role assignments) is not visible to a repository token; ruleset "Default": Integration 4242 (the bot) may merge pull requests without the required review, and each bypass is recorded`,
			},
			sod: map[string]string{ControlBypass: Unverified},
		},
		{
			name: "ruleset deleted",
			drift: func(t *testing.T, f *fixture) {
				c := f.client(t, githubtest.DefaultToken)
				if _, err := c.Repositories.DeleteRuleset(context.Background(), "acme", "app", f.rulesetID(t, "app", "Hotfixes")); err != nil {
					t.Fatal(err)
				}
			},
			findings: []string{`drift: acme/app: ruleset "Hotfixes": missing (no ruleset of this name in the repository)`},
		},
		{
			name: "an unmanaged ruleset lets an app always bypass",
			drift: func(t *testing.T, f *fixture) {
				if _, err := f.srv.AddRuleset("acme", "app", `{"name": "Legacy", "target": "branch", "enforcement": "active",
					"conditions": {"ref_name": {"include": ["refs/heads/release/*"], "exclude": []}}, "rules": [{"type": "deletion"}, {"type": "required_linear_history"}],
					"bypass_actors": [{"actor_id": 5, "actor_type": "Integration", "bypass_mode": "always"}]}`); err != nil {
					t.Fatal(err)
				}
			},
			findings: []string{`drift: acme/app: ruleset "Legacy": bypass actor Integration 5: in always mode; a GitHub App that always bypasses can push to the branch without review`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			if res := f.run(t, with(presetInputs, "INPUT_COMMAND=apply")...); res.Err != nil {
				t.Fatalf("apply: %v\n%s", res.Err, res.Log)
			}
			verify := with(presetInputs, "INPUT_COMMAND=verify", "INPUT_GITHUB_TOKEN="+auditToken)
			res := f.run(t, verify...)
			if res.Err != nil {
				t.Fatalf("verify before drift: %v\n%s", res.Err, res.Log)
			}
			if res.Outputs["drift"] != "false" || !strings.Contains(res.Summary, "### Rulesets verify: in place") {
				t.Fatalf("verify before drift: outputs %v\n%s", res.Outputs, res.Summary)
			}
			tc.drift(t, f)
			f.srv.ResetRequests()
			res = f.run(t, verify...)
			if res.Err == nil {
				t.Fatalf("verify passed after drift:\n%s", res.Log)
			}
			if !strings.Contains(res.Err.Error(), "finding(s), first: acme/app") {
				t.Errorf("err = %v", res.Err)
			}
			lines := strings.Split(res.Log, "\n")
			for _, want := range tc.findings {
				found := false
				for _, l := range lines {
					found = found || l == want
				}
				if !found {
					t.Errorf("log lacks the line\n%s\n---\n%s", want, res.Log)
				}
			}
			rep := res.report(t)
			if !rep.Drift || res.Outputs["drift"] != "true" {
				t.Errorf("drift output %q", res.Outputs["drift"])
			}
			for id, want := range tc.sod {
				for _, c := range rep.Repositories[0].SeparationOfDuties {
					if c.ID == id && c.Status != want {
						t.Errorf("control %s: %s (%s), want %s", id, c.Status, c.Detail, want)
					}
				}
			}
			for id, want := range tc.controls {
				found := false
				for _, c := range rep.Repositories[0].Controls {
					if c.ID == id {
						found = true
						if c.Status != want {
							t.Errorf("control %s: %s (%s), want %s", id, c.Status, c.Detail, want)
						}
					}
				}
				if !found {
					t.Errorf("no control %s in %+v", id, rep.Repositories[0].Controls)
				}
			}
			for _, s := range []string{"### Rulesets verify: drift found", "Checked at **2025-03-14T06:30:00Z**", "| ❌ ", "★ Separation of duties", "Not visible through the API to a repository token"} {
				if !strings.Contains(res.Summary, s) {
					t.Errorf("summary lacks %q:\n%s", s, res.Summary)
				}
			}
			// Verify never writes.
			if posts, puts := f.writes(); posts+puts != 0 {
				t.Errorf("verify wrote: %d POST, %d PUT", posts, puts)
			}
		})
	}
}

func setParam(t *testing.T, live map[string]any, ruleType, key string, value any) []any {
	t.Helper()
	rules := live["rules"].([]any)
	for _, r := range rules {
		m := r.(map[string]any)
		if m["type"] == ruleType {
			m["parameters"].(map[string]any)[key] = value
			return rules
		}
	}
	t.Fatalf("no rule %s", ruleType)
	return nil
}

// TestVerifySummaryIsEvidence checks the rows an auditor reads.
func TestVerifySummaryIsEvidence(t *testing.T) {
	f := newFixture(t)
	if res := f.run(t, with(presetInputs, "INPUT_COMMAND=apply")...); res.Err != nil {
		t.Fatal(res.Err)
	}
	res := f.run(t, with(presetInputs, "INPUT_COMMAND=verify", "INPUT_GITHUB_TOKEN="+auditToken)...)
	if res.Err != nil {
		t.Fatalf("%v\n%s", res.Err, res.Log)
	}
	for _, row := range []string{
		"| acme/app | Default (id ",
		"— preset default | rule deletion | ✅ ok |",
		"| rule required\\_status\\_checks | ✅ ok | parameters {\"required\\_status\\_checks\":\\[{\"context\":\"test\",\"integration\\_id\":15368},{\"context\":\"lint\",\"integration\\_id\":15368}],\"strict\\_required\\_status\\_checks\\_policy\":true} |",
		"| acme/app | ✅ ok |",
		"| acme/app | The required checks sit in a ruleset that nobody bypasses | ✅ verified | \"test\" is required on main by ruleset \"Required checks\", which has no bypass actors;",
		"| acme/app | Each required check is bound to the App that runs it (integration\\_id) | ✅ verified | \"test\" is bound to App 15368; \"lint\" is bound to App 15368 |",
		"| acme/app | The bot bypasses only in pull\\_request mode, only on the approval ruleset | ✅ verified | ruleset \"Default\": the bot (Integration 4242) may merge pull requests into main without the approval, in pull\\_request mode |",
		"hotfixes/\\* branches; changes to them are reviewed pull requests | ✅ verified |",
		"— .github/rulesets/tags.json | ruleset | ✅ ok | enforcement active, target tag",
		"| bypass actors | ✅ ok | \\[{\"actor\\_id\":4242,\"actor\\_type\":\"Integration\",\"bypass\\_mode\":\"pull\\_request\"}] |",
		"| acme/app | main | A pull request needs at least one approving review before it merges | ✅ verified | 1 approving review(s) required on main (ruleset \"Default\") |",
		"| The last pusher cannot approve their own push (require\\_last\\_push\\_approval) | ✅ verified |",
		"only the bot bypasses, and only through pull requests | ✅ verified | ruleset \"Default\": Integration 4242 (the bot) may merge pull requests without the required review, and each bypass is recorded |",
	} {
		if !strings.Contains(res.Summary, row) {
			t.Errorf("summary lacks %q:\n%s", row, res.Summary)
		}
	}
}

// TestUnknownRuleTypes: rules go-github v60 cannot decode (merge_queue) or
// that this action does not know are reported and compared as raw JSON.
func TestUnknownRuleTypes(t *testing.T) {
	f := newFixture(t)
	mergeQueue := `{"type": "merge_queue", "parameters": {"check_response_timeout_minutes": 60, "grouping_strategy": "ALLGREEN",
		"max_entries_to_build": 5, "max_entries_to_merge": 5, "merge_method": "SQUASH", "min_entries_to_merge": 1,
		"min_entries_to_merge_wait_minutes": 5}}`
	f.write(t, "rulesets/queue.json", `{"name": "Queue", "enforcement": "active",
		"conditions": {"ref_name": {"include": ["refs/heads/release/**"]}},
		"rules": [`+mergeQueue+`, {"type": "deletion"}]}`)
	in := []string{"INPUT_FILES=rulesets/queue.json"}
	if res := f.run(t, with(in, "INPUT_COMMAND=apply")...); res.Err != nil {
		t.Fatalf("%v\n%s", res.Err, res.Log)
	}
	res := f.run(t, with(in, "INPUT_COMMAND=apply")...)
	if res.Err != nil || res.Outputs["changed"] != "false" {
		t.Fatalf("second apply: %v %v\n%s", res.Err, res.Outputs, res.Log)
	}
	// go-github v60's typed API cannot read it: the reason for raw JSON.
	if _, _, err := f.client(t, readToken).Repositories.GetRuleset(context.Background(), "acme", "app", f.rulesetID(t, "app", "Queue"), false); err != nil {
		t.Logf("as expected, go-github's typed GetRuleset fails on it: %v", err)
	}

	// Live rules the desired ruleset lacks: a known-but-new one, and one no
	// description knows yet (the local GitHub stores any rule verbatim).
	if _, err := f.srv.AddRuleset("acme", "app", `{"name": "Future", "target": "branch", "enforcement": "active",
		"conditions": {"ref_name": {"include": ["~ALL"], "exclude": []}},
		"rules": [{"type": "deletion"}, {"type": "quantum_review", "parameters": {"qubits": 3}}]}`); err != nil {
		t.Fatal(err)
	}
	f.write(t, "rulesets/future.json", `{"name": "Future", "target": "branch", "enforcement": "active",
		"conditions": {"ref_name": {"include": ["~ALL"], "exclude": []}}, "rules": [{"type": "deletion"}]}`)
	f.put(t, "app", "Queue", map[string]any{"rules": []any{mustJSON(t, `{"type": "deletion"}`)}})
	f.write(t, "rulesets/queue2.json", `{"name": "Queue", "enforcement": "active",
		"conditions": {"ref_name": {"include": ["refs/heads/release/**"]}}, "rules": [{"type": "deletion"}]}`)
	f.put(t, "app", "Queue", map[string]any{"rules": []any{mustJSON(t, `{"type": "deletion"}`), mustJSON(t, mergeQueue)}})

	res = f.run(t, "INPUT_COMMAND=verify", "INPUT_FILES=rulesets/queue2.json, rulesets/future.json", "INPUT_GITHUB_TOKEN="+auditToken)
	if res.Err == nil {
		t.Fatalf("verify passed:\n%s", res.Log)
	}
	for _, want := range []string{
		`::error file=rulesets/queue2.json::acme/app: ruleset "Queue": rule merge_queue: added (not in the desired ruleset, parameters {"check_response_timeout_minutes":60,"grouping_strategy":"ALLGREEN","max_entries_to_build":5,"max_entries_to_merge":5,"merge_method":"SQUASH","min_entries_to_merge":1,"min_entries_to_merge_wait_minutes":5})`,
		`::error file=rulesets/future.json::acme/app: ruleset "Future": rule quantum_review: added (not in the desired ruleset; a rule type this action does not know, parameters {"qubits":3})`,
	} {
		if !strings.Contains(res.Log, want+"\n") {
			t.Errorf("log lacks\n%s\n---\n%s", want, res.Log)
		}
	}
	if !strings.Contains(res.Summary, "| rule quantum\\_review | ❌ drift |") {
		t.Errorf("summary:\n%s", res.Summary)
	}

	// A desired rule type the action does not know is a notice, not an error.
	f.write(t, "rulesets/new.json", `{"name": "New", "enforcement": "evaluate", "conditions": {"ref_name": {"include": ["~ALL"]}},
		"rules": [{"type": "quantum_review", "parameters": {"qubits": 3}}]}`)
	res = f.run(t, "INPUT_COMMAND=apply", "INPUT_FILES=rulesets/new.json", "INPUT_DRY_RUN=true")
	if res.Err != nil || !strings.Contains(res.Log, "::notice::rulesets/new.json: rule quantum_review is a type this action does not know: applied and compared as raw JSON") {
		t.Errorf("%v\n%s", res.Err, res.Log)
	}
}

// TestAPIFaults: a 5xx on the list is retried by the client; a repository
// that does not exist gives the hinted one-line error.
func TestAPIFaults(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(f *fixture)
		inputs []string
		err    string
		check  func(t *testing.T, f *fixture, res result)
	}{
		{
			name: "5xx on list is retried",
			setup: func(f *fixture) {
				f.srv.Faults().Inject("GET /repos/{owner}/{repo}/rulesets", githubtest.Fault{Status: 502, Times: 2})
			},
			inputs: []string{"INPUT_COMMAND=apply"},
			check: func(t *testing.T, f *fixture, res result) {
				if n := f.srv.CountRequests("GET /repos/{owner}/{repo}/rulesets"); n != 3 {
					t.Errorf("%d list requests, want 3 (two failures, one success)", n)
				}
				if res.Outputs["changed"] != "true" {
					t.Errorf("outputs %v", res.Outputs)
				}
			},
		},
		{
			name:   "repository that does not exist",
			inputs: []string{"INPUT_COMMAND=apply", "INPUT_REPOSITORIES=acme/nope"},
			err:    "rulesets apply: list rulesets in acme/nope: 404 Not Found: Not Found (it does not exist, or the token cannot see it",
		},
		{
			name:   "repository that does not exist, verify",
			inputs: []string{"INPUT_COMMAND=verify", "INPUT_REPOSITORIES=acme/nope"},
			err:    "rulesets verify: read the repository in acme/nope: 404 Not Found",
		},
		{
			name:   "a token that may not write rulesets",
			inputs: []string{"INPUT_COMMAND=apply", "INPUT_GITHUB_TOKEN=" + readToken},
			err:    `create ruleset "Default" in acme/app: 403 Forbidden`,
		},
		{
			name:   "one repository fails, the other is still applied",
			inputs: []string{"INPUT_COMMAND=apply", "INPUT_REPOSITORIES=acme/nope, acme/infra"},
			err:    "list rulesets in acme/nope",
			check: func(t *testing.T, f *fixture, res result) {
				rep := res.report(t)
				if len(rep.Repositories) != 2 || rep.Repositories[0].Error == "" || rep.Repositories[1].Rulesets[0].Status != StatusCreated {
					t.Errorf("report %+v", rep)
				}
			},
		},
		{
			name: "a ruleset created concurrently is not created twice",
			setup: func(f *fixture) {
				once := false
				f.srv.Faults().Before("POST /repos/{owner}/{repo}/rulesets", func(*http.Request) {
					if once {
						return
					}
					once = true
					rs, _ := Preset("default", PresetOptions{BypassAppID: 4242, RequiredChecks: []string{"test", "lint"}})
					f.srv.AddRuleset("acme", "app", show(rs[0].Body))
				})
			},
			inputs: []string{"INPUT_COMMAND=apply", "INPUT_PRESET=default"},
			check: func(t *testing.T, f *fixture, res result) {
				var posts []int
				for _, r := range f.srv.Requests() {
					if r.Operation == "POST /repos/{owner}/{repo}/rulesets" {
						posts = append(posts, r.Status)
					}
				}
				if len(posts) != 2 || posts[0] != http.StatusUnprocessableEntity || posts[1] != http.StatusCreated {
					t.Errorf("POSTs answered %v, want 422 (Default: the name was taken meanwhile) then 201 (Required checks)", posts)
				}
				if rss := res.report(t).Repositories[0].Rulesets; rss[0].Status != StatusCreated || rss[1].Status != StatusCreated {
					t.Errorf("report %s", res.Outputs["report"])
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			res := f.run(t, append(with(presetInputs, "INPUT_FILES="), tc.inputs...)...)
			switch {
			case tc.err == "" && res.Err != nil:
				t.Fatalf("%v\n%s", res.Err, res.Log)
			case tc.err != "" && (res.Err == nil || !strings.Contains(res.Err.Error(), tc.err)):
				t.Fatalf("err = %v, want %q\n%s", res.Err, tc.err, res.Log)
			case res.Err != nil && strings.Contains(res.Err.Error(), "\n"):
				t.Errorf("error is not one line: %q", res.Err)
			}
			if tc.check != nil {
				tc.check(t, f, res)
			}
		})
	}
}

func githubStatus(err error) int { return ghclient.Status(err) }

func refRef(ref, sha string) *gh.Reference {
	return &gh.Reference{Ref: &ref, Object: &gh.GitObject{SHA: &sha}}
}

// TestManifest makes sure action.yml and the code agree.
func TestManifest(t *testing.T) {
	m := action.MustParseManifest(manifest)
	for _, in := range []string{"command", "repositories", "files", "preset", "required-checks", "bypass-app-id", "checks-app-id", "release-app-id", "unverifiable-bypass", "dry-run", "github-token"} {
		if _, ok := m.Inputs[in]; !ok {
			t.Errorf("action.yml lacks input %s", in)
		}
	}
	for _, out := range []string{"changed", "drift", "report"} {
		if _, ok := m.Outputs[out]; !ok {
			t.Errorf("action.yml lacks output %s", out)
		}
	}
}
