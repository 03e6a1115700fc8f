package githubtest

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Commit authors map back to GitHub users through noreply addresses, as the
// server writes them for API-created commits.
var noreplyEmail = regexp.MustCompile(`^(?:\d+\+)?([A-Za-z0-9\[\]_.-]+)@users\.noreply\.(?:github\.com|localhost)$`)

// webFlow is the committer GitHub uses for commits it creates and signs.
var webFlow = signature{Name: "GitHub", Email: "noreply@github.com"}

func (s *Server) authorFor(u *user) signature {
	return signature{Name: u.login, Email: fmt.Sprintf("%d+%s@users.noreply.github.com", u.id, u.login), Date: s.now()}
}

// apiIdentity is who a commit created through the API (Git Data or
// contents) is by when the caller gives no author, committer or signature,
// and whether GitHub signs it. GitHub signs such commits only for GitHub
// Apps and bots ("About commit signature verification" → "Signature
// verification for bots": verified when "authenticated as the GitHub App
// or bot and contains no custom author information, custom committer
// information, and no custom signature information"). An App's commit is
// authored and committed by "slug[bot]" with its noreply address; a bot
// login added with AddToken (DefaultToken's github-actions[bot]) keeps
// GitHub (web-flow) as committer; a user's commit is theirs and unsigned.
func (s *Server) apiIdentity(tok *token, u *user, now time.Time) (author, committer signature, signed bool) {
	author = s.authorFor(u)
	author.Date = now
	switch {
	case tok.app != nil:
		return author, author, true
	case tok.isBot():
		committer = webFlow
		committer.Date = now
		return author, committer, true
	}
	return author, author, false
}

// gitHubUser returns the simple-user a commit email belongs to, or nil.
func (s *Server) gitHubUser(email string) any {
	if email == webFlow.Email {
		return s.userByLogin("web-flow")
	}
	if m := noreplyEmail.FindStringSubmatch(email); m != nil {
		return s.userByLogin(m[1])
	}
	return nil
}

func gitUserJSON(sig signature) obj {
	return obj{"name": sig.Name, "email": sig.Email, "date": ts(sig.Date)}
}

func (s *Server) markVerified(r *repoState, sha string) {
	s.mu.Lock()
	r.verified[sha] = true
	s.mu.Unlock()
}

// verificationJSON: commits the server created itself without a custom
// author are "signed by GitHub" (verified), everything else is unsigned.
func (s *Server) verificationJSON(ctx context.Context, r *repoState, sha string) obj {
	s.mu.Lock()
	ok := r.verified[sha]
	s.mu.Unlock()
	if !ok {
		return obj{"verified": false, "reason": "unsigned", "signature": nil, "payload": nil, "verified_at": nil}
	}
	raw, _ := r.git.readCommitObject(sha)
	return obj{
		"verified": true, "reason": "valid",
		"signature":   "-----BEGIN PGP SIGNATURE-----\n\nZ2l0aHVidGVzdA==\n-----END PGP SIGNATURE-----\n",
		"payload":     string(raw),
		"verified_at": ts(s.now()),
	}
}

func trimMessage(m string) string { return strings.TrimRight(m, "\n") }

// commitJSON renders the commit schema; files (may be nil) adds stats/files.
func (s *Server) commitJSON(ctx context.Context, r *repoState, ci commitInfo, files []fileChange) obj {
	api, html := s.repoAPIURL(r), s.repoHTMLURL(r)
	parents := make([]any, 0, len(ci.Parents))
	for _, p := range ci.Parents {
		parents = append(parents, obj{"sha": p, "url": api + "/commits/" + p, "html_url": html + "/commit/" + p})
	}
	o := obj{
		"url": api + "/commits/" + ci.SHA, "sha": ci.SHA, "node_id": "C_" + ci.SHA,
		"html_url": html + "/commit/" + ci.SHA, "comments_url": api + "/commits/" + ci.SHA + "/comments",
		"commit": obj{
			"url":    api + "/git/commits/" + ci.SHA,
			"author": gitUserJSON(ci.Author), "committer": gitUserJSON(ci.Committer),
			"message": trimMessage(ci.Message), "comment_count": 0,
			"tree":         obj{"sha": ci.Tree, "url": api + "/git/trees/" + ci.Tree},
			"verification": s.verificationJSON(ctx, r, ci.SHA),
		},
		"author":    s.gitHubUser(ci.Author.Email),
		"committer": s.gitHubUser(ci.Committer.Email),
		"parents":   parents,
	}
	if files != nil {
		o["files"], o["stats"] = s.filesJSON(r, ci.SHA, files)
	}
	return o
}

// filesJSON renders diff-entry items (GitHub caps a diff at 300 files).
func (s *Server) filesJSON(r *repoState, sha string, files []fileChange) ([]any, obj) {
	api, html := s.repoAPIURL(r), s.repoHTMLURL(r)
	out := []any{}
	adds, dels := 0, 0
	for i, f := range files {
		adds += f.Additions
		dels += f.Deletions
		if i >= 300 {
			continue
		}
		out = append(out, obj{
			"sha": f.SHA, "filename": f.Filename, "status": f.Status,
			"additions": f.Additions, "deletions": f.Deletions, "changes": f.Additions + f.Deletions,
			"blob_url":     html + "/blob/" + sha + "/" + f.Filename,
			"raw_url":      html + "/raw/" + sha + "/" + f.Filename,
			"contents_url": api + "/contents/" + f.Filename + "?ref=" + sha,
		})
	}
	return out, obj{"additions": adds, "deletions": dels, "total": adds + dels}
}

func firstParent(ci commitInfo) string {
	if len(ci.Parents) == 0 {
		return ""
	}
	return ci.Parents[0]
}

// commitWithFiles loads a commit and its diff against its first parent.
func (s *Server) commitWithFiles(ctx context.Context, r *repoState, sha string) (obj, error) {
	ci, err := r.git.commit(ctx, sha)
	if err != nil {
		return nil, err
	}
	files, err := r.git.diff(ctx, firstParent(ci), sha)
	if err != nil {
		return nil, err
	}
	return s.commitJSON(ctx, r, ci, files), nil
}

// isEmpty reports whether the repository has no refs at all. Once it had
// one, the answer is cached: a repository emptied again (every ref deleted)
// is still treated as non-empty, an edge no caller depends on.
func (s *Server) isEmpty(ctx context.Context, r *repoState) (bool, error) {
	if r.git.hadRefs.Load() {
		return false, nil
	}
	refs, err := r.git.refs(ctx, "refs/")
	if err == nil && len(refs) > 0 {
		r.git.hadRefs.Store(true)
	}
	return len(refs) == 0, err
}

func (s *Server) getCommit(c *call) {
	ref := c.params["ref"]
	sha, err := c.repo.git.resolveCommitish(c.ctx, ref)
	if err != nil {
		c.internal(err)
		return
	}
	if sha == "" && s.emptyRepo(c) {
		return
	}
	if sha == "" {
		c.invalid("No commit found for SHA: " + ref)
		return
	}
	o, err := s.commitWithFiles(c.ctx, c.repo, sha)
	if err != nil {
		c.internal(err)
		return
	}
	c.json(http.StatusOK, o)
}

func (s *Server) getBranch(c *call) {
	branch := c.params["branch"]
	sha, err := c.repo.git.commitOf(c.ctx, "refs/heads/"+branch)
	if err != nil {
		c.internal(err)
		return
	}
	if sha == "" {
		c.fail(http.StatusNotFound, "Branch not found")
		return
	}
	ci, err := c.repo.git.commit(c.ctx, sha)
	if err != nil {
		c.internal(err)
		return
	}
	api := s.repoAPIURL(c.repo)
	protected := len(s.rulesFor(c.repo, branch, nil)) > 0
	c.json(http.StatusOK, obj{
		"name":      branch,
		"commit":    s.commitJSON(c.ctx, c.repo, ci, nil),
		"_links":    obj{"self": api + "/branches/" + branch, "html": s.repoHTMLURL(c.repo) + "/tree/" + branch},
		"protected": protected,
		"protection": obj{
			"enabled":                protected,
			"required_status_checks": obj{"enforcement_level": "off", "contexts": []string{}, "checks": []any{}},
		},
		"protection_url": api + "/branches/" + branch + "/protection",
	})
}

func (s *Server) compare(c *call) {
	base, head, ok := strings.Cut(c.params["basehead"], "...")
	if !ok || base == "" || head == "" {
		c.fail(http.StatusNotFound, "Not Found")
		return
	}
	g := c.repo.git
	baseSHA, err := g.resolveCommitish(c.ctx, base)
	if err != nil {
		c.internal(err)
		return
	}
	headSHA, err := g.resolveCommitish(c.ctx, head)
	if err != nil {
		c.internal(err)
		return
	}
	if baseSHA == "" || headSHA == "" {
		c.fail(http.StatusNotFound, "Not Found")
		return
	}
	mb, err := g.mergeBase(c.ctx, baseSHA, headSHA)
	if err != nil {
		c.internal(err)
		return
	}
	if mb == "" {
		c.fail(http.StatusNotFound, fmt.Sprintf("No common ancestor between %s and %s.", base, head))
		return
	}
	ahead, err := g.count(c.ctx, mb+".."+headSHA)
	if err != nil {
		c.internal(err)
		return
	}
	behind, err := g.count(c.ctx, mb+".."+baseSHA)
	if err != nil {
		c.internal(err)
		return
	}
	status := "diverged"
	switch {
	case ahead == 0 && behind == 0:
		status = "identical"
	case behind == 0:
		status = "ahead"
	case ahead == 0:
		status = "behind"
	}
	// Commits oldest first; GitHub lists at most 250 unless paginated.
	shas, err := g.out(c.ctx, "rev-list", "--reverse", "--topo-order", mb+".."+headSHA)
	if err != nil {
		c.internal(err)
		return
	}
	var list []string
	if shas != "" {
		list = strings.Split(shas, "\n")
	}
	if c.query("page") != "" || c.query("per_page") != "" {
		start, end := c.page(len(list))
		list = list[start:end]
	} else if len(list) > 250 {
		list = list[:250]
	}
	commits := []any{}
	if len(list) > 0 {
		infos, err := g.logCommits(c.ctx, append([]string{"--no-walk=unsorted"}, list...)...)
		if err != nil {
			c.internal(err)
			return
		}
		for _, ci := range infos {
			commits = append(commits, s.commitJSON(c.ctx, c.repo, ci, nil))
		}
	}
	baseCI, err := g.commit(c.ctx, baseSHA)
	if err != nil {
		c.internal(err)
		return
	}
	mbCI, err := g.commit(c.ctx, mb)
	if err != nil {
		c.internal(err)
		return
	}
	changes, err := g.diff(c.ctx, mb, headSHA)
	if err != nil {
		c.internal(err)
		return
	}
	files, _ := s.filesJSON(c.repo, headSHA, changes)
	api, html := s.repoAPIURL(c.repo), s.repoHTMLURL(c.repo)
	spec := base + "..." + head
	c.json(http.StatusOK, obj{
		"url":               api + "/compare/" + spec,
		"html_url":          html + "/compare/" + spec,
		"permalink_url":     html + "/compare/" + c.repo.owner + ":" + baseSHA[:7] + "..." + c.repo.owner + ":" + headSHA[:7],
		"diff_url":          html + "/compare/" + spec + ".diff",
		"patch_url":         html + "/compare/" + spec + ".patch",
		"base_commit":       s.commitJSON(c.ctx, c.repo, baseCI, nil),
		"merge_base_commit": s.commitJSON(c.ctx, c.repo, mbCI, nil),
		"status":            status,
		"ahead_by":          ahead,
		"behind_by":         behind,
		"total_commits":     ahead,
		"commits":           commits,
		"files":             files,
	})
}
