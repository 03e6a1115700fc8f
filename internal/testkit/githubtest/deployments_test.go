package githubtest_test

import (
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"
)

func TestDeployments(t *testing.T) {
	t.Parallel()
	srv, gh, main := setup(t)
	noMerge := github.Bool(false)
	d1, resp, err := gh.Repositories.CreateDeployment(ctx, owner, repo, &github.DeploymentRequest{
		Ref: github.String("main"), Environment: github.String("staging"), AutoMerge: noMerge,
		Payload: map[string]any{"version": "1.0"}, Description: github.String("first"),
		RequiredContexts: &[]string{}, TransientEnvironment: github.Bool(false),
	})
	ok(t, err)
	if resp.StatusCode != 201 || d1.GetSHA() != main || d1.GetEnvironment() != "staging" || d1.GetTask() != "deploy" ||
		d1.GetCreator().GetLogin() == "" || !strings.Contains(string(d1.Payload), `"version":"1.0"`) {
		t.Fatalf("deployment %d %+v", resp.StatusCode, d1)
	}
	d2, _, err := gh.Repositories.CreateDeployment(ctx, owner, repo, &github.DeploymentRequest{Ref: github.String(main), Environment: github.String("staging"), AutoMerge: noMerge})
	ok(t, err)
	prod, _, err := gh.Repositories.CreateDeployment(ctx, owner, repo, &github.DeploymentRequest{Ref: github.String("main"), AutoMerge: noMerge})
	ok(t, err)
	if prod.GetEnvironment() != "production" {
		t.Fatalf("default environment %q", prod.GetEnvironment())
	}
	_, _, err = gh.Repositories.CreateDeployment(ctx, owner, repo, &github.DeploymentRequest{Ref: github.String("ghost")})
	wantErr(t, err, 422, "No ref found for: ghost")

	// Required contexts: all statuses on the commit must be green.
	_, _, err = gh.Repositories.CreateStatus(ctx, owner, repo, main, &github.RepoStatus{State: github.String("failure"), Context: github.String("ci")})
	ok(t, err)
	_, _, err = gh.Repositories.CreateDeployment(ctx, owner, repo, &github.DeploymentRequest{Ref: github.String("main"), AutoMerge: noMerge})
	wantErr(t, err, 409, "Commit status checks failed for main")
	_, _, err = gh.Repositories.CreateDeployment(ctx, owner, repo, &github.DeploymentRequest{Ref: github.String("main"), AutoMerge: noMerge, RequiredContexts: &[]string{}})
	ok(t, err)

	// auto_merge: a branch behind the default branch gets it merged in (202).
	commit(t, srv, "topic", map[string]string{"t": "t"})
	commit(t, srv, "main", map[string]string{"m": "m"})
	_, resp, err = gh.Repositories.CreateDeployment(ctx, owner, repo, &github.DeploymentRequest{Ref: github.String("topic"), RequiredContexts: &[]string{}})
	wantErr(t, err, 202, "")
	if resp.StatusCode != 202 {
		t.Fatalf("auto-merge status %d", resp.StatusCode)
	}
	if _, err := srv.ReadFile(owner, repo, "topic", "m"); err != nil {
		t.Fatal("auto-merge did not merge main into topic")
	}

	st, resp, err := gh.Repositories.CreateDeploymentStatus(ctx, owner, repo, d1.GetID(), &github.DeploymentStatusRequest{
		State: github.String("success"), LogURL: github.String("https://ci.example/1"), EnvironmentURL: github.String("https://staging.example"),
	})
	ok(t, err)
	if resp.StatusCode != 201 || st.GetState() != "success" || st.GetTargetURL() != "https://ci.example/1" || st.GetEnvironmentURL() != "https://staging.example" {
		t.Fatalf("status %+v", st)
	}
	// d2 succeeding makes d1 (same environment) inactive; production is untouched.
	_, _, err = gh.Repositories.CreateDeploymentStatus(ctx, owner, repo, prod.GetID(), &github.DeploymentStatusRequest{State: github.String("success")})
	ok(t, err)
	_, _, err = gh.Repositories.CreateDeploymentStatus(ctx, owner, repo, d2.GetID(), &github.DeploymentStatusRequest{State: github.String("success")})
	ok(t, err)
	sts, _, err := gh.Repositories.ListDeploymentStatuses(ctx, owner, repo, d1.GetID(), nil)
	ok(t, err)
	if len(sts) != 2 || sts[0].GetState() != "inactive" || sts[1].GetState() != "success" {
		t.Fatalf("d1 statuses (newest first) %v", states(sts))
	}
	sts, _, err = gh.Repositories.ListDeploymentStatuses(ctx, owner, repo, prod.GetID(), nil)
	ok(t, err)
	if len(sts) != 1 {
		t.Fatalf("production statuses %v", states(sts))
	}
	_, _, err = gh.Repositories.CreateDeploymentStatus(ctx, owner, repo, d2.GetID(), &github.DeploymentStatusRequest{State: github.String("in_progress"), AutoInactive: github.Bool(false)})
	ok(t, err)

	list, _, err := gh.Repositories.ListDeployments(ctx, owner, repo, &github.DeploymentsListOptions{Environment: "staging"})
	ok(t, err)
	if len(list) != 2 || list[0].GetID() != d2.GetID() {
		t.Fatalf("staging deployments newest first: %v", list)
	}
	list, _, err = gh.Repositories.ListDeployments(ctx, owner, repo, &github.DeploymentsListOptions{SHA: main, Ref: "main"})
	ok(t, err)
	if len(list) != 3 {
		t.Fatalf("sha+ref filter: %d", len(list))
	}
	got, _, err := gh.Repositories.GetDeployment(ctx, owner, repo, d1.GetID())
	ok(t, err)
	if got.GetDescription() != "first" {
		t.Fatalf("get %+v", got)
	}
	_, _, err = gh.Repositories.GetDeployment(ctx, owner, repo, 999999)
	wantErr(t, err, 404, "Not Found")
	stored, err := srv.Deployments(owner, repo)
	ok(t, err)
	if len(stored) != 4 || strings.Join(stored[0].States, ",") != "success,inactive" {
		t.Fatalf("stored deployments %+v", stored)
	}
}

func states(sts []*github.DeploymentStatus) []string {
	var s []string
	for _, st := range sts {
		s = append(s, st.GetState())
	}
	return s
}

func TestCommitStatusesAndChecks(t *testing.T) {
	t.Parallel()
	srv, gh, main := setup(t)
	combined, _, err := gh.Repositories.GetCombinedStatus(ctx, owner, repo, "main", nil)
	ok(t, err)
	if combined.GetState() != "pending" || combined.GetTotalCount() != 0 {
		t.Fatalf("no statuses: %s %d", combined.GetState(), combined.GetTotalCount())
	}
	for _, s := range []struct{ state, ctx string }{{"pending", "ci"}, {"success", "ci"}, {"success", "lint"}} {
		st, resp, err := gh.Repositories.CreateStatus(ctx, owner, repo, main, &github.RepoStatus{State: github.String(s.state), Context: github.String(s.ctx), TargetURL: github.String("https://ci.example")})
		ok(t, err)
		if resp.StatusCode != 201 || st.GetState() != s.state {
			t.Fatalf("create status %+v", st)
		}
	}
	combined, _, err = gh.Repositories.GetCombinedStatus(ctx, owner, repo, "main", nil)
	ok(t, err)
	if combined.GetState() != "success" || combined.GetTotalCount() != 2 || combined.GetSHA() != main {
		t.Fatalf("combined %s %d", combined.GetState(), combined.GetTotalCount())
	}
	_, _, err = gh.Repositories.CreateStatus(ctx, owner, repo, main, &github.RepoStatus{State: github.String("error"), Context: github.String("lint")})
	ok(t, err)
	combined, _, err = gh.Repositories.GetCombinedStatus(ctx, owner, repo, main, nil)
	ok(t, err)
	if combined.GetState() != "failure" {
		t.Fatalf("combined after error %s", combined.GetState())
	}
	_, _, err = gh.Repositories.CreateStatus(ctx, owner, repo, "0123456789012345678901234567890123456789", &github.RepoStatus{State: github.String("success")})
	wantErr(t, err, 422, "No commit found for SHA")
	_, _, err = gh.Repositories.GetCombinedStatus(ctx, owner, repo, "ghost", nil)
	wantErr(t, err, 404, "No commit found")

	runs, _, err := gh.Checks.ListCheckRunsForRef(ctx, owner, repo, "main", nil)
	ok(t, err)
	if runs.GetTotal() != 0 || len(runs.CheckRuns) != 0 {
		t.Fatalf("check runs %+v", runs)
	}
	ok(t, srv.AddCheckRun(owner, repo, "main", checkRun("build", "completed", "success")))
	ok(t, srv.AddCheckRun(owner, repo, main, checkRun("e2e", "in_progress", "")))
	runs, _, err = gh.Checks.ListCheckRunsForRef(ctx, owner, repo, "main", nil)
	ok(t, err)
	if runs.GetTotal() != 2 || runs.CheckRuns[0].GetConclusion() != "success" || runs.CheckRuns[1].GetStatus() != "in_progress" || runs.CheckRuns[1].Conclusion != nil {
		t.Fatalf("check runs %+v", runs.CheckRuns)
	}
	runs, _, err = gh.Checks.ListCheckRunsForRef(ctx, owner, repo, "main", &github.ListCheckRunsOptions{CheckName: github.String("e2e")})
	ok(t, err)
	if runs.GetTotal() != 1 {
		t.Fatalf("check_name filter: %d", runs.GetTotal())
	}
}
