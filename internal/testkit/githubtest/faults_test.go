package githubtest_test

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

func TestFaultInjection(t *testing.T) {
	t.Parallel()
	srv, gh, _ := setup(t)
	commit(t, srv, "feature", map[string]string{"f": "f"})
	pr := newPR(t, gh, "feature", "main")
	merge := "PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge"

	in := srv.Faults().Inject(merge, githubtest.Fault{Status: 502, Times: 2, Header: http.Header{"Retry-After": {"1"}}})
	for i := 0; i < 2; i++ {
		_, resp, err := gh.PullRequests.Merge(ctx, owner, repo, pr.GetNumber(), "", nil)
		wantErr(t, err, 502, "Bad Gateway")
		if resp.Header.Get("Retry-After") != "1" || resp.Header.Get("X-Ratelimit-Limit") == "" {
			t.Fatalf("fault headers %v", resp.Header)
		}
	}
	if in.Hits() != 2 {
		t.Fatalf("hits %d", in.Hits())
	}
	if got, _ := srv.PullRequest(owner, repo, pr.GetNumber()); got.Merged {
		t.Fatal("an injected failure must not reach the handler")
	}
	_, _, err := gh.PullRequests.Merge(ctx, owner, repo, pr.GetNumber(), "", nil)
	ok(t, err) // third call is served for real

	// Rate-limit exhaustion shaped like GitHub's, with a custom body.
	reset := time.Now().Add(time.Hour).Unix()
	srv.Faults().Inject("GET /repos/acme/app", githubtest.Fault{Status: 403, Body: `{"message":"API rate limit exceeded for installation ID 1.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}`,
		Header: http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {strconv.FormatInt(reset, 10)}}})
	_, _, err = gh.Repositories.Get(ctx, owner, repo)
	var rl *github.RateLimitError
	if !errors.As(err, &rl) || rl.Rate.Reset.Unix() != reset {
		t.Fatalf("want RateLimitError resetting at %d, got %T %v", reset, err, err)
	}

	// Skip lets calls through first; Times -1 keeps failing.
	srv.Faults().Inject("GET /repos/{owner}/{repo}/git/ref/{ref}", githubtest.Fault{Status: 500, Skip: 1, Times: -1})
	gh2 := client(t, srv, githubtest.DefaultToken) // fresh client: no remembered rate limit
	_, _, err = gh2.Git.GetRef(ctx, owner, repo, "heads/main")
	ok(t, err)
	for i := 0; i < 3; i++ {
		_, _, err = gh2.Git.GetRef(ctx, owner, repo, "heads/main")
		wantErr(t, err, 500, "Internal Server Error")
	}
	srv.Faults().Clear()
	_, _, err = gh2.Git.GetRef(ctx, owner, repo, "heads/main")
	ok(t, err)
}

func TestConnectionResetAndLatency(t *testing.T) {
	t.Parallel()
	srv, gh, _ := setup(t)
	srv.Faults().Inject("GET /repos/{owner}/{repo}", githubtest.Fault{Reset: true})
	_, _, err := gh.Repositories.Get(ctx, owner, repo)
	if err == nil || !(errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "EOF") || strings.Contains(err.Error(), "reset")) {
		t.Fatalf("want a connection reset/EOF, got %v", err)
	}
	_, _, err = gh.Repositories.Get(ctx, owner, repo)
	ok(t, err)

	srv.Faults().Latency(150 * time.Millisecond)
	start := time.Now()
	_, _, err = gh.Repositories.Get(ctx, owner, repo)
	ok(t, err)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("latency not applied: %v", d)
	}
	srv.Faults().Latency(0)
	srv.Faults().Inject("*", githubtest.Fault{Delay: 100 * time.Millisecond})
	start = time.Now()
	_, _, err = gh.Repositories.Get(ctx, owner, repo)
	ok(t, err)
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("delay-only fault not applied: %v", d)
	}
}

func TestLostResponse(t *testing.T) {
	t.Parallel()
	srv, gh, _ := setup(t)
	main, _, err := gh.Git.GetRef(ctx, owner, repo, "heads/main")
	ok(t, err)
	create := "POST /repos/{owner}/{repo}/git/refs"
	in := srv.Faults().Inject(create, githubtest.Fault{Status: 502, After: true})
	_, _, err = gh.Git.CreateRef(ctx, owner, repo, &github.Reference{Ref: github.String("refs/heads/lost"), Object: &github.GitObject{SHA: main.Object.SHA}})
	wantErr(t, err, 502, "Bad Gateway")
	if in.Hits() != 1 {
		t.Fatalf("hits %d", in.Hits())
	}
	refs, err := srv.Refs(owner, repo)
	ok(t, err)
	if refs["refs/heads/lost"] != main.Object.GetSHA() {
		t.Fatalf("the write behind a lost response must happen: refs %v", refs)
	}
	// A reset after the write: the branch exists, the caller saw no answer.
	srv.Faults().Inject(create, githubtest.Fault{Reset: true, After: true})
	_, _, err = gh.Git.CreateRef(ctx, owner, repo, &github.Reference{Ref: github.String("refs/heads/lost2"), Object: &github.GitObject{SHA: main.Object.SHA}})
	if err == nil {
		t.Fatal("want a connection error")
	}
	refs, _ = srv.Refs(owner, repo)
	if refs["refs/heads/lost2"] == "" {
		t.Fatalf("refs %v", refs)
	}
	// Served for real again: the ref exists, so GitHub says 422.
	_, _, err = gh.Git.CreateRef(ctx, owner, repo, &github.Reference{Ref: github.String("refs/heads/lost"), Object: &github.GitObject{SHA: main.Object.SHA}})
	wantErr(t, err, 422, "Reference already exists")
}

func TestBeforeHookMovesBranchBetweenReadAndWrite(t *testing.T) {
	t.Parallel()
	srv, gh, _ := setup(t)
	file, _, _, err := gh.Repositories.GetContents(ctx, owner, repo, "README.md", nil)
	ok(t, err)
	calls, globbed := 0, 0
	removeGlob := srv.Faults().Before("* /repos/acme/app/contents/*", func(*http.Request) { globbed++ })
	defer removeGlob()
	remove := srv.Faults().Before("PUT /repos/{owner}/{repo}/contents/{path}", func(r *http.Request) {
		calls++
		if _, err := srv.CommitFiles(owner, repo, "main", map[string]string{"README.md": "sneaky\n"}, "concurrent"); err != nil {
			t.Error(err)
		}
	})
	_, _, err = gh.Repositories.UpdateFile(ctx, owner, repo, "README.md", &github.RepositoryContentFileOptions{Message: github.String("m"), Content: []byte("mine"), SHA: file.SHA})
	wantErr(t, err, 409, "does not match")
	remove()
	_, _, err = gh.Repositories.UpdateFile(ctx, owner, repo, "README.md", &github.RepositoryContentFileOptions{Message: github.String("m"), Content: []byte("mine"), SHA: github.String(blobSHA(t, gh, "README.md"))})
	ok(t, err)
	if calls != 1 || globbed != 3 { // 2 PUTs + the GET in blobSHA
		t.Fatalf("hook ran %d times, glob hook %d times", calls, globbed)
	}
}

func TestRequestLogUnderConcurrency(t *testing.T) {
	t.Parallel()
	srv, gh, _ := setup(t)
	srv.ResetRequests()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				gh.Repositories.Get(ctx, owner, repo)
			}
		}()
	}
	wg.Wait()
	reqs := srv.Requests()
	if len(reqs) != 100 || srv.CountRequests("GET /repos/{owner}/{repo}") != 100 || srv.CountRequests("GET /repos/acme/app") != 100 {
		t.Fatalf("logged %d requests", len(reqs))
	}
	var bytes int64
	for _, r := range reqs {
		if r.Status != 200 || r.Login != githubtest.DefaultLogin || r.Operation != "GET /repos/{owner}/{repo}" {
			t.Fatalf("entry %+v", r)
		}
		bytes += r.ResponseBytes
	}
	if bytes < 100*1000 {
		t.Fatalf("response bytes %d look wrong", bytes)
	}
	_, resp, err := gh.Repositories.Get(ctx, owner, repo)
	ok(t, err)
	// setup makes no API calls, so this is the token's 101st request.
	if got := resp.Header.Get("X-Ratelimit-Used"); got != "101" {
		t.Fatalf("rate counter %s, want 101", got)
	}
}
