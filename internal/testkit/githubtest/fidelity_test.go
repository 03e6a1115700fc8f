package githubtest_test

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

// Issue #15: behaviours where the local GitHub was more lenient than GitHub.

func TestFidelityMergeMethodSettings(t *testing.T) {
	t.Parallel()
	no := false
	for _, tc := range []struct {
		name    string
		cfg     githubtest.RepoConfig
		refused string // method refused
		message string
	}{
		{"no merge commits", githubtest.RepoConfig{AllowMergeCommit: &no}, "merge", "Merge commits are not allowed on this repository."},
		{"no squash", githubtest.RepoConfig{AllowSquashMerge: &no}, "squash", "Squash merges are not allowed on this repository."},
		{"no rebase", githubtest.RepoConfig{AllowRebaseMerge: &no}, "rebase", "Rebase merges are not allowed on this repository."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := githubtest.New(t)
			cfg := tc.cfg
			cfg.Owner, cfg.Name = owner, repo
			ok(t, srv.CreateRepo(cfg))
			commit(t, srv, "main", map[string]string{"README.md": "hi\n"})
			gh := client(t, srv, githubtest.DefaultToken)
			r, _, err := gh.Repositories.Get(ctx, owner, repo)
			ok(t, err)
			got := map[string]bool{"merge": r.GetAllowMergeCommit(), "squash": r.GetAllowSquashMerge(), "rebase": r.GetAllowRebaseMerge()}
			for m, allowed := range got {
				if allowed != (m != tc.refused) {
					t.Fatalf("GET repo: %s allowed=%v", m, allowed)
				}
			}
			if r.DeleteBranchOnMerge == nil || r.GetDeleteBranchOnMerge() {
				t.Fatalf("delete_branch_on_merge %v, want false", r.DeleteBranchOnMerge)
			}
			commit(t, srv, "feature", map[string]string{"f.txt": "f\n"})
			pr := newPR(t, gh, "feature", "main")
			// The attacker case: a writer asking for the disallowed method.
			_, _, err = gh.PullRequests.Merge(ctx, owner, repo, pr.GetNumber(), "", &github.PullRequestOptions{MergeMethod: tc.refused})
			wantErr(t, err, http.StatusMethodNotAllowed, tc.message)
			if refs, _ := srv.Refs(owner, repo); refs["refs/heads/main"] == pr.GetHead().GetSHA() {
				t.Fatal("refused merge moved main")
			}
			for m := range got {
				if m == tc.refused {
					continue
				}
				_, _, err = gh.PullRequests.Merge(ctx, owner, repo, pr.GetNumber(), "", &github.PullRequestOptions{MergeMethod: m})
				ok(t, err)
				break
			}
		})
	}
	t.Run("none allowed", func(t *testing.T) {
		srv := githubtest.New(t)
		err := srv.CreateRepo(githubtest.RepoConfig{Owner: owner, Name: repo, AllowMergeCommit: &no, AllowSquashMerge: &no, AllowRebaseMerge: &no})
		if err == nil {
			t.Fatal("CreateRepo accepted a repository with no merge method")
		}
	})
}

func TestFidelityDeleteBranchOnMerge(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		on       bool
		stacked  bool // another open PR targets the head branch
		wantGone bool
	}{
		{"off keeps the head", false, false, false},
		{"on deletes the head", true, false, true},
		{"on keeps a head other PRs target", true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := githubtest.New(t)
			ok(t, srv.CreateRepo(githubtest.RepoConfig{Owner: owner, Name: repo, DeleteBranchOnMerge: tc.on}))
			commit(t, srv, "main", map[string]string{"README.md": "hi\n"})
			gh := client(t, srv, githubtest.DefaultToken)
			r, _, err := gh.Repositories.Get(ctx, owner, repo)
			ok(t, err)
			if r.GetDeleteBranchOnMerge() != tc.on {
				t.Fatalf("delete_branch_on_merge %v", r.GetDeleteBranchOnMerge())
			}
			commit(t, srv, "feature", map[string]string{"f.txt": "f\n"})
			pr := newPR(t, gh, "feature", "main")
			if tc.stacked {
				commit(t, srv, "on-top", map[string]string{"f.txt": "f\n"})
				ok(t, srv.SetRef(owner, repo, "refs/heads/on-top", commit(t, srv, "feature", map[string]string{"g.txt": "g\n"})))
				commit(t, srv, "on-top", map[string]string{"h.txt": "h\n"})
				newPR(t, gh, "on-top", "feature")
			}
			_, _, err = gh.PullRequests.Merge(ctx, owner, repo, pr.GetNumber(), "", nil)
			ok(t, err)
			refs, err := srv.Refs(owner, repo)
			ok(t, err)
			if _, kept := refs["refs/heads/feature"]; kept == tc.wantGone {
				t.Fatalf("head branch kept=%v, want deleted=%v", kept, tc.wantGone)
			}
		})
	}
}

// strictRuleset requires the "validate" status and, when strict, an
// up-to-date head.
func strictRuleset(strict bool) string {
	return `{"name":"checks","target":"branch","enforcement":"active",
		"conditions":{"ref_name":{"include":["~DEFAULT_BRANCH"],"exclude":[]}},
		"rules":[{"type":"required_status_checks","parameters":{"strict_required_status_checks_policy":` + strconv.FormatBool(strict) + `,
		"required_status_checks":[{"context":"validate"}]}}]}`
}

func mergeState(t *testing.T, gh *github.Client, n int) string {
	t.Helper()
	// The first GET after a change may still be computing.
	for i := 0; i < 5; i++ {
		pr, _, err := gh.PullRequests.Get(ctx, owner, repo, n)
		ok(t, err)
		if st := pr.GetMergeableState(); st != "unknown" || pr.GetState() != "open" {
			return st
		}
	}
	t.Fatal("mergeable_state stays unknown")
	return ""
}

func green(t *testing.T, gh *github.Client, sha string) {
	t.Helper()
	_, _, err := gh.Repositories.CreateStatus(ctx, owner, repo, sha, &github.RepoStatus{State: github.String("success"), Context: github.String("validate")})
	ok(t, err)
}

func TestFidelityStrictStatusChecks(t *testing.T) {
	t.Parallel()
	for _, strict := range []bool{true, false} {
		t.Run("strict="+strconv.FormatBool(strict), func(t *testing.T) {
			t.Parallel()
			srv, gh, _ := setup(t)
			_, err := srv.AddRuleset(owner, repo, strictRuleset(strict))
			ok(t, err)
			commit(t, srv, "feature", map[string]string{"f.txt": "f\n"})
			pr := newPR(t, gh, "feature", "main")
			if st := mergeState(t, gh, pr.GetNumber()); st != "blocked" {
				t.Fatalf("without the check: %q, want blocked", st)
			}
			green(t, gh, pr.GetHead().GetSHA())
			if st := mergeState(t, gh, pr.GetNumber()); st != "clean" {
				t.Fatalf("green and up to date: %q, want clean", st)
			}
			commit(t, srv, "main", map[string]string{"m.txt": "m\n"}) // base moves on
			st := mergeState(t, gh, pr.GetNumber())
			_, _, err = gh.PullRequests.Merge(ctx, owner, repo, pr.GetNumber(), "", nil)
			if !strict {
				if st != "clean" {
					t.Fatalf("behind without strict: %q, want clean", st)
				}
				ok(t, err)
				return
			}
			if st != "behind" {
				t.Fatalf("behind with strict: %q, want behind", st)
			}
			wantErr(t, err, http.StatusMethodNotAllowed, "Repository rule violations found")
			wantErr(t, err, http.StatusMethodNotAllowed, "the branch must be up to date")
			// update-branch brings it up to date; the new head needs its check.
			_, _, err = gh.PullRequests.UpdateBranch(ctx, owner, repo, pr.GetNumber(), nil)
			wantErr(t, err, http.StatusAccepted, "")
			snap, err := srv.PullRequest(owner, repo, pr.GetNumber())
			ok(t, err)
			if st := mergeState(t, gh, pr.GetNumber()); st != "blocked" {
				t.Fatalf("updated, check pending: %q, want blocked", st)
			}
			green(t, gh, snap.HeadSHA)
			if st := mergeState(t, gh, pr.GetNumber()); st != "clean" {
				t.Fatalf("updated and green: %q, want clean", st)
			}
			_, _, err = gh.PullRequests.Merge(ctx, owner, repo, pr.GetNumber(), "", nil)
			ok(t, err)
		})
	}
}

func TestFidelityMergeableStates(t *testing.T) {
	t.Parallel()
	srv, gh, _ := setup(t)
	commit(t, srv, "clean", map[string]string{"c.txt": "c\n"})
	commit(t, srv, "dirty", map[string]string{"README.md": "theirs\n"})
	commit(t, srv, "draft", map[string]string{"d.txt": "d\n"})
	commit(t, srv, "main", map[string]string{"README.md": "ours\n"})
	for _, tc := range []struct{ head, want string }{{"clean", "clean"}, {"dirty", "dirty"}, {"draft", "draft"}} {
		pr, _, err := gh.PullRequests.Create(ctx, owner, repo, &github.NewPullRequest{Title: github.String(tc.head),
			Head: github.String(tc.head), Base: github.String("main"), Draft: github.Bool(tc.head == "draft")})
		ok(t, err)
		if st := mergeState(t, gh, pr.GetNumber()); st != tc.want {
			t.Fatalf("%s: mergeable_state %q, want %q", tc.head, st, tc.want)
		}
	}
}

const lastPushRuleset = `{"name":"review","target":"branch","enforcement":"active",
	"conditions":{"ref_name":{"include":["~DEFAULT_BRANCH"],"exclude":[]}},
	"rules":[{"type":"pull_request","parameters":{"required_approving_review_count":1,"dismiss_stale_reviews_on_push":false,
	"require_code_owner_review":false,"require_last_push_approval":true,"required_review_thread_resolution":false}}]}`

func TestFidelityLastPushApproval(t *testing.T) {
	t.Parallel()
	push := func(t *testing.T, gh *github.Client, file string) {
		t.Helper()
		_, _, err := gh.Repositories.CreateFile(ctx, owner, repo, file, &github.RepositoryContentFileOptions{
			Message: github.String("add " + file), Content: []byte(file), Branch: github.String("feature")})
		ok(t, err)
	}
	approve := func(t *testing.T, gh *github.Client, n int) {
		t.Helper()
		_, _, err := gh.PullRequests.CreateReview(ctx, owner, repo, n, &github.PullRequestReviewRequest{Event: github.String("APPROVE")})
		ok(t, err)
	}
	for _, tc := range []struct {
		name  string
		steps func(t *testing.T, srv *githubtest.Server, alice, bob *github.Client, n int)
		want  bool // mergeable
	}{
		{"someone else approves the last push", func(t *testing.T, srv *githubtest.Server, alice, bob *github.Client, n int) {
			approve(t, alice, n)
		}, true},
		{"the pusher approves their own push", func(t *testing.T, srv *githubtest.Server, alice, bob *github.Client, n int) {
			approve(t, bob, n)
		}, false},
		{"an approval from before the last push", func(t *testing.T, srv *githubtest.Server, alice, bob *github.Client, n int) {
			approve(t, alice, n)
			push(t, bob, "late.txt")
		}, false},
		{"re-approved after the last push", func(t *testing.T, srv *githubtest.Server, alice, bob *github.Client, n int) {
			approve(t, alice, n)
			push(t, bob, "late.txt")
			approve(t, alice, n)
		}, true},
		// The attacker: the approver slips in a commit and approves again.
		{"the approver pushes and re-approves", func(t *testing.T, srv *githubtest.Server, alice, bob *github.Client, n int) {
			approve(t, alice, n)
			push(t, alice, "sneaky.txt")
			approve(t, alice, n)
		}, false},
		{"the approver pushes over git smart HTTP", func(t *testing.T, srv *githubtest.Server, alice, bob *github.Client, n int) {
			approve(t, alice, n)
			gitPush(t, srv, "alice-token")
			approve(t, alice, n)
		}, false},
		{"someone else approves a smart HTTP push", func(t *testing.T, srv *githubtest.Server, alice, bob *github.Client, n int) {
			gitPush(t, srv, "bob-token")
			approve(t, alice, n)
		}, true},
		{"update-branch is a push by its caller", func(t *testing.T, srv *githubtest.Server, alice, bob *github.Client, n int) {
			if _, err := srv.CommitFiles(owner, repo, "main", map[string]string{"m.txt": "m"}, "m"); err != nil {
				t.Fatal(err)
			}
			_, _, err := alice.PullRequests.UpdateBranch(ctx, owner, repo, n, nil)
			wantErr(t, err, http.StatusAccepted, "")
			approve(t, alice, n)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, bot, main := setup(t)
			srv.AddToken("alice-token", "alice", githubtest.Write)
			srv.AddToken("bob-token", "bob", githubtest.Write)
			alice, bob := client(t, srv, "alice-token"), client(t, srv, "bob-token")
			_, _, err := bob.Git.CreateRef(ctx, owner, repo, &github.Reference{Ref: github.String("refs/heads/feature"), Object: &github.GitObject{SHA: github.String(main)}})
			ok(t, err)
			push(t, bob, "f.txt")
			pr := newPR(t, bot, "feature", "main")
			// Added after the setup so alice may still write to main.
			_, err = srv.AddRuleset(owner, repo, lastPushRuleset)
			ok(t, err)
			tc.steps(t, srv, alice, bob, pr.GetNumber())
			_, _, err = bot.PullRequests.Merge(ctx, owner, repo, pr.GetNumber(), "", nil)
			if tc.want {
				ok(t, err)
				return
			}
			wantErr(t, err, http.StatusMethodNotAllowed, "The most recent push must be approved by someone other than the person who pushed it.")
		})
	}
}

// gitPush adds a commit to feature over git smart HTTP as token's user.
func gitPush(t *testing.T, srv *githubtest.Server, token string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "app")
	mustGit(t, filepath.Dir(dir), "clone", "--quiet", "--branch", "feature", srv.CloneURL(owner, repo, token), dir)
	ok(t, os.WriteFile(filepath.Join(dir, "git.txt"), []byte(token+"\n"), 0o644))
	mustGit(t, dir, "add", ".")
	mustGit(t, dir, "commit", "--quiet", "-m", "over smart HTTP")
	mustGit(t, dir, "push", "--quiet", "origin", "HEAD:feature")
}

func TestFidelityDeploymentsAutoInactive(t *testing.T) {
	t.Parallel()
	srv, gh, _ := setup(t)
	deploy := func(env string, production, transient bool) int64 {
		d, _, err := gh.Repositories.CreateDeployment(ctx, owner, repo, &github.DeploymentRequest{
			Ref: github.String("main"), Environment: github.String(env), AutoMerge: github.Bool(false), RequiredContexts: &[]string{},
			ProductionEnvironment: github.Bool(production), TransientEnvironment: github.Bool(transient)})
		ok(t, err)
		_, _, err = gh.Repositories.CreateDeploymentStatus(ctx, owner, repo, d.GetID(), &github.DeploymentStatusRequest{State: github.String("success")})
		ok(t, err)
		return d.GetID()
	}
	last := func(id int64) string {
		sts, _, err := gh.Repositories.ListDeploymentStatuses(ctx, owner, repo, id, nil)
		ok(t, err)
		return sts[0].GetState() // newest first
	}
	for _, tc := range []struct {
		env                   string
		production, transient bool
		wantOld               string
	}{
		{"staging", false, false, "inactive"},
		{"production", true, false, "success"},
		{"review-app", false, true, "success"},
	} {
		old := deploy(tc.env, tc.production, tc.transient)
		other := deploy("elsewhere-"+tc.env, false, false)
		deploy(tc.env, tc.production, tc.transient)
		if got := last(old); got != tc.wantOld {
			t.Errorf("%s: earlier deployment %q, want %q", tc.env, got, tc.wantOld)
		}
		if got := last(other); got != "success" {
			t.Errorf("%s: other environment's deployment %q, want success", tc.env, got)
		}
	}
	_ = srv
}

func TestFidelitySecondaryRateLimit(t *testing.T) {
	t.Parallel()
	status := func(gh *github.Client, sha string, i int) error {
		_, _, err := gh.Repositories.CreateStatus(ctx, owner, repo, sha, &github.RepoStatus{State: github.String("success"), Context: github.String("c" + strconv.Itoa(i))})
		return err
	}
	t.Run("windows", func(t *testing.T) {
		t.Parallel()
		srv, gh, main := setup(t)
		srv.AddToken("other", "otto", githubtest.Write)
		other := client(t, srv, "other")
		var mu sync.Mutex
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
		srv.EnforceSecondaryLimits(githubtest.SecondaryLimits{PerMinute: 3, PerHour: 5, Clock: clock})
		for i := 0; i < 3; i++ {
			ok(t, status(gh, main, i))
			_, _, err := gh.Repositories.Get(ctx, owner, repo) // reads do not count
			ok(t, err)
		}
		err := status(gh, main, 3)
		var abuse *github.AbuseRateLimitError
		if !errors.As(err, &abuse) || abuse.Response.StatusCode != http.StatusForbidden || abuse.RetryAfter == nil || *abuse.RetryAfter != time.Minute {
			t.Fatalf("4th write in a minute: %v (retry after %v), want 403 secondary limit, Retry-After 60", err, abuse)
		}
		if abuse.Message != "You have exceeded a secondary rate limit. Please wait a few minutes before you try again." {
			t.Fatalf("message %q", abuse.Message)
		}
		ok(t, status(other, main, 0)) // per token
		advance(61 * time.Second)
		// go-github remembers a secondary limit per client in real time:
		// a new client stands for the caller having waited.
		gh = client(t, srv, githubtest.DefaultToken)
		ok(t, status(gh, main, 4))
		ok(t, status(gh, main, 5))
		err = status(gh, main, 6) // 5 in the hour
		if !errors.As(err, &abuse) || abuse.RetryAfter == nil || *abuse.RetryAfter != time.Hour-61*time.Second {
			t.Fatalf("6th write in an hour: %v, want Retry-After %v", err, time.Hour-61*time.Second)
		}
		advance(time.Hour)
		gh = client(t, srv, githubtest.DefaultToken)
		ok(t, status(gh, main, 7))
		srv.EnforceSecondaryLimits(githubtest.SecondaryLimits{})
		for i := 0; i < 10; i++ {
			ok(t, status(gh, main, 100+i))
		}
	})
	t.Run("crowd", func(t *testing.T) {
		t.Parallel()
		srv, gh, main := setup(t)
		srv.EnforceSecondaryLimits(githubtest.SecondaryLimits{PerMinute: 10})
		var wg sync.WaitGroup
		var passed, limited atomic.Int64
		for i := 0; i < 30; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var abuse *github.AbuseRateLimitError
				switch err := status(gh, main, i); {
				case err == nil:
					passed.Add(1)
				case errors.As(err, &abuse):
					limited.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if passed.Load() != 10 || limited.Load() != 20 {
			t.Fatalf("30 concurrent writes, limit 10/min: %d passed, %d limited", passed.Load(), limited.Load())
		}
	})
}

// A crowd merging at once into one base with delete_branch_on_merge: every
// merge lands (after GitHub's "Base branch was modified" retries) and every
// head branch is gone, none deleted before its own merge.
func TestFidelityDeleteBranchOnMergeCrowd(t *testing.T) {
	t.Parallel()
	const n = 6
	srv := githubtest.New(t)
	ok(t, srv.CreateRepo(githubtest.RepoConfig{Owner: owner, Name: repo, DeleteBranchOnMerge: true}))
	commit(t, srv, "main", map[string]string{"README.md": "hi\n"})
	gh := client(t, srv, githubtest.DefaultToken)
	var numbers []int
	for i := 0; i < n; i++ {
		b := "crowd-" + strconv.Itoa(i)
		commit(t, srv, b, map[string]string{b + ".txt": b})
		numbers = append(numbers, newPR(t, gh, b, "main").GetNumber())
	}
	var wg sync.WaitGroup
	for _, num := range numbers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for try := 0; try < 3*n; try++ {
				_, _, err := gh.PullRequests.Merge(ctx, owner, repo, num, "", &github.PullRequestOptions{MergeMethod: "squash"})
				if err == nil {
					return
				}
				var er *github.ErrorResponse
				if !errors.As(err, &er) || er.Message != "Base branch was modified. Review and try the merge again." {
					t.Errorf("merge #%d: %v", num, err)
					return
				}
			}
			t.Errorf("merge #%d never landed", num)
		}()
	}
	wg.Wait()
	refs, err := srv.Refs(owner, repo)
	ok(t, err)
	for i := 0; i < n; i++ {
		b := "crowd-" + strconv.Itoa(i)
		if _, kept := refs["refs/heads/"+b]; kept {
			t.Errorf("%s not deleted after its merge", b)
		}
		if _, err := srv.ReadFile(owner, repo, "main", b+".txt"); err != nil {
			t.Errorf("%s's change missing from main: %v", b, err)
		}
	}
}
