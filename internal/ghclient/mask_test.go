package ghclient

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/cicd-excellence/actions/internal/action"
)

// logAtFirstRequest answers every request with {} and keeps what the step
// had printed when the first request left.
type logAtFirstRequest struct {
	log   *bytes.Buffer
	mu    sync.Mutex
	seen  bool
	first string
	auth  string
}

func (l *logAtFirstRequest) RoundTrip(req *http.Request) (*http.Response, error) {
	l.mu.Lock()
	if !l.seen {
		l.seen, l.first, l.auth = true, l.log.String(), req.Header.Get("Authorization")
	}
	l.mu.Unlock()
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"login":"x"}`)), Request: req}, nil
}

// TestTokenMaskedBeforeFirstRequest fails when FromRuntime stops masking the
// token, or masks it only after a request has gone out (a request's error
// could print it before the runner knows to hide it).
func TestTokenMaskedBeforeFirstRequest(t *testing.T) {
	const token = "ghs_maskMeBeforeAnyRequest0123456789"
	for _, source := range []string{"INPUT_GITHUB-TOKEN=", "GITHUB_TOKEN="} {
		t.Run(source, func(t *testing.T) {
			var log bytes.Buffer
			rt := &logAtFirstRequest{log: &log}
			r := action.New(action.Options{
				Stdout:     &log,
				Env:        []string{"GITHUB_ACTIONS=true", "GITHUB_API_URL=https://api.github.com", source + token},
				HTTPClient: &http.Client{Transport: rt},
			})
			c, err := FromRuntime(r)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.Users.Get(context.Background(), ""); err != nil {
				t.Fatal(err)
			}
			if !rt.seen || rt.auth != "Bearer "+token {
				t.Fatalf("the request did not carry the token: seen=%v", rt.seen)
			}
			if !strings.Contains(rt.first, "::add-mask::"+token+"\n") {
				t.Errorf("the token was not masked before the first request; log then: %q", rt.first)
			}
			// And the runtime itself never prints it.
			r.Infof("answer: %s", "token "+token)
			if strings.Count(log.String(), token) != 1 || !strings.Contains(log.String(), "answer: token ***") {
				t.Errorf("log = %q", log.String())
			}
		})
	}
}
