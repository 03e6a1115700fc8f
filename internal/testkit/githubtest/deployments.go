package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

type deployment struct {
	id                    int64
	sha, ref, task        string
	environment, original string
	description           string
	payload               json.RawMessage
	creator               *user
	transient, production bool
	createdAt, updatedAt  time.Time
	statuses              []*deploymentStatus // oldest first
}

type deploymentStatus struct {
	id                              int64
	state, description, environment string
	logURL, environmentURL          string
	creator                         *user
	createdAt                       time.Time
}

func (s *Server) deploymentJSON(r *repoState, d *deployment) obj {
	api := fmt.Sprintf("%s/deployments/%d", s.repoAPIURL(r), d.id)
	var payload any = obj{}
	if len(d.payload) > 0 {
		payload = d.payload
	}
	return obj{
		"url": api, "id": d.id, "node_id": nodeID("DE", d.id), "sha": d.sha, "ref": d.ref, "task": d.task,
		"payload": payload, "original_environment": d.original, "environment": d.environment,
		"description": nullable(d.description), "creator": s.userJSON(d.creator),
		"created_at": ts(d.createdAt), "updated_at": ts(d.updatedAt),
		"statuses_url": api + "/statuses", "repository_url": s.repoAPIURL(r),
		"transient_environment": d.transient, "production_environment": d.production,
	}
}

func (s *Server) deploymentStatusJSON(r *repoState, d *deployment, st *deploymentStatus) obj {
	dep := fmt.Sprintf("%s/deployments/%d", s.repoAPIURL(r), d.id)
	return obj{
		"url": fmt.Sprintf("%s/statuses/%d", dep, st.id), "id": st.id, "node_id": nodeID("DES", st.id),
		"state": st.state, "creator": s.userJSON(st.creator), "description": st.description,
		"environment": st.environment, "target_url": st.logURL, "log_url": st.logURL,
		"environment_url": st.environmentURL,
		"created_at":      ts(st.createdAt), "updated_at": ts(st.createdAt),
		"deployment_url": dep, "repository_url": s.repoAPIURL(r),
	}
}

func (s *Server) deploymentFor(c *call) *deployment {
	id := c.intParam("deployment_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range c.repo.deployments {
		if d.id == id {
			return d
		}
	}
	c.fail(http.StatusNotFound, "Not Found")
	return nil
}

func (s *Server) createDeployment(c *call) {
	var in struct {
		Ref                   string          `json:"ref"`
		Task                  string          `json:"task"`
		AutoMerge             *bool           `json:"auto_merge"`
		RequiredContexts      *[]string       `json:"required_contexts"`
		Payload               json.RawMessage `json:"payload"`
		Environment           string          `json:"environment"`
		Description           *string         `json:"description"`
		TransientEnvironment  bool            `json:"transient_environment"`
		ProductionEnvironment *bool           `json:"production_environment"`
	}
	if !c.decode(&in) {
		return
	}
	r := c.repo
	g := r.git
	sha, err := g.resolveCommitish(c.ctx, in.Ref)
	if err != nil {
		c.internal(err)
		return
	}
	if sha == "" {
		c.invalid("No ref found for: " + in.Ref)
		return
	}
	// auto_merge (default true): a branch behind the default branch gets
	// the default branch merged into it first; GitHub answers 202 then.
	if in.AutoMerge == nil || *in.AutoMerge {
		branchSHA, err := g.commitOf(c.ctx, "refs/heads/"+in.Ref)
		if err != nil {
			c.internal(err)
			return
		}
		def, err := g.commitOf(c.ctx, "refs/heads/"+r.defaultBranch)
		if err != nil {
			c.internal(err)
			return
		}
		if branchSHA != "" && in.Ref != r.defaultBranch && def != "" {
			upToDate, err := g.isAncestor(c.ctx, def, branchSHA)
			if err != nil {
				c.internal(err)
				return
			}
			if !upToDate {
				tree, ok, _, err := g.mergeTrees(c.ctx, branchSHA, def)
				if err != nil {
					c.internal(err)
					return
				}
				if !ok {
					c.fail(http.StatusConflict, fmt.Sprintf("Conflict merging %s into %s.", r.defaultBranch, in.Ref))
					return
				}
				committer := webFlow
				committer.Date = s.now()
				merge, err := g.commitTree(c.ctx, tree, []string{branchSHA, def},
					fmt.Sprintf("Auto-merged %s into %s on deployment.\n", r.defaultBranch, in.Ref), s.authorFor(c.user), committer)
				if err != nil {
					c.internal(err)
					return
				}
				if err := g.updateRef(c.ctx, "refs/heads/"+in.Ref, merge, branchSHA); err != nil {
					c.fail(http.StatusConflict, fmt.Sprintf("Conflict merging %s into %s.", r.defaultBranch, in.Ref))
					return
				}
				s.markVerified(r, merge)
				c.json(http.StatusAccepted, obj{"message": fmt.Sprintf("Auto-merged %s into %s on deployment.", r.defaultBranch, in.Ref)})
				return
			}
		}
	}
	// required_contexts (default: every context seen on the commit) must
	// all be successful.
	s.mu.Lock()
	latest := latestStatuses(r.statuses[sha])
	s.mu.Unlock()
	var contexts []string
	if in.RequiredContexts != nil {
		contexts = *in.RequiredContexts
	} else {
		for _, st := range latest {
			contexts = append(contexts, st.context)
		}
	}
	var failed []any
	for _, ctxName := range contexts {
		state := "missing"
		for _, st := range latest {
			if strings.EqualFold(st.context, ctxName) {
				state = st.state
			}
		}
		if state != "success" {
			failed = append(failed, obj{"context": ctxName, "state": state})
		}
	}
	if len(failed) > 0 {
		c.json(http.StatusConflict, obj{
			"message":           fmt.Sprintf("Conflict: Commit status checks failed for %s.", in.Ref),
			"documentation_url": s.spec.docURL(c.op),
			"errors":            []any{obj{"contexts": failed, "resource": "Deployment", "field": "required_contexts", "code": "invalid"}},
		})
		return
	}
	if in.Task == "" {
		in.Task = "deploy"
	}
	if in.Environment == "" {
		in.Environment = "production"
	}
	production := in.Environment == "production"
	if in.ProductionEnvironment != nil {
		production = *in.ProductionEnvironment
	}
	desc := ""
	if in.Description != nil {
		desc = *in.Description
	}
	payload := in.Payload
	if string(payload) == "null" {
		payload = nil
	}
	now := s.now()
	s.mu.Lock()
	d := &deployment{
		id: s.nextIDLocked(), sha: sha, ref: in.Ref, task: in.Task, environment: in.Environment, original: in.Environment,
		description: desc, payload: payload, creator: c.user, transient: in.TransientEnvironment, production: production,
		createdAt: now, updatedAt: now,
	}
	r.deployments = append(r.deployments, d)
	o := s.deploymentJSON(r, d)
	s.mu.Unlock()
	c.header.Set("Location", o["url"].(string))
	c.json(http.StatusCreated, o)
}

func (s *Server) listDeployments(c *call) {
	q := c.r.URL.Query()
	s.mu.Lock()
	var list []obj
	deps := c.repo.deployments
	for i := len(deps) - 1; i >= 0; i-- { // newest first, like GitHub
		d := deps[i]
		if (q.Get("sha") != "" && d.sha != q.Get("sha")) || (q.Get("ref") != "" && d.ref != q.Get("ref")) ||
			(q.Get("task") != "" && d.task != q.Get("task")) || (q.Get("environment") != "" && d.environment != q.Get("environment")) {
			continue
		}
		list = append(list, s.deploymentJSON(c.repo, d))
	}
	s.mu.Unlock()
	c.json(http.StatusOK, pageOf(c, list, func(o obj) any { return o }))
}

func (s *Server) getDeployment(c *call) {
	d := s.deploymentFor(c)
	if d == nil {
		return
	}
	s.mu.Lock()
	o := s.deploymentJSON(c.repo, d)
	s.mu.Unlock()
	c.json(http.StatusOK, o)
}

func (s *Server) listDeploymentStatuses(c *call) {
	d := s.deploymentFor(c)
	if d == nil {
		return
	}
	s.mu.Lock()
	var list []obj
	for i := len(d.statuses) - 1; i >= 0; i-- {
		list = append(list, s.deploymentStatusJSON(c.repo, d, d.statuses[i]))
	}
	s.mu.Unlock()
	c.json(http.StatusOK, pageOf(c, list, func(o obj) any { return o }))
}

func (s *Server) createDeploymentStatus(c *call) {
	d := s.deploymentFor(c)
	if d == nil {
		return
	}
	var in struct {
		State          string `json:"state"`
		TargetURL      string `json:"target_url"`
		LogURL         string `json:"log_url"`
		Description    string `json:"description"`
		Environment    string `json:"environment"`
		EnvironmentURL string `json:"environment_url"`
		AutoInactive   *bool  `json:"auto_inactive"`
	}
	if !c.decode(&in) {
		return
	}
	if len(in.Description) > 140 {
		c.invalid("Validation Failed", obj{"resource": "DeploymentStatus", "field": "description", "code": "custom",
			"message": "description is too long (maximum is 140 characters)"})
		return
	}
	logURL := in.LogURL
	if logURL == "" {
		logURL = in.TargetURL
	}
	now := s.now()
	r := c.repo
	s.mu.Lock()
	if in.Environment != "" {
		d.environment = in.Environment
	}
	st := &deploymentStatus{
		id: s.nextIDLocked(), state: in.State, description: in.Description, environment: d.environment,
		logURL: logURL, environmentURL: in.EnvironmentURL, creator: c.user, createdAt: now,
	}
	d.statuses = append(d.statuses, st)
	d.updatedAt = now
	// auto_inactive (default true). Docs ("Create a deployment status"):
	// "Adds a new inactive status to all prior non-transient, non-production
	// environment deployments with the same repository and environment name
	// as the created status's deployment. An inactive status is only added
	// to deployments that had a success state." Production and transient
	// deployments keep their status.
	if in.State == "success" && (in.AutoInactive == nil || *in.AutoInactive) {
		for _, other := range r.deployments {
			if other == d || other.environment != d.environment || other.id > d.id || len(other.statuses) == 0 ||
				other.production || other.transient {
				continue
			}
			if last := other.statuses[len(other.statuses)-1]; last.state == "success" {
				other.statuses = append(other.statuses, &deploymentStatus{
					id: s.nextIDLocked(), state: "inactive", environment: other.environment, creator: c.user, createdAt: now,
					description: "", logURL: last.logURL, environmentURL: last.environmentURL,
				})
				other.updatedAt = now
			}
		}
	}
	o := s.deploymentStatusJSON(r, d, st)
	s.mu.Unlock()
	c.header.Set("Location", o["url"].(string))
	c.json(http.StatusCreated, o)
}
