package rulesets

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Verify compares the repository's live rulesets with desired and checks the
// separation of duties on its default branch. It writes nothing; Findings of
// the report say what drifted.
func Verify(ctx context.Context, api API, owner, repo string, desired []Ruleset, o VerifyOptions) (RepoReport, error) {
	rr := RepoReport{Repository: owner + "/" + repo, Rulesets: []RulesetReport{}}
	branch, err := api.DefaultBranch(ctx, owner, repo)
	if err != nil {
		return rr, err
	}
	rr.DefaultBranch = branch
	list, err := api.Rulesets(ctx, owner, repo)
	if err != nil {
		return rr, err
	}
	details := map[int64]map[string]any{}
	for _, l := range list {
		if l.SourceType != "" && l.SourceType != "Repository" {
			continue
		}
		d, err := api.Ruleset(ctx, owner, repo, l.ID)
		if err != nil {
			return rr, err
		}
		details[l.ID] = d
	}
	byName := ownRulesets(list)
	managed := map[int64]bool{}
	for _, d := range desired {
		var live map[string]any
		ex, ok := byName[strings.ToLower(d.Name())]
		if ok {
			live = details[ex.ID]
			managed[ex.ID] = true
		}
		rr.Rulesets = append(rr.Rulesets, evidence(d, ex.ID, live))
	}
	for _, l := range list {
		live, ok := details[l.ID]
		if !ok || managed[l.ID] {
			continue
		}
		rep := RulesetReport{Name: l.Name, Source: "unmanaged", ID: l.ID, Status: StatusOK, Changes: AlwaysBypassingApps(live)}
		item := Item{Name: "bypass actors", Status: StatusOK, Detail: "not managed by this action: only checked for GitHub Apps that bypass outside pull requests"}
		switch {
		case len(rep.Changes) > 0:
			rep.Status, item.Status, item.Detail = StatusDrift, StatusDrift, joinChanges(rep.Changes)
		case !BypassVisible(live):
			item.Status, item.Detail = StatusUnverified, HiddenBypass
		}
		rep.Items = []Item{item}
		rr.Rulesets = append(rr.Rulesets, rep)
	}

	rr.Controls = Controls(ctx, api, owner, repo, branch, details, o)
	rules, err := api.BranchRules(ctx, owner, repo, branch)
	if err != nil {
		rr.SeparationOfDuties = unverifiable("the rules in force on " + branch + " could not be read: " + err.Error())
		return rr, nil
	}
	rr.SeparationOfDuties = SeparationOfDuties(branch, rules, details)
	return rr, nil
}

// evidence is one desired ruleset against its live copy, row by row.
func evidence(d Ruleset, id int64, live map[string]any) RulesetReport {
	rep := RulesetReport{Name: d.Name(), Source: d.Source, ID: id, Changes: Diff(d, live), Notes: unknownRuleNotes(d)}
	if live == nil {
		rep.Status = StatusMissing
		rep.Items = []Item{{Name: "ruleset", Status: StatusMissing, Detail: "no ruleset of this name in the repository"}}
		return rep
	}
	byItem := map[string][]Change{}
	for _, c := range rep.Changes {
		byItem[c.Item] = append(byItem[c.Item], c)
	}
	row := func(name, okDetail string) Item {
		if cs := byItem[name]; len(cs) > 0 {
			return Item{Name: name, Status: StatusDrift, Detail: joinChanges(cs)}
		}
		return Item{Name: name, Status: StatusOK, Detail: okDetail}
	}
	enf, _ := live["enforcement"].(string)
	rep.Items = append(rep.Items, row("ruleset", fmt.Sprintf("enforcement %s, target %s, conditions %s", enf, d.Body["target"], show(live["conditions"]))))
	liveRules := rulesByType(live["rules"])
	seen := map[string]bool{}
	for _, r := range d.Body["rules"].([]any) {
		t, _ := r.(map[string]any)["type"].(string)
		seen[t] = true
		detail := "in force"
		if p, ok := liveRules[t]["parameters"]; ok {
			detail = "parameters " + show(p)
		}
		rep.Items = append(rep.Items, row("rule "+t, detail))
	}
	for _, t := range slices.Sorted(maps.Keys(liveRules)) {
		if !seen[t] {
			rep.Items = append(rep.Items, row("rule "+t, ""))
		}
	}
	if BypassVisible(live) {
		rep.Items = append(rep.Items, row("bypass actors", show(live["bypass_actors"])))
	} else {
		rep.Items = append(rep.Items, Item{Name: "bypass actors", Status: StatusUnverified, Detail: HiddenBypass})
	}
	rep.Status = StatusOK
	if len(rep.Changes) > 0 {
		rep.Status = StatusDrift
	}
	return rep
}

func joinChanges(cs []Change) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.String()
	}
	return strings.Join(parts, "; ")
}

// Control statuses of the separation-of-duties check.
const (
	Verified    = "verified"
	NotVerified = "not verified"
	Unverified  = "cannot be verified"
)

// Control is one separation-of-duties control and what the API shows of it.
type Control struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

// The separation-of-duties controls, checked on the rules in force on the
// default branch (from every active ruleset, organization ones included).
const (
	ControlApprovals = "approvals"
	ControlLastPush  = "last-push-approval"
	ControlBypass    = "bypass"
)

var controlTitles = map[string]string{
	ControlApprovals: "A pull request needs at least one approving review before it merges",
	ControlLastPush:  "The last pusher cannot approve their own push (require_last_push_approval)",
	ControlBypass:    "Nobody skips review: only the bot bypasses, and only through pull requests",
}

func unverifiable(why string) []Control {
	var out []Control
	for _, id := range []string{ControlApprovals, ControlLastPush, ControlBypass} {
		out = append(out, Control{ID: id, Title: controlTitles[id], Status: Unverified, Detail: why})
	}
	return out
}

// SeparationOfDuties evaluates the review controls from the rules in force
// on branch (GET .../rules/branches/{branch}) and the details of the
// repository's own rulesets by id (their bypass actors).
func SeparationOfDuties(branch string, rules []map[string]any, details map[int64]map[string]any) []Control {
	type prRule struct {
		count    int64
		lastPush bool
		id       int64
		source   string // "Repository" or "Organization"
		from     string
	}
	var prs []prRule
	for _, r := range rules {
		if t, _ := r["type"].(string); t != "pull_request" {
			continue
		}
		p, _ := r["parameters"].(map[string]any)
		n, _ := intValue(p["required_approving_review_count"])
		lp, _ := p["require_last_push_approval"].(bool)
		id, _ := intValue(r["ruleset_id"])
		st, _ := r["ruleset_source_type"].(string)
		from := fmt.Sprintf("ruleset %d", id)
		if d := details[id]; d != nil {
			if name, ok := d["name"].(string); ok {
				from = "ruleset " + strconv.Quote(name)
			}
		} else if src, _ := r["ruleset_source"].(string); src != "" {
			from += " of " + src
		}
		prs = append(prs, prRule{count: n, lastPush: lp, id: id, source: st, from: from})
	}

	approvals := Control{ID: ControlApprovals, Title: controlTitles[ControlApprovals]}
	last := Control{ID: ControlLastPush, Title: controlTitles[ControlLastPush]}
	bypass := Control{ID: ControlBypass, Title: controlTitles[ControlBypass]}
	if len(prs) == 0 {
		why := fmt.Sprintf("no active ruleset requires a pull request on %s", branch)
		approvals.Status, approvals.Detail = NotVerified, why
		last.Status, last.Detail = NotVerified, why
		bypass.Status, bypass.Detail = NotVerified, why+": anyone with write access can push to it"
		return []Control{approvals, last, bypass}
	}

	best := prs[0]
	for _, p := range prs[1:] {
		if p.count > best.count {
			best = p
		}
	}
	if best.count >= 1 {
		approvals.Status = Verified
		approvals.Detail = fmt.Sprintf("%d approving review(s) required on %s (%s)", best.count, branch, best.from)
	} else {
		approvals.Status = NotVerified
		approvals.Detail = fmt.Sprintf("pull requests into %s need 0 approving reviews (%s)", branch, best.from)
	}
	last.Status = NotVerified
	last.Detail = fmt.Sprintf("no rule in force on %s sets require_last_push_approval", branch)
	for _, p := range prs {
		if p.lastPush {
			last.Status = Verified
			last.Detail = fmt.Sprintf("the most recent push must be approved by someone other than its pusher (%s)", p.from)
			break
		}
	}

	// Every ruleset that requires review must be bypassable by nobody but
	// the bot, and by it only through pull requests.
	bypass.Status = Verified
	var notes, problems, unknowns []string
	seen := map[int64]bool{}
	for _, p := range prs {
		if seen[p.id] {
			continue
		}
		seen[p.id] = true
		d := details[p.id]
		switch {
		case p.source != "" && p.source != "Repository":
			unknowns = append(unknowns, fmt.Sprintf("%s comes from the %s: its bypass list is not visible to a repository token", p.from, strings.ToLower(p.source)))
			continue
		case d == nil || !BypassVisible(d):
			unknowns = append(unknowns, fmt.Sprintf("GitHub did not show the bypass list of %s to this token", p.from))
			continue
		}
		actors := actorsByKey(d["bypass_actors"])
		if len(actors) == 0 {
			notes = append(notes, fmt.Sprintf("%s has no bypass actors", p.from))
		}
		for _, k := range slices.Sorted(maps.Keys(actors)) {
			a := actors[k]
			at, _ := a["actor_type"].(string)
			mode, _ := a["bypass_mode"].(string)
			switch {
			case mode != "pull_request":
				problems = append(problems, fmt.Sprintf("%s: %s bypasses in %s mode%s", p.from, k, mode, modeRisk(a)))
			case at == "Integration":
				notes = append(notes, fmt.Sprintf("%s: %s (the bot) may merge pull requests without the required review, and each bypass is recorded", p.from, k))
			case at == "User":
				problems = append(problems, fmt.Sprintf("%s: %s may merge their own pull requests without an approving review", p.from, k))
			default:
				unknowns = append(unknowns, fmt.Sprintf("%s: %s may merge pull requests without review, and who holds it (team membership, role assignments) is not visible to a repository token", p.from, k))
			}
		}
	}
	switch {
	case len(problems) > 0:
		bypass.Status = NotVerified
		bypass.Detail = strings.Join(append(problems, unknowns...), "; ")
	case len(unknowns) > 0:
		bypass.Status = Unverified
		bypass.Detail = strings.Join(append(unknowns, notes...), "; ")
	default:
		bypass.Detail = strings.Join(notes, "; ")
	}
	return []Control{approvals, last, bypass}
}

// Findings are a report's failures, one line each: drift in a ruleset,
// a missing ruleset, a GitHub App bypassing outside pull requests, a
// separation-of-duties control or a preset's control not in place. With
// strict (unverifiable-bypass: fail), a bypass list GitHub hid from the
// token is one too: what cannot be seen is never reported as in place.
func (rr RepoReport) Findings(strict bool) []Finding {
	var out []Finding
	for _, c := range rr.Controls {
		if c.Status == NotVerified || (strict && c.Status == Unverified) {
			out = append(out, Finding{Line: fmt.Sprintf("%s: control %s: %s: %s", rr.Repository, c.ID, c.Status, c.Detail)})
		}
	}
	if strict {
		for _, rs := range rr.Rulesets {
			for _, it := range rs.Items {
				if it.Status == StatusUnverified && it.Detail == HiddenBypass {
					out = append(out, Finding{Source: rs.Source, Line: fmt.Sprintf("%s: ruleset %s: %s: %s", rr.Repository, strconv.Quote(rs.Name), it.Name, HiddenBypass)})
				}
			}
		}
	}
	for _, rs := range rr.Rulesets {
		for _, c := range rs.Changes {
			msg := c.String()
			if c.Subject == "ruleset" && c.Message == "missing" {
				msg = "missing (no ruleset of this name in the repository)"
			}
			out = append(out, Finding{Source: rs.Source, Line: fmt.Sprintf("%s: ruleset %s: %s", rr.Repository, strconv.Quote(rs.Name), msg)})
		}
	}
	for _, c := range rr.SeparationOfDuties {
		if c.Status == NotVerified {
			out = append(out, Finding{Line: fmt.Sprintf("%s: separation of duties: %s: not verified: %s", rr.Repository, c.ID, c.Detail)})
		}
	}
	return out
}

// Unverifiable counts the controls and bypass lists of a report that the
// token could not see: never "ok", even when they only warn.
func (rr RepoReport) Unverifiable() int {
	n := 0
	for _, c := range rr.Controls {
		if c.Status == Unverified {
			n++
		}
	}
	for _, rs := range rr.Rulesets {
		for _, it := range rs.Items {
			if it.Status == StatusUnverified && it.Detail == HiddenBypass {
				n++
			}
		}
	}
	return n
}

// Finding is one line of verify's diff, and the file it is about (empty for
// presets and repository-wide findings).
type Finding struct {
	Source string
	Line   string
}
