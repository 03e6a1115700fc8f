package openinfrapr

import (
	"fmt"
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

// TestAppFlowE2E runs the seed's app flow with act: a push to main runs
// setup, test and publish, then `uses: cicd-excellence/actions/open-infra-pr@v1`
// moves dev on the local GitHub's infra repo through a rebase-merged PR.
func TestAppFlowE2E(t *testing.T) {
	w := newWorld(t)
	wf, err := os.ReadFile(filepath.Join("testdata", "publish.yml"))
	must(t, err)
	infraBefore, err := w.srv.Refs("acme", "infra")
	must(t, err)
	res := acttest.Execute(t, acttest.Run{Options: actrun.Options{
		Files:   map[string]string{".github/workflows/publish.yml": string(wf), "main.go": "package main\n"},
		Event:   "push",
		Payload: `{"ref":"refs/heads/main","before":"` + w.app[3] + `","after":"{{HEAD}}","repository":{"full_name":"acme/app","default_branch":"main"}}`,
		Env:     map[string]string{"GITHUB_API_URL": w.srv.APIURL(), "GITHUB_SERVER_URL": w.srv.ServerURL()},
		Secrets: map[string]string{"BOT_TOKEN": githubtest.DefaultToken},
		// The pushed commit lands on the local GitHub's app repo first, as the
		// push that triggers the workflow would have.
		BeforeRun: func(repo, head string) error {
			fetch := exec.Command("git", "-C", repo, "fetch", "-q", w.srv.CloneURL("acme", "app", githubtest.DefaultToken), "main")
			if out, err := fetch.CombinedOutput(); err != nil {
				return fmt.Errorf("fetch: %v\n%s", err, out)
			}
			rebase := exec.Command("git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "rebase", "-q", "FETCH_HEAD")
			if out, err := rebase.CombinedOutput(); err != nil {
				return fmt.Errorf("rebase: %v\n%s", err, out)
			}
			push := exec.Command("git", "-C", repo, "push", "-q", w.srv.CloneURL("acme", "app", githubtest.DefaultToken), "HEAD:main")
			if out, err := push.CombinedOutput(); err != nil {
				return fmt.Errorf("push: %v\n%s", err, out)
			}
			return nil
		},
	}})
	if res.Err != nil {
		t.Fatalf("act: %v\n%s", res.Err, res.Log)
	}
	appRefs, err := w.srv.Refs("acme", "app")
	must(t, err)
	head := appRefs["refs/heads/main"]
	for _, want := range []string{"job=test", "job=publish"} {
		if !res.Has(want) {
			t.Errorf("missing %q in %q", want, res.Results)
		}
	}
	dev := w.file(t, "dev")
	if !strings.Contains(dev, `"tag": "`+head+`"`) {
		t.Fatalf("dev.json does not hold the pushed commit %s:\n%s\n%s", head, dev, res.Log)
	}
	infraRefs, err := w.srv.Refs("acme", "infra")
	must(t, err)
	main := infraRefs["refs/heads/main"]
	if !res.Has("operation=merged merged=true commit=" + main) {
		t.Errorf("results = %q, infra main %s", res.Results, main)
	}
	// One commit on the infra repo's main, on top of where it was.
	out, err := exec.Command("git", "--git-dir", filepath.Join(w.srv.Dir(), "acme", "infra.git"), "rev-list", "--count", infraBefore["refs/heads/main"]+".."+main).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "1" {
		t.Errorf("infra history: %v %s", err, out)
	}
	prs := w.pulls(t)
	if len(prs) != 1 || !prs[0].Merged {
		t.Errorf("pulls = %+v", prs)
	}
	if strings.Contains(res.Log, githubtest.DefaultToken) {
		t.Error("the token is in the workflow log")
	}
}
