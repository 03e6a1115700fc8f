package githubtest

import (
	"net/http"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is what an injection does to a matching request instead of serving
// it normally.
type Fault struct {
	// Status and Body make the response. An empty Body with a Status gives
	// GitHub's error shape {"message": <status text>, "documentation_url": ...}.
	Status int
	Body   string
	// Header is added to the response, e.g. Retry-After, or
	// X-Ratelimit-Remaining: 0 with X-Ratelimit-Reset (they override the
	// real rate-limit headers).
	Header http.Header
	// Delay is slept before responding (or before Reset, or before serving
	// normally when Status is 0 and Reset is false).
	Delay time.Duration
	// Reset closes the TCP connection without a response.
	Reset bool
	// After serves the request normally first and then sends the fault
	// (Status or Reset) instead of the real response: the write happened but
	// the caller never learns it, as when a proxy times out or a connection
	// drops on the way back.
	After bool
	// Times is how many matching calls are affected: 0 means 1, negative
	// means every call until Clear.
	Times int
	// Skip lets that many matching calls through before the fault starts.
	Skip int
}

// Injection is a registered Fault; Hits says how many calls it affected.
type Injection struct {
	pattern string
	fault   Fault
	seen    atomic.Int64 // matching calls, including skipped ones
	hits    atomic.Int64
}

// Hits is the number of calls the fault was applied to.
func (i *Injection) Hits() int { return int(i.hits.Load()) }

type hook struct {
	pattern string
	fn      func(*http.Request)
}

// Faults is the per-server fault-injection API (Server.Faults). Patterns
// are "METHOD PATH": METHOD may be "*"; PATH is the route as in GitHub's
// description ("/repos/{owner}/{repo}/pulls/{pull_number}/merge"), a
// concrete path ("/repos/o/r/pulls/1/merge"), a path.Match glob over the
// concrete path, or "*" for every route.
type Faults struct {
	mu             sync.Mutex
	injections     []*Injection
	hooks          []*hook
	latency        time.Duration
	mergeHook      func(owner, repo string, number int)
	mergeableGets  int
	mergeableDelay time.Duration
	// secondary is the opt-in secondary rate limit (secondary.go); it lives
	// here, with the other per-server behaviour switches, and Clear keeps it.
	secondary *secondaryLimiter
}

// Inject applies f to the next matching calls (see Fault.Times, Fault.Skip).
func (f *Faults) Inject(pattern string, fault Fault) *Injection {
	in := &Injection{pattern: pattern, fault: fault}
	f.mu.Lock()
	f.injections = append(f.injections, in)
	f.mu.Unlock()
	return in
}

// Latency adds d to every request (API and git) from now on; 0 removes it.
func (f *Faults) Latency(d time.Duration) {
	f.mu.Lock()
	f.latency = d
	f.mu.Unlock()
}

// Before runs fn before every matching request is handled (after
// authentication, before the handler reads any state), e.g. to move a branch
// under a caller between its read and its write. The returned func removes it.
func (f *Faults) Before(pattern string, fn func(r *http.Request)) (remove func()) {
	h := &hook{pattern: pattern, fn: fn}
	f.mu.Lock()
	f.hooks = append(f.hooks, h)
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		for i, x := range f.hooks {
			if x == h {
				f.hooks = append(f.hooks[:i], f.hooks[i+1:]...)
				return
			}
		}
	}
}

// BeforeMergeWrite runs fn inside PUT .../pulls/{n}/merge after the merge
// commit is built and before the base branch is moved to it. Moving the
// base branch in fn makes the merge fail with 405 "Base branch was
// modified", exactly as a concurrent push on GitHub does. nil removes it.
func (f *Faults) BeforeMergeWrite(fn func(owner, repo string, number int)) {
	f.mu.Lock()
	f.mergeHook = fn
	f.mu.Unlock()
}

// SlowMergeable makes a pull request's mergeable stay null for the first
// gets GETs and at least d after its head or base changes, like GitHub's
// background computation.
func (f *Faults) SlowMergeable(gets int, d time.Duration) {
	f.mu.Lock()
	f.mergeableGets, f.mergeableDelay = gets, d
	f.mu.Unlock()
}

// Clear removes every injection, hook and latency (SlowMergeable too).
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.injections, f.hooks, f.latency, f.mergeHook = nil, nil, 0, nil
	f.mergeableGets, f.mergeableDelay = 0, 0
}

func (f *Faults) currentLatency() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.latency
}

func (f *Faults) mergeable() (int, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mergeableGets, f.mergeableDelay
}

func (f *Faults) mergeWriteHook() func(owner, repo string, number int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mergeHook
}

// take returns the fault to apply to this call, if any, consuming one use.
func (f *Faults) take(method, template, concrete string) (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, in := range f.injections {
		if !patternMatches(in.pattern, method, template, concrete) {
			continue
		}
		n := in.seen.Add(1)
		if n <= int64(in.fault.Skip) {
			continue
		}
		times := in.fault.Times
		if times == 0 {
			times = 1
		}
		if times > 0 && in.hits.Load() >= int64(times) {
			continue
		}
		in.hits.Add(1)
		return in.fault, true
	}
	return Fault{}, false
}

func (f *Faults) hooksFor(method, template, concrete string) []func(*http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []func(*http.Request)
	for _, h := range f.hooks {
		if patternMatches(h.pattern, method, template, concrete) {
			out = append(out, h.fn)
		}
	}
	return out
}

func patternMatches(pattern, method, template, concrete string) bool {
	pm, pp, ok := strings.Cut(strings.TrimSpace(pattern), " ")
	if !ok {
		pm, pp = "*", pattern
	}
	if pm != "*" && !strings.EqualFold(pm, method) {
		return false
	}
	pp = strings.TrimSpace(pp)
	if pp == "*" || pp == template || pp == concrete {
		return true
	}
	ok, _ = path.Match(pp, concrete)
	return ok
}

// Request is one entry of the request log.
type Request struct {
	Method    string
	Path      string // without the /api/v3 prefix
	Query     string
	Operation string // "METHOD /path" of GitHub's description ("METHOD /{owner}/{repo}.git/{path}" for git), "" if unrouted
	Login     string // the authenticated user, if any
	Status    int    // 0 when the connection was reset
	// RequestBytes and ResponseBytes are body sizes.
	RequestBytes, ResponseBytes int64
	Injected                    bool // a Fault produced the response
	Duration                    time.Duration
	// Start is when the server began serving the request (End is
	// Start+Duration): the bench counts sequential round trips from it.
	Start time.Time
}

type requestLog struct {
	mu       sync.Mutex
	reqs     []Request
	inFlight atomic.Int64 // API requests being served
}

// settle waits, bounded, for requests being served: one answered a moment
// ago (a client may see the answer, or a reset, before the server logs it)
// is then counted where it belongs.
func (l *requestLog) settle() {
	for deadline := time.Now().Add(2 * time.Second); l.inFlight.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
}

func (l *requestLog) add(r Request) {
	// Every handler logs right after measuring Duration from its start.
	r.Start = time.Now().Add(-r.Duration)
	l.mu.Lock()
	l.reqs = append(l.reqs, r)
	l.mu.Unlock()
}

// Requests returns a copy of the request log, oldest first.
func (s *Server) Requests() []Request {
	s.log.settle()
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	return append([]Request(nil), s.log.reqs...)
}

// CountRequests counts logged requests matching a fault pattern.
func (s *Server) CountRequests(pattern string) int {
	n := 0
	for _, r := range s.Requests() {
		_, template, _ := strings.Cut(r.Operation, " ")
		if patternMatches(pattern, r.Method, template, r.Path) {
			n++
		}
	}
	return n
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.log.settle()
	s.log.mu.Lock()
	s.log.reqs = nil
	s.log.mu.Unlock()
}
