// Package ghclient builds the GitHub client of a step from its runtime: the
// github-token input (masked at once, sent only in the Authorization header),
// GITHUB_API_URL for GitHub Enterprise Server, retries below go-github, and
// errors that say what was attempted where and what usually causes them.
package ghclient

import (
	"net/http"
	"net/url"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/version"
)

// FromRuntime returns a client for the step's github-token input.
func FromRuntime(r *action.Runtime) (*gh.Client, error) {
	token := r.Input("github-token")
	if token == "" {
		token = r.Getenv("GITHUB_TOKEN")
	}
	r.Mask(token)
	if err := CheckToken(token); err != nil {
		return nil, err
	}
	t := &Transport{
		Token:     token,
		UserAgent: version.UserAgent(),
		Now:       r.Now,
		Sleep:     r.Sleep,
		Logf:      r.Infof,
	}
	if r.HTTPClient != nil && r.HTTPClient.Transport != nil {
		t.Base = r.HTTPClient.Transport
	}
	t.BaseBackoff, t.AttemptTimeout = r.RetryBackoff, r.AttemptTimeout // zero: the defaults
	return New(r.Getenv("GITHUB_API_URL"), t)
}

// New returns a go-github client for apiURL (empty: api.github.com) whose
// requests go through t.
func New(apiURL string, t *Transport) (*gh.Client, error) {
	// No client-wide Timeout: the transport bounds each try and the retries
	// as a whole, and a client Timeout would cut the retries short.
	c := gh.NewClient(&http.Client{Transport: t})
	c.UserAgent = t.UserAgent
	api := strings.TrimRight(apiURL, "/")
	if api == "" || api == "https://api.github.com" {
		t.Host = "api.github.com"
		return c, nil
	}
	u, err := url.Parse(api + "/")
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, action.Inputf("github-token", "GITHUB_API_URL %q is not an http(s) URL", apiURL)
	}
	// Not WithEnterpriseURLs: it appends /api/v3/ unless the URL already ends
	// so; GITHUB_API_URL is exactly the API root on github.com, GHES and
	// GHE.com alike.
	c.BaseURL = u
	c.UploadURL = u
	t.Host = u.Host
	return c, nil
}

// CheckToken refuses an empty or malformed token before any request.
func CheckToken(token string) error {
	if strings.TrimSpace(token) == "" {
		return action.Inputf("github-token", "is empty (pass secrets.GITHUB_TOKEN or a GitHub App token)")
	}
	for _, c := range token {
		if c <= ' ' || c == 0x7f {
			return action.Inputf("github-token", "contains whitespace or control characters (a copy-paste error?)")
		}
	}
	return nil
}
