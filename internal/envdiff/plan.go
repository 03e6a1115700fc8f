package envdiff

import (
	"context"
	"errors"
	"fmt"
	"github.com/cicd-excellence/actions/internal/gitread"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/cicd-excellence/actions/internal/envfile"
	"github.com/cicd-excellence/actions/internal/refname"
)

// Change is one tracked value that differs between before and after. Old is
// empty for a new key; Removed marks a key gone at after (New is empty).
type Change struct {
	Key     string `json:"key"`
	Old     string `json:"old"`
	New     string `json:"new"`
	Removed bool   `json:"removed,omitempty"`
}

// EnvChange is an environment whose tracked values changed, or, when
// Service is set, one service of it (Versions and Changes are then that
// service's only).
type EnvChange struct {
	Environment string
	Service     string
	File        string
	Changes     []Change          // sorted by key
	Versions    map[string]string // every tracked value at after
	New         bool              // the file did not exist at before
	Deleted     bool              // the file is gone at after: not deployed
}

// Result is the plan for one push.
type Result struct {
	// Environments changed, in deployment order; deleted ones included.
	Environments []EnvChange
	// Changed is true when at least one environment is to be deployed.
	Changed bool
	// Notes explain what was ignored or unusual, for the job summary.
	Notes []string
	// FirstPush: before was the zero SHA. ForcePush: before is not an
	// ancestor of after.
	FirstPush, ForcePush bool
	// Untracked are environment files (at after, or at the converged
	// commit) with no key matching the tracked patterns: nothing in them is
	// ever deployed, which callers must say loudly rather than deploy
	// nothing forever.
	Untracked []string
}

// FileError is an environment file that is not valid at a commit. Err is
// usually an *envfile.SyntaxError, whose line an annotation can point at.
type FileError struct {
	File, Commit string
	Err          error
}

func (e *FileError) Error() string {
	return fmt.Sprintf("%s at %s: %v", e.File, short(e.Commit), e.Err)
}
func (e *FileError) Unwrap() error { return e.Err }

// Plan compares the environment files at before and after (full SHAs from
// a push event) and returns the environments to deploy. A zero before is a
// first push: every environment with tracked values is new. A before that is
// not an ancestor of after (a force push) is still diffed value by value.
func Plan(ctx context.Context, r Reader, before, after string, cfg Config) (*Result, error) {
	c, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if after, err = gitread.CheckSHA("after", after); err != nil {
		return nil, err
	}
	if before, err = gitread.CheckSHA("before", before); err != nil {
		return nil, err
	}
	p := &planner{r: r, c: c, res: &Result{}}
	if isZero(after) {
		p.note("after is the zero SHA: the push deleted the branch; nothing to deploy")
		return p.res, nil
	}
	if err := p.require(ctx, "after", after); err != nil {
		return nil, err
	}
	var old map[string]string // environment -> file at before
	if isZero(before) {
		p.res.FirstPush = true
		p.note("first push (before is the zero SHA): every environment with tracked values is new")
	} else {
		if err := p.require(ctx, "before", before); err != nil {
			return nil, err
		}
		if before == after {
			p.note("before and after are the same commit; nothing to deploy")
			return p.res, nil
		}
		if err := p.checkAncestry(ctx, before, after); err != nil {
			return nil, err
		}
		if old, err = p.envFiles(ctx, before, false); err != nil {
			return nil, err
		}
	}
	cur, err := p.envFiles(ctx, after, true)
	if err != nil {
		return nil, err
	}
	if len(cur) == 0 {
		p.note("no environment files (<env>.json) in %s at %s", c.dir, short(after))
	}
	envs := slices.Collect(maps.Keys(cur))
	for e := range old {
		if _, ok := cur[e]; !ok {
			envs = append(envs, e)
		}
	}
	sortEnvs(envs, c.order)
	for _, e := range envs {
		if err := p.compare(ctx, e, old[e], cur[e], before, after); err != nil {
			return nil, err
		}
	}
	return p.res, nil
}

type planner struct {
	r   Reader
	c   resolved
	res *Result
}

func (p *planner) note(format string, args ...any) {
	p.res.Notes = append(p.res.Notes, fmt.Sprintf(format, args...))
}

// require fails with ErrMissingCommit when the Reader lacks sha.
func (p *planner) require(ctx context.Context, name, sha string) error {
	ok, err := p.r.Exists(ctx, sha)
	if err != nil {
		return fmt.Errorf("look up %s %s: %w", name, short(sha), err)
	}
	switch {
	case ok:
		return nil
	case name == "before":
		return fmt.Errorf("%w: before %s is not in the clone; check the infra repository out with fetch-depth: 0 "+
			"(a shallow clone lacks it; after a force push no clone has it: read it through the API)", ErrMissingCommit, short(sha))
	}
	return fmt.Errorf("%w: %s %s is not in the clone; check out the pushed commit", ErrMissingCommit, name, short(sha))
}

func (p *planner) checkAncestry(ctx context.Context, before, after string) error {
	ac, ok := p.r.(AncestorChecker)
	if !ok {
		p.note("could not check whether %s is an ancestor of %s; values are compared either way", short(before), short(after))
		return nil
	}
	anc, err := ac.IsAncestor(ctx, before, after)
	if err != nil {
		return fmt.Errorf("check ancestry of %s and %s: %w", short(before), short(after), err)
	}
	if !anc {
		p.res.ForcePush = true
		p.note("force push: %s is not an ancestor of %s; deploying the difference between their values", short(before), short(after))
	}
	return nil
}

// envFiles maps environment names to files in the configured directory at
// sha. Files that are not <env>.json with a valid name are skipped, with a
// note for .json files (reported once: at after, or at before when gone).
func (p *planner) envFiles(ctx context.Context, sha string, notes bool) (map[string]string, error) {
	files, err := p.r.ListFiles(ctx, sha, p.c.dir)
	if err != nil {
		return nil, fmt.Errorf("list %s at %s: %w", p.c.dir, short(sha), err)
	}
	envs := map[string]string{}
	for _, f := range files {
		name, ok := strings.CutSuffix(path.Base(f), ".json")
		if !ok {
			continue
		}
		if err := refname.Environment(name); err != nil {
			if notes {
				p.note("ignored %s: the file name without .json must be an environment name: %v", f, err)
			}
			continue
		}
		envs[name] = f
	}
	return envs, nil
}

// compare plans one environment from its files at before and after ("" when
// absent).
func (p *planner) compare(ctx context.Context, env, oldFile, newFile, before, after string) error {
	if newFile == "" {
		p.res.Environments = append(p.res.Environments, EnvChange{Environment: env, File: oldFile, Deleted: true})
		p.note("%s was deleted: environment %s is not deployed; tear it down separately if it should go", oldFile, env)
		return nil
	}
	cur, err := p.values(ctx, after, newFile)
	if err != nil {
		return err
	}
	if len(cur) == 0 {
		p.res.Untracked = append(p.res.Untracked, newFile)
	}
	var old map[string]string
	if oldFile != "" {
		if old, err = p.values(ctx, before, oldFile); err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				return err
			}
			// The push fixes a broken file: deploy everything it now says.
			p.note("%v; every tracked value of %s counts as changed", err, env)
			old = map[string]string{}
		}
	}
	ec := EnvChange{Environment: env, File: newFile, Versions: cur, New: oldFile == ""}
	keys := slices.Sorted(maps.Keys(cur))
	for k := range old {
		if _, ok := cur[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		o, hadOld := old[k]
		n, hasNew := cur[k]
		if hadOld && hasNew && o == n {
			continue
		}
		ec.Changes = append(ec.Changes, Change{Key: k, Old: o, New: n, Removed: !hasNew})
		if !hasNew {
			p.note("%s: %s was removed", env, k)
		}
	}
	switch {
	case len(ec.Changes) > 0:
		p.res.Environments = append(p.res.Environments, ec)
		p.res.Changed = true
	case ec.New:
		p.note("%s is new but has no tracked values (%s); nothing to deploy", newFile, p.tracked())
	}
	return nil
}

// values reads and validates one file and returns its tracked values.
func (p *planner) values(ctx context.Context, sha, file string) (map[string]string, error) {
	data, ok, err := p.r.ReadFile(ctx, sha, file)
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", file, short(sha), err)
	}
	if !ok {
		return nil, fmt.Errorf("read %s at %s: listed but not found", file, short(sha))
	}
	// Values validates the whole file first (envfile.Validate's checks), so
	// a syntax error carries its line.
	vals, err := envfile.Values(data, p.c.patterns)
	if err != nil {
		return nil, &FileError{File: file, Commit: sha, Err: err}
	}
	return vals, nil
}

func (p *planner) tracked() string {
	s := make([]string, len(p.c.patterns))
	for i, pat := range p.c.patterns {
		s[i] = pat.String()
	}
	return "tracked: " + strings.Join(s, ", ")
}
