package hardening

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/deploy"
	"github.com/cicd-excellence/actions/hotfix"
	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
	"github.com/cicd-excellence/actions/internal/testkit/steptest"
	openinfrapr "github.com/cicd-excellence/actions/open-infra-pr"
	"github.com/cicd-excellence/actions/rulesets"
)

// attemptTimeout is how long one API try may hang before the client gives
// up on it in the timeout runs (30s for users): long enough that a busy
// machine's slow answer is not mistaken for one (2s was, for a compare
// under a load of 10 on two cores).
const attemptTimeout = 4 * time.Second

// faultKind is one way an API call goes wrong.
type faultKind struct {
	name string
	// make builds the fault when it is injected (rate-limit resets are
	// relative to then).
	make func() githubtest.Fault
	// passing says the call is refused without effect and a retry is
	// right for any method, so the run must complete.
	passing bool
	// transient says a repeatable call (not a POST) must survive it.
	transient bool
	// hangs: the run gets a short attempt timeout.
	hangs bool
}

var secondaryLimit = `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}`
var primaryLimit = `{"message":"API rate limit exceeded for installation ID 1.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}`

func primaryLimitIn(d time.Duration) func() githubtest.Fault {
	return func() githubtest.Fault {
		return githubtest.Fault{Status: 403, Body: primaryLimit, Header: http.Header{
			"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {strconv.FormatInt(time.Now().Add(d).Unix(), 10)},
		}}
	}
}

func fixed(f githubtest.Fault) func() githubtest.Fault { return func() githubtest.Fault { return f } }

var faultKinds = []faultKind{
	{name: "500", make: fixed(githubtest.Fault{Status: 500}), transient: true},
	{name: "502 twice", make: fixed(githubtest.Fault{Status: 502, Times: 2}), transient: true},
	{name: "timeout", make: fixed(githubtest.Fault{Delay: 3 * attemptTimeout}), transient: true, hangs: true},
	{name: "connection reset", make: fixed(githubtest.Fault{Reset: true}), transient: true},
	{name: "secondary rate limit", make: fixed(githubtest.Fault{Status: 403, Body: secondaryLimit, Header: http.Header{"Retry-After": {"1"}}}), passing: true, transient: true},
	{name: "primary rate limit, resets in 1s", make: primaryLimitIn(time.Second), passing: true, transient: true},
	{name: "primary rate limit, resets in 1h", make: primaryLimitIn(time.Hour)},
	{name: "answer lost after the write", make: fixed(githubtest.Fault{Status: 502, After: true}), transient: true},
	{name: "503 until the end", make: fixed(githubtest.Fault{Status: 503, Times: -1})},
}

// faultRun is one prepared run of a scenario on its own world.
type faultRun struct {
	env     []string
	workDir string
	marker  string // the deploy command's log of runs
}

// faultScenario is a step doing its job, and how to read its end state.
type faultScenario struct {
	name    string
	world   string // the world template it runs on (default plainWorld)
	step    action.Step
	repos   []string // whose refs, PRs and deployments must stay put on failure
	prepare func(t testing.TB, w *world) faultRun
	// outcome describes the end state in one line.
	outcome func(t testing.TB, w *world, r faultRun) string
	// complete says whether an end state is the job done (log: what the
	// run printed, for leftovers it must have warned about).
	complete func(w *world, outcome, log string) bool
	// untouched says whether an end state is as before (besides the
	// snapshot, which must not change unless allowed says otherwise).
	untouched func(w *world, outcome string) bool
	// allowed names other end states a failed run may leave, with the
	// error that must explain them.
	allowed func(w *world, outcome string, err error, log string) bool
}

func scenarios() []faultScenario {
	return []faultScenario{openInfraPRScenario(), hotfixScenario(), deployScenario(), planScenario(), rulesetsScenario()}
}

// --- open-infra-pr: move dev to app[3] and merge.

func openInfraPRScenario() faultScenario {
	return faultScenario{
		name: "open-infra-pr", step: openinfrapr.Step, repos: []string{"acme/app", "acme/infra"},
		prepare: func(t testing.TB, w *world) faultRun {
			return faultRun{env: w.env("acme/app", w.app[3], "INPUT_INFRA_REPO=acme/infra", "INPUT_MERGE_TIMEOUT=60s")}
		},
		outcome: infraOutcome,
		complete: func(w *world, o, log string) bool {
			return o == fmt.Sprintf("dev api.tag=%s; PRs: merged; bot branches: 0", short(w.app[3])) ||
				// A concurrent run landed the same value: ours is closed.
				o == fmt.Sprintf("dev api.tag=%s; PRs: closed; bot branches: 0", short(w.app[3])) ||
				// Merged, but GitHub would not delete the merged branch: the
				// run warns about it by name.
				o == fmt.Sprintf("dev api.tag=%s; PRs: merged; bot branches: 1", short(w.app[3])) &&
					strings.Contains(log, "::warning::could not delete branch cicd-excellence/dev/")
		},
		untouched: func(w *world, o string) bool {
			return o == fmt.Sprintf("dev api.tag=%s; PRs: none; bot branches: 0", short(w.app[1]))
		},
		allowed: func(w *world, o string, err error, _ string) bool {
			// Merging failed: the PR stays open with its change, for a rerun
			// or a human, and the error names it.
			return o == fmt.Sprintf("dev api.tag=%s; PRs: open with the change; bot branches: 1", short(w.app[1])) &&
				strings.Contains(err.Error(), "PR #1")
		},
	}
}

func infraOutcome(t testing.TB, w *world, _ faultRun) string {
	t.Helper()
	tag := func(ref string) string {
		var f struct{ API struct{ Tag string } }
		if err := json.Unmarshal([]byte(w.file(t, "infra", ref, "envs/dev.json")), &f); err != nil {
			t.Fatalf("envs/dev.json at %s: %v", ref, err)
		}
		return f.API.Tag
	}
	var prs []string
	for n := 1; ; n++ {
		pr, err := w.srv.PullRequest("acme", "infra", n)
		if err != nil {
			break
		}
		switch {
		case pr.Merged:
			prs = append(prs, "merged")
		case pr.State == "open" && tag(pr.HeadSHA) == w.app[3]:
			prs = append(prs, "open with the change")
		default:
			prs = append(prs, pr.State)
		}
	}
	if len(prs) == 0 {
		prs = []string{"none"}
	}
	refs, err := w.srv.Refs("acme", "infra")
	must(t, err)
	return fmt.Sprintf("dev api.tag=%s; PRs: %s; bot branches: %d", short(tag("main")), strings.Join(prs, ", "), len(ourBranches(refs)))
}

// --- hotfix: create hotfixes/fix2 at app[2].

func hotfixScenario() faultScenario {
	branch := func(t testing.TB, w *world) string {
		refs, err := w.srv.Refs("acme", "app")
		must(t, err)
		return refs["refs/heads/hotfixes/fix2"]
	}
	return faultScenario{
		name: "hotfix", step: hotfix.Step, repos: []string{"acme/app"},
		prepare: func(t testing.TB, w *world) faultRun {
			return faultRun{env: setEnv(w.env("acme/app", w.app[3], "INPUT_NAME=fix2", "INPUT_BASE="+w.app[2]), "GITHUB_EVENT_NAME=workflow_dispatch")}
		},
		outcome: func(t testing.TB, w *world, _ faultRun) string {
			return "hotfixes/fix2 at " + short(branch(t, w))
		},
		complete:  func(w *world, o, _ string) bool { return o == "hotfixes/fix2 at "+short(w.app[2]) },
		untouched: func(w *world, o string) bool { return o == "hotfixes/fix2 at (none)" },
	}
}

// --- deploy: record and run the deploy of dev.

func deployScenario() faultScenario {
	return faultScenario{
		name: "deploy", step: deploy.Step, repos: []string{"acme/infra"},
		prepare: func(t testing.TB, w *world) faultRun {
			dir := checkout(t, "infra main", func() map[string]string {
				return map[string]string{"envs/dev.json": w.file(t, "infra", "main", "envs/dev.json")}
			})
			marker := filepath.Join(t.TempDir(), "runs")
			return faultRun{workDir: dir, marker: marker, env: w.env("acme/infra", w.infra,
				"INPUT_MODE=deploy", "INPUT_ENVIRONMENT=dev", "MARKER="+marker, `INPUT_COMMAND=echo "$VERSION" >> "$MARKER"`)}
		},
		outcome: func(t testing.TB, w *world, r faultRun) string {
			runs := 0
			if data, err := os.ReadFile(r.marker); err == nil {
				runs = strings.Count(string(data), "\n")
			}
			deps, err := w.srv.Deployments("acme", "infra")
			must(t, err)
			latest := "none"
			if len(deps) > 0 && len(deps[len(deps)-1].States) > 0 {
				s := deps[len(deps)-1].States
				latest = s[len(s)-1]
			}
			return fmt.Sprintf("runs %d; deployments %d; latest status %s", runs, len(deps), latest)
		},
		complete: func(w *world, o, _ string) bool { return o == "runs 1; deployments 1; latest status success" },
		untouched: func(w *world, o string) bool {
			return o == "runs 0; deployments 0; latest status none"
		},
		allowed: func(w *world, o string, err error, log string) bool {
			switch o {
			case "runs 0; deployments 1; latest status error":
				// Recorded, then refused to run: the record says so.
				return strings.Contains(err.Error(), "nothing was run")
			case "runs 0; deployments 1; latest status none":
				// GitHub took the record and then no status at all: nothing
				// ran, and the run says the record stays pending.
				return strings.Contains(err.Error(), "nothing was run") && strings.Contains(log, "stays without a status")
			case "runs 1; deployments 1; latest status in_progress":
				// The deploy ran; its end could not be recorded: the step fails
				// saying so, since the record is the audit trail.
				return strings.Contains(err.Error(), "record could not be completed")
			}
			return false
		},
	}
}

// --- deploy plan through the API (a shallow checkout): read-only.

func planScenario() faultScenario {
	return faultScenario{
		name: "deploy plan (API)", step: deploy.Step, repos: []string{"acme/infra"},
		world: planWorld,
		prepare: func(t testing.TB, w *world) faultRun {
			dir := checkout(t, "infra main after the plan commit", func() map[string]string {
				return map[string]string{"envs/dev.json": w.file(t, "infra", "main", "envs/dev.json")}
			})
			return faultRun{workDir: dir, env: w.env("acme/infra", w.planAfter, "INPUT_MODE=plan", "INPUT_BEFORE="+w.infra, "INPUT_AFTER="+w.planAfter)}
		},
		outcome:   func(t testing.TB, w *world, r faultRun) string { return "read-only" },
		complete:  func(w *world, o, _ string) bool { return o == "read-only" },
		untouched: func(w *world, o string) bool { return o == "read-only" },
	}
}

// --- rulesets: apply both presets to acme/app, one over an outdated copy.

func rulesetsScenario() faultScenario {
	return faultScenario{
		name: "rulesets", step: rulesets.Step, repos: []string{"acme/app"},
		prepare: func(t testing.TB, w *world) faultRun {
			w.srv.AddToken(secret, secretLogin, githubtest.Admin)
			_, err := w.srv.AddRuleset("acme", "app", `{"name":"Default","target":"branch","enforcement":"evaluate",`+
				`"conditions":{"ref_name":{"include":["~DEFAULT_BRANCH"],"exclude":[]}},"rules":[{"type":"deletion"}]}`)
			must(t, err)
			return faultRun{env: w.env("acme/app", w.app[3], "INPUT_COMMAND=apply", "INPUT_PRESET=default, hotfixes",
				"INPUT_REQUIRED_CHECKS=test", "INPUT_BYPASS_APP_ID=123")}
		},
		outcome: rulesetsOutcome,
		complete: func(w *world, o, _ string) bool {
			return o == "Default: active, 5 rules; Required checks: active, 1 rules; Hotfixes: active, 3 rules; Hotfixes review: active, 1 rules"
		},
		untouched: func(w *world, o string) bool { return o == "Default: evaluate, 1 rules" },
	}
}

// rulesetsOutcome reads acme/app's rulesets through the API, as an auditor
// would (with the server's own token, outside the step's request log).
func rulesetsOutcome(t testing.TB, w *world, _ faultRun) string {
	t.Helper()
	c := gh.NewClient(&http.Client{Transport: bearer(githubtest.DefaultToken)})
	u, err := c.BaseURL.Parse(w.srv.APIURL() + "/")
	must(t, err)
	c.BaseURL = u
	ctx := context.Background()
	list, _, err := c.Repositories.GetAllRulesets(ctx, "acme", "app", false)
	must(t, err)
	var parts []string
	for _, l := range list {
		var rs struct {
			Name, Enforcement string
			Rules             []json.RawMessage
		}
		req, err := c.NewRequest("GET", fmt.Sprintf("repos/acme/app/rulesets/%d", l.GetID()), nil)
		must(t, err)
		_, err = c.Do(ctx, req, &rs)
		must(t, err)
		parts = append(parts, fmt.Sprintf("%s: %s, %d rules", rs.Name, rs.Enforcement, len(rs.Rules)))
	}
	return strings.Join(parts, "; ")
}

type bearer string

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}

// apiStep is one call of a clean run: an operation and which of its calls.
type apiStep struct {
	op         string // "METHOD /template"
	occurrence int
}

func (s apiStep) String() string {
	if s.occurrence == 0 {
		return s.op
	}
	return fmt.Sprintf("%s (call %d)", s.op, s.occurrence+1)
}

// baseline runs a scenario without faults and returns its API steps (the
// step's own requests, in order).
func baseline(t *testing.T, sc faultScenario) ([]apiStep, error) {
	t.Helper()
	w := sc.newWorld(t)
	r := sc.prepare(t, w)
	w.srv.ResetRequests()
	res := runStep(t, sc.step, r.workDir, r.env...)
	if res.Err != nil {
		return nil, fmt.Errorf("%s without faults: %v\n%s", sc.name, res.Err, res.Log)
	}
	if o := sc.outcome(t, w, r); !sc.complete(w, o, res.Log) {
		return nil, fmt.Errorf("%s without faults ends as %q, which the scenario does not call complete", sc.name, o)
	}
	seen := map[string]int{}
	var steps []apiStep
	for _, req := range w.srv.Requests() {
		if req.Login != secretLogin || req.Operation == "" {
			continue
		}
		steps = append(steps, apiStep{op: req.Operation, occurrence: seen[req.Operation]})
		seen[req.Operation]++
	}
	if len(steps) == 0 {
		return nil, fmt.Errorf("%s made no API call", sc.name)
	}
	return steps, nil
}

// TestFaults injects every fault kind at every API call each step makes in
// a clean run, and at the moments between them that matter (a base that
// moves, a merge that conflicts), and checks that each run ends complete or
// untouched with a clear one-line error — never half done — with no secret
// in anything it printed or wrote.
func TestFaults(t *testing.T) {
	t.Parallel()
	// The runs mostly wait (on backoffs, Retry-After, timeouts), so more of
	// them run at once than go test's -parallel (the CPU count) allows.
	sem := make(chan struct{}, 6)
	var wg sync.WaitGroup
	all := scenarios()
	steps := make([][]apiStep, len(all))
	for i, sc := range all {
		var err error
		if steps[i], err = baseline(t, sc); err != nil {
			t.Fatal(err) // before any run starts
		}
		t.Logf("%s: %d API calls in a clean run", sc.name, len(steps[i]))
	}
	for i, sc := range all {
		for _, st := range steps[i] {
			for _, k := range faultKinds {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sem <- struct{}{}
					defer func() { <-sem }()
					t.Run(fmt.Sprintf("%s/%s/%s", sc.name, st, k.name), func(t *testing.T) {
						inject := func(w *world) {
							f := k.make()
							f.Skip = st.occurrence
							w.srv.Faults().Inject(st.op, f)
						}
						mustEnd := ""
						method, _, _ := strings.Cut(st.op, " ")
						if k.passing || (k.transient && method != "POST") {
							mustEnd = "complete"
						}
						faultRunCase(t, sc, inject, mustEnd, k.hangs)
					})
				}()
			}
		}
	}
	wg.Wait()
}

// TestFaultsBetweenCalls: the moments where GitHub changes under a step.
func TestFaultsBetweenCalls(t *testing.T) {
	t.Parallel()
	oip := openInfraPRScenario()
	sc := oip
	unrelated := func(w *world) {
		if _, err := w.srv.CommitFiles("acme", "infra", "main", map[string]string{"README.md": "concurrent\n"}, "concurrent"); err != nil {
			panic(err)
		}
	}
	keptReadme := func(t *testing.T, w *world) {
		if _, err := w.srv.ReadFile("acme", "infra", "main", "README.md"); err != nil {
			t.Errorf("the concurrent commit was lost from main: %v", err)
		}
	}
	once := func(w *world, pattern string, fn func(w *world)) {
		var done sync.Once
		w.srv.Faults().Before(pattern, func(*http.Request) { done.Do(func() { fn(w) }) })
	}
	cases := []struct {
		name   string
		inject func(w *world)
		after  func(t *testing.T, w *world)
	}{
		{"base moved between read and branch", func(w *world) { once(w, "POST /repos/{owner}/{repo}/git/refs", unrelated) }, keptReadme},
		{"base moved between PR and merge", func(w *world) { once(w, "PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge", unrelated) }, keptReadme},
		{"base moved inside the merge (405 Base branch was modified)", func(w *world) {
			var done sync.Once
			w.srv.Faults().BeforeMergeWrite(func(string, string, int) { done.Do(func() { unrelated(w) }) })
		}, keptReadme},
		{"mergeable not computed yet (null)", func(w *world) { w.srv.Faults().SlowMergeable(3, 0) }, nil},
		{"merge conflict: a concurrent change to the same lines", func(w *world) {
			once(w, "PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge", func(w *world) {
				dev := strings.Replace(mainDev(w), `"replicas": 2`, `"replicas": 3`, 1)
				if _, err := w.srv.CommitFiles("acme", "infra", "main", map[string]string{"envs/dev.json": dev}, "scale"); err != nil {
					panic(err)
				}
			})
		}, func(t *testing.T, w *world) {
			if !strings.Contains(w.file(t, "infra", "main", "envs/dev.json"), `"replicas": 3`) {
				t.Error("the concurrent change to replicas was lost")
			}
		}},
		{"a concurrent run landed the same version first", func(w *world) {
			once(w, "PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge", func(w *world) {
				dev := strings.Replace(mainDev(w), w.app[1], w.app[3], 1)
				if _, err := w.srv.CommitFiles("acme", "infra", "main", map[string]string{"envs/dev.json": dev}, "same"); err != nil {
					panic(err)
				}
			})
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := faultRunCase(t, sc, tc.inject, "complete", false)
			if tc.after != nil && w != nil {
				tc.after(t, w)
			}
		})
	}
}

// newWorld is a fresh copy of the scenario's world.
func (sc faultScenario) newWorld(t testing.TB) *world {
	name := sc.world
	if name == "" {
		name = plainWorld
	}
	return worldFrom(t, worldTemplate(t, name))
}

// faultRunCase runs one scenario on a fresh world with a fault, checks its
// end state, and counts it. mustEnd "complete" refuses a clean failure too.
func faultRunCase(t *testing.T, sc faultScenario, inject func(w *world), mustEnd string, hangs bool) *world {
	w := sc.newWorld(t)
	r := sc.prepare(t, w)
	before := snapshot(t, w.srv, sc.repos...)
	inject(w)
	var more []steptest.Option
	if hangs {
		more = append(more, steptest.AttemptTimeout(attemptTimeout))
	}
	res := steptest.RunWith(t, sc.step, runOptions(r.workDir, r.env, more...)...)
	w.srv.Faults().Clear()
	if hangs {
		// The server may still be finishing a request the client gave up on.
		time.Sleep(time.Second)
	}
	o := sc.outcome(t, w, r)

	var p problems
	scanAll(&p, res, sc.step)
	switch {
	case res.Err == nil && !sc.complete(w, o, res.Log):
		p.addf("the run succeeded but left %q", o)
	case res.Err != nil && mustEnd == "complete":
		p.addf("this fault must be survived, but the run failed (end state %q)", o)
	case res.Err != nil:
		untouched := sc.untouched(w, o) && before.diff(snapshot(t, w.srv, sc.repos...)) == ""
		if !untouched && (sc.allowed == nil || !sc.allowed(w, o, res.Err, res.Log)) {
			p.addf("the run failed half done: %q (changes: %s)", o, before.diff(snapshot(t, w.srv, sc.repos...)))
		}
	}
	countFault(sc.name, len(p) == 0)
	p.report(t, res)
	return w
}

// mainDev reads envs/dev.json on the infra repo's main from inside a server
// hook, where no test is at hand to fail.
func mainDev(w *world) string {
	s, err := w.srv.ReadFile("acme", "infra", "main", "envs/dev.json")
	if err != nil {
		panic(err)
	}
	return s
}

// setEnv replaces or adds name=value in env.
func setEnv(env []string, kv string) []string {
	name, _, _ := strings.Cut(kv, "=")
	out := []string{}
	for _, e := range env {
		if !strings.HasPrefix(e, name+"=") {
			out = append(out, e)
		}
	}
	return append(out, kv)
}
