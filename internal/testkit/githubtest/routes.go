package githubtest

import (
	"net/url"
	"sort"
	"strings"
)

// multiSegment are the path parameters that may contain "/" (refs, file
// paths, branch names, base...head), as GitHub's description marks with
// x-multi-segment; go-github sends them with literal slashes.
var multiSegment = map[string]bool{"ref": true, "path": true, "branch": true, "basehead": true}

type seg struct {
	lit   string
	param string
	multi bool
}

type route struct {
	key      string // "METHOD /path" exactly as in GitHub's description
	method   string
	template string
	segs     []seg
	literals int
	access   Access // needed on the repository
	handle   func(*call)
}

func newRoute(key string, access Access, h func(*call)) *route {
	method, template, _ := strings.Cut(key, " ")
	rt := &route{key: key, method: method, template: template, access: access, handle: h}
	for _, s := range strings.Split(strings.Trim(template, "/"), "/") {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			name := s[1 : len(s)-1]
			rt.segs = append(rt.segs, seg{param: name, multi: multiSegment[name]})
			continue
		}
		rt.segs = append(rt.segs, seg{lit: s})
		rt.literals++
	}
	return rt
}

// router matches escaped request paths against routes. Routes with more
// literal segments win, so ".../commits/{ref}/status" beats
// ".../commits/{ref}" even though ref may span several segments.
type router struct {
	routes []*route
}

func newRouter(routes []*route) *router {
	sort.SliceStable(routes, func(i, j int) bool { return routes[i].literals > routes[j].literals })
	return &router{routes: routes}
}

// match returns the route and its decoded parameters; methodOK is false when
// the path exists but not for this method.
func (rt *router) match(method, escapedPath string) (*route, map[string]string, bool) {
	parts := strings.Split(strings.Trim(escapedPath, "/"), "/")
	for _, r := range rt.routes {
		if r.method != method {
			continue
		}
		params := map[string]string{}
		if matchSegs(r.segs, parts, params) {
			return r, params, true
		}
	}
	return nil, nil, false
}

func matchSegs(segs []seg, parts []string, params map[string]string) bool {
	if len(segs) == 0 {
		return len(parts) == 0
	}
	if len(parts) == 0 {
		return false
	}
	s := segs[0]
	if s.lit != "" {
		return parts[0] == s.lit && matchSegs(segs[1:], parts[1:], params)
	}
	maxTake := 1
	if s.multi {
		maxTake = len(parts) - (len(segs) - 1)
	}
	// Greedy first, so a trailing multi-segment parameter takes the rest.
	for take := maxTake; take >= 1; take-- {
		vals := make([]string, take)
		ok := true
		for i := 0; i < take; i++ {
			v, err := url.PathUnescape(parts[i])
			if err != nil || v == "" {
				ok = false
				break
			}
			vals[i] = v
		}
		if !ok {
			continue
		}
		if matchSegs(segs[1:], parts[take:], params) {
			params[s.param] = strings.Join(vals, "/")
			return true
		}
	}
	return false
}

// routes is the server's route table; TestRoutesMatchOperations keeps it
// equal to openapi.Operations, the list the extract is generated from.
func (s *Server) routes() []*route {
	return []*route{
		newRoute("GET /repos/{owner}/{repo}", Read, s.getRepo),
		newRoute("GET /repos/{owner}/{repo}/branches/{branch}", Read, s.getBranch),
		newRoute("GET /repos/{owner}/{repo}/commits/{ref}", Read, s.getCommit),
		newRoute("GET /repos/{owner}/{repo}/commits/{ref}/status", Read, s.getCombinedStatus),
		newRoute("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", Read, s.listCheckRuns),
		newRoute("POST /repos/{owner}/{repo}/statuses/{sha}", Write, s.createStatus),
		newRoute("POST /repos/{owner}/{repo}/check-runs", Write, s.createCheckRun),
		newRoute("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", Write, s.updateCheckRun),
		newRoute("GET /repos/{owner}/{repo}/compare/{basehead}", Read, s.compare),

		newRoute("GET /repos/{owner}/{repo}/git/ref/{ref}", Read, s.getRef),
		newRoute("GET /repos/{owner}/{repo}/git/matching-refs/{ref}", Read, s.matchingRefs),
		newRoute("POST /repos/{owner}/{repo}/git/refs", Write, s.createRef),
		newRoute("PATCH /repos/{owner}/{repo}/git/refs/{ref}", Write, s.updateRef),
		newRoute("DELETE /repos/{owner}/{repo}/git/refs/{ref}", Write, s.deleteRef),
		newRoute("POST /repos/{owner}/{repo}/git/blobs", Write, s.createBlob),
		newRoute("GET /repos/{owner}/{repo}/git/blobs/{file_sha}", Read, s.getBlob),
		newRoute("POST /repos/{owner}/{repo}/git/trees", Write, s.createTree),
		newRoute("GET /repos/{owner}/{repo}/git/trees/{tree_sha}", Read, s.getTree),
		newRoute("POST /repos/{owner}/{repo}/git/commits", Write, s.createGitCommit),
		newRoute("GET /repos/{owner}/{repo}/git/commits/{commit_sha}", Read, s.getGitCommit),

		newRoute("GET /repos/{owner}/{repo}/contents/{path}", Read, s.getContents),
		newRoute("PUT /repos/{owner}/{repo}/contents/{path}", Write, s.putContents),

		newRoute("GET /repos/{owner}/{repo}/pulls", Read, s.listPulls),
		newRoute("POST /repos/{owner}/{repo}/pulls", Write, s.createPull),
		newRoute("GET /repos/{owner}/{repo}/pulls/{pull_number}", Read, s.getPull),
		newRoute("PATCH /repos/{owner}/{repo}/pulls/{pull_number}", Write, s.updatePull),
		newRoute("PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge", Write, s.mergePull),
		newRoute("GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews", Read, s.listReviews),
		newRoute("POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews", Write, s.createReview),
		newRoute("POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers", Write, s.requestReviewers),
		newRoute("PUT /repos/{owner}/{repo}/pulls/{pull_number}/update-branch", Write, s.updateBranch),

		newRoute("GET /repos/{owner}/{repo}/issues/{issue_number}/comments", Read, s.listComments),
		newRoute("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", Write, s.createComment),
		newRoute("GET /repos/{owner}/{repo}/issues/{issue_number}/labels", Read, s.listLabels),
		newRoute("POST /repos/{owner}/{repo}/issues/{issue_number}/labels", Write, s.addLabels),
		newRoute("DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}", Write, s.removeLabel),

		newRoute("GET /repos/{owner}/{repo}/deployments", Read, s.listDeployments),
		newRoute("POST /repos/{owner}/{repo}/deployments", Write, s.createDeployment),
		newRoute("GET /repos/{owner}/{repo}/deployments/{deployment_id}", Read, s.getDeployment),
		newRoute("GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses", Read, s.listDeploymentStatuses),
		newRoute("POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses", Write, s.createDeploymentStatus),

		newRoute("GET /repos/{owner}/{repo}/rulesets", Read, s.listRulesets),
		newRoute("POST /repos/{owner}/{repo}/rulesets", Admin, s.createRuleset),
		newRoute("GET /repos/{owner}/{repo}/rulesets/{ruleset_id}", Read, s.getRuleset),
		newRoute("PUT /repos/{owner}/{repo}/rulesets/{ruleset_id}", Admin, s.updateRuleset),
		newRoute("DELETE /repos/{owner}/{repo}/rulesets/{ruleset_id}", Admin, s.deleteRuleset),
		newRoute("GET /repos/{owner}/{repo}/rules/branches/{branch}", Read, s.branchRules),
	}
}
