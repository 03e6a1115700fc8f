package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/ancestry"
	"github.com/cicd-excellence/actions/internal/envfile"
	"github.com/cicd-excellence/actions/internal/event"
	"github.com/cicd-excellence/actions/internal/ghclient"
	"github.com/cicd-excellence/actions/internal/gitread"
	"github.com/cicd-excellence/actions/internal/refname"
	"github.com/cicd-excellence/actions/internal/servicemap"
)

// Problem is one failed rule, pointing at a file and line.
type Problem struct {
	File string
	Line int
	Rule string
	Msg  string
}

// maxBotCommits bounds the commits of a bot PR checked one by one through the
// API: the bot makes one or two; hundreds mean someone else pushed.
const maxBotCommits = 50

// maxContentProblems bounds the lines reported per file for content changes.
const maxContentProblems = 10

// validateConfig is validate's inputs.
type validateConfig struct {
	common
	pattern      *regexp.Regexp
	chain        []string
	bots         []string
	botEnvs      []string
	appOwner     string
	appRepo      string
	servicesFile string
	hotfixPrefix string
}

func readValidate(r *action.Runtime, c common) (validateConfig, error) {
	v := validateConfig{common: c, chain: r.ListInput("promotion-chain"), bots: r.ListInput("bot"), botEnvs: r.ListInput("bot-environments"),
		servicesFile: r.Input("services-file"), hotfixPrefix: r.Input("hotfix-prefix")}
	p := r.Input("version-pattern")
	if p == "" {
		p = "^[0-9a-f]{40}$"
	}
	var err error
	if v.pattern, err = regexp.Compile(p); err != nil {
		return v, action.Inputf("version-pattern", "is not a regular expression: %v", err)
	}
	for _, e := range v.chain {
		if err := refname.Environment(e); err != nil {
			return v, action.Inputf("promotion-chain", "%v", err)
		}
	}
	if len(v.botEnvs) == 0 {
		v.botEnvs = []string{"dev"}
	}
	for _, e := range v.botEnvs {
		if err := refname.Environment(e); err != nil {
			return v, action.Inputf("bot-environments", "%v", err)
		}
	}
	if app := r.Input("app-repo"); app != "" {
		if v.appOwner, v.appRepo, err = refname.Repo(app); err != nil {
			return v, action.Inputf("app-repo", "%v", err)
		}
	}
	if v.servicesFile == "" {
		v.servicesFile = servicemap.DefaultFile
	}
	if p := v.servicesFile; !safePath.MatchString(p) || strings.HasPrefix(p, "/") || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
		return v, action.Inputf("services-file", "%s is not a clean path inside the repository", strconv.Quote(p))
	}
	if v.hotfixPrefix == "" {
		v.hotfixPrefix = refname.DefaultHotfixPrefix
	}
	if err := refname.HotfixPrefix(v.hotfixPrefix); err != nil {
		return v, action.Inputf("hotfix-prefix", "%v", err)
	}
	return v, nil
}

// runValidate is the infra repo's required check on pull requests.
func runValidate(ctx context.Context, r *action.Runtime, ev *event.Context, c common) error {
	cfg, err := readValidate(r, c)
	if err != nil {
		return err
	}
	v := &validator{cfg: cfg, git: gitread.Reader{Dir: r.WorkDir}, dir: r.WorkDir, ev: ev, reach: map[string]string{}, missing: map[string]bool{}}
	v.infraOwner, _, _ = strings.Cut(ev.Repository, "/")
	if err := v.loadServices(r); err != nil {
		return err
	}
	botPR := strings.HasPrefix(ev.HeadRef, refname.BotBranchPrefix) || slices.Contains(cfg.bots, ev.PRAuthor)
	if botPR && !v.isPR() && ev.IsPullRequest() {
		// Fail closed: without both SHAs the guard cannot run.
		return fmt.Errorf("validate: the %s payload lacks full base and head SHAs (pull_request.base.sha, pull_request.head.sha), so the bot guard cannot run", ev.Name)
	}
	v.guard = v.isPR() && botPR
	if v.repos != nil || v.guard {
		if v.gh, err = ghclient.FromRuntime(r); err != nil {
			return err
		}
	}
	problems, checked, err := v.run(ctx)
	if err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	for _, n := range v.notes {
		r.Noticef("validate: %s", n)
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
	cfg            validateConfig
	gh             *gh.Client
	git            gitread.Reader
	dir            string
	ev             *event.Context
	repos          *servicemap.Map // nil: no app repository configured, versions are not looked up
	infraOwner     string
	guard          bool              // the bot guard applies to this PR
	reach          map[string]string // env\x00key -> the app branch the new version is on
	missing        map[string]bool   // owner/repo@sha reported as not a commit; env\x00key without a repository
	notes          []string          // printed as notices
	servicesBroken bool              // the services file is there but unreadable: reported already
	problems       []Problem
}

func (v *validator) add(file string, line int, rule, format string, args ...any) {
	v.problems = append(v.problems, Problem{File: file, Line: line, Rule: rule, Msg: fmt.Sprintf(format, args...)})
}

var lineRE = regexp.MustCompile(`^line (\d+): `)

// loadServices reads the services file of the checkout; without one,
// app-repo (if set) is the repository of every key.
func (v *validator) loadServices(r *action.Runtime) error {
	data, err := os.ReadFile(filepath.Join(v.dir, filepath.FromSlash(v.cfg.servicesFile)))
	switch {
	case errors.Is(err, os.ErrNotExist):
		if v.cfg.appOwner != "" {
			v.repos = servicemap.Single(v.cfg.appOwner, v.cfg.appRepo)
		}
		return nil
	case err != nil:
		return fmt.Errorf("validate: read %s: %w", v.cfg.servicesFile, err)
	}
	m, err := servicemap.Parse(data)
	if err != nil {
		line := 0
		if mm := lineRE.FindStringSubmatch(err.Error()); mm != nil {
			line, _ = strconv.Atoi(mm[1])
		}
		v.add(v.cfg.servicesFile, line, "services", "%v", err)
		v.servicesBroken = true
		return nil
	}
	if v.cfg.appOwner != "" {
		r.Infof("validate: %s maps the version keys to app repositories; app-repo (%s/%s) is not used", v.cfg.servicesFile, v.cfg.appOwner, v.cfg.appRepo)
	}
	v.repos = m
	return nil
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
		if err := refname.Environment(env); err != nil {
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
		for _, k := range slices.Sorted(maps.Keys(vals)) {
			if tag, ok := envfile.TagOf(k); ok {
				// A digest is checked for form only: it names an image, not
				// a commit, so no app repository is asked about it.
				if err := envfile.ValidDigest(vals[k]); err != nil {
					v.add(rel, lineAt(data, k), "digest", "%s: %v", k, err)
				}
				if _, ok := vals[tag]; !ok {
					v.add(rel, lineAt(data, k), "digest", "%s has no %s beside it: a digest is the image its tag was published as", k, tag)
				}
				continue
			}
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
		if v.guard {
			// A head a collaborator approved is a reviewed change, whoever
			// made it (a rollback identity, a human on a bot branch): the
			// rules of human PRs apply. Unreviewed, the bot's limits do.
			ok, who, err := v.approved(ctx)
			if err != nil {
				return nil, nil, err
			}
			if ok {
				v.notes = append(v.notes, fmt.Sprintf("the bot guard's limits do not apply: %s approved the head commit %s", who, refname.Short(v.ev.SHA)))
				v.guard = false
			} else if err := v.botGuard(ctx, head); err != nil {
				return nil, nil, err
			}
		}
		if err := v.versionMoves(ctx, head, base); err != nil {
			return nil, nil, err
		}
		if err := v.promotionOrder(ctx, head, base); err != nil {
			return nil, nil, err
		}
	}
	sort.Strings(checked)
	return v.problems, checked, nil
}

func (v *validator) isPR() bool {
	return v.ev.IsPullRequest() && refname.IsFullSHA(v.ev.BaseSHA) && refname.IsFullSHA(v.ev.SHA)
}

// repoFor is the app repository of a key, or a problem at the key's line.
func (v *validator) repoFor(env, key string) (owner, repo string, ok bool) {
	owner, repo, err := v.repos.RepoFor(key, v.infraOwner)
	if err != nil {
		if id := env + "\x00" + key; !v.missing[id] {
			v.missing[id] = true // report once
			rel, _ := envFile(v.cfg.dir, env)
			v.add(rel, v.lineIn(env, key), "services", "%v", err)
		}
		return "", "", false
	}
	return owner, repo, true
}

func (v *validator) lineIn(env, key string) int {
	rel, _ := envFile(v.cfg.dir, env)
	data, _ := os.ReadFile(filepath.Join(v.dir, filepath.FromSlash(rel)))
	return lineAt(data, key)
}

// commitsExist checks every distinct version names a commit of its key's app
// repository.
func (v *validator) commitsExist(ctx context.Context, head map[string]map[string]string) error {
	if v.repos == nil {
		return nil
	}
	seen := map[string]bool{}
	for _, env := range slices.Sorted(maps.Keys(head)) {
		rel, _ := envFile(v.cfg.dir, env)
		for _, k := range slices.Sorted(maps.Keys(head[env])) {
			sha := head[env][k]
			if !refname.IsFullSHA(sha) {
				continue
			}
			owner, repo, ok := v.repoFor(env, k)
			if !ok {
				continue
			}
			id := owner + "/" + repo + "@" + sha
			if seen[id] {
				if v.missing[id] {
					v.add(rel, v.lineIn(env, k), "exists", "%s = %s is not a commit of %s/%s", k, sha, owner, repo)
				}
				continue
			}
			seen[id] = true
			_, _, err := v.gh.Repositories.GetCommit(ctx, owner, repo, sha, &gh.ListOptions{PerPage: 1})
			switch s := status(err); {
			case err == nil:
			case s == 404 || s == 422:
				v.missing[id] = true
				v.add(rel, v.lineIn(env, k), "exists", "%s = %s is not a commit of %s/%s (or the token cannot read that repository)", k, sha, owner, repo)
			default:
				return ghclient.Wrap("check commit "+sha, owner+"/"+repo, err)
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
			return nil, fmt.Errorf("read %s at the PR base %s (check out with fetch-depth: 0): %w", rel, refname.Short(v.ev.BaseSHA), err)
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

// versionMoves checks every version the PR changes against its app
// repository: on the default branch or a hotfix branch, and not backwards
// unless it is a documented rollback (a human PR setting "hold" next to the
// key). The bot never moves a version backwards.
func (v *validator) versionMoves(ctx context.Context, head, base map[string]map[string]string) error {
	if v.repos == nil {
		if v.guard && !v.servicesBroken {
			v.add(v.cfg.servicesFile, 0, "bot", "neither %s nor app-repo says which app repository the versions come from, so the bot's versions cannot be checked", v.cfg.servicesFile)
		}
		return nil
	}
	for _, env := range slices.Sorted(maps.Keys(head)) {
		rel, _ := envFile(v.cfg.dir, env)
		for _, k := range slices.Sorted(maps.Keys(head[env])) {
			old, val := base[env][k], head[env][k]
			if old == val {
				continue
			}
			line := v.lineIn(env, k)
			if tag, ok := envfile.TagOf(k); ok {
				v.digestMove(env, k, tag, head, base)
				continue
			}
			if !refname.IsFullSHA(val) {
				if v.guard {
					v.add(rel, line, "bot", "%s = %q: the bot may set only full commit SHAs", k, val)
				}
				continue
			}
			owner, repo, ok := v.repoFor(env, k)
			if !ok || v.missing[owner+"/"+repo+"@"+val] {
				continue
			}
			branch, ok, err := ancestry.Reachable(ctx, v.gh, owner, repo, val, v.cfg.hotfixPrefix)
			if err != nil {
				return err
			}
			if !ok {
				v.add(rel, line, "reachable", "%s = %s is not on %s/%s's default branch or a %s* branch", k, refname.Short(val), owner, repo, v.cfg.hotfixPrefix)
				continue
			}
			v.reach[env+"\x00"+k] = branch
			if err := v.forward(ctx, env, k, old, val, owner, repo); err != nil {
				return err
			}
		}
	}
	return nil
}

// digestMove checks a changed digest. The bot moves a digest only with its
// tag (open-infra-pr writes the pair publish produced): a bot PR changing
// the digest under an unchanged tag is what pointing a released version at
// another image looks like, so the guard refuses it. A human PR may (a
// re-push of a lost image, say); the ruleset makes it a reviewed one, and
// the note says what it does.
func (v *validator) digestMove(env, key, tag string, head, base map[string]map[string]string) {
	if base[env][tag] != head[env][tag] {
		return // moves with its tag, which versionMoves checks
	}
	rel, _ := envFile(v.cfg.dir, env)
	if v.guard {
		v.add(rel, v.lineIn(env, key), "bot", "%s changes but %s does not: the bot moves a digest only with its tag (an unchanged tag with another digest is another image under a released version)", key, tag)
		return
	}
	v.notes = append(v.notes, fmt.Sprintf("%s: %s changes under the unchanged %s = %s: another image for the same version, in a reviewed PR", rel, key, tag, refname.Short(head[env][tag])))
}

// forward checks that val descends from old, the version it replaces.
func (v *validator) forward(ctx context.Context, env, key, old, val, owner, repo string) error {
	rel, _ := envFile(v.cfg.dir, env)
	line := v.lineIn(env, key)
	if !refname.IsFullSHA(old) {
		if v.guard && old != "" {
			v.add(rel, line, "bot", "%s: the bot may replace only a full commit SHA, not %q", key, old)
		}
		return nil // a new key or a broken value: nothing to be older than
	}
	st, err := ancestry.Compare(ctx, v.gh, owner, repo, old, val)
	switch {
	case errors.Is(err, ancestry.ErrUnknownCommit):
		if v.guard {
			v.add(rel, line, "bot", "%s: %s, the version it replaces, is not a commit of %s/%s, so the move cannot be shown to go forward", key, refname.Short(old), owner, repo)
		}
		return nil
	case err != nil:
		return err
	case st == "ahead":
		return nil
	}
	how := fmt.Sprintf("%s = %s is not a descendant of %s, the version it replaces (%s/%s: %s)", key, refname.Short(val), refname.Short(old), owner, repo, st)
	if v.guard {
		v.add(rel, line, "bot", "%s: the bot never moves a version backwards", how)
		return nil
	}
	if v.rollbackMarked(ctx, env, key) {
		return nil
	}
	v.add(rel, line, "rollback", "%s: a rollback must set %q: \"<reason>\" in the object holding %s in the same PR", how, envfile.HoldKey, key)
	return nil
}

// rollbackMarked: the PR sets (adds or rewrites) the hold next to key.
func (v *validator) rollbackMarked(ctx context.Context, env, key string) bool {
	p, err := envfile.ParsePath(key)
	if err != nil {
		return false
	}
	rel, _ := envFile(v.cfg.dir, env)
	after, _ := os.ReadFile(filepath.Join(v.dir, filepath.FromSlash(rel)))
	reason, held := envfile.Hold(after, p)
	if !held {
		return false
	}
	before, _, _ := v.git.ReadFile(ctx, v.ev.BaseSHA, rel)
	was, wasHeld := envfile.Hold(before, p)
	return !wasHeld || was != reason
}

// promotionOrder: a version entering an environment of the chain must be,
// or have been, in the environment before it. A hotfix version (on a hotfix
// branch of the app, not the default branch) may skip the chain in a human
// PR, which the ruleset makes a reviewed one.
func (v *validator) promotionOrder(ctx context.Context, head, base map[string]map[string]string) error {
	for i := 1; i < len(v.cfg.chain); i++ {
		env, prev := v.cfg.chain[i], v.cfg.chain[i-1]
		rel, _ := envFile(v.cfg.dir, env)
		prevRel, _ := envFile(v.cfg.dir, prev)
		for _, k := range slices.Sorted(maps.Keys(head[env])) {
			val := head[env][k]
			if base[env][k] == val {
				continue // not changed by this PR
			}
			if head[prev][k] == val {
				continue
			}
			version := k
			if tag, ok := envfile.TagOf(k); ok {
				version = tag // a hotfix's digest skips the chain with its tag
			}
			if b, ok := v.reach[env+"\x00"+version]; ok && !v.guard && strings.HasPrefix(b, v.cfg.hotfixPrefix) {
				continue
			}
			was, err := v.wasIn(ctx, prevRel, val)
			if err != nil {
				return err
			}
			if !was {
				v.add(rel, v.lineIn(env, k), "promotion", "%s = %s was never in %s: promote it there first (%s → %s)", k, refname.Short(val), prev, prev, env)
			}
		}
	}
	return nil
}

// wasIn searches the history of file, as of the PR head, for the value.
func (v *validator) wasIn(ctx context.Context, file, value string) (bool, error) {
	return v.git.EverHeld(ctx, v.ev.SHA, file, value)
}

// botGuard is the compensating control for letting the bot merge without a
// human approval. It applies to a PR by a bot login or from a branch named
// like the bot's (whoever opened it), and requires: every commit made by the
// bot (author login and GitHub's verified signature: a git author line is
// free text, a signature by GitHub for the App is not), only version values
// of existing keys changed, only in bot-environments. versionMoves adds:
// on the app's default or a hotfix branch, never backwards.
func (v *validator) botGuard(ctx context.Context, head map[string]map[string]string) error {
	who := v.ev.PRAuthor
	if who == "" {
		who = "the author"
	}
	if len(v.cfg.bots) == 0 {
		v.add(v.cfg.dir, 0, "bot", "the PR is from a %s* branch but the bot input names no login, so no commit can be shown to be the bot's", refname.BotBranchPrefix)
	}
	if v.ev.HeadRepo != "" && !strings.EqualFold(v.ev.HeadRepo, v.ev.Repository) {
		v.add(v.cfg.dir, 0, "bot", "the PR comes from %s; the bot's PRs come from branches of %s itself", v.ev.HeadRepo, v.ev.Repository)
	}
	fork, err := v.git.MergeBase(ctx, v.ev.BaseSHA, v.ev.SHA)
	if err != nil {
		return fmt.Errorf("the PR's merge base: %w", err)
	}
	changes, err := v.git.Changes(ctx, fork, v.ev.SHA)
	if err != nil {
		return fmt.Errorf("the PR's files: %w", err)
	}
	for _, ch := range changes {
		st, file := ch.Status, ch.Path
		env, isJSON := strings.CutSuffix(path.Base(file), ".json")
		if rel, _ := envFile(v.cfg.dir, env); !isJSON || rel != file || refname.Environment(env) != nil {
			v.add(file, 0, "bot", "a PR by %s may change only environment files under %s; it changes %s", who, v.cfg.dir, file)
			continue
		}
		if st != "M" {
			v.add(file, 0, "bot", "a PR by %s may not add or delete an environment file", who)
			continue
		}
		if !slices.Contains(v.cfg.botEnvs, env) {
			v.add(file, 0, "bot", "a PR by %s may move only %s without a review (bot-environments); it changes %s: a collaborator must approve this head commit, then re-run validate", who, strings.Join(v.cfg.botEnvs, ", "), env)
		}
		if _, ok := head[env]; !ok {
			continue // unparsable at head: already reported
		}
		if err := v.onlyVersions(ctx, fork, file, who); err != nil {
			return err
		}
	}
	return v.botCommits(ctx, fork, who)
}

// onlyVersions compares the parsed JSON of the file at the fork point and at
// the head: only values of tracked keys present on both sides may differ.
func (v *validator) onlyVersions(ctx context.Context, fork, file, who string) error {
	before, _, err := v.git.ReadFile(ctx, fork, file)
	if err != nil {
		return err
	}
	after, _, err := v.git.ReadFile(ctx, v.ev.SHA, file)
	if err != nil {
		return err
	}
	baseVals, err := envfile.Values(before, v.cfg.patterns)
	if err != nil {
		v.add(file, 0, "bot", "a PR by %s may not repair a broken environment file (%v)", who, err)
		return nil
	}
	headVals, _ := envfile.Values(after, v.cfg.patterns)
	var a, b any
	if err := decodeJSON(before, &a); err != nil {
		return fmt.Errorf("read %s at %s: %w", file, refname.Short(fork), err)
	}
	if err := decodeJSON(after, &b); err != nil {
		return fmt.Errorf("read %s at %s: %w", file, refname.Short(v.ev.SHA), err)
	}
	tracked := func(vals map[string]string) map[string]bool {
		set := map[string]bool{}
		for k := range vals {
			if p, err := envfile.ParsePath(k); err == nil {
				set[strings.Join(p.Segments(), "\x00")] = true
			}
		}
		return set
	}
	inBase, inHead := tracked(baseVals), tracked(headVals)
	var diffs [][]string
	jsonDiff(a, b, nil, &diffs)
	n := 0
	for _, d := range diffs {
		id := strings.Join(d, "\x00")
		if d[len(d)-1] != envfile.HoldKey && inBase[id] && inHead[id] {
			continue // a version value
		}
		if addsDigest(d, inBase, inHead, baseVals, headVals) {
			continue // the first digest of a tag this PR moves
		}
		if n++; n > maxContentProblems {
			v.add(file, 0, "bot", "a PR by %s changes more content that is not a version value (%d changes in all)", who, len(diffs))
			break
		}
		key := strings.Join(d, ".")
		line := lineAt(after, key)
		if line == 0 {
			line = lineAt(before, key)
		}
		switch {
		case d[len(d)-1] == envfile.HoldKey:
			v.add(file, line, "bot", "a PR by %s may not add, remove or change a %q (holds are set and lifted by reviewed PRs)", who, envfile.HoldKey)
		case inHead[id]:
			v.add(file, line, "bot", "a PR by %s may not add the version key %s", who, key)
		case inBase[id]:
			v.add(file, line, "bot", "a PR by %s may not remove the version key %s", who, key)
		default:
			v.add(file, line, "bot", "a PR by %s may change only version values (%s); it changes %s", who, strings.Join(v.cfg.tracked, ", "), key)
		}
	}
	return nil
}

// addsDigest: d is a digest key the PR adds beside a tag that it moves, the
// way open-infra-pr (create-missing) records a tag's first digest. It is the
// same statement as changing a digest with its tag; adding any other key
// stays a reviewed change.
func addsDigest(d []string, inBase, inHead map[string]bool, baseVals, headVals map[string]string) bool {
	if d[len(d)-1] != envfile.DigestKey || inBase[strings.Join(d, "\x00")] || !inHead[strings.Join(d, "\x00")] {
		return false
	}
	tag := append(append([]string{}, d[:len(d)-1]...), envfile.TagKey)
	id := strings.Join(tag, "\x00")
	if !inBase[id] || !inHead[id] {
		return false
	}
	for k, v := range headVals {
		if p, err := envfile.ParsePath(k); err == nil && strings.Join(p.Segments(), "\x00") == id {
			return baseVals[k] != v
		}
	}
	return false
}

// maxReviewPages bounds the review pages read (100 reviews each).
const maxReviewPages = 10

// approved reports whether the PR's head commit is approved by a
// collaborator who is neither a bot nor the PR's author, and by whom. The bot
// may bypass the ruleset's approval rule, so for a PR the guard applies to
// this check is what makes it a reviewed one. As GitHub counts them, each
// reviewer's latest approve/request-changes/dismissed review is the one that
// counts, and an approval of an older head does not count (the ruleset's
// dismiss_stale_reviews_on_push).
func (v *validator) approved(ctx context.Context) (bool, string, error) {
	owner, repo, err := refname.Repo(v.ev.Repository)
	if err != nil || v.ev.PRNumber <= 0 {
		return false, "", nil
	}
	latest := map[string]*gh.PullRequestReview{}
	opts := &gh.ListOptions{PerPage: 100}
	for page := 0; page < maxReviewPages; page++ {
		reviews, resp, err := v.gh.PullRequests.ListReviews(ctx, owner, repo, v.ev.PRNumber, opts)
		if err != nil {
			return false, "", ghclient.Wrap(fmt.Sprintf("list the reviews of PR #%d", v.ev.PRNumber), owner+"/"+repo, err)
		}
		for _, r := range reviews {
			if r.GetState() != "COMMENTED" && r.GetState() != "PENDING" {
				latest[r.GetUser().GetLogin()] = r
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	for _, login := range slices.Sorted(maps.Keys(latest)) {
		r := latest[login]
		switch {
		case r.GetState() != "APPROVED", r.GetCommitID() != v.ev.SHA, login == "", login == v.ev.PRAuthor, slices.Contains(v.cfg.bots, login):
		case !slices.Contains([]string{"OWNER", "MEMBER", "COLLABORATOR"}, r.GetAuthorAssociation()):
		default:
			return true, login, nil
		}
	}
	return false, "", nil
}

// botCommits asks GitHub about every commit of the PR: the author must be a
// bot login and the signature verified by GitHub. Anyone with write access
// can push a commit whose git author line names the bot; no one can make
// GitHub verify it as the App's.
func (v *validator) botCommits(ctx context.Context, fork, who string) error {
	owner, repo, err := refname.Repo(v.ev.Repository)
	if err != nil {
		return fmt.Errorf("the infra repository (GITHUB_REPOSITORY): %w", err)
	}
	shas, err := v.git.Commits(ctx, fork, v.ev.SHA, maxBotCommits)
	if err != nil {
		return fmt.Errorf("the PR's commits: %w", err)
	}
	if len(shas) > maxBotCommits {
		v.add(v.cfg.dir, 0, "bot", "a PR by %s has more than %d commits; the bot makes one or two", who, maxBotCommits)
		return nil
	}
	for _, sha := range shas {
		c, _, err := v.gh.Repositories.GetCommit(ctx, owner, repo, sha, &gh.ListOptions{PerPage: 1})
		if err != nil {
			return ghclient.Wrap("read commit "+refname.Short(sha), owner+"/"+repo, err)
		}
		login := c.GetAuthor().GetLogin()
		verified := c.GetCommit().GetVerification().GetVerified()
		switch {
		case !slices.Contains(v.cfg.bots, login):
			name := login
			if name == "" {
				name = strconv.Quote(c.GetCommit().GetAuthor().GetName()) + " (no GitHub account)"
			}
			v.add(v.cfg.dir, 0, "bot", "commit %s of a bot PR is authored by %s, not by %s: a human pushed to the bot's branch; open your own PR for review", refname.Short(sha), name, strings.Join(v.cfg.bots, " or "))
		case !verified:
			v.add(v.cfg.dir, 0, "bot", "commit %s names %s as its author but GitHub has not verified its signature (%s): the bot's commits are made through the API and signed by GitHub", refname.Short(sha), login, c.GetCommit().GetVerification().GetReason())
		}
	}
	return nil
}

// decodeJSON parses an environment file (already validated by envfile:
// no duplicate keys) keeping numbers as written.
func decodeJSON(data []byte, out *any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(out)
}

// jsonDiff appends the paths at which a and b differ: a key present on one
// side only, a changed scalar, or a changed array (as a whole).
func jsonDiff(a, b any, at []string, out *[][]string) {
	ma, aObj := a.(map[string]any)
	mb, bObj := b.(map[string]any)
	if aObj && bObj {
		keys := map[string]bool{}
		for k := range ma {
			keys[k] = true
		}
		for k := range mb {
			keys[k] = true
		}
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			p := append(append([]string{}, at...), k)
			va, inA := ma[k]
			vb, inB := mb[k]
			if !inA || !inB {
				if inA {
					leaves(va, p, out)
				} else {
					leaves(vb, p, out)
				}
				continue
			}
			jsonDiff(va, vb, p, out)
		}
		return
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) && len(at) > 0 {
		*out = append(*out, at)
	}
}

// leaves appends the path of every scalar (null included) or array under v,
// so that a whole object added or removed is reported key by key.
func leaves(v any, at []string, out *[][]string) {
	switch m := v.(type) {
	case map[string]any:
		if len(m) == 0 {
			*out = append(*out, at)
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			leaves(m[k], append(append([]string{}, at...), k), out)
		}
	default:
		*out = append(*out, at)
	}
}

func validateSummary(files []string, problems []Problem) string {
	var b strings.Builder
	b.WriteString("### Infra validation\n\n")
	if len(problems) == 0 {
		fmt.Fprintf(&b, "All %d environment file(s) pass: parse, tracked keys, version and digest format, commits exist, versions move forward, digests move with their tags, promotion order, bot guard.\n", len(files))
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
