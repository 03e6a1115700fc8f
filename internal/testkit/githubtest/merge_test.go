package githubtest_test

import (
	"testing"

	"github.com/google/go-github/v60/github"
)

func TestMergeMethods(t *testing.T) {
	t.Parallel()
	for _, method := range []string{"merge", "squash", "rebase"} {
		t.Run(method, func(t *testing.T) {
			srv, gh, _ := setup(t)
			c1 := commit(t, srv, "feature", map[string]string{"a.txt": "a\n"})
			c2 := commit(t, srv, "feature", map[string]string{"b.txt": "b\n"})
			base := commit(t, srv, "main", map[string]string{"m.txt": "m\n"}) // base moved: no fast-forward
			pr := newPR(t, gh, "feature", "main")

			_, _, err := gh.PullRequests.Merge(ctx, owner, repo, pr.GetNumber(), "", &github.PullRequestOptions{MergeMethod: method, SHA: base})
			wantErr(t, err, 409, "Head branch was modified. Review and try the merge again.")

			res, _, err := gh.PullRequests.Merge(ctx, owner, repo, pr.GetNumber(), "", &github.PullRequestOptions{MergeMethod: method, SHA: c2})
			ok(t, err)
			if !res.GetMerged() || res.GetMessage() != "Pull Request successfully merged" {
				t.Fatalf("merge result %+v", res)
			}
			tip := res.GetSHA()
			refs, err := srv.Refs(owner, repo)
			ok(t, err)
			if refs["refs/heads/main"] != tip {
				t.Fatalf("main at %s, want merge result %s", refs["refs/heads/main"], tip)
			}
			for _, f := range []string{"a.txt", "b.txt", "m.txt", "README.md"} {
				if _, err := srv.ReadFile(owner, repo, "main", f); err != nil {
					t.Fatalf("%s missing after %s: %v", f, method, err)
				}
			}
			cmp, _, err := gh.Repositories.CompareCommits(ctx, owner, repo, base, tip, nil)
			ok(t, err)
			last, _, err := gh.Repositories.GetCommit(ctx, owner, repo, tip, nil)
			ok(t, err)
			switch method {
			case "merge":
				if len(last.Parents) != 2 || last.Parents[0].GetSHA() != base || last.Parents[1].GetSHA() != c2 || cmp.GetAheadBy() != 3 {
					t.Fatalf("merge commit parents %v ahead %d", last.Parents, cmp.GetAheadBy())
				}
			case "squash":
				if len(last.Parents) != 1 || last.Parents[0].GetSHA() != base || cmp.GetAheadBy() != 1 ||
					last.GetCommit().GetMessage() != "PR feature (#1)\n\n* change feature\n\n* change feature" {
					t.Fatalf("squash: parents %v ahead %d message %q", last.Parents, cmp.GetAheadBy(), last.GetCommit().GetMessage())
				}
			case "rebase":
				// Replayed onto the new base: two NEW commits, linear history.
				if cmp.GetAheadBy() != 2 || len(last.Parents) != 1 {
					t.Fatalf("rebase: ahead %d parents %v", cmp.GetAheadBy(), last.Parents)
				}
				for _, c := range cmp.Commits {
					if c.GetSHA() == c1 || c.GetSHA() == c2 {
						t.Fatalf("rebase kept original SHA %s", c.GetSHA())
					}
					// Committed by GitHub but not signed ("About merge methods
					// on GitHub": rebase-merged commits are not verified).
					if c.GetCommit().GetVerification().GetVerified() || c.GetCommit().GetCommitter().GetName() != "GitHub" {
						t.Fatalf("rebased commit: want committer GitHub and unverified: %+v", c.GetCommit())
					}
				}
				if cmp.Commits[0].Parents[0].GetSHA() != base {
					t.Fatalf("first rebased commit's parent %s, want %s", cmp.Commits[0].Parents[0].GetSHA(), base)
				}
			}
			if verified := last.GetCommit().GetVerification().GetVerified(); verified != (method != "rebase") {
				t.Fatalf("%s result verified=%v", method, verified)
			}
			got, _, err := gh.PullRequests.Get(ctx, owner, repo, pr.GetNumber())
			ok(t, err)
			if !got.GetMerged() || got.GetState() != "closed" || got.GetMergeCommitSHA() != tip || got.GetMergedBy().GetLogin() == "" {
				t.Fatalf("PR after merge: merged %v state %s sha %s", got.GetMerged(), got.GetState(), got.GetMergeCommitSHA())
			}
			_, _, err = gh.PullRequests.Merge(ctx, owner, repo, pr.GetNumber(), "", &github.PullRequestOptions{MergeMethod: method})
			wantErr(t, err, 405, "Pull Request is not mergeable")
		})
	}
}

func TestMergeConflictsAndRaces(t *testing.T) {
	t.Parallel()
	srv, gh, _ := setup(t)
	commit(t, srv, "conflict", map[string]string{"README.md": "theirs\n"})
	commit(t, srv, "main", map[string]string{"README.md": "ours\n"})
	commit(t, srv, "ok", map[string]string{"ok.txt": "ok\n"})
	commit(t, srv, "draft", map[string]string{"d.txt": "d\n"})
	conflict := newPR(t, gh, "conflict", "main")
	okPR := newPR(t, gh, "ok", "main")
	_, _, err := gh.PullRequests.Create(ctx, owner, repo, &github.NewPullRequest{Title: github.String("d"), Head: github.String("draft"), Base: github.String("main"), Draft: github.Bool(true)})
	ok(t, err)

	for _, method := range []string{"merge", "squash", "rebase"} {
		_, _, err := gh.PullRequests.Merge(ctx, owner, repo, conflict.GetNumber(), "", &github.PullRequestOptions{MergeMethod: method})
		wantErr(t, err, 405, "Pull Request is not mergeable")
	}
	_, _, err = gh.PullRequests.Merge(ctx, owner, repo, 3, "", nil)
	wantErr(t, err, 405, "Pull Request is still a draft")

	// Base moves between the merge computation and the ref update.
	srv.Faults().BeforeMergeWrite(func(o, r string, n int) {
		if _, err := srv.CommitFiles(owner, repo, "main", map[string]string{"race.txt": "race\n"}, "concurrent push"); err != nil {
			t.Error(err)
		}
	})
	_, _, err = gh.PullRequests.Merge(ctx, owner, repo, okPR.GetNumber(), "", nil)
	wantErr(t, err, 405, "Base branch was modified. Review and try the merge again.")
	srv.Faults().BeforeMergeWrite(nil)
	res, _, err := gh.PullRequests.Merge(ctx, owner, repo, okPR.GetNumber(), "", nil)
	ok(t, err)
	if got, _ := srv.ReadFile(owner, repo, res.GetSHA(), "race.txt"); got != "race\n" {
		t.Fatal("retried merge lost the concurrent push")
	}
}

func TestUpdateBranch(t *testing.T) {
	t.Parallel()
	srv, gh, _ := setup(t)
	head := commit(t, srv, "feature", map[string]string{"f.txt": "f\n"})
	pr := newPR(t, gh, "feature", "main")
	_, _, err := gh.PullRequests.UpdateBranch(ctx, owner, repo, pr.GetNumber(), nil)
	wantErr(t, err, 422, "There are no new commits on the base branch.")
	base := commit(t, srv, "main", map[string]string{"m.txt": "m\n"})
	_, _, err = gh.PullRequests.UpdateBranch(ctx, owner, repo, pr.GetNumber(), &github.PullRequestBranchUpdateOptions{ExpectedHeadSHA: github.String(base)})
	wantErr(t, err, 422, "expected head sha didn’t match current head ref.")
	_, _, err = gh.PullRequests.UpdateBranch(ctx, owner, repo, pr.GetNumber(), &github.PullRequestBranchUpdateOptions{ExpectedHeadSHA: github.String(head)})
	wantErr(t, err, 202, "") // go-github reports 202 as *AcceptedError
	got, err := srv.PullRequest(owner, repo, pr.GetNumber())
	ok(t, err)
	c, _, err := gh.Repositories.GetCommit(ctx, owner, repo, got.HeadSHA, nil)
	ok(t, err)
	if len(c.Parents) != 2 || c.Parents[0].GetSHA() != head || c.Parents[1].GetSHA() != base || c.GetCommit().GetMessage() != "Merge branch 'main' into feature" {
		t.Fatalf("update-branch commit %+v", c)
	}

	commit(t, srv, "main", map[string]string{"f.txt": "main's f\n"})
	_, _, err = gh.PullRequests.UpdateBranch(ctx, owner, repo, pr.GetNumber(), nil)
	wantErr(t, err, 422, "merge conflict between base and head")
}

// A rebase merge always creates new commits, even when the head is already
// on the base and was itself committed by GitHub in the same second.
func TestRebaseOfUpToDateHeadStillRewrites(t *testing.T) {
	t.Parallel()
	srv, gh, main := setup(t)
	_, _, err := gh.Git.CreateRef(ctx, owner, repo, &github.Reference{Ref: github.String("refs/heads/feature"), Object: &github.GitObject{SHA: github.String(main)}})
	ok(t, err)
	res, _, err := gh.Repositories.CreateFile(ctx, owner, repo, "f.txt", &github.RepositoryContentFileOptions{Message: github.String("f"), Content: []byte("f"), Branch: github.String("feature")})
	ok(t, err)
	head := res.Commit.GetSHA()
	pr := newPR(t, gh, "feature", "main")
	merged, _, err := gh.PullRequests.Merge(ctx, owner, repo, pr.GetNumber(), "", &github.PullRequestOptions{MergeMethod: "rebase"})
	ok(t, err)
	if merged.GetSHA() == head {
		t.Fatalf("rebase merge reused the head commit %s", head)
	}
	c, _, err := gh.Repositories.GetCommit(ctx, owner, repo, merged.GetSHA(), nil)
	ok(t, err)
	orig, _, err := gh.Repositories.GetCommit(ctx, owner, repo, head, nil)
	ok(t, err)
	if c.GetCommit().GetTree().GetSHA() != orig.GetCommit().GetTree().GetSHA() || c.Parents[0].GetSHA() != main {
		t.Fatalf("rebased commit: tree %s parent %s", c.GetCommit().GetTree().GetSHA(), c.Parents[0].GetSHA())
	}
	if got, _ := srv.Refs(owner, repo); got["refs/heads/main"] != merged.GetSHA() {
		t.Fatalf("main at %s", got["refs/heads/main"])
	}
}
