package hotfix

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
	"github.com/cicd-excellence/actions/internal/testkit/steptest"
)

// fixture is an app repo on the local GitHub: main with two commits, a tag,
// and a feature branch whose commit is not on main.
type fixture struct {
	srv                  *githubtest.Server
	first, head, feature string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv := githubtest.New(t)
	if err := srv.CreateRepo(githubtest.RepoConfig{Owner: "acme", Name: "app"}); err != nil {
		t.Fatal(err)
	}
	f := &fixture{srv: srv}
	var err error
	if f.first, err = srv.CommitFiles("acme", "app", "main", map[string]string{"a.txt": "1"}, "first"); err != nil {
		t.Fatal(err)
	}
	if f.head, err = srv.CommitFiles("acme", "app", "main", map[string]string{"a.txt": "2"}, "second"); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetRef("acme", "app", "refs/tags/v1.0.0", f.first); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetRef("acme", "app", "refs/heads/feature", f.head); err != nil {
		t.Fatal(err)
	}
	if f.feature, err = srv.CommitFiles("acme", "app", "feature", map[string]string{"b.txt": "x"}, "feature"); err != nil {
		t.Fatal(err)
	}
	return f
}

// run runs the step as a runner would, with outputs in a real file.
func (f *fixture) run(t *testing.T, inputs ...string) (map[string]string, string, error) {
	t.Helper()
	env := append([]string{
		"GITHUB_REPOSITORY=acme/app", "GITHUB_API_URL=" + f.srv.APIURL(), "GITHUB_SERVER_URL=" + f.srv.ServerURL(),
		"INPUT_GITHUB_TOKEN=" + githubtest.DefaultToken,
	}, inputs...)
	res := steptest.Run(t, Step, "", env...)
	return res.Outputs, res.Log, res.Err
}

func (f *fixture) branch(t *testing.T, name string) string {
	t.Helper()
	refs, err := f.srv.Refs("acme", "app")
	if err != nil {
		t.Fatal(err)
	}
	return refs["refs/heads/"+name]
}

func TestCreate(t *testing.T) {
	f := newFixture(t)
	tests := []struct{ name, base, want string }{
		{"full SHA", f.first, f.first},
		{"short SHA", f.first[:8], f.first},
		{"tag", "v1.0.0", f.first},
		{"branch", "main", f.head},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.ReplaceAll(tc.name, " ", "-")
			out, log, err := f.run(t, "INPUT_NAME="+name, "INPUT_BASE="+tc.base)
			if err != nil {
				t.Fatalf("%v\n%s", err, log)
			}
			if got := f.branch(t, "hotfixes/"+name); got != tc.want {
				t.Errorf("branch at %q, want %q", got, tc.want)
			}
			if out["branch"] != "hotfixes/"+name || out["sha"] != tc.want || out["created"] != "true" || out["url"] != f.srv.ServerURL()+"/acme/app/tree/hotfixes/"+name {
				t.Errorf("outputs = %v", out)
			}
		})
	}
}

func TestIdempotent(t *testing.T) {
	f := newFixture(t)
	if _, log, err := f.run(t, "INPUT_NAME=x", "INPUT_BASE="+f.first); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	before := f.srv.CountRequests("POST /repos/{owner}/{repo}/git/refs")
	out, log, err := f.run(t, "INPUT_NAME=x", "INPUT_BASE="+f.first[:7])
	if err != nil {
		t.Fatalf("rerun: %v\n%s", err, log)
	}
	if out["created"] != "false" || !strings.Contains(log, "::notice::hotfix branch hotfixes/x already exists") {
		t.Errorf("rerun outputs %v, log %s", out, log)
	}
	if f.srv.CountRequests("POST /repos/{owner}/{repo}/git/refs") != before {
		t.Error("the rerun tried to create the branch again")
	}
}

func TestErrors(t *testing.T) {
	f := newFixture(t)
	if _, _, err := f.run(t, "INPUT_NAME=taken", "INPUT_BASE="+f.first); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		inputs []string
		input  string // the input the error must name; empty for a non-input error
		msg    string
	}{
		{"branch exists elsewhere", []string{"INPUT_NAME=taken", "INPUT_BASE=main"}, "", "already exists at " + f.first[:7] + ", not at " + f.head[:7]},
		{"base does not exist", []string{"INPUT_NAME=y", "INPUT_BASE=deadbeef"}, "base", "is not a commit, tag or branch of acme/app"},
		{"unknown branch", []string{"INPUT_NAME=y", "INPUT_BASE=no-such-branch"}, "base", "is not a commit, tag or branch"},
		{"base off the default branch", []string{"INPUT_NAME=y", "INPUT_BASE=" + f.feature}, "base", "is not on the default branch main"},
		{"repository that does not exist", []string{"INPUT_NAME=y", "INPUT_BASE=main", "INPUT_REPOSITORY=acme/nope"}, "", "acme/nope"},
		{"empty token", []string{"INPUT_NAME=y", "INPUT_BASE=main", "INPUT_GITHUB_TOKEN="}, "github-token", "is empty"},
		{"token with a space", []string{"INPUT_NAME=y", "INPUT_BASE=main", "INPUT_GITHUB_TOKEN=ab cd"}, "github-token", "whitespace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			refs, _ := f.srv.Refs("acme", "app")
			_, log, err := f.run(t, tc.inputs...)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want %q\n%s", err, tc.msg, log)
			}
			var ie *action.InputError
			if tc.input != "" && (!errors.As(err, &ie) || ie.Input != tc.input) {
				t.Errorf("err = %v, want it to name input %q", err, tc.input)
			}
			after, _ := f.srv.Refs("acme", "app")
			if len(after) != len(refs) {
				t.Errorf("refs changed: %v -> %v", refs, after)
			}
		})
	}
	t.Run("off the default branch when allowed", func(t *testing.T) {
		if _, log, err := f.run(t, "INPUT_NAME=feat", "INPUT_BASE="+f.feature, "INPUT_REQUIRE_ON_DEFAULT_BRANCH=false"); err != nil {
			t.Fatalf("%v\n%s", err, log)
		}
		if f.branch(t, "hotfixes/feat") != f.feature {
			t.Error("branch not created")
		}
	})
}

// TestInjectionNeverReachesAShell is the seed's hole: its hotfix workflow ran
// `git switch -c hotfixes/${{ github.event.inputs.branch_name }}`. Here the
// name is refused before any request.
func TestInjectionNeverReachesAShell(t *testing.T) {
	f := newFixture(t)
	marker := filepath.Join(t.TempDir(), "pwned")
	f.srv.ResetRequests()
	_, _, err := f.run(t, "INPUT_NAME=x$(touch "+marker+")", "INPUT_BASE=main")
	var ie *action.InputError
	if !errors.As(err, &ie) || ie.Input != "name" {
		t.Fatalf("err = %v", err)
	}
	if _, statErr := os.Stat(marker); statErr == nil {
		t.Fatal("the name ran as shell")
	}
	if n := len(f.srv.Requests()); n != 0 {
		t.Errorf("%d requests were sent for a refused name", n)
	}
}
