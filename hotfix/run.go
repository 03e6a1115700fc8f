package hotfix

import (
	"context"
	"fmt"
	"strconv"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/event"
	"github.com/cicd-excellence/actions/internal/ghclient"
)

// Run is the step: validate every input, then resolve, check and create.
func Run(ctx context.Context, r *action.Runtime) error {
	q, err := ParseRequest(r)
	if err != nil {
		return err
	}
	ev, err := event.Load(r.Getenv)
	if err != nil {
		return fmt.Errorf("hotfix: %w", err)
	}
	c, err := ghclient.FromRuntime(r)
	if err != nil {
		return err
	}
	res, err := Create(ctx, c, q, ev.ServerURL, r.Infof)
	if err != nil {
		return fmt.Errorf("hotfix: %w", err)
	}
	if err := r.SetOutputs(
		"branch", res.Branch,
		"sha", res.SHA,
		"url", res.URL,
		"created", strconv.FormatBool(res.Created),
		"base-environment", res.BaseEnvironment,
	); err != nil {
		return fmt.Errorf("hotfix: %w", err)
	}
	verb := "created"
	if !res.Created {
		verb = "already existed"
		r.Noticef("hotfix branch %s already exists at %s: nothing changed", res.Branch, short(res.SHA))
	} else {
		r.Infof("created %s at %s: %s", res.Branch, res.SHA, res.URL)
	}
	base := action.MDCode(q.Base)
	if res.BaseEnvironment != "" {
		base += " (" + action.MDCode(res.BaseFile) + " of " + action.MDEscape(q.InfraOwner+"/"+q.InfraRepo) + ")"
	}
	return r.Summary(fmt.Sprintf("### Hotfix branch\n\n| Branch | Commit | Base | Status |\n|---|---|---|---|\n| [%s](%s) | %s | %s | %s |\n",
		action.MDEscape(res.Branch), res.URL, action.MDCode(res.SHA), base, verb))
}
