package githubtest

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// pull is a pull request; fields are guarded by Server.mu.
type pull struct {
	id                  int64
	number              int
	title, body         string
	state               string // open, closed
	draft               bool
	user                *user
	headRef, baseRef    string
	headSHA, baseSHA    string // last seen; frozen once closed
	merged              bool
	mergedAt, closedAt  *time.Time
	mergedBy            *user
	mergeCommitSHA      string
	createdAt           time.Time
	updatedAt           time.Time
	maintainerCanModify bool
	reviews             []*review
	requested           []string // logins

	// Mergeability is computed lazily, like GitHub's background job: it is
	// recomputed whenever the base or head commit changes.
	mKey      string
	mGets     int
	mSince    time.Time
	mergeable *bool
}

type review struct {
	id          int64
	user        *user
	body, state string
	commitID    string
	submittedAt *time.Time
}

// refreshSHAs reads the live branch tips of an open pull request.
func (s *Server) refreshSHAs(ctx context.Context, r *repoState, p *pull) (head, base string, err error) {
	s.mu.Lock()
	open, headRef, baseRef := p.state == "open", p.headRef, p.baseRef
	head, base = p.headSHA, p.baseSHA
	s.mu.Unlock()
	if !open {
		return head, base, nil
	}
	h, err := r.git.commitOf(ctx, "refs/heads/"+headRef)
	if err != nil {
		return "", "", err
	}
	b, err := r.git.commitOf(ctx, "refs/heads/"+baseRef)
	if err != nil {
		return "", "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.state == "open" {
		if h != "" {
			p.headSHA = h
		}
		if b != "" {
			p.baseSHA = b
		}
	}
	return p.headSHA, p.baseSHA, nil
}

// mergeability returns mergeable (nil while "computing") and
// mergeable_state; countGet says this is a GET of the pull request.
func (s *Server) mergeability(ctx context.Context, r *repoState, p *pull, tok *token, countGet bool) (*bool, string, error) {
	head, base, err := s.refreshSHAs(ctx, r, p)
	if err != nil {
		return nil, "", err
	}
	gets, delay := s.faults.mergeable()
	s.mu.Lock()
	if p.state != "open" {
		s.mu.Unlock()
		return nil, "unknown", nil
	}
	key := base + ".." + head
	if p.mKey != key {
		p.mKey, p.mGets, p.mSince, p.mergeable = key, 0, s.now(), nil
	}
	if countGet {
		p.mGets++
	}
	known := p.mergeable
	pending := known == nil && (p.mGets <= gets || s.now().Before(p.mSince.Add(delay)) || !countGet)
	draft := p.draft
	s.mu.Unlock()
	if pending {
		return nil, "unknown", nil
	}
	if known == nil {
		_, ok, _, err := r.git.mergeTrees(ctx, base, head)
		if err != nil {
			return nil, "", err
		}
		s.mu.Lock()
		if p.mKey == key {
			p.mergeable = &ok
		}
		s.mu.Unlock()
		known = &ok
	}
	// mergeable_state as GitHub documents it: dirty (conflicts), draft,
	// behind (strict checks and the head lacks the base's tip), blocked
	// (rules not met), clean; unknown while computing.
	var state string
	switch {
	case !*known:
		state = "dirty"
	case draft:
		state = "draft"
	default:
		state = mergeStateFor(s.mergeBlocked(ctx, r, p, tok, s.preferredMethod(r), head))
	}
	return known, state, nil
}

func (s *Server) pullURLs(r *repoState, n int) (api, html string) {
	return fmt.Sprintf("%s/pulls/%d", s.repoAPIURL(r), n), fmt.Sprintf("%s/pull/%d", s.repoHTMLURL(r), n)
}

func (s *Server) association(r *repoState, u *user) string {
	if u != nil && strings.EqualFold(u.login, r.owner) {
		return "OWNER"
	}
	return "COLLABORATOR"
}

// pullJSON renders pull-request (full) or pull-request-simple.
func (s *Server) pullJSON(ctx context.Context, c *call, p *pull, full bool) (obj, error) {
	r := c.repo
	head, base, err := s.refreshSHAs(ctx, r, p)
	if err != nil {
		return nil, err
	}
	var mergeable *bool
	mstate := "unknown"
	if full {
		if mergeable, mstate, err = s.mergeability(ctx, r, p, c.tok, c.r.Method == http.MethodGet); err != nil {
			return nil, err
		}
	}
	api, html := s.pullURLs(r, p.number)
	repoAPI := s.repoAPIURL(r)
	issue := fmt.Sprintf("%s/issues/%d", repoAPI, p.number)
	repoJSON := s.repoJSON(r, c.access, false)
	owner := s.userByLogin(r.owner)
	s.mu.Lock()
	labels := s.issueLabelsLocked(r, p.number)
	if !full {
		// pull-request-simple (the list's items) declares a label's
		// description a plain string; the full form allows null.
		for _, l := range labels {
			if o := l.(obj); o["description"] == nil {
				o["description"] = ""
			}
		}
	}
	requested := []any{}
	for _, login := range p.requested {
		requested = append(requested, s.userJSON(s.userLocked(login)))
	}
	var mergedBy any
	if p.mergedBy != nil {
		mergedBy = s.userJSON(p.mergedBy)
	}
	comments := len(r.comments[p.number])
	o := obj{
		"url": api, "id": p.id, "node_id": nodeID("PR", p.id), "html_url": html,
		"diff_url": html + ".diff", "patch_url": html + ".patch", "issue_url": issue,
		"commits_url": api + "/commits", "review_comments_url": api + "/comments",
		"review_comment_url": repoAPI + "/pulls/comments{/number}", "comments_url": issue + "/comments",
		"statuses_url": repoAPI + "/statuses/" + head,
		"number":       p.number, "state": p.state, "locked": false, "title": p.title,
		"user": s.userJSON(p.user), "body": nullable(p.body), "labels": labels,
		"milestone": nil, "active_lock_reason": nil,
		"created_at": ts(p.createdAt), "updated_at": ts(p.updatedAt),
		"closed_at": tsPtr(p.closedAt), "merged_at": tsPtr(p.mergedAt),
		"merge_commit_sha": nullable(p.mergeCommitSHA),
		"assignee":         nil, "assignees": []any{}, "requested_reviewers": requested, "requested_teams": []any{},
		"head": obj{"label": r.owner + ":" + p.headRef, "ref": p.headRef, "sha": head, "user": owner, "repo": repoJSON},
		"base": obj{"label": r.owner + ":" + p.baseRef, "ref": p.baseRef, "sha": base, "user": owner, "repo": repoJSON},
		"_links": obj{
			"self": obj{"href": api}, "html": obj{"href": html}, "issue": obj{"href": issue},
			"comments": obj{"href": issue + "/comments"}, "review_comments": obj{"href": api + "/comments"},
			"review_comment": obj{"href": repoAPI + "/pulls/comments{/number}"}, "commits": obj{"href": api + "/commits"},
			"statuses": obj{"href": repoAPI + "/statuses/" + head},
		},
		"author_association": s.association(r, p.user),
		"auto_merge":         nil,
		"draft":              p.draft,
	}
	merged := p.merged
	maintainer := p.maintainerCanModify
	s.mu.Unlock()
	if !full {
		return o, nil
	}
	o["merged"] = merged
	o["mergeable"] = mergeable
	o["rebaseable"] = mergeable
	o["mergeable_state"] = mstate
	o["merged_by"] = mergedBy
	o["comments"] = comments
	o["review_comments"] = 0
	o["maintainer_can_modify"] = maintainer
	commits, adds, dels, files := 0, 0, 0, 0
	if mb, err := r.git.mergeBase(ctx, base, head); err == nil && mb != "" {
		if commits, err = r.git.count(ctx, mb+".."+head); err != nil {
			return nil, err
		}
		changes, err := r.git.diff(ctx, mb, head)
		if err != nil {
			return nil, err
		}
		for _, f := range changes {
			adds += f.Additions
			dels += f.Deletions
		}
		files = len(changes)
	}
	o["commits"], o["additions"], o["deletions"], o["changed_files"] = commits, adds, dels, files
	return o, nil
}

// pullFor looks up the pull request of the route, answering 404 if absent.
func (s *Server) pullFor(c *call) *pull {
	n, err := strconv.Atoi(c.params["pull_number"])
	s.mu.Lock()
	p := c.repo.pulls[n]
	s.mu.Unlock()
	if err != nil || p == nil {
		c.fail(http.StatusNotFound, "Not Found")
		return nil
	}
	return p
}

func (s *Server) writePull(c *call, p *pull, status int, full bool) {
	o, err := s.pullJSON(c.ctx, c, p, full)
	if err != nil {
		c.internal(err)
		return
	}
	if status == http.StatusCreated {
		c.header.Set("Location", o["url"].(string))
	}
	c.json(status, o)
}

func (s *Server) getPull(c *call) {
	if p := s.pullFor(c); p != nil {
		s.writePull(c, p, http.StatusOK, true)
	}
}

func prError(message string) obj {
	return obj{"resource": "PullRequest", "code": "custom", "message": message}
}

func (s *Server) createPull(c *call) {
	var in struct {
		Title               string `json:"title"`
		Head                string `json:"head"`
		HeadRepo            string `json:"head_repo"`
		Base                string `json:"base"`
		Body                string `json:"body"`
		Draft               bool   `json:"draft"`
		MaintainerCanModify *bool  `json:"maintainer_can_modify"`
		Issue               *int   `json:"issue"`
	}
	if !c.decode(&in) {
		return
	}
	r := c.repo
	if in.Issue != nil {
		c.invalid("Validation Failed", obj{"resource": "PullRequest", "field": "issue", "code": "invalid",
			"message": "githubtest does not model issues; create the pull request with a title"})
		return
	}
	if in.Title == "" {
		c.invalid("Validation Failed", obj{"resource": "PullRequest", "field": "title", "code": "missing_field"})
		return
	}
	headRef := in.Head
	if owner, ref, ok := strings.Cut(in.Head, ":"); ok {
		if !strings.EqualFold(owner, r.owner) {
			c.invalid("Validation Failed", obj{"resource": "PullRequest", "field": "head", "code": "invalid"})
			return
		}
		headRef = ref
	}
	if in.HeadRepo != "" && !strings.EqualFold(in.HeadRepo, r.fullName()) {
		c.invalid("Validation Failed", obj{"resource": "PullRequest", "field": "head_repo", "code": "invalid"})
		return
	}
	g := r.git
	base, err := g.commitOf(c.ctx, "refs/heads/"+in.Base)
	if err != nil {
		c.internal(err)
		return
	}
	if base == "" {
		c.invalid("Validation Failed", obj{"resource": "PullRequest", "field": "base", "code": "invalid"})
		return
	}
	head, err := g.commitOf(c.ctx, "refs/heads/"+headRef)
	if err != nil {
		c.internal(err)
		return
	}
	if head == "" {
		c.invalid("Validation Failed", obj{"resource": "PullRequest", "field": "head", "code": "invalid"})
		return
	}
	ahead, err := g.count(c.ctx, base+".."+head)
	if err != nil {
		c.internal(err)
		return
	}
	if ahead == 0 {
		c.invalid("Validation Failed", prError(fmt.Sprintf("No commits between %s and %s", in.Base, headRef)))
		return
	}
	s.mu.Lock()
	for _, p := range r.pulls {
		if p.state == "open" && p.headRef == headRef && p.baseRef == in.Base {
			s.mu.Unlock()
			c.invalid("Validation Failed", prError(fmt.Sprintf("A pull request already exists for %s:%s.", r.owner, headRef)))
			return
		}
	}
	r.nextNumber++
	now := s.now()
	p := &pull{
		id: s.nextIDLocked(), number: r.nextNumber, title: in.Title, body: in.Body, state: "open", draft: in.Draft,
		user: c.user, headRef: headRef, baseRef: in.Base, headSHA: head, baseSHA: base,
		createdAt: now, updatedAt: now, maintainerCanModify: in.MaintainerCanModify == nil || *in.MaintainerCanModify,
	}
	r.pulls[p.number] = p
	s.mu.Unlock()
	s.writePull(c, p, http.StatusCreated, true)
}

func (s *Server) listPulls(c *call) {
	r := c.repo
	state := c.query("state")
	if state == "" {
		state = "open"
	}
	headFilter := c.query("head")
	baseFilter := c.query("base")
	sortBy := c.query("sort")
	direction := c.query("direction")
	if direction == "" {
		direction = "desc"
		if sortBy != "" && sortBy != "created" {
			direction = "asc"
		}
	}
	s.mu.Lock()
	var list []*pull
	for _, p := range r.pulls {
		if state != "all" && p.state != state {
			continue
		}
		if headFilter != "" {
			owner, ref, ok := strings.Cut(headFilter, ":")
			if !ok || !strings.EqualFold(owner, r.owner) || ref != p.headRef {
				continue
			}
		}
		if baseFilter != "" && p.baseRef != baseFilter {
			continue
		}
		list = append(list, p)
	}
	key := func(p *pull) int64 {
		switch sortBy {
		case "updated":
			return p.updatedAt.UnixNano()
		case "popularity":
			return int64(len(r.comments[p.number]))
		case "long-running":
			return -p.createdAt.UnixNano()
		}
		return int64(p.number)
	}
	sort.SliceStable(list, func(i, j int) bool {
		ki, kj := key(list[i]), key(list[j])
		if ki == kj {
			ki, kj = int64(list[i].number), int64(list[j].number)
		}
		if direction == "asc" {
			return ki < kj
		}
		return ki > kj
	})
	s.mu.Unlock()
	start, end := c.page(len(list))
	out := []any{}
	for _, p := range list[start:end] {
		o, err := s.pullJSON(c.ctx, c, p, false)
		if err != nil {
			c.internal(err)
			return
		}
		out = append(out, o)
	}
	c.json(http.StatusOK, out)
}

func (s *Server) updatePull(c *call) {
	p := s.pullFor(c)
	if p == nil {
		return
	}
	var in struct {
		Title               *string `json:"title"`
		Body                *string `json:"body"`
		State               *string `json:"state"`
		Base                *string `json:"base"`
		MaintainerCanModify *bool   `json:"maintainer_can_modify"`
	}
	if !c.decode(&in) {
		return
	}
	r := c.repo
	if in.Base != nil {
		sha, err := r.git.commitOf(c.ctx, "refs/heads/"+*in.Base)
		if err != nil {
			c.internal(err)
			return
		}
		if sha == "" {
			c.invalid("Validation Failed", obj{"resource": "PullRequest", "field": "base", "code": "invalid"})
			return
		}
	}
	if in.State != nil && *in.State == "open" {
		head, err := r.git.commitOf(c.ctx, "refs/heads/"+p.headRef)
		if err != nil {
			c.internal(err)
			return
		}
		if head == "" {
			c.invalid("Validation Failed", prError("The head branch of this pull request was deleted; it cannot be reopened."))
			return
		}
	}
	s.mu.Lock()
	now := s.now()
	if in.State != nil && *in.State != p.state {
		if p.merged {
			s.mu.Unlock()
			c.invalid("Validation Failed", prError("Cannot change the state of a merged pull request."))
			return
		}
		if *in.State == "open" {
			for _, o := range r.pulls {
				if o != p && o.state == "open" && o.headRef == p.headRef && o.baseRef == p.baseRef {
					s.mu.Unlock()
					c.invalid("Validation Failed", prError(fmt.Sprintf("A pull request already exists for %s:%s.", r.owner, p.headRef)))
					return
				}
			}
			p.state, p.closedAt = "open", nil
		} else {
			p.state, p.closedAt = "closed", &now
		}
	}
	if in.Title != nil {
		p.title = *in.Title
	}
	if in.Body != nil {
		p.body = *in.Body
	}
	if in.Base != nil {
		p.baseRef = *in.Base
	}
	if in.MaintainerCanModify != nil {
		p.maintainerCanModify = *in.MaintainerCanModify
	}
	p.updatedAt = now
	s.mu.Unlock()
	s.writePull(c, p, http.StatusOK, true)
}

func reviewState(event string) string {
	switch event {
	case "APPROVE":
		return "APPROVED"
	case "REQUEST_CHANGES":
		return "CHANGES_REQUESTED"
	case "COMMENT":
		return "COMMENTED"
	}
	return "PENDING"
}

func (s *Server) reviewJSON(c *call, p *pull, rv *review) obj {
	api, html := s.pullURLs(c.repo, p.number)
	reviewHTML := fmt.Sprintf("%s#pullrequestreview-%d", html, rv.id)
	o := obj{
		"id": rv.id, "node_id": nodeID("PRR", rv.id), "user": s.userJSON(rv.user), "body": rv.body, "state": rv.state,
		"html_url": reviewHTML, "pull_request_url": api,
		"_links":             obj{"html": obj{"href": reviewHTML}, "pull_request": obj{"href": api}},
		"commit_id":          rv.commitID,
		"author_association": s.association(c.repo, rv.user),
	}
	if rv.submittedAt != nil {
		o["submitted_at"] = ts(*rv.submittedAt)
	}
	return o
}

func (s *Server) listReviews(c *call) {
	p := s.pullFor(c)
	if p == nil {
		return
	}
	s.mu.Lock()
	reviews := append([]*review(nil), p.reviews...)
	s.mu.Unlock()
	c.json(http.StatusOK, pageOf(c, reviews, func(rv *review) any { return s.reviewJSON(c, p, rv) }))
}

func (s *Server) createReview(c *call) {
	p := s.pullFor(c)
	if p == nil {
		return
	}
	var in struct {
		CommitID string `json:"commit_id"`
		Body     string `json:"body"`
		Event    string `json:"event"`
	}
	if !c.decode(&in) {
		return
	}
	head, _, err := s.refreshSHAs(c.ctx, c.repo, p)
	if err != nil {
		c.internal(err)
		return
	}
	simple := func(msg string) {
		c.json(http.StatusUnprocessableEntity, obj{"message": "Unprocessable Entity", "errors": []string{msg},
			"documentation_url": s.spec.docURL(c.op), "status": "422"})
	}
	if in.Event == "APPROVE" && strings.EqualFold(p.user.login, c.user.login) {
		simple("Can not approve your own pull request")
		return
	}
	if (in.Event == "REQUEST_CHANGES" || in.Event == "COMMENT") && in.Body == "" {
		simple("Body is required for " + strings.ToLower(strings.ReplaceAll(in.Event, "_", " ")) + " reviews")
		return
	}
	if in.CommitID == "" {
		in.CommitID = head
	}
	now := s.now()
	rv := &review{user: c.user, body: in.Body, state: reviewState(in.Event), commitID: in.CommitID}
	if rv.state != "PENDING" {
		rv.submittedAt = &now
	}
	s.mu.Lock()
	rv.id = s.nextIDLocked()
	p.reviews = append(p.reviews, rv)
	if rv.state != "PENDING" {
		kept := p.requested[:0]
		for _, l := range p.requested {
			if !strings.EqualFold(l, c.user.login) {
				kept = append(kept, l)
			}
		}
		p.requested = kept
	}
	p.updatedAt = now
	s.mu.Unlock()
	c.json(http.StatusOK, s.reviewJSON(c, p, rv))
}

func (s *Server) requestReviewers(c *call) {
	p := s.pullFor(c)
	if p == nil {
		return
	}
	var in struct {
		Reviewers     []string `json:"reviewers"`
		TeamReviewers []string `json:"team_reviewers"`
	}
	if !c.decode(&in) {
		return
	}
	if len(in.TeamReviewers) > 0 {
		c.invalid("Validation Failed", obj{"resource": "PullRequest", "field": "team_reviewers", "code": "invalid",
			"message": "githubtest has no teams"})
		return
	}
	s.mu.Lock()
	for _, login := range in.Reviewers {
		if strings.EqualFold(login, p.user.login) {
			s.mu.Unlock()
			c.invalid("Review cannot be requested from pull request author.")
			return
		}
	}
	for _, login := range in.Reviewers {
		dup := false
		for _, l := range p.requested {
			dup = dup || strings.EqualFold(l, login)
		}
		if !dup {
			p.requested = append(p.requested, s.userLocked(login).login)
		}
	}
	p.updatedAt = s.now()
	s.mu.Unlock()
	s.writePull(c, p, http.StatusCreated, false)
}

// approvals counts distinct users whose latest verdict is APPROVED (on the
// current head when stale approvals are dismissed).
func (s *Server) approvals(p *pull, head string, onlyHead bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	latest := map[string]string{}
	for _, rv := range p.reviews {
		switch rv.state {
		case "APPROVED", "CHANGES_REQUESTED":
			if onlyHead && rv.commitID != head {
				delete(latest, rv.user.login)
				continue
			}
			latest[rv.user.login] = rv.state
		}
	}
	n := 0
	for _, st := range latest {
		if st == "APPROVED" {
			n++
		}
	}
	return n
}
