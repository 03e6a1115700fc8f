package githubtest

import (
	"context"
	"encoding/json"

	"strings"
	"time"
)

// Merge-time checks that complement mergeBlocked (rulesets.go): the
// repository's merge-method settings, strict required status checks and
// approval of the most recent push.

// push is the last write the server saw to a branch: who moved it to sha.
type push struct {
	sha, login string
	at         time.Time
}

// seedPusher is the login recorded for the seeding helpers' writes: a
// concrete user (the author of seeded commits) who never approves anything.
const seedPusher = "githubtest"

// notePush records that login moved ref to sha (ref may be a full ref or a
// branch name; only branches are tracked).
func (s *Server) notePush(r *repoState, ref, sha, login string) {
	branch := strings.TrimPrefix(ref, "refs/heads/")
	if strings.HasPrefix(branch, "refs/") || r == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r.pushes[branch] = push{sha: sha, login: login, at: s.now()}
}

// notePushes snapshots the branches before a git smart HTTP request and
// returns a func that records every branch the request moved as pushed by
// login (call it when the request is done).
func (s *Server) notePushes(r *repoState, login string, receive bool) func() {
	if r == nil || !receive {
		return func() {}
	}
	before, err := r.git.refs(ctxBG(), "refs/heads/")
	if err != nil {
		return func() {}
	}
	old := map[string]string{}
	for _, ref := range before {
		old[ref.Name] = ref.SHA
	}
	return func() {
		after, err := r.git.refs(ctxBG(), "refs/heads/")
		if err != nil {
			return
		}
		for _, ref := range after {
			if old[ref.Name] != ref.SHA {
				s.notePush(r, ref.Name, ref.SHA, login)
			}
		}
	}
}

// mergeMethodRefused returns GitHub's 405 message when the repository's
// settings do not allow method ("" when allowed). Docs: "About merge
// methods on GitHub" — each of merge commits, squash and rebase can be
// disabled per repository; the REST merge endpoint then refuses it.
func mergeMethodRefused(r *repoState, method string) string {
	switch {
	case method == "merge" && !r.allowMergeCommit:
		return "Merge commits are not allowed on this repository."
	case method == "squash" && !r.allowSquashMerge:
		return "Squash merges are not allowed on this repository."
	case method == "rebase" && !r.allowRebaseMerge:
		return "Rebase merges are not allowed on this repository."
	}
	return ""
}

// behindMessage is the violation for a head that does not contain the
// base's tip under strict_required_status_checks_policy. Docs: "Available
// rules for rulesets" → "Require status checks to pass before merging" →
// "Require branches to be up to date before merging".
const behindMessage = "Required status checks must pass, and the branch must be up to date before merging."

// lastPushMessage is the violation for require_last_push_approval. Docs:
// "Available rules for rulesets" → "Require approval of the most recent
// reviewable push": the most recent push must be approved by someone other
// than the person who pushed it.
const lastPushMessage = "The most recent push must be approved by someone other than the person who pushed it."

type mergeRuleParams struct {
	Strict           bool `json:"strict_required_status_checks_policy"`
	RequireLastPush  bool `json:"require_last_push_approval"`
	RequiredApproval int  `json:"required_approving_review_count"`
}

// mergeRuleExtras returns the violations of ru that mergeBlocked does not
// check itself: strict status checks and last-push approval.
func (s *Server) mergeRuleExtras(ctx context.Context, r *repoState, p *pull, ru rule, head string) []string {
	var params mergeRuleParams
	if len(ru.Parameters) > 0 && json.Unmarshal(ru.Parameters, &params) != nil {
		return nil
	}
	switch {
	case ru.Type == "required_status_checks" && params.Strict:
		behind, err := s.isBehind(ctx, r, p, head)
		if err != nil || behind {
			// When the ancestry cannot be read, refuse.
			return []string{behindMessage}
		}
	case ru.Type == "pull_request" && params.RequireLastPush:
		if !s.lastPushApproved(r, p, head) {
			return []string{lastPushMessage}
		}
	}
	return nil
}

// isBehind reports whether head lacks the base branch's tip.
func (s *Server) isBehind(ctx context.Context, r *repoState, p *pull, head string) (bool, error) {
	s.mu.Lock()
	baseRef := p.baseRef
	s.mu.Unlock()
	base, err := r.git.commitOf(ctx, "refs/heads/"+baseRef)
	if err != nil {
		return true, err
	}
	ok, err := r.git.isAncestor(ctx, base, head)
	return !ok, err
}

// lastPushApproved: some approval given on head, after the push that put
// head on the branch, by someone other than that push's author. A head the
// server did not see being pushed has an unknown pusher: refused.
func (s *Server) lastPushApproved(r *repoState, p *pull, head string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	last, ok := r.pushes[p.headRef]
	if !ok || last.sha != head {
		return false
	}
	latest := map[string]*review{}
	for _, rv := range p.reviews {
		if rv.state == "APPROVED" || rv.state == "CHANGES_REQUESTED" || rv.state == "DISMISSED" {
			latest[strings.ToLower(rv.user.login)] = rv
		}
	}
	for login, rv := range latest {
		if rv.state == "APPROVED" && rv.commitID == head && rv.submittedAt != nil &&
			!rv.submittedAt.Before(last.at) && !strings.EqualFold(login, last.login) {
			return true
		}
	}
	return false
}

// mergeStateFor turns mergeBlocked's answer into mergeable_state: "behind"
// when being out of date is the only thing in the way, "blocked" otherwise.
// Docs: GraphQL MergeStateStatus (BEHIND "the head ref is out of date",
// BLOCKED "the merge is blocked").
func mergeStateFor(violations string) string {
	switch violations {
	case "":
		return "clean"
	case behindMessage:
		return "behind"
	}
	return "blocked"
}

// deleteHeadAfterMerge applies delete_branch_on_merge. Docs: "Managing the
// automatic deletion of branches": the head branch is deleted after a
// merge; a branch another open pull request targets, the default branch or
// one whose deletion rulesets forbid is kept.
func (s *Server) deleteHeadAfterMerge(ctx context.Context, r *repoState, p *pull, tok *token, head string) {
	s.mu.Lock()
	on, headRef := r.deleteBranchOnMerge, p.headRef
	used := false
	for _, o := range r.pulls {
		used = used || (o != p && o.state == "open" && o.baseRef == headRef)
	}
	s.mu.Unlock()
	if !on || used || headRef == r.defaultBranch || s.checkRules(r, tok, headRef, opDelete) != "" {
		return
	}
	// Compare-and-swap: a head that moved after the merge is kept.
	if err := r.git.deleteRef(ctx, "refs/heads/"+headRef, head); err != nil {
		return
	}
	s.mu.Lock()
	delete(r.pushes, headRef)
	s.mu.Unlock()
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

// preferredMethod is the method mergeable_state is judged for: the merge
// button's first allowed one (merge, squash, rebase order on GitHub).
func (s *Server) preferredMethod(r *repoState) string {
	switch {
	case r.allowMergeCommit:
		return "merge"
	case r.allowSquashMerge:
		return "squash"
	}
	return "rebase"
}
