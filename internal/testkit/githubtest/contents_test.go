package githubtest_test

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/google/go-github/v60/github"
)

func TestContents(t *testing.T) {
	t.Parallel()
	srv, gh, _ := setup(t)
	commit(t, srv, "main", map[string]string{"docs/a.md": "A\n", "docs/b.md": "B\n"})
	dev := commit(t, srv, "dev", map[string]string{"README.md": "dev readme\n"})

	file, dir, resp, err := gh.Repositories.GetContents(ctx, owner, repo, "README.md", nil)
	ok(t, err)
	content, _ := file.GetContent()
	if dir != nil || content != "hello\n" || file.GetType() != "file" || file.GetEncoding() != "base64" || resp.StatusCode != 200 {
		t.Fatalf("file: %q %+v", content, file)
	}
	blobSHA := file.GetSHA()
	// download_url serves the raw bytes (public repository: no token needed).
	dl, err := http.Get(file.GetDownloadURL())
	ok(t, err)
	raw, _ := io.ReadAll(dl.Body)
	dl.Body.Close()
	if dl.StatusCode != 200 || string(raw) != "hello\n" {
		t.Fatalf("download_url %s: %d %q", file.GetDownloadURL(), dl.StatusCode, raw)
	}
	rc, _, err := gh.Repositories.DownloadContents(ctx, owner, repo, "docs/b.md", &github.RepositoryContentGetOptions{Ref: "main"})
	ok(t, err)
	raw, _ = io.ReadAll(rc)
	rc.Close()
	if string(raw) != "B\n" {
		t.Fatalf("DownloadContents: %q", raw)
	}
	file, _, _, err = gh.Repositories.GetContents(ctx, owner, repo, "README.md", &github.RepositoryContentGetOptions{Ref: dev})
	ok(t, err)
	if c, _ := file.GetContent(); c != "dev readme\n" {
		t.Fatalf("at ref %s: %q", dev, c)
	}
	_, dir, _, err = gh.Repositories.GetContents(ctx, owner, repo, "docs", nil)
	ok(t, err)
	if len(dir) != 2 || dir[0].GetName() != "a.md" || dir[0].GetType() != "file" || dir[0].GetPath() != "docs/a.md" {
		t.Fatalf("dir listing %+v", dir)
	}
	_, _, _, err = gh.Repositories.GetContents(ctx, owner, repo, "nope.txt", nil)
	wantErr(t, err, 404, "Not Found")
	_, _, _, err = gh.Repositories.GetContents(ctx, owner, repo, "README.md", &github.RepositoryContentGetOptions{Ref: "no-such-branch"})
	wantErr(t, err, 404, "No commit found for the ref no-such-branch")

	put := func(path, sha, branch string) (*github.RepositoryContentResponse, *github.Response, error) {
		opts := &github.RepositoryContentFileOptions{Message: github.String("update " + path), Content: []byte("new " + path)}
		if sha != "" {
			opts.SHA = github.String(sha)
		}
		if branch != "" {
			opts.Branch = github.String(branch)
		}
		return gh.Repositories.UpdateFile(ctx, owner, repo, path, opts)
	}
	tests := []struct {
		name, path, sha, branch string
		status                  int
		msg                     string
	}{
		{"missing sha for existing file", "README.md", "", "", 422, `"sha" wasn't supplied`},
		{"stale sha", "README.md", "0123456789012345678901234567890123456789", "", 409, "README.md does not match 0123456789012345678901234567890123456789"},
		{"update", "README.md", blobSHA, "", 200, ""},
		{"same sha again is stale", "README.md", blobSHA, "", 409, "does not match"},
		{"create", "new/file.txt", "", "", 201, ""},
		{"other branch", "README.md", "", "dev", 422, `"sha" wasn't supplied`},
		{"missing branch", "x.txt", "", "ghost", 404, "Branch ghost not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, resp, err := put(tc.path, tc.sha, tc.branch)
			if tc.msg != "" {
				wantErr(t, err, tc.status, tc.msg)
				return
			}
			ok(t, err)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			got, err := srv.ReadFile(owner, repo, "main", tc.path)
			ok(t, err)
			if got != "new "+tc.path || res.GetContent().GetPath() != tc.path || !res.Commit.GetVerification().GetVerified() {
				t.Fatalf("after PUT: %q, response %+v", got, res)
			}
		})
	}
}

// 20 writers race to update one file from the same blob SHA: exactly one
// compare-and-swap wins, every other gets 409, and no update is lost.
func TestContentsCompareAndSwapUnderConcurrency(t *testing.T) {
	t.Parallel()
	srv, gh, _ := setup(t)
	file, _, _, err := gh.Repositories.GetContents(ctx, owner, repo, "README.md", nil)
	ok(t, err)
	const writers = 20
	var wg sync.WaitGroup
	statuses := make([]int, writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, resp, _ := gh.Repositories.UpdateFile(ctx, owner, repo, "README.md", &github.RepositoryContentFileOptions{
				Message: github.String(fmt.Sprintf("writer %d", i)), Content: []byte(fmt.Sprintf("writer %d\n", i)), SHA: file.SHA,
			})
			if resp != nil {
				statuses[i] = resp.StatusCode
			}
		}(i)
	}
	wg.Wait()
	winners, conflicts := -1, 0
	for i, st := range statuses {
		switch st {
		case http.StatusOK:
			if winners != -1 {
				t.Fatalf("two writers won: %d and %d", winners, i)
			}
			winners = i
		case http.StatusConflict:
			conflicts++
		default:
			t.Fatalf("writer %d got %d", i, st)
		}
	}
	if winners == -1 || conflicts != writers-1 {
		t.Fatalf("winner %d, conflicts %d", winners, conflicts)
	}
	got, err := srv.ReadFile(owner, repo, "main", "README.md")
	ok(t, err)
	if got != fmt.Sprintf("writer %d\n", winners) {
		t.Fatalf("file holds %q, want the winner's content", got)
	}
	n := srv.CountRequests("PUT /repos/{owner}/{repo}/contents/{path}")
	if n != writers {
		t.Fatalf("request log counted %d PUTs, want %d", n, writers)
	}

	// Sequential CAS chain: each writer re-reads the SHA, so all succeed.
	for i := 0; i < 5; i++ {
		f, _, _, err := gh.Repositories.GetContents(ctx, owner, repo, "README.md", nil)
		ok(t, err)
		_, _, err = gh.Repositories.UpdateFile(ctx, owner, repo, "README.md", &github.RepositoryContentFileOptions{
			Message: github.String("chain"), Content: []byte(fmt.Sprint(i)), SHA: f.SHA,
		})
		ok(t, err)
	}
}
