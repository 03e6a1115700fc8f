package rulesets

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/cicd-excellence/actions/internal/action"
)

// valid is a minimal good ruleset the cases below break one field at a time.
const valid = `{"name": "Main", "target": "branch", "enforcement": "active",
  "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
  "rules": [{"type": "deletion"}, {"type": "non_fast_forward"}, {"type": "pull_request", "parameters": {"required_approving_review_count": 1}}],
  "bypass_actors": [{"actor_id": 1, "actor_type": "Integration", "bypass_mode": "pull_request"}]}`

// TestBadRulesetFiles: a bad file is a one-line error naming the input, the
// file and the field, before any request.
func TestBadRulesetFiles(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"invalid JSON", "{\n  \"name\": \"Main\",\n  \"target\" \"branch\"\n}", `bad.json: line 3, column 12: invalid JSON: invalid character '"' after object key`},
		{"empty file", "", `bad.json: invalid JSON: the document is empty or ends early`},
		{"two documents", valid + "\n{}", `bad.json: line 5, column 1: invalid JSON: data after the end of the ruleset (one ruleset per file)`},
		{"not an object", `[` + valid + `]`, `bad.json: must be a JSON object (one ruleset per file, as GitHub exports it), not an array`},
		{"unknown field", strings.Replace(valid, `"enforcement"`, `"enforcment": "active", "enforcement"`, 1), `bad.json: enforcment: unknown field (a ruleset has name, target, enforcement, conditions, rules, bypass_actors)`},
		{"name missing", strings.Replace(valid, `"name": "Main", `, ``, 1), `bad.json: name: missing`},
		{"name empty", strings.Replace(valid, `"name": "Main"`, `"name": "  "`, 1), `bad.json: name: is empty`},
		{"name not a string", strings.Replace(valid, `"name": "Main"`, `"name": 7`, 1), `bad.json: name: must be a string, not a number`},
		{"target", strings.Replace(valid, `"target": "branch"`, `"target": "branches"`, 1), `bad.json: target: "branches" is not one of branch, tag, push`},
		{"enforcement missing", strings.Replace(valid, `"enforcement": "active",`, ``, 1), `bad.json: enforcement: missing (one of active, evaluate, disabled)`},
		{"enforcement value", strings.Replace(valid, `"enforcement": "active"`, `"enforcement": "enabled"`, 1), `bad.json: enforcement: "enabled" is not one of active, evaluate, disabled`},
		{"conditions missing", strings.Replace(valid, `"conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},`, ``, 1), `bad.json: conditions.ref_name.include: missing: a branch ruleset needs the refs it applies to`},
		{"include missing", strings.Replace(valid, `"include": ["~DEFAULT_BRANCH"], `, ``, 1), `bad.json: conditions.ref_name.include: missing`},
		{"include empty", strings.Replace(valid, `["~DEFAULT_BRANCH"]`, `[]`, 1), `bad.json: conditions.ref_name.include: is empty: the ruleset would apply to nothing`},
		{"include not strings", strings.Replace(valid, `["~DEFAULT_BRANCH"]`, `["~DEFAULT_BRANCH", 3]`, 1), `bad.json: conditions.ref_name.include[1]: must be a non-empty ref pattern string, not 3`},
		{"rules not an array", `{"name": "Main", "enforcement": "active", "conditions": {"ref_name": {"include": ["~ALL"]}}, "rules": {"type": "deletion"}}`, `bad.json: rules: must be an array, not an object`},
		{"conditions not an object", `{"name": "Main", "enforcement": "active", "conditions": ["~ALL"]}`, `bad.json: conditions: must be an object, not an array`},
		{"rule type missing", strings.Replace(valid, `{"type": "pull_request",`, `{`, 1), `input "files": bad.json: rules[2].type: missing`},
		{"rule type not a string", strings.Replace(valid, `{"type": "deletion"}`, `{"type": true}`, 1), `bad.json: rules[0].type: true is not a rule type (such as "pull_request")`},
		{"rule not an object", strings.Replace(valid, `{"type": "deletion"}`, `"deletion"`, 1), `bad.json: rules[0]: must be an object with a type, not a string`},
		{"duplicate rule", strings.Replace(valid, `{"type": "non_fast_forward"}`, `{"type": "deletion"}`, 1), `bad.json: rules[1].type: "deletion" already appears in rules[0]; a ruleset has each rule type once`},
		{"parameters not an object", strings.Replace(valid, `{"required_approving_review_count": 1}`, `[1]`, 1), `bad.json: rules[2].parameters: must be an object, not an array`},
		{"approval count", strings.Replace(valid, `"required_approving_review_count": 1`, `"required_approving_review_count": 11`, 1), `bad.json: rules[2].parameters.required_approving_review_count: 11 is not a whole number from 0 to 10`},
		{"approval count as text", strings.Replace(valid, `"required_approving_review_count": 1`, `"required_approving_review_count": "1"`, 1), `bad.json: rules[2].parameters.required_approving_review_count: "1" is not a whole number from 0 to 10`},
		{"status check without context", strings.Replace(valid, `{"type": "deletion"}`, `{"type": "required_status_checks", "parameters": {"strict_required_status_checks_policy": true, "required_status_checks": [{"integration_id": 5}]}}`, 1), `bad.json: rules[0].parameters.required_status_checks[0].context: missing or empty`},
		{"status check bound to no app", strings.Replace(valid, `{"type": "deletion"}`, `{"type": "required_status_checks", "parameters": {"required_status_checks": [{"context": "validate", "integration_id": "actions"}]}}`, 1), `bad.json: rules[0].parameters.required_status_checks[0].integration_id: "actions" is not a GitHub App id (a positive whole number)`},
		{"app always bypassing a review ruleset", strings.Replace(valid, `"bypass_mode": "pull_request"`, `"bypass_mode": "always"`, 1), `"always" is accepted only in a ruleset whose rules are all creation, update, deletion or non_fast_forward`},
		{"app always bypassing required checks", `{"name": "Checks", "enforcement": "active", "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"]}},
			"rules": [{"type": "creation"}, {"type": "required_status_checks", "parameters": {"required_status_checks": [{"context": "validate"}]}}],
			"bypass_actors": [{"actor_id": 1, "actor_type": "Integration", "bypass_mode": "always"}]}`, `bad.json: bypass_actors[0].bypass_mode: "always" refused for a GitHub App (Integration)`},
		{"app always bypassing deletion of the default branch", `{"name": "Main", "enforcement": "active", "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"]}},
			"rules": [{"type": "deletion"}, {"type": "non_fast_forward"}], "bypass_actors": [{"actor_id": 1, "actor_type": "Integration", "bypass_mode": "always"}]}`, `and that does not target the default branch (~DEFAULT_BRANCH, ~ALL)`},
		{"app exempt from an ownership ruleset", `{"name": "Owned", "enforcement": "active", "conditions": {"ref_name": {"include": ["refs/heads/bot/**"]}},
			"rules": [{"type": "creation"}], "bypass_actors": [{"actor_id": 1, "actor_type": "Integration", "bypass_mode": "exempt"}]}`, `bad.json: bypass_actors[0].bypass_mode: "exempt" refused for a GitHub App (Integration)`},
		{"actor type missing", strings.Replace(valid, `"actor_type": "Integration", `, ``, 1), `bad.json: bypass_actors[0].actor_type: missing (one of Integration, OrganizationAdmin, RepositoryRole, Team, DeployKey, User)`},
		{"actor type", strings.Replace(valid, `"Integration"`, `"App"`, 1), `bad.json: bypass_actors[0].actor_type: "App" is not one of Integration, OrganizationAdmin, RepositoryRole, Team, DeployKey, User`},
		{"actor id missing", strings.Replace(valid, `"actor_id": 1, `, ``, 1), `bad.json: bypass_actors[0].actor_id: missing: a Integration bypass actor is identified by its id`},
		{"actor id", strings.Replace(valid, `"actor_id": 1`, `"actor_id": -4`, 1), `bad.json: bypass_actors[0].actor_id: -4 is not a positive whole number`},
		{"bypass mode", strings.Replace(valid, `"bypass_mode": "pull_request"`, `"bypass_mode": "sometimes"`, 1), `bad.json: bypass_actors[0].bypass_mode: "sometimes" is not one of always, pull_request, exempt`},
		{"app in always mode", strings.Replace(valid, `"bypass_mode": "pull_request"`, `"bypass_mode": "always"`, 1), `bad.json: bypass_actors[0].bypass_mode: "always" refused for a GitHub App (Integration): use "pull_request". With "always" the app can push straight to the protected branch`},
		{"app in exempt mode", strings.Replace(valid, `"bypass_mode": "pull_request"`, `"bypass_mode": "exempt"`, 1), `bad.json: bypass_actors[0].bypass_mode: "exempt" refused for a GitHub App (Integration)`},
		{"app without a mode", strings.Replace(valid, `, "bypass_mode": "pull_request"`, ``, 1), `bad.json: bypass_actors[0].bypass_mode: missing, and GitHub then uses "always": use "pull_request"`},
		{"pull_request mode on a tag ruleset", strings.Replace(strings.Replace(valid, `"target": "branch"`, `"target": "tag"`, 1), `"Integration"`, `"User"`, 1), `bad.json: bypass_actors[0].bypass_mode: "pull_request" only applies to branch rulesets, and this one targets tag`},
		{"deploy key in pull_request mode", strings.Replace(valid, `"actor_id": 1, "actor_type": "Integration"`, `"actor_type": "DeployKey"`, 1), `bad.json: bypass_actors[0].bypass_mode: "pull_request" does not apply to a DeployKey`},
		{"duplicate actor", strings.Replace(valid, `"bypass_mode": "pull_request"}]`, `"bypass_mode": "pull_request"}, {"actor_id": 1, "actor_type": "Integration", "bypass_mode": "pull_request"}]`, 1), `bad.json: bypass_actors[1]: Integration 1 already appears in bypass_actors[0]`},
	}
	f := newFixture(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.write(t, "bad.json", tc.content)
			f.srv.ResetRequests()
			res := f.run(t, "INPUT_COMMAND=apply", "INPUT_FILES=bad.json")
			var ie *action.InputError
			if !errors.As(res.Err, &ie) || ie.Input != "files" {
				t.Fatalf("err = %v, want an error of input files", res.Err)
			}
			if !strings.Contains(res.Err.Error(), tc.want) || strings.Contains(res.Err.Error(), "\n") {
				t.Errorf("err =\n%v\nwant it to contain\n%s", res.Err, tc.want)
			}
			if n := len(f.srv.Requests()); n != 0 {
				t.Errorf("%d requests before the error", n)
			}
		})
	}
}

// TestBadInputs: the other inputs, checked before any request too.
func TestBadInputs(t *testing.T) {
	tests := []struct {
		name   string
		inputs []string
		input  string
		want   string
	}{
		{"no command", []string{"INPUT_PRESET=hotfixes", "INPUT_BYPASS_APP_ID=1"}, "command", "is required"},
		{"unknown command", []string{"INPUT_COMMAND=sync", "INPUT_PRESET=hotfixes", "INPUT_BYPASS_APP_ID=1"}, "command", `"sync" is not one of apply, verify`},
		{"nothing to apply", []string{"INPUT_COMMAND=apply"}, "preset", "is empty and so is files"},
		{"unknown preset", []string{"INPUT_COMMAND=apply", "INPUT_PRESET=strict"}, "preset", `"strict" is not one of default, bot-branches, hotfixes, release-tags`},
		{"preset without the bot", []string{"INPUT_COMMAND=apply", "INPUT_PRESET=hotfixes"}, "bypass-app-id", "is required with preset hotfixes"},
		{"bad app id", []string{"INPUT_COMMAND=apply", "INPUT_PRESET=hotfixes", "INPUT_BYPASS_APP_ID=Iv1.abc"}, "bypass-app-id", `"Iv1.abc" is not a GitHub App id`},
		{"default without checks", []string{"INPUT_COMMAND=apply", "INPUT_PRESET=default", "INPUT_BYPASS_APP_ID=1"}, "required-checks", "is required with preset default"},
		{"bad repository", []string{"INPUT_COMMAND=verify", "INPUT_PRESET=hotfixes", "INPUT_BYPASS_APP_ID=1", "INPUT_REPOSITORIES=acme/app\nacme"}, "repositories", `"acme" is not owner/name`},
		{"bad dry-run", []string{"INPUT_COMMAND=apply", "INPUT_PRESET=hotfixes", "INPUT_BYPASS_APP_ID=1", "INPUT_DRY_RUN=yes"}, "dry-run", `"yes" is not a boolean`},
		{"missing file", []string{"INPUT_COMMAND=apply", "INPUT_FILES=rulesets/none.json"}, "files", "rulesets/none.json: does not exist in the workspace"},
		{"file outside the workspace", []string{"INPUT_COMMAND=apply", "INPUT_FILES=../etc/passwd"}, "files", "../etc/passwd: is outside the workspace"},
		{"absolute file", []string{"INPUT_COMMAND=apply", "INPUT_FILES=/etc/passwd"}, "files", "/etc/passwd: must be a path relative to the workspace"},
		{"a name twice", []string{"INPUT_COMMAND=apply", "INPUT_PRESET=hotfixes", "INPUT_BYPASS_APP_ID=1", "INPUT_FILES=hot.json"}, "files", `hot.json: name: "hotfixes" is also the name of preset hotfixes; ruleset names are unique per repository`},
		{"bad checks app id", []string{"INPUT_COMMAND=apply", "INPUT_PRESET=default", "INPUT_BYPASS_APP_ID=1", "INPUT_REQUIRED_CHECKS=validate", "INPUT_CHECKS_APP_ID=github-actions"}, "checks-app-id", `"github-actions" is not a GitHub App id`},
		{"zero checks app id", []string{"INPUT_COMMAND=apply", "INPUT_PRESET=default", "INPUT_BYPASS_APP_ID=1", "INPUT_REQUIRED_CHECKS=validate", "INPUT_CHECKS_APP_ID=0"}, "checks-app-id", `"0" is not a GitHub App id`},
		{"release tags without the release app", []string{"INPUT_COMMAND=apply", "INPUT_PRESET=release-tags", "INPUT_BYPASS_APP_ID=1"}, "release-app-id", "is required with preset release-tags"},
		{"bad release app id", []string{"INPUT_COMMAND=apply", "INPUT_PRESET=release-tags", "INPUT_RELEASE_APP_ID=-3"}, "release-app-id", `"-3" is not a GitHub App id`},
		{"bot branches without the bot", []string{"INPUT_COMMAND=apply", "INPUT_PRESET=bot-branches", "INPUT_RELEASE_APP_ID=3"}, "bypass-app-id", "is required with preset bot-branches"},
		{"bad unverifiable-bypass", []string{"INPUT_COMMAND=verify", "INPUT_PRESET=hotfixes", "INPUT_BYPASS_APP_ID=1", "INPUT_UNVERIFIABLE_BYPASS=ignore"}, "unverifiable-bypass", `"ignore" is not one of fail, warn`},
		{"empty token", []string{"INPUT_COMMAND=apply", "INPUT_PRESET=hotfixes", "INPUT_BYPASS_APP_ID=1", "INPUT_GITHUB_TOKEN="}, "github-token", "is empty"},
	}
	f := newFixture(t)
	f.write(t, "hot.json", strings.Replace(valid, `"Main"`, `"hotfixes"`, 1))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.srv.ResetRequests()
			res := f.run(t, tc.inputs...)
			var ie *action.InputError
			if !errors.As(res.Err, &ie) || ie.Input != tc.input || !strings.Contains(ie.Problem, tc.want) {
				t.Fatalf("err = %v, want input %q: %q", res.Err, tc.input, tc.want)
			}
			if n := len(f.srv.Requests()); n != 0 {
				t.Errorf("%d requests before the error", n)
			}
		})
	}
}

func TestParseNormalizes(t *testing.T) {
	rs, err := Parse("export.json", []byte(`{"id": 3, "node_id": "RRS_x", "source_type": "Repository", "source": "acme/app",
		"_links": {"self": {"href": "x"}}, "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z",
		"current_user_can_bypass": "never", "name": "Tags", "enforcement": "evaluate",
		"conditions": {"ref_name": {"include": ["refs/tags/*"]}},
		"bypass_actors": [{"actor_id": 5, "actor_type": "RepositoryRole"}, {"actor_type": "OrganizationAdmin", "bypass_mode": "always"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"bypass_actors":[{"actor_id":5,"actor_type":"RepositoryRole","bypass_mode":"always"},{"actor_type":"OrganizationAdmin","bypass_mode":"always"}],` +
		`"conditions":{"ref_name":{"exclude":[],"include":["refs/tags/*"]}},"enforcement":"evaluate","name":"Tags","rules":[],"target":"branch"}`
	if got := show(rs.Body); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if _, err := Parse("push.json", []byte(`{"name": "Push", "target": "push", "enforcement": "active", "rules": [{"type": "max_file_size", "parameters": {"max_file_size": 10}}]}`)); err != nil {
		t.Errorf("a push ruleset needs no ref conditions: %v", err)
	}
}

func TestDiff(t *testing.T) {
	desired, err := Parse("d.json", []byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		live string
		want []string
	}{
		{"identical, with server fields and defaults GitHub adds", `{"id": 9, "name": "Main", "target": "branch", "source_type": "Repository", "source": "acme/app",
			"enforcement": "active", "node_id": "x", "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-02T00:00:00Z", "_links": {},
			"current_user_can_bypass": "never",
			"conditions": {"ref_name": {"exclude": [], "include": ["~DEFAULT_BRANCH"]}},
			"rules": [{"type": "pull_request", "parameters": {"required_approving_review_count": 1.0, "dismiss_stale_reviews_on_push": false, "allowed_merge_methods": ["merge", "squash", "rebase"]}}, {"type": "non_fast_forward"}, {"type": "deletion"}],
			"bypass_actors": [{"actor_id": 1, "actor_type": "Integration", "bypass_mode": "pull_request"}]}`, nil},
		{"many differences", `{"name": "main", "target": "tag", "enforcement": "disabled",
			"conditions": {"ref_name": {"exclude": ["refs/heads/x"], "include": ["~ALL"]}},
			"rules": [{"type": "pull_request"}, {"type": "deletion", "parameters": {}}, {"type": "merge_queue", "parameters": {"merge_method": "SQUASH"}}],
			"bypass_actors": [{"actor_id": 1, "actor_type": "Integration", "bypass_mode": "exempt"}, {"actor_type": "OrganizationAdmin", "actor_id": null, "bypass_mode": "always"}]}`, []string{
			`name: is "main", want "Main"`,
			`target: is "tag", want "branch"`,
			`enforcement: is "disabled", want "active" (the ruleset is switched off)`,
			`conditions: conditions.ref_name.exclude is ["refs/heads/x"], want []`,
			`conditions: conditions.ref_name.include is ["~ALL"], want ["~DEFAULT_BRANCH"]`,
			`rule non_fast_forward: removed (in the desired ruleset, missing live)`,
			`rule pull_request: parameters is null, want {"required_approving_review_count":1}`,
			`rule merge_queue: added (not in the desired ruleset, parameters {"merge_method":"SQUASH"})`,
			`bypass actor Integration 1: bypass_mode is "exempt", want "pull_request"; an exempt GitHub App skips the rules and leaves no bypass record`,
			`bypass actor OrganizationAdmin: added in always mode (not in the desired ruleset); this actor can push without review`,
		}},
		{"bypass list not shown", `{"name": "Main", "target": "branch", "enforcement": "active",
			"conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"]}},
			"rules": [{"type": "pull_request", "parameters": {"required_approving_review_count": 1}}, {"type": "non_fast_forward"}, {"type": "deletion"}]}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			live, err := decodeObject([]byte(tc.live))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range Diff(desired, live) {
				got = append(got, c.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
	if got := Diff(desired, nil); len(got) != 1 || got[0].String() != "ruleset: missing" {
		t.Errorf("missing: %v", got)
	}
}

// TestSeparationOfDuties covers what the local GitHub cannot show:
// organization rulesets and bypass lists a token may not see.
func TestSeparationOfDuties(t *testing.T) {
	pr := func(id int, source string, count int, lastPush bool) string {
		return `{"type": "pull_request", "ruleset_id": ` + strconv.Itoa(id) + `, "ruleset_source_type": "` + source + `", "ruleset_source": "acme",
			"parameters": {"required_approving_review_count": ` + strconv.Itoa(count) + `, "require_last_push_approval": ` + map[bool]string{true: "true", false: "false"}[lastPush] + `}}`
	}
	details := func(id int, actors string) string {
		if actors == "" {
			return `{"id": ` + strconv.Itoa(id) + `, "name": "R` + strconv.Itoa(id) + `"}`
		}
		return `{"id": ` + strconv.Itoa(id) + `, "name": "R` + strconv.Itoa(id) + `", "bypass_actors": ` + actors + `}`
	}
	tests := []struct {
		name    string
		rules   []string
		details []string
		want    [3]string
		detail  string
	}{
		{"no pull request rule", []string{`{"type": "deletion", "ruleset_id": 1}`}, nil, [3]string{NotVerified, NotVerified, NotVerified}, "no active ruleset requires a pull request on main"},
		{"repository ruleset, bot only", []string{pr(1, "Repository", 2, true)}, []string{details(1, `[{"actor_id": 9, "actor_type": "Integration", "bypass_mode": "pull_request"}]`)}, [3]string{Verified, Verified, Verified}, "Integration 9 (the bot)"},
		{"organization ruleset", []string{pr(2, "Organization", 1, true)}, nil, [3]string{Verified, Verified, Unverified}, "ruleset 2 of acme comes from the organization: its bypass list is not visible to a repository token"},
		{"bypass list hidden", []string{pr(1, "Repository", 1, true)}, []string{details(1, "")}, [3]string{Verified, Verified, Unverified}, `GitHub did not show the bypass list of ruleset "R1" to this token`},
		{"strongest rule wins", []string{pr(1, "Repository", 0, false), pr(3, "Repository", 1, true)}, []string{details(1, `[]`), details(3, `[]`)}, [3]string{Verified, Verified, Verified}, `ruleset "R1" has no bypass actors`},
		{"an admin role may bypass", []string{pr(1, "Repository", 1, true)}, []string{details(1, `[{"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "pull_request"}]`)}, [3]string{Verified, Verified, Unverified}, "RepositoryRole 5 may merge pull requests without review"},
		{"an always bypass beats an unknown", []string{pr(1, "Repository", 1, false), pr(2, "Organization", 1, false)}, []string{details(1, `[{"actor_type": "DeployKey", "bypass_mode": "always"}]`)}, [3]string{Verified, NotVerified, NotVerified}, `ruleset "R1": DeployKey bypasses in always mode; this actor can push without review`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rules []map[string]any
			for _, r := range tc.rules {
				m, err := decodeObject([]byte(r))
				if err != nil {
					t.Fatal(err)
				}
				rules = append(rules, m)
			}
			det := map[int64]map[string]any{}
			for _, d := range tc.details {
				m, err := decodeObject([]byte(d))
				if err != nil {
					t.Fatal(err)
				}
				id, _ := intValue(m["id"])
				det[id] = m
			}
			got := SeparationOfDuties("main", rules, det)
			var all []string
			for i, c := range got {
				all = append(all, c.Detail)
				if c.Status != tc.want[i] {
					t.Errorf("%s: %s (%s), want %s", c.ID, c.Status, c.Detail, tc.want[i])
				}
			}
			if !strings.Contains(strings.Join(all, "\n"), tc.detail) {
				t.Errorf("details lack %q:\n%s", tc.detail, strings.Join(all, "\n"))
			}
		})
	}
}
