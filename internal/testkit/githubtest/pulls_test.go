package githubtest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

func newPR(t *testing.T, gh *github.Client, head, base string) *github.PullRequest {
	t.Helper()
	pr, _, err := gh.PullRequests.Create(ctx, owner, repo, &github.NewPullRequest{
		Title: github.String("PR " + head), Head: github.String(head), Base: github.String(base), Body: github.String("body"),
	})
	ok(t, err)
	return pr
}

func TestPullRequestLifecycle(t *testing.T) {
	t.Parallel()
	srv, gh, main := setup(t)
	head := commit(t, srv, "feature", map[string]string{"f.txt": "f\n"})
	ok(t, srv.SetRef(owner, repo, "refs/heads/same", main))

	pr, resp, err := gh.PullRequests.Create(ctx, owner, repo, &github.NewPullRequest{
		Title: github.String("Add f"), Head: github.String("acme:feature"), Base: github.String("main"), Draft: github.Bool(true),
	})
	ok(t, err)
	if resp.StatusCode != 201 || resp.Header.Get("Location") != pr.GetURL() || pr.GetNumber() != 1 ||
		pr.GetHead().GetSHA() != head || pr.GetBase().GetSHA() != main || pr.GetHead().GetRef() != "feature" ||
		pr.GetUser().GetLogin() != githubtest.DefaultLogin || !pr.GetDraft() || pr.Mergeable != nil ||
		pr.GetHTMLURL() != srv.URL+"/acme/app/pull/1" {
		t.Fatalf("created PR: %d %+v", resp.StatusCode, pr)
	}

	createErrors := []struct {
		name       string
		head, base string
		msg        string
	}{
		{"duplicate", "feature", "main", "A pull request already exists for acme:feature."},
		{"no commits", "same", "main", "No commits between main and same"},
		{"missing head", "ghost", "main", "Field:head"},
		{"missing base", "feature", "ghost", "Field:base"},
		{"fork head", "someone:feature", "main", "Field:head"},
	}
	for _, tc := range createErrors {
		t.Run("create "+tc.name, func(t *testing.T) {
			_, _, err := gh.PullRequests.Create(ctx, owner, repo, &github.NewPullRequest{Title: github.String("x"), Head: github.String(tc.head), Base: github.String(tc.base)})
			wantErr(t, err, 422, tc.msg)
		})
	}

	// Update: title, body, base, close and reopen.
	pr, _, err = gh.PullRequests.Edit(ctx, owner, repo, 1, &github.PullRequest{Title: github.String("Renamed"), Body: github.String("new body")})
	ok(t, err)
	if pr.GetTitle() != "Renamed" || pr.GetBody() != "new body" {
		t.Fatalf("edit: %+v", pr)
	}
	pr, _, err = gh.PullRequests.Edit(ctx, owner, repo, 1, &github.PullRequest{State: github.String("closed")})
	ok(t, err)
	if pr.GetState() != "closed" || pr.ClosedAt == nil {
		t.Fatalf("close: %+v", pr)
	}
	_ = newPR(t, gh, "feature", "main") // #2, allowed now #1 is closed
	_, _, err = gh.PullRequests.Edit(ctx, owner, repo, 1, &github.PullRequest{State: github.String("open")})
	wantErr(t, err, 422, "A pull request already exists for acme:feature.")
	_, _, err = gh.PullRequests.Edit(ctx, owner, repo, 2, &github.PullRequest{Base: &github.PullRequestBranch{Ref: github.String("ghost")}})
	wantErr(t, err, 422, "Field:base")
	_, _, err = gh.PullRequests.Get(ctx, owner, repo, 99)
	wantErr(t, err, 404, "Not Found")

	// Head follows the branch while open.
	newHead := commit(t, srv, "feature", map[string]string{"g.txt": "g\n"})
	pr, _, err = gh.PullRequests.Get(ctx, owner, repo, 2)
	ok(t, err)
	if pr.GetHead().GetSHA() != newHead || pr.GetCommits() != 2 || pr.GetChangedFiles() != 2 || pr.GetAdditions() != 2 {
		t.Fatalf("live head: %s commits %d files %d", pr.GetHead().GetSHA(), pr.GetCommits(), pr.GetChangedFiles())
	}
}

func TestListPullRequestsFiltersAndPaginates(t *testing.T) {
	t.Parallel()
	srv, gh, _ := setup(t)
	for i := 1; i <= 5; i++ {
		b := fmt.Sprintf("b%d", i)
		commit(t, srv, b, map[string]string{b: b})
		newPR(t, gh, b, "main")
	}
	commit(t, srv, "dev", map[string]string{"dev": "dev"})
	commit(t, srv, "on-dev", map[string]string{"od": "od"})
	newPR(t, gh, "on-dev", "dev") // #6
	_, _, err := gh.PullRequests.Edit(ctx, owner, repo, 1, &github.PullRequest{State: github.String("closed")})
	ok(t, err)

	numbers := func(prs []*github.PullRequest) string {
		var s []string
		for _, p := range prs {
			s = append(s, fmt.Sprint(p.GetNumber()))
		}
		return strings.Join(s, ",")
	}
	tests := []struct {
		name string
		opts github.PullRequestListOptions
		want string
	}{
		{"default open newest first", github.PullRequestListOptions{}, "6,5,4,3,2"},
		{"closed", github.PullRequestListOptions{State: "closed"}, "1"},
		{"all ascending", github.PullRequestListOptions{State: "all", Direction: "asc"}, "1,2,3,4,5,6"},
		{"head filter", github.PullRequestListOptions{State: "all", Head: "acme:b3"}, "3"},
		{"base filter", github.PullRequestListOptions{Base: "dev"}, "6"},
		{"head without owner matches nothing", github.PullRequestListOptions{Head: "b3"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prs, _, err := gh.PullRequests.List(ctx, owner, repo, &tc.opts)
			ok(t, err)
			if got := numbers(prs); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
	var all []string
	opts := &github.PullRequestListOptions{State: "all", ListOptions: github.ListOptions{PerPage: 2}}
	pages := 0
	for {
		prs, resp, err := gh.PullRequests.List(ctx, owner, repo, opts)
		ok(t, err)
		pages++
		all = append(all, numbers(prs))
		if pages == 1 && (resp.NextPage != 2 || resp.LastPage != 3) {
			t.Fatalf("Link header %q", resp.Header.Get("Link"))
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if strings.Join(all, "|") != "6,5|4,3|2,1" {
		t.Fatalf("pages %v", all)
	}
}

func TestMergeableIsComputedLazily(t *testing.T) {
	t.Parallel()
	srv, gh, _ := setup(t)
	commit(t, srv, "clean", map[string]string{"c.txt": "c\n"})
	commit(t, srv, "conflict", map[string]string{"README.md": "theirs\n"})
	commit(t, srv, "main", map[string]string{"README.md": "ours\n"})
	clean := newPR(t, gh, "clean", "main")
	conflict := newPR(t, gh, "conflict", "main")
	srv.Faults().SlowMergeable(2, 0)

	for i := 1; i <= 3; i++ {
		pr, _, err := gh.PullRequests.Get(ctx, owner, repo, clean.GetNumber())
		ok(t, err)
		if i <= 2 && (pr.Mergeable != nil || pr.GetMergeableState() != "unknown") {
			t.Fatalf("GET %d: mergeable %v state %s, want null/unknown while computing", i, pr.Mergeable, pr.GetMergeableState())
		}
		if i == 3 && (pr.Mergeable == nil || !*pr.Mergeable || pr.GetMergeableState() != "clean") {
			t.Fatalf("GET 3: mergeable %v state %s, want true/clean", pr.Mergeable, pr.GetMergeableState())
		}
	}
	var pr *github.PullRequest
	for i := 0; i < 3; i++ {
		var err error
		pr, _, err = gh.PullRequests.Get(ctx, owner, repo, conflict.GetNumber())
		ok(t, err)
	}
	if pr.Mergeable == nil || *pr.Mergeable || pr.GetMergeableState() != "dirty" {
		t.Fatalf("conflicting PR: mergeable %v state %s", pr.Mergeable, pr.GetMergeableState())
	}
	// A new head commit restarts the computation.
	commit(t, srv, "clean", map[string]string{"d.txt": "d\n"})
	pr, _, err := gh.PullRequests.Get(ctx, owner, repo, clean.GetNumber())
	ok(t, err)
	if pr.Mergeable != nil {
		t.Fatalf("after push: mergeable %v, want null", *pr.Mergeable)
	}
	// Time-based delay.
	srv.Faults().SlowMergeable(0, 300*time.Millisecond)
	commit(t, srv, "clean", map[string]string{"e.txt": "e\n"})
	pr, _, _ = gh.PullRequests.Get(ctx, owner, repo, clean.GetNumber())
	if pr.Mergeable != nil {
		t.Fatal("mergeable computed before the delay")
	}
	time.Sleep(350 * time.Millisecond)
	pr, _, _ = gh.PullRequests.Get(ctx, owner, repo, clean.GetNumber())
	if pr.Mergeable == nil || !*pr.Mergeable {
		t.Fatal("mergeable not computed after the delay")
	}
}

func TestReviewsAndReviewers(t *testing.T) {
	t.Parallel()
	srv, gh, _ := setup(t)
	commit(t, srv, "feature", map[string]string{"f": "f"})
	pr := newPR(t, gh, "feature", "main")
	srv.AddToken("alice-token", "alice", githubtest.Write)
	alice := client(t, srv, "alice-token")

	_, _, err := gh.PullRequests.RequestReviewers(ctx, owner, repo, 1, github.ReviewersRequest{Reviewers: []string{githubtest.DefaultLogin}})
	wantErr(t, err, 422, "Review cannot be requested from pull request author.")
	got, resp, err := gh.PullRequests.RequestReviewers(ctx, owner, repo, 1, github.ReviewersRequest{Reviewers: []string{"alice", "bob"}})
	ok(t, err)
	if resp.StatusCode != 201 || len(got.RequestedReviewers) != 2 {
		t.Fatalf("requested reviewers: %d %v", resp.StatusCode, got.RequestedReviewers)
	}
	_, _, err = gh.PullRequests.CreateReview(ctx, owner, repo, 1, &github.PullRequestReviewRequest{Event: github.String("APPROVE")})
	wantErr(t, err, 422, "Can not approve your own pull request")
	rv, _, err := alice.PullRequests.CreateReview(ctx, owner, repo, 1, &github.PullRequestReviewRequest{Event: github.String("APPROVE"), Body: github.String("lgtm")})
	ok(t, err)
	if rv.GetState() != "APPROVED" || rv.GetUser().GetLogin() != "alice" || rv.GetCommitID() != pr.GetHead().GetSHA() || rv.SubmittedAt == nil {
		t.Fatalf("review %+v", rv)
	}
	_, _, err = alice.PullRequests.CreateReview(ctx, owner, repo, 1, &github.PullRequestReviewRequest{Event: github.String("COMMENT")})
	wantErr(t, err, 422, "Body is required")
	pending, _, err := alice.PullRequests.CreateReview(ctx, owner, repo, 1, &github.PullRequestReviewRequest{Body: github.String("draft")})
	ok(t, err)
	if pending.GetState() != "PENDING" || pending.SubmittedAt != nil {
		t.Fatalf("pending review %+v", pending)
	}
	reviews, _, err := gh.PullRequests.ListReviews(ctx, owner, repo, 1, nil)
	ok(t, err)
	if len(reviews) != 2 || reviews[0].GetState() != "APPROVED" {
		t.Fatalf("reviews %v", reviews)
	}
	snap, err := srv.PullRequest(owner, repo, 1)
	ok(t, err)
	if strings.Join(snap.RequestedReviewers, ",") != "bob" {
		t.Fatalf("alice's review must clear her request: %v", snap.RequestedReviewers)
	}
}
