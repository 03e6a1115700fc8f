// Package ghclient builds the GitHub client of a step from its runtime: the
// github-token input (masked at once), GITHUB_API_URL for GitHub Enterprise
// Server, the runtime's HTTP client and log.
package ghclient

import (
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
	c := gh.NewClient(r.HTTPClient).WithAuthToken(token)
	c.UserAgent = version.UserAgent()
	api := strings.TrimRight(r.Getenv("GITHUB_API_URL"), "/")
	if api != "" && api != "https://api.github.com" {
		var err error
		if c, err = c.WithEnterpriseURLs(api+"/", api+"/"); err != nil {
			return nil, action.Inputf("github-token", "GITHUB_API_URL %q is not a URL", api)
		}
	}
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
