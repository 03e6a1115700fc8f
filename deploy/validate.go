package deploy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/ancestry"
	"github.com/cicd-excellence/actions/internal/envdiff"
	"github.com/cicd-excellence/actions/internal/envfile"
	"github.com/cicd-excellence/actions/internal/event"
	"github.com/cicd-excellence/actions/internal/ghclient"
	"github.com/cicd-excellence/actions/internal/refname"
)

// Problem is one failed rule, pointing at a file and line.
type Problem struct {
	File string
	Line int
	Rule string
	Msg  string
}

// validateConfig is validate's inputs.
type validateConfig struct {
	common
	pattern      *regexp.Regexp
	chain        []string
	bots         []string
	appOwner     string
	appRepo      string
	hotfixPrefix string
}

func readValidate(r *action.Runtime, c common) (validateConfig, error) {
	v := validateConfig{common: c, chain: r.ListInput("promotion-chain"), bots: r.ListInput("bot"), hotfixPrefix: r.Input("hotfix-prefix")}
	p := r.Input("version-pattern")
	if p == "" {
		p = "^[0-9a-f]{40}$"
	}
	var err error
	if v.pattern, err = regexp.Compile(p); err != nil {
		return v, action.Inputf("version-pattern", "is not a regular expression: %v", err)
	}
	for _, e := range v.chain {
		if err := validEnvironment(e); err != nil {
			return v, action.Inputf("promotion-chain", "%v", err)
		}
	}
	if app := r.Input("app-repo"); app != "" {
		if v.appOwner, v.appRepo, err = refname.Repo(app); err != nil {
			return v, action.Inputf("app-repo", "%v", err)
		}
	}
	if v.hotfixPrefix == "" {
		v.hotfixPrefix = "hotfixes/"
	}
	return v, nil
}

// runValidate is the infra repo's required check on pull requests.
func runValidate(ctx context.Context, r *action.Runtime, ev *event.Context, c common) error {
	cfg, err := readValidate(r, c)
	if err != nil {
		return err
	}
	var client *gh.Client
	if cfg.appOwner != "" || len(cfg.bots) > 0 {
		if client, err = ghclient.FromRuntime(r); err != nil {
			return err
		}
	}
	v := &validator{cfg: cfg, gh: client, git: envdiff.GitReader{Dir: r.WorkDir}, dir: r.WorkDir, ev: ev}
	problems, checked, err := v.run(ctx)
	if err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	for _, p := range problems {
		r.ErrorAt(p.File, p.Line, "%s: %s", p.Rule, p.Msg)
	}
	if err := r.Summary(validateSummary(checked, problems)); err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("validate: %d problem(s) in the environment files; see the annotations", len(problems))
	}
	r.Infof("validate: %d environment file(s) pass every rule", len(checked))
	return nil
}

type validator struct {
	cfg      validateConfig
	gh       *gh.Client
	git      envdiff.GitReader
	dir      string
	ev       *event.Context
	problems []Problem
}

func (v *validator) add(file string, line int, rule, format string, args ...any) {
	v.problems = append(v.problems, Problem{File: file, Line: line, Rule: rule, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) run(ctx context.Context) ([]Problem, []string, error) {
	files, err := filepath.Glob(filepath.Join(v.dir, filepath.FromSlash(v.cfg.dir), "*.json"))
	if err != nil {
		return nil, nil, err
	}
	if len(files) == 0 {
		v.add(v.cfg.dir, 0, "files", "no environment files (*.json) in %s", v.cfg.dir)
		return v.problems, nil, nil
	}
	head := map[string]map[string]string{} // env -> tracked values in this checkout
	var checked []string
	for _, f := range files {
		env := strings.TrimSuffix(filepath.Base(f), ".json")
		rel, _ := envFile(v.cfg.dir, env)
		checked = append(checked, rel)
		if err := validEnvironment(env); err != nil {
			v.add(rel, 0, "name", "%v", err)
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, err
		}
		vals, err := envfile.Values(data, v.cfg.patterns)
		if err != nil {
			v.add(rel, lineOf(err), "parse", "%v", err)
			continue
		}
		if len(vals) == 0 {
			v.add(rel, 0, "tracked", "no tracked key (%s) in the file", strings.Join(v.cfg.tracked, ", "))
		}
		for _, k := range sortedKeys(vals) {
			if !v.cfg.pattern.MatchString(vals[k]) {
				v.add(rel, lineAt(data, k), "version", "%s = %q does not match %s", k, vals[k], v.cfg.pattern)
			}
		}
		head[env] = vals
	}
	if err := v.commitsExist(ctx, head); err != nil {
		return nil, nil, err
	}
	if v.isPR() {
		base, err := v.baseValues(ctx, head)
		if err != nil {
			return nil, nil, err
		}
		if err := v.promotionOrder(ctx, head, base); err != nil {
			return nil, nil, err
		}
		if slices.Contains(v.cfg.bots, v.ev.PRAuthor) {
			if err := v.botGuard(ctx, head); err != nil {
				return nil, nil, err
			}
		}
	}
	sort.Strings(checked)
	return v.problems, checked, nil
}

func (v *validator) isPR() bool {
	return (v.ev.Name == event.PullRequest || v.ev.Name == event.PullRequestTarget) && refname.IsFullSHA(v.ev.BaseSHA) && refname.IsFullSHA(v.ev.SHA)
}

// commitsExist checks every distinct version names a commit of the app repo.
func (v *validator) commitsExist(ctx context.Context, head map[string]map[string]string) error {
	if v.gh == nil || v.cfg.appOwner == "" {
		return nil
	}
	seen := map[string]bool{}
	for _, env := range sortedKeys(head) {
		rel, _ := envFile(v.cfg.dir, env)
		for _, k := range sortedKeys(head[env]) {
			sha := head[env][k]
			if seen[sha] || !refname.IsFullSHA(sha) {
				continue
			}
			seen[sha] = true
			_, _, err := v.gh.Repositories.GetCommit(ctx, v.cfg.appOwner, v.cfg.appRepo, sha, &gh.ListOptions{PerPage: 1})
			switch s := status(err); {
			case err == nil:
			case s == 404 || s == 422:
				v.add(rel, 0, "exists", "%s = %s is not a commit of %s/%s", k, sha, v.cfg.appOwner, v.cfg.appRepo)
			default:
				return ghclient.Wrap("check commit "+sha, v.cfg.appOwner+"/"+v.cfg.appRepo, err)
			}
		}
	}
	return nil
}

// baseValues reads the tracked values of every environment at the PR's base.
func (v *validator) baseValues(ctx context.Context, head map[string]map[string]string) (map[string]map[string]string, error) {
	base := map[string]map[string]string{}
	for env := range head {
		rel, _ := envFile(v.cfg.dir, env)
		data, ok, err := v.git.ReadFile(ctx, v.ev.BaseSHA, rel)
		if err != nil {
			return nil, fmt.Errorf("read %s at the PR base %s (check out with fetch-depth: 0): %w", rel, v.ev.BaseSHA[:7], err)
		}
		if !ok {
			base[env] = map[string]string{}
			continue
		}
		if base[env], err = envfile.Values(data, v.cfg.patterns); err != nil {
			base[env] = map[string]string{} // a broken base is what this PR may fix
		}
	}
	return base, nil
}

// promotionOrder: a version entering an environment of the chain must be,
// or have been, in the environment before it.
func (v *validator) promotionOrder(ctx context.Context, head, base map[string]map[string]string) error {
	for i := 1; i < len(v.cfg.chain); i++ {
		env, prev := v.cfg.chain[i], v.cfg.chain[i-1]
		rel, _ := envFile(v.cfg.dir, env)
		prevRel, _ := envFile(v.cfg.dir, prev)
		for _, k := range sortedKeys(head[env]) {
			val := head[env][k]
			if base[env][k] == val {
				continue // not changed by this PR
			}
			if head[prev][k] == val {
				continue
			}
			was, err := v.wasIn(ctx, prevRel, val)
			if err != nil {
				return err
			}
			if !was {
				data, _ := os.ReadFile(filepath.Join(v.dir, filepath.FromSlash(rel)))
				v.add(rel, lineAt(data, k), "promotion", "%s = %s was never in %s: promote it there first (%s → %s)", k, shortSHA(val), prev, prev, env)
			}
		}
	}
	return nil
}

// wasIn searches the history of file, as of the PR head, for the value.
func (v *validator) wasIn(ctx context.Context, file, value string) (bool, error) {
	cmd := exec.CommandContext(ctx, "git", "-C", v.dir, "log", "--format=%H", "-S", value, v.ev.SHA, "--", file)
	out, err := cmd.Output()
	if err != nil {
		return false, fmt.Errorf("search the history of %s (check out with fetch-depth: 0): %w", file, err)
	}
	return strings.TrimSpace(string(out)) != "", nil
}

// botGuard is the compensating control for letting the bot merge without a
// human: its PR may change version values of one environment only, to commits
// on the app's default branch or a hotfix branch.
func (v *validator) botGuard(ctx context.Context, head map[string]map[string]string) error {
	out, err := exec.CommandContext(ctx, "git", "-C", v.dir, "diff", "--name-only", "--no-renames", v.ev.BaseSHA, v.ev.SHA, "--").Output()
	if err != nil {
		return fmt.Errorf("list the PR's files (check out with fetch-depth: 0): %w", err)
	}
	files := strings.Fields(string(out))
	who := v.ev.PRAuthor
	if len(files) != 1 {
		v.add(firstOr(files, v.cfg.dir), 0, "bot", "a PR by %s may change one environment file; it changes %d files (%s)", who, len(files), strings.Join(files, ", "))
		return nil
	}
	file := files[0]
	env := strings.TrimSuffix(filepath.Base(file), ".json")
	if rel, _ := envFile(v.cfg.dir, env); rel != file {
		v.add(file, 0, "bot", "a PR by %s may change only environment files under %s", who, v.cfg.dir)
		return nil
	}
	before, _, err := v.git.ReadFile(ctx, v.ev.BaseSHA, file)
	if err != nil {
		return err
	}
	after, ok, err := v.git.ReadFile(ctx, v.ev.SHA, file)
	if err != nil {
		return err
	}
	if !ok || before == nil {
		v.add(file, 0, "bot", "a PR by %s may not add or delete an environment file", who)
		return nil
	}
	// Re-applying the head's tracked values to the base must give the head
	// byte for byte: anything else changed is not a version bump.
	var edits []envfile.Edit
	for _, k := range sortedKeys(head[env]) {
		p, err := envfile.ParsePath(k)
		if err != nil {
			return err
		}
		edits = append(edits, envfile.Edit{Path: p, Value: head[env][k]})
	}
	rebuilt, changes, err := envfile.Set(before, edits, envfile.SetOptions{})
	if err != nil || string(rebuilt) != string(after) {
		v.add(file, 0, "bot", "a PR by %s may change only tracked version values (%s); it changes other content", who, strings.Join(v.cfg.tracked, ", "))
		return nil
	}
	if v.gh == nil || v.cfg.appOwner == "" {
		v.add(file, 0, "bot", "app-repo is not set, so the bot's new versions cannot be checked against the app's branches")
		return nil
	}
	for _, ch := range changes {
		_, ok, err := ancestry.Reachable(ctx, v.gh, v.cfg.appOwner, v.cfg.appRepo, ch.New, v.cfg.hotfixPrefix)
		if err != nil {
			return err
		}
		if !ok {
			v.add(file, lineAt(after, ch.Path), "bot", "%s = %s is not on %s/%s's default branch or a %s* branch", ch.Path, shortSHA(ch.New), v.cfg.appOwner, v.cfg.appRepo, v.cfg.hotfixPrefix)
		}
	}
	return nil
}

func validateSummary(files []string, problems []Problem) string {
	var b strings.Builder
	b.WriteString("### Infra validation\n\n")
	if len(problems) == 0 {
		fmt.Fprintf(&b, "All %d environment file(s) pass: parse, tracked keys, version format, commits exist, promotion order, bot guard.\n", len(files))
		return b.String()
	}
	b.WriteString("| File | Line | Rule | Problem |\n|---|---|---|---|\n")
	for _, p := range problems {
		line := ""
		if p.Line > 0 {
			line = fmt.Sprint(p.Line)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", action.MDCode(p.File), line, p.Rule, action.MDEscape(p.Msg))
	}
	return b.String()
}

func lineAt(data []byte, key string) int {
	p, err := envfile.ParsePath(key)
	if err != nil {
		return 0
	}
	return envfile.LineOf(data, p)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func shortSHA(s string) string {
	if refname.IsFullSHA(s) {
		return s[:7]
	}
	return s
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}
