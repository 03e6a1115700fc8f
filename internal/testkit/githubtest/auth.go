package githubtest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Access is a token's permission on a repository.
type Access int

// Access levels, in increasing order.
const (
	None Access = iota
	Read
	Write
	Admin
)

func (a Access) String() string {
	switch a {
	case Read:
		return "read"
	case Write:
		return "write"
	case Admin:
		return "admin"
	}
	return "none"
}

// ParseAccess reads "none", "read", "write" or "admin".
func ParseAccess(s string) (Access, error) {
	switch strings.ToLower(s) {
	case "none":
		return None, nil
	case "read", "pull":
		return Read, nil
	case "write", "push":
		return Write, nil
	case "admin":
		return Admin, nil
	}
	return None, fmt.Errorf("githubtest: unknown access %q (none, read, write, admin)", s)
}

// DefaultToken is registered by New and Start unless Config.NoDefaultToken:
// login DefaultLogin, Write access to every repository.
const (
	DefaultToken = "test-token"
	DefaultLogin = "github-actions[bot]"
)

type token struct {
	value   string
	login   string
	access  Access            // on repositories without an override
	perRepo map[string]Access // "owner/name" -> access
	bypass  bool              // bypasses every ruleset, like a bypass actor

	// Installation tokens of a GitHub App (AddAppToken): app is set, perms
	// replace access, repos limits the installation (nil = every repository).
	app   *app
	perms Permissions
	repos map[string]bool
}

// accessTo is the repository role of a user token. An installation token
// has no role: it can see the repositories of its installation (metadata
// is always readable) and nothing more; its permissions decide the rest.
func (t *token) accessTo(fullName string) Access {
	if t.app != nil {
		if t.installed(fullName) {
			return Read
		}
		return None
	}
	if a, ok := t.perRepo[strings.ToLower(fullName)]; ok {
		return a
	}
	return t.access
}

func (t *token) installed(fullName string) bool {
	return t.repos == nil || t.repos[strings.ToLower(fullName)]
}

// admin reports whether the caller may edit the repository's rulesets:
// the admin role, or an installation with administration:write.
func (t *token) admin(fullName string) bool {
	if t == nil {
		return false
	}
	if t.app != nil {
		return t.installed(fullName) && t.perms["administration"] >= Write
	}
	return t.accessTo(fullName) >= Admin
}

// Permissions are a GitHub App installation's repository permissions, by
// the names GitHub uses ("contents", "pull_requests", "checks", "statuses",
// "deployments", "administration", "metadata") -> Read or Write.
// metadata is always at least Read, as on GitHub.
type Permissions map[string]Access

// appPermissions are the permission names githubtest knows.
var appPermissions = []string{"administration", "checks", "contents", "deployments", "issues", "metadata", "pull_requests", "statuses"}

// app is a registered GitHub App; bot is its "slug[bot]" user.
type app struct {
	id   int64
	slug string
	bot  *user
}

// AddApp registers a GitHub App: id is what ruleset bypass actors of type
// Integration and required_status_checks integration_id name; its bot user
// is "slug[bot]". Re-adding an id replaces the slug.
func (s *Server) AddApp(id int64, slug string) error {
	if id <= 0 || !namePart.MatchString(slug) {
		return fmt.Errorf("githubtest: AddApp: id %d / slug %q: want a positive id and a slug like my-app", id, slug)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[id] = &app{id: id, slug: slug, bot: s.userLocked(slug + "[bot]")}
	return nil
}

// AddAppToken registers an installation access token of app appID with
// perms, limited to repos ("owner/name"; none = every repository), like
// POST /app/installations/{id}/access_tokens with "repositories".
func (s *Server) AddAppToken(value string, appID int64, perms Permissions, repos ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[appID]
	if a == nil {
		return fmt.Errorf("githubtest: AddAppToken: app %d is not registered (AddApp)", appID)
	}
	p := Permissions{"metadata": Read}
	for name, level := range perms {
		if !slices.Contains(appPermissions, name) {
			return fmt.Errorf("githubtest: AddAppToken: permission %q is not one of %s", name, strings.Join(appPermissions, ", "))
		}
		if level != Read && level != Write && level != None {
			return fmt.Errorf("githubtest: AddAppToken: permission %s=%s: want read or write", name, level)
		}
		if level > p[name] {
			p[name] = level
		}
	}
	t := &token{value: value, login: a.bot.login, perRepo: map[string]Access{}, app: a, perms: p}
	if len(repos) > 0 {
		t.repos = map[string]bool{}
		for _, r := range repos {
			o, n, ok := strings.Cut(r, "/")
			if !ok || !namePart.MatchString(o) || !namePart.MatchString(n) {
				return fmt.Errorf("githubtest: AddAppToken: repository %q is not owner/name", r)
			}
			t.repos[strings.ToLower(r)] = true
		}
	}
	s.tokens[value] = t
	return nil
}

// hasAll reports whether the token holds every name=level of one
// alternative of X-Accepted-GitHub-Permissions.
func (t *token) hasAll(set string) bool {
	for _, need := range strings.Split(set, ",") {
		name, level, _ := strings.Cut(strings.TrimSpace(need), "=")
		want, err := ParseAccess(level)
		if err != nil || t.perms[name] < want {
			return false
		}
	}
	return true
}

// permits reports whether an installation token holds one of the
// alternatives of accepted ("a=read; b=write,c=read"), the format of
// GitHub's X-Accepted-GitHub-Permissions header.
func (t *token) permits(accepted string) bool {
	if accepted == "" {
		return false // an operation without a declared permission: refuse
	}
	for _, set := range strings.Split(accepted, ";") {
		if t.hasAll(set) {
			return true
		}
	}
	return false
}

// isBot reports whether commits made by this token are a bot's: GitHub
// signs API commits only for GitHub Apps and bots ("About commit signature
// verification" → "Signature verification for bots").
func (t *token) isBot() bool {
	return t.app != nil || strings.HasSuffix(t.login, "[bot]")
}

type user struct {
	login string
	id    int64
}

func (u *user) kind() string {
	if strings.HasSuffix(u.login, "[bot]") {
		return "Bot"
	}
	return "User"
}

// AddToken registers a token for login with access to every repository
// (override per repository with SetRepoAccess). Re-adding a token replaces it.
func (s *Server) AddToken(value, login string, access Access) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[value] = &token{value: value, login: login, access: access, perRepo: map[string]Access{}}
	s.userLocked(login)
}

// SetRepoAccess overrides a token's access to one repository ("owner/name").
func (s *Server) SetRepoAccess(value, fullName string, access Access) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[value]
	if t == nil {
		return fmt.Errorf("githubtest: SetRepoAccess: unknown token")
	}
	t.perRepo[strings.ToLower(fullName)] = access
	return nil
}

// SetBypass makes a token a bypass actor of every ruleset (or not).
func (s *Server) SetBypass(value string, bypass bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[value]
	if t == nil {
		return fmt.Errorf("githubtest: SetBypass: unknown token")
	}
	t.bypass = bypass
	return nil
}

// UserID returns the numeric id the server gives login (creating the user),
// e.g. for a ruleset bypass actor of type User.
func (s *Server) UserID(login string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userLocked(login).id
}

func (s *Server) userLocked(login string) *user {
	key := strings.ToLower(login)
	if u := s.users[key]; u != nil {
		return u
	}
	u := &user{login: login, id: s.nextIDLocked()}
	s.users[key] = u
	return u
}

// tokenFrom extracts the token of "Authorization: Bearer|token X" or, for
// git over smart HTTP, the Basic-auth password.
func tokenFrom(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if scheme, rest, ok := strings.Cut(h, " "); ok {
		switch strings.ToLower(scheme) {
		case "bearer", "token":
			return strings.TrimSpace(rest)
		}
	}
	if _, pass, ok := r.BasicAuth(); ok {
		return pass
	}
	return ""
}

// rateBucket is one token's core rate limit window.
type rateBucket struct {
	limit int
	used  int
	reset time.Time
}

// rateLimit charges one request to key and returns the headers GitHub sends
// on every response; exceeded reports that the window is used up.
func (s *Server) rateLimit(key string, limit int) (h http.Header, exceeded bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	b := s.rate[key]
	if b == nil || !now.Before(b.reset) {
		b = &rateBucket{limit: limit, reset: now.Add(time.Hour).Truncate(time.Second)}
		s.rate[key] = b
	}
	if b.used >= b.limit {
		exceeded = true
	} else {
		b.used++
	}
	h = http.Header{}
	h.Set("X-Ratelimit-Limit", fmt.Sprint(b.limit))
	h.Set("X-Ratelimit-Remaining", fmt.Sprint(b.limit-b.used))
	h.Set("X-Ratelimit-Used", fmt.Sprint(b.used))
	h.Set("X-Ratelimit-Reset", fmt.Sprint(b.reset.Unix()))
	h.Set("X-Ratelimit-Resource", "core")
	return h, exceeded
}
