package rulesets

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cicd-excellence/actions/internal/ghclient"
)

// Report is what a run did or found: the step's report output, and the
// source of its job summary.
type Report struct {
	Command      string       `json:"command"`
	DryRun       bool         `json:"dry_run"`
	Time         string       `json:"time"`
	Changed      bool         `json:"changed"`
	Drift        bool         `json:"drift"`
	Repositories []RepoReport `json:"repositories"`
}

// RepoReport is one repository.
type RepoReport struct {
	Repository    string          `json:"repository"`
	DefaultBranch string          `json:"default_branch,omitempty"`
	Rulesets      []RulesetReport `json:"rulesets"`
	// SeparationOfDuties is verify's check of the review controls in force
	// on the default branch.
	SeparationOfDuties []Control `json:"separation_of_duties,omitempty"`
	// Controls are verify's checks of the presets' controls, one each.
	Controls []Control `json:"controls,omitempty"`
	Error    string    `json:"error,omitempty"`
	// Result is the repository's outcome in a word or two: "ok", "drift:
	// N finding(s)", "error" (verify), or what apply did.
	Result string `json:"result,omitempty"`
}

// Ruleset statuses.
const (
	StatusCreated     = "created"
	StatusUpdated     = "updated"
	StatusUnchanged   = "unchanged"
	StatusWouldCreate = "would create"
	StatusWouldUpdate = "would update"
	StatusOK          = "ok"
	StatusDrift       = "drift"
	StatusMissing     = "missing"
	StatusUnverified  = "cannot be verified"
)

// RulesetReport is one ruleset of a repository.
type RulesetReport struct {
	Name string `json:"name"`
	// Source is the file or preset it came from; "unmanaged" for a
	// repository ruleset no input describes (verify checks only its bots).
	Source  string   `json:"source"`
	ID      int64    `json:"id,omitempty"`
	Status  string   `json:"status"`
	Items   []Item   `json:"items,omitempty"`
	Changes []Change `json:"changes"`
	Notes   []string `json:"notes,omitempty"`
}

// Item is one row of the evidence: the ruleset itself, each rule, the
// bypass actors.
type Item struct {
	Name   string `json:"name"`
	Status string `json:"status"` // ok, drift, missing, cannot be verified
	Detail string `json:"detail,omitempty"`
}

// Apply makes the repository's rulesets match desired: each is matched by
// name (case-insensitively, as GitHub keeps names unique), diffed, and
// created or replaced only when it differs. With dryRun nothing is written.
//
// A repository is changed all or nothing: every ruleset is read and diffed
// before the first write, and when a write fails the ones already made are
// undone (created rulesets deleted, updated ones put back), so a failed run
// never leaves the branch rules half applied.
func Apply(ctx context.Context, api API, owner, repo string, desired []Ruleset, dryRun bool, logf func(string, ...any)) (RepoReport, bool, error) {
	rr := RepoReport{Repository: owner + "/" + repo, Rulesets: []RulesetReport{}}
	live, err := api.Rulesets(ctx, owner, repo)
	if err != nil {
		return rr, false, err
	}
	byName := ownRulesets(live)
	type planned struct {
		d       Ruleset
		rep     RulesetReport
		exists  bool
		current map[string]any
	}
	var plan []planned
	for _, d := range desired {
		p := planned{d: d, rep: RulesetReport{Name: d.Name(), Source: d.Source, Changes: []Change{}}}
		ex, exists := byName[strings.ToLower(d.Name())]
		if exists {
			p.exists, p.rep.ID = true, ex.ID
			if p.current, err = api.Ruleset(ctx, owner, repo, ex.ID); err != nil {
				return rr, false, err
			}
		}
		p.rep.Changes = append(p.rep.Changes, Diff(d, p.current)...)
		p.rep.Notes = unknownRuleNotes(d)
		plan = append(plan, p)
	}

	var undo []func(context.Context) error
	rollback := func(cause error) error {
		for i := len(undo) - 1; i >= 0; i-- {
			if err := undo[i](ctx); err != nil {
				return fmt.Errorf("%w; undoing the earlier changes failed too, fix by hand or rerun: %v", cause, err)
			}
		}
		if len(undo) > 0 {
			logf("%s: undid %d ruleset change(s) made before the failure", rr.Repository, len(undo))
		}
		return cause
	}
	changed := false
	for _, p := range plan {
		d, rep := p.d, p.rep
		switch {
		case len(rep.Changes) == 0:
			rep.Status = StatusUnchanged
			logf("%s: ruleset %q is up to date", rr.Repository, d.Name())
		case dryRun:
			rep.Status = StatusWouldUpdate
			if !p.exists {
				rep.Status = StatusWouldCreate
			}
			logf("%s: ruleset %q %s (dry run, nothing written):", rr.Repository, d.Name(), rep.Status)
			for _, c := range rep.Changes {
				logf("  %s", c)
			}
			if !p.exists {
				logf("  would send: %s", show(d.Body))
			}
		case p.exists:
			if _, err := api.Update(ctx, owner, repo, rep.ID, d); err != nil {
				return rr, false, rollback(err)
			}
			id, previous := rep.ID, Ruleset{Source: "previous", Body: writable(p.current)}
			undo = append(undo, func(ctx context.Context) error { _, err := api.Update(ctx, owner, repo, id, previous); return err })
			rep.Status = StatusUpdated
			changed = true
			logf("%s: updated ruleset %q (id %d):", rr.Repository, d.Name(), rep.ID)
			for _, c := range rep.Changes {
				logf("  %s", c)
			}
		default:
			created, err := api.Create(ctx, owner, repo, d)
			if err != nil {
				// A POST is not retried blindly: the state decides whether the
				// ruleset got created after all (a lost answer, a concurrent run).
				ghclient.AwaitInFlight(ctx, err)
				id, ok := createdMeanwhile(ctx, api, owner, repo, d)
				if !ok {
					return rr, false, rollback(err)
				}
				rep.ID = id
			} else {
				rep.ID, _ = intValue(created["id"])
			}
			id := rep.ID
			undo = append(undo, func(ctx context.Context) error { return api.Delete(ctx, owner, repo, id) })
			rep.Status = StatusCreated
			changed = true
			logf("%s: created ruleset %q (id %d)", rr.Repository, d.Name(), rep.ID)
		}
		rr.Rulesets = append(rr.Rulesets, rep)
	}
	return rr, changed, nil
}

// writable keeps the fields of a ruleset as GitHub returns it that a PUT
// accepts, to put an updated ruleset back as it was.
func writable(live map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range []string{"name", "target", "enforcement", "bypass_actors", "conditions", "rules"} {
		if v, ok := live[k]; ok {
			out[k] = v
		}
	}
	return out
}

func createdMeanwhile(ctx context.Context, api API, owner, repo string, d Ruleset) (int64, bool) {
	live, err := api.Rulesets(ctx, owner, repo)
	if err != nil {
		return 0, false
	}
	ex, ok := ownRulesets(live)[strings.ToLower(d.Name())]
	if !ok {
		return 0, false
	}
	current, err := api.Ruleset(ctx, owner, repo, ex.ID)
	if err != nil || len(Diff(d, current)) > 0 {
		return 0, false
	}
	return ex.ID, true
}

// ownRulesets indexes the repository's own rulesets by lower-case name.
func ownRulesets(live []LiveRuleset) map[string]LiveRuleset {
	out := map[string]LiveRuleset{}
	for _, l := range live {
		if l.SourceType == "" || l.SourceType == "Repository" {
			out[strings.ToLower(l.Name)] = l
		}
	}
	return out
}

func unknownRuleNotes(d Ruleset) []string {
	var out []string
	for _, t := range slices.Sorted(maps.Keys(rulesByType(d.Body["rules"]))) {
		if !KnownRuleTypes[t] {
			out = append(out, fmt.Sprintf("rule %s is a type this action does not know: applied and compared as raw JSON", t))
		}
	}
	return out
}
