package githubtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const maxBody = 64 << 20

// call is one API request being served. Handlers write into it; the response
// is validated against the description before it reaches the client.
type call struct {
	s      *Server
	r      *http.Request
	ctx    context.Context
	route  *route
	op     string
	path   string // unescaped request path without the /api/v3 prefix
	params map[string]string
	body   []byte
	tok    *token
	user   *user
	repo   *repoState
	access Access

	status int
	header http.Header
	out    []byte
	// validateAs, when set, is validated instead of out (see rulesets.go:
	// rule types newer than the pinned description).
	validateAs []byte
	// undeclared explains why a status the description omits for this
	// operation is sent (GitHub really sends it); the body is then checked
	// against the named error schema instead.
	undeclared       string
	undeclaredSchema string
}

type obj = map[string]any

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, escaped string) {
	start := time.Now()
	// The log entry is added after the response is written, so a client can
	// see the answer first; ResetRequests waits for entries in flight.
	s.log.inFlight.Add(1)
	defer s.log.inFlight.Add(-1)
	if d := s.faults.currentLatency(); d > 0 {
		sleepCtx(r.Context(), d)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	unescaped, _ := url.PathUnescape(escaped)
	rec := Request{Method: r.Method, Path: unescaped, Query: r.URL.RawQuery, RequestBytes: int64(len(body))}
	// Like GitHub, a request that reached the handler is carried out even if
	// the client hangs up: a timed-out write may still have happened.
	c := &call{s: s, r: r, ctx: context.WithoutCancel(r.Context()), body: body, header: http.Header{}, path: unescaped}
	defer func() {
		rec.Duration = time.Since(start)
		s.log.add(rec)
	}()

	rt, params, ok := s.router.match(r.Method, escaped)
	if ok {
		c.route, c.op, c.params = rt, rt.key, params
		rec.Operation = rt.key
	}
	template := ""
	if rt != nil {
		template = rt.template
	}

	f, hit := s.faults.take(r.Method, template, unescaped)
	if hit {
		if f.Delay > 0 {
			sleepCtx(r.Context(), f.Delay)
		}
		if (f.Reset || f.Status != 0) && !f.After {
			rec.Injected = true
			s.applyFault(w, r, c, f, &rec)
			return
		}
		// A delay-only fault serves the request normally afterwards.
	}

	// Authentication comes first, as on GitHub: a bad token is a 401 even
	// for a path that does not exist.
	tokValue := tokenFrom(r)
	s.mu.Lock()
	c.tok = s.tokens[tokValue]
	if c.tok != nil {
		c.user = s.userLocked(c.tok.login)
		rec.Login = c.tok.login
	}
	s.mu.Unlock()
	rateKey := "anonymous"
	if c.tok != nil {
		rateKey = "token:" + c.tok.value
	}
	rateHeaders, exceeded := s.rateLimit(rateKey, s.cfg.RateLimit)
	for k, v := range rateHeaders {
		c.header[k] = v
	}
	switch {
	case c.tok == nil:
		c.authFail(http.StatusUnauthorized, "Bad credentials")
	case exceeded:
		c.authFail(http.StatusForbidden, fmt.Sprintf("API rate limit exceeded for user ID %d.", c.user.id))
	case s.secondaryRefused(c): // fake-fidelity: opt-in secondary rate limit (secondary.go)
	case rt == nil:
		c.authFail(http.StatusNotFound, "Not Found")
	default:
		s.serveRoute(c)
		s.noticeHeads(c.repo)
	}
	if hit && f.After && (f.Reset || f.Status != 0) {
		// The handler's effects stay; its response is lost.
		rec.Injected = true
		s.applyFault(w, r, c, f, &rec)
		return
	}
	s.writeCall(w, c, &rec)
}

// serveRoute runs hooks, request validation, repository access checks and
// the handler.
func (s *Server) serveRoute(c *call) {
	for _, fn := range s.faults.hooksFor(c.r.Method, c.route.template, c.path) {
		fn(c.r)
	}
	if err := s.spec.validateRequest(c.ctx, c.op, c.r, c.params, c.body); err != nil {
		v := Violation{Kind: "request", Operation: c.op, Path: c.r.URL.Path, Message: violationMessage(err)}
		s.addViolation(v)
		c.undeclared = "request violation"
		c.undeclaredSchema = "validation-error"
		c.json(http.StatusUnprocessableEntity, obj{"message": v.String(), "documentation_url": s.spec.docURL(c.op), "status": "422"})
		return
	}
	if owner, name := c.params["owner"], c.params["repo"]; owner != "" {
		repo := s.repo(owner, name)
		access := None
		if repo != nil {
			access = c.tok.accessTo(repo.fullName())
			if !repo.private && access < Read {
				access = Read
			}
		}
		// GitHub answers 404, not 403, for a private repository the caller
		// cannot see, so its existence does not leak.
		if repo == nil || access < Read {
			c.authFail(http.StatusNotFound, "Not Found")
			return
		}
		// An installation token is judged by its permissions, a user by
		// its role. GitHub names what would have been accepted in
		// X-Accepted-GitHub-Permissions ("Insufficient permission errors",
		// https://github.blog/changelog/2023-08-10-x-accepted-github-permissions-header-for-fine-grained-permission-actors).
		if c.tok.app != nil && !c.tok.installed(repo.fullName()) && c.r.Method != http.MethodGet {
			// A public repository outside the installation is read-only to it.
			c.authFail(http.StatusForbidden, "Resource not accessible by integration")
			return
		}
		if c.tok.app != nil {
			accepted := routePermissions[c.route.key]
			if !c.tok.permits(accepted) {
				if accepted != "" {
					c.header.Set("X-Accepted-GitHub-Permissions", accepted)
				}
				c.authFail(http.StatusForbidden, "Resource not accessible by integration")
				return
			}
		} else if access < c.route.access {
			c.authFail(http.StatusForbidden, "Resource not accessible by integration")
			return
		}
		c.repo, c.access = repo, access
	}
	c.route.handle(c)
	if c.status == 0 {
		c.internal(fmt.Errorf("handler for %s wrote no response", c.op))
	}
}

func (s *Server) writeCall(w http.ResponseWriter, c *call, rec *Request) {
	h := w.Header()
	for k, v := range c.header {
		h[k] = v
	}
	h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Request-Id", fmt.Sprintf("GHT-%d", s.nextID()))
	if c.op != "" && c.status != 0 {
		s.checkResponse(c)
	}
	rec.Status = c.status
	rec.ResponseBytes = int64(len(c.out))
	w.WriteHeader(c.status)
	w.Write(c.out)
}

// checkResponse validates the response against the operation, recording
// any mismatch as a violation (the response is still sent).
func (s *Server) checkResponse(c *call) {
	body := c.out
	if c.validateAs != nil {
		body = c.validateAs
	}
	var err error
	if c.undeclared != "" {
		if c.undeclared == "request violation" {
			return
		}
		err = s.spec.validateComponent(c.undeclaredSchema, body)
	} else {
		err = s.spec.validateResponse(c.ctx, c.op, c.r, c.params, c.status, c.header, body)
	}
	if err != nil {
		s.addViolation(Violation{Kind: "response", Operation: c.op, Path: c.r.URL.Path, Status: c.status, Message: violationMessage(err)})
	}
}

func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, c *call, f Fault, rec *Request) {
	if f.Reset {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				// SetLinger(0) makes close send RST, like a dropped connection.
				if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
					tc.SetLinger(0)
				}
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	rh, _ := s.rateLimit("token:"+tokenFrom(r), s.cfg.RateLimit)
	h := w.Header()
	for k, v := range rh {
		h[k] = v
	}
	for k, v := range f.Header {
		h[http.CanonicalHeaderKey(k)] = v
	}
	body := f.Body
	if body == "" {
		docURL := "https://docs.github.com/rest"
		if c.op != "" {
			docURL = s.spec.docURL(c.op)
		}
		b, _ := json.Marshal(obj{"message": http.StatusText(f.Status), "documentation_url": docURL, "status": strconv.Itoa(f.Status)})
		body = string(b)
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	rec.Status = f.Status
	rec.ResponseBytes = int64(len(body))
	w.WriteHeader(f.Status)
	io.WriteString(w, body)
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// json writes a JSON response. HTML is not escaped, as on GitHub.
func (c *call) json(status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		c.internal(fmt.Errorf("encode response: %w", err))
		return
	}
	c.status = status
	c.out = bytes.TrimRight(buf.Bytes(), "\n")
	c.header.Set("Content-Type", "application/json; charset=utf-8")
}

func (c *call) noContent() {
	c.status = http.StatusNoContent
	c.out = nil
}

// fail writes GitHub's basic error body.
func (c *call) fail(status int, message string) {
	c.json(status, obj{"message": message, "documentation_url": c.s.spec.docURL(c.op), "status": strconv.Itoa(status)})
}

// failUndeclared sends a status GitHub really sends but its description
// omits for this operation; reason is recorded in code at each call site.
func (c *call) failUndeclared(status int, message, reason string) {
	c.fail(status, message)
	c.undeclared, c.undeclaredSchema = reason, "basic-error"
}

// authFail is for answers produced before any handler runs (401 bad
// credentials, 403 no permission / rate limit, 404 unknown route or
// repository). GitHub's description omits these generic statuses on most
// operations, so their body is checked against basic-error instead.
func (c *call) authFail(status int, message string) {
	c.fail(status, message)
	c.undeclared, c.undeclaredSchema = "generic status", "basic-error"
}

// invalid writes a 422 validation error with GitHub's "errors" list.
func (c *call) invalid(message string, errs ...obj) {
	body := obj{"message": message, "documentation_url": c.s.spec.docURL(c.op), "status": "422"}
	if len(errs) > 0 {
		list := make([]any, len(errs))
		for i, e := range errs {
			list[i] = e
		}
		body["errors"] = list
	}
	c.json(http.StatusUnprocessableEntity, body)
}

// internal reports a server bug: a 500 the test will also see as a
// violation when the operation does not declare 500.
func (c *call) internal(err error) {
	c.s.cfg.Logf("githubtest: %s %s: internal error: %v", c.r.Method, c.r.URL.Path, err)
	c.s.addViolation(Violation{Kind: "response", Operation: c.op, Path: c.r.URL.Path, Status: 500, Message: "internal error: " + err.Error()})
	c.fail(http.StatusInternalServerError, "githubtest internal error: "+err.Error())
	c.undeclared, c.undeclaredSchema = "internal error (already recorded)", "basic-error"
}

// decode unmarshals the request body (already validated) into v.
func (c *call) decode(v any) bool {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return true
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		c.fail(http.StatusBadRequest, "Problems parsing JSON")
		c.undeclared, c.undeclaredSchema = "GitHub answers 400 to unparsable JSON on every operation", "basic-error"
		return false
	}
	return true
}

// has reports whether a top-level JSON field is present in the body, to
// tell "omitted" from "zero" where GitHub's defaults depend on it.
func (c *call) has(field string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(c.body, &m) != nil {
		return false
	}
	_, ok := m[field]
	return ok
}

func (c *call) query(name string) string { return c.r.URL.Query().Get(name) }

func (c *call) intParam(name string) int64 {
	n, _ := strconv.ParseInt(c.params[name], 10, 64)
	return n
}

// pageOf is the requested page of list, each item made into its JSON form
// by f (never nil: an empty page is []).
func pageOf[T any](c *call, list []T, f func(T) any) []any {
	start, end := c.page(len(list))
	out := []any{}
	for _, v := range list[start:end] {
		out = append(out, f(v))
	}
	return out
}

// page applies per_page/page to n items and sets GitHub's Link header.
func (c *call) page(n int) (start, end int) {
	perPage, _ := strconv.Atoi(c.query("per_page"))
	if perPage <= 0 {
		perPage = 30
	}
	if perPage > 100 {
		perPage = 100
	}
	page, _ := strconv.Atoi(c.query("page"))
	if page <= 0 {
		page = 1
	}
	last := (n + perPage - 1) / perPage
	if last < 1 {
		last = 1
	}
	link := func(p int, rel string) string {
		q := c.r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(perPage))
		return fmt.Sprintf("<%s%s?%s>; rel=%q", c.s.APIURL(), c.r.URL.Path[len(apiPrefix(c.r.URL.Path)):], q.Encode(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(min(page-1, last), "prev"))
	}
	if len(links) > 0 {
		c.header.Set("Link", strings.Join(links, ", "))
	}
	start = min((page-1)*perPage, n)
	end = min(start+perPage, n)
	return start, end
}

func apiPrefix(p string) string {
	if strings.HasPrefix(p, "/api/v3/") {
		return "/api/v3"
	}
	return ""
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func tsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}
