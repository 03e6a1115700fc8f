package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/envfile"
	"github.com/cicd-excellence/actions/internal/event"
	"github.com/cicd-excellence/actions/internal/ghclient"
	"github.com/cicd-excellence/actions/internal/refname"
)

// ExitError carries the deploy command's exit status out of the step, so the
// step exits with it.
type ExitError struct {
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
	default:
		version = values["api.tag"]
	}
	all, _ := json.Marshal(values)
	env = append(env, "VERSION="+version, "VERSIONS_JSON="+string(all))
	for _, k := range keys {
		env = append(env, "VERSION_"+varName(k)+"="+values[k])
	}
	return env, version, values, nil
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
	envName, err := r.RequiredInput("environment")
	if err != nil {
		return err
	}
	if err := validEnvironment(envName); err != nil {
		return action.Inputf("environment", "%v", err)
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
	vars, version, values, err := Versions(data, c.patterns, r.Input("version-key"))
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
	for _, k := range sortedKeys(values) {
		if strings.ContainsFunc(values[k], func(c rune) bool { return c < 0x20 || c == 0x7f }) {
			// No version has a line break: it would reach the version output
			// and the command's environment as lines of their own.
			return action.Inputf("environment", "%s: %s: %s = %s has a control character", envName, file, k, strconv.Quote(values[k]))
		}
	}
	vars = append(vars, "ENVIRONMENT="+envName)
	if dryRun {
		if err := r.SetOutput("version", version); err != nil {
			return fmt.Errorf("deploy %s: %w", envName, err)
		}
		r.Infof("dry run: would deploy %s (VERSION=%s) with: %s", envName, version, command)
		for _, v := range vars {
			r.Infof("  %s", v)
		}
		return r.Summary(fmt.Sprintf("### Deploy %s (dry run)\n\nVERSION %s\n", action.MDEscape(envName), action.MDCode(version)))
	}

	var dep *deployment
	if record {
		if dep, err = startDeployment(ctx, r, ev, envName, values, c.order); err != nil {
			return err
		}
		if err := r.SetOutput("deployment-id", strconv.FormatInt(dep.id, 10)); err != nil {
			return fmt.Errorf("deploy %s: %w", envName, err)
		}
	}
	// Only now: a run refused before it deploys writes no output.
	if err := r.SetOutput("version", version); err != nil {
		return fmt.Errorf("deploy %s: %w", envName, err)
	}
	r.Infof("deploying %s: VERSION=%s", envName, version)
	code, runErr := runCommand(ctx, r, command, vars)
	state := "success"
	if runErr != nil || code != 0 {
		state = "failure"
	}
	var recordErr error
	if dep != nil {
		recordErr = dep.finish(ctx, state)
	}
	if runErr != nil {
		return fmt.Errorf("deploy %s: %w", envName, runErr)
	}
	if code != 0 {
		if recordErr != nil {
			r.Warningf("%v", recordErr)
		}
		return &ExitError{Environment: envName, Code: code}
	}
	if recordErr != nil {
		return recordErr
	}
	return r.Summary(fmt.Sprintf("### Deployed %s\n\n| Key | Version |\n|---|---|\n%s", action.MDEscape(envName), versionRows(values)))
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
	cmd.Env = append(r.Environ(), vars...)
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

type deployment struct {
	gh          *gh.Client
	owner, repo string
	id          int64
	env         string
	logURL      string
	envURL      string
}

func startDeployment(ctx context.Context, r *action.Runtime, ev *event.Context, env string, values map[string]string, order []string) (*deployment, error) {
	client, err := ghclient.FromRuntime(r)
	if err != nil {
		return nil, err
	}
	owner, repo, err := refname.Repo(ev.Repository)
	if err != nil {
		return nil, fmt.Errorf("deploy %s: GITHUB_REPOSITORY: %w", env, err)
	}
	ref := ev.SHA
	if !refname.IsFullSHA(ref) {
		return nil, fmt.Errorf("deploy %s: the run's commit %q is not a full SHA (GITHUB_SHA)", env, ref)
	}
	prod := len(order) > 0 && order[len(order)-1] == env
	// The request id lets a create whose answer was lost be found again
	// instead of repeated (two records of one deploy).
	requestID := fmt.Sprintf("%016x", rand.Uint64())
	payload := map[string]any{"versions": values, "run_url": ev.RunURL, "request_id": requestID}
	req := &gh.DeploymentRequest{
		Ref:                   gh.String(ref),
		Task:                  gh.String("deploy"),
		Environment:           gh.String(env),
		Payload:               payload,
		Description:           gh.String("cicd-excellence deploy of " + env),
		AutoMerge:             gh.Bool(false),
		RequiredContexts:      &[]string{},
		ProductionEnvironment: gh.Bool(prod),
		TransientEnvironment:  gh.Bool(false),
	}
	var id int64
	for attempt := 1; ; attempt++ {
		d, _, err := client.Repositories.CreateDeployment(ctx, owner, repo, req)
		if err == nil {
			id = d.GetID()
			break
		}
		if ghclient.Status(err) < 500 && !ghclient.Unanswered(err) {
			// Refused (4xx, a rate limit): nothing was created.
			return nil, ghclient.Wrap("record the deployment of "+env, owner+"/"+repo, err)
		}
		// No answer, or a server error: the record may exist all the same.
		ghclient.AwaitInFlight(ctx, err)
		found, ferr := findDeployment(ctx, client, owner, repo, ref, env, requestID)
		if ferr == nil && found != 0 {
			r.Infof("the deployment of %s was recorded although GitHub's answer was lost: using %d", env, found)
			id = found
			break
		}
		if ferr != nil || attempt == 2 {
			return nil, ghclient.Wrap("record the deployment of "+env, owner+"/"+repo, err)
		}
		r.Infof("recording the deployment of %s failed (%v); it was not created, trying once more", env, err)
	}
	dep := &deployment{gh: client, owner: owner, repo: repo, id: id, env: env, logURL: ev.RunURL, envURL: r.Input("environment-url")}
	if err := dep.status(ctx, "in_progress"); err != nil {
		// Nothing ran: say so in the record if GitHub lets us, so the
		// deployment does not look pending forever.
		if serr := dep.status(ctx, "error"); serr != nil {
			r.Warningf("deployment %d of %s stays without a status: %v", id, env, serr)
		}
		return nil, fmt.Errorf("deploy %s: nothing was run: %w", env, err)
	}
	r.Infof("recorded deployment %d of %s at %s", dep.id, env, ref)
	return dep, nil
}

// findDeployment looks for this run's deployment by its request id.
func findDeployment(ctx context.Context, client *gh.Client, owner, repo, sha, env, requestID string) (int64, error) {
	list, _, err := client.Repositories.ListDeployments(ctx, owner, repo, &gh.DeploymentsListOptions{
		SHA: sha, Environment: env, Task: "deploy", ListOptions: gh.ListOptions{PerPage: 30},
	})
	if err != nil {
		return 0, err
	}
	for _, d := range list {
		var p struct {
			RequestID string `json:"request_id"`
		}
		if json.Unmarshal(d.Payload, &p) == nil && p.RequestID == requestID {
			return d.GetID(), nil
		}
	}
	return 0, nil
}

func (d *deployment) status(ctx context.Context, state string) error {
	req := &gh.DeploymentStatusRequest{
		State:        gh.String(state),
		Description:  gh.String(d.env + ": " + state),
		AutoInactive: gh.Bool(state == "success"),
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
		return fmt.Errorf("deploy %s: the command ended (%s) but its record could not be completed: %w", d.env, state, err)
	}
	return nil
}
