package deploy

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/ghclient"
)

// DefaultDeployer is the identity of the workflow's GITHUB_TOKEN, which
// writes the records when the deploy job uses the default github-token.
const DefaultDeployer = "github-actions[bot]"

// recordsPerEnvironment bounds how far back the history is read: one page.
// The last successful deployment is nearly always among the newest few.
const recordsPerEnvironment = 100

// Record is one deployment this action wrote, as read back from GitHub.
type Record struct {
	ID          int64
	SHA         string
	Environment string
	Versions    map[string]string
	Creator     string
	CreatedAt   time.Time
	// State is the newest status a trusted identity set ("" for none).
	State string
	// Succeeded: a trusted identity set success at some point (a later
	// deployment's auto_inactive turns it inactive, but it was deployed).
	Succeeded bool
}

// payload is what startDeployment writes into a deployment's payload.
type payload struct {
	Versions  map[string]string `json:"versions"`
	RunURL    string            `json:"run_url,omitempty"`
	RequestID string            `json:"request_id"`
}

// history reads an environment's deployment records. Only records and
// statuses created by a trusted login count: anyone with write access can
// create a deployment (or add a success status to a failed one) through the
// API with a payload of their choosing, and must not make converge believe
// a version is running.
type history struct {
	gh          *gh.Client
	owner, repo string
	trusted     []string
	warn        func(format string, args ...any)
}

func (h *history) trusts(login string) bool {
	return slices.ContainsFunc(h.trusted, func(t string) bool { return strings.EqualFold(t, login) })
}

// records lists the environment's trusted records, newest first, statuses
// not read yet. GitHub's own deployments (a job with `environment:`) carry
// no versions and are left out, as are other tools' records.
func (h *history) records(ctx context.Context, env string) ([]*Record, error) {
	list, _, err := h.gh.Repositories.ListDeployments(ctx, h.owner, h.repo, &gh.DeploymentsListOptions{
		Environment: env, Task: "deploy", ListOptions: gh.ListOptions{PerPage: recordsPerEnvironment},
	})
	if err != nil {
		return nil, ghclient.Wrap("list the deployments of "+env, h.owner+"/"+h.repo, err)
	}
	var out []*Record
	for _, d := range list {
		var p payload
		if json.Unmarshal(d.Payload, &p) != nil || p.RequestID == "" || len(p.Versions) == 0 {
			continue
		}
		login := d.GetCreator().GetLogin()
		if !h.trusts(login) {
			h.warn("ignored deployment %d of %s: created by %s, not by a deployer (%s)", d.GetID(), env, login, strings.Join(h.trusted, ", "))
			continue
		}
		out = append(out, &Record{ID: d.GetID(), SHA: d.GetSHA(), Environment: env, Versions: p.Versions, Creator: login, CreatedAt: d.GetCreatedAt().Time})
	}
	// Newest first by id: GitHub lists newest first, but ids are what
	// orders two records created in the same second.
	slices.SortFunc(out, func(a, b *Record) int { return cmp.Compare(b.ID, a.ID) })
	return out, nil
}

// statuses fills State and Succeeded from the trusted statuses.
func (h *history) statuses(ctx context.Context, rec *Record) error {
	list, _, err := h.gh.Repositories.ListDeploymentStatuses(ctx, h.owner, h.repo, rec.ID, &gh.ListOptions{PerPage: 100})
	if err != nil {
		return ghclient.Wrap(fmt.Sprintf("list the statuses of deployment %d", rec.ID), h.owner+"/"+h.repo, err)
	}
	rec.State, rec.Succeeded = "", false
	for _, st := range list { // newest first
		login := st.GetCreator().GetLogin()
		if !h.trusts(login) {
			h.warn("ignored status %q of deployment %d of %s: set by %s, not by a deployer", st.GetState(), rec.ID, rec.Environment, login)
			continue
		}
		if rec.State == "" {
			rec.State = st.GetState()
		}
		rec.Succeeded = rec.Succeeded || st.GetState() == "success"
	}
	return nil
}

// successes returns up to n of the environment's successful records,
// newest first, reading statuses only as far as needed.
func (h *history) successes(ctx context.Context, env string, n int) ([]*Record, error) {
	recs, err := h.records(ctx, env)
	if err != nil {
		return nil, err
	}
	var out []*Record
	for _, rec := range recs {
		if len(out) == n {
			break
		}
		if err := h.statuses(ctx, rec); err != nil {
			return nil, err
		}
		if rec.Succeeded {
			out = append(out, rec)
		}
	}
	return out, nil
}

// lastSuccess is the environment's newest successful record, nil if none.
func (h *history) lastSuccess(ctx context.Context, env string) (*Record, error) {
	s, err := h.successes(ctx, env, 1)
	if err != nil || len(s) == 0 {
		return nil, err
	}
	return s[0], nil
}

// previous returns the current (newest successful) record and the newest
// successful one before it with other versions: a redeploy of the same
// versions is not something to roll back to.
func (h *history) previous(ctx context.Context, env string) (current, prev *Record, err error) {
	recs, err := h.records(ctx, env)
	if err != nil {
		return nil, nil, err
	}
	for _, rec := range recs {
		if err := h.statuses(ctx, rec); err != nil {
			return nil, nil, err
		}
		switch {
		case !rec.Succeeded:
		case current == nil:
			current = rec
		case !maps.Equal(rec.Versions, current.Versions):
			return current, rec, nil
		}
	}
	return current, nil, nil
}
