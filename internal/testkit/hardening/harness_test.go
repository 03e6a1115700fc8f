package hardening

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
	"github.com/cicd-excellence/actions/internal/testkit/steptest"
)

// secret is the token every hardening run authenticates with. It is
// distinctive so that a scan can find it (or its Basic-auth encoding)
// anywhere it must not be.
const (
	secret      = "ghs_hardeningSECRET0123456789"
	secretLogin = "hardening-bot[bot]"
)

// TestMain prints the counts the suite gathered as its closing lines, after
// PASS/FAIL (go test -v), and writes them to $HARDENING_SUMMARY if set.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, dir := range templateDirs {
		os.RemoveAll(dir)
	}
	lines := summaryLines()
	for _, line := range lines {
		fmt.Println(line)
	}
	// go test ./... shows a passing package's output to nobody: make test
	// names a file to print the counts from.
	if path := os.Getenv("HARDENING_SUMMARY"); path != "" && len(lines) > 0 {
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "hardening summary:", err)
			code = 1
		}
	}
	os.Exit(code)
}

var tally = struct {
	sync.Mutex
	badInputs map[string]int // action -> cases
	faults    map[string][2]int
}{badInputs: map[string]int{}, faults: map[string][2]int{}}

// countBadInputs records how many bad-input cases an action's catalogue has.
func countBadInputs(t *testing.T, step string, n int) {
	tally.Lock()
	tally.badInputs[step] = n
	total := 0
	for _, v := range tally.badInputs {
		total += v
	}
	tally.Unlock()
	t.Logf("bad inputs: %s %d cases (total so far %d)", step, n, total)
}

// countFault records one fault run of a step.
func countFault(step string, ok bool) {
	tally.Lock()
	defer tally.Unlock()
	c := tally.faults[step]
	if ok {
		c[0]++
	} else {
		c[1]++
	}
	tally.faults[step] = c
}

func summaryLines() []string {
	tally.Lock()
	defer tally.Unlock()
	var out []string
	if len(tally.badInputs) > 0 {
		names := slices.Sorted(maps.Keys(tally.badInputs))
		total := 0
		var parts []string
		for _, n := range names {
			total += tally.badInputs[n]
			parts = append(parts, fmt.Sprintf("%s %d", n, tally.badInputs[n]))
		}
		out = append(out, fmt.Sprintf("bad inputs: %d cases (%s)", total, strings.Join(parts, ", ")))
	}
	if len(tally.faults) > 0 {
		pass, fail := 0, 0
		for _, n := range slices.Sorted(maps.Keys(tally.faults)) {
			c := tally.faults[n]
			pass += c[0]
			fail += c[1]
			out = append(out, fmt.Sprintf("faults %s: %d passed, %d failed", n, c[0], c[1]))
		}
		out = append(out, fmt.Sprintf("faults: %d passed, %d failed", pass, fail))
	}
	return out
}

// result is what one in-process run of a step left behind.
type result = steptest.Result

// runStep runs a step in-process the way a runner runs its action
// (steptest), keeping a $GITHUB_OUTPUT the runner cannot read for the
// checks to report.
func runStep(t testing.TB, step action.Step, workDir string, env ...string) result {
	t.Helper()
	return steptest.RunWith(t, step, runOptions(workDir, env)...)
}

// runOptions are every hardening run's: the step waits (rate-limit resets,
// Retry-After, merge polls) at most maxSleep each.
func runOptions(workDir string, env []string, more ...steptest.Option) []steptest.Option {
	return append([]steptest.Option{steptest.WorkDir(workDir), steptest.Env(env...), steptest.RawOutput(), steptest.MaxSleep(maxSleep)}, more...)
}

// maxSleep: long enough that retries still interleave with other requests.
const maxSleep = 50 * time.Millisecond

// problems collects what a check found, so that one case can report all of
// them (and the fault matrix can count a run as failed without stopping).
type problems []string

func (p *problems) addf(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p problems) report(t testing.TB, res result) {
	t.Helper()
	if len(p) == 0 {
		return
	}
	t.Errorf("%s\nerror: %v\nlog:\n%s\noutputs: %q", strings.Join(p, "\n"), res.Err, res.Log, res.RawOutput)
}

// checkSecrets is the scan every hardening run goes through: no log line,
// output, summary or error may hold a secret, except the ::add-mask:: line
// the runtime prints on purpose.
func checkSecrets(p *problems, res result, secrets ...string) {
	if len(secrets) == 0 {
		secrets = []string{secret}
	}
	for _, l := range steptest.Leaks(res, secrets...) {
		p.addf("%s", l)
	}
}

// allowedCommands are the workflow commands the runtime means to print.
var allowedCommands = map[string]bool{
	"add-mask": true, "notice": true, "warning": true, "error": true,
	"group": true, "endgroup": true, "debug": true,
}

// checkCommands reads the log as the runner does: every line that starts
// with "::" (after blanks) is a workflow command. Only the runtime's own are
// allowed, and add-mask only for the given secrets: a second add-mask from
// data would hide text, a set-output or stop-commands would take over.
func checkCommands(p *problems, log string, masks ...string) {
	if len(masks) == 0 {
		masks = []string{secret}
	}
	for i, line := range strings.Split(log, "\n") {
		l := strings.TrimLeft(strings.TrimRight(line, "\r"), " \t")
		if !strings.HasPrefix(l, "::") {
			continue
		}
		rest := l[2:]
		end := strings.Index(rest, "::")
		if end < 0 {
			continue // not a command: the runner needs a second "::"
		}
		name, _, _ := strings.Cut(rest[:end], " ")
		if !allowedCommands[strings.ToLower(name)] {
			p.addf("log line %d is a workflow command the runtime never prints: %q", i+1, line)
			continue
		}
		if strings.EqualFold(name, "add-mask") {
			v := rest[end+2:]
			ok := false
			for _, m := range masks {
				ok = ok || v == m
			}
			if !ok {
				p.addf("log line %d masks something that is not a secret of the run: %q", i+1, line)
			}
		}
	}
}

// checkOneLine: the error is what the user sees as one annotation.
func checkOneLine(p *problems, err error) {
	if err == nil {
		return
	}
	msg := err.Error()
	if strings.ContainsAny(strings.TrimSpace(msg), "\r\n") {
		p.addf("the error spans lines: %q", msg)
	}
	if strings.TrimSpace(msg) == "" {
		p.addf("the error is empty")
	}
}

// checkNoOutputs: a refused run writes no output.
func checkNoOutputs(p *problems, res result) {
	if res.RawOutput != "" {
		p.addf("outputs were written by a failed run: %q", res.RawOutput)
	}
}

// checkOutputsReadable: the runner can read $GITHUB_OUTPUT and finds only
// the outputs the action declares.
func checkOutputsReadable(p *problems, res result, step action.Step) {
	if res.OutputsErr != nil {
		p.addf("$GITHUB_OUTPUT is not readable by the runner: %v", res.OutputsErr)
		return
	}
	m := action.MustParseManifest(step.Manifest)
	for name := range res.Outputs {
		if _, ok := m.Outputs[name]; !ok {
			p.addf("output %q is not an output of %s (injected?)", name, step.Name)
		}
	}
}

// checkWorkspaceGit: the checkout holds the token nowhere: not in its git
// config, not in a remote URL, not in any file under .git.
func checkWorkspaceGit(p *problems, dir string) {
	if dir == "" {
		return
	}
	if _, err := os.Stat(filepath.Join(dir, ".git")); err != nil {
		return
	}
	cfg, err := exec.Command("git", "-C", dir, "config", "--list", "--show-origin").CombinedOutput()
	if err != nil {
		p.addf("git config --list: %v\n%s", err, cfg)
	}
	// Remote URLs (and the insteadOf rules that rewrite them) are config
	// values: the list holds them, so a second git process for
	// "git remote -v" would find nothing more.
	for _, form := range steptest.SecretForms(secret) {
		if strings.Contains(string(cfg), form) {
			p.addf("the workspace's git config (remote URLs included) holds the token:\n%s", cfg)
		}
	}
	filepath.WalkDir(filepath.Join(dir, ".git"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err == nil && bytes.Contains(data, []byte(secret)) {
			p.addf("%s holds the token", path)
		}
		return nil
	})
}

// scanAll is what every run of the suite is put through.
func scanAll(p *problems, res result, step action.Step, masks ...string) {
	checkSecrets(p, res, masks...)
	checkCommands(p, res.Log, masks...)
	checkOneLine(p, res.Err)
	checkOutputsReadable(p, res, step)
	checkWorkspaceGit(p, res.WorkDir)
}

// gitRepo makes a git repository with files committed, and returns the
// commit.
func gitRepo(t testing.TB, dir string, files map[string]string) string {
	t.Helper()
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if _, err := os.Stat(filepath.Join(dir, ".git")); err != nil {
		git("init", "--quiet", "-b", "main")
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("add", "-A")
	git("commit", "--quiet", "--allow-empty", "-m", "commit")
	return git("rev-parse", "HEAD")
}

// ghState is what a run may change on the local GitHub.
type ghState struct {
	refs        map[string]map[string]string // repo -> ref -> sha
	pulls       map[string][]githubtest.PullRequest
	comments    map[string]int
	deployments map[string][]githubtest.Deployment
}

func snapshot(t testing.TB, srv *githubtest.Server, repos ...string) ghState {
	t.Helper()
	s := ghState{refs: map[string]map[string]string{}, pulls: map[string][]githubtest.PullRequest{}, comments: map[string]int{}, deployments: map[string][]githubtest.Deployment{}}
	for _, full := range repos {
		owner, name, _ := strings.Cut(full, "/")
		refs, err := srv.Refs(owner, name)
		if err != nil {
			t.Fatal(err)
		}
		s.refs[full] = refs
		for n := 1; ; n++ {
			pr, err := srv.PullRequest(owner, name, n)
			if err != nil {
				break
			}
			s.pulls[full] = append(s.pulls[full], pr)
			cs, _ := srv.Comments(owner, name, n)
			s.comments[full] += len(cs)
		}
		s.deployments[full], _ = srv.Deployments(owner, name)
	}
	return s
}

// diff says what changed between two snapshots, "" when nothing did.
func (s ghState) diff(after ghState) string {
	var out []string
	for repo, refs := range after.refs {
		before := s.refs[repo]
		for ref, sha := range refs {
			if before[ref] != sha {
				out = append(out, fmt.Sprintf("%s: %s %s -> %s", repo, ref, short(before[ref]), short(sha)))
			}
		}
		for ref := range before {
			if _, ok := refs[ref]; !ok {
				out = append(out, fmt.Sprintf("%s: %s deleted", repo, ref))
			}
		}
		if a, b := len(after.pulls[repo]), len(s.pulls[repo]); a != b {
			out = append(out, fmt.Sprintf("%s: %d new pull requests", repo, a-b))
		}
		for i, pr := range after.pulls[repo] {
			if i < len(s.pulls[repo]) && (pr.State != s.pulls[repo][i].State || pr.Merged != s.pulls[repo][i].Merged) {
				out = append(out, fmt.Sprintf("%s: PR #%d is now %s (merged %t)", repo, pr.Number, pr.State, pr.Merged))
			}
		}
		if a, b := after.comments[repo], s.comments[repo]; a != b {
			out = append(out, fmt.Sprintf("%s: %d new comments", repo, a-b))
		}
		if a, b := len(after.deployments[repo]), len(s.deployments[repo]); a != b {
			out = append(out, fmt.Sprintf("%s: %d new deployments", repo, a-b))
		}
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// writes lists the mutating requests the step's token made; with ok, only
// those GitHub accepted (status below 400).
func writes(srv *githubtest.Server, login string, ok bool) []string {
	var out []string
	for _, r := range srv.Requests() {
		if r.Login != login {
			continue
		}
		switch r.Method {
		case "POST", "PUT", "PATCH", "DELETE":
			if ok && (r.Status == 0 || r.Status >= 400) {
				continue
			}
			out = append(out, fmt.Sprintf("%s %s -> %d", r.Method, r.Path, r.Status))
		}
	}
	return out
}

func short(s string) string {
	if len(s) > 7 {
		return s[:7]
	}
	if s == "" {
		return "(none)"
	}
	return s
}
