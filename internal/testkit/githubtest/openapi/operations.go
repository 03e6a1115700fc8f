// Package openapi names the GitHub REST operations that githubtest serves.
// The generator in gen/ cuts exactly these operations (plus every component
// they reference) out of GitHub's official OpenAPI description into
// github.json, which githubtest embeds and validates every request and
// response against.
package openapi

// Source is the npm package the extract is generated from; package.json in
// this folder pins the same version.
const Source = "@octokit/openapi@23.0.2 generated/api.github.com.json"

// Operations lists "METHOD path" for every operation githubtest implements,
// with paths spelled exactly as in GitHub's description.
var Operations = []string{
	"GET /repos/{owner}/{repo}",
	"GET /repos/{owner}/{repo}/branches/{branch}",
	"GET /repos/{owner}/{repo}/commits/{ref}",
	"GET /repos/{owner}/{repo}/commits/{ref}/status",
	"GET /repos/{owner}/{repo}/commits/{ref}/check-runs",
	"POST /repos/{owner}/{repo}/statuses/{sha}",
	"POST /repos/{owner}/{repo}/check-runs",
	"PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}",
	"GET /repos/{owner}/{repo}/compare/{basehead}",

	"GET /repos/{owner}/{repo}/git/ref/{ref}",
	"GET /repos/{owner}/{repo}/git/matching-refs/{ref}",
	"POST /repos/{owner}/{repo}/git/refs",
	"PATCH /repos/{owner}/{repo}/git/refs/{ref}",
	"DELETE /repos/{owner}/{repo}/git/refs/{ref}",
	"POST /repos/{owner}/{repo}/git/blobs",
	"GET /repos/{owner}/{repo}/git/blobs/{file_sha}",
	"POST /repos/{owner}/{repo}/git/trees",
	"GET /repos/{owner}/{repo}/git/trees/{tree_sha}",
	"POST /repos/{owner}/{repo}/git/commits",
	"GET /repos/{owner}/{repo}/git/commits/{commit_sha}",

	"GET /repos/{owner}/{repo}/contents/{path}",
	"PUT /repos/{owner}/{repo}/contents/{path}",

	"GET /repos/{owner}/{repo}/pulls",
	"POST /repos/{owner}/{repo}/pulls",
	"GET /repos/{owner}/{repo}/pulls/{pull_number}",
	"PATCH /repos/{owner}/{repo}/pulls/{pull_number}",
	"PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge",
	"GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews",
	"POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews",
	"POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
	"PUT /repos/{owner}/{repo}/pulls/{pull_number}/update-branch",

	"GET /repos/{owner}/{repo}/issues/{issue_number}/comments",
	"POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
	"GET /repos/{owner}/{repo}/issues/{issue_number}/labels",
	"POST /repos/{owner}/{repo}/issues/{issue_number}/labels",
	"DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}",

	"GET /repos/{owner}/{repo}/deployments",
	"POST /repos/{owner}/{repo}/deployments",
	"GET /repos/{owner}/{repo}/deployments/{deployment_id}",
	"GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
	"POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses",

	"GET /repos/{owner}/{repo}/rulesets",
	"POST /repos/{owner}/{repo}/rulesets",
	"GET /repos/{owner}/{repo}/rulesets/{ruleset_id}",
	"PUT /repos/{owner}/{repo}/rulesets/{ruleset_id}",
	"DELETE /repos/{owner}/{repo}/rulesets/{ruleset_id}",
	"GET /repos/{owner}/{repo}/rules/branches/{branch}",
}
