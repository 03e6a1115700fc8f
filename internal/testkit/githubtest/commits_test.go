package githubtest_test

import (
	"testing"
	"time"
)

func TestCommitsAndBranches(t *testing.T) {
	t.Parallel()
	srv, gh, main := setup(t)
	feature := commit(t, srv, "feature/x", map[string]string{"a.txt": "one\ntwo\n", "README.md": "changed\n"})
	ok(t, srv.SetRef(owner, repo, "refs/tags/v1", main))

	for _, ref := range []string{feature, feature[:7], "feature/x", "heads/feature/x", "v1", "tags/v1"} {
		c, _, err := gh.Repositories.GetCommit(ctx, owner, repo, ref, nil)
		ok(t, err)
		want := feature
		if ref == "v1" || ref == "tags/v1" {
			want = main
		}
		if c.GetSHA() != want {
			t.Errorf("GetCommit(%q) = %s, want %s", ref, c.GetSHA(), want)
		}
	}
	c, _, err := gh.Repositories.GetCommit(ctx, owner, repo, feature, nil)
	ok(t, err)
	if c.GetCommit().GetMessage() != "change feature/x" || len(c.Parents) != 1 || c.Parents[0].GetSHA() != main ||
		c.GetHTMLURL() != srv.URL+"/acme/app/commit/"+feature || c.GetCommit().GetVerification().GetVerified() {
		t.Fatalf("commit: %+v", c)
	}
	files := map[string]string{}
	for _, f := range c.Files {
		files[f.GetFilename()] = f.GetStatus()
		if f.GetFilename() == "a.txt" && (f.GetAdditions() != 2 || f.GetDeletions() != 0) {
			t.Errorf("a.txt +%d -%d", f.GetAdditions(), f.GetDeletions())
		}
	}
	if files["a.txt"] != "added" || files["README.md"] != "modified" {
		t.Fatalf("files %v", files)
	}
	for _, ref := range []string{"nope", "0123456789012345678901234567890123456789", "main~1"} {
		_, _, err := gh.Repositories.GetCommit(ctx, owner, repo, ref, nil)
		wantErr(t, err, 422, "No commit found for SHA: "+ref)
	}

	b, _, err := gh.Repositories.GetBranch(ctx, owner, repo, "feature/x", 0)
	ok(t, err)
	if b.GetName() != "feature/x" || b.GetCommit().GetSHA() != feature || b.GetProtected() {
		t.Fatalf("branch %+v", b)
	}
	// go-github's GetBranch reports non-200 answers as a plain error.
	_, resp, err := gh.Repositories.GetBranch(ctx, owner, repo, "ghost", 0)
	if err == nil || resp.StatusCode != 404 {
		t.Fatalf("GetBranch(ghost): %v %v", resp, err)
	}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	srv, gh, main := setup(t)
	commit(t, srv, "ahead", map[string]string{"a": "1\n"})
	aheadTip := commit(t, srv, "ahead", map[string]string{"b": "2\n", "README.md": "x\n"})
	ok(t, srv.SetRef(owner, repo, "refs/heads/diverged", main))
	commit(t, srv, "diverged", map[string]string{"c": "3\n"})
	ok(t, srv.SetRef(owner, repo, "refs/heads/copy", main))
	orphan, err := srv.CreateHistory(owner, repo, "orphan-base", 1) // starts from main, so not an orphan
	ok(t, err)
	_ = orphan

	tests := []struct {
		base, head          string
		status              string
		ahead, behind, nCom int
	}{
		{"main", "ahead", "ahead", 2, 0, 2},
		{"ahead", "main", "behind", 0, 2, 0},
		{"main", "copy", "identical", 0, 0, 0},
		{"ahead", "diverged", "diverged", 1, 2, 1},
		{main, aheadTip[:10], "ahead", 2, 0, 2},
	}
	for _, tc := range tests {
		cmp, _, err := gh.Repositories.CompareCommits(ctx, owner, repo, tc.base, tc.head, nil)
		ok(t, err)
		if cmp.GetStatus() != tc.status || cmp.GetAheadBy() != tc.ahead || cmp.GetBehindBy() != tc.behind ||
			cmp.GetTotalCommits() != tc.ahead || len(cmp.Commits) != tc.nCom || cmp.GetMergeBaseCommit().GetSHA() != main {
			t.Errorf("%s...%s: status %s ahead %d behind %d total %d commits %d merge-base %s",
				tc.base, tc.head, cmp.GetStatus(), cmp.GetAheadBy(), cmp.GetBehindBy(), cmp.GetTotalCommits(), len(cmp.Commits), cmp.GetMergeBaseCommit().GetSHA())
		}
	}
	cmp, _, err := gh.Repositories.CompareCommits(ctx, owner, repo, "main", "ahead", nil)
	ok(t, err)
	if cmp.Commits[1].GetSHA() != aheadTip || len(cmp.Files) != 3 {
		t.Fatalf("commits must be oldest first and files the three-dot diff: %v %d", cmp.Commits[1].GetSHA(), len(cmp.Files))
	}
	_, _, err = gh.Repositories.CompareCommits(ctx, owner, repo, "main", "ghost", nil)
	wantErr(t, err, 404, "Not Found")
}

func TestLongHistory(t *testing.T) {
	t.Parallel()
	srv, gh, main := setup(t)
	start := time.Now()
	tip, err := srv.CreateHistory(owner, repo, "long", 20000)
	ok(t, err)
	t.Logf("CreateHistory(20000): %v", time.Since(start))
	start = time.Now()
	defer func() { t.Logf("compare: %v", time.Since(start)) }()
	cmp, _, err := gh.Repositories.CompareCommits(ctx, owner, repo, "main", "long", nil)
	ok(t, err)
	if cmp.GetAheadBy() != 20000 || len(cmp.Commits) != 250 || cmp.GetMergeBaseCommit().GetSHA() != main {
		t.Fatalf("ahead %d commits %d", cmp.GetAheadBy(), len(cmp.Commits))
	}
	refs, err := srv.Refs(owner, repo)
	ok(t, err)
	if refs["refs/heads/long"] != tip {
		t.Fatalf("long = %s, want %s", refs["refs/heads/long"], tip)
	}
	for r := range refs {
		if r != "refs/heads/main" && r != "refs/heads/long" {
			t.Fatalf("leftover ref %s", r)
		}
	}
	got, err := srv.ReadFile(owner, repo, "long", "history.txt")
	ok(t, err)
	if got != "line 20000\n" {
		t.Fatalf("history.txt = %q", got)
	}
}
