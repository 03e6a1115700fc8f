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

	"github.com/cicd-excellence/actions/internal/envdiff"
	"github.com/cicd-excellence/actions/internal/envfile"
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
	// Service is the service a per-service record deployed; "" for a
	// record of the whole environment.
	Service   string
	Versions  map[string]string
	Creator   string
	CreatedAt time.Time
	// State is the newest status a trusted identity set ("" for none).
	State string
	// Succeeded: a trusted identity set success at some point (a later
	// deployment's auto_inactive turns it inactive, but it was deployed).
	Succeeded bool
}

// payload is what startDeployment writes into a deployment's payload.
type payload struct {
	Versions  map[string]string `json:"versions"`
	Service   string            `json:"service,omitempty"`
	RunURL    string            `json:"run_url,omitempty"`
	RequestID string            `json:"request_id"`
}

// taskFor is the deployment task of a record: "deploy" for a whole
// environment, "deploy:<service>" for one service (GitHub's own example of
// a task is deploy:migrations). GitHub filters deployments by environment
// and task, so each service's records are listed apart and never crowd
// out another's.
func taskFor(service string) string {
	if service == "" {
		return "deploy"
	}
	return "deploy:" + service
}

// label names what a record deployed, for messages.
func label(env, service string) string {
	if service == "" {
		return env
	}
	return service + " in " + env
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
	// whole caches the environments' whole-environment records, which
	// every service of the environment reads (per-service converge).
	whole map[string][]*Record
	// read caches statuses by deployment id: one history is one run's view.
	read map[int64]*Record
}

func (h *history) trusts(login string) bool {
	return slices.ContainsFunc(h.trusted, func(t string) bool { return strings.EqualFold(t, login) })
}

// records lists the environment's trusted whole-environment records,
// newest first, statuses not read yet.
func (h *history) records(ctx context.Context, env string) ([]*Record, error) {
	return h.list(ctx, env, "")
}

// list lists the trusted records of env with service's task, newest first,
// statuses not read yet. GitHub's own deployments (a job with
// `environment:`) carry no versions and are left out, as are other tools'
// records and records whose payload names another service.
func (h *history) list(ctx context.Context, env, service string) ([]*Record, error) {
	list, _, err := h.gh.Repositories.ListDeployments(ctx, h.owner, h.repo, &gh.DeploymentsListOptions{
		Environment: env, Task: taskFor(service), ListOptions: gh.ListOptions{PerPage: recordsPerEnvironment},
	})
	if err != nil {
		return nil, ghclient.Wrap("list the deployments of "+label(env, service), h.owner+"/"+h.repo, err)
	}
	var out []*Record
	for _, d := range list {
		var p payload
		if json.Unmarshal(d.Payload, &p) != nil || p.RequestID == "" || len(p.Versions) == 0 || p.Service != service {
			continue
		}
		login := d.GetCreator().GetLogin()
		if !h.trusts(login) {
			h.warn("ignored deployment %d of %s: created by %s, not by a deployer (%s)", d.GetID(), label(env, service), login, strings.Join(h.trusted, ", "))
			continue
		}
		out = append(out, &Record{ID: d.GetID(), SHA: d.GetSHA(), Environment: env, Service: service, Versions: p.Versions, Creator: login, CreatedAt: d.GetCreatedAt().Time})
	}
	// Newest first by id: GitHub lists newest first, but ids are what
	// orders two records created in the same second.
	slices.SortFunc(out, func(a, b *Record) int { return cmp.Compare(b.ID, a.ID) })
	return out, nil
}

// serviceRecords lists what says which versions of service run in env,
// newest first: the service's own records and, so that switching to
// per-service deploys redeploys nothing, the environment's whole records
// (made before the switch, or by a per-environment deploy since) cut down
// to the service's keys. The newest successful one of either kind is what
// runs: a whole-environment deploy deployed every service in its file.
func (h *history) serviceRecords(ctx context.Context, env, service string) ([]*Record, error) {
	own, err := h.list(ctx, env, service)
	if err != nil {
		return nil, err
	}
	whole, ok := h.whole[env]
	if !ok {
		if whole, err = h.records(ctx, env); err != nil {
			return nil, err
		}
		if h.whole == nil {
			h.whole = map[string][]*Record{}
		}
		h.whole[env] = whole
	}
	out := own
	for _, rec := range whole {
		cut := *rec
		cut.Versions = envdiff.ServiceValues(rec.Versions, service)
		out = append(out, &cut)
	}
	slices.SortFunc(out, func(a, b *Record) int { return cmp.Compare(b.ID, a.ID) })
	return out, nil
}

// lastServiceSuccess is the newest successful record of service in env
// (serviceRecords), nil if none: never deployed, or the newest is a
// whole-environment deploy from before the service was in the file.
func (h *history) lastServiceSuccess(ctx context.Context, env, service string) (*Record, error) {
	recs, err := h.serviceRecords(ctx, env, service)
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		if err := h.cachedStatuses(ctx, rec); err != nil {
			return nil, err
		}
		if rec.Succeeded {
			if len(rec.Versions) == 0 {
				return nil, nil
			}
			return rec, nil
		}
	}
	return nil, nil
}

// cachedStatuses is statuses, reading each deployment's once per history:
// the whole-environment records are shared by every service.
func (h *history) cachedStatuses(ctx context.Context, rec *Record) error {
	if seen, ok := h.read[rec.ID]; ok {
		rec.State, rec.Succeeded = seen.State, seen.Succeeded
		return nil
	}
	if err := h.statuses(ctx, rec); err != nil {
		return err
	}
	if h.read == nil {
		h.read = map[int64]*Record{}
	}
	h.read[rec.ID] = rec
	return nil
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
			h.warn("ignored status %q of deployment %d of %s: set by %s, not by a deployer", st.GetState(), rec.ID, label(rec.Environment, rec.Service), login)
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
//
// An environment deployed per service since (matrix: service) has no
// whole-environment record of what runs: previous refuses rather than
// return a stale pair (perServiceSince).
func (h *history) previous(ctx context.Context, env string) (current, prev *Record, err error) {
	current, prev, err = h.previousWhole(ctx, env)
	if err != nil {
		return nil, nil, err
	}
	var since int64
	if current != nil {
		since = current.ID
	}
	if err := h.perServiceSince(ctx, env, since); err != nil {
		return nil, nil, err
	}
	return current, prev, nil
}

// perServiceSince fails when a trusted per-service record of env is newer
// than deployment since: the environment's whole records no longer say
// what runs there.
func (h *history) perServiceSince(ctx context.Context, env string, since int64) error {
	list, _, err := h.gh.Repositories.ListDeployments(ctx, h.owner, h.repo, &gh.DeploymentsListOptions{
		Environment: env, ListOptions: gh.ListOptions{PerPage: recordsPerEnvironment},
	})
	if err != nil {
		return ghclient.Wrap("list the deployments of "+env, h.owner+"/"+h.repo, err)
	}
	for _, d := range list {
		service, ok := strings.CutPrefix(d.GetTask(), "deploy:")
		if !ok || d.GetID() <= since || !h.trusts(d.GetCreator().GetLogin()) {
			continue
		}
		return fmt.Errorf("previous: %s is deployed per service since (deployment %d of %s), and previous reads whole-environment records only; name the versions in to (key=sha lines)", env, d.GetID(), service)
	}
	return nil
}

func (h *history) previousWhole(ctx context.Context, env string) (current, prev *Record, err error) {
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

// digestOf is the digest recorded beside tag=sha in env: from the newest
// trusted record, whole or of the tag's service, that deployed that
// version ("" when none did). A record is written from the file as it was,
// so its digest is the one the tag was published as.
func (h *history) digestOf(ctx context.Context, env, tag, sha string) (string, error) {
	dk := tag
	if p, err := envfile.ParsePath(tag); err == nil {
		dk = p.Sibling(envfile.DigestKey).String()
	}
	lists := [][]*Record{}
	whole, err := h.records(ctx, env)
	if err != nil {
		return "", err
	}
	lists = append(lists, whole)
	if svc, ok := envdiff.ServiceOf(tag); ok {
		recs, err := h.list(ctx, env, svc)
		if err != nil {
			return "", err
		}
		lists = append(lists, recs)
	}
	var best *Record
	for _, recs := range lists {
		for _, rec := range recs {
			if rec.Versions[tag] == sha && rec.Versions[dk] != "" && (best == nil || rec.ID > best.ID) {
				best = rec
			}
		}
	}
	if best == nil {
		return "", nil
	}
	return best.Versions[dk], nil
}
