package githubtest

// routePermissions is what each operation needs from a GitHub App
// installation token, written as GitHub's X-Accepted-GitHub-Permissions
// header ("a=read; b=write" = either set; "a=write,b=read" = both). From
// "Permissions required for GitHub Apps"
// (https://docs.github.com/rest/authentication/permissions-required-for-github-apps).
// Tokens made with AddToken are users: their repository role decides, as
// before. An operation missing here is refused to apps (when unsure, refuse).
var routePermissions = map[string]string{
	"GET /repos/{owner}/{repo}":                             "metadata=read",
	"GET /repos/{owner}/{repo}/branches/{branch}":           "contents=read",
	"GET /repos/{owner}/{repo}/commits/{ref}":               "contents=read",
	"GET /repos/{owner}/{repo}/commits/{ref}/status":        "statuses=read",
	"GET /repos/{owner}/{repo}/commits/{ref}/check-runs":    "checks=read",
	"POST /repos/{owner}/{repo}/statuses/{sha}":             "statuses=write",
	"POST /repos/{owner}/{repo}/check-runs":                 "checks=write",
	"PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}": "checks=write",
	"GET /repos/{owner}/{repo}/compare/{basehead}":          "contents=read",

	"GET /repos/{owner}/{repo}/git/ref/{ref}":            "contents=read",
	"GET /repos/{owner}/{repo}/git/matching-refs/{ref}":  "contents=read",
	"POST /repos/{owner}/{repo}/git/refs":                "contents=write",
	"PATCH /repos/{owner}/{repo}/git/refs/{ref}":         "contents=write",
	"DELETE /repos/{owner}/{repo}/git/refs/{ref}":        "contents=write",
	"POST /repos/{owner}/{repo}/git/blobs":               "contents=write",
	"GET /repos/{owner}/{repo}/git/blobs/{file_sha}":     "contents=read",
	"POST /repos/{owner}/{repo}/git/trees":               "contents=write",
	"GET /repos/{owner}/{repo}/git/trees/{tree_sha}":     "contents=read",
	"POST /repos/{owner}/{repo}/git/commits":             "contents=write",
	"GET /repos/{owner}/{repo}/git/commits/{commit_sha}": "contents=read",
	"GET /repos/{owner}/{repo}/contents/{path}":          "contents=read",
	"PUT /repos/{owner}/{repo}/contents/{path}":          "contents=write",

	"GET /repos/{owner}/{repo}/pulls":                                    "pull_requests=read",
	"POST /repos/{owner}/{repo}/pulls":                                   "pull_requests=write",
	"GET /repos/{owner}/{repo}/pulls/{pull_number}":                      "pull_requests=read",
	"PATCH /repos/{owner}/{repo}/pulls/{pull_number}":                    "pull_requests=write",
	"PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge":                "contents=write",
	"GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews":              "pull_requests=read",
	"POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews":             "pull_requests=write",
	"POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers": "pull_requests=write",
	"PUT /repos/{owner}/{repo}/pulls/{pull_number}/update-branch":        "pull_requests=write",
	"GET /repos/{owner}/{repo}/issues/{issue_number}/comments":           "issues=read; pull_requests=read",
	"POST /repos/{owner}/{repo}/issues/{issue_number}/comments":          "issues=write; pull_requests=write",
	"GET /repos/{owner}/{repo}/issues/{issue_number}/labels":             "issues=read; pull_requests=read",
	"POST /repos/{owner}/{repo}/issues/{issue_number}/labels":            "issues=write; pull_requests=write",
	"DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}":   "issues=write; pull_requests=write",

	"GET /repos/{owner}/{repo}/deployments":                           "deployments=read",
	"POST /repos/{owner}/{repo}/deployments":                          "deployments=write",
	"GET /repos/{owner}/{repo}/deployments/{deployment_id}":           "deployments=read",
	"GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses":  "deployments=read",
	"POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses": "deployments=write",

	"GET /repos/{owner}/{repo}/rulesets":                 "metadata=read",
	"POST /repos/{owner}/{repo}/rulesets":                "administration=write",
	"GET /repos/{owner}/{repo}/rulesets/{ruleset_id}":    "metadata=read",
	"PUT /repos/{owner}/{repo}/rulesets/{ruleset_id}":    "administration=write",
	"DELETE /repos/{owner}/{repo}/rulesets/{ruleset_id}": "administration=write",
	"GET /repos/{owner}/{repo}/rules/branches/{branch}":  "metadata=read",
}
