package githubtest

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// repoState is one repository: git data in a bare repository, the rest in
// memory (guarded by Server.mu).
type repoState struct {
	id            int64
	owner, name   string
	defaultBranch string
	private       bool
	description   string
	createdAt     time.Time
	git           *gitRepo
	// putMu serializes contents PUTs per repository: correctness comes from
	// the compare-and-swap ref update, this only saves 19 of 20 racing
	// writers from building commits that are bound to lose.
	putMu sync.Mutex

	nextNumber  int
	pulls       map[int]*pull
	labels      map[string]*label // by lower-case name
	issueLabels map[int][]string  // issue number -> lower-case label names
	comments    map[int][]*comment
	deployments []*deployment
	statuses    map[string][]*commitStatus // by commit SHA
	checkRuns   map[string][]*checkRun     // by commit SHA
	rulesets    []*ruleset
	verified    map[string]bool // commits the server created as "web-flow"
	pushes      map[string]push // branch -> last push the server saw (rules_merge.go)

	allowMergeCommit, allowSquashMerge, allowRebaseMerge bool
	deleteBranchOnMerge                                  bool
}

func (r *repoState) fullName() string { return r.owner + "/" + r.name }

// RepoConfig describes a repository for CreateRepo.
type RepoConfig struct {
	Owner, Name   string
	DefaultBranch string // default "main"
	Private       bool
	Description   string
	// AutoInit creates an initial commit with README.md on the default
	// branch, like GitHub's "Initialize this repository" option.
	AutoInit bool
	// Merge button settings, as GET /repos/{owner}/{repo} returns them;
	// nil means GitHub's default (allowed). At least one must stay allowed,
	// as on GitHub's settings page.
	AllowMergeCommit, AllowSquashMerge, AllowRebaseMerge *bool
	// DeleteBranchOnMerge deletes a pull request's head branch after its
	// merge ("Automatically delete head branches"; default off).
	DeleteBranchOnMerge bool
	// FromDir is a bare repository to start from instead of an empty one:
	// the Dir() copy of a repository seeded once on another server, so a
	// suite that needs the same history in many fresh worlds builds it once
	// and copies a few files per world. Only the git data comes along (pull
	// requests, rulesets, statuses and the rest start empty).
	FromDir string
}

var namePart = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// CreateRepo creates an empty bare repository (or one initial commit with
// AutoInit).
func (s *Server) CreateRepo(cfg RepoConfig) error {
	if !namePart.MatchString(cfg.Owner) || !namePart.MatchString(cfg.Name) || strings.HasSuffix(cfg.Name, ".git") {
		return fmt.Errorf("githubtest: CreateRepo: invalid owner/name %q/%q", cfg.Owner, cfg.Name)
	}
	if cfg.DefaultBranch == "" {
		cfg.DefaultBranch = "main"
	}
	allowMerge, allowSquash, allowRebase := boolOr(cfg.AllowMergeCommit, true), boolOr(cfg.AllowSquashMerge, true), boolOr(cfg.AllowRebaseMerge, true)
	if !allowMerge && !allowSquash && !allowRebase {
		return fmt.Errorf("githubtest: CreateRepo %s/%s: at least one of AllowMergeCommit, AllowSquashMerge, AllowRebaseMerge must be allowed", cfg.Owner, cfg.Name)
	}
	key := strings.ToLower(cfg.Owner + "/" + cfg.Name)
	s.mu.Lock()
	if _, exists := s.repos[key]; exists {
		s.mu.Unlock()
		return fmt.Errorf("githubtest: CreateRepo: %s/%s already exists", cfg.Owner, cfg.Name)
	}
	// Reserve the name before the slow git init so a concurrent create fails.
	s.repos[key] = nil
	s.mu.Unlock()
	dir := filepath.Join(s.dir, cfg.Owner, cfg.Name+".git")
	var g *gitRepo
	var err error
	if cfg.FromDir != "" {
		g, err = copyBare(cfg.FromDir, dir)
	} else {
		g, err = initBare(context.Background(), dir, cfg.DefaultBranch)
	}
	if err != nil {
		s.mu.Lock()
		delete(s.repos, key)
		s.mu.Unlock()
		return fmt.Errorf("githubtest: CreateRepo %s/%s: %w", cfg.Owner, cfg.Name, err)
	}
	s.mu.Lock()
	s.userLocked(cfg.Owner)
	s.repos[key] = &repoState{
		id: s.nextIDLocked(), owner: cfg.Owner, name: cfg.Name, defaultBranch: cfg.DefaultBranch,
		private: cfg.Private, description: cfg.Description, createdAt: s.now(), git: g,
		pulls: map[int]*pull{}, labels: map[string]*label{}, issueLabels: map[int][]string{},
		comments: map[int][]*comment{}, statuses: map[string][]*commitStatus{}, checkRuns: map[string][]*checkRun{},
		verified: map[string]bool{}, pushes: map[string]push{},
		allowMergeCommit: allowMerge, allowSquashMerge: allowSquash, allowRebaseMerge: allowRebase,
		deleteBranchOnMerge: cfg.DeleteBranchOnMerge,
	}
	s.mu.Unlock()
	if cfg.AutoInit {
		readme := fmt.Sprintf("# %s\n%s\n", cfg.Name, cfg.Description)
		if _, err := s.CommitFiles(cfg.Owner, cfg.Name, cfg.DefaultBranch, map[string]string{"README.md": readme}, "Initial commit"); err != nil {
			return err
		}
	}
	return nil
}

// repo looks a repository up case-insensitively, as GitHub does.
func (s *Server) repo(owner, name string) *repoState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.repos[strings.ToLower(owner+"/"+name)]
}

func (s *Server) mustRepo(owner, name string) (*repoState, error) {
	r := s.repo(owner, name)
	if r == nil {
		return nil, fmt.Errorf("githubtest: repository %s/%s does not exist", owner, name)
	}
	return r, nil
}

func nodeID(kind string, id int64) string {
	return kind + "_" + strings.TrimRight(base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%s:%d", kind, id))), "=")
}

func (s *Server) userURL(login string) string {
	return s.APIURL() + "/users/" + url.PathEscape(login)
}

// userJSON renders simple-user.
func (s *Server) userJSON(u *user) obj {
	base := s.userURL(u.login)
	return obj{
		"login": u.login, "id": u.id, "node_id": nodeID("U", u.id),
		"avatar_url":          fmt.Sprintf("%s/avatars/u/%d?v=4", s.URL, u.id),
		"gravatar_id":         "",
		"url":                 base,
		"html_url":            s.URL + "/" + url.PathEscape(u.login),
		"followers_url":       base + "/followers",
		"following_url":       base + "/following{/other_user}",
		"gists_url":           base + "/gists{/gist_id}",
		"starred_url":         base + "/starred{/owner}{/repo}",
		"subscriptions_url":   base + "/subscriptions",
		"organizations_url":   base + "/orgs",
		"repos_url":           base + "/repos",
		"events_url":          base + "/events{/privacy}",
		"received_events_url": base + "/received_events",
		"type":                u.kind(),
		"site_admin":          false,
		"user_view_type":      "public",
	}
}

func (s *Server) userByLogin(login string) obj {
	s.mu.Lock()
	u := s.userLocked(login)
	s.mu.Unlock()
	return s.userJSON(u)
}

func (s *Server) repoAPIURL(r *repoState) string {
	return s.APIURL() + "/repos/" + r.owner + "/" + r.name
}

func (s *Server) repoHTMLURL(r *repoState) string {
	return s.URL + "/" + r.owner + "/" + r.name
}

func visibility(private bool) string {
	if private {
		return "private"
	}
	return "public"
}

// repoJSON renders repository (full=false) or full-repository (full=true)
// as seen with access.
func (s *Server) repoJSON(r *repoState, access Access, full bool) obj {
	api := s.repoAPIURL(r)
	html := s.repoHTMLURL(r)
	created := ts(r.createdAt)
	o := obj{
		"id": r.id, "node_id": nodeID("R", r.id), "name": r.name, "full_name": r.fullName(),
		"owner":       s.userByLogin(r.owner),
		"private":     r.private,
		"html_url":    html,
		"description": nullable(r.description),
		"fork":        false,
		"url":         api,
		"homepage":    nil, "language": nil, "mirror_url": nil, "license": nil,
		"forks_count": 0, "stargazers_count": 0, "watchers_count": 0, "size": 0,
		"default_branch":    r.defaultBranch,
		"open_issues_count": 0, "open_issues": 0, "forks": 0, "watchers": 0,
		"is_template": false, "topics": []string{},
		"has_issues": true, "has_projects": false, "has_wiki": false, "has_pages": false,
		"has_downloads": true, "has_discussions": false,
		"archived": false, "disabled": false,
		"visibility": visibility(r.private),
		"pushed_at":  created, "created_at": created, "updated_at": created,
		"permissions": obj{
			"admin": access >= Admin, "maintain": access >= Admin, "push": access >= Write,
			"triage": access >= Write, "pull": access >= Read,
		},
		"allow_rebase_merge": r.allowRebaseMerge, "allow_squash_merge": r.allowSquashMerge, "allow_merge_commit": r.allowMergeCommit,
		"allow_auto_merge": false, "delete_branch_on_merge": r.deleteBranchOnMerge, "allow_update_branch": true,
		"allow_forking": true, "web_commit_signoff_required": false,
		"git_url":   strings.Replace(html, "http", "git", 1) + ".git",
		"ssh_url":   "git@" + strings.TrimPrefix(strings.TrimPrefix(s.URL, "http://"), "https://") + ":" + r.fullName() + ".git",
		"clone_url": html + ".git",
		"svn_url":   html,
	}
	for k, v := range map[string]string{
		"archive_url": "/{archive_format}{/ref}", "assignees_url": "/assignees{/user}", "blobs_url": "/git/blobs{/sha}",
		"branches_url": "/branches{/branch}", "collaborators_url": "/collaborators{/collaborator}",
		"comments_url": "/comments{/number}", "commits_url": "/commits{/sha}", "compare_url": "/compare/{base}...{head}",
		"contents_url": "/contents/{+path}", "contributors_url": "/contributors", "deployments_url": "/deployments",
		"downloads_url": "/downloads", "events_url": "/events", "forks_url": "/forks",
		"git_commits_url": "/git/commits{/sha}", "git_refs_url": "/git/refs{/sha}", "git_tags_url": "/git/tags{/sha}",
		"issue_comment_url": "/issues/comments{/number}", "issue_events_url": "/issues/events{/number}",
		"issues_url": "/issues{/number}", "keys_url": "/keys{/key_id}", "labels_url": "/labels{/name}",
		"languages_url": "/languages", "merges_url": "/merges", "milestones_url": "/milestones{/number}",
		"notifications_url": "/notifications{?since,all,participating}", "pulls_url": "/pulls{/number}",
		"releases_url": "/releases{/id}", "stargazers_url": "/stargazers", "statuses_url": "/statuses/{sha}",
		"subscribers_url": "/subscribers", "subscription_url": "/subscription", "tags_url": "/tags",
		"teams_url": "/teams", "trees_url": "/git/trees{/sha}", "hooks_url": "/hooks",
	} {
		o[k] = api + v
	}
	if full {
		o["subscribers_count"] = 0
		o["network_count"] = 0
		o["squash_merge_commit_title"] = "COMMIT_OR_PR_TITLE"
		o["squash_merge_commit_message"] = "COMMIT_MESSAGES"
		o["merge_commit_title"] = "MERGE_MESSAGE"
		o["merge_commit_message"] = "PR_TITLE"
		o["use_squash_pr_title_as_default"] = false
	}
	return o
}

// minimalRepoJSON renders minimal-repository (combined status) with the
// keys api.github.com sends there: the recorded exchange in
// testdata/octokit-fixtures/create-status.json has no clone_url, git_url,
// ssh_url, default_branch or visibility (all optional in the schema).
func (s *Server) minimalRepoJSON(r *repoState) obj {
	full := s.repoJSON(r, Read, false)
	o := obj{}
	for _, k := range []string{"id", "node_id", "name", "full_name", "owner", "private", "html_url", "description", "fork", "url",
		"archive_url", "assignees_url", "blobs_url", "branches_url", "collaborators_url", "comments_url", "commits_url",
		"compare_url", "contents_url", "contributors_url", "deployments_url", "downloads_url", "events_url", "forks_url",
		"git_commits_url", "git_refs_url", "git_tags_url", "issue_comment_url", "issue_events_url", "issues_url",
		"keys_url", "labels_url", "languages_url", "merges_url", "milestones_url", "notifications_url", "pulls_url",
		"releases_url", "stargazers_url", "statuses_url", "subscribers_url", "subscription_url", "tags_url",
		"teams_url", "trees_url", "hooks_url"} {
		o[k] = full[k]
	}
	return o
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) getRepo(c *call) {
	c.json(http.StatusOK, s.repoJSON(c.repo, c.access, true))
}
