package openinfrapr

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/envfile"
)

// merger merges the PR at the head this run wrote, once every required check
// has passed on that head; never any other head.
type merger struct {
	u     *Updater
	w     *writer
	out   *Outcome
	pr    *gh.PullRequest
	head  string
	rules *requiredChecks

	wait     time.Duration
	deadline time.Time
}

var errTimeout = errors.New("merge timeout")

// errRestart: the PR went away under the run (its branch was deleted) while
// its values are still to be merged; the run writes them again.
var errRestart = errors.New("the PR's branch was deleted")

func (m *merger) run(ctx context.Context) error {
	u, c, n := m.u, m.u.Cfg, m.pr.GetNumber()
	m.deadline = u.Now().Add(c.MergeTimeout)
	m.wait = u.Backoff
	for attempt := 1; attempt <= u.MaxAttempts; attempt++ {
		// The first look needs no read of the PR: this run just wrote its
		// head. Later looks notice a newer head, a merge or a close.
		if attempt > 1 {
			cur, _, err := u.GH.PullRequests.Get(ctx, c.Owner, c.Repo, n)
			if err != nil {
				return u.apiErr(fmt.Sprintf("read PR #%d", n), err)
			}
			switch state := cur.GetMergeableState(); {
			case cur.GetMerged() && cur.GetHead().GetSHA() == m.head:
				return m.afterMerge(ctx, cur)
			case cur.GetState() != "open":
				// Merged at another run's head, or closed: what the base holds
				// now decides whether this run's values still need a PR.
				return m.closed(ctx, cur)
			case cur.GetHead().GetSHA() != m.head:
				if err := m.moved(ctx); err != nil {
					return err
				}
				m.wait = u.Backoff // a new head: its checks start afresh
				continue
			case cur.GetDraft():
				return nil
			case state == "dirty" || state == "behind" || (cur.Mergeable != nil && !cur.GetMergeable()):
				if err := m.rebuild(ctx); err != nil {
					return err
				}
				m.wait = u.Backoff
				continue
			}
		}
		st, why, err := u.state(ctx, m.head, m.rules)
		switch {
		case err != nil:
			return err
		case st == checksFailed:
			return fmt.Errorf("merge PR #%d in %s: %s (the PR is left open)", n, u.repo(), why)
		case st == checksPassed:
			done, retryWhy, err := m.merge(ctx, n)
			if err != nil || done {
				return err
			}
			if why = retryWhy; why == "" {
				continue
			}
		}
		if err := m.pause(ctx, why); err != nil {
			if errors.Is(err, errTimeout) {
				return fmt.Errorf("merge PR #%d in %s: not merged within %s (%s); the PR is left open, a rerun continues", n, u.repo(), c.MergeTimeout, why)
			}
			return err
		}
	}
	return fmt.Errorf("merge PR #%d in %s: gave up after %d attempts (the PR is left open)", n, u.repo(), u.MaxAttempts)
}

// merge asks GitHub to merge at exactly m.head. It reports done, or why to
// wait before the next look ("" for at once).
func (m *merger) merge(ctx context.Context, n int) (bool, string, error) {
	u, c := m.u, m.u.Cfg
	res, _, err := u.GH.PullRequests.Merge(ctx, c.Owner, c.Repo, n, "", &gh.PullRequestOptions{MergeMethod: c.MergeMethod, SHA: m.head})
	if err == nil && res.GetMerged() {
		return true, "", m.afterMerge(ctx, &gh.PullRequest{Number: gh.Int(n), MergeCommitSHA: res.SHA})
	}
	if err != nil && (statusOf(err) == 0 || statusOf(err) >= 500 || statusOf(err) == http.StatusMethodNotAllowed) {
		// The answer may have been lost after GitHub merged (a retried PUT
		// then hears "not mergeable"): the PR's state decides.
		if now, _, gerr := u.GH.PullRequests.Get(ctx, c.Owner, c.Repo, n); gerr == nil && now.GetMerged() && now.GetHead().GetSHA() == m.head {
			u.Log("PR #%d was merged although the answer was lost", n)
			return true, "", m.afterMerge(ctx, now)
		}
	}
	kind, msg := classifyMerge(err)
	switch kind {
	case mergeRaced:
		// GitHub could merge; another merge or push was faster. Look again
		// after a short jitter rather than the backoff.
		return false, "", u.Sleep(ctx, time.Duration(50+rand.Int64N(250))*time.Millisecond)
	case mergeChecks:
		return false, "merge refused for now: " + msg, nil
	case mergeConflict:
		return false, "", m.rebuild(ctx)
	case mergeMethod:
		return false, "", action.Inputf("merge-method", "%s: %s (PR #%d is left open; pick a method the infra repo allows)", c.MergeMethod, msg, n)
	case mergeReview:
		return false, "", fmt.Errorf("merge PR #%d in %s: %s (the token cannot bypass it; the PR is left open for review)", n, u.repo(), msg)
	}
	return false, "", fmt.Errorf("merge PR #%d in %s: %s (the PR is left open for review)", n, u.repo(), msg)
}

func (m *merger) pause(ctx context.Context, why string) error {
	u := m.u
	if u.Now().Add(m.wait).After(m.deadline) {
		return errTimeout
	}
	d := m.wait/2 + time.Duration(rand.Int64N(int64(m.wait)))
	u.Log("PR #%d: %s; next look in %s", m.pr.GetNumber(), why, d.Round(time.Millisecond))
	if err := u.Sleep(ctx, d); err != nil {
		return err
	}
	if m.wait < 4*u.Backoff {
		m.wait *= 2
	}
	return nil
}

// moved handles a head this run did not write: another run of the bot wrote
// newer values (this one is superseded), the same values (its head is as
// good), or older ones, which only a forced rebuild can leave and which this
// run overwrites.
func (m *merger) moved(ctx context.Context) error {
	u, w := m.u, m.w
	st, err := u.readBranchFile(ctx, m.out.Branch)
	if err != nil {
		return err
	}
	if !st.exists {
		return m.closed(ctx, m.pr) // deleted: merged by another run, or closed
	}
	rel, err := u.relate(ctx, w.values(), valuesIn(st.content, w.edits))
	if err != nil {
		return err
	}
	if rel == older {
		return &finished{OpSuperseded, fmt.Sprintf("%s now sets newer values", m.out.Branch)}
	}
	if err := w.vouchFor(ctx, &st); err != nil {
		return err
	}
	if !st.exists {
		return m.closed(ctx, m.pr)
	}
	switch rel {
	case same:
		u.Log("%s was rewritten with the same values (%s)", m.out.Branch, short(st.head))
		m.head = st.head
		m.out.CommitSHA, m.out.Verified = st.head, st.signed
		return nil
	}
	head, verified, err := w.put(ctx, st)
	if errors.Is(err, errRaced) {
		return nil // the next look decides
	}
	if err != nil {
		return err
	}
	m.head, m.out.CommitSHA, m.out.Verified = head, head, verified
	u.describe(ctx, m.out, m.pr)
	return nil
}

// closed handles a PR that is no longer open at this run's head: merged by
// another run (with its values), closed, or its branch deleted. The base as
// it is now decides: holding these values or newer ones, the run is done
// (superseded when another run merged them); otherwise its values still
// need a PR, unless a person closed it.
func (m *merger) closed(ctx context.Context, cur *gh.PullRequest) error {
	u := m.u
	snap, err := u.read(ctx, m.out.Base)
	if err != nil {
		return err
	}
	p, err := u.plan(ctx, snap.content, m.w.edits)
	if err != nil {
		return err
	}
	switch {
	case p.op == OpSkipped && cur.GetMerged():
		return &finished{OpSuperseded, fmt.Sprintf("PR #%d was merged with newer values", cur.GetNumber())}
	case p.op != "":
		return &finished{p.op, p.reason}
	case cur.GetMerged():
		return errRestart // merged with older values than this run's
	}
	if _, _, err := u.GH.Git.GetRef(ctx, u.Cfg.Owner, u.Cfg.Repo, "heads/"+m.out.Branch); statusOf(err) == http.StatusNotFound {
		// GitHub closes a PR whose head branch is deleted: a run that merged
		// older values tidied up a moment too late. Start over.
		return errRestart
	}
	return fmt.Errorf("PR #%d in %s was closed without merging by someone else; nothing was merged (a rerun opens a new one)", cur.GetNumber(), u.repo())
}

// rebuild moves the change onto the base as it is now, after re-checking
// its order there: the base may have moved to newer values meanwhile.
func (m *merger) rebuild(ctx context.Context) error {
	u, c, w := m.u, m.u.Cfg, m.w
	snap, err := u.read(ctx, m.out.Base)
	if err != nil {
		return err
	}
	p, err := u.plan(ctx, snap.content, w.edits)
	if err != nil {
		return err
	}
	if p.op != "" {
		// The base holds these values or newer ones: the PR has nothing
		// left to do. Close it only while its head is still this run's.
		if ref, _, gerr := u.GH.Git.GetRef(ctx, c.Owner, c.Repo, "heads/"+m.out.Branch); gerr == nil && ref.GetObject().GetSHA() == m.head {
			if _, _, err := u.GH.PullRequests.Edit(ctx, c.Owner, c.Repo, m.pr.GetNumber(), &gh.PullRequest{State: gh.String("closed")}); err != nil {
				return u.apiErr(fmt.Sprintf("close PR #%d", m.pr.GetNumber()), err)
			}
			u.deleteBranch(ctx, m.out.Branch)
		}
		return &finished{p.op, p.reason}
	}
	content, changes, err := envfile.Set(snap.content, p.edits, envfile.SetOptions{CreateMissing: c.CreateMissing})
	if err != nil {
		return err
	}
	base, _, err := u.GH.Git.GetCommit(ctx, c.Owner, c.Repo, snap.sha)
	if err != nil {
		return u.apiErr("read commit "+short(snap.sha), err)
	}
	// Trees and commits are content-addressed: writing one twice leaves at
	// most an unreferenced duplicate, so the client may retry these POSTs.
	tree, _, err := u.GH.Git.CreateTree(ctx, c.Owner, c.Repo, base.GetTree().GetSHA(), []*gh.TreeEntry{{
		Path: gh.String(c.File), Mode: gh.String("100644"), Type: gh.String("blob"), Content: gh.String(string(content)),
	}})
	if err != nil {
		return u.apiErr("write tree", err)
	}
	commit, _, err := u.GH.Git.CreateCommit(ctx, c.Owner, c.Repo, &gh.Commit{
		Message: gh.String(Expand(c.Title, c, changes)), Tree: &gh.Tree{SHA: tree.SHA}, Parents: []*gh.Commit{{SHA: gh.String(snap.sha)}},
	}, nil)
	if err != nil {
		return u.apiErr("write commit", err)
	}
	// Forced: the branch is rebased. A run that wrote newer values between
	// our look and this write sees its head change and writes them again.
	if _, _, err := u.GH.Git.UpdateRef(ctx, c.Owner, c.Repo, &gh.Reference{Ref: gh.String("refs/heads/" + m.out.Branch), Object: &gh.GitObject{SHA: commit.SHA}}, true); err != nil {
		if statusOf(err) == http.StatusUnprocessableEntity && strings.Contains(err.Error(), "does not exist") {
			return errRestart // deleted meanwhile, and its PR closed with it
		}
		return u.apiErr("update branch "+m.out.Branch, err)
	}
	m.head, m.out.CommitSHA = commit.GetSHA(), commit.GetSHA()
	m.out.Verified = commit.GetVerification().GetVerified()
	m.out.Changes = changes
	u.Log("rebuilt PR #%d on %s (the base moved)", m.pr.GetNumber(), short(snap.sha))
	return nil
}

// afterMerge records the merge and tidies up: the branch (unless GitHub's
// "delete head branch" already did) and the approvals count, together.
func (m *merger) afterMerge(ctx context.Context, pr *gh.PullRequest) error {
	u, out := m.u, m.out
	out.Merged = true
	out.Operation = OpMerged
	out.MergeCommit = pr.GetMergeCommitSHA()
	if out.MergeCommit != "" {
		out.CommitSHA = out.MergeCommit
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		// Only while it still holds what was merged: right after the merge,
		// another run may already have claimed the branch for newer values.
		ref, _, err := u.GH.Git.GetRef(ctx, u.Cfg.Owner, u.Cfg.Repo, "heads/"+out.Branch)
		switch {
		case err == nil && ref.GetObject().GetSHA() == m.head:
			u.deleteBranch(ctx, out.Branch)
		case err != nil && statusOf(err) != http.StatusNotFound:
			u.Warn("could not delete branch %s: reading it failed: %v", out.Branch, err)
		}
	}()
	go func() { defer wg.Done(); out.Approvals = u.approvals(ctx, pr.GetNumber()) }()
	wg.Wait()
	u.Log("merged PR #%d into %s as %s", pr.GetNumber(), out.Base, short(out.MergeCommit))
	return nil
}

func (u *Updater) approvals(ctx context.Context, n int) int {
	reviews, _, err := u.GH.PullRequests.ListReviews(ctx, u.Cfg.Owner, u.Cfg.Repo, n, &gh.ListOptions{PerPage: 100})
	if err != nil {
		return 0
	}
	count := 0
	for _, r := range reviews {
		if r.GetState() == "APPROVED" {
			count++
		}
	}
	return count
}
