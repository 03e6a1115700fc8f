package envdiff

import (
	"context"
	"fmt"
	"github.com/cicd-excellence/actions/internal/gitread"
	"maps"
	"slices"
)

// Converge plans from what is recorded rather than from a push: for each
// environment file at commit (the desired versions) it compares the tracked
// values with what deployed says the environment's last successful
// deployment recorded (ok false: never deployed), and returns every
// environment where they differ, in deployment order. A deploy that was
// cancelled, failed or never ran is therefore caught up by the next run,
// whatever that run's push changed.
// deployed is asked only about environments whose file has tracked values.
func Converge(ctx context.Context, r Reader, commit string, cfg Config, deployed Deployed) (*Result, error) {
	return converge(ctx, r, commit, cfg, func(ctx context.Context, env, file string, want map[string]string) ([]EnvChange, error) {
		have, ok, err := deployed(ctx, env)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", env, err)
		}
		ec := EnvChange{Environment: env, File: file, Versions: want, New: !ok, Changes: changes(want, have)}
		if len(ec.Changes) == 0 {
			return nil, nil
		}
		return []EnvChange{ec}, nil
	})
}

// compareFunc compares one environment's desired values with its records
// and returns what to deploy there.
type compareFunc func(ctx context.Context, env, file string, want map[string]string) ([]EnvChange, error)

// converge walks the environment files at commit in deployment order and
// asks compare about each one with tracked values.
func converge(ctx context.Context, r Reader, commit string, cfg Config, compare compareFunc) (*Result, error) {
	c, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if commit, err = gitread.CheckSHA("commit", commit); err != nil {
		return nil, err
	}
	p := &planner{r: r, c: c, res: &Result{}}
	if err := p.require(ctx, "commit", commit); err != nil {
		return nil, err
	}
	cur, err := p.envFiles(ctx, commit, true)
	if err != nil {
		return nil, err
	}
	if len(cur) == 0 {
		p.note("no environment files (<env>.json) in %s at %s", c.dir, short(commit))
	}
	envs := slices.Collect(maps.Keys(cur))
	sortEnvs(envs, c.order)
	for _, env := range envs {
		want, err := p.values(ctx, commit, cur[env])
		if err != nil {
			return nil, err
		}
		if len(want) == 0 {
			p.res.Untracked = append(p.res.Untracked, cur[env])
			continue
		}
		ecs, err := compare(ctx, env, cur[env], want)
		if err != nil {
			return nil, err
		}
		if len(ecs) > 0 {
			p.res.Environments = append(p.res.Environments, ecs...)
			p.res.Changed = true
		}
	}
	return p.res, nil
}

// changes lists, by key, the values of want that have does not hold and
// the keys of have gone from want.
func changes(want, have map[string]string) []Change {
	var out []Change
	for _, k := range unionKeys(want, have) {
		o, hadOld := have[k]
		n, hasNew := want[k]
		if hadOld && hasNew && o == n {
			continue
		}
		out = append(out, Change{Key: k, Old: o, New: n, Removed: !hasNew})
	}
	return out
}

// Deployed returns the versions an environment's last successful deployment
// recorded; ok is false when it was never deployed.
type Deployed func(ctx context.Context, env string) (versions map[string]string, ok bool, err error)

// Recorded is a Deployed over a map, for callers that hold every record.
func Recorded(m map[string]map[string]string) Deployed {
	return func(_ context.Context, env string) (map[string]string, bool, error) {
		v, ok := m[env]
		return v, ok, nil
	}
}

func unionKeys(a, b map[string]string) []string {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
