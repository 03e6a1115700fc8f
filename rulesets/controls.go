package rulesets

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// The controls verify reports one line each, for the presets asked for.
const (
	// ControlRequiredCheck: each required check is required by a ruleset
	// that nobody bypasses. A pull_request-mode bypass also skips the
	// ruleset's required status checks, so a check in the bot's approval
	// ruleset would not bind the bot ("About rulesets", bypass permissions).
	ControlRequiredCheck = "required-check"
	// ControlCheckBound: each required check is bound to the App that runs it
	// (integration_id). Any writer can post a commit status with any context
	// name (REST "Create a commit status"), so an unbound check proves nothing.
	ControlCheckBound = "check-bound"
	// ControlBotBypass: the bot bypasses only in pull_request mode, and only
	// the ruleset that requires the approval.
	ControlBotBypass = "bot-bypass"
	// ControlBotBranches: only the bot creates, moves or deletes its branches.
	ControlBotBranches = "bot-branches"
	// ControlHotfixes: only the bot creates or deletes hotfixes/* branches,
	// and every change to one is a reviewed pull request.
	ControlHotfixes = "hotfixes"
	// ControlReleaseTags: only the release App creates, moves or deletes v*
	// tags.
	ControlReleaseTags = "release-tags"
)

var ruleControlTitles = map[string]string{
	ControlRequiredCheck: "The required checks sit in a ruleset that nobody bypasses",
	ControlCheckBound:    "Each required check is bound to the App that runs it (integration_id)",
	ControlBotBypass:     "The bot bypasses only in pull_request mode, only on the approval ruleset",
	ControlBotBranches:   "Only the bot creates, updates or deletes cicd-excellence/* branches",
	ControlHotfixes:      "Only the bot creates or deletes hotfixes/* branches; changes to them are reviewed pull requests",
	ControlReleaseTags:   "Only the release App creates, moves or deletes v* tags",
}

// HiddenBypass is what verify says when GitHub leaves bypass_actors out of a
// ruleset: it returns the list only to callers who can edit the ruleset
// ("Managing rulesets for a repository": admins, or a role with "edit
// repository rules"; for a GitHub App, Administration: read and write).
const HiddenBypass = "bypass list not verifiable with this token (needs Administration: read and write for a GitHub App, or admin on the repository: GitHub returns bypass_actors only to callers who can edit the ruleset)"

// Probe branches: GET rules/branches/{branch} answers for a branch that does
// not exist, with the rules that would apply to it.
const (
	botBranchProbe = "cicd-excellence/dev/0123456789ab" // open-infra-pr's form
	hotfixProbe    = "hotfixes/verify-probe"
)

// VerifyOptions say which controls verify checks besides the diff: those of
// the presets asked for, with the ids the presets were filled with.
type VerifyOptions struct {
	Presets []string
	Preset  PresetOptions
}

// ruleIn is one rule in force and the ruleset it comes from.
type ruleIn struct {
	rule    map[string]any
	id      int64
	from    string
	foreign bool           // an organization or enterprise ruleset
	live    map[string]any // nil when not readable (foreign)
}

func rulesIn(rules []map[string]any, details map[int64]map[string]any) []ruleIn {
	var out []ruleIn
	for _, r := range rules {
		id, _ := intValue(r["ruleset_id"])
		st, _ := r["ruleset_source_type"].(string)
		ri := ruleIn{rule: r, id: id, from: fmt.Sprintf("ruleset %d", id), foreign: st != "" && st != "Repository"}
		if d := details[id]; d != nil && !ri.foreign {
			ri.live = d
			if name, ok := d["name"].(string); ok {
				ri.from = "ruleset " + strconv.Quote(name)
			}
		} else if src, _ := r["ruleset_source"].(string); src != "" {
			ri.from += " of " + src
		}
		out = append(out, ri)
	}
	return out
}

func (ri ruleIn) typ() string { t, _ := ri.rule["type"].(string); return t }

// bypassers returns the ruleset's bypass actors, or ok=false when the token
// cannot see them (foreign ruleset, field absent).
func (ri ruleIn) bypassers() (map[string]map[string]any, bool) {
	if ri.live == nil || !BypassVisible(ri.live) {
		return nil, false
	}
	return actorsByKey(ri.live["bypass_actors"]), true
}

func hiddenWhy(ri ruleIn) string {
	if ri.foreign {
		return ri.from + ": its bypass list is not visible to a repository token"
	}
	return ri.from + ": " + HiddenBypass
}

func appKey(id int64) string { return "Integration " + strconv.FormatInt(id, 10) }

// Controls checks the controls of the presets in o. It reads the rules in
// force on the default branch and on probe names under the bot's and the
// hotfix prefixes; details are the repository's own rulesets by id.
func Controls(ctx context.Context, api API, owner, repo, branch string, details map[int64]map[string]any, o VerifyOptions) []Control {
	var out []Control
	rulesOf := func(b string) ([]ruleIn, string) {
		rules, err := api.BranchRules(ctx, owner, repo, b)
		if err != nil {
			return nil, "the rules in force on " + b + " could not be read: " + err.Error()
		}
		return rulesIn(rules, details), ""
	}
	failed := func(id, why string) Control {
		return Control{ID: id, Title: ruleControlTitles[id], Status: Unverified, Detail: why}
	}
	for _, p := range o.Presets {
		switch p {
		case "default":
			rules, err := rulesOf(branch)
			if err != "" {
				out = append(out, failed(ControlRequiredCheck, err), failed(ControlCheckBound, err), failed(ControlBotBypass, err))
				continue
			}
			out = append(out, RequiredCheckControls(branch, rules, o.Preset)...)
			out = append(out, BotBypassControl(branch, rules, o.Preset.BypassAppID))
		case "bot-branches":
			rules, err := rulesOf(botBranchProbe)
			if err != "" {
				out = append(out, failed(ControlBotBranches, err))
				continue
			}
			out = append(out, OwnedRefsControl(ControlBotBranches, "cicd-excellence/* branches", rules, []string{"creation", "update", "deletion", "non_fast_forward"}, o.Preset.BypassAppID))
		case "hotfixes":
			rules, err := rulesOf(hotfixProbe)
			if err != "" {
				out = append(out, failed(ControlHotfixes, err))
				continue
			}
			out = append(out, HotfixesControl(rules, o.Preset.BypassAppID))
		case "release-tags":
			out = append(out, OwnedRefsControl(ControlReleaseTags, "v* tags", tagRules(details), []string{"creation", "update", "deletion", "non_fast_forward"}, o.Preset.ReleaseAppID))
		}
	}
	return out
}

// verdict turns problems and unknowns into a control's status: any problem
// fails it, else anything not visible makes it unverifiable; never verified
// on what could not be seen.
func verdict(id string, problems, unknowns, notes []string) Control {
	c := Control{ID: id, Title: ruleControlTitles[id]}
	switch {
	case len(problems) > 0:
		c.Status, c.Detail = NotVerified, strings.Join(append(problems, unknowns...), "; ")
	case len(unknowns) > 0:
		c.Status, c.Detail = Unverified, strings.Join(unknowns, "; ")
	default:
		c.Status, c.Detail = Verified, strings.Join(notes, "; ")
	}
	return c
}

// RequiredCheckControls checks that each required check is required by a
// ruleset in force on branch with no bypass actors, and bound there to the
// App that runs it.
func RequiredCheckControls(branch string, rules []ruleIn, o PresetOptions) []Control {
	want := o.ChecksAppID
	if want == 0 {
		want = DefaultChecksAppID
	}
	var probs, unk, notes, bProbs, bUnk, bNotes []string
	for _, check := range o.RequiredChecks {
		var unbypassable, bypassable, hidden []string
		bound, unboundWhy := false, ""
		for _, ri := range rules {
			if ri.typ() != "required_status_checks" {
				continue
			}
			p, _ := ri.rule["parameters"].(map[string]any)
			list, _ := p["required_status_checks"].([]any)
			for _, e := range list {
				m, _ := e.(map[string]any)
				if ctx, _ := m["context"].(string); ctx != check {
					continue
				}
				actors, visible := ri.bypassers()
				switch {
				case !visible:
					hidden = append(hidden, hiddenWhy(ri))
				case len(actors) > 0:
					bypassable = append(bypassable, fmt.Sprintf("%s, which %s may bypass", ri.from, strings.Join(slices.Sorted(maps.Keys(actors)), ", ")))
				default:
					unbypassable = append(unbypassable, ri.from)
					switch id, ok := intValue(m["integration_id"]); {
					case ok && id == want:
						bound = true
					case ok:
						unboundWhy = fmt.Sprintf("%q in %s is bound to App %d, want %d", check, ri.from, id, want)
					default:
						unboundWhy = fmt.Sprintf("%q in %s is not bound to an App (no integration_id): anyone with write access can post a status named %q", check, ri.from, check)
					}
				}
			}
		}
		switch {
		case len(unbypassable) > 0:
			notes = append(notes, fmt.Sprintf("%q is required on %s by %s, which has no bypass actors", check, branch, strings.Join(unbypassable, ", ")))
		case len(hidden) > 0:
			unk = append(unk, hidden...)
		case len(bypassable) > 0:
			probs = append(probs, fmt.Sprintf("%q is required on %s only by %s (a pull_request-mode bypass also skips the ruleset's required checks)", check, branch, strings.Join(bypassable, "; ")))
		default:
			probs = append(probs, fmt.Sprintf("no rule in force on %s requires %q", branch, check))
		}
		switch {
		case bound:
			bNotes = append(bNotes, fmt.Sprintf("%q is bound to App %d", check, want))
		case unboundWhy != "":
			bProbs = append(bProbs, unboundWhy)
		case len(hidden) > 0:
			bUnk = append(bUnk, fmt.Sprintf("%q: which of its rules binds it is not verifiable: %s", check, strings.Join(hidden, "; ")))
		default:
			bProbs = append(bProbs, fmt.Sprintf("%q is not required by a ruleset that nobody bypasses, so no binding there", check))
		}
	}
	return []Control{verdict(ControlRequiredCheck, probs, unk, notes), verdict(ControlCheckBound, bProbs, bUnk, bNotes)}
}

// BotBypassControl checks the bot's place in the rulesets in force on the
// default branch: in pull_request mode on those that require a pull request,
// absent from every other one (such as Required checks).
func BotBypassControl(branch string, rules []ruleIn, botID int64) Control {
	var probs, unk, notes []string
	bot := appKey(botID)
	seen := map[int64]bool{}
	for _, ri := range rules {
		if seen[ri.id] {
			continue
		}
		seen[ri.id] = true
		approval := false
		for _, r := range rules {
			approval = approval || (r.id == ri.id && r.typ() == "pull_request")
		}
		actors, visible := ri.bypassers()
		if !visible {
			unk = append(unk, hiddenWhy(ri))
			continue
		}
		a, in := actors[bot]
		mode, _ := a["bypass_mode"].(string)
		switch {
		case !in:
		case !approval:
			probs = append(probs, fmt.Sprintf("%s: the bot (%s) may bypass it in %s mode, and it requires no pull request: its rules (such as required checks) do not bind the bot", ri.from, bot, mode))
		case mode != "pull_request":
			probs = append(probs, fmt.Sprintf("%s: the bot (%s) bypasses in %s mode%s", ri.from, bot, mode, modeRisk(a)))
		default:
			notes = append(notes, fmt.Sprintf("%s: the bot (%s) may merge pull requests into %s without the approval, in pull_request mode", ri.from, bot, branch))
		}
	}
	if len(notes) == 0 && len(probs) == 0 && len(unk) == 0 {
		notes = append(notes, fmt.Sprintf("the bot (%s) bypasses no ruleset on %s", bot, branch))
	}
	return verdict(ControlBotBypass, probs, unk, notes)
}

// OwnedRefsControl checks that each rule type of need is in force on the
// refs, from a ruleset that nobody but the owner App may bypass.
func OwnedRefsControl(id, refs string, rules []ruleIn, need []string, ownerID int64) Control {
	var probs, unk, notes []string
	owner := appKey(ownerID)
	for _, t := range need {
		var clean, others, hidden []string
		for _, ri := range rules {
			if ri.typ() != t {
				continue
			}
			actors, visible := ri.bypassers()
			if !visible {
				hidden = append(hidden, hiddenWhy(ri))
				continue
			}
			var extra []string
			for _, k := range slices.Sorted(maps.Keys(actors)) {
				if k != owner {
					extra = append(extra, k)
				}
			}
			if len(extra) > 0 {
				others = append(others, fmt.Sprintf("%s (%s may bypass it)", ri.from, strings.Join(extra, ", ")))
			} else {
				clean = append(clean, ri.from)
			}
		}
		switch {
		case len(clean) > 0:
			notes = append(notes, fmt.Sprintf("%s in force (%s)", t, strings.Join(clean, ", ")))
		case len(hidden) > 0:
			unk = append(unk, hidden...)
		case len(others) > 0:
			probs = append(probs, fmt.Sprintf("rule %s on %s is bypassed by more than %s: %s", t, refs, owner, strings.Join(others, "; ")))
		default:
			probs = append(probs, fmt.Sprintf("no active ruleset puts a %s rule on %s", t, refs))
		}
	}
	if len(probs) == 0 && len(unk) == 0 {
		notes = append(notes, "only "+owner+" may bypass")
	}
	return verdict(id, probs, unk, dedupe(notes))
}

// HotfixesControl: creation and deletion of hotfixes/* are the bot's alone,
// no force pushes, and every change is a pull request with an approval that
// only the bot may skip (no ruleset carries `update`: GitHub's "Restrict
// updates" would block merging the reviewed pull requests too).
func HotfixesControl(rules []ruleIn, botID int64) Control {
	c := OwnedRefsControl(ControlHotfixes, "hotfixes/* branches", rules, []string{"creation", "deletion", "non_fast_forward"}, botID)
	var probs, unk, notes []string
	if c.Status == NotVerified {
		probs = append(probs, c.Detail)
	} else if c.Status == Unverified {
		unk = append(unk, c.Detail)
	} else {
		notes = append(notes, c.Detail)
	}
	reviewed := false
	for _, ri := range rules {
		if ri.typ() != "pull_request" {
			continue
		}
		p, _ := ri.rule["parameters"].(map[string]any)
		if n, _ := intValue(p["required_approving_review_count"]); n < 1 {
			continue
		}
		actors, visible := ri.bypassers()
		if !visible {
			unk = append(unk, hiddenWhy(ri))
			continue
		}
		var extra []string
		for _, k := range slices.Sorted(maps.Keys(actors)) {
			if mode, _ := actors[k]["bypass_mode"].(string); k != appKey(botID) || mode != "pull_request" {
				extra = append(extra, k+" ("+mode+")")
			}
		}
		if len(extra) > 0 {
			probs = append(probs, fmt.Sprintf("%s requires the review, but %s may skip it", ri.from, strings.Join(extra, ", ")))
			continue
		}
		reviewed = true
		notes = append(notes, "pull request with approval required ("+ri.from+")")
	}
	if !reviewed && len(unk) == 0 {
		probs = append(probs, "no ruleset that only the bot may skip, and only in pull_request mode, requires an approved pull request on hotfixes/* branches")
	}
	return verdict(ControlHotfixes, probs, unk, notes)
}

// tagRules lists the rules of the repository's active tag rulesets that
// cover every v* tag, in the shape of the rules-in-force endpoint (which
// exists for branches only).
func tagRules(details map[int64]map[string]any) []ruleIn {
	var out []ruleIn
	for _, id := range sortedIDs(details) {
		d := details[id]
		if t, _ := d["target"].(string); t != "tag" {
			continue
		}
		if e, _ := d["enforcement"].(string); e != "active" {
			continue
		}
		cond, _ := d["conditions"].(map[string]any)
		rn, _ := cond["ref_name"].(map[string]any)
		inc, _ := rn["include"].([]any)
		exc, _ := rn["exclude"].([]any)
		covers := false
		for _, p := range inc {
			switch p {
			case "refs/tags/v*", "refs/tags/*", "refs/tags/**", "~ALL":
				covers = true
			}
		}
		if !covers || len(exc) > 0 {
			continue
		}
		name, _ := d["name"].(string)
		list, _ := d["rules"].([]any)
		for _, r := range list {
			if m, ok := r.(map[string]any); ok {
				out = append(out, ruleIn{rule: m, id: id, from: "ruleset " + strconv.Quote(name), live: d})
			}
		}
	}
	return out
}

func sortedIDs(m map[int64]map[string]any) []int64 {
	return slices.Sorted(maps.Keys(m))
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
