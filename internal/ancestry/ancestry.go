// Package ancestry answers, through the GitHub API, the two questions the
// pipeline asks of an app repository's commits: is B newer than A, and is B
// reachable from the default branch or a hotfix branch (not only from a fork
// or an unmerged PR, whose commits the main repo still serves by SHA).
// Each answer costs a bounded number of requests, whatever the history.
package ancestry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/ghclient"
)

// MaxHotfixBranches bounds how many hotfix branches Reachable compares with.
const MaxHotfixBranches = 300

// ErrUnknownCommit means the repository has no such commit.
var ErrUnknownCommit = errors.New("no such commit")

// Compare returns GitHub's status of head relative to base: "ahead" (head
// descends from base), "behind", "identical" or "diverged".
func Compare(ctx context.Context, c *gh.Client, owner, repo, base, head string) (string, error) {
	cmp, _, err := c.Repositories.CompareCommits(ctx, owner, repo, base, head, &gh.ListOptions{PerPage: 1})
	if err != nil {
		if s := status(err); s == http.StatusNotFound || s == http.StatusUnprocessableEntity {
			return "", fmt.Errorf("compare %s...%s in %s/%s: %w", short(base), short(head), owner, repo, ErrUnknownCommit)
		}
		return "", ghclient.Wrap(fmt.Sprintf("compare %s...%s", short(base), short(head)), owner+"/"+repo, err)
	}
	return cmp.GetStatus(), nil
}

// Reachable reports whether sha is on the default branch or on a branch
// starting with hotfixPrefix, and which branch it found it on.
func Reachable(ctx context.Context, c *gh.Client, owner, repo, sha, hotfixPrefix string) (string, bool, error) {
	return ReachableFrom(ctx, c, owner, repo, sha, "", hotfixPrefix)
}

// ReachableFrom is Reachable with the default branch already known (from the
// event's payload, say), which saves reading the repository: one compare
// answers for a merged commit; the hotfix branches are listed only when the
// default branch does not hold it.
func ReachableFrom(ctx context.Context, c *gh.Client, owner, repo, sha, defaultBranch, hotfixPrefix string) (string, bool, error) {
	if defaultBranch == "" {
		r, _, err := c.Repositories.Get(ctx, owner, repo)
		if err != nil {
			return "", false, ghclient.Wrap("read the repository", owner+"/"+repo, err)
		}
		defaultBranch = r.GetDefaultBranch()
	}
	st, err := Compare(ctx, c, owner, repo, defaultBranch, sha)
	if err != nil {
		return "", false, err
	}
	if st == "behind" || st == "identical" {
		return defaultBranch, true, nil
	}
	if hotfixPrefix == "" {
		return "", false, nil
	}
	// Every page: a commit on the 101st hotfix branch is as merged as one on
	// the first. MaxHotfixBranches bounds the compares that follow.
	var refs []*gh.Reference
	opts := &gh.ReferenceListOptions{Ref: "heads/" + hotfixPrefix, ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		page, resp, err := c.Git.ListMatchingRefs(ctx, owner, repo, opts)
		if err != nil {
			return "", false, ghclient.Wrap("list "+hotfixPrefix+"* branches", owner+"/"+repo, err)
		}
		refs = append(refs, page...)
		if resp.NextPage == 0 || len(refs) >= MaxHotfixBranches {
			break
		}
		opts.Page = resp.NextPage
	}
	if len(refs) > MaxHotfixBranches {
		refs = refs[:MaxHotfixBranches]
	}
	for _, ref := range refs {
		b := strings.TrimPrefix(ref.GetRef(), "refs/heads/")
		st, err := Compare(ctx, c, owner, repo, b, sha)
		if errors.Is(err, ErrUnknownCommit) {
			continue // a hotfix branch deleted meanwhile
		}
		if err != nil {
			return "", false, err
		}
		if st == "behind" || st == "identical" {
			return b, true, nil
		}
	}
	return "", false, nil
}

func status(err error) int { return ghclient.Status(err) }

func short(s string) string {
	if len(s) > 7 {
		return s[:7]
	}
	return s
}
