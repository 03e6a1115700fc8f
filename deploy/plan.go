package deploy

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/envdiff"
	"github.com/cicd-excellence/actions/internal/event"
	"github.com/cicd-excellence/actions/internal/ghclient"
	"github.com/cicd-excellence/actions/internal/gitread"
	"github.com/cicd-excellence/actions/internal/refname"
)

// runPlan compares the environment files at the push's before and after,
// value by value, from the checked-out history; only when a commit is not
// there (a shallow clone, a force push) does it read through the API.
func runPlan(ctx context.Context, r *action.Runtime, ev *event.Context, c common) error {
	kind, err := r.ChoiceInput("plan", "diff", "diff", "converge")
	if err != nil {
		return err
	}
	per, err := r.ChoiceInput("matrix", "environment", "environment", "service")
	if err != nil {
		return err
	}
	perService := per == "service"
	if kind == "converge" {
		return runConverge(ctx, r, ev, c, perService)
	}
	before, after := r.Input("before"), r.Input("after")
	if before == "" {
		before = ev.Before
	}
	if after == "" {
		after = ev.After
	}
	if after == "" && ev.Name != event.Push {
		after = ev.SHA
	}
	if before == "" {
		return action.Inputf("before", "is empty and the %s event has no push before commit; plan runs on push, or set before and after", ev.Name)
	}
	for name, v := range map[string]string{"before": before, "after": after} {
		if !refname.IsFullSHA(v) {
			return action.Inputf(name, "%s is not a full commit SHA", strconv.Quote(v))
		}
	}
	app, err := optionalRepo(r, "app-repo")
	if err != nil {
		return err
	}
	cfg := envdiff.Config{Dir: c.dir, Tracked: c.tracked, Order: c.order}
	res, err := envdiff.Plan(ctx, gitread.Reader{Dir: r.WorkDir}, before, after, cfg)
	if errors.Is(err, envdiff.ErrMissingCommit) {
		r.Infof("%v; reading through the API instead", err)
		gh, cerr := ghclient.FromRuntime(r)
		if cerr != nil {
			return fmt.Errorf("plan: %w (and no token to read through the API: %v)", err, cerr)
		}
		owner, name, rerr := refname.Repo(ev.Repository)
		if rerr != nil {
			return fmt.Errorf("plan: %w (and GITHUB_REPOSITORY is not set to read through the API)", err)
		}
		res, err = envdiff.Plan(ctx, &apiReader{gh: gh, owner: owner, repo: name}, before, after, cfg)
	}
	if err == nil && perService {
		if res, err = envdiff.ByService(res); err != nil {
			return action.Inputf("matrix", "service: %v", err)
		}
	}
	if err := reportPlan(r, res, err, c, fmt.Sprintf("no tracked version changed between %s and %s: nothing to deploy", before[:7], after[:7])); err != nil {
		return err
	}
	return r.Summary(planSummary(res, app, ev.ServerURL, before, after))
}

// reportPlan is what both plans do with their result: annotate a broken
// file at its line, write the matrix and the outputs, print the notes and
// warnings, and say what will be deployed (idle says it when nothing is).
func reportPlan(r *action.Runtime, res *envdiff.Result, err error, c common, idle string) error {
	if err != nil {
		var fe *envdiff.FileError
		if errors.As(err, &fe) {
			r.ErrorAt(fe.File, lineOf(fe.Err), "%s", fe.Err.Error())
		}
		return fmt.Errorf("plan: %w", err)
	}
	matrix, err := envdiff.Matrix(res)
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	envs := res.EnvironmentNames()
	if err := r.SetOutputs("matrix", matrix, "changed", strconv.FormatBool(res.Changed), "environments", strings.Join(envs, ",")); err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	for _, n := range res.Notes {
		r.Infof("note: %s", n)
	}
	warnUntracked(r, res, c)
	if res.Changed {
		r.Infof("deploy, in order: %s", strings.Join(res.Entries(), ", "))
	} else {
		r.Infof("%s", idle)
	}
	return nil
}

// warnUntracked says loudly which environment files hold no tracked key:
// nothing in them is ever deployed, most likely a typo in the key or in
// tracked.
func warnUntracked(r *action.Runtime, res *envdiff.Result, c common) {
	if len(res.Untracked) == 0 {
		return
	}
	r.Warningf("%s: no key matches tracked (%s), so nothing in them is ever deployed; fix the key names or the tracked input",
		strings.Join(res.Untracked, ", "), strings.Join(c.tracked, ", "))
}

func planSummary(res *envdiff.Result, app, server, before, after string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Deploy plan %s → %s\n\n", action.MDCode(before[:7]), action.MDCode(after[:7]))
	if !res.Changed {
		b.WriteString("No tracked version changed: nothing to deploy.\n")
	}
	if len(res.Environments) > 0 {
		b.WriteString("| Environment | Key | Old | New | Changes |\n|---|---|---|---|---|\n")
		for _, e := range res.Environments {
			status := ""
			if e.Deleted {
				status = " (deleted: not deployed)"
			} else if e.New {
				status = " (new)"
			}
			for _, ch := range e.Changes {
				link := ""
				if app != "" && refname.IsFullSHA(ch.Old) && refname.IsFullSHA(ch.New) {
					link = fmt.Sprintf("[compare](%s/%s/compare/%s...%s)", server, app, ch.Old, ch.New)
				}
				fmt.Fprintf(&b, "| %s%s | %s | %s | %s | %s |\n", action.MDEscape(entryName(e)), status, action.MDCode(ch.Key), orNone(ch.Old), orNone(ch.New), link)
			}
		}
	}
	for _, n := range res.Notes {
		fmt.Fprintf(&b, "\n> %s\n", action.MDEscape(n))
	}
	return b.String()
}

// entryName is how a plan's entry is named to people: the environment, or
// service in environment.
func entryName(e envdiff.EnvChange) string {
	if e.Service != "" {
		return e.Service + " in " + e.Environment
	}
	return e.Environment
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return action.MDCode(s)
}

func optionalRepo(r *action.Runtime, input string) (string, error) {
	v := r.Input(input)
	if v == "" {
		return "", nil
	}
	if _, _, err := refname.Repo(v); err != nil {
		return "", action.Inputf(input, "%v", err)
	}
	return v, nil
}
