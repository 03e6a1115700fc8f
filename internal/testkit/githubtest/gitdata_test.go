package githubtest_test

import (
	"encoding/base64"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

func TestRefs(t *testing.T) {
	t.Parallel()
	srv, gh, main := setup(t)
	feature := commit(t, srv, "feature", map[string]string{"f.txt": "f\n"})
	other := commit(t, srv, "other", map[string]string{"o.txt": "o\n"}) // diverges from feature

	ref, _, err := gh.Git.GetRef(ctx, owner, repo, "heads/main")
	ok(t, err)
	if ref.GetRef() != "refs/heads/main" || ref.GetObject().GetSHA() != main || ref.GetObject().GetType() != "commit" {
		t.Fatalf("GetRef: %+v", ref)
	}
	_, _, err = gh.Git.GetRef(ctx, owner, repo, "heads/nope")
	wantErr(t, err, 404, "Not Found")

	refs, _, err := gh.Git.ListMatchingRefs(ctx, owner, repo, &github.ReferenceListOptions{Ref: "heads/f"})
	ok(t, err)
	if len(refs) != 1 || refs[0].GetRef() != "refs/heads/feature" {
		t.Fatalf("matching heads/f: %v", refs)
	}

	create := []struct {
		name, ref, sha string
		status         int
		msg            string
	}{
		{"new branch", "refs/heads/new", main, 201, ""},
		{"exists", "refs/heads/new", main, 422, "Reference already exists"},
		{"unknown sha", "refs/heads/x", "0123456789012345678901234567890123456789", 422, "Object does not exist"},
		{"not fully qualified", "refs/y", main, 422, "not a valid ref name"},
		{"invalid name", "refs/heads/a..b", main, 422, "not a valid ref name"},
		{"tag", "refs/tags/v1", main, 201, ""},
	}
	for _, tc := range create {
		t.Run("create "+tc.name, func(t *testing.T) {
			r, resp, err := gh.Git.CreateRef(ctx, owner, repo, &github.Reference{Ref: github.String(tc.ref), Object: &github.GitObject{SHA: github.String(tc.sha)}})
			if tc.msg != "" {
				wantErr(t, err, tc.status, tc.msg)
				return
			}
			ok(t, err)
			if resp.StatusCode != tc.status || r.GetRef() != tc.ref || resp.Header.Get("Location") != r.GetURL() {
				t.Fatalf("%d %+v location %q", resp.StatusCode, r, resp.Header.Get("Location"))
			}
		})
	}

	update := []struct {
		name, ref, sha string
		force          bool
		msg            string
	}{
		{"fast-forward", "heads/new", feature, false, ""},
		{"non-fast-forward", "heads/new", other, false, "Update is not a fast forward"},
		{"forced", "heads/new", other, true, ""},
		{"missing ref", "heads/ghost", main, false, "Reference does not exist"},
		{"unknown sha", "heads/new", "0123456789012345678901234567890123456789", true, "Object does not exist"},
	}
	for _, tc := range update {
		t.Run("update "+tc.name, func(t *testing.T) {
			r, _, err := gh.Git.UpdateRef(ctx, owner, repo, &github.Reference{Ref: github.String(tc.ref), Object: &github.GitObject{SHA: github.String(tc.sha)}}, tc.force)
			if tc.msg != "" {
				wantErr(t, err, 422, tc.msg)
				return
			}
			ok(t, err)
			if r.GetObject().GetSHA() != tc.sha {
				t.Fatalf("ref at %s, want %s", r.GetObject().GetSHA(), tc.sha)
			}
		})
	}
	refsNow, err := srv.Refs(owner, repo)
	ok(t, err)
	if refsNow["refs/heads/new"] != other {
		t.Fatalf("refs/heads/new = %s, want %s", refsNow["refs/heads/new"], other)
	}

	_, err = gh.Git.DeleteRef(ctx, owner, repo, "heads/new")
	ok(t, err)
	_, err = gh.Git.DeleteRef(ctx, owner, repo, "heads/new")
	wantErr(t, err, 422, "Reference does not exist")
}

func TestGitDatabase(t *testing.T) {
	t.Parallel()
	_, gh, main := setup(t)
	blob, resp, err := gh.Git.CreateBlob(ctx, owner, repo, &github.Blob{Content: github.String(base64.StdEncoding.EncodeToString([]byte("bin\x00ary"))), Encoding: github.String("base64")})
	ok(t, err)
	if resp.StatusCode != 201 || resp.Header.Get("Location") == "" {
		t.Fatalf("CreateBlob: %d %v", resp.StatusCode, resp.Header)
	}
	got, _, err := gh.Git.GetBlob(ctx, owner, repo, blob.GetSHA())
	ok(t, err)
	if raw, _ := base64.StdEncoding.DecodeString(got.GetContent()); string(raw) != "bin\x00ary" {
		// GitHub wraps base64 at 60 columns; go-github keeps it as sent.
		dec, _ := base64.StdEncoding.DecodeString(stripNewlines(got.GetContent()))
		if string(dec) != "bin\x00ary" {
			t.Fatalf("blob content %q", got.GetContent())
		}
	}
	_, _, err = gh.Git.GetBlob(ctx, owner, repo, main) // a commit, not a blob
	wantErr(t, err, 404, "Not Found")

	base, _, err := gh.Git.GetCommit(ctx, owner, repo, main)
	ok(t, err)
	tree, _, err := gh.Git.CreateTree(ctx, owner, repo, base.GetTree().GetSHA(), []*github.TreeEntry{
		{Path: github.String("dir/new.txt"), Mode: github.String("100644"), Type: github.String("blob"), Content: github.String("new\n")},
		{Path: github.String("bin.dat"), Mode: github.String("100644"), Type: github.String("blob"), SHA: blob.SHA},
		{Path: github.String("README.md"), Mode: github.String("100644"), Type: github.String("blob")}, // nil SHA: delete
	})
	ok(t, err)
	paths := map[string]string{}
	full, _, err := gh.Git.GetTree(ctx, owner, repo, tree.GetSHA(), true)
	ok(t, err)
	for _, e := range full.Entries {
		paths[e.GetPath()] = e.GetType()
	}
	if paths["dir"] != "tree" || paths["dir/new.txt"] != "blob" || paths["bin.dat"] != "blob" || paths["README.md"] != "" {
		t.Fatalf("tree entries %v", paths)
	}
	_, _, err = gh.Git.CreateTree(ctx, owner, repo, "", []*github.TreeEntry{
		{Path: github.String("x"), Mode: github.String("100644"), Type: github.String("blob"), SHA: github.String("0123456789012345678901234567890123456789")},
	})
	wantErr(t, err, 422, "Invalid tree info")

	// No author/committer: GitHub creates and signs it (verified).
	signed, resp, err := gh.Git.CreateCommit(ctx, owner, repo, &github.Commit{Message: github.String("api commit"), Tree: tree, Parents: []*github.Commit{{SHA: github.String(main)}}}, nil)
	ok(t, err)
	if resp.StatusCode != 201 || !signed.GetVerification().GetVerified() || signed.GetCommitter().GetName() != "GitHub" {
		t.Fatalf("default commit: %d verified=%v committer=%v", resp.StatusCode, signed.GetVerification().GetVerified(), signed.GetCommitter())
	}
	if signed.GetAuthor().GetName() != githubtest.DefaultLogin {
		t.Fatalf("author %v, want the token's user", signed.GetAuthor())
	}
	custom, _, err := gh.Git.CreateCommit(ctx, owner, repo, &github.Commit{
		Message: github.String("custom"), Tree: tree, Parents: []*github.Commit{{SHA: github.String(main)}},
		Author: &github.CommitAuthor{Name: github.String("Ann"), Email: github.String("ann@example.com")},
	}, nil)
	ok(t, err)
	if v := custom.GetVerification(); v.GetVerified() || v.GetReason() != "unsigned" || custom.GetCommitter().GetName() != "Ann" {
		t.Fatalf("custom author commit: verification %+v committer %v", v, custom.GetCommitter())
	}
	rc, _, err := gh.Repositories.GetCommit(ctx, owner, repo, signed.GetSHA(), nil)
	ok(t, err)
	if !rc.GetCommit().GetVerification().GetVerified() || rc.GetCommit().GetMessage() != "api commit" || rc.Parents[0].GetSHA() != main {
		t.Fatalf("GET commit: %+v", rc.GetCommit())
	}
	_, _, err = gh.Git.CreateCommit(ctx, owner, repo, &github.Commit{Message: github.String("m"), Tree: &github.Tree{SHA: github.String(main)}}, nil)
	wantErr(t, err, 422, "Tree SHA does not exist")
	_, _, err = gh.Git.CreateCommit(ctx, owner, repo, &github.Commit{Message: github.String("m"), Tree: tree, Parents: []*github.Commit{{SHA: tree.SHA}}}, nil)
	wantErr(t, err, 422, "Parent SHA does not exist")
	_, _, err = gh.Git.GetCommit(ctx, owner, repo, tree.GetSHA())
	wantErr(t, err, 404, "Not Found")
}

func TestEmptyRepository(t *testing.T) {
	t.Parallel()
	srv := githubtest.New(t)
	ok(t, srv.CreateRepo(githubtest.RepoConfig{Owner: owner, Name: "empty"}))
	gh := client(t, srv, githubtest.DefaultToken)
	_, _, err := gh.Git.GetRef(ctx, owner, "empty", "heads/main")
	wantErr(t, err, 409, "Git Repository is empty.")
	_, _, err = gh.Git.CreateBlob(ctx, owner, "empty", &github.Blob{Content: github.String("x")})
	wantErr(t, err, 409, "Git Repository is empty.")
	// The contents API creates the first commit, as on GitHub.
	res, resp, err := gh.Repositories.CreateFile(ctx, owner, "empty", "first.txt", &github.RepositoryContentFileOptions{Message: github.String("first"), Content: []byte("1")})
	ok(t, err)
	if resp.StatusCode != 201 || len(res.Commit.Parents) != 0 {
		t.Fatalf("first commit: %d parents %v", resp.StatusCode, res.Commit.Parents)
	}
}

func stripNewlines(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\n' {
			out = append(out, s[i])
		}
	}
	return string(out)
}
