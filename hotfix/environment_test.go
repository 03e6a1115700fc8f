package hotfix

import (
	"errors"
	"strings"
	"testing"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

// TestBaseEnvironment: `base: prod` with infra-repo starts the hotfix at
// the version prod's file holds in the infra repo, validated like any base.
func TestBaseEnvironment(t *testing.T) {
	f := newFixture(t)
	if err := f.srv.CreateRepo(githubtest.RepoConfig{Owner: "acme", Name: "infra"}); err != nil {
		t.Fatal(err)
	}
	file := func(api string) string { return `{"api": {"tag": "` + api + `", "replicas": 2}}` }
	if _, err := f.srv.CommitFiles("acme", "infra", "main", map[string]string{
		"envs/prod.json":    file(f.first),
		"envs/staging.json": file(f.head),
		"envs/main.json":    `{"api": {"replicas": 1}}`,
		"envs/two.json":     `{"worker": {"tag": "` + f.first + `"}, "web": {"tag": "` + f.head + `"}}`,
		"envs/beta.json":    file(f.feature),
		"envs/broken.json":  file("v1.2.3"),
		"deploy/qa.json":    file(f.head),
		// A digest beside the tag is not a second version (#17).
		"envs/pinned.json": `{"web": {"tag": "` + f.head + `", "digest": "sha256:` + strings.Repeat("ab", 32) + `"}}`,
	}, "environments"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, base string
		inputs     []string
		want, env  string
		input, msg string // an error naming input
	}{
		{name: "prod", base: "prod", want: f.first, env: "prod"},
		{name: "staging", base: "staging", want: f.head, env: "staging"},
		{name: "a tag with its digest", base: "pinned", want: f.head, env: "pinned"},
		{name: "a key of two", base: "two", inputs: []string{"INPUT_VERSION_KEY=web.tag"}, want: f.head, env: "two"},
		{name: "another directory", base: "qa", inputs: []string{"INPUT_ENVIRONMENTS_DIR=deploy"}, want: f.head, env: "qa"},
		{name: "not an environment but a branch", base: "feature", inputs: []string{"INPUT_REQUIRE_ON_DEFAULT_BRANCH=false"}, want: f.feature},
		{name: "two keys without version-key", base: "two", input: "version-key", msg: "is needed"},
		{name: "a version that is no SHA", base: "broken", input: "base", msg: `api.tag = "v1.2.3"`},
		{name: "an environment running an unmerged commit", base: "beta", input: "base", msg: "is not on the default branch"},
		{name: "a file without the key", base: "main", inputs: []string{"INPUT_VERSION_KEY=api.tag"}, input: "version-key", msg: "is not a version key"},
		{name: "a directory leaving the repo", base: "prod", inputs: []string{"INPUT_ENVIRONMENTS_DIR=../x"}, input: "environments-dir", msg: "clean directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.ReplaceAll(tc.name, " ", "-")
			out, log, err := f.run(t, append([]string{"INPUT_NAME=" + name, "INPUT_BASE=" + tc.base, "INPUT_INFRA_REPO=acme/infra"}, tc.inputs...)...)
			if tc.input != "" {
				var ie *action.InputError
				if !errors.As(err, &ie) || ie.Input != tc.input || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("err = %v, want input %q: %q", err, tc.input, tc.msg)
				}
				if f.branch(t, "hotfixes/"+name) != "" {
					t.Error("a branch was created")
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, log)
			}
			if got := f.branch(t, "hotfixes/"+name); got != tc.want || out["sha"] != tc.want || out["base-environment"] != tc.env {
				t.Errorf("branch at %q, outputs %v; want %s from %q", got, out, tc.want, tc.env)
			}
		})
	}
	t.Run("without infra-repo prod is a branch name", func(t *testing.T) {
		_, _, err := f.run(t, "INPUT_NAME=x", "INPUT_BASE=prod")
		var ie *action.InputError
		if !errors.As(err, &ie) || ie.Input != "base" {
			t.Fatalf("err = %v", err)
		}
	})
}
