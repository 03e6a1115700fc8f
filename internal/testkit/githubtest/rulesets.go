package githubtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Rulesets are stored as the raw JSON the caller sent (any rule type,
// including ones newer than the pinned description) and interpreted only
// where the server enforces them.
type ruleset struct {
	id                   int64
	raw                  map[string]json.RawMessage
	createdAt, updatedAt time.Time
}

type rulesetView struct {
	Name         string `json:"name"`
	Target       string `json:"target"`
	Enforcement  string `json:"enforcement"`
	BypassActors []struct {
		ActorID    *int64 `json:"actor_id"`
		ActorType  string `json:"actor_type"`
		BypassMode string `json:"bypass_mode"`
	} `json:"bypass_actors"`
	Conditions *struct {
		RefName *struct {
			Include []string `json:"include"`
			Exclude []string `json:"exclude"`
		} `json:"ref_name"`
	} `json:"conditions"`
	Rules []rule `json:"rules"`
}

type rule struct {
	Type       string          `json:"type"`
	Parameters json.RawMessage `json:"parameters,omitempty"`
}

type pullRequestParams struct {
	RequiredApprovingReviewCount int      `json:"required_approving_review_count"`
	DismissStaleReviewsOnPush    bool     `json:"dismiss_stale_reviews_on_push"`
	AllowedMergeMethods          []string `json:"allowed_merge_methods"`
}

type statusChecksParams struct {
	RequiredStatusChecks []struct {
		Context       string `json:"context"`
		IntegrationID int64  `json:"integration_id"`
	} `json:"required_status_checks"`
}

func (rs *ruleset) view() rulesetView {
	b, _ := json.Marshal(rs.raw)
	var v rulesetView
	json.Unmarshal(b, &v)
	if v.Target == "" {
		v.Target = "branch"
	}
	return v
}

type refOp int

const (
	opCreate refOp = iota
	opUpdate
	opForcePush
	opDelete
)

// refPattern turns a ruleset ref pattern into a regexp: "*" stays within a
// path segment, "**" crosses segments, like GitHub's fnmatch.
func refPattern(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch {
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i++
		case p[i] == '*':
			b.WriteString("[^/]*")
		case p[i] == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func (r *repoState) refMatches(pattern, branch string) bool {
	switch pattern {
	case "~ALL":
		return true
	case "~DEFAULT_BRANCH":
		return branch == r.defaultBranch
	}
	if !strings.HasPrefix(pattern, "refs/") {
		pattern = "refs/heads/" + pattern
	}
	return refPattern(pattern).MatchString("refs/heads/" + branch)
}

// applies reports whether an active branch ruleset targets branch.
func (r *repoState) applies(v rulesetView, branch string) bool {
	if v.Enforcement != "active" || v.Target != "branch" || v.Conditions == nil || v.Conditions.RefName == nil {
		return false
	}
	in := false
	for _, p := range v.Conditions.RefName.Include {
		in = in || r.refMatches(p, branch)
	}
	for _, p := range v.Conditions.RefName.Exclude {
		if r.refMatches(p, branch) {
			return false
		}
	}
	return in
}

// bypasses reports whether the token may bypass this one ruleset (bypass
// is per ruleset: being an actor of ruleset A says nothing about B). A
// match is the token's SetBypass flag, or a bypass actor: Integration by
// the installation's App id, User by user id, RepositoryRole 5 (admin) /
// OrganizationAdmin for admins. "pull_request" mode counts only for merges
// ("Creating rulesets for a repository" → "Granting bypass permissions":
// "Always" allows bypass for all changes, "For pull requests only" only
// when merging a pull request).
func (s *Server) bypasses(tok *token, r *repoState, v rulesetView, viaPR bool) bool {
	if tok == nil {
		return false
	}
	if tok.bypass {
		return true
	}
	s.mu.Lock()
	uid := s.userLocked(tok.login).id
	s.mu.Unlock()
	// Apps have no repository role; their admin-ness is administration:write.
	admin := tok.app == nil && tok.accessTo(r.fullName()) >= Admin
	for _, a := range v.BypassActors {
		match := false
		switch a.ActorType {
		case "Integration":
			match = tok.app != nil && a.ActorID != nil && *a.ActorID == tok.app.id && tok.installed(r.fullName())
		case "User":
			match = tok.app == nil && a.ActorID != nil && *a.ActorID == uid
		case "RepositoryRole":
			match = admin && a.ActorID != nil && *a.ActorID == 5
		case "OrganizationAdmin":
			match = admin
		}
		if match && (a.BypassMode != "pull_request" || viaPR) {
			return true
		}
	}
	return false
}

func (s *Server) activeRulesets(r *repoState, branch string) []rulesetView {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []rulesetView
	for _, rs := range r.rulesets {
		if v := rs.view(); r.applies(v, branch) {
			out = append(out, v)
		}
	}
	return out
}

// rulesFor lists the rules in force on branch with their ruleset, for
// GET rules/branches and the branch's "protected" flag.
func (s *Server) rulesFor(r *repoState, branch string, _ *token) []obj {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []obj
	for _, rs := range r.rulesets {
		v := rs.view()
		if !r.applies(v, branch) {
			continue
		}
		for _, ru := range v.Rules {
			o := obj{"type": ru.Type, "ruleset_source_type": "Repository", "ruleset_source": r.fullName(), "ruleset_id": rs.id}
			if len(ru.Parameters) > 0 {
				o["parameters"] = ru.Parameters
			}
			out = append(out, o)
		}
	}
	return out
}

// checkRules returns the violations of a direct write to branch ("" when
// allowed).
func (s *Server) checkRules(r *repoState, tok *token, branch string, op refOp) string {
	return s.refRules(r, tok, branch, op, false)
}

// refRules checks a ref write against every active ruleset on branch the
// token does not bypass; merges says the new commits contain a merge
// commit (required_linear_history).
func (s *Server) refRules(r *repoState, tok *token, branch string, op refOp, merges bool) string {
	var msgs []string
	for _, v := range s.activeRulesets(r, branch) {
		if s.bypasses(tok, r, v, false) {
			continue
		}
		for _, ru := range v.Rules {
			switch {
			case ru.Type == "creation" && op == opCreate:
				msgs = append(msgs, "Cannot create ref due to creations being restricted.")
			case ru.Type == "update" && (op == opUpdate || op == opForcePush):
				msgs = append(msgs, "Cannot update this protected ref.")
			case ru.Type == "deletion" && op == opDelete:
				msgs = append(msgs, "Cannot delete this branch")
			case ru.Type == "pull_request" && (op == opUpdate || op == opForcePush):
				msgs = append(msgs, "Changes must be made through a pull request.")
			case ru.Type == "merge_queue" && (op == opUpdate || op == opForcePush):
				msgs = append(msgs, "Changes must be made through the merge queue")
			case ru.Type == "non_fast_forward" && op == opForcePush:
				msgs = append(msgs, "Cannot force-push to this branch")
			case ru.Type == "required_linear_history" && merges && op != opDelete:
				msgs = append(msgs, "This branch must not contain merge commits.")
			}
		}
	}
	return strings.Join(msgs, "\n\n")
}

// wantsLinear reports whether an active ruleset on branch requires linear
// history, so the merge-commit scan runs only when it matters.
func (s *Server) wantsLinear(r *repoState, branch string) bool {
	for _, v := range s.activeRulesets(r, branch) {
		for _, ru := range v.Rules {
			if ru.Type == "required_linear_history" {
				return true
			}
		}
	}
	return false
}

// newMerges reports whether moving a ref from old (zeroOID or "" for a new
// ref) to new brings a merge commit the repository's refs do not already
// hold. env points git at a push's quarantined objects.
func (s *Server) newMerges(ctx context.Context, r *repoState, old, new string, env []string) (bool, error) {
	args := []string{"rev-list", "--merges", "--max-count=1", new}
	if old == "" || old == zeroOID {
		args = append(args, "--not", "--all")
	} else {
		args = append(args, "^"+old)
	}
	out, err := r.git.run(ctx, nil, env, args...)
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(string(out)) != "", nil
}

// mergeBlocked returns why rulesets on the base branch block merging p with
// method ("" when the merge is allowed for tok).
func (s *Server) mergeBlocked(ctx context.Context, r *repoState, p *pull, tok *token, method, head string) string {
	s.mu.Lock()
	base := p.baseRef
	s.mu.Unlock()
	var msgs []string
	for _, v := range s.activeRulesets(r, base) {
		if s.bypasses(tok, r, v, true) {
			continue
		}
		for _, ru := range v.Rules {
			switch ru.Type {
			case "pull_request":
				var params pullRequestParams
				json.Unmarshal(ru.Parameters, &params)
				if n := params.RequiredApprovingReviewCount; n > 0 && s.approvals(p, head, params.DismissStaleReviewsOnPush) < n {
					word := "review is"
					if n > 1 {
						word = "reviews are"
					}
					msgs = append(msgs, fmt.Sprintf("At least %d approving %s required by reviewers with write access.", n, word))
				}
				if len(params.AllowedMergeMethods) > 0 {
					allowed := false
					for _, m := range params.AllowedMergeMethods {
						allowed = allowed || strings.EqualFold(m, method)
					}
					if !allowed {
						msgs = append(msgs, fmt.Sprintf("Merge method %s is not allowed.", method))
					}
				}
			case "required_status_checks":
				var params statusChecksParams
				json.Unmarshal(ru.Parameters, &params)
				for _, rc := range params.RequiredStatusChecks {
					switch st := s.contextState(r, head, rc.Context, rc.IntegrationID); st {
					case "success":
					case "":
						msgs = append(msgs, fmt.Sprintf("Required status check %q is expected.", rc.Context))
					default:
						msgs = append(msgs, fmt.Sprintf("Required status check %q is %s.", rc.Context, st))
					}
				}
			case "required_linear_history":
				if method == "merge" {
					msgs = append(msgs, "This branch must not contain merge commits.")
				}
			case "update":
				msgs = append(msgs, "Cannot update this protected ref.")
			case "merge_queue":
				msgs = append(msgs, "Changes must be made through the merge queue")
			}
			msgs = append(msgs, s.mergeRuleExtras(ctx, r, p, ru, head)...) // fake-fidelity: rules_merge.go
		}
	}
	return strings.Join(msgs, "\n\n")
}

func ruleViolationMessage(v string) string {
	return "Repository rule violations found\n\n" + v + "\n\n"
}

const rulesetsDoc = "https://docs.github.com/repositories/configuring-branches-and-merges-in-your-repository/managing-rulesets/about-rulesets"

// ruleViolation writes GitHub's repository-rule-violation error.
func (c *call) ruleViolation(status int, v string) {
	c.json(status, obj{"message": ruleViolationMessage(v), "documentation_url": rulesetsDoc, "status": fmt.Sprint(status)})
}

// rulesetJSON renders repository-ruleset; full adds conditions, rules and
// bypass actors (the list endpoint omits them, like GitHub).
func (s *Server) rulesetJSON(c *call, rs *ruleset, full bool) obj {
	r := c.repo
	self := fmt.Sprintf("%s/rulesets/%d", s.repoAPIURL(r), rs.id)
	s.mu.Lock()
	o := obj{}
	for k, v := range rs.raw {
		o[k] = v
	}
	created, updated, view := rs.createdAt, rs.updatedAt, rs.view()
	s.mu.Unlock()
	if !full {
		delete(o, "rules")
		delete(o, "conditions")
		delete(o, "bypass_actors")
	}
	if _, ok := o["target"]; !ok {
		o["target"] = "branch"
	}
	o["id"] = rs.id
	o["source_type"] = "Repository"
	o["source"] = r.fullName()
	o["node_id"] = nodeID("RRS", rs.id)
	o["_links"] = obj{"self": obj{"href": self}, "html": obj{"href": fmt.Sprintf("%s/rules/%d", s.repoHTMLURL(r), rs.id)}}
	o["created_at"] = ts(created)
	o["updated_at"] = ts(updated)
	// "bypass_actors is only returned if the user making the API request
	// has write access to the ruleset" (REST "Get a repository ruleset"):
	// everyone else must not learn who can skip the rules.
	canEdit := c.tok.admin(r.fullName())
	if !canEdit {
		delete(o, "bypass_actors")
	}
	if full {
		if _, ok := o["bypass_actors"]; !ok && canEdit {
			o["bypass_actors"] = []any{}
		}
		can := "never"
		switch {
		case s.bypasses(c.tok, r, view, false):
			can = "always"
		case s.bypasses(c.tok, r, view, true):
			can = "pull_requests_only"
		}
		o["current_user_can_bypass"] = can
	}
	return o
}

// withoutUnknownRules is what gets validated for bodies that carry rules:
// rule types the pinned description does not know yet are stored and
// returned verbatim, but cannot be checked against it, so they are left out
// of the validated copy (everything else is still checked).
func (s *Server) withoutUnknownRules(body any) []byte {
	known := s.spec.ruleTypes()
	strip := func(rules any) any {
		list, ok := rules.([]any)
		if !ok {
			return rules
		}
		kept := []any{}
		for _, it := range list {
			if m, ok := it.(map[string]any); ok {
				if t, _ := m["type"].(string); !known[t] {
					continue
				}
			}
			kept = append(kept, it)
		}
		return kept
	}
	b, _ := json.Marshal(body)
	var v any
	json.Unmarshal(b, &v)
	switch x := v.(type) {
	case map[string]any:
		if rules, ok := x["rules"]; ok {
			x["rules"] = strip(rules)
		}
	case []any:
		v = strip(x)
	}
	out, _ := json.Marshal(v)
	return out
}

func (c *call) rulesetResponse(status int, body any) {
	c.json(status, body)
	c.validateAs = c.s.withoutUnknownRules(body)
}

func (s *Server) rulesetFor(c *call) *ruleset {
	id := c.intParam("ruleset_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rs := range c.repo.rulesets {
		if rs.id == id {
			return rs
		}
	}
	c.fail(http.StatusNotFound, "Not Found")
	return nil
}

func (s *Server) listRulesets(c *call) {
	targets := map[string]bool{}
	for _, t := range strings.Split(c.query("targets"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			targets[t] = true
		}
	}
	s.mu.Lock()
	var list []*ruleset
	for _, rs := range c.repo.rulesets {
		if len(targets) == 0 || targets[rs.view().Target] {
			list = append(list, rs)
		}
	}
	s.mu.Unlock()
	c.rulesetResponse(http.StatusOK, pageOf(c, list, func(rs *ruleset) any { return s.rulesetJSON(c, rs, false) }))
}

// storableRuleset keeps the fields GitHub stores from a create/update body.
func storableRuleset(raw map[string]json.RawMessage) {
	for _, k := range []string{"id", "source", "source_type", "node_id", "_links", "created_at", "updated_at", "current_user_can_bypass"} {
		delete(raw, k)
	}
}

func (s *Server) nameTaken(r *repoState, name string, except int64) bool {
	for _, rs := range r.rulesets {
		if rs.id != except && strings.EqualFold(rs.view().Name, name) {
			return true
		}
	}
	return false
}

func (s *Server) createRuleset(c *call) {
	var raw map[string]json.RawMessage
	if !c.decode(&raw) {
		return
	}
	storableRuleset(raw)
	rs, msg := s.addRuleset(c.repo, raw)
	if msg != "" {
		c.invalid("Validation Failed", obj{"resource": "Ruleset", "field": "name", "code": "custom", "message": msg})
		return
	}
	c.rulesetResponse(http.StatusCreated, s.rulesetJSON(c, rs, true))
}

func (s *Server) addRuleset(r *repoState, raw map[string]json.RawMessage) (*ruleset, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := &ruleset{raw: raw}
	if s.nameTaken(r, rs.view().Name, 0) {
		return nil, "Name must be unique"
	}
	rs.id = s.nextIDLocked()
	rs.createdAt = s.now()
	rs.updatedAt = rs.createdAt
	r.rulesets = append(r.rulesets, rs)
	return rs, ""
}

func (s *Server) getRuleset(c *call) {
	rs := s.rulesetFor(c)
	if rs == nil {
		return
	}
	c.rulesetResponse(http.StatusOK, s.rulesetJSON(c, rs, true))
}

func (s *Server) updateRuleset(c *call) {
	rs := s.rulesetFor(c)
	if rs == nil {
		return
	}
	var raw map[string]json.RawMessage
	if !c.decode(&raw) {
		return
	}
	storableRuleset(raw)
	s.mu.Lock()
	merged := map[string]json.RawMessage{}
	for k, v := range rs.raw {
		merged[k] = v
	}
	for k, v := range raw {
		merged[k] = v
	}
	next := &ruleset{raw: merged}
	if s.nameTaken(c.repo, next.view().Name, rs.id) {
		s.mu.Unlock()
		c.invalid("Validation Failed", obj{"resource": "Ruleset", "field": "name", "code": "custom", "message": "Name must be unique"})
		return
	}
	rs.raw = merged
	rs.updatedAt = s.now()
	s.mu.Unlock()
	c.rulesetResponse(http.StatusOK, s.rulesetJSON(c, rs, true))
}

func (s *Server) deleteRuleset(c *call) {
	rs := s.rulesetFor(c)
	if rs == nil {
		return
	}
	s.mu.Lock()
	for i, x := range c.repo.rulesets {
		if x == rs {
			c.repo.rulesets = append(c.repo.rulesets[:i], c.repo.rulesets[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	c.noContent()
}

func (s *Server) branchRules(c *call) {
	rules := s.rulesFor(c.repo, c.params["branch"], c.tok)
	sort.SliceStable(rules, func(i, j int) bool { return rules[i]["ruleset_id"].(int64) < rules[j]["ruleset_id"].(int64) })
	c.rulesetResponse(http.StatusOK, pageOf(c, rules, func(r obj) any { return r }))
}

// AddRuleset stores a ruleset given as raw JSON (as for POST .../rulesets;
// any rule type is kept verbatim) and returns its id.
func (s *Server) AddRuleset(owner, repo, rawJSON string) (int64, error) {
	r, err := s.mustRepo(owner, repo)
	if err != nil {
		return 0, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(rawJSON), &raw); err != nil {
		return 0, fmt.Errorf("githubtest: AddRuleset: %w", err)
	}
	if _, ok := raw["name"]; !ok {
		return 0, fmt.Errorf("githubtest: AddRuleset: name is required")
	}
	if _, ok := raw["enforcement"]; !ok {
		return 0, fmt.Errorf("githubtest: AddRuleset: enforcement is required")
	}
	storableRuleset(raw)
	rs, msg := s.addRuleset(r, raw)
	if msg != "" {
		return 0, fmt.Errorf("githubtest: AddRuleset: %s", msg)
	}
	return rs.id, nil
}
