package githubtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Seeding helpers: direct access to the state for test setup and
// assertions, without going through (and being counted by) the API.

func ctxBG() context.Context { return context.Background() }

// seedAuthor is the identity of seeded commits; they are not signed by the
// server, so their verification is "unsigned", like a pushed commit.
var seedAuthor = signature{Name: "githubtest", Email: "githubtest@users.noreply.localhost"}

// CommitFiles commits files (path -> content) onto branch and returns the
// new commit SHA. A missing branch is created from the default branch (or
// as the first commit of an empty repository).
func (s *Server) CommitFiles(owner, repo, branch string, files map[string]string, message string) (string, error) {
	r, err := s.mustRepo(owner, repo)
	if err != nil {
		return "", err
	}
	ctx := ctxBG()
	g := r.git
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var edits []edit
	for _, p := range paths {
		sha, err := g.writeBlob(ctx, []byte(files[p]))
		if err != nil {
			return "", fmt.Errorf("githubtest: CommitFiles: %w", err)
		}
		edits = append(edits, edit{Path: p, Mode: "100644", Type: "blob", SHA: sha})
	}
	ref := "refs/heads/" + branch
	for attempt := 0; attempt < 20; attempt++ {
		tip, err := g.commitOf(ctx, ref)
		if err != nil {
			return "", err
		}
		old := tip
		parent := tip
		if tip == "" {
			old = zeroOID
			if parent, err = g.commitOf(ctx, "refs/heads/"+r.defaultBranch); err != nil {
				return "", err
			}
		}
		baseTree := ""
		var parents []string
		if parent != "" {
			if baseTree, err = g.treeOf(ctx, parent); err != nil {
				return "", err
			}
			parents = []string{parent}
		}
		tree, err := g.buildTree(ctx, baseTree, edits)
		if err != nil {
			return "", fmt.Errorf("githubtest: CommitFiles: %w", err)
		}
		sig := seedAuthor
		sig.Date = s.now()
		sha, err := g.commitTree(ctx, tree, parents, message, sig, sig)
		if err != nil {
			return "", fmt.Errorf("githubtest: CommitFiles: %w", err)
		}
		if err := g.updateRef(ctx, ref, sha, old); err != nil {
			if errors.Is(err, errRefMoved) {
				continue
			}
			return "", err
		}
		s.notePush(r, ref, sha, seedPusher)
		return sha, nil
	}
	return "", fmt.Errorf("githubtest: CommitFiles: %s keeps moving", ref)
}

// CreateHistory appends n commits to branch in one git fast-import run
// (50k commits take seconds), each changing history.txt, and returns the
// new tip. A missing branch starts from the default branch or from scratch.
func (s *Server) CreateHistory(owner, repo, branch string, n int) (string, error) {
	r, err := s.mustRepo(owner, repo)
	if err != nil {
		return "", err
	}
	if n <= 0 {
		return "", fmt.Errorf("githubtest: CreateHistory: n must be positive")
	}
	ctx := ctxBG()
	g := r.git
	ref := "refs/heads/" + branch
	old, err := g.commitOf(ctx, ref)
	if err != nil {
		return "", err
	}
	from := old
	if from == "" {
		if from, err = g.commitOf(ctx, "refs/heads/"+r.defaultBranch); err != nil {
			return "", err
		}
	}
	tmp := fmt.Sprintf("refs/githubtest/import-%d", s.nextID())
	var buf bytes.Buffer
	base := s.now().Add(-time.Duration(n) * time.Second).Unix()
	for i := 1; i <= n; i++ {
		msg := fmt.Sprintf("history commit %d\n", i)
		content := fmt.Sprintf("line %d\n", i)
		fmt.Fprintf(&buf, "commit %s\n", tmp)
		fmt.Fprintf(&buf, "author %s <%s> %d +0000\n", seedAuthor.Name, seedAuthor.Email, base+int64(i))
		fmt.Fprintf(&buf, "committer %s <%s> %d +0000\n", seedAuthor.Name, seedAuthor.Email, base+int64(i))
		fmt.Fprintf(&buf, "data %d\n%s", len(msg), msg)
		if i == 1 && from != "" {
			fmt.Fprintf(&buf, "from %s\n", from)
		}
		fmt.Fprintf(&buf, "M 100644 inline history.txt\ndata %d\n%s\n", len(content), content)
	}
	// --done makes a truncated stream an error instead of a partial import.
	buf.WriteString("done\n")
	if _, err := g.run(ctx, buf.Bytes(), nil, "fast-import", "--quiet", "--done"); err != nil {
		return "", fmt.Errorf("githubtest: CreateHistory: %w", err)
	}
	tip, err := g.refSHA(ctx, tmp)
	if err != nil {
		return "", err
	}
	if err := g.deleteRef(ctx, tmp, tip); err != nil {
		return "", err
	}
	if old == "" {
		old = zeroOID
	}
	if err := g.updateRef(ctx, ref, tip, old); err != nil {
		return "", fmt.Errorf("githubtest: CreateHistory: %w", err)
	}
	s.notePush(r, ref, tip, seedPusher)
	return tip, nil
}

// ReadFile returns a file's content at ref (branch, tag or SHA).
func (s *Server) ReadFile(owner, repo, ref, path string) (string, error) {
	r, err := s.mustRepo(owner, repo)
	if err != nil {
		return "", err
	}
	sha, err := r.git.resolveCommitish(ctxBG(), ref)
	if err != nil || sha == "" {
		return "", fmt.Errorf("githubtest: ReadFile: unknown ref %q: %v", ref, err)
	}
	b, err := r.git.run(ctxBG(), nil, nil, "cat-file", "blob", sha+":"+path)
	if err != nil {
		return "", fmt.Errorf("githubtest: ReadFile %s at %s: %w", path, ref, err)
	}
	return string(b), nil
}

// Refs returns every ref ("refs/heads/main") with the SHA it points to.
func (s *Server) Refs(owner, repo string) (map[string]string, error) {
	r, err := s.mustRepo(owner, repo)
	if err != nil {
		return nil, err
	}
	refs, err := r.git.refs(ctxBG(), "refs/")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, ref := range refs {
		out[ref.Name] = ref.SHA
	}
	return out, nil
}

// SetRef points a full ref at sha (creating it), or deletes it for "".
func (s *Server) SetRef(owner, repo, ref, sha string) error {
	r, err := s.mustRepo(owner, repo)
	if err != nil {
		return err
	}
	if sha == "" {
		_, err := r.git.run(ctxBG(), nil, nil, "update-ref", "-d", ref)
		return err
	}
	if _, err = r.git.run(ctxBG(), nil, nil, "update-ref", ref, sha); err != nil {
		return err
	}
	s.notePush(r, ref, sha, seedPusher)
	return nil
}

// PullRequest is a snapshot of a pull request's state.
type PullRequest struct {
	Number                   int
	Title, Body, State, User string
	Head, Base               string // branch names
	HeadSHA, BaseSHA         string
	Draft, Merged            bool
	MergeCommitSHA           string
	Labels                   []string
	RequestedReviewers       []string
}

// NewPullRequest describes a pull request for OpenPullRequest.
type NewPullRequest struct {
	Head, Base, Title, Body string
	User                    string // author login (default DefaultLogin)
	Draft                   bool
}

// OpenPullRequest opens a pull request directly (no validation beyond the
// branches existing) and returns its number.
func (s *Server) OpenPullRequest(owner, repo string, np NewPullRequest) (int, error) {
	r, err := s.mustRepo(owner, repo)
	if err != nil {
		return 0, err
	}
	head, err := r.git.commitOf(ctxBG(), "refs/heads/"+np.Head)
	if err != nil || head == "" {
		return 0, fmt.Errorf("githubtest: OpenPullRequest: unknown head branch %q", np.Head)
	}
	base, err := r.git.commitOf(ctxBG(), "refs/heads/"+np.Base)
	if err != nil || base == "" {
		return 0, fmt.Errorf("githubtest: OpenPullRequest: unknown base branch %q", np.Base)
	}
	if np.User == "" {
		np.User = DefaultLogin
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r.nextNumber++
	now := s.now()
	p := &pull{id: s.nextIDLocked(), number: r.nextNumber, title: np.Title, body: np.Body, state: "open", draft: np.Draft,
		user: s.userLocked(np.User), headRef: np.Head, baseRef: np.Base, headSHA: head, baseSHA: base,
		createdAt: now, updatedAt: now, maintainerCanModify: true}
	r.pulls[p.number] = p
	return p.number, nil
}

// Approve records an APPROVED review by login on the pull request's head.
func (s *Server) Approve(owner, repo string, number int, login string) error {
	r, err := s.mustRepo(owner, repo)
	if err != nil {
		return err
	}
	s.mu.Lock()
	p := r.pulls[number]
	s.mu.Unlock()
	if p == nil {
		return fmt.Errorf("githubtest: Approve: no pull request #%d", number)
	}
	head, _, err := s.refreshSHAs(ctxBG(), r, p)
	if err != nil {
		return err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	p.reviews = append(p.reviews, &review{id: s.nextIDLocked(), user: s.userLocked(login), state: "APPROVED", commitID: head, submittedAt: &now})
	return nil
}

// PullRequest returns a snapshot of pull request number.
func (s *Server) PullRequest(owner, repo string, number int) (PullRequest, error) {
	r, err := s.mustRepo(owner, repo)
	if err != nil {
		return PullRequest{}, err
	}
	s.mu.Lock()
	p := r.pulls[number]
	s.mu.Unlock()
	if p == nil {
		return PullRequest{}, fmt.Errorf("githubtest: no pull request #%d in %s/%s", number, owner, repo)
	}
	head, base, err := s.refreshSHAs(ctxBG(), r, p)
	if err != nil {
		return PullRequest{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := PullRequest{
		Number: p.number, Title: p.title, Body: p.body, State: p.state, User: p.user.login,
		Head: p.headRef, Base: p.baseRef, HeadSHA: head, BaseSHA: base, Draft: p.draft, Merged: p.merged,
		MergeCommitSHA: p.mergeCommitSHA, RequestedReviewers: append([]string(nil), p.requested...),
	}
	for _, key := range r.issueLabels[number] {
		if l := r.labels[key]; l != nil {
			out.Labels = append(out.Labels, l.name)
		}
	}
	return out, nil
}

// Comment is an issue or pull request comment.
type Comment struct {
	ID   int64
	User string
	Body string
}

// Comments returns the comments on issue/pull request number, oldest first.
func (s *Server) Comments(owner, repo string, number int) ([]Comment, error) {
	r, err := s.mustRepo(owner, repo)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, c := range r.comments[number] {
		out = append(out, Comment{ID: c.id, User: c.user.login, Body: c.body})
	}
	return out, nil
}

// Deployment is a snapshot of a deployment and its statuses (oldest first).
type Deployment struct {
	ID                    int64
	SHA, Ref, Environment string
	Creator               string
	States                []string
}

// Deployments returns the repository's deployments, oldest first.
func (s *Server) Deployments(owner, repo string) ([]Deployment, error) {
	r, err := s.mustRepo(owner, repo)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Deployment
	for _, d := range r.deployments {
		dep := Deployment{ID: d.id, SHA: d.sha, Ref: d.ref, Environment: d.environment, Creator: d.creator.login}
		for _, st := range d.statuses {
			dep.States = append(dep.States, st.state)
		}
		out = append(out, dep)
	}
	return out, nil
}

// CloneURL is the smart-HTTP URL of a repository with token embedded as
// Basic-auth credentials, ready for git clone/push.
func (s *Server) CloneURL(owner, repo, token string) string {
	u := s.URL + "/" + owner + "/" + repo + ".git"
	if token == "" {
		return u
	}
	return strings.Replace(u, "http://", "http://x-access-token:"+token+"@", 1)
}

// DefaultBranch returns a repository's default branch.
func (s *Server) DefaultBranch(owner, repo string) (string, bool) {
	r := s.repo(owner, repo)
	if r == nil {
		return "", false
	}
	return r.defaultBranch, true
}
