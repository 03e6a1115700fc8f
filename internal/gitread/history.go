package gitread

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// historyHint is added to errors of commands that need the history a
// shallow checkout lacks.
const historyHint = " (check out with fetch-depth: 0)"

// MergeBase returns the best common ancestor of a and b.
func (g Reader) MergeBase(ctx context.Context, a, b string) (string, error) {
	a, err := CheckSHA("commit", a)
	if err != nil {
		return "", err
	}
	if b, err = CheckSHA("commit", b); err != nil {
		return "", err
	}
	what := fmt.Sprintf("find the merge base of %s and %s", short(a), short(b))
	res, err := g.run(ctx, nil, limitWriter{}, "merge-base", "--end-of-options", a, b)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if res.code != 0 {
		return "", fmt.Errorf("%w%s", res.err(what), historyHint)
	}
	return CheckSHA("merge base", strings.TrimSpace(string(res.stdout)))
}

// Change is one file a diff names: its status letter (A, M, D, T, ...) and
// path.
type Change struct {
	Status string
	Path   string
}

// Changes lists the files that differ between two commits, renames shown
// as a delete and an add (a rename must not hide what it touches).
func (g Reader) Changes(ctx context.Context, from, to string) ([]Change, error) {
	from, err := CheckSHA("commit", from)
	if err != nil {
		return nil, err
	}
	if to, err = CheckSHA("commit", to); err != nil {
		return nil, err
	}
	what := fmt.Sprintf("list the files changed from %s to %s", short(from), short(to))
	res, err := g.run(ctx, nil, limitWriter{}, "diff", "--name-status", "--no-renames", "--no-ext-diff", "-z", from, to, "--")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if res.code != 0 {
		return nil, fmt.Errorf("%w%s", res.err(what), historyHint)
	}
	var out []Change
	fields := strings.Split(strings.TrimSuffix(string(res.stdout), "\x00"), "\x00")
	for i := 0; i+1 < len(fields); i += 2 {
		out = append(out, Change{Status: fields[i], Path: fields[i+1]})
	}
	return out, nil
}

// Commits lists the commits reachable from to but not from from, newest
// first, at most max+1 of them: a caller that allows max sees that there
// are more without reading them all.
func (g Reader) Commits(ctx context.Context, from, to string, max int) ([]string, error) {
	from, err := CheckSHA("commit", from)
	if err != nil {
		return nil, err
	}
	if to, err = CheckSHA("commit", to); err != nil {
		return nil, err
	}
	what := fmt.Sprintf("list the commits from %s to %s", short(from), short(to))
	res, err := g.run(ctx, nil, limitWriter{}, "rev-list", "--max-count", strconv.Itoa(max+1), "--end-of-options", from+".."+to)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if res.code != 0 {
		return nil, fmt.Errorf("%w%s", res.err(what), historyHint)
	}
	return strings.Fields(string(res.stdout)), nil
}

// EverHeld reports whether value was ever added to or removed from file in
// the history of rev (git log -S): whether the file ever held it.
func (g Reader) EverHeld(ctx context.Context, rev, file, value string) (bool, error) {
	rev, err := CheckSHA("commit", rev)
	if err != nil {
		return false, err
	}
	if err := CheckPath(file); err != nil {
		return false, err
	}
	if strings.ContainsAny(value, "\x00\n") || value == "" {
		return false, fmt.Errorf("search %s for %q: not a single-line value", file, value)
	}
	what := fmt.Sprintf("search the history of %s", file)
	// -S takes its argument attached: "-S<value>" cannot be read as an option.
	res, err := g.run(ctx, nil, limitWriter{}, "log", "--format=%H", "--max-count=1", "-S"+value, "--end-of-options", rev, "--", file)
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	if res.code != 0 {
		return false, fmt.Errorf("%w%s", res.err(what), historyHint)
	}
	return strings.TrimSpace(string(res.stdout)) != "", nil
}

// CommitTime is the committer time of sha.
func (g Reader) CommitTime(ctx context.Context, sha string) (time.Time, error) {
	sha, err := CheckSHA("commit", sha)
	if err != nil {
		return time.Time{}, err
	}
	what := "read the commit time of " + short(sha)
	res, err := g.run(ctx, nil, limitWriter{}, "show", "-s", "--format=%cI", "--end-of-options", sha, "--")
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", what, err)
	}
	if res.code != 0 {
		return time.Time{}, res.err(what)
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(string(res.stdout)))
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: git printed %q: %w", what, strings.TrimSpace(string(res.stdout)), err)
	}
	return t, nil
}
