package publish

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/cicd-excellence/actions/internal/action"
)

func TestParseImage(t *testing.T) {
	good := map[string]string{
		"ghcr.io/org/api":                         "ghcr.io/org/api",
		"ghcr.io/Org/API":                         "ghcr.io/org/api",
		"localhost:5000/a":                        "localhost:5000/a",
		"registry.example.com/a/b/c":              "registry.example.com/a/b/c",
		"docker.io/library/alpine":                "docker.io/library/alpine",
		"123.dkr.ecr.eu-west-1.amazonaws.com/app": "123.dkr.ecr.eu-west-1.amazonaws.com/app",
	}
	for in, want := range good {
		_, got, err := parseImage(in, false)
		if err != nil || got != want {
			t.Errorf("parseImage(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "api", "org/api", "ghcr.io", "ghcr.io/", "ghcr.io/org/api:v1", "ghcr.io/org/api@sha256:abc", "https://ghcr.io/org/api", "ghcr.io/org/a b", "ghcr.io/org//api", "docker.io/alpine"} {
		_, _, err := parseImage(in, false)
		var ie *action.InputError
		if !errors.As(err, &ie) || ie.Input != "image" {
			t.Errorf("parseImage(%q) err = %v, want an input error naming image", in, err)
		}
	}
}

func TestParseTags(t *testing.T) {
	sha := strings.Repeat("a1", 20)
	got, err := parseTags(sha, []string{"v1.2.3", sha, "v1.2.3", "_x", "A-b.c"})
	if err != nil || strings.Join(got, ",") != sha+",v1.2.3,_x,A-b.c" {
		t.Errorf("parseTags = %v, %v", got, err)
	}
	for _, bad := range []string{".x", "-x", "a:b", "a/b", "a b", "é", strings.Repeat("x", 129), "latest"} {
		if _, err := parseTags(sha, []string{bad}); err == nil || !strings.Contains(err.Error(), `input "tags"`) {
			t.Errorf("parseTags(%q) err = %v", bad, err)
		}
	}
	if _, err := parseTags(sha, []string{strings.Repeat("x", 128)}); err != nil {
		t.Errorf("a 128-character tag: %v", err)
	}
}

func TestChooseCredentials(t *testing.T) {
	tests := []struct {
		name             string
		user, pass       string
		defaults, github bool
		basic, withheld  bool
		input            string
	}{
		{"defaults to ghcr.io", "octocat", "ghs_x", true, true, true, false, ""},
		{"defaults elsewhere are withheld", "octocat", "ghs_x", true, false, false, true, ""},
		{"explicit elsewhere", "aws", "tok", false, false, true, false, ""},
		{"nothing: docker login", "", "", false, false, false, false, ""},
		{"user without password", "octocat", "", true, true, false, false, "password"},
		{"password without user", "", "tok", false, false, false, false, "username"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			basic, withheld, err := chooseCredentials(&config{Username: tc.user, Password: tc.pass, DefaultCreds: tc.defaults}, tc.github)
			var ie *action.InputError
			if tc.input != "" {
				if !errors.As(err, &ie) || ie.Input != tc.input {
					t.Fatalf("err = %v, want input %s", err, tc.input)
				}
				return
			}
			if err != nil || basic != tc.basic || withheld != tc.withheld {
				t.Errorf("= %v, %v, %v; want %v, %v", basic, withheld, err, tc.basic, tc.withheld)
			}
		})
	}
}

func TestIsGitHubRegistry(t *testing.T) {
	for _, tc := range []struct {
		host, server string
		want         bool
	}{
		{"ghcr.io", "https://github.com", true},
		{"containers.github.example.com", "https://github.example.com", true},
		{"containers.github.com", "https://github.com", false},
		{"registry.example.com", "https://github.com", false},
		{"ghcr.io.evil.com", "https://github.com", false},
	} {
		if got := isGitHubRegistry(tc.host, tc.server); got != tc.want {
			t.Errorf("isGitHubRegistry(%q, %q) = %v", tc.host, tc.server, got)
		}
	}
}

func TestDescribeRegistryErrors(t *testing.T) {
	repo, _, _ := parseImage("ghcr.io/org/api", false)
	g := &registry{repo: repo, github: true, creds: credsGiven, secrets: []string{"hunter2"}}
	tests := []struct {
		status int
		diag   []transport.Diagnostic
		want   string
	}{
		{401, nil, "push x: 401 Unauthorized: check username/password (for ghcr.io the job needs permissions: packages: write)"},
		{403, []transport.Diagnostic{{Code: "DENIED", Message: "permission_denied: write_package"}}, "push x: 403 Forbidden: these credentials may not push to ghcr.io/org/api (the job needs permissions: packages: write"},
		{404, nil, "push x: 404 Not Found: the repository does not exist"},
		{503, nil, "push x: 503 Service Unavailable: the registry failed"},
		{400, []transport.Diagnostic{{Code: "MANIFEST_INVALID", Message: "token hunter2 leaked\nsecond line"}}, "push x: 400 Bad Request; the registry said: MANIFEST_INVALID: token *** leaked second line"},
	}
	for _, tc := range tests {
		err := g.explain("push x", &transport.Error{StatusCode: tc.status, Errors: tc.diag})
		if !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%d: %q, want prefix %q", tc.status, err, tc.want)
		}
	}
}
