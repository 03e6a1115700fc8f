package githubtest

import (
	"fmt"
	"net/http"
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
}

func (t *token) accessTo(fullName string) Access {
	if a, ok := t.perRepo[strings.ToLower(fullName)]; ok {
		return a
	}
	return t.access
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
