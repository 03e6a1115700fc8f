package githubtest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
	"time"
)

// Handlers for the Git database API: refs, blobs, trees and commits.

func (s *Server) refJSON(r *repoState, ref gitRef) obj {
	api := s.repoAPIURL(r)
	objURL := api + "/git/" + ref.Type + "s/" + ref.SHA
	return obj{
		"ref": ref.Name, "node_id": nodeID("REF", int64(len(ref.Name))) + "_" + ref.SHA[:7],
		"url":    api + "/git/" + ref.Name,
		"object": obj{"type": ref.Type, "sha": ref.SHA, "url": objURL},
	}
}

// emptyRepo answers 409 like GitHub for git data on a repository without
// commits; it reports whether it did.
func (s *Server) emptyRepo(c *call) bool {
	empty, err := s.isEmpty(c.ctx, c.repo)
	if err != nil {
		c.internal(err)
		return true
	}
	if empty {
		c.fail(http.StatusConflict, "Git Repository is empty.")
		return true
	}
	return false
}

func (s *Server) getRef(c *call) {
	name := "refs/" + c.params["ref"]
	sha, err := c.repo.git.refSHA(c.ctx, name)
	if err != nil {
		c.internal(err)
		return
	}
	// Only a real ref counts: rev-parse would also accept e.g. "refs/x^{tree}".
	if sha == "" || strings.ContainsAny(name, "^~:@{}") {
		if !s.emptyRepo(c) {
			c.fail(http.StatusNotFound, "Not Found")
		}
		return
	}
	typ, err := c.repo.git.objectType(c.ctx, sha)
	if err != nil {
		c.internal(err)
		return
	}
	c.json(http.StatusOK, s.refJSON(c.repo, gitRef{Name: name, SHA: sha, Type: typ}))
}

func (s *Server) matchingRefs(c *call) {
	if s.emptyRepo(c) {
		return
	}
	refs, err := c.repo.git.refs(c.ctx, "refs/")
	if err != nil {
		c.internal(err)
		return
	}
	out := []any{}
	for _, r := range refs {
		if strings.HasPrefix(r.Name, "refs/"+c.params["ref"]) && !strings.HasPrefix(r.Name, "refs/githubtest/") {
			out = append(out, s.refJSON(c.repo, r))
		}
	}
	c.json(http.StatusOK, pageOf(c, out, func(o any) any { return o })) // fake-fidelity: per_page/page like GitHub
}

// validRefName applies GitHub's rule (fully qualified, two slashes) and
// git's own check-ref-format.
func (s *Server) validRefName(ctx context.Context, g *gitRepo, ref string) bool {
	if !strings.HasPrefix(ref, "refs/") || strings.Count(ref, "/") < 2 {
		return false
	}
	_, err := g.run(ctx, nil, nil, "check-ref-format", ref)
	return err == nil
}

func branchOf(ref string) (string, bool) {
	return strings.CutPrefix(ref, "refs/heads/")
}

func (s *Server) createRef(c *call) {
	var in struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	}
	if !c.decode(&in) {
		return
	}
	if s.emptyRepo(c) {
		return
	}
	g := c.repo.git
	if !s.validRefName(c.ctx, g, in.Ref) {
		c.invalid(in.Ref + " is not a valid ref name.")
		return
	}
	typ, err := g.objectType(c.ctx, in.SHA)
	if err != nil {
		c.internal(err)
		return
	}
	if typ == "" || !fullSHA.MatchString(in.SHA) {
		c.invalid("Object does not exist")
		return
	}
	if branch, ok := branchOf(in.Ref); ok {
		if typ != "commit" {
			c.invalid("Object is not a commit")
			return
		}
		merges := false
		if s.wantsLinear(c.repo, branch) {
			if merges, err = s.newMerges(c.ctx, c.repo, "", in.SHA, nil); err != nil {
				c.internal(err)
				return
			}
		}
		if v := s.refRules(c.repo, c.tok, branch, opCreate, merges); v != "" {
			c.ruleViolation(http.StatusUnprocessableEntity, v)
			return
		}
	}
	if err := g.updateRef(c.ctx, in.Ref, in.SHA, zeroOID); err != nil {
		c.invalid("Reference already exists")
		return
	}
	s.notePush(c.repo, in.Ref, in.SHA, c.user.login) // fake-fidelity: require_last_push_approval
	if branch, ok := branchOf(in.Ref); ok {
		s.recordPush(c.repo, branch, c.user.login)
	}
	ref := gitRef{Name: in.Ref, SHA: in.SHA, Type: typ}
	o := s.refJSON(c.repo, ref)
	c.header.Set("Location", o["url"].(string))
	c.json(http.StatusCreated, o)
}

func (s *Server) updateRef(c *call) {
	var in struct {
		SHA   string `json:"sha"`
		Force bool   `json:"force"`
	}
	if !c.decode(&in) {
		return
	}
	if s.emptyRepo(c) {
		return
	}
	g := c.repo.git
	name := "refs/" + c.params["ref"]
	typ, err := g.objectType(c.ctx, in.SHA)
	if err != nil {
		c.internal(err)
		return
	}
	if typ == "" || !fullSHA.MatchString(in.SHA) {
		c.invalid("Object does not exist")
		return
	}
	branch, isBranch := branchOf(name)
	// Compare-and-swap loop: the fast-forward check is made against the
	// value that is then swapped, so a concurrent move is never lost.
	for attempt := 0; attempt < 5; attempt++ {
		old, err := g.refSHA(c.ctx, name)
		if err != nil {
			c.internal(err)
			return
		}
		if old == "" {
			c.invalid("Reference does not exist")
			return
		}
		ff := true
		if typ == "commit" && old != in.SHA {
			if ff, err = g.isAncestor(c.ctx, old, in.SHA); err != nil {
				c.internal(err)
				return
			}
		}
		if !ff && !in.Force {
			c.invalid("Update is not a fast forward")
			return
		}
		if isBranch {
			op := opUpdate
			if !ff {
				op = opForcePush
			}
			merges := false
			if typ == "commit" && s.wantsLinear(c.repo, branch) {
				if merges, err = s.newMerges(c.ctx, c.repo, old, in.SHA, nil); err != nil {
					c.internal(err)
					return
				}
			}
			if v := s.refRules(c.repo, c.tok, branch, op, merges); v != "" {
				c.ruleViolation(http.StatusUnprocessableEntity, v)
				return
			}
		}
		if err := g.updateRef(c.ctx, name, in.SHA, old); err != nil {
			if errors.Is(err, errRefMoved) {
				continue
			}
			c.internal(err)
			return
		}
		s.notePush(c.repo, name, in.SHA, c.user.login) // fake-fidelity: require_last_push_approval
		if isBranch {
			s.recordPush(c.repo, branch, c.user.login)
		}
		c.json(http.StatusOK, s.refJSON(c.repo, gitRef{Name: name, SHA: in.SHA, Type: typ}))
		return
	}
	c.invalid("Reference cannot be updated: it keeps changing")
}

func (s *Server) deleteRef(c *call) {
	if s.emptyRepo(c) {
		return
	}
	g := c.repo.git
	name := "refs/" + c.params["ref"]
	old, err := g.refSHA(c.ctx, name)
	if err != nil {
		c.internal(err)
		return
	}
	if old == "" {
		c.invalid("Reference does not exist")
		return
	}
	if branch, ok := branchOf(name); ok {
		if v := s.checkRules(c.repo, c.tok, branch, opDelete); v != "" {
			c.ruleViolation(http.StatusUnprocessableEntity, v)
			return
		}
	}
	if err := g.deleteRef(c.ctx, name, old); err != nil {
		c.invalid("Reference does not exist")
		return
	}
	c.noContent()
}

func (s *Server) createBlob(c *call) {
	var in struct {
		Content  string `json:"content"`
		Encoding string `json:"encoding"`
	}
	if !c.decode(&in) {
		return
	}
	if s.emptyRepo(c) {
		return
	}
	data := []byte(in.Content)
	switch in.Encoding {
	case "", "utf-8", "utf8":
	case "base64":
		b, err := decodeBase64(in.Content)
		if err != nil {
			c.invalid("content is not valid Base64")
			return
		}
		data = b
	default:
		c.invalid(fmt.Sprintf("encoding must be utf-8 or base64, not %q", in.Encoding))
		return
	}
	sha, err := c.repo.git.writeBlob(c.ctx, data)
	if err != nil {
		c.internal(err)
		return
	}
	u := s.repoAPIURL(c.repo) + "/git/blobs/" + sha
	c.header.Set("Location", u)
	c.json(http.StatusCreated, obj{"url": u, "sha": sha})
}

// decodeBase64 accepts GitHub's line-wrapped base64 as well as plain.
func decodeBase64(s string) ([]byte, error) {
	s = strings.NewReplacer("\n", "", "\r", "").Replace(s)
	return base64.StdEncoding.DecodeString(s)
}

// encodeBase64 wraps at 60 columns with a trailing newline, as GitHub does.
func encodeBase64(b []byte) string {
	enc := base64.StdEncoding.EncodeToString(b)
	var sb strings.Builder
	for len(enc) > 60 {
		sb.WriteString(enc[:60])
		sb.WriteByte('\n')
		enc = enc[60:]
	}
	sb.WriteString(enc)
	sb.WriteByte('\n')
	return sb.String()
}

func (s *Server) getBlob(c *call) {
	sha := c.params["file_sha"]
	typ, err := c.repo.git.objectType(c.ctx, sha)
	if err != nil {
		c.internal(err)
		return
	}
	if typ != "blob" || !fullSHA.MatchString(sha) {
		c.fail(http.StatusNotFound, "Not Found")
		return
	}
	data, err := c.repo.git.readBlob(c.ctx, sha)
	if err != nil {
		c.internal(err)
		return
	}
	c.json(http.StatusOK, obj{
		"content": encodeBase64(data), "encoding": "base64",
		"url": s.repoAPIURL(c.repo) + "/git/blobs/" + sha, "sha": sha, "size": len(data), "node_id": "B_" + sha,
	})
}

func (s *Server) treeJSON(ctx context.Context, r *repoState, sha string, recursive bool) (obj, error) {
	entries, err := r.git.lsTree(ctx, sha, recursive)
	if err != nil {
		return nil, err
	}
	api := s.repoAPIURL(r)
	items := []any{}
	for _, e := range entries {
		it := obj{"path": e.Path, "mode": e.Mode, "type": e.Type, "sha": e.SHA}
		switch e.Type {
		case "blob":
			it["size"] = e.Size
			it["url"] = api + "/git/blobs/" + e.SHA
		case "tree":
			it["url"] = api + "/git/trees/" + e.SHA
		}
		items = append(items, it)
	}
	return obj{"sha": sha, "url": api + "/git/trees/" + sha, "tree": items, "truncated": false}, nil
}

func (s *Server) createTree(c *call) {
	var in struct {
		BaseTree string `json:"base_tree"`
		Tree     []struct {
			Path    string  `json:"path"`
			Mode    string  `json:"mode"`
			Type    string  `json:"type"`
			SHA     *string `json:"sha"`
			Content *string `json:"content"`
		} `json:"tree"`
	}
	if !c.decode(&in) {
		return
	}
	if s.emptyRepo(c) {
		return
	}
	g := c.repo.git
	if in.BaseTree != "" {
		if typ, err := g.objectType(c.ctx, in.BaseTree); err != nil {
			c.internal(err)
			return
		} else if typ != "tree" {
			c.invalid("base_tree is not a valid tree oid")
			return
		}
	}
	var edits []edit
	for i, e := range in.Tree {
		p := e.Path
		if p == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || path.Clean(p) != p || strings.HasPrefix(p, "../") || p == ".." {
			c.invalid("Invalid tree info", obj{"resource": "Tree", "field": fmt.Sprintf("tree[%d].path", i), "code": "invalid"})
			return
		}
		if e.SHA != nil && e.Content != nil {
			c.invalid("Invalid tree info: use either sha or content, not both")
			return
		}
		typ := e.Type
		if typ == "" {
			typ = map[string]string{"040000": "tree", "160000": "commit"}[e.Mode]
			if typ == "" {
				typ = "blob"
			}
		}
		wantType := map[string]string{"100644": "blob", "100755": "blob", "120000": "blob", "040000": "tree", "160000": "commit"}[e.Mode]
		if e.Mode == "" || wantType != typ {
			c.invalid("Invalid tree info", obj{"resource": "Tree", "field": fmt.Sprintf("tree[%d].mode", i), "code": "invalid"})
			return
		}
		switch {
		case e.Content != nil:
			if typ != "blob" {
				c.invalid("Invalid tree info: content is only valid for blobs")
				return
			}
			sha, err := g.writeBlob(c.ctx, []byte(*e.Content))
			if err != nil {
				c.internal(err)
				return
			}
			edits = append(edits, edit{Path: p, Mode: e.Mode, Type: typ, SHA: sha})
		case e.SHA == nil:
			if in.BaseTree == "" {
				c.invalid("Invalid tree info: a deletion (sha null) needs base_tree")
				return
			}
			edits = append(edits, edit{Path: p, Delete: true})
		default:
			if typ != "commit" { // submodule commits live in another repository
				got, err := g.objectType(c.ctx, *e.SHA)
				if err != nil {
					c.internal(err)
					return
				}
				if got != typ || !fullSHA.MatchString(*e.SHA) {
					c.invalid("Invalid tree info", obj{"resource": "Tree", "field": fmt.Sprintf("tree[%d].sha", i), "code": "invalid"})
					return
				}
			}
			edits = append(edits, edit{Path: p, Mode: e.Mode, Type: typ, SHA: *e.SHA})
		}
	}
	sha, err := g.buildTree(c.ctx, in.BaseTree, edits)
	if errors.Is(err, errBadTree) {
		c.invalid("Invalid tree info: " + err.Error())
		return
	}
	if err != nil {
		c.internal(err)
		return
	}
	o, err := s.treeJSON(c.ctx, c.repo, sha, false)
	if err != nil {
		c.internal(err)
		return
	}
	c.header.Set("Location", o["url"].(string))
	c.json(http.StatusCreated, o)
}

func (s *Server) getTree(c *call) {
	g := c.repo.git
	ref := c.params["tree_sha"]
	sha := ""
	typ, err := g.objectType(c.ctx, ref)
	if err != nil {
		c.internal(err)
		return
	}
	switch {
	case typ == "tree" || typ == "commit":
		if sha, err = g.out(c.ctx, "rev-parse", "--verify", ref+"^{tree}"); err != nil {
			c.internal(err)
			return
		}
	default:
		// GitHub also accepts a branch or tag name here.
		commit, err := g.resolveCommitish(c.ctx, ref)
		if err != nil {
			c.internal(err)
			return
		}
		if commit != "" {
			if sha, err = g.treeOf(c.ctx, commit); err != nil {
				c.internal(err)
				return
			}
		}
	}
	if sha == "" {
		c.fail(http.StatusNotFound, "Not Found")
		return
	}
	recursive := c.query("recursive") != "" && c.query("recursive") != "0" && c.query("recursive") != "false"
	o, err := s.treeJSON(c.ctx, c.repo, sha, recursive)
	if err != nil {
		c.internal(err)
		return
	}
	c.json(http.StatusOK, o)
}

type gitIdentity struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Date  string `json:"date"`
}

func (id *gitIdentity) signature(now time.Time) signature {
	sig := signature{Name: id.Name, Email: id.Email, Date: now}
	if t, err := time.Parse(time.RFC3339, id.Date); err == nil {
		sig.Date = t
	}
	return sig
}

func (s *Server) gitCommitJSON(ctx context.Context, r *repoState, ci commitInfo) obj {
	api, html := s.repoAPIURL(r), s.repoHTMLURL(r)
	parents := []any{}
	for _, p := range ci.Parents {
		parents = append(parents, obj{"sha": p, "url": api + "/git/commits/" + p, "html_url": html + "/commit/" + p})
	}
	return obj{
		"sha": ci.SHA, "node_id": "C_" + ci.SHA, "url": api + "/git/commits/" + ci.SHA, "html_url": html + "/commit/" + ci.SHA,
		"author": gitUserJSON(ci.Author), "committer": gitUserJSON(ci.Committer),
		"message":      trimMessage(ci.Message),
		"tree":         obj{"sha": ci.Tree, "url": api + "/git/trees/" + ci.Tree},
		"parents":      parents,
		"verification": s.verificationJSON(ctx, r, ci.SHA),
	}
}

func (s *Server) createGitCommit(c *call) {
	var in struct {
		Message   string       `json:"message"`
		Tree      string       `json:"tree"`
		Parents   []string     `json:"parents"`
		Author    *gitIdentity `json:"author"`
		Committer *gitIdentity `json:"committer"`
		Signature string       `json:"signature"`
	}
	if !c.decode(&in) {
		return
	}
	if s.emptyRepo(c) {
		return
	}
	g := c.repo.git
	if typ, err := g.objectType(c.ctx, in.Tree); err != nil {
		c.internal(err)
		return
	} else if typ != "tree" || !fullSHA.MatchString(in.Tree) {
		c.invalid("Tree SHA does not exist")
		return
	}
	for _, p := range in.Parents {
		if typ, err := g.objectType(c.ctx, p); err != nil {
			c.internal(err)
			return
		} else if typ != "commit" || !fullSHA.MatchString(p) {
			c.invalid("Parent SHA does not exist or is not a commit object")
			return
		}
	}
	now := s.now()
	plain := in.Author == nil && in.Committer == nil && in.Signature == ""
	author, committer, signed := s.apiIdentity(c.tok, c.user, now)
	webFlowCommit := plain && signed
	if in.Author != nil {
		author = in.Author.signature(now)
	}
	if !plain {
		committer = author
		if in.Committer != nil {
			committer = in.Committer.signature(now)
		}
	}
	var sha string
	var err error
	if in.Signature != "" {
		sha, err = writeSignedCommit(c.ctx, g, in.Tree, in.Parents, in.Message, author, committer, in.Signature)
	} else {
		sha, err = g.commitTree(c.ctx, in.Tree, in.Parents, in.Message, author, committer)
	}
	if err != nil {
		c.internal(err)
		return
	}
	if webFlowCommit {
		s.markVerified(c.repo, sha)
	}
	ci, err := g.commit(c.ctx, sha)
	if err != nil {
		c.internal(err)
		return
	}
	o := s.gitCommitJSON(c.ctx, c.repo, ci)
	c.header.Set("Location", o["url"].(string))
	c.json(http.StatusCreated, o)
}

// writeSignedCommit stores a commit with the caller's gpgsig header; the
// server cannot check it, so such commits stay unverified ("unsigned").
func writeSignedCommit(ctx context.Context, g *gitRepo, tree string, parents []string, msg string, author, committer signature, sig string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "tree %s\n", tree)
	for _, p := range parents {
		fmt.Fprintf(&b, "parent %s\n", p)
	}
	fmt.Fprintf(&b, "author %s <%s> %s\n", author.Name, author.Email, author.gitDate())
	fmt.Fprintf(&b, "committer %s <%s> %s\n", committer.Name, committer.Email, committer.gitDate())
	fmt.Fprintf(&b, "gpgsig %s\n", strings.ReplaceAll(strings.TrimRight(sig, "\n"), "\n", "\n "))
	fmt.Fprintf(&b, "\n%s", msg)
	out, err := g.run(ctx, []byte(b.String()), nil, "hash-object", "-t", "commit", "-w", "--stdin")
	return strings.TrimSpace(string(out)), err
}

func (s *Server) getGitCommit(c *call) {
	sha := c.params["commit_sha"]
	typ, err := c.repo.git.objectType(c.ctx, sha)
	if err != nil {
		c.internal(err)
		return
	}
	if typ != "commit" {
		c.fail(http.StatusNotFound, "Not Found")
		return
	}
	full, err := c.repo.git.commitOf(c.ctx, sha)
	if err != nil {
		c.internal(err)
		return
	}
	ci, err := c.repo.git.commit(c.ctx, full)
	if err != nil {
		c.internal(err)
		return
	}
	c.json(http.StatusOK, s.gitCommitJSON(c.ctx, c.repo, ci))
}
