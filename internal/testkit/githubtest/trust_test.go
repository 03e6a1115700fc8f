package githubtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

// The attacker's world of issue #13: GitHub Apps with installation tokens,
// who may write what, who may bypass which ruleset, and whose check counts.

const (
	ciAppID    = 101 // the infra CI workflow's app: reports "validate"
	botAppID   = 202 // open-infra-pr's app
	otherAppID = 303 // some other app installed on the repository
)

func apps(t *testing.T, srv *githubtest.Server) {
	t.Helper()
	ok(t, srv.AddApp(ciAppID, "infra-ci"))
	ok(t, srv.AddApp(botAppID, "infra-bot"))
	ok(t, srv.AddApp(otherAppID, "lookalike"))
}

// apiErr returns the *github.ErrorResponse of err, failing without one.
func apiErr(t *testing.T, err error) *github.ErrorResponse {
	t.Helper()
	var er *github.ErrorResponse
	if !errorsAs(err, &er) {
		t.Fatalf("want an API error, got %v", err)
	}
	return er
}

func TestAppTokenPermissions(t *testing.T) {
	t.Parallel()
	srv, gh, main := setup(t)
	apps(t, srv)
	ok(t, srv.CreateRepo(githubtest.RepoConfig{Owner: owner, Name: "secret", Private: true, AutoInit: true}))
	ok(t, srv.CreateRepo(githubtest.RepoConfig{Owner: owner, Name: "open", AutoInit: true}))
	feature := commit(t, srv, "feature", map[string]string{"f": "f"})
	pr, _, err := gh.PullRequests.Create(ctx, owner, repo, &github.NewPullRequest{Title: github.String("f"), Head: github.String("feature"), Base: github.String("main")})
	ok(t, err)
	// Only checks:read and statuses:read, on acme/app and acme/secret.
	ok(t, srv.AddAppToken("ghs_reader", ciAppID, githubtest.Permissions{"checks": githubtest.Read, "statuses": githubtest.Read}, "acme/app", "acme/secret"))
	reader := client(t, srv, "ghs_reader")
	ok(t, srv.AddAppToken("ghs_writer", botAppID, githubtest.Permissions{"contents": githubtest.Write, "pull_requests": githubtest.Write}, "acme/app", "acme/open"))
	writer := client(t, srv, "ghs_writer")

	// Allowed by the permissions.
	_, _, err = reader.Checks.ListCheckRunsForRef(ctx, owner, repo, main, nil)
	ok(t, err)
	_, _, err = reader.Repositories.Get(ctx, owner, repo) // metadata: read, always
	ok(t, err)
	_, _, err = writer.Git.CreateRef(ctx, owner, repo, &github.Reference{Ref: github.String("refs/heads/by-app"), Object: &github.GitObject{SHA: github.String(main)}})
	ok(t, err)

	refusals := []struct {
		name     string
		call     func() error
		status   int
		msg      string
		accepted string
	}{
		{"status without statuses:write", func() error {
			_, _, err := reader.Repositories.CreateStatus(ctx, owner, repo, main, &github.RepoStatus{State: github.String("success"), Context: github.String("validate")})
			return err
		}, 403, "Resource not accessible by integration", "statuses=write"},
		{"merge without contents:write", func() error {
			_, _, err := reader.PullRequests.Merge(ctx, owner, repo, pr.GetNumber(), "", nil)
			return err
		}, 403, "Resource not accessible by integration", "contents=write"},
		{"create pull without pull_requests:write", func() error {
			_, _, err := reader.PullRequests.Create(ctx, owner, repo, &github.NewPullRequest{Title: github.String("x"), Head: github.String("feature"), Base: github.String("main")})
			return err
		}, 403, "Resource not accessible by integration", "pull_requests=write"},
		{"ref write without contents:write", func() error {
			_, _, err := reader.Git.UpdateRef(ctx, owner, repo, &github.Reference{Ref: github.String("refs/heads/main"), Object: &github.GitObject{SHA: github.String(feature)}}, false)
			return err
		}, 403, "Resource not accessible by integration", "contents=write"},
		{"ruleset write without administration:write", func() error {
			_, _, err := writer.Repositories.CreateRuleset(ctx, owner, repo, &github.Ruleset{Name: "x", Enforcement: "active"})
			return err
		}, 403, "Resource not accessible by integration", "administration=write"},
		{"check runs without checks:read", func() error {
			_, _, err := writer.Checks.ListCheckRunsForRef(ctx, owner, repo, main, nil)
			return err
		}, 403, "Resource not accessible by integration", "checks=read"},
		{"private repository outside the installation", func() error {
			_, _, err := writer.Repositories.Get(ctx, owner, "secret")
			return err
		}, 404, "Not Found", ""},
		{"public repository outside the installation is read-only", func() error {
			_, _, err := reader.Git.CreateRef(ctx, owner, "open", &github.Reference{Ref: github.String("refs/heads/x"), Object: &github.GitObject{SHA: github.String(main)}})
			return err
		}, 403, "Resource not accessible by integration", ""},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			wantErr(t, err, tc.status, tc.msg)
			if got := apiErr(t, err).Response.Header.Get("X-Accepted-GitHub-Permissions"); got != tc.accepted {
				t.Fatalf("X-Accepted-GitHub-Permissions %q, want %q", got, tc.accepted)
			}
		})
	}
	// Git over smart HTTP: contents decides, the installation bounds it.
	bare := filepath.Join(srv.Dir(), owner, repo+".git")
	gitCases := []struct {
		name string
		args []string
		want string
	}{
		{"git push without contents:write", []string{"push", srv.CloneURL(owner, repo, "ghs_reader"), "main:refs/heads/x"}, "403"},
		{"git fetch of an installed private repository without contents:read", []string{"ls-remote", srv.CloneURL(owner, "secret", "ghs_reader")}, "not found"},
		{"git fetch of a private repository outside the installation", []string{"ls-remote", srv.CloneURL(owner, "secret", "ghs_writer")}, "not found"},
	}
	for _, tc := range gitCases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := git(t, bare, tc.args...)
			if err == nil || !strings.Contains(out, tc.want) {
				t.Fatalf("want failure containing %q, got %v: %s", tc.want, err, out)
			}
		})
	}
	mustGit(t, bare, "push", "--quiet", srv.CloneURL(owner, repo, "ghs_writer"), "main:refs/heads/pushed-by-app")
	// Bad registrations name what is wrong.
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"unknown app", srv.AddAppToken("t1", 999, nil), "app 999 is not registered"},
		{"unknown permission", srv.AddAppToken("t2", ciAppID, githubtest.Permissions{"secrets": githubtest.Write}), `permission "secrets" is not one of`},
		{"admin level", srv.AddAppToken("t3", ciAppID, githubtest.Permissions{"contents": githubtest.Admin}), "want read or write"},
		{"bad repository", srv.AddAppToken("t4", ciAppID, nil, "acme"), `repository "acme" is not owner/name`},
		{"bad app", srv.AddApp(0, "x"), "want a positive id"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, tc.err, tc.want)
		}
	}
}

func TestAPICommitAuthorship(t *testing.T) {
	t.Parallel()
	srv, _, main := setup(t)
	apps(t, srv)
	ok(t, srv.AddAppToken("ghs_bot", botAppID, githubtest.Permissions{"contents": githubtest.Write, "pull_requests": githubtest.Write}))
	srv.AddToken("ann-token", "ann", githubtest.Write)
	botID := srv.UserID("infra-bot[bot]")
	tests := []struct {
		token, login, email string
		verified            bool
	}{
		{"ghs_bot", "infra-bot[bot]", fmt.Sprintf("%d+infra-bot[bot]@users.noreply.github.com", botID), true},
		{"ann-token", "ann", fmt.Sprintf("%d+ann@users.noreply.github.com", srv.UserID("ann")), false},
	}
	for _, tc := range tests {
		t.Run(tc.login, func(t *testing.T) {
			gh := client(t, srv, tc.token)
			tree, _, err := gh.Git.GetTree(ctx, owner, repo, main, false)
			ok(t, err)
			// Git Data API.
			c, _, err := gh.Git.CreateCommit(ctx, owner, repo, &github.Commit{Message: github.String("by " + tc.login), Tree: &github.Tree{SHA: tree.SHA}, Parents: []*github.Commit{{SHA: github.String(main)}}}, nil)
			ok(t, err)
			if c.GetAuthor().GetName() != tc.login || c.GetAuthor().GetEmail() != tc.email || c.GetCommitter().GetName() != tc.login ||
				c.GetVerification().GetVerified() != tc.verified {
				t.Fatalf("git commit author %+v committer %+v verified %v", c.GetAuthor(), c.GetCommitter(), c.GetVerification().GetVerified())
			}
			rc, _, err := gh.Repositories.GetCommit(ctx, owner, repo, c.GetSHA(), nil)
			ok(t, err)
			if rc.GetAuthor().GetLogin() != tc.login || rc.GetCommit().GetVerification().GetVerified() != tc.verified {
				t.Fatalf("GET commit: author.login %q verified %v", rc.GetAuthor().GetLogin(), rc.GetCommit().GetVerification().GetVerified())
			}
			// Contents API.
			branch := "by-" + strings.TrimSuffix(tc.login, "[bot]")
			_, _, err = gh.Git.CreateRef(ctx, owner, repo, &github.Reference{Ref: github.String("refs/heads/" + branch), Object: &github.GitObject{SHA: github.String(main)}})
			ok(t, err)
			put, _, err := gh.Repositories.CreateFile(ctx, owner, repo, "x.txt", &github.RepositoryContentFileOptions{Message: github.String("x"), Content: []byte("x"), Branch: github.String(branch)})
			ok(t, err)
			if put.Commit.GetAuthor().GetEmail() != tc.email || put.Commit.GetVerification().GetVerified() != tc.verified {
				t.Fatalf("contents commit author %+v verified %v", put.Commit.GetAuthor(), put.Commit.GetVerification().GetVerified())
			}
			if got := srv.LastPusher(owner, repo, branch); got != tc.login {
				t.Fatalf("LastPusher(%s) = %q, want %q", branch, got, tc.login)
			}
			// The pull request's user is its creator.
			p, _, err := gh.PullRequests.Create(ctx, owner, repo, &github.NewPullRequest{Title: github.String("x"), Head: github.String(branch), Base: github.String("main")})
			ok(t, err)
			got, _, err := gh.PullRequests.Get(ctx, owner, repo, p.GetNumber())
			ok(t, err)
			if got.GetUser().GetLogin() != tc.login {
				t.Fatalf("pull user %q", got.GetUser().GetLogin())
			}
		})
	}
}

// clone clones acme/app with token into a new directory.
func clone(t *testing.T, srv *githubtest.Server, token string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "app")
	mustGit(t, filepath.Dir(dir), "clone", "--quiet", srv.CloneURL(owner, repo, token), dir)
	return dir
}

func commitLocal(t *testing.T, dir, file string) string {
	t.Helper()
	ok(t, os.WriteFile(filepath.Join(dir, file), []byte(file+"\n"), 0o644))
	mustGit(t, dir, "add", ".")
	mustGit(t, dir, "commit", "--quiet", "-m", "add "+file)
	return mustGit(t, dir, "rev-parse", "HEAD")
}

func TestPushRulesets(t *testing.T) {
	t.Parallel()
	srv, _, main := setup(t)
	apps(t, srv)
	commit(t, srv, "dev", map[string]string{"d": "d"})
	commit(t, srv, "linear", map[string]string{"l": "l"})
	commit(t, srv, "release", map[string]string{"r": "r"})
	// Ruleset A protects main (PR required); the bot's app may always
	// bypass A, and only A. Ruleset B applies to every branch.
	_, err := srv.AddRuleset(owner, repo, fmt.Sprintf(`{"name":"A","target":"branch","enforcement":"active",
		"bypass_actors":[{"actor_id":%d,"actor_type":"Integration","bypass_mode":"always"},{"actor_id":%d,"actor_type":"Integration","bypass_mode":"pull_request"}],
		"conditions":{"ref_name":{"include":["~DEFAULT_BRANCH"],"exclude":[]}},"rules":[{"type":"pull_request"}]}`, botAppID, otherAppID))
	ok(t, err)
	_, err = srv.AddRuleset(owner, repo, `{"name":"B","target":"branch","enforcement":"active",
		"conditions":{"ref_name":{"include":["~ALL"],"exclude":[]}},"rules":[{"type":"non_fast_forward"},{"type":"deletion"}]}`)
	ok(t, err)
	_, err = srv.AddRuleset(owner, repo, `{"name":"C","target":"branch","enforcement":"active",
		"conditions":{"ref_name":{"include":["refs/heads/linear","refs/heads/locked/**"],"exclude":[]}},"rules":[{"type":"required_linear_history"},{"type":"creation"}]}`)
	ok(t, err)
	perms := githubtest.Permissions{"contents": githubtest.Write}
	ok(t, srv.AddAppToken("ghs_bot", botAppID, perms))
	ok(t, srv.AddAppToken("ghs_other", otherAppID, perms))
	srv.AddToken("dev-token", "mallory", githubtest.Write)

	type push struct {
		name, token string
		prepare     func(t *testing.T, dir string) []string // returns push args
		refused     []string                                // in git's output; nil = accepted
	}
	gh013 := func(ref string, rules ...string) []string {
		out := []string{"remote: error: GH013: Repository rule violations found for " + ref + ".",
			"remote: Review all repository rules at " + srv.URL + "/acme/app/rules?ref=" + strings.ReplaceAll(ref, "/", "%2F"),
			"(push declined due to repository rule violations)"}
		for _, r := range rules {
			out = append(out, "remote: - "+r)
		}
		return out
	}
	pushes := []push{
		{"direct push to main", "dev-token", func(t *testing.T, dir string) []string {
			commitLocal(t, dir, "direct")
			return []string{"origin", "HEAD:main"}
		}, gh013("refs/heads/main", "Changes must be made through a pull request.")},
		{"atomic: an allowed ref in the same push is refused too", "dev-token", func(t *testing.T, dir string) []string {
			commitLocal(t, dir, "two")
			return []string{"origin", "HEAD:refs/heads/new-feature", "HEAD:main"}
		}, gh013("refs/heads/main")},
		{"pull_request bypass mode does not cover pushes", "ghs_other", func(t *testing.T, dir string) []string {
			commitLocal(t, dir, "other")
			return []string{"origin", "HEAD:main"}
		}, gh013("refs/heads/main", "Changes must be made through a pull request.")},
		{"bypass of A is not bypass of B", "ghs_bot", func(t *testing.T, dir string) []string {
			mustGit(t, dir, "reset", "--quiet", "--hard", "HEAD~0")
			mustGit(t, dir, "commit", "--quiet", "--amend", "-m", "rewritten")
			return []string{"--force", "origin", "HEAD:main"}
		}, gh013("refs/heads/main", "Cannot force-push to this branch")},
		{"deletion", "dev-token", func(t *testing.T, dir string) []string {
			return []string{"origin", ":release"}
		}, gh013("refs/heads/release", "Cannot delete this branch")},
		{"force push", "dev-token", func(t *testing.T, dir string) []string {
			mustGit(t, dir, "fetch", "--quiet", "origin", "dev")
			mustGit(t, dir, "checkout", "--quiet", "-B", "dev", "origin/dev")
			mustGit(t, dir, "commit", "--quiet", "--amend", "-m", "rewrite dev")
			return []string{"--force", "origin", "HEAD:dev"}
		}, gh013("refs/heads/dev", "Cannot force-push to this branch")},
		{"merge commit on a linear branch", "dev-token", func(t *testing.T, dir string) []string {
			mustGit(t, dir, "fetch", "--quiet", "origin", "linear")
			mustGit(t, dir, "checkout", "--quiet", "-B", "linear", "origin/linear")
			mustGit(t, dir, "checkout", "--quiet", "-B", "side", "origin/main")
			commitLocal(t, dir, "side")
			mustGit(t, dir, "checkout", "--quiet", "linear")
			mustGit(t, dir, "merge", "--quiet", "--no-ff", "-m", "merge side", "side")
			return []string{"origin", "HEAD:linear"}
		}, gh013("refs/heads/linear", "This branch must not contain merge commits.")},
		{"creation restricted", "dev-token", func(t *testing.T, dir string) []string {
			return []string{"origin", "HEAD:refs/heads/locked/x"}
		}, gh013("refs/heads/locked/x", "Cannot create ref due to creations being restricted.")},
		// Accepted pushes.
		{"fast-forward to an unprotected branch", "dev-token", func(t *testing.T, dir string) []string {
			mustGit(t, dir, "fetch", "--quiet", "origin", "dev")
			mustGit(t, dir, "checkout", "--quiet", "-B", "dev", "origin/dev")
			commitLocal(t, dir, "ff")
			return []string{"origin", "HEAD:dev"}
		}, nil},
		{"linear push to the linear branch", "dev-token", func(t *testing.T, dir string) []string {
			mustGit(t, dir, "fetch", "--quiet", "origin", "linear")
			mustGit(t, dir, "checkout", "--quiet", "-B", "linear", "origin/linear")
			commitLocal(t, dir, "lin")
			return []string{"origin", "HEAD:linear"}
		}, nil},
		{"the app that always bypasses A pushes to main", "ghs_bot", func(t *testing.T, dir string) []string {
			commitLocal(t, dir, "bot")
			return []string{"origin", "HEAD:main"}
		}, nil},
	}
	// One clone; each case starts from the server's main and pushes with
	// its own token.
	dir := clone(t, srv, githubtest.DefaultToken)
	for _, tc := range pushes {
		t.Run(tc.name, func(t *testing.T) {
			before, err := srv.Refs(owner, repo)
			ok(t, err)
			mustGit(t, dir, "fetch", "--quiet", "--prune", "origin")
			mustGit(t, dir, "checkout", "--quiet", "--force", "-B", "work", "origin/main")
			args := tc.prepare(t, dir)
			for i, a := range args {
				if a == "origin" {
					args[i] = srv.CloneURL(owner, repo, tc.token)
				}
			}
			out, err := git(t, dir, append([]string{"push"}, args...)...)
			after, err2 := srv.Refs(owner, repo)
			ok(t, err2)
			if tc.refused == nil {
				if err != nil {
					t.Fatalf("push refused: %v\n%s", err, out)
				}
				return
			}
			if err == nil {
				t.Fatalf("push accepted:\n%s", out)
			}
			for _, want := range tc.refused {
				if !strings.Contains(out, want) {
					t.Fatalf("git output lacks %q:\n%s", want, out)
				}
			}
			if fmt.Sprint(before) != fmt.Sprint(after) {
				t.Fatalf("a refused push changed refs:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
	if got, _ := srv.Refs(owner, repo); got["refs/heads/main"] == main {
		t.Fatal("the bypassing app's push did not land")
	}
	// Who pushed last, per branch; refused pushes leave no trace.
	for branch, want := range map[string]string{"main": "infra-bot[bot]", "dev": "mallory", "linear": "mallory", "new-feature": "", "release": ""} {
		if got := srv.LastPusher(owner, repo, branch); got != want {
			t.Errorf("LastPusher(%s) = %q, want %q", branch, got, want)
		}
	}
}

// A crowd of writers pushes to protected main at once: every push is
// refused, main never moves, and no pushed object leaks into the repository.
func TestPushRulesetsCrowd(t *testing.T) {
	t.Parallel()
	srv, _, main := setup(t)
	_, err := srv.AddRuleset(owner, repo, `{"name":"main","target":"branch","enforcement":"active",
		"conditions":{"ref_name":{"include":["~DEFAULT_BRANCH"],"exclude":[]}},"rules":[{"type":"pull_request"},{"type":"non_fast_forward"}]}`)
	ok(t, err)
	const n = 6
	var wg sync.WaitGroup
	errs := make(chan string, n)
	shas := make([]string, n)
	for i := 0; i < n; i++ {
		token := fmt.Sprintf("w%d", i)
		srv.AddToken(token, "writer"+token, githubtest.Write)
		dir := clone(t, srv, token)
		shas[i] = commitLocal(t, dir, token)
		wg.Add(1)
		go func(dir string, force bool) {
			defer wg.Done()
			args := []string{"push", "origin", "HEAD:main"}
			if force {
				args = append(args, "--force")
			}
			if out, err := git(t, dir, args...); err == nil || !strings.Contains(out, "GH013") {
				errs <- fmt.Sprintf("push not refused: %v\n%s", err, out)
			}
		}(dir, i%2 == 0)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	refs, err := srv.Refs(owner, repo)
	ok(t, err)
	if refs["refs/heads/main"] != main {
		t.Fatalf("main moved to %s", refs["refs/heads/main"])
	}
	for _, sha := range shas {
		if _, err := git(t, srv.Dir(), "--git-dir", filepath.Join(srv.Dir(), owner, repo+".git"), "cat-file", "-e", sha); err == nil {
			t.Fatalf("refused commit %s is in the repository", sha)
		}
	}
}

func requiredCheckRuleset(t *testing.T, srv *githubtest.Server, integrationID int64) {
	t.Helper()
	_, err := srv.AddRuleset(owner, repo, fmt.Sprintf(`{"name":"checks","target":"branch","enforcement":"active",
		"conditions":{"ref_name":{"include":["~DEFAULT_BRANCH"],"exclude":[]}},
		"rules":[{"type":"required_status_checks","parameters":{"strict_required_status_checks_policy":false,
		"required_status_checks":[{"context":"validate","integration_id":%d}]}}]}`, integrationID))
	ok(t, err)
}

func TestRequiredCheckBoundToApp(t *testing.T) {
	t.Parallel()
	srv, gh, _ := setup(t)
	apps(t, srv)
	requiredCheckRuleset(t, srv, ciAppID)
	checks := githubtest.Permissions{"checks": githubtest.Write, "statuses": githubtest.Write}
	ok(t, srv.AddAppToken("ghs_ci", ciAppID, checks))
	ok(t, srv.AddAppToken("ghs_other", otherAppID, checks))
	ci, other := client(t, srv, "ghs_ci"), client(t, srv, "ghs_other")
	head := commit(t, srv, "feature", map[string]string{"f": "f"})
	pr, _, err := gh.PullRequests.Create(ctx, owner, repo, &github.NewPullRequest{Title: github.String("f"), Head: github.String("feature"), Base: github.String("main")})
	ok(t, err)
	merge := func() error {
		_, _, err := gh.PullRequests.Merge(ctx, owner, repo, pr.GetNumber(), "", nil)
		return err
	}
	success := &github.RepoStatus{State: github.String("success"), Context: github.String("validate")}

	// Forgeries: a user's status, another app's status and check run.
	_, _, err = gh.Repositories.CreateStatus(ctx, owner, repo, head, success)
	ok(t, err)
	_, _, err = other.Repositories.CreateStatus(ctx, owner, repo, head, success)
	ok(t, err)
	fake, _, err := other.Checks.CreateCheckRun(ctx, owner, repo, github.CreateCheckRunOptions{Name: "validate", HeadSHA: head, Conclusion: github.String("success")})
	ok(t, err)
	if fake.GetApp().GetID() != otherAppID || fake.GetStatus() != "completed" {
		t.Fatalf("check run %+v", fake)
	}
	wantErr(t, merge(), 405, `Required status check "validate" is expected.`)
	// Users cannot create check runs at all; an app cannot rewrite another's.
	_, _, err = gh.Checks.CreateCheckRun(ctx, owner, repo, github.CreateCheckRunOptions{Name: "validate", HeadSHA: head})
	wantErr(t, err, 403, "You must authenticate via a GitHub App.")
	_, _, err = ci.Checks.UpdateCheckRun(ctx, owner, repo, fake.GetID(), github.UpdateCheckRunOptions{Name: "validate", Conclusion: github.String("failure")})
	wantErr(t, err, 403, "Resource not accessible by integration")

	// Bad check runs are refused, naming what is wrong.
	_, _, err = ci.Checks.CreateCheckRun(ctx, owner, repo, github.CreateCheckRunOptions{Name: "validate", HeadSHA: strings.Repeat("0", 40)})
	wantErr(t, err, 422, "No commit found for SHA")
	_, _, err = ci.Checks.CreateCheckRun(ctx, owner, repo, github.CreateCheckRunOptions{Name: "validate", HeadSHA: head, Status: github.String("completed")})
	wantErr(t, err, 422, "conclusion is required")
	_, _, err = ci.Checks.UpdateCheckRun(ctx, owner, repo, 987654, github.UpdateCheckRunOptions{Name: "validate", Conclusion: github.String("success")})
	wantErr(t, err, 404, "Not Found")

	// The expected app: queued, then failure, then success.
	run, _, err := ci.Checks.CreateCheckRun(ctx, owner, repo, github.CreateCheckRunOptions{Name: "validate", HeadSHA: head, Status: github.String("in_progress")})
	ok(t, err)
	wantErr(t, merge(), 405, `Required status check "validate" is in_progress.`)
	_, _, err = ci.Checks.UpdateCheckRun(ctx, owner, repo, run.GetID(), github.UpdateCheckRunOptions{Name: "validate", Conclusion: github.String("failure")})
	ok(t, err)
	wantErr(t, merge(), 405, `Required status check "validate" is failure.`)
	_, _, err = ci.Checks.UpdateCheckRun(ctx, owner, repo, run.GetID(), github.UpdateCheckRunOptions{Name: "validate", Conclusion: github.String("success")})
	ok(t, err)

	// The list names each run's app and paginates.
	reader := client(t, srv, "ghs_ci")
	page, resp, err := reader.Checks.ListCheckRunsForRef(ctx, owner, repo, head, &github.ListCheckRunsOptions{ListOptions: github.ListOptions{PerPage: 1}})
	ok(t, err)
	if page.GetTotal() != 2 || len(page.CheckRuns) != 1 || resp.NextPage != 2 || !strings.Contains(resp.Header.Get("Link"), `rel="next"`) {
		t.Fatalf("page 1: total %d, %d runs, next %d", page.GetTotal(), len(page.CheckRuns), resp.NextPage)
	}
	ids := map[int64]bool{page.CheckRuns[0].GetApp().GetID(): true}
	page, _, err = reader.Checks.ListCheckRunsForRef(ctx, owner, repo, head, &github.ListCheckRunsOptions{ListOptions: github.ListOptions{PerPage: 1, Page: 2}})
	ok(t, err)
	ids[page.CheckRuns[0].GetApp().GetID()] = true
	if !ids[ciAppID] || !ids[otherAppID] {
		t.Fatalf("apps on the runs: %v", ids)
	}
	// filter=latest (default) hides the ci app's replaced runs; all shows them.
	_, _, err = ci.Checks.CreateCheckRun(ctx, owner, repo, github.CreateCheckRunOptions{Name: "validate", HeadSHA: head, Conclusion: github.String("success")})
	ok(t, err)
	latest, _, err := reader.Checks.ListCheckRunsForRef(ctx, owner, repo, head, &github.ListCheckRunsOptions{AppID: github.Int64(ciAppID)})
	ok(t, err)
	every, _, err := reader.Checks.ListCheckRunsForRef(ctx, owner, repo, head, &github.ListCheckRunsOptions{AppID: github.Int64(ciAppID), Filter: github.String("all")})
	ok(t, err)
	if latest.GetTotal() != 1 || every.GetTotal() != 2 {
		t.Fatalf("ci runs: latest %d, all %d", latest.GetTotal(), every.GetTotal())
	}
	ok(t, merge())
}

func TestOnHeadReportsCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		conclusion string // "" = the workflow never reports
		delay      time.Duration
		want       string // merge error; "" = merges
	}{
		{"validate reports success after 200ms", "success", 200 * time.Millisecond, ""},
		{"validate reports failure", "failure", 0, `Required status check "validate" is failure.`},
		{"validate never reports", "", 0, `Required status check "validate" is expected.`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, _, _ := setup(t)
			apps(t, srv)
			requiredCheckRuleset(t, srv, ciAppID)
			ok(t, srv.AddAppToken("ghs_bot", botAppID, githubtest.Permissions{"contents": githubtest.Write, "pull_requests": githubtest.Write, "checks": githubtest.Read}))
			bot := client(t, srv, "ghs_bot")
			var mu sync.Mutex
			seen := map[string]int{}
			done := make(chan string, 10)
			srv.OnHead(owner, repo, func(pr int, sha string) {
				mu.Lock()
				seen[sha]++
				mu.Unlock()
				time.Sleep(tc.delay)
				if tc.conclusion != "" {
					if err := srv.ReportCheck(owner, repo, sha, "validate", ciAppID, tc.conclusion); err != nil {
						t.Error(err)
					}
				}
				done <- sha
			})
			commit(t, srv, "feature", map[string]string{"f": "f"})
			pr, _, err := bot.PullRequests.Create(ctx, owner, repo, &github.NewPullRequest{Title: github.String("f"), Head: github.String("feature"), Base: github.String("main")})
			ok(t, err)
			first := <-done
			if first != pr.GetHead().GetSHA() {
				t.Fatalf("hook got %s, head is %s", first, pr.GetHead().GetSHA())
			}
			// A new head (API write to the head branch) is reported again.
			put, _, err := bot.Repositories.CreateFile(ctx, owner, repo, "g", &github.RepositoryContentFileOptions{Message: github.String("g"), Content: []byte("g"), Branch: github.String("feature")})
			ok(t, err)
			second := <-done
			if second != put.Commit.GetSHA() {
				t.Fatalf("hook got %s after the update, want %s", second, put.Commit.GetSHA())
			}
			heads := 2
			if tc.conclusion == "success" {
				// A git push to the head branch is a new head too.
				dir := clone(t, srv, githubtest.DefaultToken)
				mustGit(t, dir, "checkout", "--quiet", "feature")
				pushed := commitLocal(t, dir, "pushed")
				mustGit(t, dir, "push", "--quiet", "origin", "feature")
				if third := <-done; third != pushed {
					t.Fatalf("hook got %s after the push, want %s", third, pushed)
				}
				heads = 3
			}
			_, _, err = bot.PullRequests.Merge(ctx, owner, repo, pr.GetNumber(), "", nil)
			if tc.want != "" {
				wantErr(t, err, 405, tc.want)
			} else {
				ok(t, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) != heads || seen[first] != 1 || seen[second] != 1 {
				t.Fatalf("each head once: %v", seen)
			}
		})
	}
	// Bad input names what is wrong.
	srv, _, main := setup(t)
	apps(t, srv)
	for _, tc := range []struct {
		err  error
		want string
	}{
		{srv.ReportCheck(owner, repo, main, "validate", ciAppID, "great"), `conclusion "great" is not one of`},
		{srv.ReportCheck(owner, repo, main, "validate", 0, "success"), "appID is required"},
		{srv.ReportCheck(owner, repo, main, "validate", 999, "success"), "app 999 is not registered"},
		{srv.ReportCheck(owner, repo, "main", "validate", ciAppID, "success"), `"main" is not a commit SHA`},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("got %v, want %q", tc.err, tc.want)
		}
	}
}

func TestBypassActorsHidden(t *testing.T) {
	t.Parallel()
	srv, _, _ := setup(t)
	apps(t, srv)
	id, err := srv.AddRuleset(owner, repo, fmt.Sprintf(`{"name":"main","target":"branch","enforcement":"active",
		"bypass_actors":[{"actor_id":%d,"actor_type":"Integration","bypass_mode":"pull_request"}],
		"conditions":{"ref_name":{"include":["~DEFAULT_BRANCH"],"exclude":[]}},"rules":[{"type":"deletion"}]}`, botAppID))
	ok(t, err)
	srv.AddToken("admin", "ada", githubtest.Admin)
	srv.AddToken("reader", "rita", githubtest.Read)
	ok(t, srv.AddAppToken("ghs_admin", botAppID, githubtest.Permissions{"administration": githubtest.Write}))
	ok(t, srv.AddAppToken("ghs_audit", ciAppID, githubtest.Permissions{"administration": githubtest.Read}))
	for _, tc := range []struct {
		token string
		sees  bool
	}{
		{"admin", true}, {"ghs_admin", true},
		{githubtest.DefaultToken, false}, {"reader", false}, {"ghs_audit", false},
	} {
		t.Run(tc.token, func(t *testing.T) {
			req, err := http.NewRequest("GET", fmt.Sprintf("%s/repos/%s/%s/rulesets/%d", srv.APIURL(), owner, repo, id), nil)
			ok(t, err)
			req.Header.Set("Authorization", "Bearer "+tc.token)
			resp, err := http.DefaultClient.Do(req)
			ok(t, err)
			defer resp.Body.Close()
			var body map[string]json.RawMessage
			ok(t, json.NewDecoder(resp.Body).Decode(&body))
			actors, has := body["bypass_actors"]
			if resp.StatusCode != 200 || has != tc.sees || (tc.sees && !strings.Contains(string(actors), fmt.Sprint(botAppID))) {
				t.Fatalf("status %d, bypass_actors present %v (%s), want present %v", resp.StatusCode, has, actors, tc.sees)
			}
		})
	}
}

// The SOC 2 control: only the bot may skip the approval (its app bypasses
// the pull_request ruleset at merge), never the required check (another
// ruleset it is not an actor of); and a pull_request-mode bypass is no
// licence for direct ref writes through the API.
func TestBypassIsPerRulesetAtMerge(t *testing.T) {
	t.Parallel()
	srv, _, main := setup(t)
	apps(t, srv)
	_, err := srv.AddRuleset(owner, repo, fmt.Sprintf(`{"name":"review","target":"branch","enforcement":"active",
		"bypass_actors":[{"actor_id":%d,"actor_type":"Integration","bypass_mode":"pull_request"}],
		"conditions":{"ref_name":{"include":["~DEFAULT_BRANCH"],"exclude":[]}},
		"rules":[{"type":"pull_request","parameters":{"required_approving_review_count":1,"dismiss_stale_reviews_on_push":true,
		"require_code_owner_review":false,"require_last_push_approval":false,"required_review_thread_resolution":false}},{"type":"deletion"}]}`, botAppID))
	ok(t, err)
	requiredCheckRuleset(t, srv, ciAppID)
	perms := githubtest.Permissions{"contents": githubtest.Write, "pull_requests": githubtest.Write}
	ok(t, srv.AddAppToken("ghs_bot", botAppID, perms))
	ok(t, srv.AddAppToken("ghs_other", otherAppID, perms))
	bot, other := client(t, srv, "ghs_bot"), client(t, srv, "ghs_other")
	head := commit(t, srv, "feature", map[string]string{"f": "f"})
	pr, _, err := bot.PullRequests.Create(ctx, owner, repo, &github.NewPullRequest{Title: github.String("f"), Head: github.String("feature"), Base: github.String("main")})
	ok(t, err)
	merge := func(gh *github.Client) error {
		_, _, err := gh.PullRequests.Merge(ctx, owner, repo, pr.GetNumber(), "", nil)
		return err
	}

	// The bot skips the review but not the check.
	err = merge(bot)
	wantErr(t, err, 405, `Required status check "validate" is expected.`)
	if strings.Contains(err.Error(), "approving review") {
		t.Fatalf("the bot's bypass of the review ruleset was not applied: %v", err)
	}
	// pull_request mode is not a licence for direct writes.
	_, _, err = bot.Git.UpdateRef(ctx, owner, repo, &github.Reference{Ref: github.String("refs/heads/main"), Object: &github.GitObject{SHA: github.String(head)}}, false)
	wantErr(t, err, 422, "Changes must be made through a pull request.")
	_, err = bot.Git.DeleteRef(ctx, owner, repo, "heads/main")
	wantErr(t, err, 422, "Cannot delete this branch")

	ok(t, srv.ReportCheck(owner, repo, head, "validate", ciAppID, "success"))
	// Another app is no bypass actor: it still needs the approval.
	wantErr(t, merge(other), 405, "At least 1 approving review is required")
	ok(t, merge(bot))
	refs, err := srv.Refs(owner, repo)
	ok(t, err)
	if refs["refs/heads/main"] == main {
		t.Fatal("main did not move")
	}
}

// A crowd forges the required check at once — users' statuses, a
// lookalike app's statuses and check runs, in any order — while the
// expected app reports failure: the merge stays blocked until the expected
// app itself reports success.
func TestRequiredCheckCrowd(t *testing.T) {
	t.Parallel()
	srv, gh, _ := setup(t)
	apps(t, srv)
	requiredCheckRuleset(t, srv, ciAppID)
	checks := githubtest.Permissions{"checks": githubtest.Write, "statuses": githubtest.Write}
	ok(t, srv.AddAppToken("ghs_ci", ciAppID, checks))
	ok(t, srv.AddAppToken("ghs_other", otherAppID, checks))
	head := commit(t, srv, "feature", map[string]string{"f": "f"})
	pr, _, err := gh.PullRequests.Create(ctx, owner, repo, &github.NewPullRequest{Title: github.String("f"), Head: github.String("feature"), Base: github.String("main")})
	ok(t, err)
	const n = 24
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var err error
			switch i % 4 {
			case 0:
				_, _, err = client(t, srv, githubtest.DefaultToken).Repositories.CreateStatus(ctx, owner, repo, head, &github.RepoStatus{State: github.String("success"), Context: github.String("validate")})
			case 1:
				_, _, err = client(t, srv, "ghs_other").Repositories.CreateStatus(ctx, owner, repo, head, &github.RepoStatus{State: github.String("success"), Context: github.String("validate")})
			case 2:
				_, _, err = client(t, srv, "ghs_other").Checks.CreateCheckRun(ctx, owner, repo, github.CreateCheckRunOptions{Name: "validate", HeadSHA: head, Conclusion: github.String("success")})
			case 3:
				_, _, err = client(t, srv, "ghs_ci").Checks.CreateCheckRun(ctx, owner, repo, github.CreateCheckRunOptions{Name: "validate", HeadSHA: head, Conclusion: github.String("failure")})
			}
			if err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	_, _, err = gh.PullRequests.Merge(ctx, owner, repo, pr.GetNumber(), "", nil)
	wantErr(t, err, 405, `Required status check "validate" is failure.`)
	ok(t, srv.ReportCheck(owner, repo, head, "validate", ciAppID, "success"))
	_, _, err = gh.PullRequests.Merge(ctx, owner, repo, pr.GetNumber(), "", nil)
	ok(t, err)
}
