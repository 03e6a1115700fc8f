package githubtest_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

func TestRulesetsCRUD(t *testing.T) {
	t.Parallel()
	srv, gh, _ := setup(t)
	srv.AddToken("admin", "ada", githubtest.Admin)
	admin := client(t, srv, "admin")
	params := json.RawMessage(`{"required_approving_review_count":1,"dismiss_stale_reviews_on_push":false,"require_code_owner_review":false,"require_last_push_approval":false,"required_review_thread_resolution":false}`)
	rs := &github.Ruleset{
		Name: "protect main", Target: github.String("branch"), Enforcement: "active",
		Conditions: &github.RulesetConditions{RefName: &github.RulesetRefConditionParameters{Include: []string{"~DEFAULT_BRANCH"}, Exclude: []string{}}},
		Rules:      []*github.RepositoryRule{{Type: "pull_request", Parameters: &params}, {Type: "deletion"}},
	}
	_, _, err := gh.Repositories.CreateRuleset(ctx, owner, repo, rs)
	wantErr(t, err, 403, "Resource not accessible by integration") // write is not admin
	created, resp, err := admin.Repositories.CreateRuleset(ctx, owner, repo, rs)
	ok(t, err)
	if resp.StatusCode != 201 || created.GetID() == 0 || created.Source != "acme/app" || len(created.Rules) != 2 {
		t.Fatalf("created %d %+v", resp.StatusCode, created)
	}
	_, _, err = admin.Repositories.CreateRuleset(ctx, owner, repo, rs)
	wantErr(t, err, 422, "Name must be unique")

	list, _, err := gh.Repositories.GetAllRulesets(ctx, owner, repo, false)
	ok(t, err)
	if len(list) != 1 || list[0].Name != "protect main" || list[0].Rules != nil {
		t.Fatalf("list %+v", list)
	}
	got, _, err := gh.Repositories.GetRuleset(ctx, owner, repo, created.GetID(), false)
	ok(t, err)
	if len(got.Rules) != 2 || got.Conditions.RefName.Include[0] != "~DEFAULT_BRANCH" {
		t.Fatalf("get %+v", got)
	}
	rules, _, err := gh.Repositories.GetRulesForBranch(ctx, owner, repo, "main")
	ok(t, err)
	if len(rules) != 2 || rules[0].Type != "pull_request" {
		t.Fatalf("rules for main %+v", rules)
	}
	rules, _, err = gh.Repositories.GetRulesForBranch(ctx, owner, repo, "feature")
	ok(t, err)
	if len(rules) != 0 {
		t.Fatalf("rules for feature %+v", rules)
	}
	b, _, err := gh.Repositories.GetBranch(ctx, owner, repo, "main", 0)
	ok(t, err)
	if !b.GetProtected() {
		t.Fatal("main not reported protected")
	}

	updated, _, err := admin.Repositories.UpdateRuleset(ctx, owner, repo, created.GetID(), &github.Ruleset{Name: "renamed", Enforcement: "disabled"})
	ok(t, err)
	if updated.Name != "renamed" || updated.Enforcement != "disabled" || len(updated.Rules) != 2 {
		t.Fatalf("update must merge fields: %+v", updated)
	}
	_, err = admin.Repositories.DeleteRuleset(ctx, owner, repo, created.GetID())
	ok(t, err)
	_, _, err = gh.Repositories.GetRuleset(ctx, owner, repo, created.GetID(), false)
	wantErr(t, err, 404, "Not Found")
}

func TestRulesetEnforcement(t *testing.T) {
	t.Parallel()
	srv, gh, main := setup(t)
	srv.AddToken("bypass", "release-bot", githubtest.Write)
	ok(t, srv.SetBypass("bypass", true))
	bypass := client(t, srv, "bypass")
	srv.AddToken("reviewer", "rev", githubtest.Write)
	feature := commit(t, srv, "feature", map[string]string{"f": "f"})
	commit(t, srv, "side", map[string]string{"s": "s"})
	tree, _, err := gh.Git.GetTree(ctx, owner, repo, main, false)
	ok(t, err)
	root, _, err := gh.Git.CreateCommit(ctx, owner, repo, &github.Commit{Message: github.String("unrelated root"), Tree: tree}, nil)
	ok(t, err)
	side := root.GetSHA() // not a descendant of main: moving main there is a force-push
	_, err = srv.AddRuleset(owner, repo, `{
		"name": "main", "enforcement": "active", "target": "branch",
		"conditions": {"ref_name": {"include": ["refs/heads/main", "refs/heads/release/**"], "exclude": []}},
		"rules": [
			{"type": "pull_request", "parameters": {"required_approving_review_count": 1, "dismiss_stale_reviews_on_push": true,
				"require_code_owner_review": false, "require_last_push_approval": false, "required_review_thread_resolution": false}},
			{"type": "non_fast_forward"}, {"type": "deletion"},
			{"type": "required_status_checks", "parameters": {"strict_required_status_checks_policy": false, "required_status_checks": [{"context": "ci"}]}}
		]}`)
	ok(t, err)

	// Direct writes to main are rejected...
	_, _, err = gh.Git.UpdateRef(ctx, owner, repo, &github.Reference{Ref: github.String("heads/main"), Object: &github.GitObject{SHA: github.String(feature)}}, false)
	wantErr(t, err, 422, "Changes must be made through a pull request.")
	_, _, err = gh.Git.UpdateRef(ctx, owner, repo, &github.Reference{Ref: github.String("heads/main"), Object: &github.GitObject{SHA: github.String(side)}}, true)
	wantErr(t, err, 422, "Cannot force-push to this branch")
	_, err = gh.Git.DeleteRef(ctx, owner, repo, "heads/main")
	wantErr(t, err, 422, "Cannot delete this branch")
	_, _, err = gh.Repositories.CreateFile(ctx, owner, repo, "x.txt", &github.RepositoryContentFileOptions{Message: github.String("m"), Content: []byte("x")})
	wantErr(t, err, 409, "Repository rule violations found")
	// ...on matching branches only...
	_, _, err = gh.Git.CreateRef(ctx, owner, repo, &github.Reference{Ref: github.String("refs/heads/release/1/x"), Object: &github.GitObject{SHA: github.String(main)}})
	ok(t, err)
	_, _, err = gh.Git.UpdateRef(ctx, owner, repo, &github.Reference{Ref: github.String("heads/release/1/x"), Object: &github.GitObject{SHA: github.String(feature)}}, false)
	wantErr(t, err, 422, "Changes must be made through a pull request.")
	_, _, err = gh.Repositories.CreateFile(ctx, owner, repo, "x.txt", &github.RepositoryContentFileOptions{Message: github.String("m"), Content: []byte("x"), Branch: github.String("side")})
	ok(t, err)
	// ...unless the token is a bypass actor.
	_, _, err = bypass.Git.UpdateRef(ctx, owner, repo, &github.Reference{Ref: github.String("heads/main"), Object: &github.GitObject{SHA: github.String(feature)}}, false)
	ok(t, err)
	_, _, err = bypass.Repositories.UpdateFile(ctx, owner, repo, "f", &github.RepositoryContentFileOptions{Message: github.String("m"), Content: []byte("g"), SHA: github.String(blobSHA(t, gh, "f"))})
	ok(t, err)

	// Merges need an approval and a green "ci".
	head := commit(t, srv, "pr", map[string]string{"p": "p"})
	pr := newPR(t, gh, "pr", "main")
	_, _, err = gh.PullRequests.Merge(ctx, owner, repo, pr.GetNumber(), "", nil)
	wantErr(t, err, 405, "At least 1 approving review is required by reviewers with write access.")
	wantErr(t, err, 405, `Required status check "ci" is expected.`)
	got, _, err := gh.PullRequests.Get(ctx, owner, repo, pr.GetNumber())
	ok(t, err)
	if got.GetMergeableState() != "blocked" {
		t.Fatalf("mergeable_state %q, want blocked", got.GetMergeableState())
	}
	_, _, err = client(t, srv, "reviewer").PullRequests.CreateReview(ctx, owner, repo, pr.GetNumber(), &github.PullRequestReviewRequest{Event: github.String("APPROVE")})
	ok(t, err)
	_, _, err = gh.Repositories.CreateStatus(ctx, owner, repo, head, &github.RepoStatus{State: github.String("failure"), Context: github.String("ci")})
	ok(t, err)
	_, _, err = gh.PullRequests.Merge(ctx, owner, repo, pr.GetNumber(), "", nil)
	wantErr(t, err, 405, `Required status check "ci" is failure.`)
	// A push dismisses the stale approval (dismiss_stale_reviews_on_push).
	head = commit(t, srv, "pr", map[string]string{"p2": "p2"})
	ok(t, srv.AddCheckRun(owner, repo, head, checkRun("ci", "completed", "success")))
	_, _, err = gh.PullRequests.Merge(ctx, owner, repo, pr.GetNumber(), "", nil)
	wantErr(t, err, 405, "At least 1 approving review is required")
	ok(t, srv.Approve(owner, repo, pr.GetNumber(), "rev"))
	_, _, err = gh.PullRequests.Merge(ctx, owner, repo, pr.GetNumber(), "", &github.PullRequestOptions{MergeMethod: "squash"})
	ok(t, err)

	// Bypass actors merge without approvals.
	commit(t, srv, "hotfix", map[string]string{"h": "h"})
	hot := newPR(t, gh, "hotfix", "main")
	_, _, err = bypass.PullRequests.Merge(ctx, owner, repo, hot.GetNumber(), "", nil)
	ok(t, err)
}

func TestRulesetBypassActorsAndUnknownRules(t *testing.T) {
	t.Parallel()
	srv, gh, main := setup(t)
	srv.AddToken("ada", "ada", githubtest.Admin)
	srv.AddToken("bob", "bob", githubtest.Write)
	id, err := srv.AddRuleset(owner, repo, fmt.Sprintf(`{
		"name": "future", "enforcement": "active",
		"bypass_actors": [{"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"},
		                  {"actor_id": %d, "actor_type": "User", "bypass_mode": "pull_request"}],
		"conditions": {"ref_name": {"include": ["~ALL"], "exclude": ["refs/heads/scratch/*"]}},
		"rules": [{"type": "update"}, {"type": "copilot_teleport", "parameters": {"beam": "up"}}]}`, srv.UserID("bob")))
	ok(t, err)
	feature := commit(t, srv, "feature", map[string]string{"f": "f"})
	move := func(c *github.Client, branch string) error {
		_, _, err := c.Git.UpdateRef(ctx, owner, repo, &github.Reference{Ref: github.String("heads/" + branch), Object: &github.GitObject{SHA: github.String(feature)}}, true)
		return err
	}
	ok(t, srv.SetRef(owner, repo, "refs/heads/scratch/a", main))
	ok(t, move(gh, "scratch/a")) // excluded
	wantErr(t, move(gh, "main"), 422, "Cannot update this protected ref.")
	wantErr(t, move(client(t, srv, "bob"), "main"), 422, "Cannot update") // pull_request-only bypass
	ok(t, move(client(t, srv, "ada"), "main"))                            // admin role bypasses

	// The unknown rule type is stored and returned verbatim (go-github v60
	// itself cannot decode it, hence the raw request).
	var raw struct {
		Rules                []json.RawMessage `json:"rules"`
		CurrentUserCanBypass string            `json:"current_user_can_bypass"`
	}
	req, _ := gh.NewRequest("GET", fmt.Sprintf("repos/acme/app/rulesets/%d", id), nil)
	_, err = client(t, srv, "ada").Do(ctx, req, &raw)
	ok(t, err)
	if len(raw.Rules) != 2 || string(raw.Rules[1]) != `{"parameters":{"beam":"up"},"type":"copilot_teleport"}` && string(raw.Rules[1]) != `{"type":"copilot_teleport","parameters":{"beam":"up"}}` {
		t.Fatalf("rules %s", raw.Rules)
	}
	if raw.CurrentUserCanBypass != "always" {
		t.Fatalf("current_user_can_bypass %v", raw.CurrentUserCanBypass)
	}
}

func blobSHA(t *testing.T, gh *github.Client, path string) string {
	t.Helper()
	f, _, _, err := gh.Repositories.GetContents(ctx, owner, repo, path, nil)
	ok(t, err)
	return f.GetSHA()
}
