package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/ghclient"
	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
	"github.com/cicd-excellence/actions/internal/testkit/steptest"
)

const a3 = "3333333333333333333333333333333333333333"

// infra is an infra repository with real history: a local clone whose
// commits are pushed to the local GitHub, where the deployments are
// recorded. Each "run" checks the clone out at a commit, as a job does.
type infra struct {
	*repo
	srv     *githubtest.Server
	markers string // the deploy command appends "<env> <version>" here
	mu      sync.Mutex
}

func newInfra(t *testing.T) *infra {
	t.Helper()
	srv := githubtest.New(t)
	if err := srv.CreateRepo(githubtest.RepoConfig{Owner: "acme", Name: "infra"}); err != nil {
		t.Fatal(err)
	}
	return &infra{repo: newRepo(t), srv: srv, markers: filepath.Join(t.TempDir(), "deployed")}
}

// push commits files and pushes main to the local GitHub.
func (f *infra) push(files map[string]*string) string {
	f.t.Helper()
	sha := f.commit(files)
	f.git("push", "-q", f.srv.CloneURL("acme", "infra", githubtest.DefaultToken), "main:refs/heads/main")
	return sha
}

// checkout makes a job's checkout of the commit (a copy, so parallel jobs
// do not share a work tree).
func (f *infra) checkout(t *testing.T, sha string) string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	dir := filepath.Join(t.TempDir(), "checkout")
	c := &repo{t: t, dir: filepath.Dir(dir)}
	c.git("clone", "-q", "--no-checkout", f.dir, dir)
	c.git("-C", dir, "checkout", "-q", sha)
	return dir
}

func (f *infra) env(sha string, more ...string) []string {
	return append([]string{
		"GITHUB_REPOSITORY=acme/infra", "GITHUB_API_URL=" + f.srv.APIURL(), "GITHUB_SERVER_URL=" + f.srv.ServerURL(),
		"INPUT_GITHUB_TOKEN=" + githubtest.DefaultToken, "GITHUB_SHA=" + sha, "GITHUB_EVENT_NAME=schedule",
		"GITHUB_RUN_ID=1", "MARKERS=" + f.markers,
	}, more...)
}

// plan runs a converge plan at sha and returns the environments to deploy.
func (f *infra) plan(t *testing.T, sha string, more ...string) ([]string, steptest.Result) {
	t.Helper()
	res := f.tryPlan(t, sha, more...)
	if res.Err != nil {
		t.Fatalf("plan at %s: %v\n%s", sha[:7], res.Err, res.Log)
	}
	var m struct {
		Include []struct {
			Environment string `json:"environment"`
		} `json:"include"`
	}
	if err := json.Unmarshal([]byte(res.Outputs["matrix"]), &m); err != nil {
		t.Fatalf("matrix %q: %v", res.Outputs["matrix"], err)
	}
	var envs []string
	for _, e := range m.Include {
		envs = append(envs, e.Environment)
	}
	if strings.Join(envs, ",") != res.Outputs["environments"] {
		t.Errorf("matrix %v, environments %q", envs, res.Outputs["environments"])
	}
	return envs, res
}

// tryPlan runs a converge plan at sha and returns what it left, failing or not.
func (f *infra) tryPlan(t *testing.T, sha string, more ...string) steptest.Result {
	t.Helper()
	return steptest.Run(t, Step, f.checkout(t, sha), f.env(sha, append([]string{"INPUT_MODE=plan", "INPUT_PLAN=converge"}, more...)...)...)
}

const markCommand = `echo "$ENVIRONMENT $VERSION" >> "$MARKERS"`

// deploy runs the deploy job of one environment at sha.
func (f *infra) deploy(t *testing.T, sha, env, command string, more ...string) steptest.Result {
	t.Helper()
	return steptest.Run(t, Step, f.checkout(t, sha), f.env(sha, append([]string{"INPUT_MODE=deploy", "INPUT_ENVIRONMENT=" + env, "INPUT_COMMAND=" + command}, more...)...)...)
}

// run is one workflow run: a converge plan, then the matrix in order.
func (f *infra) run(t *testing.T, sha string) []string {
	t.Helper()
	envs, _ := f.plan(t, sha)
	for _, e := range envs {
		if res := f.deploy(t, sha, e, markCommand); res.Err != nil {
			t.Fatalf("deploy %s at %s: %v\n%s", e, sha[:7], res.Err, res.Log)
		}
	}
	return envs
}

// deployed lists what the command deployed, in order.
func (f *infra) deployed(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(f.markers)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		env, v, _ := strings.Cut(l, " ")
		out = append(out, env+"@"+v[:1])
	}
	return out
}

func (f *infra) reset(t *testing.T) {
	t.Helper()
	if err := os.Remove(f.markers); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
}

func all(api string) map[string]*string {
	return map[string]*string{"envs/dev.json": env(api, w1), "envs/staging.json": env(api, w1), "envs/prod.json": env(api, w1)}
}

// TestConvergeCatchesUpACancelledRun is the case the diff plan loses: three
// pushes, and the middle run (the staging promotion) never ran, cancelled
// while pending by GitHub's one-pending-run-per-group rule. The next push
// only changes dev, yet staging is deployed.
func TestConvergeCatchesUpACancelledRun(t *testing.T) {
	f := newInfra(t)
	c1 := f.push(all(a1))
	if got := f.run(t, c1); strings.Join(got, ",") != "dev,staging,prod" {
		t.Fatalf("first run deployed %v, want every environment (never deployed)", got)
	}
	c2 := f.push(map[string]*string{"envs/dev.json": env(a2, w1)})
	if got := f.run(t, c2); strings.Join(got, ",") != "dev" {
		t.Fatalf("second run deployed %v, want dev", got)
	}
	c3 := f.push(map[string]*string{"envs/staging.json": env(a2, w1)}) // its run is cancelled
	c4 := f.push(map[string]*string{"envs/dev.json": env(a3, w1)})
	f.reset(t)

	// The diff plan of the third push sees only dev.
	res := steptest.Run(t, Step, f.checkout(t, c4), f.env(c4, "INPUT_MODE=plan", "INPUT_PLAN=diff", "INPUT_BEFORE="+c3, "INPUT_AFTER="+c4)...)
	if res.Err != nil || res.Outputs["environments"] != "dev" {
		t.Fatalf("diff plan: %v %v", res.Outputs, res.Err)
	}
	if got := f.run(t, c4); strings.Join(got, ",") != "dev,staging" {
		t.Fatalf("converge planned %v, want dev,staging", got)
	}
	if got := f.deployed(t); strings.Join(got, ",") != "dev@3,staging@2" {
		t.Errorf("deployed %v", got)
	}
	// A scheduled run afterwards has nothing to do, and says so.
	envs, res := f.plan(t, c4)
	if len(envs) != 0 || res.Outputs["changed"] != "false" || !strings.Contains(res.Log, "all environments at their desired versions") {
		t.Errorf("idle run planned %v: %s", envs, res.Log)
	}
}

// TestConvergeRetriesAFailedDeploy: a deploy whose command fails is planned
// again by the next run (a push or the schedule) until it succeeds.
func TestConvergeRetriesAFailedDeploy(t *testing.T) {
	f := newInfra(t)
	c1 := f.push(all(a1))
	f.run(t, c1)
	c2 := f.push(map[string]*string{"envs/dev.json": env(a2, w1)})
	if envs, _ := f.plan(t, c2); strings.Join(envs, ",") != "dev" {
		t.Fatalf("planned %v", envs)
	}
	if res := f.deploy(t, c2, "dev", "exit 3"); res.Err == nil {
		t.Fatal("a failing command succeeded")
	}
	f.reset(t)
	if got := f.run(t, c2); strings.Join(got, ",") != "dev" {
		t.Fatalf("the next run planned %v, want dev again", got)
	}
	if got := f.deployed(t); strings.Join(got, ",") != "dev@2" {
		t.Errorf("deployed %v", got)
	}
	if envs, _ := f.plan(t, c2); len(envs) != 0 {
		t.Errorf("after the retry succeeded, planned %v", envs)
	}
}

// client is a go-github client for another identity on the local GitHub.
func (f *infra) client(t *testing.T, token, login string) *gh.Client {
	t.Helper()
	f.srv.AddToken(token, login, githubtest.Write)
	c, err := ghclient.New(f.srv.APIURL(), &ghclient.Transport{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestConvergeTrustsOnlyTheDeployers: a user with write access can create a
// deployment with any payload and give any deployment a success status
// through the API. Neither makes converge believe a version is deployed.
func TestConvergeTrustsOnlyTheDeployers(t *testing.T) {
	ctx := context.Background()
	f := newInfra(t)
	c1 := f.push(all(a1))
	f.run(t, c1)
	c2 := f.push(map[string]*string{"envs/staging.json": env(a2, w1), "envs/prod.json": env(a2, w1)})
	mallory := f.client(t, "mallory-token", "mallory")

	// A forged record of staging at the desired versions, with success.
	forged, _, err := mallory.Repositories.CreateDeployment(ctx, "acme", "infra", &gh.DeploymentRequest{
		Ref: gh.String(c2), Task: gh.String("deploy"), Environment: gh.String("staging"), AutoMerge: gh.Bool(false),
		RequiredContexts: &[]string{}, ProductionEnvironment: gh.Bool(false),
		Payload: payload{Versions: map[string]string{"api.tag": a2, "web.tag": w1}, RequestID: "0000000000000001"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := mallory.Repositories.CreateDeploymentStatus(ctx, "acme", "infra", forged.GetID(), &gh.DeploymentStatusRequest{State: gh.String("success")}); err != nil {
		t.Fatal(err)
	}
	// prod's real deploy fails; mallory then marks it successful.
	res := f.deploy(t, c2, "prod", "exit 1")
	if res.Err == nil {
		t.Fatal("a failing command succeeded")
	}
	var failed int64
	fmt.Sscan(res.Outputs["deployment-id"], &failed)
	if _, _, err := mallory.Repositories.CreateDeploymentStatus(ctx, "acme", "infra", failed, &gh.DeploymentStatusRequest{State: gh.String("success")}); err != nil {
		t.Fatal(err)
	}

	envs, res := f.plan(t, c2)
	if strings.Join(envs, ",") != "staging,prod" {
		t.Fatalf("planned %v, want staging,prod (the forged records ignored)\n%s", envs, res.Log)
	}
	for _, want := range []string{
		fmt.Sprintf("ignored deployment %d of staging: created by mallory", forged.GetID()),
		fmt.Sprintf(`ignored status "success" of deployment %d of prod: set by mallory`, failed),
	} {
		if !strings.Contains(res.Log, want) {
			t.Errorf("log lacks %q:\n%s", want, res.Log)
		}
	}
	// Naming mallory a deployer is a choice the workflow makes, not the API.
	envs, _ = f.plan(t, c2, "INPUT_DEPLOYERS=github-actions[bot], mallory")
	if len(envs) != 0 {
		t.Errorf("with mallory trusted, planned %v", envs)
	}
}

// TestConvergeCrowd: several runs of the same workflow at once, with no
// concurrency group to serialise them, each planning and deploying. Every
// environment's command runs exactly once: the records decide which run
// deploys (the oldest record), the others step aside as inactive.
func TestConvergeCrowd(t *testing.T) {
	f := newInfra(t)
	c1 := f.push(all(a1))
	const runs = 4
	var wg sync.WaitGroup
	for i := 0; i < runs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			envs, _ := f.plan(t, c1)
			for _, e := range envs {
				if res := f.deploy(t, c1, e, markCommand); res.Err != nil {
					t.Errorf("deploy %s: %v\n%s", e, res.Err, res.Log)
				}
			}
		}()
	}
	wg.Wait()
	got := f.deployed(t)
	slices.Sort(got)
	if strings.Join(got, ",") != "dev@1,prod@1,staging@1" {
		t.Errorf("the commands ran %v; want each environment once", got)
	}
	deps, err := f.srv.Deployments("acme", "infra")
	if err != nil {
		t.Fatal(err)
	}
	success := map[string]int{}
	for _, d := range deps {
		last := d.States[len(d.States)-1]
		if last == "success" {
			success[d.Environment]++
		} else if last != "inactive" {
			t.Errorf("deployment %d of %s ended %v", d.ID, d.Environment, d.States)
		}
	}
	if success["dev"] != 1 || success["staging"] != 1 || success["prod"] != 1 {
		t.Errorf("successful records %v, want one per environment", success)
	}
	if envs, _ := f.plan(t, c1); len(envs) != 0 {
		t.Errorf("after the crowd, planned %v", envs)
	}
}

// TestPlanWarnsAboutUntrackedFiles: a file where no key matches tracked
// would deploy nothing forever; both plans name it and the patterns.
func TestPlanWarnsAboutUntrackedFiles(t *testing.T) {
	f := newInfra(t)
	c1 := f.push(all(a1))
	f.run(t, c1)
	c2 := f.push(map[string]*string{"envs/qa.json": s(`{"api": {"image": "` + a2 + `"}}`)})
	want := "::warning::envs/qa.json: no key matches tracked (**.tag), so nothing in them is ever deployed"
	if _, res := f.plan(t, c2); !strings.Contains(res.Log, want) {
		t.Errorf("converge log lacks %q:\n%s", want, res.Log)
	}
	res := steptest.Run(t, Step, f.checkout(t, c2), f.env(c2, "INPUT_MODE=plan", "INPUT_BEFORE="+c1, "INPUT_AFTER="+c2)...)
	if res.Err != nil || !strings.Contains(res.Log, want) {
		t.Errorf("diff log lacks %q (%v):\n%s", want, res.Err, res.Log)
	}
}

// TestDeployNeverGoesBackInHistory: re-running an old run's deploy job after
// a newer run deployed does not put the older versions back.
func TestDeployNeverGoesBackInHistory(t *testing.T) {
	f := newInfra(t)
	c1 := f.push(all(a1))
	f.run(t, c1)
	c2 := f.push(map[string]*string{"envs/dev.json": env(a2, w1)})
	f.run(t, c2)
	f.reset(t)
	res := f.deploy(t, c1, "dev", markCommand, "INPUT_REDEPLOY=true")
	if res.Err != nil {
		t.Fatalf("%v\n%s", res.Err, res.Log)
	}
	if got := f.deployed(t); len(got) != 0 || !strings.Contains(res.Log, "newer than this run's "+c1[:7]) {
		t.Errorf("the re-run deployed %v\n%s", got, res.Log)
	}
	deps, err := f.srv.Deployments("acme", "infra")
	if err != nil {
		t.Fatal(err)
	}
	last := deps[len(deps)-1]
	if last.SHA != c1 || last.States[len(last.States)-1] != "inactive" {
		t.Errorf("the re-run's record %+v, want inactive", last)
	}
	if envs, _ := f.plan(t, c2); len(envs) != 0 {
		t.Errorf("after the refused re-run, planned %v", envs)
	}
}
