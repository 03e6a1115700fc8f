package openinfrapr

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

// readmePermissions is the README's permission table for a clean dev bump
// that waits for a required check: a GitHub App installation token on the
// app and infra repos. The test below proves the table is enough, and that
// each line of it is needed, with a one-line error naming what is missing.
var readmePermissions = githubtest.Permissions{
	"contents":      githubtest.Write, // infra: the branch and the file; app: compare
	"pull_requests": githubtest.Write, // infra: the PR and its merge
	"checks":        githubtest.Read,  // infra: the required check's runs
	"statuses":      githubtest.Read,  // infra: a required check reported as a commit status
}

func TestReadmePermissions(t *testing.T) {
	const appID, token = 777, "ghs_permissionsTest000000000000000000"
	run := func(t *testing.T, perms githubtest.Permissions) (map[string]string, string, error) {
		w := newWorld(t)
		_, err := w.srv.AddRuleset("acme", "infra", crowdRuleset) // requires "validate", any source
		must(t, err)
		must(t, w.srv.AddApp(appID, "pipeline"))
		must(t, w.srv.AddAppToken(token, appID, perms, "acme/app", "acme/infra"))
		// The infra repo's validate reports as a commit status on each head.
		ci, err := github.NewClient(nil).WithAuthToken(githubtest.DefaultToken).WithEnterpriseURLs(w.srv.APIURL(), w.srv.APIURL())
		must(t, err)
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			seen := map[string]bool{}
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				for _, pr := range w.pulls(t) {
					if pr.State == "open" && !seen[pr.HeadSHA] {
						seen[pr.HeadSHA] = true
						_, _, _ = ci.Repositories.CreateStatus(context.Background(), "acme", "infra", pr.HeadSHA, &github.RepoStatus{State: github.String("success"), Context: github.String("validate")})
					}
				}
			}
		}()
		return w.run(t, "INPUT_GITHUB_TOKEN="+token, "INPUT_MERGE_TIMEOUT=20s")
	}
	t.Run("the table is enough", func(t *testing.T) {
		out, log, err := run(t, readmePermissions)
		if err != nil || out["operation"] != "merged" {
			t.Fatalf("%v %v\n%s", err, out, log)
		}
	})
	for name := range readmePermissions {
		t.Run("without "+name, func(t *testing.T) {
			perms := githubtest.Permissions{}
			for k, v := range readmePermissions {
				if k != name {
					perms[k] = v
				}
			}
			_, log, err := run(t, perms)
			if err == nil || !strings.Contains(err.Error(), name+"=") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line naming the missing %s permission\n%s", err, name, log)
			}
		})
	}
}
