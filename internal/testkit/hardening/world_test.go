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
	// planAfter is infra main's next commit in the plan world.
	planAfter string
}

func newWorld(t testing.TB) *world { return worldFrom(t, worldTemplate(t, plainWorld)) }

// worldFrom starts a fresh local GitHub whose repositories are copies of
// the template's.
func worldFrom(t testing.TB, tmpl *worldTmpl) *world {
	t.Helper()
	srv := startServer(t)
	for _, r := range []string{"app", "infra"} {
		must(t, srv.CreateRepo(githubtest.RepoConfig{Owner: "acme", Name: r, FromDir: filepath.Join(tmpl.dir, "acme", r+".git")}))
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

// The worlds are built once each, on a server of their own, and every
// test gets a copy of their repositories on a fresh server: seeding takes
// a dozen git processes, copying a few small files none. The plain world
// is seedWorld's; the others add to it.
const (
	plainWorld = "plain"
	// planWorld: dev moved from app[1] to app[2] on the infra repo's main,
	// in commit planAfter, whose parent is infra.
	planWorld = "plan"
)

var worldSeeds = map[string]func(t testing.TB, w *world){
	plainWorld: func(testing.TB, *world) {},
	planWorld: func(t testing.TB, w *world) {
		dev := strings.Replace(w.file(t, "infra", "main", "envs/dev.json"), w.app[1], w.app[2], 1)
		var err error
		w.planAfter, err = w.srv.CommitFiles("acme", "infra", "main", map[string]string{"envs/dev.json": dev}, "dev")
		must(t, err)
	},
}

type worldTmpl struct {
	dir string // the repositories, as Server.Dir lays them out
	w   *world
}

var templates = struct {
	sync.Mutex
	m map[string]*worldTmpl
}{m: map[string]*worldTmpl{}}

func worldTemplate(t testing.TB, name string) *worldTmpl {
	t.Helper()
	templates.Lock()
	defer templates.Unlock()
	if tmpl := templates.m[name]; tmpl != nil {
		return tmpl
	}
	dir, err := os.MkdirTemp("", "hardening-world-")
	must(t, err)
	templateDirs = append(templateDirs, dir)
	srv, err := githubtest.Start(context.Background(), githubtest.Config{Dir: dir})
	must(t, err)
	defer srv.Close()
	w := seedWorld(t, srv)
	worldSeeds[name](t, w)
	// git's sample hooks are inert; without them a copy is a third the
	// files.
	for _, r := range []string{"app", "infra"} {
		must(t, os.RemoveAll(filepath.Join(dir, "acme", r+".git", "hooks")))
	}
	w.srv = nil
	templates.m[name] = &worldTmpl{dir: dir, w: w}
	return templates.m[name]
}

// checkouts are workspaces built once (git init and a commit) and copied
// for each run, by name.
var checkouts = struct {
	sync.Mutex
	m map[string]string
}{m: map[string]string{}}

// checkout returns a fresh copy of a git workspace holding files, built
// once per name.
func checkout(t testing.TB, name string, files func() map[string]string) string {
	t.Helper()
	checkouts.Lock()
	tmpl, ok := checkouts.m[name]
	if !ok {
		dir, err := os.MkdirTemp("", "hardening-checkout-")
		if err != nil {
			checkouts.Unlock()
			t.Fatal(err)
		}
		templateDirs = append(templateDirs, dir)
		gitRepo(t, dir, files())
		if err := os.RemoveAll(filepath.Join(dir, ".git", "hooks")); err != nil {
			checkouts.Unlock()
			t.Fatal(err)
		}
		checkouts.m[name], tmpl = dir, dir
	}
	checkouts.Unlock()
	dir := t.TempDir()
	must(t, os.CopyFS(dir, os.DirFS(tmpl)))
	return dir
}

// templateDirs are removed when the tests end.
var templateDirs []string

// startServer starts a local GitHub, registers the secret token, and closes it
// with the test, failing the test on any OpenAPI violation, as
// githubtest.New does.
func startServer(t testing.TB) *githubtest.Server {
	t.Helper()
	srv, err := githubtest.Start(context.Background(), githubtest.Config{Dir: t.TempDir(), Logf: t.Logf})
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
