package hardening

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

// devJSON is an environment file as the infra repo holds it.
const devJSON = `{
  "api": {
    "tag": "%s",
    "replicas": 2
  },
  "web": {
    "tag": "%s"
  }
}
`

// world is the local GitHub of the pipeline: an app repository (main with
// four commits, a hotfix branch, an unmerged feature branch, a tag) and an
// infra repository whose environments name the app's commits. secret is a
// token with write access to both, as the bot's App token would be.
type world struct {
	srv     *githubtest.Server
	app     []string // main's commits, oldest first
	hotfix  string   // on hotfixes/x, not on main
	feature string   // on feature, not merged
	infra   string   // infra main
}

func newWorld(t testing.TB) *world {
	t.Helper()
	tmpl := worldTemplate(t)
	srv := startServer(t, tmpl.dir)
	for _, r := range []string{"app", "infra"} {
		// The repositories are already on disk (copied from the template);
		// CreateRepo's git init --bare only re-initialises them.
		must(t, srv.CreateRepo(githubtest.RepoConfig{Owner: "acme", Name: r}))
	}
	w := *tmpl.w
	w.srv = srv
	return &w
}

// seedWorld builds the world's repositories on srv.
func seedWorld(t testing.TB, srv *githubtest.Server) *world {
	t.Helper()
	w := &world{srv: srv}
	for _, r := range []string{"app", "infra"} {
		must(t, srv.CreateRepo(githubtest.RepoConfig{Owner: "acme", Name: r}))
	}
	for i := 0; i < 4; i++ {
		sha, err := srv.CommitFiles("acme", "app", "main", map[string]string{"v.txt": fmt.Sprint(i)}, fmt.Sprintf("app %d", i))
		must(t, err)
		w.app = append(w.app, sha)
	}
	must(t, srv.SetRef("acme", "app", "refs/tags/v1.0.0", w.app[1]))
	must(t, srv.SetRef("acme", "app", "refs/heads/hotfixes/x", w.app[1]))
	var err error
	w.hotfix, err = srv.CommitFiles("acme", "app", "hotfixes/x", map[string]string{"fix.txt": "1"}, "fix")
	must(t, err)
	must(t, srv.SetRef("acme", "app", "refs/heads/feature", w.app[3]))
	w.feature, err = srv.CommitFiles("acme", "app", "feature", map[string]string{"f.txt": "1"}, "feature")
	must(t, err)
	w.infra, err = srv.CommitFiles("acme", "infra", "main", map[string]string{
		"envs/dev.json":     fmt.Sprintf(devJSON, w.app[1], w.app[0]),
		"envs/staging.json": fmt.Sprintf(devJSON, w.app[0], w.app[0]),
		"envs/prod.json":    fmt.Sprintf(devJSON, w.app[0], w.app[0]),
	}, "envs")
	must(t, err)
	return w
}

// The world is built once, on a server of its own, and each test gets a
// copy of its repositories on a fresh server: seeding takes a dozen git
// processes, copying a few small files.
var template struct {
	once sync.Once
	dir  string
	w    *world
	err  error
}

type worldTmpl struct {
	dir string
	w   *world
}

func worldTemplate(t testing.TB) worldTmpl {
	t.Helper()
	template.once.Do(func() {
		dir, err := os.MkdirTemp("", "hardening-world-")
		if err != nil {
			template.err = err
			return
		}
		templateDirs = append(templateDirs, dir)
		srv, err := githubtest.Start(context.Background(), githubtest.Config{Dir: filepath.Join(dir, "repos")})
		if err != nil {
			template.err = err
			return
		}
		defer srv.Close()
		template.w = seedWorld(t, srv)
		template.w.srv = nil
		template.dir = filepath.Join(dir, "repos")
	})
	if template.err != nil || template.w == nil {
		t.Fatalf("world template: %v", template.err)
	}
	return worldTmpl{dir: template.dir, w: template.w}
}

// templateDirs are removed when the tests end.
var templateDirs []string

// startServer starts a local GitHub whose repository directory starts as a
// copy of from (empty for none), registers the secret token, and closes it
// with the test, failing the test on any OpenAPI violation, as
// githubtest.New does.
func startServer(t testing.TB, from string) *githubtest.Server {
	t.Helper()
	dir := t.TempDir()
	if from != "" {
		must(t, os.CopyFS(dir, os.DirFS(from)))
	}
	srv, err := githubtest.Start(context.Background(), githubtest.Config{Dir: dir, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, v := range srv.TakeViolations() {
			t.Errorf("%s", v)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("githubtest: close: %v", err)
		}
	})
	srv.AddToken(secret, secretLogin, githubtest.Write)
	return srv
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// env is the runner's context for a run in acme/app (open-infra-pr, hotfix)
// or acme/infra (deploy), with the secret as the token.
func (w *world) env(repo string, sha string, extra ...string) []string {
	return append([]string{
		"GITHUB_REPOSITORY=" + repo, "GITHUB_SHA=" + sha, "GITHUB_ACTOR=dev", "GITHUB_EVENT_NAME=push",
		"GITHUB_RUN_ID=7", "GITHUB_API_URL=" + w.srv.APIURL(), "GITHUB_SERVER_URL=" + w.srv.ServerURL(),
		"INPUT_GITHUB_TOKEN=" + secret,
	}, extra...)
}

func (w *world) file(t testing.TB, repo, ref, path string) string {
	t.Helper()
	s, err := w.srv.ReadFile("acme", repo, ref, path)
	must(t, err)
	return s
}

// ourBranches are the branches open-infra-pr owns in the infra repo.
func ourBranches(refs map[string]string) []string {
	var out []string
	for r := range refs {
		if strings.HasPrefix(r, "refs/heads/cicd-excellence/") {
			out = append(out, r)
		}
	}
	return out
}
