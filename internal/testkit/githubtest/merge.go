package githubtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Merging is done for real in git: merge commits and squashes come from
// git merge-tree, rebases replay every head commit onto the base (new SHAs,
// GitHub as committer), and the base branch moves by compare-and-swap.
//
// Signatures: merge and squash commits made by the merge button are signed
// by GitHub (web-flow) and verified. Commits a rebase merge rewrites are
// not: "About merge methods on GitHub" → "Rebasing and merging your
// commits" says rebase and merge creates new commits that GitHub does not
// sign ("commits rewritten by a rebase merge are not signed"; signing them
// is not guaranteed anywhere, so the fake refuses: unverified).

var errConflict = errors.New("merge conflict")

// mergeCommit builds the commit(s) a merge of head into base produces and
// returns the new base tip.
func (s *Server) mergeCommit(ctx context.Context, r *repoState, p *pull, merger *user, method, base, head, title, message string) (string, error) {
	g := r.git
	now := s.now()
	committer := webFlow
	committer.Date = now
	switch method {
	case "rebase":
		list, err := g.out(ctx, "rev-list", "--reverse", "--topo-order", "--no-merges", base+".."+head)
		if err != nil {
			return "", err
		}
		if list == "" {
			return "", errConflict
		}
		commits, err := g.logCommits(ctx, append([]string{"--no-walk=unsorted"}, strings.Split(list, "\n")...)...)
		if err != nil {
			return "", err
		}
		tip := base
		for _, ci := range commits {
			tree, ok, err := g.cherryPickTree(ctx, tip, ci.SHA, firstParent(ci))
			if err != nil {
				return "", err
			}
			if !ok {
				return "", errConflict
			}
			replayed, err := g.commitTree(ctx, tree, []string{tip}, ci.Message, ci.Author, committer)
			if err != nil {
				return "", err
			}
			if replayed == ci.SHA {
				// Already on the base and committed by GitHub within the
				// same second: bump the committer date so the rebase
				// still yields a new commit, as GitHub's always does.
				later := committer
				later.Date = later.Date.Add(time.Second)
				if replayed, err = g.commitTree(ctx, tree, []string{tip}, ci.Message, ci.Author, later); err != nil {
					return "", err
				}
			}
			tip = replayed
		}
		return tip, nil
	case "squash", "merge":
		tree, ok, _, err := g.mergeTrees(ctx, base, head)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", errConflict
		}
		parents := []string{base, head}
		author := s.authorFor(merger)
		if method == "squash" {
			parents = []string{base}
			s.mu.Lock()
			author = s.authorFor(p.user)
			s.mu.Unlock()
		}
		msg := title
		if message != "" {
			msg += "\n\n" + message
		}
		sha, err := g.commitTree(ctx, tree, parents, msg+"\n", author, committer)
		if err != nil {
			return "", err
		}
		s.markVerified(r, sha)
		return sha, nil
	}
	return "", fmt.Errorf("unknown merge method %q", method)
}

// defaultMergeMessage mirrors GitHub's defaults for each method.
func (s *Server) defaultMergeMessage(ctx context.Context, r *repoState, p *pull, method, base, head string) (title, message string, err error) {
	s.mu.Lock()
	number, prTitle, headRef := p.number, p.title, p.headRef
	s.mu.Unlock()
	switch method {
	case "squash":
		title = fmt.Sprintf("%s (#%d)", prTitle, number)
		commits, err := r.git.logCommits(ctx, "--reverse", base+".."+head)
		if err != nil {
			return "", "", err
		}
		var lines []string
		for _, ci := range commits {
			lines = append(lines, "* "+trimMessage(ci.Message))
		}
		return title, strings.Join(lines, "\n\n"), nil
	default:
		return fmt.Sprintf("Merge pull request #%d from %s/%s", number, r.owner, headRef), prTitle, nil
	}
}

func (s *Server) mergePull(c *call) {
	p := s.pullFor(c)
	if p == nil {
		return
	}
	var in struct {
		CommitTitle   string `json:"commit_title"`
		CommitMessage string `json:"commit_message"`
		SHA           string `json:"sha"`
		MergeMethod   string `json:"merge_method"`
	}
	if !c.decode(&in) {
		return
	}
	if in.MergeMethod == "" {
		in.MergeMethod = "merge"
	}
	r := c.repo
	head, base, err := s.refreshSHAs(c.ctx, r, p)
	if err != nil {
		c.internal(err)
		return
	}
	s.mu.Lock()
	open, draft := p.state == "open", p.draft
	s.mu.Unlock()
	switch {
	case !open:
		c.fail(http.StatusMethodNotAllowed, "Pull Request is not mergeable")
		return
	case in.SHA != "" && in.SHA != head:
		c.fail(http.StatusConflict, "Head branch was modified. Review and try the merge again.")
		return
	case draft:
		c.fail(http.StatusMethodNotAllowed, "Pull Request is still a draft")
		return
	}
	if msg := mergeMethodRefused(r, in.MergeMethod); msg != "" {
		c.fail(http.StatusMethodNotAllowed, msg)
		return
	}
	if v := s.mergeBlocked(c.ctx, r, p, c.tok, in.MergeMethod, head); v != "" {
		c.fail(http.StatusMethodNotAllowed, ruleViolationMessage(v))
		return
	}
	title, message, err := s.defaultMergeMessage(c.ctx, r, p, in.MergeMethod, base, head)
	if err != nil {
		c.internal(err)
		return
	}
	if in.CommitTitle != "" {
		title = in.CommitTitle
	}
	if c.has("commit_message") {
		message = in.CommitMessage
	}
	newTip, err := s.mergeCommit(c.ctx, r, p, c.user, in.MergeMethod, base, head, title, message)
	if errors.Is(err, errConflict) {
		c.fail(http.StatusMethodNotAllowed, "Pull Request is not mergeable")
		return
	}
	if err != nil {
		c.internal(err)
		return
	}
	if hook := s.faults.mergeWriteHook(); hook != nil {
		hook(r.owner, r.name, p.number)
	}
	if err := r.git.updateRef(c.ctx, "refs/heads/"+p.baseRef, newTip, base); err != nil {
		if errors.Is(err, errRefMoved) {
			c.fail(http.StatusMethodNotAllowed, "Base branch was modified. Review and try the merge again.")
			return
		}
		c.internal(err)
		return
	}
	now := s.now()
	s.mu.Lock()
	if p.merged || p.state != "open" {
		// A concurrent merge of the same pull request won the race for the
		// pull request but not for the base ref (ours moved it): report ours.
		s.mu.Unlock()
		c.fail(http.StatusMethodNotAllowed, "Pull Request is not mergeable")
		return
	}
	p.state, p.merged, p.mergedAt, p.closedAt, p.mergedBy = "closed", true, &now, &now, c.user
	p.mergeCommitSHA, p.headSHA, p.baseSHA, p.updatedAt = newTip, head, base, now
	s.mu.Unlock()
	s.deleteHeadAfterMerge(c.ctx, r, p, c.tok, head)
	c.json(http.StatusOK, obj{"sha": newTip, "merged": true, "message": "Pull Request successfully merged"})
}

func (s *Server) updateBranch(c *call) {
	p := s.pullFor(c)
	if p == nil {
		return
	}
	var in struct {
		ExpectedHeadSHA string `json:"expected_head_sha"`
	}
	if !c.decode(&in) {
		return
	}
	r := c.repo
	head, base, err := s.refreshSHAs(c.ctx, r, p)
	if err != nil {
		c.internal(err)
		return
	}
	s.mu.Lock()
	open, headRef, baseRef := p.state == "open", p.headRef, p.baseRef
	s.mu.Unlock()
	if !open {
		c.invalid("Validation Failed", prError("Cannot update the branch of a closed pull request."))
		return
	}
	if in.ExpectedHeadSHA != "" && in.ExpectedHeadSHA != head {
		c.invalid("expected head sha didn’t match current head ref.")
		return
	}
	upToDate, err := r.git.isAncestor(c.ctx, base, head)
	if err != nil {
		c.internal(err)
		return
	}
	if upToDate {
		c.invalid("There are no new commits on the base branch.")
		return
	}
	tree, ok, _, err := r.git.mergeTrees(c.ctx, head, base)
	if err != nil {
		c.internal(err)
		return
	}
	if !ok {
		c.invalid("merge conflict between base and head")
		return
	}
	committer := webFlow
	committer.Date = s.now()
	sha, err := r.git.commitTree(c.ctx, tree, []string{head, base}, fmt.Sprintf("Merge branch '%s' into %s\n", baseRef, headRef), s.authorFor(c.user), committer)
	if err != nil {
		c.internal(err)
		return
	}
	s.markVerified(r, sha)
	if err := r.git.updateRef(c.ctx, "refs/heads/"+headRef, sha, head); err != nil {
		if errors.Is(err, errRefMoved) {
			c.invalid("expected head sha didn’t match current head ref.")
			return
		}
		c.internal(err)
		return
	}
	// The update is a push to the head branch by the caller (it resets
	// require_last_push_approval's "most recent push").
	s.notePush(r, headRef, sha, c.user.login)
	_, html := s.pullURLs(r, p.number)
	c.json(http.StatusAccepted, obj{"message": "Updating pull request branch.", "url": html})
}
