package ghclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cicd-excellence/actions/internal/action"
)

// Transport authenticates requests and retries the ones worth retrying,
// bounded in count and total time, logging one line per retry. It sits below
// go-github so that go-github only ever sees the final response: go-github
// v60 treats neither 429 as a rate limit nor lets a caller wait out a
// secondary limit (after one, it refuses calls locally until Retry-After).
type Transport struct {
	Base      http.RoundTripper
	Token     string
	UserAgent string
	// Host is the only host the token is sent to (the API's); a redirect
	// elsewhere (an archive's storage link, say) goes without it. New sets it.
	Host string

	MaxRetries       int           // retries after the first try (default 5)
	AttemptTimeout   time.Duration // one try, response body included (default 30s)
	MaxElapsed       time.Duration // total time budget of one request (default 2m)
	MaxRateLimitWait time.Duration // longest wait for a primary limit reset (default 60s)
	BaseBackoff      time.Duration // first backoff (default 1s), doubled and jittered

	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	Logf  func(format string, args ...any)
}

type retryPOSTKey struct{}

// WithRetryPOST marks a POST as safe to repeat (the caller made it
// idempotent or checks for it before). Other POSTs are never repeated.
func WithRetryPOST(ctx context.Context) context.Context {
	return context.WithValue(ctx, retryPOSTKey{}, true)
}

// RateLimitError is a primary rate limit that resets too late to wait for.
type RateLimitError struct {
	Reset time.Time
	In    time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("GitHub API rate limit exhausted; it resets at %s (in %s)", e.Reset.UTC().Format("15:04:05 UTC"), e.In.Round(time.Second))
}

func (t *Transport) defaults() {
	if t.Base == nil {
		t.Base = http.DefaultTransport
	}
	if t.MaxRetries == 0 {
		t.MaxRetries = 5
	}
	if t.AttemptTimeout == 0 {
		t.AttemptTimeout = 30 * time.Second
	}
	if t.MaxElapsed == 0 {
		t.MaxElapsed = 2 * time.Minute
	}
	if t.MaxRateLimitWait == 0 {
		t.MaxRateLimitWait = time.Minute
	}
	if t.BaseBackoff == 0 {
		t.BaseBackoff = time.Second
	}
	if t.Now == nil {
		t.Now = time.Now
	}
	if t.Sleep == nil {
		t.Sleep = action.Sleep
	}
	if t.Logf == nil {
		t.Logf = func(string, ...any) {}
	}
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.defaults()
	ctx := req.Context()
	start := t.Now()
	repeatable := req.Method != http.MethodPost || ctx.Value(retryPOSTKey{}) != nil
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	what := req.Method + " " + req.URL.Path
	for attempt := 0; ; attempt++ {
		// Each try has its own deadline, so a hung connection is retried
		// instead of eating the whole budget; the deadline covers the body
		// too and is released when the caller closes it.
		actx, cancel := context.WithTimeout(ctx, t.AttemptTimeout)
		r := req.Clone(actx)
		if t.Host == "" || strings.EqualFold(r.URL.Host, t.Host) {
			r.Header.Set("Authorization", "Bearer "+t.Token)
		} else {
			r.Header.Del("Authorization")
		}
		if t.UserAgent != "" {
			r.Header.Set("User-Agent", t.UserAgent)
		}
		if body != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		}
		resp, err := t.Base.RoundTrip(r)
		if err != nil && ctx.Err() == nil && actx.Err() != nil {
			err = fmt.Errorf("no response within %s: %w", t.AttemptTimeout, err)
		}
		wait, why, final := t.classify(resp, err, repeatable, attempt)
		if !final && ctx.Err() != nil {
			final = true // the caller gave up; nothing to retry for
		}
		budget := t.MaxElapsed
		if _, ok := why.(secondaryWhy); ok && budget < MaxSecondaryWait {
			budget = MaxSecondaryWait
		}
		if final || t.Now().Add(wait).Sub(start) > budget {
			if !final {
				t.Logf("giving up on %s after %d attempts: %v", what, attempt+1, why)
			}
			if rl, ok := why.(*RateLimitError); ok && final {
				cancel()
				if resp != nil {
					resp.Body.Close()
				}
				return nil, rl
			}
			if resp != nil {
				resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
			} else {
				cancel()
			}
			return resp, err
		}
		if resp != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
		}
		cancel()
		t.Logf("retrying %s (attempt %d/%d) in %s: %v", what, attempt+2, t.MaxRetries+1, wait.Round(10*time.Millisecond), why)
		if serr := t.Sleep(ctx, wait); serr != nil {
			return nil, serr
		}
	}
}

// secondaryWhy marks a wait for a secondary rate limit.
type secondaryWhy string

// secondaryTries and MaxSecondaryWait bound the waits for secondary rate
// limits of one request.
const (
	secondaryTries   = 20
	MaxSecondaryWait = 10 * time.Minute
)

// cancelOnClose releases a try's deadline when the caller is done with the
// body.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// classify decides whether to retry, after how long, and says why. Rate
// limits are retried for any method (the request was refused, nothing
// happened); server errors and broken connections only for repeatable ones.
func (t *Transport) classify(resp *http.Response, err error, repeatable bool, attempt int) (time.Duration, any, bool) {
	outOfTries := attempt >= t.MaxRetries
	if err != nil {
		if outOfTries || !repeatable || !transientNetErr(err) {
			return 0, err, true
		}
		return t.backoff(attempt), err, false
	}
	status := resp.StatusCode
	if status == http.StatusForbidden || status == http.StatusTooManyRequests {
		msg := peekMessage(resp)
		if ra := resp.Header.Get("Retry-After"); ra != "" || strings.Contains(strings.ToLower(msg), "secondary rate limit") {
			wait := time.Minute // GitHub's advice when no Retry-After is given
			if secs, perr := strconv.Atoi(ra); perr == nil && secs >= 0 {
				wait = time.Duration(secs) * time.Second
			}
			// Nothing happened, and waiting as told is what GitHub asks for:
			// a crowd of runs sharing one installation meets this limit
			// often, so it gets more tries and time than a failing server
			// (bounded by secondaryTries and MaxSecondaryWait).
			if attempt >= secondaryTries {
				return 0, nil, true
			}
			return wait, secondaryWhy(fmt.Sprintf("secondary rate limit (%d), waiting %s as told", status, wait)), false
		}
		if resp.Header.Get("X-RateLimit-Remaining") == "0" {
			reset, perr := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
			if perr != nil {
				return 0, nil, true
			}
			at := time.Unix(reset, 0)
			in := at.Sub(t.Now())
			if in < 0 {
				in = 0
			}
			if in > t.MaxRateLimitWait || outOfTries {
				return 0, &RateLimitError{Reset: at, In: in}, true
			}
			return in + time.Second, fmt.Sprintf("primary rate limit, waiting for the reset at %s", at.UTC().Format("15:04:05")), false
		}
		if status == http.StatusTooManyRequests && !outOfTries {
			return t.backoff(attempt), "429 Too Many Requests", false
		}
		return 0, nil, true
	}
	if status >= 500 && status != http.StatusNotImplemented && repeatable && !outOfTries {
		return t.backoff(attempt), resp.Status, false
	}
	return 0, nil, true
}

func (t *Transport) backoff(attempt int) time.Duration {
	d := t.BaseBackoff << attempt
	if d > 30*time.Second {
		d = 30 * time.Second
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func transientNetErr(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	s := err.Error()
	for _, m := range []string{"connection reset", "EOF", "broken pipe", "connection refused", "server closed"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// peekMessage reads GitHub's error message without consuming the body.
func peekMessage(resp *http.Response) string {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return string(data)
}
