package rulesets

import (
	"strings"
	"testing"
)

// TestControlRules: the controls' decisions on rules in force, including
// what the live tests cannot stage (organization rulesets).
func TestControlRules(t *testing.T) {
	checks := func(id int64, source, entries string) string {
		return `{"type": "required_status_checks", "ruleset_id": ` + itoa(id) + `, "ruleset_source_type": "` + source + `", "ruleset_source": "acme",
			"parameters": {"required_status_checks": ` + entries + `}}`
	}
	pr := func(id int64) string {
		return `{"type": "pull_request", "ruleset_id": ` + itoa(id) + `, "ruleset_source_type": "Repository", "parameters": {"required_approving_review_count": 1}}`
	}
	detail := func(id int64, name, actors string) map[string]any {
		body := `{"name": "` + name + `"`
		if actors != "" {
			body += `, "bypass_actors": ` + actors
		}
		return mustJSON(t, body+`}`).(map[string]any)
	}
	bot := `{"actor_id": 42, "actor_type": "Integration", "bypass_mode": "pull_request"}`
	o := PresetOptions{BypassAppID: 42, RequiredChecks: []string{"validate"}, ChecksAppID: DefaultChecksAppID}
	tests := []struct {
		name    string
		rules   []string
		details map[int64]map[string]any
		want    map[string]string // control id -> status
		detail  string            // in some control's detail
	}{
		{
			name:    "split rulesets",
			rules:   []string{pr(1), checks(2, "Repository", `[{"context": "validate", "integration_id": 15368}]`)},
			details: map[int64]map[string]any{1: detail(1, "Default", "["+bot+"]"), 2: detail(2, "Required checks", "[]")},
			want:    map[string]string{ControlRequiredCheck: Verified, ControlCheckBound: Verified, ControlBotBypass: Verified},
		},
		{
			name:    "check bound to another app",
			rules:   []string{pr(1), checks(2, "Repository", `[{"context": "validate", "integration_id": 1}]`)},
			details: map[int64]map[string]any{1: detail(1, "Default", "["+bot+"]"), 2: detail(2, "Required checks", "[]")},
			want:    map[string]string{ControlRequiredCheck: Verified, ControlCheckBound: NotVerified},
			detail:  `"validate" in ruleset "Required checks" is bound to App 1, want 15368`,
		},
		{
			name:    "the check in the bot's approval ruleset only (the old preset)",
			rules:   []string{pr(1), checks(1, "Repository", `[{"context": "validate"}]`)},
			details: map[int64]map[string]any{1: detail(1, "Default", "["+bot+"]")},
			want:    map[string]string{ControlRequiredCheck: NotVerified, ControlCheckBound: NotVerified, ControlBotBypass: Verified},
			detail:  `"validate" is required on main only by ruleset "Default", which Integration 42 may bypass`,
		},
		{
			name:    "the check from an organization ruleset",
			rules:   []string{pr(1), checks(9, "Organization", `[{"context": "validate", "integration_id": 15368}]`)},
			details: map[int64]map[string]any{1: detail(1, "Default", "["+bot+"]")},
			want:    map[string]string{ControlRequiredCheck: Unverified, ControlCheckBound: Unverified, ControlBotBypass: Unverified},
			detail:  "ruleset 9 of acme: its bypass list is not visible to a repository token",
		},
		{
			name:    "bypass lists hidden",
			rules:   []string{pr(1), checks(2, "Repository", `[{"context": "validate", "integration_id": 15368}]`)},
			details: map[int64]map[string]any{1: detail(1, "Default", ""), 2: detail(2, "Required checks", "")},
			want:    map[string]string{ControlRequiredCheck: Unverified, ControlCheckBound: Unverified, ControlBotBypass: Unverified},
			detail:  HiddenBypass,
		},
		{
			name:    "no check at all",
			rules:   []string{pr(1)},
			details: map[int64]map[string]any{1: detail(1, "Default", "["+bot+"]")},
			want:    map[string]string{ControlRequiredCheck: NotVerified, ControlCheckBound: NotVerified, ControlBotBypass: Verified},
			detail:  `no rule in force on main requires "validate"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rules []map[string]any
			for _, r := range tc.rules {
				rules = append(rules, mustJSON(t, r).(map[string]any))
			}
			in := rulesIn(rules, tc.details)
			got := append(RequiredCheckControls("main", in, o), BotBypassControl("main", in, 42))
			seen := false
			for _, c := range got {
				if want, ok := tc.want[c.ID]; ok && c.Status != want {
					t.Errorf("%s: %s (%s), want %s", c.ID, c.Status, c.Detail, want)
				}
				seen = seen || strings.Contains(c.Detail, tc.detail)
			}
			if !seen {
				t.Errorf("no control says %q: %+v", tc.detail, got)
			}
		})
	}
}

func itoa(n int64) string { return show(n) }
