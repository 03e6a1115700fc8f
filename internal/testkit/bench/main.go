// Command bench measures what one dev bump costs with open-infra-pr's flow
// (every run that moves the same keys meets on one branch: claim it, write
// the file compare-and-swap, open or find the PR, wait for the base's
// required checks, merge at the head it wrote) against the seed's flow (full
// `git clone` over smart HTTP, edit, commit, push a branch, open and merge
// the PR), side by side on the local GitHub over loopback with the same
// latency injected into every request, for infra repos of growing history.
// Then two crowds of concurrent runs: twenty bumping the same key with
// commits of one app history in random order, and twenty bumping different
// keys of one file.
//
//	make bench    (or: go run ./internal/testkit/bench [-commits 1000,20000] [-latency 50ms] [-crowd 20] [-runs 3] [-backoff 200ms] [-v])
//
// Progress goes to stderr, the table to stdout. See README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	gh "github.com/google/go-github/v60/github"

	openinfrapr "github.com/cicd-excellence/actions/open-infra-pr"

	"github.com/cicd-excellence/actions/internal/envfile"
	"github.com/cicd-excellence/actions/internal/ghclient"
	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
	"github.com/cicd-excellence/actions/internal/version"
)

const (
	owner   = "acme"
	appRepo = "app"
	envFile = "envs/dev.json"
	token   = githubtest.DefaultToken
)

// Targets of issue #14 ("Speed and API budget"), printed next to the
// numbers; the bench reports them, it does not fail on them.
const (
	targetRequests      = 10  // clean dev bump
	targetRoundTrips    = 7   // clean dev bump, no required check to wait for
	targetFasterSmall   = 1.3 // seed time / ours time at <= 1k commits
	targetFasterLarge   = 2.0 // at >= 20k commits
	targetCrowdPerRun   = 12  // mean requests per run, either crowd
	targetCrowdWrites   = 80  // content-creating requests, same-key crowd
	targetCrowdDrainMul = 3.0 // same-key drain time / one clean bump
	flatTolerance       = 1.25
)

// options are the command's flags.
type options struct {
	Commits []int
	Latency time.Duration
	Crowd   int           // runs in each crowd (0 skips the crowds)
	Runs    int           // runs of each flow per size; the table shows the median
	Backoff time.Duration // the Updater's first wait between merge polls
	Verbose bool
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := run(ctx, o, os.Stderr)
	if rep != nil {
		rep.print(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: FAILED:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	fl := flag.NewFlagSet("bench", flag.ContinueOnError)
	commits := fl.String("commits", "1000,20000", "history sizes of the infra repo, comma-separated")
	latency := fl.Duration("latency", 50*time.Millisecond, "latency added to every request (API and git smart HTTP)")
	crowd := fl.Int("crowd", 20, "runs in each crowd (same key, different keys); 0 skips the crowds")
	runs := fl.Int("runs", 3, "runs of each flow per history size (the table shows the median run)")
	backoff := fl.Duration("backoff", 200*time.Millisecond, "the Updater's first wait between merge polls")
	verbose := fl.Bool("v", false, "log the updaters' steps and every request")
	if err := fl.Parse(args); err != nil {
		return options{}, err
	}
	if fl.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments %q", fl.Args())
	}
	o := options{Latency: *latency, Crowd: *crowd, Runs: *runs, Backoff: *backoff, Verbose: *verbose}
	for _, s := range strings.Split(*commits, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return options{}, fmt.Errorf("-commits: %q is not a positive number", s)
		}
		o.Commits = append(o.Commits, n)
	}
	switch {
	case o.Latency < 0:
		return options{}, fmt.Errorf("-latency: %s is negative", o.Latency)
	case o.Crowd < 0 || o.Crowd > 100:
		return options{}, fmt.Errorf("-crowd: %d is not between 0 and 100", o.Crowd)
	case o.Runs < 1 || o.Runs > 20:
		return options{}, fmt.Errorf("-runs: %d is not between 1 and 20", o.Runs)
	case o.Backoff <= 0:
		return options{}, fmt.Errorf("-backoff: %s is not positive", o.Backoff)
	}
	return o, nil
}

// traffic is what a flow cost, from the server's request log. Bytes are
// HTTP body bytes (request + response); headers are not counted for either
// flow.
type traffic struct {
	Requests    int
	Bytes       int64
	GitRequests int
	GitBytes    int64
	// RoundTrips is the number of sequential waves (see roundTrips).
	RoundTrips int
	// Writes are content-creating requests: API POST/PATCH/PUT/DELETE, and
	// git pushes (receive-pack POSTs); a clone's upload-pack POST reads.
	Writes int
	// GitSlow is how many git requests took at least the injected latency:
	// the evidence that git paid it too.
	GitSlow int
	// UnknownLength counts git requests whose body size the server could
	// not log (chunked uploads); their request bodies are missing from Bytes.
	UnknownLength int
	// MedianServed is the median time the server took per request, the
	// injected latency included: above it is the local GitHub's own work
	// on this machine.
	MedianServed time.Duration
	// ByOperation counts requests per "METHOD /route", most first.
	ByOperation []opCount
}

type opCount struct {
	Operation string
	N         int
}

func countByOperation(reqs []githubtest.Request) []opCount {
	m := map[string]int{}
	for _, r := range reqs {
		op := r.Operation
		if op == "" {
			op = r.Method + " " + r.Path
		}
		m[op]++
	}
	out := make([]opCount, 0, len(m))
	for op, n := range m {
		out = append(out, opCount{op, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].N != out[j].N {
			return out[i].N > out[j].N
		}
		return out[i].Operation < out[j].Operation
	})
	return out
}

// roundTrips counts sequential waves in a request log: sorted by Start, a
// request that starts after the End (Start+Duration) of every request before
// it begins a new wave; one that starts while an earlier one is still being
// served went out in parallel with it. With concurrent chains this is a
// lower bound of the longest chain, which is what wall time pays.
func roundTrips(reqs []githubtest.Request) int {
	s := slices.Clone(reqs)
	sort.SliceStable(s, func(i, j int) bool { return s[i].Start.Before(s[j].Start) })
	waves := 0
	var end time.Time
	for i, r := range s {
		if i == 0 || r.Start.After(end) {
			waves++
		}
		if e := r.Start.Add(r.Duration); e.After(end) {
			end = e
		}
	}
	return waves
}

func isGit(r githubtest.Request) bool { return strings.HasSuffix(r.Operation, ".git/{path}") }

func isWrite(r githubtest.Request) bool {
	if isGit(r) {
		return r.Method == "POST" && strings.HasSuffix(r.Path, "/git-receive-pack")
	}
	switch r.Method {
	case "POST", "PATCH", "PUT", "DELETE":
		return true
	}
	return false
}

func measureTraffic(reqs []githubtest.Request, latency time.Duration) traffic {
	t := traffic{RoundTrips: roundTrips(reqs), ByOperation: countByOperation(reqs)}
	durs := make([]time.Duration, 0, len(reqs))
	for _, r := range reqs {
		durs = append(durs, r.Duration)
		req := r.RequestBytes
		if req < 0 {
			t.UnknownLength++
			req = 0
		}
		n := req + r.ResponseBytes
		t.Requests++
		t.Bytes += n
		if isWrite(r) {
			t.Writes++
		}
		if isGit(r) {
			t.GitRequests++
			t.GitBytes += n
			if latency > 0 && r.Duration >= latency {
				t.GitSlow++
			}
		}
	}
	if len(durs) > 0 {
		slices.Sort(durs)
		t.MedianServed = durs[(len(durs)-1)/2]
	}
	return t
}

type flow struct {
	traffic
	Time time.Duration
}

type sizeResult struct {
	Commits     int
	SeedTime    time.Duration // CreateHistory + the env file
	Ours, Clone flow          // the median run of each
	// Every run, in order.
	OursRuns, CloneRuns []flow
	GitDirBytes         int64 // size of the clone's .git directory
}

type crowdResult struct {
	Name    string // "same-key" or "different-key"
	What    string // what each run bumps
	Runs    int
	Commits int
	Time    time.Duration
	Traffic traffic
	Ops     map[string]int
	// Problems are the failed checks: a run that errored or ended otherwise
	// than merged/none/skipped/superseded, a wrong final value, a bot
	// branch or PR left behind.
	Problems []string
}

func (c *crowdResult) perRun() float64 { return float64(c.Traffic.Requests) / float64(max(c.Runs, 1)) }

type report struct {
	Latency time.Duration
	Runs    int
	Backoff time.Duration
	Sizes   []sizeResult
	Crowds  []*crowdResult
}

type bench struct {
	o   options
	log io.Writer
	srv *githubtest.Server
	gh  *gh.Client
	tmp string
	app []string // the app repo's main, oldest first
}

func (b *bench) progress(format string, args ...any) {
	fmt.Fprintf(b.log, "bench: "+format+"\n", args...)
}

// run does the whole measurement. The report holds whatever was measured,
// also when err says a later part failed.
func run(ctx context.Context, o options, log io.Writer) (*report, error) {
	if _, err := exec.LookPath("git"); err != nil {
		return nil, errors.New("git is not on PATH")
	}
	if len(o.Commits) == 0 {
		return nil, errors.New("no history size to measure")
	}
	tmp, err := os.MkdirTemp("", "bench-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	srv, err := githubtest.Start(ctx, githubtest.Config{Dir: filepath.Join(tmp, "github"), RateLimit: 1 << 30})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	b := &bench{o: o, log: log, srv: srv, tmp: tmp}
	if b.gh, err = newClient(srv); err != nil {
		return nil, err
	}
	rep := &report{Latency: o.Latency, Runs: o.Runs, Backoff: o.Backoff}
	err = b.measure(ctx, rep)
	if v := srv.TakeViolations(); len(v) > 0 && err == nil {
		msgs := make([]string, len(v))
		for i, x := range v {
			msgs[i] = x.String()
		}
		err = fmt.Errorf("the local GitHub saw %d OpenAPI violation(s):\n%s", len(v), strings.Join(msgs, "\n"))
	}
	return rep, err
}

func (b *bench) measure(ctx context.Context, rep *report) error {
	if err := b.seedApp(); err != nil {
		return fmt.Errorf("app repo: %w", err)
	}
	if err := b.warmUp(ctx); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	for _, n := range b.o.Commits {
		r, err := b.size(ctx, n)
		if err != nil {
			return fmt.Errorf("%d commits: %w", n, err)
		}
		rep.Sizes = append(rep.Sizes, *r)
	}
	if b.o.Crowd == 0 {
		return nil
	}
	n := slices.Min(b.o.Commits)
	var errs []error
	for _, f := range []func(context.Context, int) (*crowdResult, error){b.sameKey, b.differentKey} {
		c, err := f(ctx, n)
		if c != nil {
			rep.Crowds = append(rep.Crowds, c)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func newClient(srv *githubtest.Server) (*gh.Client, error) {
	return ghclient.New(srv.APIURL(), &ghclient.Transport{Token: token, UserAgent: version.UserAgent()})
}

// seedApp creates the app repo with a linear main long enough for every
// bump: each single bump moves forward by one commit, and the same-key crowd
// needs one distinct commit per run plus a few older ones.
func (b *bench) seedApp() error {
	n := max(25, b.o.Crowd+5, 2*b.o.Runs+2)
	if err := b.srv.CreateRepo(githubtest.RepoConfig{Owner: owner, Name: appRepo}); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		sha, err := b.srv.CommitFiles(owner, appRepo, "main", map[string]string{"version.txt": strconv.Itoa(i)}, fmt.Sprintf("app %d", i))
		if err != nil {
			return err
		}
		b.app = append(b.app, sha)
	}
	return nil
}

// warmUp runs each flow once, unmeasured, on a small repo: the first
// requests of a process pay one-time costs (connections, the server's lazily
// built state) that would otherwise land on the first size measured.
func (b *bench) warmUp(ctx context.Context) error {
	name := "infra-warm-up"
	if _, err := b.seedRepo(name, 10, tagFile([]string{"api"}, b.app[0])); err != nil {
		return err
	}
	b.progress("warm-up: one bump of each flow, not measured")
	if _, err := b.updater(name, "api.tag", b.app[1], b.gh).Run(ctx); err != nil {
		return fmt.Errorf("open-infra-pr: %w", err)
	}
	if _, err := b.seedFlow(ctx, name, b.app[2]); err != nil {
		return fmt.Errorf("seed flow: %w", err)
	}
	return nil
}

// seedRepo creates owner/name with n commits of history and the env file on
// top.
func (b *bench) seedRepo(name string, n int, file string) (time.Duration, error) {
	start := time.Now()
	if err := b.srv.CreateRepo(githubtest.RepoConfig{Owner: owner, Name: name}); err != nil {
		return 0, err
	}
	if _, err := b.srv.CreateHistory(owner, name, "main", n); err != nil {
		return 0, err
	}
	if _, err := b.srv.CommitFiles(owner, name, "main", map[string]string{envFile: file}, "envs: dev"); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func tagFile(svcs []string, tag string) string {
	var s strings.Builder
	s.WriteString("{\n")
	for i, name := range svcs {
		sep := ","
		if i == len(svcs)-1 {
			sep = ""
		}
		fmt.Fprintf(&s, "  %q: {\n    \"tag\": %q\n  }%s\n", name, tag, sep)
	}
	s.WriteString("}\n")
	return s.String()
}

// size measures both flows on a fresh repository with n commits, dev at the
// app's first commit; each bump moves it one app commit forward.
func (b *bench) size(ctx context.Context, n int) (*sizeResult, error) {
	name := fmt.Sprintf("infra-%d", n)
	b.progress("%d commits: seeding %s/%s", n, owner, name)
	seed, err := b.seedRepo(name, n, tagFile([]string{"api"}, b.app[0]))
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	b.progress("%d commits: seeded in %s", n, seed.Round(time.Millisecond))
	res := &sizeResult{Commits: n, SeedTime: seed}

	// The latency applies from here on; seeding is not measured traffic.
	b.srv.Faults().Latency(b.o.Latency)
	defer b.srv.Faults().Latency(0)

	// Runs alternate (ours, seed, ours, seed, ...) so that load from
	// elsewhere on the machine hits both flows alike.
	var ours, clone []flow
	next := 1
	for i := 1; i <= b.o.Runs; i++ {
		want := b.app[next]
		next++
		b.srv.ResetRequests()
		start := time.Now()
		out, err := b.updater(name, "api.tag", want, b.gh).Run(ctx)
		f := flow{Time: time.Since(start), traffic: b.traffic()}
		if err != nil {
			return nil, fmt.Errorf("open-infra-pr: %w", err)
		}
		if out.Operation != openinfrapr.OpMerged {
			return nil, fmt.Errorf("open-infra-pr: operation %s (%s), want merged", out.Operation, out.Reason)
		}
		if err := b.expectTag(name, "api", want); err != nil {
			return nil, fmt.Errorf("open-infra-pr: %w", err)
		}
		if left := b.leftovers(name); len(left) > 0 {
			return nil, fmt.Errorf("open-infra-pr: %s", strings.Join(left, "; "))
		}
		ours = append(ours, f)
		b.progress("%d commits, run %d/%d: ours: %d requests, %d round trips, %d content-creating, %s, %s",
			n, i, b.o.Runs, f.Requests, f.RoundTrips, f.Writes, human(f.Bytes), f.Time.Round(time.Millisecond))

		want = b.app[next]
		next++
		b.srv.ResetRequests()
		start = time.Now()
		gitDir, err := b.seedFlow(ctx, name, want)
		f = flow{Time: time.Since(start), traffic: b.traffic()}
		if err != nil {
			return nil, fmt.Errorf("seed flow: %w", err)
		}
		if err := b.expectTag(name, "api", want); err != nil {
			return nil, fmt.Errorf("seed flow: %w", err)
		}
		clone = append(clone, f)
		res.GitDirBytes = gitDir
		b.progress("%d commits, run %d/%d: seed: %d requests (%d git), %d round trips, %s, %s; .git is %s",
			n, i, b.o.Runs, f.Requests, f.GitRequests, f.RoundTrips, human(f.Bytes), f.Time.Round(time.Millisecond), human(gitDir))
	}
	res.Ours, res.Clone = median(ours), median(clone)
	res.OursRuns, res.CloneRuns = ours, clone
	return res, nil
}

// median is the run with the median wall time (the lower one of an even
// count), with that run's requests and bytes.
func median(runs []flow) flow {
	s := append([]flow(nil), runs...)
	sort.Slice(s, func(i, j int) bool { return s[i].Time < s[j].Time })
	return s[(len(s)-1)/2]
}

// updater is one run of open-infra-pr as a push to the app's main starts it:
// the app repo and its default branch come from the event payload.
func (b *bench) updater(repo, key, value string, client *gh.Client) *openinfrapr.Updater {
	p, err := envfile.ParsePath(key)
	if err != nil {
		panic(err) // keys are ours
	}
	u := &openinfrapr.Updater{
		GH: client,
		Cfg: openinfrapr.Config{
			Owner: owner, Repo: repo, Environment: "dev", File: envFile,
			Edits:            []envfile.Edit{{Path: p, Value: value}},
			Merge:            openinfrapr.MergeAuto,
			MergeMethod:      "squash",
			MergeTimeout:     5 * time.Minute,
			Title:            "{environment}: {changes}",
			HotfixPrefix:     "hotfixes/",
			AppOwner:         owner,
			AppRepo:          appRepo,
			AppDefaultBranch: "main",
			// Each run stands for the push that made value main's tip: the
			// push event's payload says so (see open-infra-pr's config).
			PushedToDefault: value,
			Actor:           "bench",
			SourceSHA:       value,
			ServerURL:       b.srv.URL,
		},
		Backoff: b.o.Backoff,
	}
	if b.o.Verbose {
		u.Log = func(format string, args ...any) {
			b.progress("  %s=%s: "+format, append([]any{key, short(value)}, args...)...)
		}
	}
	return u
}

func short(s string) string { return s[:min(len(s), 7)] }

// traffic sums the request log since the last reset.
func (b *bench) traffic() traffic {
	reqs := b.srv.Requests()
	if b.o.Verbose && len(reqs) > 0 {
		t0 := slices.MinFunc(reqs, func(a, b githubtest.Request) int { return a.Start.Compare(b.Start) }).Start
		for _, r := range reqs {
			b.progress("  %3d %-6s %-60s req %7d resp %8d at +%dms for %dms", r.Status, r.Method, r.Path, r.RequestBytes, r.ResponseBytes,
				r.Start.Sub(t0).Milliseconds(), r.Duration.Milliseconds())
		}
	}
	return measureTraffic(reqs, b.o.Latency)
}

func (b *bench) readTags(repo string) (map[string]map[string]any, error) {
	text, err := b.srv.ReadFile(owner, repo, "main", envFile)
	if err != nil {
		return nil, err
	}
	var doc map[string]map[string]any
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		return nil, fmt.Errorf("%s on main is not JSON: %w", envFile, err)
	}
	return doc, nil
}

func (b *bench) expectTag(repo, svc, want string) error {
	doc, err := b.readTags(repo)
	if err != nil {
		return err
	}
	if got := doc[svc]["tag"]; got != want {
		return fmt.Errorf("%s on main has %s.tag = %v, want %s", envFile, svc, got, want)
	}
	return nil
}

// leftovers are the bot's branches and the open PRs still in repo (the
// seed flow's bump/ branches are the seed's, left as it left them).
func (b *bench) leftovers(repo string) []string {
	var out []string
	refs, err := b.srv.Refs(owner, repo)
	if err != nil {
		return []string{err.Error()}
	}
	for r := range refs {
		if strings.HasPrefix(r, "refs/heads/"+openinfrapr.BranchPrefix) {
			out = append(out, "branch "+strings.TrimPrefix(r, "refs/heads/")+" left behind")
		}
	}
	for n := 1; ; n++ {
		pr, err := b.srv.PullRequest(owner, repo, n)
		if err != nil {
			break
		}
		if pr.State == "open" {
			out = append(out, fmt.Sprintf("PR #%d left open", n))
		}
	}
	sort.Strings(out)
	return out
}

// seedFlow is the seed's bump: clone everything, rewrite the file as jq
// does, commit, push a branch, open the PR and merge it. It returns the size
// of the clone's .git directory.
func (b *bench) seedFlow(ctx context.Context, repo, value string) (int64, error) {
	work, err := os.MkdirTemp(b.tmp, "clone-*")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(work)
	home := filepath.Join(work, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		return 0, err
	}
	dir := filepath.Join(work, "infra")
	git := func(args ...string) error {
		// http.postBuffer: git sends request bodies up to this size with a
		// Content-Length (larger ones chunked), so the server can log them.
		full := append([]string{"-c", "http.postBuffer=524288000"}, args...)
		cmd := exec.CommandContext(ctx, "git", full...)
		cmd.Dir = work
		if _, err := os.Stat(dir); err == nil {
			cmd.Dir = dir
		}
		cmd.Env = append(os.Environ(),
			"HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_TERMINAL_PROMPT=0",
			"GIT_AUTHOR_NAME=seed-bot", "GIT_AUTHOR_EMAIL=seed-bot@example.com",
			"GIT_COMMITTER_NAME=seed-bot", "GIT_COMMITTER_EMAIL=seed-bot@example.com",
		)
		out, err := cmd.CombinedOutput()
		if err != nil {
			// The clone URL carries the token, as the seed's did: never print it.
			msg := strings.ReplaceAll(string(out), token, "***")
			return fmt.Errorf("git %s: %v\n%s", args[0], err, msg)
		}
		return nil
	}
	// As the seed: git clone https://$TOKEN@github.com/<owner>/infra (full).
	if err := git("clone", "--quiet", b.srv.CloneURL(owner, repo, token), dir); err != nil {
		return 0, err
	}
	// jq '.api.tag = $sha' envs/dev.json: parse, set, re-emit with 2 spaces.
	// (Go sorts object keys where jq keeps their order; this file has one.)
	path := filepath.Join(dir, envFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return 0, err
	}
	api, _ := doc["api"].(map[string]any)
	if api == nil {
		return 0, fmt.Errorf("%s has no api object", envFile)
	}
	api["tag"] = value
	edited, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return 0, err
	}
	if err := os.WriteFile(path, append(edited, '\n'), 0o644); err != nil {
		return 0, err
	}
	branch := "bump/dev-" + value[:12]
	title := "dev: api.tag " + value[:12]
	if err := git("commit", "--quiet", "-am", title); err != nil {
		return 0, err
	}
	if err := git("push", "--quiet", "origin", "HEAD:refs/heads/"+branch); err != nil {
		return 0, err
	}
	gitDir, err := dirSize(filepath.Join(dir, ".git"))
	if err != nil {
		return 0, err
	}
	// gh pr create + gh pr merge --rebase, as plain REST calls: the fewest
	// requests the seed could have made (gh itself makes more).
	pr, _, err := b.gh.PullRequests.Create(ctx, owner, repo, &gh.NewPullRequest{
		Title: gh.String(title), Head: gh.String(branch), Base: gh.String("main"),
		Body: gh.String("Automated bump of dev."),
	})
	if err != nil {
		return gitDir, fmt.Errorf("open PR: %w", err)
	}
	res, _, err := b.gh.PullRequests.Merge(ctx, owner, repo, pr.GetNumber(), "", &gh.PullRequestOptions{MergeMethod: "rebase"})
	if err != nil {
		return gitDir, fmt.Errorf("merge PR #%d: %w", pr.GetNumber(), err)
	}
	if !res.GetMerged() {
		return gitDir, fmt.Errorf("merge PR #%d: not merged: %s", pr.GetNumber(), res.GetMessage())
	}
	return gitDir, nil
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	return n, err
}

// job is one run of a crowd: key=value.
type job struct{ key, value string }

// crowd starts every job at once, each as its own run with its own client,
// waits until all have returned and checks how each ended.
func (b *bench) crowd(ctx context.Context, c *crowdResult, repo string, jobs []job) {
	b.srv.Faults().Latency(b.o.Latency)
	defer b.srv.Faults().Latency(0)
	b.srv.ResetRequests()
	b.progress("%s crowd: %d runs", c.Name, len(jobs))
	outs := make([]*openinfrapr.Outcome, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	start := time.Now()
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each run is its own job: its own client and connections.
			client, err := newClient(b.srv)
			if err != nil {
				errs[i] = err
				return
			}
			outs[i], errs[i] = b.updater(repo, j.key, j.value, client).Run(ctx)
		}()
	}
	wg.Wait()
	c.Time = time.Since(start)
	c.Traffic = b.traffic()
	c.Ops = map[string]int{}
	ok := []string{openinfrapr.OpMerged, openinfrapr.OpNone, openinfrapr.OpSkipped, openinfrapr.OpSuperseded}
	for i, j := range jobs {
		switch {
		case errs[i] != nil:
			c.Ops["error"]++
			c.Problems = append(c.Problems, fmt.Sprintf("run %s=%s failed: %v", j.key, short(j.value), errs[i]))
		case !slices.Contains(ok, outs[i].Operation):
			c.Ops[outs[i].Operation]++
			c.Problems = append(c.Problems, fmt.Sprintf("run %s=%s ended %q (%s), want merged, none, skipped or superseded", j.key, short(j.value), outs[i].Operation, outs[i].Reason))
		default:
			c.Ops[outs[i].Operation]++
		}
	}
	c.Problems = append(c.Problems, b.leftovers(repo)...)
	b.progress("%s crowd: drained in %s, %d requests, %v", c.Name, c.Time.Round(time.Millisecond), c.Traffic.Requests, c.Ops)
}

func (c *crowdResult) err() error {
	if len(c.Problems) == 0 {
		return nil
	}
	return fmt.Errorf("%s crowd: %d problem(s):\n  %s", c.Name, len(c.Problems), strings.Join(c.Problems, "\n  "))
}

// sameKey: one run per commit of the app's last o.Crowd commits, all bumping
// api.tag, in random order; dev already holds one of them, so the oldest
// few are older than dev (skipped), one is dev's value (none) and the rest
// are newer (one merges the newest, the others are superseded or merge an
// intermediate value on the way).
func (b *bench) sameKey(ctx context.Context, commits int) (*crowdResult, error) {
	k, L := b.o.Crowd, len(b.app)
	older := k / 5
	if older == 0 && k >= 3 {
		older = 1
	}
	values := slices.Clone(b.app[L-k:])
	current := values[min(older, k-1)]
	repo := "infra-same-key"
	c := &crowdResult{Name: "same-key", What: "api.tag", Runs: k, Commits: commits}
	b.progress("same-key crowd: seeding %s/%s with %d commits", owner, repo, commits)
	if _, err := b.seedRepo(repo, commits, tagFile([]string{"api"}, current)); err != nil {
		return nil, fmt.Errorf("same-key crowd: seed: %w", err)
	}
	rand.Shuffle(len(values), func(i, j int) { values[i], values[j] = values[j], values[i] })
	jobs := make([]job, k)
	for i, v := range values {
		jobs[i] = job{"api.tag", v}
	}
	b.crowd(ctx, c, repo, jobs)
	if err := b.expectTag(repo, "api", b.app[L-1]); err != nil {
		c.Problems = append(c.Problems, "final value: "+err.Error())
	}
	return c, c.err()
}

// differentKey: one run per service of one file (svc00.tag, svc01.tag, ...),
// each moving its own key forward.
func (b *bench) differentKey(ctx context.Context, commits int) (*crowdResult, error) {
	k, L := b.o.Crowd, len(b.app)
	repo := "infra-different-key"
	c := &crowdResult{Name: "different-key", What: "svcNN.tag", Runs: k, Commits: commits}
	svcs := make([]string, k)
	jobs := make([]job, k)
	for i := range svcs {
		svcs[i] = fmt.Sprintf("svc%02d", i)
		jobs[i] = job{svcs[i] + ".tag", b.app[1+i%(L-1)]}
	}
	b.progress("different-key crowd: seeding %s/%s with %d commits and %d services", owner, repo, commits, k)
	if _, err := b.seedRepo(repo, commits, tagFile(svcs, b.app[0])); err != nil {
		return nil, fmt.Errorf("different-key crowd: seed: %w", err)
	}
	b.crowd(ctx, c, repo, jobs)
	for i, s := range svcs {
		if err := b.expectTag(repo, s, jobs[i].value); err != nil {
			c.Problems = append(c.Problems, "final value: "+err.Error())
		}
	}
	return c, c.err()
}

func human(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func ms(d time.Duration) string { return fmt.Sprintf("%dms", d.Milliseconds()) }

// opsList is "GET /contents/{path} 3, PUT /pulls/{pull_number}/merge 1, …"
// (the first limit of them, every one when limit is 0).
func opsList(ops []opCount, limit int) string {
	var parts []string
	rest := 0
	for i, o := range ops {
		if limit > 0 && i >= limit {
			rest += o.N
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %d", strings.Replace(o.Operation, " /repos/{owner}/{repo}/", " /", 1), o.N))
	}
	if rest > 0 {
		parts = append(parts, fmt.Sprintf("others %d", rest))
	}
	return strings.Join(parts, ", ")
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

func runsText(n int) string {
	if n == 1 {
		return "one run"
	}
	return fmt.Sprintf("median of %d runs", n)
}

func times(runs []flow) string {
	parts := make([]string, len(runs))
	for i, f := range runs {
		parts[i] = secs(f.Time)
	}
	return strings.Join(parts, " ")
}

// verdict is "met" or "MISSED by ...", for a target printed next to a number.
func verdict(met bool, by string) string {
	if met {
		return "met"
	}
	return "MISSED by " + by
}

// atMost checks got <= limit.
func atMost(got, limit float64, format string) string {
	return fmt.Sprintf(format+" (target <= "+format+"): %s", got, limit, verdict(got <= limit, fmt.Sprintf(format, got-limit)))
}

// fasterTarget is the speed target for a history size, 0 for none.
func fasterTarget(commits int) float64 {
	switch {
	case commits <= 1000:
		return targetFasterSmall
	case commits >= 20000:
		return targetFasterLarge
	}
	return 0
}

func speed(s sizeResult) float64 {
	if s.Ours.Time <= 0 {
		return 0
	}
	return s.Clone.Time.Seconds() / s.Ours.Time.Seconds()
}

func opsText(ops map[string]int) string {
	var parts []string
	for _, op := range []string{openinfrapr.OpMerged, openinfrapr.OpSuperseded, openinfrapr.OpSkipped, openinfrapr.OpNone} {
		parts = append(parts, fmt.Sprintf("%s %d", op, ops[op]))
	}
	var other []string
	for op, n := range ops {
		if !slices.Contains([]string{openinfrapr.OpMerged, openinfrapr.OpSuperseded, openinfrapr.OpSkipped, openinfrapr.OpNone}, op) {
			other = append(other, fmt.Sprintf("%s %d", op, n))
		}
	}
	sort.Strings(other)
	return strings.Join(append(parts, other...), ", ")
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "One dev bump, open-infra-pr (ours) vs the seed's clone flow: local GitHub over loopback, +%s per request (API and git alike), %s; Updater Backoff %s (first wait between merge polls)\n\n",
		r.Latency, runsText(r.Runs), r.Backoff)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "commits\tflow\trequests\tround trips\tcontent-creating\tbytes\twall time\tours vs seed\t")
	for _, s := range r.Sizes {
		fmt.Fprintf(tw, "%d\tseed\t%d (%d git)\t%d\t%d\t%s\t%s\t\t\n", s.Commits,
			s.Clone.Requests, s.Clone.GitRequests, s.Clone.RoundTrips, s.Clone.Writes, human(s.Clone.Bytes), secs(s.Clone.Time))
		fmt.Fprintf(tw, "%d\tours\t%d\t%d\t%d\t%s\t%s\t%.1f× faster\t\n", s.Commits,
			s.Ours.Requests, s.Ours.RoundTrips, s.Ours.Writes, human(s.Ours.Bytes), secs(s.Ours.Time), speed(s))
	}
	tw.Flush()

	if len(r.Sizes) > 0 {
		fmt.Fprintln(w, "\nTargets, clean dev bump (ours; no required-check ruleset on this infra repo, so no wait for checks):")
		for _, s := range r.Sizes {
			fmt.Fprintf(w, "- %d commits: requests %s; round trips %s", s.Commits,
				atMost(float64(s.Ours.Requests), targetRequests, "%.0f"), atMost(float64(s.Ours.RoundTrips), targetRoundTrips, "%.0f"))
			if t := fasterTarget(s.Commits); t > 0 {
				fmt.Fprintf(w, "; %.1f× faster than seed (target >= %.1f×): %s", speed(s), t, verdict(speed(s) >= t, fmt.Sprintf("%.1f×", t-speed(s))))
			}
			fmt.Fprintln(w)
		}
		if len(r.Sizes) > 1 {
			first, last := r.Sizes[0], r.Sizes[len(r.Sizes)-1]
			tr := last.Ours.Time.Seconds() / first.Ours.Time.Seconds()
			// Waves shift by one when a slow read overlaps the next wave, so
			// round trips may differ by one; requests must not differ at all.
			var why []string
			if last.Ours.Requests != first.Ours.Requests {
				why = append(why, fmt.Sprintf("%+d requests", last.Ours.Requests-first.Ours.Requests))
			}
			if d := last.Ours.RoundTrips - first.Ours.RoundTrips; d > 1 || d < -1 {
				why = append(why, fmt.Sprintf("%+d round trips", d))
			}
			if tr > flatTolerance {
				why = append(why, fmt.Sprintf("×%.2f wall time", tr))
			}
			fmt.Fprintf(w, "- flat in history size, %d → %d commits: requests %d → %d, round trips %d → %d, wall time ×%.2f (target: same requests, round trips ±1, time within ×%.2f): %s\n",
				first.Commits, last.Commits, first.Ours.Requests, last.Ours.Requests, first.Ours.RoundTrips, last.Ours.RoundTrips, tr, flatTolerance,
				verdict(len(why) == 0, strings.Join(why, ", ")))
		}
	}

	var one time.Duration
	if len(r.Sizes) > 0 {
		// The clean single bump at the crowds' history size (the smallest).
		small := r.Sizes[0]
		for _, s := range r.Sizes {
			if s.Commits < small.Commits {
				small = s
			}
		}
		one = small.Ours.Time
	}
	if len(r.Crowds) > 0 {
		c0 := r.Crowds[0]
		fmt.Fprintf(w, "\nCrowds: %d concurrent runs each, %d commits of history, +%s per request, merge auto\n\n", c0.Runs, c0.Commits, r.Latency)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "crowd\truns\tdrained in\tvs one bump\trequests/run\tcontent-creating\tbytes\toperations\tchecks\t")
		for _, c := range r.Crowds {
			check := "OK"
			if len(c.Problems) > 0 {
				check = fmt.Sprintf("%d FAILED", len(c.Problems))
			}
			vs := "—"
			if one > 0 {
				vs = fmt.Sprintf("%.1f×", c.Time.Seconds()/one.Seconds())
			}
			fmt.Fprintf(tw, "%s %s\t%d\t%s\t%s\t%.1f\t%d\t%s\t%s\t%s\t\n", c.Name, c.What, c.Runs, secs(c.Time), vs,
				c.perRun(), c.Traffic.Writes, human(c.Traffic.Bytes), opsText(c.Ops), check)
		}
		tw.Flush()
		fmt.Fprintln(w, "\nTargets, crowds:")
		for _, c := range r.Crowds {
			fmt.Fprintf(w, "- %s: requests/run %s", c.Name, atMost(c.perRun(), targetCrowdPerRun, "%.1f"))
			if c.Name == "same-key" {
				fmt.Fprintf(w, "; content-creating %s", atMost(float64(c.Traffic.Writes), targetCrowdWrites, "%.0f"))
				if one > 0 {
					m := c.Time.Seconds() / one.Seconds()
					fmt.Fprintf(w, "; drained in %.1f× one clean bump (%s; target < %.0f×): %s", m, secs(one), targetCrowdDrainMul,
						verdict(m < targetCrowdDrainMul, fmt.Sprintf("%.1f×", m-targetCrowdDrainMul)))
				}
			}
			fmt.Fprintf(w, "; every run merged/none/skipped/superseded, final value the newest, no bot branch or PR left: %s\n", verdict(len(c.Problems) == 0, fmt.Sprintf("%d problem(s)", len(c.Problems))))
		}
	}

	fmt.Fprintln(w, "\nNotes:")
	fmt.Fprintln(w, "- round trips: the request log sorted by Start; a request that starts after the End of every earlier one opens a new")
	fmt.Fprintln(w, "  sequential wave (parallel requests share one). content-creating: API POST/PATCH/PUT/DELETE and git pushes.")
	fmt.Fprintln(w, "- bytes are HTTP body bytes, request + response, from the server's request log (headers not counted, either flow).")
	fmt.Fprintln(w, "- seed = git clone (full) + jq-style rewrite + commit + push of a branch over smart HTTP, then POST pulls + PUT merge (rebase);")
	fmt.Fprintln(w, "  the API part is the fewest requests the seed could make (gh pr create/merge make more).")
	fmt.Fprintln(w, "- ours = openinfrapr.Updater.Run as a push to the app's main starts it (app acme/app, default branch main from the event),")
	fmt.Fprintln(w, "  merge auto, squash; every value is a real app commit, so reachability and order are checked through compare.")
	var gitReqs, gitSlow, unknown int
	for _, s := range r.Sizes {
		for _, f := range append(slices.Clone(s.OursRuns), s.CloneRuns...) {
			gitReqs += f.GitRequests
			gitSlow += f.GitSlow
			unknown += f.UnknownLength
		}
	}
	switch {
	case r.Latency == 0:
		fmt.Fprintln(w, "- no latency injected.")
	case gitReqs > 0 && gitSlow == gitReqs:
		fmt.Fprintf(w, "- the injected latency applies to git smart HTTP too: all %d git requests took >= %s.\n", gitReqs, r.Latency)
	default:
		fmt.Fprintf(w, "- only %d of %d git requests took >= %s: git traffic is measured as is, without the full latency.\n", gitSlow, gitReqs, r.Latency)
	}
	if unknown > 0 {
		fmt.Fprintf(w, "- %d git request bodies were chunked (size unknown to the server) and are missing from the seed's bytes: an undercount.\n", unknown)
	}
	if r.Runs > 1 {
		for _, s := range r.Sizes {
			fmt.Fprintf(w, "- %d commits, every run: ours %s; seed %s.\n", s.Commits, times(s.OursRuns), times(s.CloneRuns))
		}
	}
	for _, s := range r.Sizes {
		fmt.Fprintf(w, "- %d commits, median time the server took per request (the %s injected included): ours %s, seed %s.\n",
			s.Commits, r.Latency, ms(s.Ours.MedianServed), ms(s.Clone.MedianServed))
	}
	if len(r.Sizes) > 0 {
		s := r.Sizes[len(r.Sizes)-1]
		fmt.Fprintf(w, "- ours' requests (%d commits): %s.\n", s.Commits, opsList(s.Ours.ByOperation, 0))
	}
	for _, c := range r.Crowds {
		fmt.Fprintf(w, "- %s crowd: median time the server took per request %s; requests by operation: %s.\n",
			c.Name, ms(c.Traffic.MedianServed), opsList(c.Traffic.ByOperation, 8))
	}
	if len(r.Sizes) > 0 {
		var parts []string
		for _, s := range r.Sizes {
			parts = append(parts, fmt.Sprintf("%d commits: .git %s, seeded in %s", s.Commits, human(s.GitDirBytes), secs(s.SeedTime)))
		}
		fmt.Fprintf(w, "- clone on disk / history seeding (git fast-import, not measured): %s.\n", strings.Join(parts, "; "))
	}
}
