package githubtest

import (
	"fmt"
	"net/http"
	"strconv"
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
	app                  *app // the GitHub App whose token posted it, if any
	createdAt, updatedAt time.Time
}

// CheckRun is a check run seeded with AddCheckRun. Apps create them
// through POST …/check-runs (or ReportCheck).
type CheckRun struct {
	Name       string
	Status     string // queued, in_progress, completed (default completed)
	Conclusion string // success, failure, neutral, ... (when completed)
	DetailsURL string
	// AppID is the GitHub App (AddApp) the run belongs to; 0 = none, which
	// never satisfies a required check bound to an integration_id.
	AppID int64
}

type checkRun struct {
	CheckRun
	id          int64
	sha         string
	app         *app
	externalID  string
	startedAt   time.Time
	completedAt time.Time
	title       string
	summary     string
	text        string
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
// status context or a check run name; "" when neither exists. With an
// integrationID only a status or run created by that GitHub App counts,
// GitHub's "expected source" of a required check ("About protected
// branches" → "Require status checks before merging": a check from any
// other source, same name or not, does not satisfy it).
func (s *Server) contextState(r *repoState, sha, context string, integrationID int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	fromApp := func(a *app) bool { return integrationID == 0 || (a != nil && a.id == integrationID) }
	var mine []*commitStatus
	for _, st := range r.statuses[sha] {
		if fromApp(st.app) {
			mine = append(mine, st)
		}
	}
	for _, st := range latestStatuses(mine) {
		if strings.EqualFold(st.context, context) {
			return st.state
		}
	}
	runs := r.checkRuns[sha]
	for i := len(runs) - 1; i >= 0; i-- {
		if runs[i].Name == context && fromApp(runs[i].app) {
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
	st := &commitStatus{state: in.State, context: in.Context, creator: c.user, app: c.tok.app}
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

func appIDOf(a *app) int64 {
	if a == nil {
		return 0
	}
	return a.id
}

// appJSON renders an integration (a check run's "app").
func (s *Server) appJSON(a *app) any {
	if a == nil {
		return nil
	}
	created := ts(time.Unix(1500000000, 0))
	return obj{
		"id": a.id, "slug": a.slug, "node_id": nodeID("A", a.id), "client_id": fmt.Sprintf("Iv1.%016x", a.id),
		"owner": s.userJSON(a.bot), "name": a.slug, "description": nil,
		"external_url": s.URL + "/apps/" + a.slug, "html_url": s.URL + "/apps/" + a.slug,
		"created_at": created, "updated_at": created,
		"permissions": obj{"metadata": "read", "checks": "write"}, "events": []any{},
	}
}

// checkRunJSON renders check-run; call with s.mu held.
func (s *Server) checkRunJSON(r *repoState, run *checkRun) obj {
	api, html := s.repoAPIURL(r), s.repoHTMLURL(r)
	var completed, conclusion any
	if run.Status == "completed" {
		completed, conclusion = ts(run.completedAt), run.Conclusion
	}
	return obj{
		"id": run.id, "node_id": nodeID("CR", run.id), "head_sha": run.sha, "name": run.Name,
		"url": fmt.Sprintf("%s/check-runs/%d", api, run.id), "html_url": fmt.Sprintf("%s/runs/%d", html, run.id),
		"details_url": nullable(run.DetailsURL), "status": run.Status, "conclusion": conclusion,
		"started_at": ts(run.startedAt), "completed_at": completed, "external_id": nullable(run.externalID),
		"check_suite": obj{"id": run.id}, "app": s.appJSON(run.app), "pull_requests": []any{},
		"output": obj{"title": nullable(run.title), "summary": nullable(run.summary), "text": nullable(run.text), "annotations_count": 0,
			"annotations_url": fmt.Sprintf("%s/check-runs/%d/annotations", api, run.id)},
	}
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
	appID, _ := strconv.ParseInt(c.query("app_id"), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	// filter=latest (the default) shows only the most recent run of each
	// name per app, as a re-run hides the run it replaces ("List check
	// runs for a Git reference": "latest returns the most recent check
	// runs"); filter=all shows every run.
	all := c.repo.checkRuns[sha]
	if c.query("filter") != "all" {
		newest := map[string]*checkRun{}
		for _, run := range all {
			newest[run.Name+"\x00"+fmt.Sprint(appIDOf(run.app))] = run
		}
		var latest []*checkRun
		for _, run := range all {
			if newest[run.Name+"\x00"+fmt.Sprint(appIDOf(run.app))] == run {
				latest = append(latest, run)
			}
		}
		all = latest
	}
	var runs []*checkRun
	for _, run := range all {
		if (name == "" || run.Name == name) && (status == "" || run.Status == status) && (appID == 0 || (run.app != nil && run.app.id == appID)) {
			runs = append(runs, run)
		}
	}
	out := pageOf(c, runs, func(run *checkRun) any { return s.checkRunJSON(c.repo, run) })
	c.json(http.StatusOK, obj{"total_count": len(runs), "check_runs": out})
}

// checkRunInput is the body of POST and PATCH …/check-runs.
type checkRunInput struct {
	Name        *string `json:"name"`
	HeadSHA     string  `json:"head_sha"`
	DetailsURL  *string `json:"details_url"`
	ExternalID  *string `json:"external_id"`
	Status      *string `json:"status"`
	Conclusion  *string `json:"conclusion"`
	StartedAt   *string `json:"started_at"`
	CompletedAt *string `json:"completed_at"`
	Output      *struct {
		Title   string  `json:"title"`
		Summary string  `json:"summary"`
		Text    *string `json:"text"`
	} `json:"output"`
}

// apply sets the fields given; "Providing conclusion will automatically
// set the status parameter to completed" ("Create a check run").
func (in *checkRunInput) apply(run *checkRun, now time.Time) string {
	if in.Name != nil {
		run.Name = *in.Name
	}
	if in.DetailsURL != nil {
		run.DetailsURL = *in.DetailsURL
	}
	if in.ExternalID != nil {
		run.externalID = *in.ExternalID
	}
	if in.Status != nil {
		run.Status = *in.Status
	}
	if in.Conclusion != nil {
		run.Status, run.Conclusion = "completed", *in.Conclusion
	}
	if in.Output != nil {
		run.title, run.summary = in.Output.Title, in.Output.Summary
		if in.Output.Text != nil {
			run.text = *in.Output.Text
		}
	}
	if in.StartedAt != nil {
		if t, err := time.Parse(time.RFC3339, *in.StartedAt); err == nil {
			run.startedAt = t
		}
	}
	if run.Status == "completed" {
		if run.Conclusion == "" {
			return "conclusion is required when status is completed"
		}
		run.completedAt = now
		if in.CompletedAt != nil {
			if t, err := time.Parse(time.RFC3339, *in.CompletedAt); err == nil {
				run.completedAt = t
			}
		}
	}
	return ""
}

// onlyApps refuses callers that are not GitHub Apps: "OAuth apps and
// personal access tokens (classic) cannot use this endpoint" ("Create a
// check run", https://docs.github.com/rest/checks/runs#create-a-check-run);
// GitHub answers 403 "You must authenticate via a GitHub App.".
func (c *call) onlyApps() bool {
	if c.tok.app == nil {
		c.fail(http.StatusForbidden, "You must authenticate via a GitHub App.")
		c.undeclared, c.undeclaredSchema = "checks: not a GitHub App", "basic-error"
		return false
	}
	return true
}

func (s *Server) createCheckRun(c *call) {
	if !c.onlyApps() {
		return
	}
	var in checkRunInput
	if !c.decode(&in) {
		return
	}
	typ, err := c.repo.git.objectType(c.ctx, in.HeadSHA)
	if err != nil {
		c.internal(err)
		return
	}
	if typ != "commit" || !fullSHA.MatchString(in.HeadSHA) {
		// GitHub answers 422 here; its description declares only 201.
		c.invalid("No commit found for SHA: " + in.HeadSHA)
		c.undeclared, c.undeclaredSchema = "check-runs: unknown head_sha", "validation-error"
		return
	}
	now := s.now()
	run := &checkRun{sha: in.HeadSHA, app: c.tok.app, startedAt: now}
	run.Status = "queued"
	if msg := in.apply(run, now); msg != "" {
		c.invalid("Invalid request.\n\n" + msg)
		c.undeclared, c.undeclaredSchema = "check-runs: completed without conclusion", "validation-error"
		return
	}
	s.mu.Lock()
	run.id = s.nextIDLocked()
	c.repo.checkRuns[run.sha] = append(c.repo.checkRuns[run.sha], run)
	o := s.checkRunJSON(c.repo, run)
	s.mu.Unlock()
	c.header.Set("Location", o["url"].(string))
	c.json(http.StatusCreated, o)
}

func (s *Server) updateCheckRun(c *call) {
	if !c.onlyApps() {
		return
	}
	var in checkRunInput
	if !c.decode(&in) {
		return
	}
	id := c.intParam("check_run_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	var run *checkRun
	for _, runs := range c.repo.checkRuns {
		for _, r := range runs {
			if r.id == id {
				run = r
			}
		}
	}
	if run == nil {
		c.fail(http.StatusNotFound, "Not Found")
		c.undeclared, c.undeclaredSchema = "check-runs: unknown id", "basic-error"
		return
	}
	// Only the app that created a check run may change it: another app
	// writing "success" over it is exactly the forgery to refuse.
	if run.app == nil || run.app.id != c.tok.app.id {
		c.fail(http.StatusForbidden, "Resource not accessible by integration")
		c.undeclared, c.undeclaredSchema = "check-runs: another app's run", "basic-error"
		return
	}
	next := *run
	if msg := in.apply(&next, s.now()); msg != "" {
		c.invalid("Invalid request.\n\n" + msg)
		c.undeclared, c.undeclaredSchema = "check-runs: completed without conclusion", "validation-error"
		return
	}
	*run = next
	c.json(http.StatusOK, s.checkRunJSON(c.repo, run))
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
	var a *app
	if run.AppID != 0 {
		if a = s.apps[run.AppID]; a == nil {
			return fmt.Errorf("githubtest: AddCheckRun: app %d is not registered (AddApp)", run.AppID)
		}
	}
	now := s.now()
	r.checkRuns[sha] = append(r.checkRuns[sha], &checkRun{CheckRun: run, id: s.nextIDLocked(), sha: sha, app: a, startedAt: now, completedAt: now})
	return nil
}

// ReportCheck completes a check run named name on sha as GitHub App appID
// with conclusion (success, failure, neutral, cancelled, skipped,
// timed_out, action_required), as the app's workflow would through
// POST …/check-runs. Use it from an OnHead hook to simulate the workflow
// that reports a required check.
func (s *Server) ReportCheck(owner, repo, sha, name string, appID int64, conclusion string) error {
	switch conclusion {
	case "success", "failure", "neutral", "cancelled", "skipped", "timed_out", "action_required":
	default:
		return fmt.Errorf("githubtest: ReportCheck: conclusion %q is not one of success, failure, neutral, cancelled, skipped, timed_out, action_required", conclusion)
	}
	if appID == 0 {
		return fmt.Errorf("githubtest: ReportCheck: appID is required: only GitHub Apps create check runs")
	}
	if name == "" {
		return fmt.Errorf("githubtest: ReportCheck: name is required")
	}
	r, err := s.mustRepo(owner, repo)
	if err != nil {
		return err
	}
	if typ, err := r.git.objectType(ctxBG(), sha); err != nil || typ != "commit" || !fullSHA.MatchString(sha) {
		return fmt.Errorf("githubtest: ReportCheck: %q is not a commit SHA of %s/%s", sha, owner, repo)
	}
	return s.AddCheckRun(owner, repo, sha, CheckRun{Name: name, Status: "completed", Conclusion: conclusion, AppID: appID})
}
