package githubtest

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Commit statuses and check runs, for actions that wait for required checks.

type commitStatus struct {
	id                   int64
	state, context       string
	description          string
	targetURL            string
	creator              *user
	createdAt, updatedAt time.Time
}

// CheckRun is a check run seeded with AddCheckRun (the server does not
// implement the Checks write API).
type CheckRun struct {
	Name       string
	Status     string // queued, in_progress, completed (default completed)
	Conclusion string // success, failure, neutral, ... (when completed)
	DetailsURL string
}

type checkRun struct {
	CheckRun
	id        int64
	sha       string
	startedAt time.Time
}

// latestStatuses keeps the newest status per context (case-insensitive).
func latestStatuses(all []*commitStatus) []*commitStatus {
	seen := map[string]bool{}
	var out []*commitStatus
	for i := len(all) - 1; i >= 0; i-- {
		key := strings.ToLower(all[i].context)
		if !seen[key] {
			seen[key] = true
			out = append(out, all[i])
		}
	}
	return out
}

// contextState is the state of a required check on a commit: a commit
// status context or a check run name; "" when neither exists.
func (s *Server) contextState(r *repoState, sha, context string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range latestStatuses(r.statuses[sha]) {
		if strings.EqualFold(st.context, context) {
			return st.state
		}
	}
	runs := r.checkRuns[sha]
	for i := len(runs) - 1; i >= 0; i-- {
		if runs[i].Name == context {
			if runs[i].Status != "completed" {
				return runs[i].Status
			}
			switch runs[i].Conclusion {
			case "success", "neutral", "skipped":
				return "success"
			}
			return runs[i].Conclusion
		}
	}
	return ""
}

func (s *Server) statusJSON(r *repoState, st *commitStatus) obj {
	return obj{
		"url": fmt.Sprintf("%s/statuses/%d", s.repoAPIURL(r), st.id), "avatar_url": nil,
		"id": st.id, "node_id": nodeID("SC", st.id), "state": st.state, "description": nullable(st.description),
		"target_url": nullable(st.targetURL), "context": st.context,
		"created_at": ts(st.createdAt), "updated_at": ts(st.updatedAt), "creator": s.userJSON(st.creator),
	}
}

func (s *Server) createStatus(c *call) {
	var in struct {
		State       string  `json:"state"`
		TargetURL   *string `json:"target_url"`
		Description *string `json:"description"`
		Context     string  `json:"context"`
	}
	if !c.decode(&in) {
		return
	}
	sha := c.params["sha"]
	typ, err := c.repo.git.objectType(c.ctx, sha)
	if err != nil {
		c.internal(err)
		return
	}
	if typ != "commit" || !fullSHA.MatchString(sha) {
		// GitHub answers 422 here; its description declares only 201.
		c.failUndeclared(http.StatusUnprocessableEntity, "No commit found for SHA: "+sha, "statuses: unknown commit")
		return
	}
	if in.Context == "" {
		in.Context = "default"
	}
	st := &commitStatus{state: in.State, context: in.Context, creator: c.user}
	if in.TargetURL != nil {
		st.targetURL = *in.TargetURL
	}
	if in.Description != nil {
		st.description = *in.Description
	}
	st.createdAt = s.now()
	st.updatedAt = st.createdAt
	s.mu.Lock()
	st.id = s.nextIDLocked()
	c.repo.statuses[sha] = append(c.repo.statuses[sha], st)
	o := s.statusJSON(c.repo, st)
	s.mu.Unlock()
	c.header.Set("Location", o["url"].(string))
	c.json(http.StatusCreated, o)
}

func (s *Server) getCombinedStatus(c *call) {
	ref := c.params["ref"]
	sha, err := c.repo.git.resolveCommitish(c.ctx, ref)
	if err != nil {
		c.internal(err)
		return
	}
	if sha == "" {
		c.fail(http.StatusNotFound, "No commit found for SHA: "+ref)
		return
	}
	s.mu.Lock()
	latest := latestStatuses(c.repo.statuses[sha])
	state := "success"
	if len(latest) == 0 {
		state = "pending"
	}
	all := []obj{}
	for _, st := range latest {
		switch st.state {
		case "error", "failure":
			state = "failure"
		case "pending":
			if state != "failure" {
				state = "pending"
			}
		}
		o := s.statusJSON(c.repo, st)
		delete(o, "creator")
		all = append(all, o)
	}
	s.mu.Unlock()
	start, end := c.page(len(all))
	page := []any{}
	for _, o := range all[start:end] {
		page = append(page, o)
	}
	api := s.repoAPIURL(c.repo)
	c.json(http.StatusOK, obj{
		"state": state, "statuses": page, "sha": sha, "total_count": len(all),
		"repository": s.minimalRepoJSON(c.repo),
		"commit_url": api + "/commits/" + sha, "url": api + "/commits/" + sha + "/status",
	})
}

func (s *Server) listCheckRuns(c *call) {
	ref := c.params["ref"]
	sha, err := c.repo.git.resolveCommitish(c.ctx, ref)
	if err != nil {
		c.internal(err)
		return
	}
	if sha == "" {
		// GitHub answers 404 here; its description declares only 200.
		c.failUndeclared(http.StatusNotFound, "No commit found for SHA: "+ref, "check-runs: unknown ref")
		return
	}
	name := c.query("check_name")
	status := c.query("status")
	s.mu.Lock()
	var runs []*checkRun
	for _, run := range c.repo.checkRuns[sha] {
		if (name == "" || run.Name == name) && (status == "" || run.Status == status) {
			runs = append(runs, run)
		}
	}
	s.mu.Unlock()
	start, end := c.page(len(runs))
	api, html := s.repoAPIURL(c.repo), s.repoHTMLURL(c.repo)
	out := []any{}
	for _, run := range runs[start:end] {
		var completed, conclusion any
		if run.Status == "completed" {
			completed, conclusion = ts(run.startedAt), run.Conclusion
		}
		out = append(out, obj{
			"id": run.id, "node_id": nodeID("CR", run.id), "head_sha": run.sha, "name": run.Name,
			"url": fmt.Sprintf("%s/check-runs/%d", api, run.id), "html_url": fmt.Sprintf("%s/runs/%d", html, run.id),
			"details_url": nullable(run.DetailsURL), "status": run.Status, "conclusion": conclusion,
			"started_at": ts(run.startedAt), "completed_at": completed, "external_id": nil,
			"check_suite": obj{"id": run.id}, "app": nil, "pull_requests": []any{},
			"output": obj{"title": nil, "summary": nil, "text": nil, "annotations_count": 0,
				"annotations_url": fmt.Sprintf("%s/check-runs/%d/annotations", api, run.id)},
		})
	}
	c.json(http.StatusOK, obj{"total_count": len(runs), "check_runs": out})
}

// AddCheckRun attaches a check run to a commit (by SHA or ref), e.g. to
// satisfy or fail a required_status_checks rule.
func (s *Server) AddCheckRun(owner, repo, ref string, run CheckRun) error {
	r, err := s.mustRepo(owner, repo)
	if err != nil {
		return err
	}
	sha, err := r.git.resolveCommitish(ctxBG(), ref)
	if err != nil || sha == "" {
		return fmt.Errorf("githubtest: AddCheckRun: unknown commit %q: %v", ref, err)
	}
	if run.Status == "" {
		run.Status = "completed"
	}
	if run.Status == "completed" && run.Conclusion == "" {
		run.Conclusion = "success"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r.checkRuns[sha] = append(r.checkRuns[sha], &checkRun{CheckRun: run, id: s.nextIDLocked(), sha: sha, startedAt: s.now()})
	return nil
}
