package hotfix

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cicd-excellence/actions/internal/testkit/actrun"
	"github.com/cicd-excellence/actions/internal/testkit/acttest"
	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

func TestMain(m *testing.M) { os.Exit(acttest.Main(m)) }

// TestWorkflowE2E runs a workflow_dispatch hotfix workflow with act through
// `uses: cicd-excellence/actions/hotfix@v1` against the local GitHub, then
// looks for the branch with git ls-remote over smart HTTP, as a developer's
// git would.
func TestWorkflowE2E(t *testing.T) {
	f := newFixture(t)
	wf, err := os.ReadFile(filepath.Join("testdata", "hotfix.yml"))
	if err != nil {
		t.Fatal(err)
	}
	run := func(name, base string) *actrun.Result {
		return acttest.Execute(t, acttest.Run{Options: actrun.Options{
			Files:   map[string]string{".github/workflows/hotfix.yml": string(wf)},
			Event:   "workflow_dispatch",
			Payload: `{"ref":"refs/heads/main","inputs":{"name":` + quote(name) + `,"base":` + quote(base) + `},"repository":{"full_name":"acme/app","default_branch":"main"}}`,
			Inputs:  map[string]string{"name": name, "base": base},
			Env:     map[string]string{"GITHUB_API_URL": f.srv.APIURL(), "GITHUB_SERVER_URL": f.srv.ServerURL()},
			Secrets: map[string]string{"BOT_TOKEN": githubtest.DefaultToken},
		}})
	}
	res := run("login-crash", f.first[:7])
	if res.Err != nil {
		t.Fatalf("act: %v\n%s", res.Err, res.Log)
	}
	if !res.Has("branch=hotfixes/login-crash sha=" + f.first + " created=true") {
		t.Errorf("results = %q", res.Results)
	}
	out, err := exec.Command("git", "ls-remote", f.srv.CloneURL("acme", "app", githubtest.DefaultToken), "refs/heads/hotfixes/*").CombinedOutput()
	if err != nil {
		t.Fatalf("git ls-remote: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != f.first+"\trefs/heads/hotfixes/login-crash" {
		t.Errorf("ls-remote = %q", got)
	}
	if strings.Contains(res.Log, githubtest.DefaultToken) {
		t.Error("the token is in the workflow log")
	}

	// The seed's injection: the name never reaches a shell, the run fails
	// with an error naming the input, and no branch appears.
	marker := filepath.Join(t.TempDir(), "pwned")
	res = run("x`touch "+marker+"`", "main")
	if res.Err == nil || !strings.Contains(res.Log, `input "name"`) {
		t.Fatalf("the bad name was not refused: %v\n%s", res.Err, res.Log)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the name ran as shell")
	}
	refs, _ := f.srv.Refs("acme", "app")
	for r := range refs {
		if strings.HasPrefix(r, "refs/heads/hotfixes/") && r != "refs/heads/hotfixes/login-crash" {
			t.Errorf("unexpected branch %s", r)
		}
	}
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
