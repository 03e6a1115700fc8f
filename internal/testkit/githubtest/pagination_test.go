package githubtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

// getJSON GETs an API path with the default token and returns the status,
// the Link header and the decoded body.
func getJSON(t *testing.T, srv *githubtest.Server, path string) (int, string, any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.APIURL()+path, nil)
	ok(t, err)
	req.Header.Set("Authorization", "Bearer "+githubtest.DefaultToken)
	resp, err := http.DefaultClient.Do(req)
	ok(t, err)
	defer resp.Body.Close()
	var body any
	ok(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, resp.Header.Get("Link"), body
}

// links parses a Link header into rel -> page number.
func links(t *testing.T, header string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		target, rel, found := strings.Cut(part, ">; rel=")
		if !found {
			t.Fatalf("bad Link part %q", part)
		}
		u, err := url.Parse(strings.TrimPrefix(target, "<"))
		ok(t, err)
		out[strings.Trim(rel, `"`)] = u.Query().Get("page")
	}
	return out
}

// TestFidelityPagination: every list endpoint honours per_page (default 30,
// max 100) and page, with GitHub's Link header ("Using pagination in the
// REST API"). The check-runs list is tested with the statuses code.
func TestFidelityPagination(t *testing.T) {
	t.Parallel()
	const n = 35
	srv, gh, main := setup(t)
	srv.AddToken("alice-token", "alice", githubtest.Write)
	alice := client(t, srv, "alice-token")
	feature := commit(t, srv, "feature", map[string]string{"f.txt": "f\n"})
	pr := newPR(t, gh, "feature", "main")
	var labels []string
	for i := 0; i < n; i++ {
		b := fmt.Sprintf("p%02d", i)
		ok(t, srv.SetRef(owner, repo, "refs/heads/"+b, feature))
		_, err := srv.OpenPullRequest(owner, repo, githubtest.NewPullRequest{Head: b, Base: "main", Title: b})
		ok(t, err)
		_, _, err = gh.Issues.CreateComment(ctx, owner, repo, pr.GetNumber(), &github.IssueComment{Body: github.String(b)})
		ok(t, err)
		_, _, err = alice.PullRequests.CreateReview(ctx, owner, repo, pr.GetNumber(), &github.PullRequestReviewRequest{Event: github.String("COMMENT"), Body: github.String(b)})
		ok(t, err)
		labels = append(labels, "label-"+b)
		_, _, err = gh.Repositories.CreateStatus(ctx, owner, repo, main, &github.RepoStatus{State: github.String("success"), Context: github.String(b)})
		ok(t, err)
		_, _, err = gh.Repositories.CreateDeployment(ctx, owner, repo, &github.DeploymentRequest{Ref: github.String("main"), Environment: github.String(b),
			AutoMerge: github.Bool(false), RequiredContexts: &[]string{}})
		ok(t, err)
		_, err = srv.AddRuleset(owner, repo, `{"name":"`+b+`","target":"branch","enforcement":"active",
			"conditions":{"ref_name":{"include":["~DEFAULT_BRANCH"],"exclude":[]}},"rules":[{"type":"deletion"}]}`)
		ok(t, err)
	}
	_, _, err := gh.Issues.AddLabelsToIssue(ctx, owner, repo, pr.GetNumber(), labels)
	ok(t, err)
	deps, _, err := gh.Repositories.ListDeployments(ctx, owner, repo, &github.DeploymentsListOptions{ListOptions: github.ListOptions{PerPage: 1}})
	ok(t, err)
	for i := 0; i < n; i++ {
		_, _, err := gh.Repositories.CreateDeploymentStatus(ctx, owner, repo, deps[0].GetID(), &github.DeploymentStatusRequest{State: github.String("in_progress")})
		ok(t, err)
	}
	_, err = srv.CreateHistory(owner, repo, "hist", n)
	ok(t, err)

	base := "/repos/" + owner + "/" + repo
	for _, tc := range []struct {
		name, path string
		field      string // the list's field in an object answer
		total      int
	}{
		{"pulls", base + "/pulls", "", n + 1},
		{"comments", fmt.Sprintf("%s/issues/%d/comments", base, pr.GetNumber()), "", n},
		{"labels", fmt.Sprintf("%s/issues/%d/labels", base, pr.GetNumber()), "", n},
		{"reviews", fmt.Sprintf("%s/pulls/%d/reviews", base, pr.GetNumber()), "", n},
		{"deployments", base + "/deployments", "", n},
		{"deployment statuses", fmt.Sprintf("%s/deployments/%d/statuses", base, deps[0].GetID()), "", n},
		{"combined status", base + "/commits/main/status", "statuses", n},
		{"rulesets", base + "/rulesets", "", n},
		{"branch rules", base + "/rules/branches/main", "", n},
		{"matching refs", base + "/git/matching-refs/heads/p", "", n},
		{"compare commits", base + "/compare/main...hist", "commits", n},
	} {
		t.Run(tc.name, func(t *testing.T) {
			count := func(query string) (int, map[string]string) {
				t.Helper()
				sep := "?"
				if query == "" {
					sep = ""
				}
				status, link, body := getJSON(t, srv, tc.path+sep+query)
				if status != http.StatusOK {
					t.Fatalf("GET %s?%s: %d %v", tc.path, query, status, body)
				}
				if tc.field != "" {
					body = body.(map[string]any)[tc.field]
				}
				return len(body.([]any)), links(t, link)
			}
			if tc.name != "compare commits" { // compare lists up to 250 commits unless paginated
				got, rel := count("")
				if got != 30 || rel["next"] != "2" || rel["last"] != "2" || rel["prev"] != "" {
					t.Fatalf("default page: %d items, links %v; want 30 and next=last=2", got, rel)
				}
			}
			got, rel := count("per_page=10&page=4")
			if got != tc.total-30 || rel["prev"] != "3" || rel["first"] != "1" || rel["next"] != "" {
				t.Fatalf("page 4 of 10: %d items, links %v; want %d, prev=3, first=1, no next", got, rel, tc.total-30)
			}
			if got, rel := count("per_page=100"); got != tc.total || len(rel) != 0 {
				t.Fatalf("per_page=100: %d items, links %v", got, rel)
			}
			if got, _ := count("per_page=10&page=9"); got != 0 {
				t.Fatalf("past the end: %d items", got)
			}
		})
	}
	t.Run("per_page is capped at 100", func(t *testing.T) {
		for i := 0; i < 110; i++ {
			ok(t, srv.SetRef(owner, repo, fmt.Sprintf("refs/tags/t%03d", i), main))
		}
		status, link, body := getJSON(t, srv, base+"/git/matching-refs/tags/t?per_page=500")
		if status != http.StatusOK || len(body.([]any)) != 100 || links(t, link)["next"] != "2" {
			t.Fatalf("per_page=500: %d, %d items, links %q", status, len(body.([]any)), link)
		}
	})
}
