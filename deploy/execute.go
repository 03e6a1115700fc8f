package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/envdiff"
	"github.com/cicd-excellence/actions/internal/envfile"
	"github.com/cicd-excellence/actions/internal/event"
	"github.com/cicd-excellence/actions/internal/ghclient"
	"github.com/cicd-excellence/actions/internal/refname"
)

// ExitError carries the deploy command's exit status out of the step, so the
// step exits with it.
type ExitError struct {
	// Environment names what was deployed: the environment, or "<service>
	// in <environment>".
	Environment string
	Code        int
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("deploy %s: the command exited with status %d", e.Environment, e.Code)
}

// ExitCode is what the process should exit with.
func (e *ExitError) ExitCode() int { return e.Code }

// Versions reads the tracked values of an environment file and names the
// variables the command gets.
func Versions(data []byte, patterns []envfile.Pattern, versionKey string) (env []string, version string, values map[string]string, err error) {
	if values, err = envfile.Values(data, patterns); err != nil {
		return nil, "", nil, err
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	switch {
	case versionKey != "":
		v, ok := values[versionKey]
		if !ok {
			return nil, "", nil, action.Inputf("version-key", "%s is not a tracked key (tracked: %s)", strconv.Quote(versionKey), strings.Join(keys, ", "))
		}
		version = v
	case len(keys) == 1:
		version = values[keys[0]]
	case oneService(keys) != "":
		// One service with several keys (its tag and its digest): its tag.
		version = envdiff.ServiceVersion(oneService(keys), values)
	default:
		version = values["api.tag"]
	}
	return versionVars(version, values), version, values, nil
}

// oneService is the service every key belongs to, or "" when they belong
// to several (or to none).
func oneService(keys []string) string {
	var one string
	for i, k := range keys {
		s, ok := envdiff.ServiceOf(k)
		if !ok || (i > 0 && s != one) {
			return ""
		}
		one = s
	}
	return one
}

// versionVars are VERSION, VERSIONS_JSON and one VERSION_<KEY> per key.
func versionVars(version string, values map[string]string) []string {
	all, _ := json.Marshal(values)
	env := []string{"VERSION=" + version, "VERSIONS_JSON=" + string(all)}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		env = append(env, "VERSION_"+varName(k)+"="+values[k])
	}
	return env
}

// ServiceVersions reads one service's tracked values (its keys: api.tag,
// api.digest) and names the variables the command gets: SERVICE, VERSION
// (the service's tag, or version-key, which must be one of its keys),
// VERSIONS_JSON and VERSION_<KEY> of its keys only.
func ServiceVersions(data []byte, patterns []envfile.Pattern, service, versionKey string) (env []string, version string, values map[string]string, err error) {
	all, err := envfile.Values(data, patterns)
	if err != nil {
		return nil, "", nil, err
	}
	values = envdiff.ServiceValues(all, service)
	if len(values) == 0 {
		var names []string
		for k := range all {
			if s, ok := envdiff.ServiceOf(k); ok && !slices.Contains(names, s) {
				names = append(names, s)
			}
		}
		slices.Sort(names)
		return nil, "", nil, action.Inputf("service", "%s has no tracked key in this environment's file (its services: %s)", strconv.Quote(service), orNoneList(names))
	}
	switch {
	case versionKey != "":
		v, ok := values[versionKey]
		if !ok {
			return nil, "", nil, action.Inputf("version-key", "%s is not a tracked key of service %s (its keys: %s)", strconv.Quote(versionKey), service, strings.Join(slices.Sorted(maps.Keys(values)), ", "))
		}
		version = v
	default:
		if version = envdiff.ServiceVersion(service, values); version == "" {
			return nil, "", nil, action.Inputf("version-key", "is needed: service %s has no %s.tag and several keys (%s); name the one that is VERSION", service, service, strings.Join(slices.Sorted(maps.Keys(values)), ", "))
		}
	}
	return append([]string{"SERVICE=" + service}, versionVars(version, values)...), version, values, nil
}

func orNoneList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// varName turns a key path into an environment variable suffix: api.tag →
// API_TAG.
func varName(key string) string {
	var b strings.Builder
	for _, c := range strings.ToUpper(key) {
		if 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// runDeploy deploys one environment: the Deployment record first (nothing
// runs unrecorded), then the command with the versions in its environment,
// its output streamed, then the final status.
func runDeploy(ctx context.Context, r *action.Runtime, ev *event.Context, c common) error {
	// Masked whatever else happens: the command's output is the user's, and
	// a token must not appear in it even when no record is written.
	r.Mask(r.Input("github-token"))
	r.Mask(r.Getenv("GITHUB_TOKEN"))
	envName, err := r.RequiredInput("environment")
	if err != nil {
		return err
	}
	if err := validEnvironment(envName); err != nil {
		return action.Inputf("environment", "%v", err)
	}
	service := r.Input("service")
	if service != "" {
		if err := envdiff.ValidService(service); err != nil {
			return action.Inputf("service", "%v", err)
		}
	}
	// what names this deploy in messages: "dev", or "api in dev".
	what := label(envName, service)
	redeploy, err := r.BoolInput("redeploy", false)
	if err != nil {
		return err
	}
	trusted, err := deployers(r)
	if err != nil {
		return err
	}
	dryRun, err := r.BoolInput("dry-run", false)
	if err != nil {
		return err
	}
	record, err := r.BoolInput("record-deployment", true)
	if err != nil {
		return err
	}
	command := r.Input("command")
	if command == "" && !dryRun {
		return action.Inputf("command", "is required to deploy (or set dry-run: true)")
	}
	file, _ := envFile(c.dir, envName)
	data, err := os.ReadFile(filepath.Join(r.WorkDir, file))
	if err != nil {
		if os.IsNotExist(err) {
			return action.Inputf("environment", "%s has no file %s in the checkout (did the job run actions/checkout?)", envName, file)
		}
		return fmt.Errorf("deploy %s: %w", envName, err)
	}
	var vars []string
	var version string
	var values map[string]string
	if service == "" {
		vars, version, values, err = Versions(data, c.patterns, r.Input("version-key"))
	} else {
		vars, version, values, err = ServiceVersions(data, c.patterns, service, r.Input("version-key"))
	}
	if err != nil {
		var se *envfile.SyntaxError
		if errors.As(err, &se) {
			r.ErrorAt(file, se.Line, "%v", err)
		}
		var ie *action.InputError
		if errors.As(err, &ie) {
			return err
		}
		// The environment's file is what this input points at.
		return action.Inputf("environment", "%s: %s: %v", envName, file, err)
	}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		if strings.ContainsFunc(values[k], func(c rune) bool { return c < 0x20 || c == 0x7f }) {
			// No version has a line break: it would reach the version output
			// and the command's environment as lines of their own.
			return action.Inputf("environment", "%s: %s: %s = %s has a control character", envName, file, k, strconv.Quote(values[k]))
		}
	}
	vars = append(vars, "ENVIRONMENT="+envName)
	if dryRun {
		if err := r.SetOutput("version", version); err != nil {
			return fmt.Errorf("deploy %s: %w", what, err)
		}
		r.Infof("dry run: would deploy %s (VERSION=%s) with: %s", what, version, command)
		for _, v := range vars {
			r.Infof("  %s", v)
		}
		return r.Summary(fmt.Sprintf("### Deploy %s (dry run)\n\nVERSION %s\n", action.MDEscape(what), action.MDCode(version)))
	}

	var dep *deployment
	if record {
		if dep, err = startDeployment(ctx, r, ev, envName, service, values, c.order); err != nil {
			return err
		}
		if err := r.SetOutput("deployment-id", strconv.FormatInt(dep.id, 10)); err != nil {
			return fmt.Errorf("deploy %s: %w", what, err)
		}
		if !slices.ContainsFunc(trusted, func(t string) bool { return strings.EqualFold(t, dep.creator) }) {
			r.Warningf("deployment %d is recorded as %s, which deployers (%s) does not list: converge and rollback will not count it", dep.id, dep.creator, strings.Join(trusted, ", "))
			trusted = append(trusted, dep.creator)
		}
		h := &history{gh: dep.gh, owner: dep.owner, repo: dep.repo, trusted: trusted, warn: r.Warningf}
		why, err := dep.superseded(ctx, h, values, redeploy)
		if err != nil {
			err = fmt.Errorf("deploy %s: nothing was run: %w", what, err)
			if serr := dep.status(context.WithoutCancel(ctx), "error"); serr != nil {
				r.Warningf("deployment %d of %s stays in progress: %v", dep.id, what, serr)
			}
			return err
		}
		if why != "" {
			// Not a deploy: this record says so and steps aside, so that it
			// is never mistaken for the one that ran.
			if err := dep.statusDesc(ctx, "inactive", why); err != nil {
				return fmt.Errorf("deploy %s: %s, but marking deployment %d inactive failed: %w", what, why, dep.id, err)
			}
			r.Noticef("%s: not deployed again (%s)", what, why)
			if err := r.SetOutput("version", version); err != nil {
				return fmt.Errorf("deploy %s: %w", what, err)
			}
			return r.Summary(fmt.Sprintf("### %s not deployed again\n\n%s\n", action.MDEscape(what), action.MDEscape(why)))
		}
		vars = append(vars, "DEPLOYMENT_ID="+strconv.FormatInt(dep.id, 10))
	}
	// Only now: a run refused before it deploys writes no output.
	if err := r.SetOutput("version", version); err != nil {
		return fmt.Errorf("deploy %s: %w", what, err)
	}
	r.Infof("deploying %s: VERSION=%s", what, version)
	code, runErr := runCommand(ctx, r, command, vars)
	state := "success"
	if runErr != nil || code != 0 {
		state = "failure"
	}
	var recordErr error
	if dep != nil {
		// A cancelled run still gets its outcome recorded: the record is
		// what the next converge run reads.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		recordErr = dep.finish(fctx, state)
		cancel()
	}
	if runErr != nil {
		return fmt.Errorf("deploy %s: %w", what, runErr)
	}
	if code != 0 {
		if recordErr != nil {
			r.Warningf("%v", recordErr)
		}
		return &ExitError{Environment: what, Code: code}
	}
	if recordErr != nil {
		return recordErr
	}
	return r.Summary(fmt.Sprintf("### Deployed %s\n\n| Key | Version |\n|---|---|\n%s", action.MDEscape(what), versionRows(values)))
}

func versionRows(values map[string]string) string {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "| %s | %s |\n", action.MDCode(k), action.MDCode(values[k]))
	}
	return b.String()
}

// runCommand runs the user's command with bash, the values only in its
// environment: the script text is the user's own, never built from data.
func runCommand(ctx context.Context, r *action.Runtime, command string, vars []string) (int, error) {
	cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command)
	cmd.Dir = r.WorkDir
	cmd.Env = append(commandEnv(r.Environ()), vars...)
	cmd.Stdout, cmd.Stderr = r.Stdout, r.Stdout
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 0, fmt.Errorf("run the command: %w", err)
	}
	return 0, nil
}

// commandEnv is the runner's environment without what the action was given
// or could act with: the command gets its values (ENVIRONMENT, SERVICE, VERSION,
// VERSIONS_JSON, VERSION_<KEY>, DEPLOYMENT_ID) and the runner's own
// variables, never the token (INPUT_GITHUB_TOKEN) or another input, nor the
// runner's credentials for the Actions service and OIDC.
func commandEnv(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		switch up := strings.ToUpper(k); {
		case strings.HasPrefix(up, "INPUT_"), up == "ACTIONS_RUNTIME_TOKEN", strings.HasPrefix(up, "ACTIONS_ID_TOKEN_REQUEST_"):
			continue
		// The values the command gets come from this run only.
		case up == "ENVIRONMENT", up == "SERVICE", up == "VERSION", up == "VERSIONS_JSON", up == "DEPLOYMENT_ID", strings.HasPrefix(up, "VERSION_"):
			continue
		}
		out = append(out, kv)
	}
	return out
}

type deployment struct {
	gh          *gh.Client
	owner, repo string
	id          int64
	sha         string // the infra commit deployed
	creator     string
	env         string
	service     string // "" for a whole-environment record
	logURL      string
	envURL      string
}

func startDeployment(ctx context.Context, r *action.Runtime, ev *event.Context, env, service string, values map[string]string, order []string) (*deployment, error) {
	what := label(env, service)
	client, err := ghclient.FromRuntime(r)
	if err != nil {
		return nil, err
	}
	owner, repo, err := refname.Repo(ev.Repository)
	if err != nil {
		return nil, fmt.Errorf("deploy %s: GITHUB_REPOSITORY: %w", what, err)
	}
	ref := ev.SHA
	if !refname.IsFullSHA(ref) {
		return nil, fmt.Errorf("deploy %s: the run's commit %q is not a full SHA (GITHUB_SHA)", what, ref)
	}
	prod := len(order) > 0 && order[len(order)-1] == env
	// The request id lets a create whose answer was lost be found again
	// instead of repeated (two records of one deploy).
	requestID := fmt.Sprintf("%016x", rand.Uint64())
	// The versions in the payload are what converge and rollback read back.
	// A service's record is of the environment (GitHub's environment page
	// lists it there) and says its service in the task and the payload.
	req := &gh.DeploymentRequest{
		Ref:                   gh.String(ref),
		Task:                  gh.String(taskFor(service)),
		Environment:           gh.String(env),
		Payload:               payload{Versions: values, Service: service, RunURL: ev.RunURL, RequestID: requestID},
		Description:           gh.String("cicd-excellence deploy of " + what),
		AutoMerge:             gh.Bool(false),
		RequiredContexts:      &[]string{},
		ProductionEnvironment: gh.Bool(prod),
		TransientEnvironment:  gh.Bool(false),
	}
	var id int64
	var creator string
	for attempt := 1; ; attempt++ {
		d, _, err := client.Repositories.CreateDeployment(ctx, owner, repo, req)
		if err == nil {
			id, creator = d.GetID(), d.GetCreator().GetLogin()
			break
		}
		if ghclient.Status(err) < 500 && !ghclient.Unanswered(err) {
			// Refused (4xx, a rate limit): nothing was created.
			return nil, ghclient.Wrap("record the deployment of "+what, owner+"/"+repo, err)
		}
		// No answer, or a server error: the record may exist all the same.
		ghclient.AwaitInFlight(ctx, err)
		found, ferr := findDeployment(ctx, client, owner, repo, ref, env, taskFor(service), requestID)
		if ferr == nil && found != nil {
			r.Infof("the deployment of %s was recorded although GitHub's answer was lost: using %d", what, found.GetID())
			id, creator = found.GetID(), found.GetCreator().GetLogin()
			break
		}
		if ferr != nil || attempt == 2 {
			return nil, ghclient.Wrap("record the deployment of "+what, owner+"/"+repo, err)
		}
		r.Infof("recording the deployment of %s failed (%v); it was not created, trying once more", what, err)
	}
	dep := &deployment{gh: client, owner: owner, repo: repo, id: id, sha: ref, creator: creator, env: env, service: service, logURL: ev.RunURL, envURL: r.Input("environment-url")}
	if err := dep.status(ctx, "in_progress"); err != nil {
		// Nothing ran: say so in the record if GitHub lets us, so the
		// deployment does not look pending forever.
		if serr := dep.status(ctx, "error"); serr != nil {
			r.Warningf("deployment %d of %s stays without a status: %v", id, what, serr)
		}
		return nil, fmt.Errorf("deploy %s: nothing was run: %w", what, err)
	}
	r.Infof("recorded deployment %d of %s at %s", dep.id, what, ref)
	return dep, nil
}

// findDeployment looks for this run's deployment by its request id.
func findDeployment(ctx context.Context, client *gh.Client, owner, repo, sha, env, task, requestID string) (*gh.Deployment, error) {
	list, _, err := client.Repositories.ListDeployments(ctx, owner, repo, &gh.DeploymentsListOptions{
		SHA: sha, Environment: env, Task: task, ListOptions: gh.ListOptions{PerPage: 30},
	})
	if err != nil {
		return nil, err
	}
	for _, d := range list {
		var p payload
		if json.Unmarshal(d.Payload, &p) == nil && p.RequestID == requestID {
			return d, nil
		}
	}
	return nil, nil
}

func (d *deployment) status(ctx context.Context, state string) error {
	return d.statusDesc(ctx, state, label(d.env, d.service)+": "+state)
}

func (d *deployment) statusDesc(ctx context.Context, state, desc string) error {
	if len(desc) > 140 { // GitHub's limit for a status description
		desc = desc[:137] + "..."
	}
	// auto_inactive marks every earlier successful deployment of the
	// environment inactive, whatever its task: a service's success must not
	// make the other services' records of the environment look gone.
	req := &gh.DeploymentStatusRequest{
		State:        gh.String(state),
		Description:  gh.String(desc),
		AutoInactive: gh.Bool(state == "success" && d.service == ""),
	}
	if d.logURL != "" {
		req.LogURL = gh.String(d.logURL)
	}
	if d.envURL != "" {
		req.EnvironmentURL = gh.String(d.envURL)
	}
	// A status repeated is harmless (the same state twice), so the POST may
	// be retried.
	if _, _, err := d.gh.Repositories.CreateDeploymentStatus(ghclient.WithRetryPOST(ctx), d.owner, d.repo, d.id, req); err != nil {
		return ghclient.Wrap(fmt.Sprintf("set deployment %d to %s", d.id, state), d.owner+"/"+d.repo, err)
	}
	return nil
}

// finish records the outcome. The deploy itself has happened (or failed)
// by then and cannot be undone; a record that cannot be completed fails the
// step all the same, since the record is the audit trail.
func (d *deployment) finish(ctx context.Context, state string) error {
	if err := d.status(ctx, state); err != nil {
		return fmt.Errorf("deploy %s: the command ended (%s) but its record could not be completed: %w", label(d.env, d.service), state, err)
	}
	return nil
}

// older refuses to put an older infra commit over a newer one: a re-run of
// an old run's deploy job (or a run that waited long) would otherwise move
// the environment back without a PR. Going back is what rollback is for.
func (d *deployment) older(ctx context.Context, rec *Record) (string, error) {
	if rec.SHA == "" || strings.EqualFold(rec.SHA, d.sha) {
		return "", nil
	}
	// base...head = ours...theirs: "ahead" means their commit descends
	// from ours, so ours is the older one.
	cmp, _, err := d.gh.Repositories.CompareCommits(ctx, d.owner, d.repo, d.sha, rec.SHA, &gh.ListOptions{PerPage: 1})
	if err != nil {
		return "", ghclient.Wrap(fmt.Sprintf("compare %s with deployment %d's %s", abbrev(d.sha), rec.ID, abbrev(rec.SHA)), d.owner+"/"+d.repo, err)
	}
	if cmp.GetStatus() == "ahead" {
		return fmt.Sprintf("deployment %d runs infra commit %s, newer than this run's %s; roll back through a PR (mode: rollback) instead", rec.ID, abbrev(rec.SHA), abbrev(d.sha)), nil
	}
	return "", nil
}

// staleAfter is how long an in-progress record can belong to a live run: a
// GitHub-hosted job is stopped after 6 hours, so an older one was left by a
// run that died without recording its end.
const staleAfter = 6 * time.Hour

// superseded says why this run must not run the command, or "" when it
// should. Without a concurrency group two runs may plan the same deploy;
// the records decide which one runs it: the environment's newest
// successful record already has these versions (unless redeploy), or an
// older record of the same versions is still in progress (the run that
// created it first runs; ids are GitHub's creation order). redeploy skips
// both checks.
//
// A service's deploy reads the service's records (history.serviceRecords),
// so the deploys of other services of the environment never stop it.
func (d *deployment) superseded(ctx context.Context, h *history, values map[string]string, redeploy bool) (string, error) {
	var recs []*Record
	var err error
	if d.service == "" {
		recs, err = h.records(ctx, d.env)
	} else {
		recs, err = h.serviceRecords(ctx, d.env, d.service)
	}
	if err != nil {
		return "", err
	}
	for _, rec := range recs {
		if rec.ID >= d.id {
			continue // a newer run defers to this one
		}
		if err := h.statuses(ctx, rec); err != nil {
			return "", err
		}
		same := maps.Equal(rec.Versions, values)
		switch {
		case rec.Succeeded:
			if same && !redeploy {
				return fmt.Sprintf("deployment %d already deployed these versions", rec.ID), nil
			}
			return d.older(ctx, rec)
		// No status yet: created, its in_progress not written yet.
		case same && !redeploy && (rec.State == "" || rec.State == "in_progress" || rec.State == "queued" || rec.State == "pending") && time.Since(rec.CreatedAt) < staleAfter:
			return fmt.Sprintf("deployment %d of the same versions is in progress in another run", rec.ID), nil
		}
	}
	return "", nil
}
