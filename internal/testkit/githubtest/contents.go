package githubtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"
)

// contentItem renders one entry for the contents API (file, dir, symlink or
// submodule) as seen at ref.
func (s *Server) contentItem(ctx context.Context, r *repoState, e treeEntry, ref string, withContent bool) (obj, error) {
	api, html := s.repoAPIURL(r), s.repoHTMLURL(r)
	esc := (&url.URL{Path: e.Path}).EscapedPath()
	typ := map[string]string{"blob": "file", "tree": "dir", "commit": "submodule"}[e.Type]
	if e.Mode == "120000" {
		typ = "symlink"
	}
	size := e.Size
	if size < 0 {
		size = 0
	}
	gitURL := api + "/git/" + e.Type + "s/" + e.SHA
	htmlURL := html + "/blob/" + ref + "/" + esc
	if typ == "dir" {
		htmlURL = html + "/tree/" + ref + "/" + esc
	}
	var download any = s.URL + "/" + r.owner + "/" + r.name + "/raw/" + ref + "/" + esc
	if typ == "dir" || typ == "submodule" {
		download = nil
	}
	self := api + "/contents/" + esc + "?ref=" + url.QueryEscape(ref)
	o := obj{
		"type": typ, "size": size, "name": path.Base(e.Path), "path": e.Path, "sha": e.SHA,
		"url": self, "git_url": gitURL, "html_url": htmlURL, "download_url": download,
		"_links": obj{"self": self, "git": gitURL, "html": htmlURL},
	}
	switch typ {
	case "symlink":
		target, err := r.git.readBlob(ctx, e.SHA)
		if err != nil {
			return nil, err
		}
		o["target"] = string(target)
	case "submodule":
		o["submodule_git_url"] = s.URL + "/" + r.owner + "/" + path.Base(e.Path) + ".git"
	case "file":
		if withContent {
			data, err := r.git.readBlob(ctx, e.SHA)
			if err != nil {
				return nil, err
			}
			o["content"], o["encoding"] = encodeBase64(data), "base64"
		}
	}
	return o, nil
}

func (s *Server) getContents(c *call) {
	g := c.repo.git
	ref := c.query("ref")
	if ref == "" {
		ref = c.repo.defaultBranch
	}
	commit, err := g.resolveCommitish(c.ctx, ref)
	if err != nil {
		c.internal(err)
		return
	}
	if commit == "" {
		if empty, err := s.isEmpty(c.ctx, c.repo); err != nil {
			c.internal(err)
		} else if empty {
			c.fail(http.StatusNotFound, "This repository is empty.")
		} else {
			c.fail(http.StatusNotFound, "No commit found for the ref "+ref)
		}
		return
	}
	p := strings.Trim(c.params["path"], "/")
	entries, err := g.lsTree(c.ctx, commit, false, p)
	if err != nil {
		c.internal(err)
		return
	}
	var entry *treeEntry
	for i := range entries {
		if entries[i].Path == p {
			entry = &entries[i]
		}
	}
	if entry == nil {
		c.fail(http.StatusNotFound, "Not Found")
		return
	}
	if entry.Type != "tree" {
		o, err := s.contentItem(c.ctx, c.repo, *entry, ref, true)
		if err != nil {
			c.internal(err)
			return
		}
		c.json(http.StatusOK, o)
		return
	}
	children, err := g.lsTree(c.ctx, commit, false, p+"/")
	if err != nil {
		c.internal(err)
		return
	}
	list := []any{}
	for _, e := range children {
		o, err := s.contentItem(c.ctx, c.repo, e, ref, false)
		if err != nil {
			c.internal(err)
			return
		}
		list = append(list, o)
	}
	c.json(http.StatusOK, list)
}

type contentsPut struct {
	Message   string       `json:"message"`
	Content   string       `json:"content"`
	SHA       string       `json:"sha"`
	Branch    string       `json:"branch"`
	Committer *gitIdentity `json:"committer"`
	Author    *gitIdentity `json:"author"`
}

// putContents creates or updates one file with compare-and-swap semantics:
// the caller's sha must be the file's current blob, checked against the
// same branch tip the new commit is swapped onto.
func (s *Server) putContents(c *call) {
	var in contentsPut
	if !c.decode(&in) {
		return
	}
	p := strings.Trim(c.params["path"], "/")
	if p == "" || path.Clean(p) != p || strings.HasPrefix(p, "../") || strings.Contains(p, "/../") {
		c.invalid("path is invalid", obj{"resource": "Commit", "field": "path", "code": "invalid"})
		return
	}
	data, err := decodeBase64(in.Content)
	if err != nil {
		c.invalid("content is not valid Base64", obj{"resource": "Commit", "field": "content", "code": "invalid"})
		return
	}
	g := c.repo.git
	branch := in.Branch
	if branch == "" {
		branch = c.repo.defaultBranch
	}
	if v := s.checkRules(c.repo, c.tok, branch, opUpdate); v != "" {
		c.ruleViolation(http.StatusConflict, v)
		return
	}
	blob, err := g.writeBlob(c.ctx, data)
	if err != nil {
		c.internal(err)
		return
	}
	now := s.now()
	author, committer, signed := s.apiIdentity(c.tok, c.user, now) // see commits.go
	webFlowCommit := in.Author == nil && in.Committer == nil && signed
	if in.Committer != nil {
		committer = in.Committer.signature(now)
		author = committer
	}
	if in.Author != nil {
		author = in.Author.signature(now)
		if in.Committer == nil {
			committer = author
		}
	}
	ref := "refs/heads/" + branch
	c.repo.putMu.Lock()
	defer c.repo.putMu.Unlock()
	for attempt := 0; attempt < 20; attempt++ {
		tip, err := g.commitOf(c.ctx, ref)
		if err != nil {
			c.internal(err)
			return
		}
		baseTree := ""
		var parents []string
		old := tip
		if tip == "" {
			empty, err := s.isEmpty(c.ctx, c.repo)
			if err != nil {
				c.internal(err)
				return
			}
			// Only an empty repository gets its first branch from a PUT.
			if !empty || branch != c.repo.defaultBranch {
				c.fail(http.StatusNotFound, fmt.Sprintf("Branch %s not found", branch))
				return
			}
			old = zeroOID
		} else {
			if baseTree, err = g.treeOf(c.ctx, tip); err != nil {
				c.internal(err)
				return
			}
			parents = []string{tip}
		}
		existing := ""
		if tip != "" {
			entries, err := g.lsTree(c.ctx, tip, false, p)
			if err != nil {
				c.internal(err)
				return
			}
			for _, e := range entries {
				if e.Path == p {
					if e.Type != "blob" {
						c.invalid(p+" is a directory", obj{"resource": "Commit", "field": "path", "code": "invalid"})
						return
					}
					existing = e.SHA
				}
			}
		}
		switch {
		case existing != "" && in.SHA == "":
			c.invalid("Invalid request.\n\n\"sha\" wasn't supplied.", obj{"resource": "Commit", "field": "sha", "code": "missing_field"})
			return
		case existing != in.SHA:
			c.fail(http.StatusConflict, fmt.Sprintf("%s does not match %s", p, in.SHA))
			return
		}
		tree, err := g.buildTree(c.ctx, baseTree, []edit{{Path: p, Mode: "100644", Type: "blob", SHA: blob}})
		if errors.Is(err, errBadTree) {
			c.invalid(err.Error())
			return
		}
		if err != nil {
			c.internal(err)
			return
		}
		sha, err := g.commitTree(c.ctx, tree, parents, in.Message, author, committer)
		if err != nil {
			c.internal(err)
			return
		}
		if err := g.updateRef(c.ctx, ref, sha, old); err != nil {
			if errors.Is(err, errRefMoved) {
				continue // the branch moved: re-check the file against the new tip
			}
			c.internal(err)
			return
		}
		if webFlowCommit {
			s.markVerified(c.repo, sha)
		}
		s.notePush(c.repo, ref, sha, c.user.login)
		s.recordPush(c.repo, branch, c.user.login) // see push.go
		ci, err := g.commit(c.ctx, sha)
		if err != nil {
			c.internal(err)
			return
		}
		item, err := s.contentItem(c.ctx, c.repo, treeEntry{Mode: "100644", Type: "blob", SHA: blob, Path: p, Size: int64(len(data))}, branch, false)
		if err != nil {
			c.internal(err)
			return
		}
		status := http.StatusOK
		if existing == "" {
			status = http.StatusCreated
		}
		c.json(status, obj{"content": item, "commit": s.gitCommitJSON(c.ctx, c.repo, ci)})
		return
	}
	c.fail(http.StatusConflict, fmt.Sprintf("%s does not match %s", p, in.SHA))
}

// rawPathRE matches download_url links: /<owner>/<repo>/raw/<ref>/<path>.
var rawPathRE = regexp.MustCompile(`^/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)/raw/(.+)$`)

func isRawPath(p string) bool {
	m := rawPathRE.FindStringSubmatch(p)
	return m != nil && m[1] != "repos" && m[1] != "api"
}

// serveRaw serves a file's bytes like raw.githubusercontent.com, so the
// download_url of the contents API works. The ref may contain slashes: the
// longest prefix that names a commit wins. Private repositories need a
// token with read access.
func (s *Server) serveRaw(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	cw := &countingWriter{ResponseWriter: w}
	rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Operation: r.Method + " " + rawTemplate}
	defer func() {
		rec.Status, rec.ResponseBytes, rec.Duration = cw.status, cw.n, time.Since(start)
		s.log.add(rec)
	}()
	m := rawPathRE.FindStringSubmatch(r.URL.Path)
	repo := s.repo(m[1], m[2])
	s.mu.Lock()
	tok := s.tokens[tokenFrom(r)]
	s.mu.Unlock()
	if tok != nil {
		rec.Login = tok.login
	}
	if repo == nil || (repo.private && (tok == nil || tok.accessTo(repo.fullName()) < Read)) || r.Method != http.MethodGet {
		http.Error(cw, "404: Not Found", http.StatusNotFound)
		return
	}
	parts := strings.Split(m[3], "/")
	for i := len(parts) - 1; i >= 1; i-- {
		ref, p := strings.Join(parts[:i], "/"), strings.Join(parts[i:], "/")
		commit, err := repo.git.resolveCommitish(r.Context(), ref)
		if err != nil || commit == "" {
			continue
		}
		data, err := repo.git.run(r.Context(), nil, nil, "cat-file", "blob", commit+":"+p)
		if err != nil {
			break
		}
		cw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		cw.Write(data)
		return
	}
	http.Error(cw, "404: Not Found", http.StatusNotFound)
}

const rawTemplate = "/{owner}/{repo}/raw/{ref}/{path}"
