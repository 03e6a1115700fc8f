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

// deployers reads the logins whose records count.
func deployers(r *action.Runtime) ([]string, error) {
	list := r.ListInput("deployers")
	if len(list) == 0 {
		return []string{DefaultDeployer}, nil
	}
	for _, l := range list {
		if strings.ContainsAny(l, " \t/:") || len(l) > 100 {
			return nil, action.Inputf("deployers", "%s is not a GitHub login", strconv.Quote(l))
		}
	}
	return list, nil
}

// runConverge plans from the record: every environment whose file at the
// checked-out commit differs from its last successful deployment. Whatever
// happened to earlier runs (cancelled while pending, failed, never started),
// this run deploys what is missing; with nothing missing it is a no-op.
//
// Per service, each (environment, service) is compared with the newest
// successful record of that service (history.serviceRecords: its own, or
// the environment's whole record from before).
func runConverge(ctx context.Context, r *action.Runtime, ev *event.Context, c common, perService bool) error {
	commit := r.Input("after")
	if commit == "" {
		commit = ev.SHA
	}
	if !refname.IsFullSHA(commit) {
		return action.Inputf("after", "%s is not a full commit SHA (converge plans the checked-out commit: GITHUB_SHA)", strconv.Quote(commit))
	}
	trusted, err := deployers(r)
	if err != nil {
		return err
	}
	app, err := optionalRepo(r, "app-repo")
	if err != nil {
		return err
	}
	client, err := ghclient.FromRuntime(r)
	if err != nil {
		return fmt.Errorf("plan: converge reads the deployment records: %w", err)
	}
	owner, name, err := refname.Repo(ev.Repository)
	if err != nil {
		return fmt.Errorf("plan: GITHUB_REPOSITORY: %w", err)
	}
	h := &history{gh: client, owner: owner, repo: name, trusted: trusted, warn: r.Warningf}
	records := map[string]*Record{}
	deployed := func(ctx context.Context, env string) (map[string]string, bool, error) {
		rec, err := h.lastSuccess(ctx, env)
		if err != nil || rec == nil {
			return nil, false, err
		}
		records[env] = rec
		return rec.Versions, true, nil
	}
	deployedService := func(ctx context.Context, env, service string) (map[string]string, bool, error) {
		rec, err := h.lastServiceSuccess(ctx, env, service)
		if err != nil || rec == nil {
			return nil, false, err
		}
		records[env+"/"+service] = rec
		return rec.Versions, true, nil
	}
	cfg := envdiff.Config{Dir: c.dir, Tracked: c.tracked, Order: c.order}
	plan := func(rd envdiff.Reader) (*envdiff.Result, error) {
		if perService {
			return envdiff.ConvergeServices(ctx, rd, commit, cfg, deployedService)
		}
		return envdiff.Converge(ctx, rd, commit, cfg, deployed)
	}
	res, err := plan(gitread.Reader{Dir: r.WorkDir})
	if errors.Is(err, envdiff.ErrMissingCommit) {
		r.Infof("%v; reading through the API instead", err)
		res, err = plan(&apiReader{gh: client, owner: owner, repo: name})
	}
	if se := (*envdiff.ServiceError)(nil); errors.As(err, &se) {
		return action.Inputf("matrix", "service: %v", err)
	}
	if err := reportPlan(r, res, err, c, fmt.Sprintf("all environments at their desired versions (%s): nothing to deploy", commit[:7])); err != nil {
		return err
	}
	return r.Summary(convergeSummary(res, records, app, ev.ServerURL, commit))
}

func convergeSummary(res *envdiff.Result, records map[string]*Record, app, server, commit string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Deploy plan: converge to %s\n\n", action.MDCode(commit[:7]))
	if !res.Changed {
		b.WriteString("All environments at their desired versions: nothing to deploy.\n")
		return b.String()
	}
	b.WriteString("| Environment | Key | Deployed | Desired | Changes |\n|---|---|---|---|---|\n")
	for _, e := range res.Environments {
		key := e.Environment
		if e.Service != "" {
			key += "/" + e.Service
		}
		from := " (never deployed)"
		if rec := records[key]; rec != nil {
			from = fmt.Sprintf(" (deployment %d)", rec.ID)
		}
		for _, ch := range e.Changes {
			link := ""
			if app != "" && refname.IsFullSHA(ch.Old) && refname.IsFullSHA(ch.New) {
				link = fmt.Sprintf("[compare](%s/%s/compare/%s...%s)", server, app, ch.Old, ch.New)
			}
			fmt.Fprintf(&b, "| %s%s | %s | %s | %s | %s |\n", action.MDEscape(entryName(e)), from, action.MDCode(ch.Key), orNone(ch.Old), orNone(ch.New), link)
		}
	}
	return b.String()
}
