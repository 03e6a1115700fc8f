package githubtest

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Secondary rate limits, opt-in. Docs: "Rate limits for the REST API" →
// "About secondary rate limits": no more than 80 content-generating
// requests per minute and no more than 500 per hour (POST, PATCH, PUT and
// DELETE count), per user/token; exceeding it answers 403 (or 429) with a
// message about a secondary rate limit and, when present, a retry-after
// header saying how many seconds to wait.

// SecondaryLimits configures EnforceSecondaryLimits; a zero limit is not
// enforced.
type SecondaryLimits struct {
	PerMinute, PerHour int
	// Clock replaces the server clock (for tests that cross an hour).
	Clock func() time.Time
}

// secondaryMessage is GitHub's message (the request-id sentence that follows
// it on GitHub is left out: there is no support to reach).
const secondaryMessage = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."

// secondaryDoc ends with "secondary-rate-limits", which is how clients
// (go-github's AbuseRateLimitError, octokit's throttling plugin) tell it
// from the primary limit.
const secondaryDoc = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"

type secondaryLimiter struct {
	mu     sync.Mutex
	limits SecondaryLimits
	seen   map[string][]time.Time // token -> content-creating requests of the last hour, oldest first
}

// EnforceSecondaryLimits turns secondary rate limiting on (or, with zero
// limits, off) for content-creating requests from now on.
func (s *Server) EnforceSecondaryLimits(l SecondaryLimits) {
	if l.Clock == nil {
		l.Clock = s.now
	}
	var lim *secondaryLimiter
	if l.PerMinute > 0 || l.PerHour > 0 {
		lim = &secondaryLimiter{limits: l, seen: map[string][]time.Time{}}
	}
	s.faults.mu.Lock()
	s.faults.secondary = lim
	s.faults.mu.Unlock()
}

// secondaryRefused counts c if it creates content and answers 403 when that
// goes over a limit; it reports whether it answered.
func (s *Server) secondaryRefused(c *call) bool {
	switch c.r.Method {
	case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
	default:
		return false
	}
	s.faults.mu.Lock()
	lim := s.faults.secondary
	s.faults.mu.Unlock()
	if lim == nil || c.tok == nil {
		return false
	}
	wait, ok := lim.take(c.tok.value)
	if ok {
		return false
	}
	c.json(http.StatusForbidden, obj{"message": secondaryMessage, "documentation_url": secondaryDoc, "status": "403"})
	c.undeclared, c.undeclaredSchema = "generic status", "basic-error"
	c.header.Set("Retry-After", strconv.Itoa(wait))
	return true
}

// take records one request for key unless a window is full; then it returns
// the whole seconds until a slot frees.
func (l *secondaryLimiter) take(key string) (wait int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.limits.Clock()
	list := l.seen[key]
	for len(list) > 0 && !list[0].After(now.Add(-time.Hour)) {
		list = list[1:]
	}
	var free time.Time
	if n := l.limits.PerHour; n > 0 && len(list) >= n {
		free = list[len(list)-n].Add(time.Hour)
	}
	if n := l.limits.PerMinute; n > 0 {
		inMinute := 0
		for _, t := range list {
			if t.After(now.Add(-time.Minute)) {
				inMinute++
			}
		}
		if inMinute >= n {
			if t := list[len(list)-n].Add(time.Minute); t.After(free) {
				free = t
			}
		}
	}
	l.seen[key] = list
	if !free.IsZero() {
		secs := int(free.Sub(now) / time.Second)
		if free.Sub(now)%time.Second != 0 {
			secs++
		}
		return max(secs, 1), false
	}
	l.seen[key] = append(list, now)
	return 0, true
}
