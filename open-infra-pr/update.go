package openinfrapr

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/ancestry"
	"github.com/cicd-excellence/actions/internal/envfile"
	"github.com/cicd-excellence/actions/internal/ghclient"
)

// Operations reported in the `operation` output.
const (
	OpCreated = "created"
	OpUpdated = "updated"
	OpMerged  = "merged"
	OpNone    = "none"
	OpSkipped = "skipped"
	OpDryRun  = "dry-run"
)

// Updater moves one environment through a PR. Everything it needs is passed
// in, so tests run it against the local GitHub with a fast clock.
type Updater struct {
	GH     *gh.Client
	Cfg    Config
	Log    func(format string, args ...any)
	Notice func(format string, args ...any)
	Warn   func(format string, args ...any)
	Sleep  func(ctx context.Context, d time.Duration) error
	Now    func() time.Time
	// MaxAttempts bounds merge attempts and rebuilds (default 60).
	MaxAttempts int
	// Backoff is the first wait between merge attempts (default 1s).
	Backoff time.Duration
}

// Outcome is what happened.
type Outcome struct {
	Operation   string
	Reason      string
	Number      int
	URL         string
	Branch      string
	Base        string
	CommitSHA   string
	Merged      bool
	MergeCommit string
	Verified    bool
	Approvals   int
	Changes     []envfile.Change
	Superseded  []int
}

// snapshot is the base branch as read at one moment.
type snapshot struct {
	sha     string // commit
	tree    string
	content []byte
	source  []byte // the promote-from file, at the same commit
}

func (u *Updater) defaults() {
	if u.Log == nil {
		u.Log = func(string, ...any) {}
	}
	if u.Notice == nil {
		u.Notice = u.Log
	}
	if u.Warn == nil {
		u.Warn = u.Log
	}
	if u.Sleep == nil {
		u.Sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		}
	}
	if u.Now == nil {
		u.Now = time.Now
	}
	if u.MaxAttempts == 0 {
		u.MaxAttempts = 60
	}
	if u.Backoff == 0 {
		u.Backoff = time.Second
	}
}

func (u *Updater) repo() string { return u.Cfg.Owner + "/" + u.Cfg.Repo }

// repoErr is a failed read of the infra repository itself: a 404 means the
// infra-repo input names one that does not exist or the token cannot see.
func (u *Updater) repoErr(err error) error {
	if statusOf(err) == http.StatusNotFound {
		return action.Inputf("infra-repo", "%v", u.apiErr("read repository", err))
	}
	return u.apiErr("read repository", err)
}

// Run performs the update.
func (u *Updater) Run(ctx context.Context) (*Outcome, error) {
	u.defaults()
	c := u.Cfg
	out := &Outcome{Base: c.Base}
	if out.Base == "" {
		r, _, err := u.GH.Repositories.Get(ctx, c.Owner, c.Repo)
		if err != nil {
			return nil, u.repoErr(err)
		}
		out.Base = r.GetDefaultBranch()
	}
	snap, err := u.read(ctx, out.Base)
	if err != nil {
		return nil, err
	}
	edits, err := u.edits(snap)
	if err != nil {
		return nil, err
	}
	edits, held := u.dropHeld(snap.content, edits)
	if len(edits) == 0 && len(held) > 0 {
		out.Operation, out.Reason = OpSkipped, "held: "+strings.Join(held, ", ")
		return out, nil
	}
	_, changes, err := envfile.Set(snap.content, edits, envfile.SetOptions{CreateMissing: c.CreateMissing})
	var te *envfile.TypeError
	if errors.Is(err, envfile.ErrNotFound) || errors.As(err, &te) {
		// A key the file does not have, or one that holds no version: the
		// edit asked for is wrong, not the file.
		input := "set"
		if c.PromoteFrom != "" {
			input = "keys"
		}
		return nil, action.Inputf(input, "edit %s: %v", c.File, err)
	}
	if err != nil {
		return nil, fmt.Errorf("edit %s: %w", c.File, err)
	}
	if len(changes) == 0 {
		out.Operation, out.Reason = OpNone, fmt.Sprintf("%s already holds these values", c.File)
		return out, nil
	}
	edits, skipped, err := u.checkOrder(ctx, edits, changes)
	if err != nil {
		return nil, err
	}
	if len(edits) == 0 {
		out.Operation, out.Reason = OpSkipped, strings.Join(skipped, "; ")
		return out, nil
	}
	content, changes, err := envfile.Set(snap.content, edits, envfile.SetOptions{CreateMissing: c.CreateMissing})
	if err != nil {
		return nil, fmt.Errorf("edit %s: %w", c.File, err)
	}
	out.Changes = changes
	out.Branch = Branch(c.Environment, c.File, edits)
	if c.DryRun {
		out.Operation, out.Reason = OpDryRun, "dry run: nothing written"
		u.Log("dry run: would open a PR from %s into %s changing %s", out.Branch, out.Base, c.File)
		return out, nil
	}

	pr, reused, err := u.openPR(ctx, out, snap, content, edits, changes)
	if err != nil {
		return nil, err
	}
	out.Number, out.URL, out.CommitSHA = pr.GetNumber(), pr.GetHTMLURL(), pr.GetHead().GetSHA()
	out.Operation = OpCreated
	if reused {
		out.Operation = OpUpdated
	}
	out.Superseded = u.supersede(ctx, pr, edits)

	if c.Merge != MergeNone {
		merged, err := u.merge(ctx, out, pr, edits)
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf("PR #%d", out.Number)) {
				err = fmt.Errorf("PR #%d is open with the change but not merged (a rerun merges it): %w", out.Number, err)
			}
			return out, err
		}
		if merged {
			out.Operation = OpMerged
		}
	}
	out.Verified = u.verified(ctx, out.CommitSHA)
	out.Approvals = u.approvals(ctx, out.Number)
	return out, nil
}

// read returns the base branch's commit, tree and the environment file.
func (u *Updater) read(ctx context.Context, base string) (*snapshot, error) {
	c := u.Cfg
	ref, _, err := u.GH.Git.GetRef(ctx, c.Owner, c.Repo, "heads/"+base)
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			if _, _, rerr := u.GH.Repositories.Get(ctx, c.Owner, c.Repo); rerr != nil {
				return nil, u.repoErr(rerr)
			}
			return nil, action.Inputf("base", "branch %s does not exist in %s", base, u.repo())
		}
		return nil, u.apiErr("read branch "+base, err)
	}
	sha := ref.GetObject().GetSHA()
	commit, _, err := u.GH.Git.GetCommit(ctx, c.Owner, c.Repo, sha)
	if err != nil {
		return nil, u.apiErr("read commit "+short(sha), err)
	}
	s := &snapshot{sha: sha, tree: commit.GetTree().GetSHA()}
	if s.content, err = u.file(ctx, c.File, sha); err != nil {
		return nil, err
	}
	if c.PromoteFrom != "" {
		if s.source, err = u.file(ctx, c.PromoteFile, sha); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (u *Updater) file(ctx context.Context, path, sha string) ([]byte, error) {
	c := u.Cfg
	fc, _, _, err := u.GH.Repositories.GetContents(ctx, c.Owner, c.Repo, path, &gh.RepositoryContentGetOptions{Ref: sha})
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			return nil, action.Inputf("file", "%s does not exist in %s at %s", path, u.repo(), short(sha))
		}
		return nil, u.apiErr("read "+path, err)
	}
	if fc == nil || fc.GetType() != "file" {
		return nil, action.Inputf("file", "%s is not a file in %s", path, u.repo())
	}
	if fc.GetSize() > envfile.DefaultMaxSize {
		return nil, action.Inputf("file", "%s is %d bytes; the limit is %d", path, fc.GetSize(), envfile.DefaultMaxSize)
	}
	text, err := fc.GetContent()
	if err != nil {
		return nil, fmt.Errorf("read %s: content is not base64: %w", path, err)
	}
	if err := envfile.Validate([]byte(text), envfile.DefaultMaxSize); err != nil {
		return nil, action.Inputf("file", "%s in %s: %v", path, u.repo(), err)
	}
	return []byte(text), nil
}

// edits are the configured edits, or for a promotion the source
// environment's values of the selected keys.
func (u *Updater) edits(s *snapshot) ([]envfile.Edit, error) {
	c := u.Cfg
	if c.PromoteFrom == "" {
		return c.Edits, nil
	}
	keys := c.PromoteKeys
	if len(keys) == 0 {
		vals, err := envfile.Values(s.source, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.PromoteFile, err)
		}
		names := make([]string, 0, len(vals))
		for k := range vals {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			p, err := envfile.ParsePath(k)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.PromoteFile, err)
			}
			keys = append(keys, p)
		}
		if len(keys) == 0 {
			return nil, fmt.Errorf("promote from %s: %s has no version keys (keys named tag)", c.PromoteFrom, c.PromoteFile)
		}
	}
	var edits []envfile.Edit
	for _, k := range keys {
		v, ok, err := envfile.Get(s.source, k)
		if err != nil {
			return nil, fmt.Errorf("promote from %s: %s: %w", c.PromoteFrom, k.String(), err)
		}
		if !ok {
			return nil, action.Inputf("keys", "%s is not in %s", k.String(), c.PromoteFile)
		}
		edits = append(edits, envfile.Edit{Path: k, Value: v})
	}
	return edits, nil
}

// dropHeld removes edits whose value sits in an object with a non-empty
// "hold" string: the documented way to pin a version during a rollback.
func (u *Updater) dropHeld(content []byte, edits []envfile.Edit) ([]envfile.Edit, []string) {
	var keep []envfile.Edit
	var held []string
	for _, e := range edits {
		if reason, ok := envfile.Hold(content, e.Path); ok {
			held = append(held, fmt.Sprintf("%s (%s)", e.Path.String(), reason))
			u.Notice("%s in %s is held (%s): automation leaves it alone", e.Path.String(), u.Cfg.File, reason)
			continue
		}
		keep = append(keep, e)
	}
	return keep, held
}

// checkOrder keeps versions monotonic: a commit may only replace one it
// descends from, unless allow-downgrade says a rollback means it; and a new
// commit must be reachable from the app's default branch or a hotfix branch.
func (u *Updater) checkOrder(ctx context.Context, edits []envfile.Edit, changes []envfile.Change) ([]envfile.Edit, []string, error) {
	c := u.Cfg
	if c.AppOwner == "" {
		return edits, nil, nil
	}
	changed := map[string]envfile.Change{}
	for _, ch := range changes {
		changed[ch.Path] = ch
	}
	var keep []envfile.Edit
	var skipped []string
	for _, e := range edits {
		ch, ok := changed[e.Path.String()]
		if !ok || !isSHA(ch.New) {
			keep = append(keep, e)
			continue
		}
		if err := u.reachable(ctx, ch.New); err != nil {
			return nil, nil, err
		}
		if isSHA(ch.Old) && !c.AllowDowngrade {
			status, err := ancestry.Compare(ctx, u.GH, c.AppOwner, c.AppRepo, ch.Old, ch.New)
			switch {
			case errors.Is(err, ancestry.ErrUnknownCommit):
				u.Warn("cannot order %s: %s is not a commit of %s/%s; moving on", e.Path.String(), short(ch.Old), c.AppOwner, c.AppRepo)
			case err != nil:
				return nil, nil, err
			case status == "behind" || status == "diverged":
				msg := fmt.Sprintf("%s: %s is not newer than %s (%s); set allow-downgrade: true for a rollback", e.Path.String(), short(ch.New), short(ch.Old), status)
				u.Notice("skipped %s", msg)
				skipped = append(skipped, msg)
				continue
			}
		}
		keep = append(keep, e)
	}
	return keep, skipped, nil
}

// reachable checks that sha is on the app's default branch or a hotfix
// branch: a commit that only exists in a fork or an unmerged PR can still be
// fetched by SHA through the main repo, and must not be deployed.
func (u *Updater) reachable(ctx context.Context, sha string) error {
	c := u.Cfg
	app := c.AppOwner + "/" + c.AppRepo
	_, ok, err := ancestry.Reachable(ctx, u.GH, c.AppOwner, c.AppRepo, sha, c.HotfixPrefix)
	switch {
	case errors.Is(err, ancestry.ErrUnknownCommit):
		return action.Inputf("set", "%s is not a commit of %s", sha, app)
	case err != nil:
		return err
	case !ok:
		return action.Inputf("set", "%s is not on %s's default branch or a %s* branch; only merged commits may be deployed", short(sha), app, c.HotfixPrefix)
	}
	return nil
}

// openPR finds this change's PR (a rerun) or makes the commit, the branch and
// the PR, in that order, so no branch ever exists without its change, and a
// failed PR creation removes the branch it made.
func (u *Updater) openPR(ctx context.Context, out *Outcome, s *snapshot, content []byte, edits []envfile.Edit, changes []envfile.Change) (*gh.PullRequest, bool, error) {
	c := u.Cfg
	if pr, err := u.findPR(ctx, out.Branch, out.Base); err != nil || pr != nil {
		if pr != nil {
			u.Log("reusing PR #%d for the same change", pr.GetNumber())
		}
		return pr, pr != nil, err
	}
	commit, err := u.commit(ctx, s, content, changes)
	if err != nil {
		return nil, false, err
	}
	created, err := u.setBranch(ctx, out.Branch, commit)
	if err != nil {
		return nil, false, err
	}
	values := map[string]string{}
	for _, e := range edits {
		values[e.Path.String()] = e.Value
	}
	pr, _, err := u.GH.PullRequests.Create(ctx, c.Owner, c.Repo, &gh.NewPullRequest{
		Title: gh.String(Expand(c.Title, c, changes)),
		Head:  gh.String(out.Branch),
		Base:  gh.String(out.Base),
		Body:  gh.String(Body(c, changes, values)),
		Draft: gh.Bool(c.Draft),
	})
	if err != nil {
		// A concurrent rerun may have opened it between our look and now,
		// or this very request did and its answer was lost.
		ghclient.AwaitInFlight(ctx, err)
		if existing, ferr := u.findPR(ctx, out.Branch, out.Base); ferr == nil && existing != nil {
			return existing, true, nil
		}
		if created {
			u.deleteBranch(ctx, out.Branch)
		}
		return nil, false, u.apiErr("open PR from "+out.Branch, err)
	}
	u.Log("opened PR #%d: %s", pr.GetNumber(), pr.GetHTMLURL())
	if len(c.Labels) > 0 {
		if _, _, err := u.GH.Issues.AddLabelsToIssue(ctx, c.Owner, c.Repo, pr.GetNumber(), c.Labels); err != nil {
			u.Warn("could not label PR #%d: %v", pr.GetNumber(), err)
		}
	}
	if len(c.Reviewers) > 0 {
		if _, _, err := u.GH.PullRequests.RequestReviewers(ctx, c.Owner, c.Repo, pr.GetNumber(), gh.ReviewersRequest{Reviewers: c.Reviewers}); err != nil {
			u.Warn("could not request reviewers on PR #%d: %v", pr.GetNumber(), err)
		}
	}
	return pr, false, nil
}

func (u *Updater) findPR(ctx context.Context, branch, base string) (*gh.PullRequest, error) {
	c := u.Cfg
	prs, _, err := u.GH.PullRequests.List(ctx, c.Owner, c.Repo, &gh.PullRequestListOptions{
		State: "open", Head: c.Owner + ":" + branch, Base: base, ListOptions: gh.ListOptions{PerPage: 10},
	})
	if err != nil {
		return nil, u.apiErr("list PRs", err)
	}
	for _, pr := range prs {
		if pr.GetHead().GetRef() == branch {
			return pr, nil
		}
	}
	return nil, nil
}

// commit writes the new file as one commit on top of the base through the
// Git Data API: a tree with base_tree, then a commit with no author or
// committer, which GitHub signs and marks verified for App and Actions tokens.
func (u *Updater) commit(ctx context.Context, s *snapshot, content []byte, changes []envfile.Change) (string, error) {
	c := u.Cfg
	// Trees and commits are content-addressed objects: writing one twice
	// leaves at most an unreferenced duplicate, so these POSTs may be retried.
	rctx := ghclient.WithRetryPOST(ctx)
	tree, _, err := u.GH.Git.CreateTree(rctx, c.Owner, c.Repo, s.tree, []*gh.TreeEntry{{
		Path: gh.String(c.File), Mode: gh.String("100644"), Type: gh.String("blob"), Content: gh.String(string(content)),
	}})
	if err != nil {
		return "", u.apiErr("write tree", err)
	}
	msg := Expand(c.Title, c, changes)
	if c.SourceSHA != "" && c.AppOwner != "" {
		msg += fmt.Sprintf("\n\nFrom %s/%s@%s.", c.AppOwner, c.AppRepo, c.SourceSHA)
	}
	commit, _, err := u.GH.Git.CreateCommit(rctx, c.Owner, c.Repo, &gh.Commit{
		Message: gh.String(msg),
		Tree:    &gh.Tree{SHA: tree.SHA},
		Parents: []*gh.Commit{{SHA: gh.String(s.sha)}},
	}, nil)
	if err != nil {
		return "", u.apiErr("write commit", err)
	}
	return commit.GetSHA(), nil
}

// setBranch points the PR branch at commit, creating it if needed. The
// branch belongs to this action (its name is derived from the change), so a
// forced update only ever replaces our own earlier commit.
func (u *Updater) setBranch(ctx context.Context, branch, commit string) (created bool, err error) {
	c := u.Cfg
	ref := "refs/heads/" + branch
	for attempt := 1; ; attempt++ {
		_, _, err = u.GH.Git.CreateRef(ctx, c.Owner, c.Repo, &gh.Reference{Ref: gh.String(ref), Object: &gh.GitObject{SHA: gh.String(commit)}})
		if err == nil {
			return true, nil
		}
		s := statusOf(err)
		if s == http.StatusUnprocessableEntity && strings.Contains(strings.ToLower(err.Error()), "already exists") {
			break // a branch left by an earlier run: updated below
		}
		if s < 500 && !ghclient.Unanswered(err) {
			// Any other refusal (a ruleset restricting creation, a bad SHA) is
			// the answer: updating a branch that is not there cannot help.
			return false, u.apiErr("create branch "+branch, err)
		}
		// No answer: the branch's state says whether the create happened.
		ghclient.AwaitInFlight(ctx, err)
		got, _, gerr := u.GH.Git.GetRef(ctx, c.Owner, c.Repo, "heads/"+branch)
		switch {
		case gerr == nil && got.GetObject().GetSHA() == commit:
			u.Log("branch %s was created although GitHub's answer was lost", branch)
			return true, nil
		case statusOf(gerr) == http.StatusNotFound && attempt < 2:
			u.Log("creating branch %s failed (%v); it does not exist, trying once more", branch, err)
			continue
		case statusOf(gerr) == http.StatusNotFound:
			return false, u.apiErr("create branch "+branch, err)
		case gerr != nil:
			// Unknown either way: do not leave a branch behind.
			u.deleteBranch(ctx, branch)
			return false, u.apiErr("create branch "+branch, err)
		}
		break // it exists at another commit: an earlier run's, updated below
	}
	if _, _, err := u.GH.Git.UpdateRef(ctx, c.Owner, c.Repo, &gh.Reference{Ref: gh.String(ref), Object: &gh.GitObject{SHA: gh.String(commit)}}, true); err != nil {
		return false, u.apiErr("update branch "+branch, err)
	}
	return false, nil
}

func (u *Updater) deleteBranch(ctx context.Context, branch string) {
	c := u.Cfg
	if _, err := u.GH.Git.DeleteRef(ctx, c.Owner, c.Repo, "heads/"+branch); err != nil && statusOf(err) != http.StatusUnprocessableEntity && statusOf(err) != http.StatusNotFound {
		u.Warn("could not delete branch %s: %v", branch, err)
	}
}

// supersede closes older open PRs of this action for the same environment
// whose every key this PR sets to a newer value.
func (u *Updater) supersede(ctx context.Context, pr *gh.PullRequest, edits []envfile.Edit) []int {
	c := u.Cfg
	prs, _, err := u.GH.PullRequests.List(ctx, c.Owner, c.Repo, &gh.PullRequestListOptions{State: "open", Base: pr.GetBase().GetRef(), ListOptions: gh.ListOptions{PerPage: 100}})
	if err != nil {
		u.Warn("could not list PRs to supersede: %v", err)
		return nil
	}
	ours := map[string]string{}
	for _, e := range edits {
		ours[e.Path.String()] = e.Value
	}
	var closed []int
	for _, other := range prs {
		if other.GetNumber() == pr.GetNumber() || !strings.HasPrefix(other.GetHead().GetRef(), BranchPrefix+c.Environment+"/") {
			continue
		}
		mk, ok := ParseMarker(other.GetBody())
		if !ok || mk.Environment != c.Environment || mk.File != c.File || !u.newerThan(ctx, ours, mk.Values) {
			continue
		}
		n := other.GetNumber()
		comment := fmt.Sprintf("Superseded by #%d, which sets newer values.", pr.GetNumber())
		if _, _, err := u.GH.Issues.CreateComment(ctx, c.Owner, c.Repo, n, &gh.IssueComment{Body: gh.String(comment)}); err != nil {
			u.Warn("could not comment on superseded PR #%d: %v", n, err)
			continue
		}
		if _, _, err := u.GH.PullRequests.Edit(ctx, c.Owner, c.Repo, n, &gh.PullRequest{State: gh.String("closed")}); err != nil {
			u.Warn("could not close superseded PR #%d: %v", n, err)
			continue
		}
		u.deleteBranch(ctx, other.GetHead().GetRef())
		u.Log("closed PR #%d: superseded by #%d", n, pr.GetNumber())
		closed = append(closed, n)
	}
	return closed
}

// newerThan reports whether ours sets every key of theirs, each to a value
// that descends from theirs (or, for non-SHA values, simply a later one).
func (u *Updater) newerThan(ctx context.Context, ours, theirs map[string]string) bool {
	if len(theirs) == 0 {
		return false
	}
	keys := make([]string, 0, len(theirs))
	for k := range theirs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		o, ok := ours[k]
		if !ok {
			return false
		}
		t := theirs[k]
		if o == t || !isSHA(o) || !isSHA(t) || u.Cfg.AppOwner == "" {
			continue
		}
		if status, err := ancestry.Compare(ctx, u.GH, u.Cfg.AppOwner, u.Cfg.AppRepo, t, o); err != nil || status != "ahead" {
			return false
		}
	}
	return true
}

// merge merges the PR, bounded in attempts and time. Conflicts and a moved
// base are survived by rebuilding the change on the new base; required checks
// and reviews are waited for (auto) until merge-timeout; rule violations end
// it with the PR left open for a human.
func (u *Updater) merge(ctx context.Context, out *Outcome, pr *gh.PullRequest, edits []envfile.Edit) (bool, error) {
	c := u.Cfg
	n := pr.GetNumber()
	deadline := u.Now().Add(c.MergeTimeout)
	wait := u.Backoff
	pause := func(why string) error {
		if u.Now().Add(wait).After(deadline) {
			return errTimeout
		}
		d := wait/2 + time.Duration(rand.Int64N(int64(wait)))
		u.Log("PR #%d: %s; next try in %s", n, why, d.Round(time.Millisecond))
		if err := u.Sleep(ctx, d); err != nil {
			return err
		}
		if wait < 8*time.Second {
			wait *= 2
		}
		return nil
	}
	passed := map[string]bool{} // head SHAs whose checks passed
	for attempt := 1; attempt <= u.MaxAttempts; attempt++ {
		cur, _, err := u.GH.PullRequests.Get(ctx, c.Owner, c.Repo, n)
		if err != nil {
			return false, u.apiErr(fmt.Sprintf("read PR #%d", n), err)
		}
		switch {
		case cur.GetMerged():
			return u.afterMerge(ctx, out, cur)
		case cur.GetState() != "open":
			return false, fmt.Errorf("PR #%d was closed before it could be merged", n)
		}
		out.CommitSHA = cur.GetHead().GetSHA()
		state := cur.GetMergeableState()
		var why string
		switch {
		case cur.Mergeable == nil || state == "unknown":
			why = "GitHub is still computing mergeability"
		case !cur.GetMergeable() || state == "dirty" || state == "behind":
			rebuilt, done, err := u.rebuild(ctx, out, cur, edits)
			if err != nil || done {
				return false, err
			}
			if rebuilt {
				continue
			}
			why = "not mergeable"
		case state == "draft":
			return false, nil
		case c.Merge == MergeAuto:
			// Auto waits for the head's checks (the validate job is the
			// compensating control); the review rule is the ruleset's, which
			// the bot's bypass answers or the merge below reports.
			switch checks, err := u.checksOnce(ctx, cur.GetHead().GetSHA(), passed); {
			case err != nil:
				return false, err
			case checks == checksFailed:
				return false, fmt.Errorf("merge PR #%d in %s: a check on %s failed (the PR is left open)", n, u.repo(), short(cur.GetHead().GetSHA()))
			case checks == checksPending:
				why = "waiting for checks"
			}
		}
		if why != "" {
			if err := pause(why); err != nil {
				if errors.Is(err, errTimeout) {
					u.Warn("PR #%d not merged within %s (%s): left open", n, c.MergeTimeout, why)
					return false, nil
				}
				return false, err
			}
			continue
		}
		res, err := u.mergeRacing(ctx, n, cur.GetHead().GetSHA())
		if err == nil && res.GetMerged() {
			cur.Merged = gh.Bool(true)
			cur.MergeCommitSHA = res.SHA
			return u.afterMerge(ctx, out, cur)
		}
		if err != nil && (statusOf(err) == 0 || statusOf(err) >= 500 || statusOf(err) == http.StatusMethodNotAllowed) {
			// The answer may have been lost after GitHub merged (a retried
			// PUT then hears "not mergeable"): the PR's state decides.
			if now, _, gerr := u.GH.PullRequests.Get(ctx, c.Owner, c.Repo, n); gerr == nil && now.GetMerged() {
				u.Log("PR #%d was merged although the answer was lost", n)
				return u.afterMerge(ctx, out, now)
			}
		}
		kind, msg := classifyMerge(err)
		switch kind {
		case mergeTransient:
			why = "merge refused for now: " + msg
		case mergeWaiting:
			if c.Merge != MergeAuto || strings.Contains(strings.ToLower(msg), "review") {
				return false, fmt.Errorf("merge PR #%d in %s: %s (the token cannot bypass it; the PR is left open for review)", n, u.repo(), msg)
			}
			why = "waiting: " + msg
		case mergeConflict:
			rebuilt, done, rerr := u.rebuild(ctx, out, cur, edits)
			if rerr != nil || done {
				return false, rerr
			}
			if rebuilt {
				continue
			}
			why = "not mergeable: " + msg
		default:
			return false, fmt.Errorf("merge PR #%d in %s: %s (the PR is left open for review)", n, u.repo(), msg)
		}
		if err := pause(why); err != nil {
			if errors.Is(err, errTimeout) {
				u.Warn("PR #%d not merged within %s (%s): left open", n, c.MergeTimeout, why)
				return false, nil
			}
			return false, err
		}
	}
	return false, fmt.Errorf("merge PR #%d in %s: gave up after %d attempts (the PR is left open)", n, u.repo(), u.MaxAttempts)
}

var errTimeout = errors.New("merge timeout")

// rebuild re-reads the base, re-applies the edits and moves the PR branch to
// a fresh commit on it. done is true when the base already holds the values
// (someone else landed them): the PR is closed and its branch deleted.
func (u *Updater) rebuild(ctx context.Context, out *Outcome, pr *gh.PullRequest, edits []envfile.Edit) (rebuilt, done bool, err error) {
	s, err := u.read(ctx, out.Base)
	if err != nil {
		return false, false, err
	}
	if s.sha == pr.GetBase().GetSHA() && pr.GetMergeableState() != "dirty" && pr.Mergeable != nil && !pr.GetMergeable() {
		// Same base and still not mergeable: nothing a rebuild can fix.
		return false, false, nil
	}
	content, changes, err := envfile.Set(s.content, edits, envfile.SetOptions{CreateMissing: u.Cfg.CreateMissing})
	if err != nil {
		return false, false, fmt.Errorf("re-apply the edit on the new base: %w", err)
	}
	if len(changes) == 0 {
		u.Log("base %s already holds the values: closing PR #%d", short(s.sha), pr.GetNumber())
		if _, _, err := u.GH.PullRequests.Edit(ctx, u.Cfg.Owner, u.Cfg.Repo, pr.GetNumber(), &gh.PullRequest{State: gh.String("closed")}); err != nil {
			return false, false, u.apiErr(fmt.Sprintf("close PR #%d", pr.GetNumber()), err)
		}
		u.deleteBranch(ctx, out.Branch)
		out.Operation, out.Reason = OpNone, "the base branch already holds these values"
		return false, true, nil
	}
	commit, err := u.commit(ctx, s, content, changes)
	if err != nil {
		return false, false, err
	}
	if _, err := u.setBranch(ctx, out.Branch, commit); err != nil {
		return false, false, err
	}
	out.Changes = changes
	u.Log("rebuilt PR #%d on %s (base moved)", pr.GetNumber(), short(s.sha))
	return true, false, nil
}

func (u *Updater) afterMerge(ctx context.Context, out *Outcome, pr *gh.PullRequest) (bool, error) {
	out.Merged = true
	out.MergeCommit = pr.GetMergeCommitSHA()
	if out.MergeCommit != "" {
		out.CommitSHA = out.MergeCommit
	}
	u.deleteBranch(ctx, out.Branch)
	u.Log("merged PR #%d into %s as %s", pr.GetNumber(), out.Base, short(out.CommitSHA))
	return true, nil
}

func (u *Updater) verified(ctx context.Context, sha string) bool {
	if sha == "" {
		return false
	}
	c, _, err := u.GH.Git.GetCommit(ctx, u.Cfg.Owner, u.Cfg.Repo, sha)
	if err != nil {
		u.Warn("could not read commit %s to report verification: %v", short(sha), err)
		return false
	}
	return c.GetVerification().GetVerified()
}

func (u *Updater) approvals(ctx context.Context, n int) int {
	if n == 0 {
		return 0
	}
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

type checksState int

const (
	checksPassed checksState = iota
	checksPending
	checksFailed
)

// checks combines the commit statuses and check runs of sha. No checks at all
// counts as passed: what is required is the ruleset's to enforce at merge.
func (u *Updater) checks(ctx context.Context, sha string) (checksState, error) {
	c := u.Cfg
	st, _, err := u.GH.Repositories.GetCombinedStatus(ctx, c.Owner, c.Repo, sha, &gh.ListOptions{PerPage: 100})
	if err != nil {
		return 0, u.apiErr("read statuses of "+short(sha), err)
	}
	result := checksPassed
	for _, s := range st.Statuses {
		switch s.GetState() {
		case "pending":
			result = checksPending
		case "failure", "error":
			return checksFailed, nil
		}
	}
	runs, _, err := u.GH.Checks.ListCheckRunsForRef(ctx, c.Owner, c.Repo, sha, &gh.ListCheckRunsOptions{ListOptions: gh.ListOptions{PerPage: 100}})
	if err != nil {
		return 0, u.apiErr("read check runs of "+short(sha), err)
	}
	for _, r := range runs.CheckRuns {
		if r.GetStatus() != "completed" {
			result = checksPending
			continue
		}
		switch r.GetConclusion() {
		case "failure", "timed_out", "cancelled", "action_required":
			return checksFailed, nil
		}
	}
	return result, nil
}

// mergeRacing merges with the head SHA as a compare-and-swap, and retries
// at once (with a short jitter) when it only lost a race with another merge:
// "Base branch was modified" means GitHub could merge, someone was faster.
func (u *Updater) mergeRacing(ctx context.Context, n int, head string) (*gh.PullRequestMergeResult, error) {
	c := u.Cfg
	var err error
	for i := 0; i < 5; i++ {
		var res *gh.PullRequestMergeResult
		res, _, err = u.GH.PullRequests.Merge(ctx, c.Owner, c.Repo, n, "", &gh.PullRequestOptions{MergeMethod: c.MergeMethod, SHA: head})
		if err == nil {
			return res, nil
		}
		if !strings.Contains(strings.ToLower(err.Error()), "base branch was modified") {
			return nil, err
		}
		d := time.Duration(50+rand.Int64N(250)) * time.Millisecond
		if serr := u.Sleep(ctx, d); serr != nil {
			return nil, serr
		}
	}
	return nil, err
}

// checksOnce asks for the head's checks until they have passed once.
func (u *Updater) checksOnce(ctx context.Context, sha string, passed map[string]bool) (checksState, error) {
	if passed[sha] {
		return checksPassed, nil
	}
	st, err := u.checks(ctx, sha)
	if err == nil && st == checksPassed {
		passed[sha] = true
	}
	return st, err
}
