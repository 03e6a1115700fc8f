// Command bench measures what one environment bump costs with open-infra-pr
// (API only: contents read, Git Data tree + commit + ref, PR, rebase merge)
// against the seed's flow (full `git clone` over smart HTTP, jq-style edit,
// commit, push a branch, open and merge the PR through the API), on the local
// GitHub over loopback with injected latency per request, for infra repos of
// growing history. It also times 20 concurrent open-infra-pr runs changing
// different keys of one file until all of them have landed.
//
//	make bench    (or: go run ./internal/bench [-quick] [-commits 1000,10000,50000] [-latency 50ms] [-writers 20])
//
// Progress goes to stderr, the table to stdout. See README.md.
package main

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
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
	"github.com/cicd-excellence/actions/internal/githubtest"
	"github.com/cicd-excellence/actions/internal/version"
)

const (
	owner   = "acme"
	envFile = "envs/dev.json"
	token   = githubtest.DefaultToken
)

// options are the command's flags.
type options struct {
	Commits []int
	Latency time.Duration
	Writers int
	Runs    int // runs of each flow per size; the table shows the median
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
	commits := fl.String("commits", "1000,10000,50000", "history sizes of the infra repo, comma-separated")
	latency := fl.Duration("latency", 50*time.Millisecond, "latency added to every request (API and git smart HTTP)")
	writers := fl.Int("writers", 20, "concurrent open-infra-pr runs for the drain measurement (0 skips it)")
	runs := fl.Int("runs", 3, "runs of each flow per history size (the table shows the median run)")
	quick := fl.Bool("quick", false, "smoke test: 1000 commits only")
	verbose := fl.Bool("v", false, "log the updaters' steps and every request")
	if err := fl.Parse(args); err != nil {
		return options{}, err
	}
	if fl.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments %q", fl.Args())
	}
	o := options{Latency: *latency, Writers: *writers, Runs: *runs, Verbose: *verbose}
	if *quick {
		*commits = "1000"
	}
	for _, s := range strings.Split(*commits, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return options{}, fmt.Errorf("-commits: %q is not a positive number", s)
		}
		o.Commits = append(o.Commits, n)
	}
	if o.Latency < 0 || o.Writers < 0 || o.Runs < 1 {
		return options{}, fmt.Errorf("-latency and -writers must not be negative, -runs at least 1")
	}
	return o, nil
}

// traffic is what a flow cost, from the server's request log. Bytes are
// HTTP body bytes (request + response); headers are not counted for either
// flow.
type traffic struct {
	Requests    int
	Bytes       int64
	APIRequests int
	APIBytes    int64
	GitRequests int
	GitBytes    int64
	// GitSlow is how many git requests took at least the injected latency:
	// the evidence that git paid it too.
	GitSlow int
	// UnknownLength counts git requests whose body size the server could
	// not log (chunked uploads); their request bodies are missing from Bytes.
	UnknownLength int
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

type drainResult struct {
	Writers, Commits int
	Time             time.Duration
	Traffic          traffic
	Merges           int       // PUT .../merge attempts
	TopBytes         []opBytes // the operations that moved the most bytes
	CommitsWritten   int       // Git Data commits created (first writes + rebuilds)
}

type opBytes struct {
	Operation string
	Requests  int
	Bytes     int64
}

// byOperation sums the request log per operation, most bytes first.
func byOperation(reqs []githubtest.Request) []opBytes {
	m := map[string]*opBytes{}
	for _, r := range reqs {
		o := m[r.Operation]
		if o == nil {
			o = &opBytes{Operation: r.Operation}
			m[r.Operation] = o
		}
		o.Requests++
		o.Bytes += max(r.RequestBytes, 0) + r.ResponseBytes
	}
	out := make([]opBytes, 0, len(m))
	for _, o := range m {
		out = append(out, *o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Bytes > out[j].Bytes })
	return out
}

type report struct {
	Latency time.Duration
	Runs    int
	Sizes   []sizeResult
	Drain   *drainResult
}

type bench struct {
	o   options
	log io.Writer
	srv *githubtest.Server
	gh  *gh.Client
	tmp string
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
	if o.Runs < 1 {
		o.Runs = 1
	}
	b.o = o
	rep := &report{Latency: o.Latency, Runs: o.Runs}
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
	for _, n := range b.o.Commits {
		r, err := b.size(ctx, n)
		if err != nil {
			return fmt.Errorf("%d commits: %w", n, err)
		}
		rep.Sizes = append(rep.Sizes, *r)
	}
	if b.o.Writers > 0 {
		n := b.o.Commits[0]
		for _, c := range b.o.Commits {
			n = min(n, c)
		}
		d, err := b.drain(ctx, n)
		if err != nil {
			return fmt.Errorf("%d writers: %w", b.o.Writers, err)
		}
		rep.Drain = d
	}
	return nil
}

func newClient(srv *githubtest.Server) (*gh.Client, error) {
	return ghclient.New(srv.APIURL(), &ghclient.Transport{Token: token, UserAgent: version.UserAgent()})
}

// fakeSHA is a stable, valid-looking commit SHA for a label.
func fakeSHA(label string) string {
	s := sha1.Sum([]byte(label))
	return hex.EncodeToString(s[:])
}

// seedRepo creates owner/name with n commits of history and files on top.
func (b *bench) seedRepo(name string, n int, files func(tip string) string) (time.Duration, error) {
	start := time.Now()
	if err := b.srv.CreateRepo(githubtest.RepoConfig{Owner: owner, Name: name}); err != nil {
		return 0, err
	}
	tip, err := b.srv.CreateHistory(owner, name, "main", n)
	if err != nil {
		return 0, err
	}
	if _, err := b.srv.CommitFiles(owner, name, "main", map[string]string{envFile: files(tip)}, "envs: dev"); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// size measures both flows on a fresh repository with n commits.
func (b *bench) size(ctx context.Context, n int) (*sizeResult, error) {
	name := fmt.Sprintf("infra-%d", n)
	b.progress("%d commits: seeding %s/%s", n, owner, name)
	seed, err := b.seedRepo(name, n, func(tip string) string {
		return fmt.Sprintf("{\n  \"api\": {\n    \"tag\": %q\n  }\n}\n", tip)
	})
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
	for i := 1; i <= b.o.Runs; i++ {
		want := fakeSHA(fmt.Sprintf("ours-%d-%d", n, i))
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
		ours = append(ours, f)
		b.progress("%d commits, run %d/%d: ours (open-infra-pr, merge auto, rebase): %d requests, %s, %s",
			n, i, b.o.Runs, f.Requests, human(f.Bytes), f.Time.Round(time.Millisecond))

		want = fakeSHA(fmt.Sprintf("seed-%d-%d", n, i))
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
		b.progress("%d commits, run %d/%d: seed (clone, edit, commit, push, PR, merge): %d requests (%d git), %s, %s; .git is %s",
			n, i, b.o.Runs, f.Requests, f.GitRequests, human(f.Bytes), f.Time.Round(time.Millisecond), human(gitDir))
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

func (b *bench) updater(repo, key, value string, client *gh.Client) *openinfrapr.Updater {
	p, err := envfile.ParsePath(key)
	if err != nil {
		panic(err) // keys are ours
	}
	u := &openinfrapr.Updater{
		GH: client,
		Cfg: openinfrapr.Config{
			Owner: owner, Repo: repo, Environment: "dev", File: envFile,
			Edits:        []envfile.Edit{{Path: p, Value: value}},
			Merge:        openinfrapr.MergeAuto,
			MergeMethod:  "rebase",
			MergeTimeout: 5 * time.Minute,
			Title:        "{environment}: {changes}",
			HotfixPrefix: "hotfixes/",
			Actor:        "bench",
			ServerURL:    b.srv.URL,
			// AppOwner empty: no app-repo ordering/reachability checks.
		},
	}
	if b.o.Verbose {
		u.Log = func(format string, args ...any) { b.progress("  %s: "+format, append([]any{key}, args...)...) }
	}
	return u
}

// traffic sums the request log since the last reset.
func (b *bench) traffic() traffic {
	var t traffic
	for _, r := range b.srv.Requests() {
		if b.o.Verbose {
			b.progress("  %3d %-6s %-60s req %7d resp %8d %s", r.Status, r.Method, r.Path, r.RequestBytes, r.ResponseBytes, r.Duration.Round(time.Millisecond))
		}
		req := r.RequestBytes
		if req < 0 {
			t.UnknownLength++
			req = 0
		}
		n := req + r.ResponseBytes
		t.Requests++
		t.Bytes += n
		if strings.HasSuffix(r.Operation, ".git/{path}") {
			t.GitRequests++
			t.GitBytes += n
			if b.o.Latency > 0 && r.Duration >= b.o.Latency {
				t.GitSlow++
			}
		} else {
			t.APIRequests++
			t.APIBytes += n
		}
	}
	return t
}

func (b *bench) expectTag(repo, svc, want string) error {
	text, err := b.srv.ReadFile(owner, repo, "main", envFile)
	if err != nil {
		return err
	}
	var doc map[string]map[string]any
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		return fmt.Errorf("%s on main is not JSON: %w", envFile, err)
	}
	if got := doc[svc]["tag"]; got != want {
		return fmt.Errorf("%s on main has %s.tag = %v, want %s", envFile, svc, got, want)
	}
	return nil
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

// drain runs o.Writers updaters at once, each moving its own svcNN.tag of
// one file, and waits until every one has merged.
func (b *bench) drain(ctx context.Context, commits int) (*drainResult, error) {
	w := b.o.Writers
	name := "infra-writers"
	b.progress("%d writers: seeding %s/%s with %d commits and %d services", w, owner, name, commits, w)
	if _, err := b.seedRepo(name, commits, func(tip string) string {
		var s strings.Builder
		s.WriteString("{\n")
		for i := 0; i < w; i++ {
			sep := ","
			if i == w-1 {
				sep = ""
			}
			fmt.Fprintf(&s, "  %q: {\n    \"tag\": %q\n  }%s\n", svc(i), tip, sep)
		}
		s.WriteString("}\n")
		return s.String()
	}); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	b.srv.Faults().Latency(b.o.Latency)
	defer b.srv.Faults().Latency(0)
	b.srv.ResetRequests()

	b.progress("%d writers: running", w)
	var wg sync.WaitGroup
	errs := make([]error, w)
	start := time.Now()
	for i := 0; i < w; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each writer is its own job: its own client and connections.
			client, err := newClient(b.srv)
			if err != nil {
				errs[i] = err
				return
			}
			out, err := b.updater(name, svc(i)+".tag", fakeSHA(svc(i)), client).Run(ctx)
			switch {
			case err != nil:
				errs[i] = err
			case out.Operation != openinfrapr.OpMerged:
				errs[i] = fmt.Errorf("operation %s (%s), want merged", out.Operation, out.Reason)
			}
		}()
	}
	wg.Wait()
	d := &drainResult{Writers: w, Commits: commits, Time: time.Since(start), Traffic: b.traffic()}
	d.Merges = b.srv.CountRequests("PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge")
	d.TopBytes = byOperation(b.srv.Requests())
	if len(d.TopBytes) > 3 {
		d.TopBytes = d.TopBytes[:3]
	}
	d.CommitsWritten = b.srv.CountRequests("POST /repos/{owner}/{repo}/git/commits")
	b.progress("%d writers: done in %s, %d requests", w, d.Time.Round(time.Millisecond), d.Traffic.Requests)

	var failed []string
	for i, err := range errs {
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", svc(i), err))
		}
	}
	for i := 0; i < w; i++ {
		if err := b.expectTag(name, svc(i), fakeSHA(svc(i))); err != nil {
			failed = append(failed, err.Error())
		}
	}
	if len(failed) > 0 {
		text, _ := b.srv.ReadFile(owner, name, "main", envFile)
		return d, fmt.Errorf("not every writer landed (%d problems):\n  %s\nfinal %s:\n%s", len(failed), strings.Join(failed, "\n  "), envFile, text)
	}
	return d, nil
}

func svc(i int) string { return fmt.Sprintf("svc%02d", i) }

func human(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func ratio(a, b float64) string {
	if b == 0 {
		return "—"
	}
	r := a / b
	if r >= 10 {
		return fmt.Sprintf("%.0fx", r)
	}
	return fmt.Sprintf("%.1fx", r)
}

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

func secs(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "open-infra-pr vs the seed's clone flow: one dev bump on the local GitHub over loopback, +%s per request (%s)\n\n", r.Latency, runsText(r.Runs))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "commits\tours: requests\tbytes\ttime\tseed: requests\tbytes\ttime\tbytes seed/ours\ttime seed/ours\t")
	for _, s := range r.Sizes {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%d (%d git)\t%s\t%s\t%s\t%s\t\n", s.Commits,
			s.Ours.Requests, human(s.Ours.Bytes), secs(s.Ours.Time),
			s.Clone.Requests, s.Clone.GitRequests, human(s.Clone.Bytes), secs(s.Clone.Time),
			ratio(float64(s.Clone.Bytes), float64(s.Ours.Bytes)), ratio(s.Clone.Time.Seconds(), s.Ours.Time.Seconds()))
	}
	tw.Flush()
	if r.Drain != nil {
		d := r.Drain
		fmt.Fprintf(w, "\n%d concurrent writers (svcNN.tag of one file, %d commits of history): all %d landed in %s, %d requests (%s), %d merge attempts, %d commits written\n",
			d.Writers, d.Commits, d.Writers, secs(d.Time), d.Traffic.Requests, human(d.Traffic.Bytes), d.Merges, d.CommitsWritten)
		var top []string
		for _, o := range d.TopBytes {
			top = append(top, fmt.Sprintf("%s: %d requests, %s", o.Operation, o.Requests, human(o.Bytes)))
		}
		fmt.Fprintf(w, "  most bytes: %s\n", strings.Join(top, "; "))
	}
	fmt.Fprintln(w, "\nNotes:")
	fmt.Fprintln(w, "- bytes are HTTP body bytes, request + response, from the server's request log (headers not counted, either flow).")
	fmt.Fprintln(w, "- seed = git clone (full) + jq-style rewrite + commit + push of a branch over smart HTTP, then POST pulls + PUT merge (rebase);")
	fmt.Fprintln(w, "  the API part is the fewest requests the seed could make (gh pr create/merge make more).")
	var gitReqs, gitSlow, unknown int
	for _, s := range r.Sizes {
		for _, f := range append(append([]flow(nil), s.OursRuns...), s.CloneRuns...) {
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
	if len(r.Sizes) > 0 {
		var parts []string
		for _, s := range r.Sizes {
			parts = append(parts, fmt.Sprintf("%d commits: .git %s, seeded in %s", s.Commits, human(s.GitDirBytes), secs(s.SeedTime)))
		}
		fmt.Fprintf(w, "- clone on disk / history seeding (git fast-import, not measured): %s.\n", strings.Join(parts, "; "))
	}
}
