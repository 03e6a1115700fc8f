package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Issues exist here only as the issue side of pull requests (same numbers),
// which is what actions comment on and label.

type comment struct {
	id                   int64
	user                 *user
	body                 string
	createdAt, updatedAt time.Time
}

type label struct {
	id          int64
	name        string
	color       string
	description string
}

// issueFor checks the issue number exists, answering 404 otherwise.
func (s *Server) issueFor(c *call) (int, bool) {
	n, err := strconv.Atoi(c.params["issue_number"])
	s.mu.Lock()
	ok := err == nil && c.repo.pulls[n] != nil
	s.mu.Unlock()
	if !ok {
		c.fail(http.StatusNotFound, "Not Found")
	}
	return n, ok
}

func (s *Server) commentJSON(c *call, n int, cm *comment) obj {
	api := s.repoAPIURL(c.repo)
	u := fmt.Sprintf("%s/issues/comments/%d", api, cm.id)
	return obj{
		"id": cm.id, "node_id": nodeID("IC", cm.id), "url": u,
		"html_url":  fmt.Sprintf("%s/pull/%d#issuecomment-%d", s.repoHTMLURL(c.repo), n, cm.id),
		"issue_url": fmt.Sprintf("%s/issues/%d", api, n),
		"body":      cm.body, "user": s.userJSON(cm.user),
		"created_at": ts(cm.createdAt), "updated_at": ts(cm.updatedAt),
		"author_association": s.association(c.repo, cm.user),
	}
}

func (s *Server) listComments(c *call) {
	n, ok := s.issueFor(c)
	if !ok {
		return
	}
	var since time.Time
	if v := c.query("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			c.invalid("since must be an ISO 8601 timestamp")
			return
		}
		since = t
	}
	s.mu.Lock()
	var list []*comment
	for _, cm := range c.repo.comments[n] {
		if !cm.updatedAt.Before(since) {
			list = append(list, cm)
		}
	}
	s.mu.Unlock()
	c.json(http.StatusOK, pageOf(c, list, func(cm *comment) any { return s.commentJSON(c, n, cm) }))
}

func (s *Server) createComment(c *call) {
	n, ok := s.issueFor(c)
	if !ok {
		return
	}
	var in struct {
		Body string `json:"body"`
	}
	if !c.decode(&in) {
		return
	}
	if strings.TrimSpace(in.Body) == "" {
		c.invalid("Validation Failed", obj{"resource": "IssueComment", "field": "body", "code": "missing_field"})
		return
	}
	if len(in.Body) > 65536 {
		c.invalid("Validation Failed", obj{"resource": "IssueComment", "field": "body", "code": "custom",
			"message": "body is too long (maximum is 65536 characters)"})
		return
	}
	now := s.now()
	s.mu.Lock()
	cm := &comment{id: s.nextIDLocked(), user: c.user, body: in.Body, createdAt: now, updatedAt: now}
	c.repo.comments[n] = append(c.repo.comments[n], cm)
	s.mu.Unlock()
	o := s.commentJSON(c, n, cm)
	c.header.Set("Location", o["url"].(string))
	c.json(http.StatusCreated, o)
}

func (s *Server) labelJSON(r *repoState, l *label) obj {
	return obj{
		"id": l.id, "node_id": nodeID("LA", l.id),
		"url":  s.repoAPIURL(r) + "/labels/" + url.PathEscape(l.name),
		"name": l.name, "color": l.color, "description": nullable(l.description), "default": false,
	}
}

func (s *Server) issueLabelsLocked(r *repoState, n int) []any {
	out := []any{}
	for _, key := range r.issueLabels[n] {
		if l := r.labels[key]; l != nil {
			out = append(out, s.labelJSON(r, l))
		}
	}
	return out
}

func (s *Server) listLabels(c *call) {
	n, ok := s.issueFor(c)
	if !ok {
		return
	}
	s.mu.Lock()
	all := s.issueLabelsLocked(c.repo, n)
	s.mu.Unlock()
	start, end := c.page(len(all))
	c.json(http.StatusOK, all[start:end])
}

// labelNames reads every body form GitHub accepts: a bare array or
// {"labels": [...]}, with strings or {"name": ...} items.
func labelNames(body []byte) ([]string, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		var wrapped struct {
			Labels []json.RawMessage `json:"labels"`
		}
		if err := json.Unmarshal(body, &wrapped); err != nil {
			return nil, err
		}
		items = wrapped.Labels
	}
	var names []string
	for _, it := range items {
		var name string
		if err := json.Unmarshal(it, &name); err != nil {
			var o struct {
				Name string `json:"name"`
			}
			if err := json.Unmarshal(it, &o); err != nil {
				return nil, err
			}
			name = o.Name
		}
		names = append(names, name)
	}
	return names, nil
}

func (s *Server) addLabels(c *call) {
	n, ok := s.issueFor(c)
	if !ok {
		return
	}
	names, err := labelNames(c.body)
	if err != nil {
		c.fail(http.StatusBadRequest, "Problems parsing JSON")
		c.undeclared, c.undeclaredSchema = "GitHub answers 400 to unparsable JSON on every operation", "basic-error"
		return
	}
	for _, name := range names {
		if strings.TrimSpace(name) == "" {
			c.invalid("Validation Failed", obj{"resource": "Label", "field": "name", "code": "missing_field"})
			return
		}
	}
	s.mu.Lock()
	r := c.repo
	for _, name := range names {
		key := strings.ToLower(name)
		// Like GitHub, adding an unknown label creates it with the default color.
		if r.labels[key] == nil {
			r.labels[key] = &label{id: s.nextIDLocked(), name: name, color: "ededed"}
		}
		present := false
		for _, k := range r.issueLabels[n] {
			present = present || k == key
		}
		if !present {
			r.issueLabels[n] = append(r.issueLabels[n], key)
		}
	}
	if p := r.pulls[n]; p != nil {
		p.updatedAt = s.now()
	}
	out := s.issueLabelsLocked(r, n)
	s.mu.Unlock()
	c.json(http.StatusOK, out)
}

func (s *Server) removeLabel(c *call) {
	n, ok := s.issueFor(c)
	if !ok {
		return
	}
	key := strings.ToLower(c.params["name"])
	s.mu.Lock()
	r := c.repo
	found := false
	kept := []string{}
	for _, k := range r.issueLabels[n] {
		if k == key {
			found = true
			continue
		}
		kept = append(kept, k)
	}
	if !found {
		s.mu.Unlock()
		c.fail(http.StatusNotFound, "Label does not exist")
		return
	}
	r.issueLabels[n] = kept
	out := s.issueLabelsLocked(r, n)
	s.mu.Unlock()
	c.json(http.StatusOK, out)
}
