package githubtest_test

import (
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"
)

func TestCommentsAndLabels(t *testing.T) {
	t.Parallel()
	srv, gh, _ := setup(t)
	commit(t, srv, "feature", map[string]string{"f": "f"})
	newPR(t, gh, "feature", "main")

	c, resp, err := gh.Issues.CreateComment(ctx, owner, repo, 1, &github.IssueComment{Body: github.String("first")})
	ok(t, err)
	if resp.StatusCode != 201 || resp.Header.Get("Location") != c.GetURL() || c.GetUser().GetLogin() == "" {
		t.Fatalf("comment: %d %+v", resp.StatusCode, c)
	}
	for _, body := range []string{"second", "third"} {
		_, _, err := gh.Issues.CreateComment(ctx, owner, repo, 1, &github.IssueComment{Body: github.String(body)})
		ok(t, err)
	}
	_, _, err = gh.Issues.CreateComment(ctx, owner, repo, 1, &github.IssueComment{Body: github.String(" ")})
	wantErr(t, err, 422, "Field:body")
	_, _, err = gh.Issues.CreateComment(ctx, owner, repo, 42, &github.IssueComment{Body: github.String("x")})
	wantErr(t, err, 404, "Not Found")
	page1, resp, err := gh.Issues.ListComments(ctx, owner, repo, 1, &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 2}})
	ok(t, err)
	if len(page1) != 2 || page1[0].GetBody() != "first" || resp.NextPage != 2 {
		t.Fatalf("comments page 1: %d next %d", len(page1), resp.NextPage)
	}
	stored, err := srv.Comments(owner, repo, 1)
	ok(t, err)
	if len(stored) != 3 || stored[2].Body != "third" {
		t.Fatalf("stored comments %+v", stored)
	}

	labels, _, err := gh.Issues.AddLabelsToIssue(ctx, owner, repo, 1, []string{"bug", "needs review"})
	ok(t, err)
	if len(labels) != 2 || labels[0].GetColor() == "" {
		t.Fatalf("labels %+v", labels)
	}
	// The {"labels": [...]} form GitHub documents works too, and is idempotent.
	req, err := gh.NewRequest("POST", "repos/acme/app/issues/1/labels", map[string][]string{"labels": {"bug", "ship"}})
	ok(t, err)
	var got []*github.Label
	_, err = gh.Do(ctx, req, &got)
	ok(t, err)
	if len(got) != 3 {
		t.Fatalf("after object form: %v", got)
	}
	_, err = gh.Issues.RemoveLabelForIssue(ctx, owner, repo, 1, "needs review")
	ok(t, err)
	_, err = gh.Issues.RemoveLabelForIssue(ctx, owner, repo, 1, "needs review")
	wantErr(t, err, 404, "Label does not exist")
	list, _, err := gh.Issues.ListLabelsByIssue(ctx, owner, repo, 1, nil)
	ok(t, err)
	var names []string
	for _, l := range list {
		names = append(names, l.GetName())
	}
	if strings.Join(names, ",") != "bug,ship" {
		t.Fatalf("labels now %v", names)
	}
	pr, _, err := gh.PullRequests.Get(ctx, owner, repo, 1)
	ok(t, err)
	if len(pr.Labels) != 2 || pr.GetComments() != 3 {
		t.Fatalf("PR labels %d comments %d", len(pr.Labels), pr.GetComments())
	}
}
