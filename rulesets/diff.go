package rulesets

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Change is one difference between a desired ruleset and the live one.
type Change struct {
	// Item is the row of the evidence table it belongs to: "ruleset",
	// "rule <type>" or "bypass actors".
	Item string `json:"item"`
	// Subject is what differs: "enforcement", "rule pull_request",
	// "bypass actor Integration 42", ...
	Subject string `json:"subject"`
	// Message says how, in a phrase.
	Message string `json:"message"`
}

func (c Change) String() string { return c.Subject + ": " + c.Message }

// paramNames are the parameters an auditor asks about, named in findings.
var paramNames = map[string]string{
	"required_approving_review_count":      "approval count",
	"require_last_push_approval":           "last-push approval",
	"dismiss_stale_reviews_on_push":        "dismiss stale reviews",
	"require_code_owner_review":            "code owner review",
	"required_status_checks":               "required status checks",
	"strict_required_status_checks_policy": "up-to-date branch before merge",
}

// Diff compares a desired ruleset with the live one (GET .../rulesets/{id},
// raw; nil when it does not exist). Server-side fields are ignored; rules are
// a set keyed by type whose parameters are compared deeply; a parameter or
// condition the desired ruleset leaves out is not compared (GitHub fills in
// defaults); bypass actors are compared exactly. No changes means no write.
func Diff(desired Ruleset, live map[string]any) []Change {
	if live == nil {
		return []Change{{Item: "ruleset", Subject: "ruleset", Message: "missing"}}
	}
	var out []Change
	add := func(item, subject, format string, args ...any) {
		out = append(out, Change{Item: item, Subject: subject, Message: fmt.Sprintf(format, args...)})
	}
	want := desired.Body

	if ln, _ := live["name"].(string); ln != desired.Name() {
		add("ruleset", "name", "is %s, want %s", strconv.Quote(ln), strconv.Quote(desired.Name()))
	}
	lt, _ := live["target"].(string)
	if lt == "" {
		lt = "branch"
	}
	if wt := want["target"].(string); lt != wt {
		add("ruleset", "target", "is %s, want %s", strconv.Quote(lt), strconv.Quote(wt))
	}
	le, _ := live["enforcement"].(string)
	if we := want["enforcement"].(string); le != we {
		why := ""
		switch le {
		case "evaluate":
			why = " (evaluate mode only reports: nothing is enforced)"
		case "disabled":
			why = " (the ruleset is switched off)"
		}
		add("ruleset", "enforcement", "is %s, want %s%s", strconv.Quote(le), strconv.Quote(we), why)
	}
	if wc, ok := want["conditions"]; ok {
		for _, d := range compare(wc, live["conditions"], "conditions") {
			add("ruleset", "conditions", "%s", d)
		}
	}

	wantRules, liveRules := rulesByType(want["rules"]), rulesByType(live["rules"])
	for _, t := range slices.Sorted(maps.Keys(wantRules)) {
		item := "rule " + t
		lr, ok := liveRules[t]
		if !ok {
			add(item, item, "removed (in the desired ruleset, missing live)")
			continue
		}
		if wp, ok := wantRules[t]["parameters"]; ok {
			for _, d := range compare(wp, lr["parameters"], "parameters") {
				add(item, item, "%s", d)
			}
		}
	}
	for _, t := range slices.Sorted(maps.Keys(liveRules)) {
		if _, ok := wantRules[t]; ok {
			continue
		}
		item := "rule " + t
		note := ""
		if !KnownRuleTypes[t] {
			note = "; a rule type this action does not know"
		}
		if p, ok := liveRules[t]["parameters"]; ok {
			note += ", parameters " + show(p)
		}
		add(item, item, "added (not in the desired ruleset%s)", note)
	}

	if _, visible := live["bypass_actors"]; visible {
		out = append(out, diffBypass(want["bypass_actors"], live["bypass_actors"])...)
	}
	return out
}

// BypassVisible reports whether GitHub showed the live ruleset's bypass
// actors (it leaves them out for a token that may not see them).
func BypassVisible(live map[string]any) bool {
	_, ok := live["bypass_actors"]
	return ok
}

func diffBypass(want, live any) []Change {
	var out []Change
	wa, la := actorsByKey(want), actorsByKey(live)
	for _, k := range slices.Sorted(maps.Keys(wa)) {
		subject := "bypass actor " + k
		wm, _ := wa[k]["bypass_mode"].(string)
		l, ok := la[k]
		if !ok {
			out = append(out, Change{Item: "bypass actors", Subject: subject, Message: fmt.Sprintf("missing (want it in %s mode)", wm)})
			continue
		}
		if lm, _ := l["bypass_mode"].(string); lm != wm {
			out = append(out, Change{Item: "bypass actors", Subject: subject, Message: fmt.Sprintf("bypass_mode is %s, want %s%s", strconv.Quote(lm), strconv.Quote(wm), modeRisk(l))})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(la)) {
		if _, ok := wa[k]; ok {
			continue
		}
		lm, _ := la[k]["bypass_mode"].(string)
		out = append(out, Change{Item: "bypass actors", Subject: "bypass actor " + k, Message: fmt.Sprintf("added in %s mode (not in the desired ruleset)%s", lm, modeRisk(la[k]))})
	}
	return out
}

// modeRisk explains a bypass that defeats review.
func modeRisk(actor map[string]any) string {
	at, _ := actor["actor_type"].(string)
	mode, _ := actor["bypass_mode"].(string)
	switch {
	case at == "Integration" && mode == "always":
		return "; a GitHub App that always bypasses can push to the branch without review"
	case at == "Integration" && mode == "exempt":
		return "; an exempt GitHub App skips the rules and leaves no bypass record"
	case mode == "always" || mode == "exempt":
		return "; this actor can push without review"
	}
	return ""
}

// AlwaysBypassingApps lists the GitHub Apps of a live ruleset whose bypass is
// not limited to pull requests: always a finding, whoever manages the ruleset.
func AlwaysBypassingApps(live map[string]any) []Change {
	var out []Change
	la := actorsByKey(live["bypass_actors"])
	for _, k := range slices.Sorted(maps.Keys(la)) {
		a := la[k]
		at, _ := a["actor_type"].(string)
		mode, _ := a["bypass_mode"].(string)
		if at == "Integration" && mode != "pull_request" && !(mode == "always" && AppMayAlwaysBypass(live)) {
			out = append(out, Change{Item: "bypass actors", Subject: "bypass actor " + k, Message: fmt.Sprintf("in %s mode%s", mode, modeRisk(a))})
		}
	}
	return out
}

func rulesByType(v any) map[string]map[string]any {
	out := map[string]map[string]any{}
	list, _ := v.([]any)
	for _, item := range list {
		if r, ok := item.(map[string]any); ok {
			if t, ok := r["type"].(string); ok {
				out[t] = r
			}
		}
	}
	return out
}

func actorsByKey(v any) map[string]map[string]any {
	out := map[string]map[string]any{}
	list, _ := v.([]any)
	for _, item := range list {
		if a, ok := item.(map[string]any); ok {
			if a["bypass_mode"] == nil {
				a["bypass_mode"] = "always"
			}
			out[actorKey(a)] = a
		}
	}
	return out
}

// compare lists how got differs from want at path. Objects: every key of
// want must match (a key missing from got matches a zero want); keys only in
// got are ignored. Arrays are compared as multisets: scalars by value,
// objects by the same rules. Numbers compare by value.
func compare(want, got any, path string) []string {
	if equalish(want, got) {
		return nil
	}
	wm, wok := want.(map[string]any)
	gm, gok := got.(map[string]any)
	if wok && gok {
		var out []string
		for _, k := range slices.Sorted(maps.Keys(wm)) {
			p := path + "." + k
			if name, ok := paramNames[k]; ok {
				p = name + " (" + p + ")"
			}
			gv, present := gm[k]
			if !present {
				if !isZero(wm[k]) {
					out = append(out, fmt.Sprintf("%s is missing, want %s", p, show(wm[k])))
				}
				continue
			}
			if !equalish(wm[k], gv) {
				if _, nested := wm[k].(map[string]any); nested {
					out = append(out, compare(wm[k], gv, path+"."+k)...)
					continue
				}
				out = append(out, fmt.Sprintf("%s is %s, want %s", p, show(gv), show(wm[k])))
			}
		}
		return out
	}
	if name, ok := paramNames[path[strings.LastIndex(path, ".")+1:]]; ok {
		path = name + " (" + path + ")"
	}
	if got == nil && isZero(want) {
		return nil
	}
	return []string{fmt.Sprintf("%s is %s, want %s", path, show(got), show(want))}
}

// equalish reports whether got satisfies want under compare's rules.
func equalish(want, got any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return got == nil && len(w) == 0
		}
		for k, wv := range w {
			gv, present := g[k]
			if !present {
				if !isZero(wv) {
					return false
				}
				continue
			}
			if !equalish(wv, gv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok {
			return got == nil && len(w) == 0
		}
		if len(g) != len(w) {
			return false
		}
		used := make([]bool, len(g))
	next:
		for _, wv := range w {
			for j, gv := range g {
				if !used[j] && equalish(wv, gv) {
					used[j] = true
					continue next
				}
			}
			return false
		}
		return true
	case json.Number:
		switch g := got.(type) {
		case json.Number:
			if w == g {
				return true
			}
			wf, err1 := w.Float64()
			gf, err2 := g.Float64()
			return err1 == nil && err2 == nil && wf == gf
		}
		return false
	case nil:
		return got == nil
	default:
		return want == got
	}
}

func isZero(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return x == ""
	case json.Number:
		f, err := x.Float64()
		return err == nil && f == 0
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}
