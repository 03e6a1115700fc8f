// This file needs internal/githubtest's GitHub App identities and
// integration_id binding (AddApp, AddAppToken, ReportCheck), which come with
// the fake-trust branch. Delete the build line above once it is merged; it
// passes on rulesets+fake-trust (go test -tags fake_trust ./rulesets/).

package rulesets

import (
	"context"
	"net/http"
	"strings"
	"testing"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

// TestPresetsBindTheBotAndTheCheck: with real App identities, the presets
// let the bot skip the approval but never the check, and a status that a
// writer posts under the check's name does not count.
func TestPresetsBindTheBotAndTheCheck(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	const appBot, appActions = 4242, 15368
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.srv.AddApp(appBot, "cicd-bot"))
	must(f.srv.AddApp(appActions, "github-actions"))
	must(f.srv.AddAppToken("ghs_bot", appBot, githubtest.Permissions{"contents": githubtest.Write, "pull_requests": githubtest.Write}, "acme/app"))
	f.srv.AddToken(malloryToken, "mallory", githubtest.Write)
	res := f.run(t, "INPUT_COMMAND=apply", "INPUT_PRESET=default, bot-branches, hotfixes", "INPUT_REQUIRED_CHECKS=validate", "INPUT_BYPASS_APP_ID=4242")
	if res.Err != nil {
		t.Fatalf("apply: %v\n%s", res.Err, res.Log)
	}
	mallory, bot := f.client(t, malloryToken), f.client(t, "ghs_bot")
	open := func(branch string) (int, string) {
		// From main as it is now: the required checks are strict, so a
		// branch behind main cannot merge.
		refs, _ := f.srv.Refs("acme", "app")
		must(f.srv.SetRef("acme", "app", "refs/heads/"+branch, refs["refs/heads/main"]))
		head, err := f.srv.CommitFiles("acme", "app", branch, map[string]string{branch + ".txt": "x"}, branch)
		must(err)
		pr, _, err := mallory.PullRequests.Create(ctx, "acme", "app", &gh.NewPullRequest{Title: gh.String(branch), Head: gh.String(branch), Base: gh.String("main")})
		must(err)
		return pr.GetNumber(), head
	}
	merge := func(c *gh.Client, n int) error {
		_, _, err := c.PullRequests.Merge(ctx, "acme", "app", n, "", &gh.PullRequestOptions{MergeMethod: "squash"})
		return err
	}

	// Mallory, approved by a colleague, posts validate herself: not the bound App.
	n, head := open("feature/a")
	must(f.srv.Approve("acme", "app", n, "alice"))
	_, _, err := mallory.Repositories.CreateStatus(ctx, "acme", "app", head, &gh.RepoStatus{State: gh.String("success"), Context: gh.String("validate")})
	must(err)
	if err := merge(mallory, n); githubStatus(err) != http.StatusMethodNotAllowed || !strings.Contains(err.Error(), "validate") {
		t.Errorf("merge with a self-posted validate: %v", err)
	}
	// GitHub Actions reports it: now it merges.
	must(f.srv.ReportCheck("acme", "app", head, "validate", appActions, "success"))
	if err := merge(mallory, n); err != nil {
		t.Errorf("approved merge with validate from Actions: %v", err)
	}

	// The bot skips the approval, not the check.
	n, head = open("feature/b")
	if err := merge(bot, n); githubStatus(err) != http.StatusMethodNotAllowed || !strings.Contains(err.Error(), `"validate"`) || strings.Contains(err.Error(), "approving review") {
		t.Errorf("bot merge before validate: %v", err)
	}
	must(f.srv.ReportCheck("acme", "app", head, "validate", appActions, "success"))
	if err := merge(bot, n); err != nil {
		t.Errorf("bot merge after validate: %v", err)
	}

	// The bot owns its branches and creates hotfix branches; it cannot push to one.
	refs, _ := f.srv.Refs("acme", "app")
	main := refs["refs/heads/main"]
	for _, ref := range []string{"refs/heads/cicd-excellence/dev/0123456789ab", "refs/heads/hotfixes/x"} {
		if _, _, err := bot.Git.CreateRef(ctx, "acme", "app", refRef(ref, main)); err != nil {
			t.Errorf("bot creates %s: %v", ref, err)
		}
		if _, _, err := mallory.Git.CreateRef(ctx, "acme", "app", refRef(ref+"-m", main)); githubStatus(err) != http.StatusUnprocessableEntity {
			t.Errorf("mallory creates %s-m: %v", ref, err)
		}
	}
	sha, err := f.srv.CommitFiles("acme", "app", "feature/b", map[string]string{"c": "d"}, "c")
	must(err)
	if _, _, err := bot.Git.UpdateRef(ctx, "acme", "app", refRef("refs/heads/hotfixes/x", sha), false); githubStatus(err) != http.StatusUnprocessableEntity {
		t.Errorf("bot pushes to a hotfix branch: %v", err)
	}
}
