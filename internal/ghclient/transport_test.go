package ghclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

// fakeClock records the waits instead of sleeping them.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	return nil
}

type harness struct {
	tr    *Transport
	srv   *githubtest.Server
	gh    *gh.Client
	clock *fakeClock
	logs  []string
	mu    sync.Mutex
}

func newHarness(t *testing.T, token string) *harness {
	t.Helper()
	srv := githubtest.New(t)
	if err := srv.CreateRepo(githubtest.RepoConfig{Owner: "acme", Name: "app", AutoInit: true}); err != nil {
		t.Fatal(err)
	}
	h := &harness{srv: srv, clock: &fakeClock{now: time.Now()}}
	tr := &Transport{Token: token, UserAgent: "cicd-excellence-actions/test", Now: h.clock.Now, Sleep: h.clock.Sleep,
		Logf: func(format string, args ...any) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.logs = append(h.logs, fmt.Sprintf(format, args...))
		}}
	c, err := New(srv.APIURL(), tr)
	if err != nil {
		t.Fatal(err)
	}
	h.gh, h.tr = c, tr
	return h
}

func (h *harness) log() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.logs, "\n")
}

func TestRetries(t *testing.T) {
	getRepo := "GET /repos/{owner}/{repo}"
	tests := []struct {
		name      string
		pattern   string
		fault     githubtest.Fault
		call      func(context.Context, *gh.Client) error
		ok        bool
		attempts  int
		waits     []time.Duration // exact waits, when the fault dictates them
		logSubstr string
	}{
		{
			name: "502 then success", pattern: getRepo, fault: githubtest.Fault{Status: 502, Times: 2},
			call: getRepoCall, ok: true, attempts: 3, logSubstr: "retrying GET /api/v3/repos/acme/app (attempt 2/6)",
		},
		{
			name: "connection reset then success", pattern: getRepo, fault: githubtest.Fault{Reset: true, Times: 1},
			call: getRepoCall, ok: true, attempts: 2,
		},
		{
			name: "secondary rate limit waits Retry-After", pattern: getRepo,
			fault: githubtest.Fault{Status: 403, Times: 1, Header: http.Header{"Retry-After": {"7"}},
				Body: `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest"}`},
			call: getRepoCall, ok: true, attempts: 2, waits: []time.Duration{7 * time.Second}, logSubstr: "secondary rate limit",
		},
		{
			name: "429 is a secondary limit too", pattern: getRepo,
			fault: githubtest.Fault{Status: 429, Times: 1, Header: http.Header{"Retry-After": {"3"}}, Body: `{"message":"Too many requests","documentation_url":"https://docs.github.com/rest"}`},
			call:  getRepoCall, ok: true, attempts: 2, waits: []time.Duration{3 * time.Second},
		},
		{
			name: "a POST is not repeated after a 502", pattern: "POST /repos/{owner}/{repo}/git/refs", fault: githubtest.Fault{Status: 502, Times: 1},
			call: createRefCall, ok: false, attempts: 1,
		},
		{
			name: "a POST is repeated after a rate limit: nothing happened", pattern: "POST /repos/{owner}/{repo}/git/refs",
			fault: githubtest.Fault{Status: 429, Times: 1, Header: http.Header{"Retry-After": {"1"}}, Body: `{"message":"slow down","documentation_url":"https://docs.github.com/rest"}`},
			call:  createRefCall, ok: true, attempts: 2, waits: []time.Duration{time.Second},
		},
		{
			name: "retries are bounded", pattern: getRepo, fault: githubtest.Fault{Status: 503, Times: -1},
			call: getRepoCall, ok: false, attempts: 6,
		},
		{
			name: "404 fails at once", pattern: getRepo, fault: githubtest.Fault{Status: 404, Times: -1, Body: `{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`},
			call: getRepoCall, ok: false, attempts: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, githubtest.DefaultToken)
			in := h.srv.Faults().Inject(tc.pattern, tc.fault)
			h.srv.ResetRequests()
			err := tc.call(context.Background(), h.gh)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v\nlog:\n%s", err, tc.ok, h.log())
			}
			method, route, _ := strings.Cut(tc.pattern, " ")
			if n := h.srv.CountRequests(method + " " + route); n != tc.attempts {
				t.Errorf("%d attempts, want %d (fault hits %d)\nlog:\n%s", n, tc.attempts, in.Hits(), h.log())
			}
			if tc.waits != nil {
				got := h.clock.waits
				if len(got) != len(tc.waits) || got[0] != tc.waits[0] {
					t.Errorf("waits = %v, want %v", got, tc.waits)
				}
			}
			if tc.logSubstr != "" && !strings.Contains(h.log(), tc.logSubstr) {
				t.Errorf("log lacks %q:\n%s", tc.logSubstr, h.log())
			}
			if strings.Count(h.log(), "\n")+1 != len(h.clock.waits) && len(h.clock.waits) > 0 && tc.ok {
				t.Errorf("not one log line per retry: %d waits\n%s", len(h.clock.waits), h.log())
			}
		})
	}
}

func TestAttemptTimeout(t *testing.T) {
	h := newHarness(t, githubtest.DefaultToken)
	h.tr.AttemptTimeout = 200 * time.Millisecond
	// A hung GET is abandoned and tried again.
	h.srv.Faults().Inject("GET /repos/{owner}/{repo}", githubtest.Fault{Delay: 2 * time.Second})
	if err := getRepoCall(context.Background(), h.gh); err != nil {
		t.Fatalf("GET after one hung try: %v\n%s", err, h.log())
	}
	// The abandoned try is logged by the server when its handler ends, which
	// may be a moment after the client moved on: wait for it, bounded.
	n := 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if n = h.srv.CountRequests("GET /repos/{owner}/{repo}"); n >= 2 {
			break
		}
	}
	if n != 2 {
		t.Errorf("%d tries, want 2", n)
	}
	if !strings.Contains(h.log(), "no response within 200ms") {
		t.Errorf("the retry does not say why:\n%s", h.log())
	}
	// A hung POST may have happened: it is not repeated, and the error says
	// it timed out.
	h.srv.Faults().Inject("POST /repos/{owner}/{repo}/git/refs", githubtest.Fault{Delay: 2 * time.Second})
	err := createRefCall(context.Background(), h.gh)
	if err == nil || !strings.Contains(err.Error(), "no response within 200ms") {
		t.Fatalf("err = %v", err)
	}
	// The server finishes the hung request after the client left.
	for end := time.Now().Add(5 * time.Second); h.srv.CountRequests("POST /repos/{owner}/{repo}/git/refs") == 0 && time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond)
	}
	if n := h.srv.CountRequests("POST /repos/{owner}/{repo}/git/refs"); n != 1 {
		t.Errorf("the POST was sent %d times", n)
	}
}

func TestRetryBudget(t *testing.T) {
	h := newHarness(t, githubtest.DefaultToken)
	// Retry-After longer than the whole budget (MaxSecondaryWait for a
	// secondary limit): give up at once, do not wait.
	h.srv.Faults().Inject("GET /repos/{owner}/{repo}", githubtest.Fault{Status: 403, Times: -1, Header: http.Header{"Retry-After": {"1200"}},
		Body: `{"message":"You have exceeded a secondary rate limit.","documentation_url":"https://docs.github.com/rest"}`})
	err := getRepoCall(context.Background(), h.gh)
	if err == nil || len(h.clock.waits) != 0 || !strings.Contains(h.log(), "giving up") {
		t.Fatalf("err = %v, waits %v, log %s", err, h.clock.waits, h.log())
	}
}

func TestPrimaryRateLimit(t *testing.T) {
	t.Run("a short reset is waited for", func(t *testing.T) {
		h := newHarness(t, githubtest.DefaultToken)
		reset := h.clock.now.Add(20 * time.Second).Unix()
		h.srv.Faults().Inject("GET /repos/{owner}/{repo}", githubtest.Fault{Status: 403, Times: 1,
			Header: http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {strconv.FormatInt(reset, 10)}},
			Body:   `{"message":"API rate limit exceeded for installation ID 1.","documentation_url":"https://docs.github.com/rest"}`})
		if err := getRepoCall(context.Background(), h.gh); err != nil {
			t.Fatalf("%v\n%s", err, h.log())
		}
		if len(h.clock.waits) != 1 || h.clock.waits[0] < 19*time.Second || h.clock.waits[0] > 22*time.Second {
			t.Errorf("waits = %v", h.clock.waits)
		}
	})
	t.Run("a long reset fails saying when", func(t *testing.T) {
		h := newHarness(t, githubtest.DefaultToken)
		reset := h.clock.now.Add(23 * time.Minute)
		h.srv.Faults().Inject("GET /repos/{owner}/{repo}", githubtest.Fault{Status: 403, Times: -1,
			Header: http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {strconv.FormatInt(reset.Unix(), 10)}},
			Body:   `{"message":"API rate limit exceeded for installation ID 1.","documentation_url":"https://docs.github.com/rest"}`})
		err := Wrap("read the repository", "acme/app", getRepoCall(context.Background(), h.gh))
		var rl *RateLimitError
		if !errors.As(err, &rl) || !strings.Contains(err.Error(), "resets at "+reset.UTC().Format("15:04:05 UTC")+" (in 2") {
			t.Fatalf("err = %v", err)
		}
		if len(h.clock.waits) != 0 {
			t.Errorf("waited %v", h.clock.waits)
		}
	})
}

func TestErrorsNameTheOperationAndHint(t *testing.T) {
	h := newHarness(t, githubtest.DefaultToken)
	_, _, err := h.gh.Repositories.Get(context.Background(), "acme", "nope")
	err = Wrap("read the repository", "acme/nope", err)
	want := "read the repository in acme/nope: 404 Not Found: Not Found (it does not exist, or the token cannot see it"
	if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "http") || Status(err) != 404 {
		t.Fatalf("err = %v", err)
	}

	bad := newHarness(t, "ghs_not_a_known_token")
	_, _, err = bad.gh.Repositories.Get(context.Background(), "acme", "app")
	err = Wrap("read the repository", "acme/app", err)
	if err == nil || !strings.Contains(err.Error(), "401 Unauthorized: Bad credentials (the token is invalid or expired)") {
		t.Fatalf("err = %v", err)
	}
	for _, e := range []string{err.Error(), bad.log()} {
		if strings.Contains(e, "ghs_not_a_known_token") {
			t.Fatalf("the token leaked: %s", e)
		}
	}
}

func TestHeaders(t *testing.T) {
	h := newHarness(t, githubtest.DefaultToken)
	var got http.Header
	h.srv.Faults().Before("GET /repos/{owner}/{repo}", func(r *http.Request) { got = r.Header.Clone() })
	if err := getRepoCall(context.Background(), h.gh); err != nil {
		t.Fatal(err)
	}
	if got.Get("Authorization") != "Bearer "+githubtest.DefaultToken || got.Get("User-Agent") != "cicd-excellence-actions/test" {
		t.Errorf("headers = %v", got)
	}
}

func TestCheckToken(t *testing.T) {
	for _, tok := range []string{"", "  ", "a b", "abc\n", "x\x00"} {
		if err := CheckToken(tok); err == nil || !strings.Contains(err.Error(), `input "github-token"`) {
			t.Errorf("CheckToken(%q) = %v", tok, err)
		}
	}
	if err := CheckToken("ghs_abc"); err != nil {
		t.Error(err)
	}
}

func getRepoCall(ctx context.Context, c *gh.Client) error {
	_, _, err := c.Repositories.Get(ctx, "acme", "app")
	return err
}

func createRefCall(ctx context.Context, c *gh.Client) error {
	ref, _, err := c.Git.GetRef(ctx, "acme", "app", "heads/main")
	if err != nil {
		return err
	}
	_, _, err = c.Git.CreateRef(ctx, "acme", "app", &gh.Reference{Ref: gh.String("refs/heads/x"), Object: &gh.GitObject{SHA: ref.Object.SHA}})
	return err
}

// TestTokenStaysOnTheAPIHost: a redirect to another host (an archive's
// storage link) must not carry the token.
func TestTokenStaysOnTheAPIHost(t *testing.T) {
	var elsewhere http.Header
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere = r.Header.Clone()
		w.Write([]byte("archive"))
	}))
	defer other.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer ghs_secret" {
			t.Errorf("the API did not get the token")
		}
		http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+"/blob", http.StatusFound)
	}))
	defer api.Close()
	c, err := New(api.URL+"/api/v3", &Transport{Token: "ghs_secret"})
	if err != nil {
		t.Fatal(err)
	}
	req, err := c.NewRequest("GET", "repos/acme/app/tarball/main", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(context.Background(), req, io.Discard); err != nil {
		t.Fatal(err)
	}
	if elsewhere == nil || elsewhere.Get("Authorization") != "" {
		t.Errorf("headers at the redirect target: %v", elsewhere)
	}
}

func TestUnanswered(t *testing.T) {
	timeout := &url.Error{Op: "Post", URL: "https://api.github.com/x", Err: context.DeadlineExceeded}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"no error", nil, false},
		{"a timeout", timeout, true},
		{"a reset", &url.Error{Op: "Post", URL: "https://api.github.com/x", Err: errors.New("read: connection reset by peer")}, true},
		{"a server error answered", &APIError{Op: "create", Repo: "a/b", Status: 502, Message: "Bad Gateway"}, false},
		{"a refusal", &APIError{Op: "create", Repo: "a/b", Status: 422, Message: "Reference already exists"}, false},
		{"a primary rate limit: refused", &url.Error{Op: "Post", URL: "https://api.github.com/x", Err: &RateLimitError{In: time.Hour}}, false},
		{"the caller gave up", &url.Error{Op: "Post", URL: "https://api.github.com/x", Err: context.Canceled}, false},
	}
	for _, tc := range tests {
		if got := Unanswered(tc.err); got != tc.want {
			t.Errorf("%s: Unanswered = %v, want %v", tc.name, got, tc.want)
		}
	}
}
