// Command demo runs the whole pipeline for real on this machine, with no
// GitHub account: a local GitHub (real git repositories, GitHub's REST API),
// a real OCI registry, and the example repositories' own workflows run by act
// through the same `uses: cicd-excellence/actions/<step>@v1` lines users write.
//
//	make demo    (or: go run ./internal/testkit/demo)
package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/ghclient"
	"github.com/cicd-excellence/actions/internal/testkit/actrun"
	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
	"github.com/cicd-excellence/actions/internal/testkit/localregistry"
	"github.com/cicd-excellence/actions/internal/testkit/tools"
)

// The identities of the demo, as on GitHub: Apps with installation tokens
// scoped to the repositories and permissions each needs (the example
// workflows fall back to these secrets where they would mint App tokens),
// and each repository's own GITHUB_TOKEN, which reaches that repository only.
// The repositories are private, so a token that leaves one out gets 404.
const (
	// The examples' App token step, skipped here (no vars.BOT_APP_ID).
	appTokenAction = "actions/create-github-app-token@5d869da34e18e7287c1daad50e0b8ea0f506ce69"
	botAppID       = 4242
	botToken       = "ghs_demoBotToken0000000000000000000000"
	botLogin       = "demo-pipeline[bot]"
	// The workflows' own GITHUB_TOKENs: the deploy job records deployments
	// with infra's, as github-actions[bot], the deployers converge trusts.
	appWorkflowToken   = "ghs_demoAppWorkflowToken0000000000000"
	infraWorkflowToken = "ghs_demoInfraWorkflowToken00000000000"
	// Rollback PRs are opened by an App of their own, not the bot that may
	// bypass the approval: a human approves every rollback.
	rollbackAppID = 4343
	rollbackToken = "ghs_demoRollbackToken00000000000000000"
	rollbackLogin = "demo-rollback[bot]"
	// validate reads the private app repo with a read-only App's token.
	readerAppID = 4444
	readerToken = "ghs_demoReaderToken0000000000000000000"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

type demo struct {
	w        io.Writer
	root     string
	act      string
	actions  string
	binary   string
	scratch  string
	srv      *githubtest.Server
	gh       *gh.Client
	registry *localregistry.Registry
	deployed string // where the example deploy script leaves its markers
	step     int
}

func (d *demo) say(format string, args ...any) {
	d.step++
	fmt.Fprintf(d.w, "\n==> %d. %s\n", d.step, fmt.Sprintf(format, args...))
}

func (d *demo) detail(format string, args ...any) {
	fmt.Fprintf(d.w, "    %s\n", fmt.Sprintf(format, args...))
}

func run(ctx context.Context, w io.Writer) error {
	d := &demo{w: w}
	var err error
	if d.root, err = tools.Root(); err != nil {
		return err
	}
	if d.act, err = tools.Path("act"); err != nil {
		return err
	}
	regExe, err := tools.Path("registry")
	if err != nil {
		return err
	}
	if d.scratch, err = os.MkdirTemp("", "cicd-demo-"); err != nil {
		return err
	}
	defer os.RemoveAll(d.scratch)
	if d.actions, err = actrun.Snapshot(d.root); err != nil {
		return err
	}
	defer os.RemoveAll(d.actions)
	if d.binary, err = actrun.BuildBinary(d.root, d.scratch); err != nil {
		return err
	}
	d.deployed = filepath.Join(d.scratch, "deployed")

	d.say("start a local GitHub (real git repositories behind GitHub's REST API) and an OCI registry")
	if d.srv, err = githubtest.Start(ctx, githubtest.Config{Dir: filepath.Join(d.scratch, "github"), NoDefaultToken: true}); err != nil {
		return err
	}
	defer d.srv.Close()
	if err := d.identities(); err != nil {
		return err
	}
	d.srv.AddToken("ghp_reviewerToken", "alice", githubtest.Write)
	if d.gh, err = ghclient.New(d.srv.APIURL(), &ghclient.Transport{Token: "ghp_reviewerToken"}); err != nil {
		return err
	}
	if d.registry, err = localregistry.Start(regExe, filepath.Join(d.scratch, "registry"), nil); err != nil {
		return err
	}
	defer d.registry.Close()
	d.detail("GitHub API  %s", d.srv.APIURL())
	d.detail("registry    %s", d.registry.Host)

	first, err := d.seed()
	if err != nil {
		return err
	}

	d.say("app: a developer's change lands on main (a push): setup → test → publish → open-infra-pr")
	appHead, err := d.srv.CommitFiles("acme", "app", "main", map[string]string{"app.txt": "hello from the example app, v2\n"}, "feat: v2")
	if err != nil {
		return err
	}
	infraBefore, err := d.branchSHA("acme", "infra", "main")
	if err != nil {
		return err
	}
	if err := d.act_(ctx, "acme/app", "push", "main",
		fmt.Sprintf(`{"ref":"refs/heads/main","before":%q,"after":%q,"repository":{"full_name":"acme/app","default_branch":"main"}}`, first, appHead)); err != nil {
		return err
	}
	d.detail("published   %s/acme/app/api:%s", d.registry.Host, appHead)
	dev, _ := d.srv.ReadFile("acme", "infra", "main", "envs/dev.json")
	d.detail("infra envs/dev.json on main now holds api.tag = %s", tagOf(dev))

	d.say("infra: the bot's merge is a push to main: plan (converge) → deploy what is not deployed yet (no record yet: every environment)")
	infraAfter, err := d.branchSHA("acme", "infra", "main")
	if err != nil {
		return err
	}
	if err := d.act_(ctx, "acme/infra", "push", "main",
		fmt.Sprintf(`{"ref":"refs/heads/main","before":%q,"after":%q,"repository":{"full_name":"acme/infra","default_branch":"main"}}`, infraBefore, infraAfter)); err != nil {
		return err
	}
	d.showDeployed()

	d.say("infra: promote dev to staging through a PR (workflow_dispatch of promote.yml)")
	if err := d.actWorkflow(ctx, "acme/infra", ".github/workflows/promote.yml", "workflow_dispatch", "main",
		`{"ref":"refs/heads/main","inputs":{"from":"dev","to":"staging"},"repository":{"full_name":"acme/infra","default_branch":"main"}}`,
		"from=dev", "to=staging"); err != nil {
		return err
	}
	prs, _, err := d.gh.PullRequests.List(ctx, "acme", "infra", &gh.PullRequestListOptions{State: "open"})
	if err != nil || len(prs) != 1 {
		return fmt.Errorf("expected one open promotion PR, got %d (%v)", len(prs), err)
	}
	pr := prs[0]
	d.detail("PR #%d %q", pr.GetNumber(), pr.GetTitle())
	for _, line := range strings.Split(pr.GetBody(), "\n") {
		if strings.HasPrefix(line, "|") {
			d.detail("%s", line)
		}
	}

	// Approved first: the bot's PR moves staging, which validate passes only
	// once a collaborator has approved its head (the bot may bypass approvals).
	d.say("infra: the promotion PR is approved by a human, validated (the required check) and merged")
	if err := d.srv.Approve("acme", "infra", pr.GetNumber(), "alice"); err != nil {
		return err
	}
	if err := d.validatePR(ctx, pr); err != nil {
		return err
	}
	before, _ := d.branchSHA("acme", "infra", "main")
	if _, _, err := d.gh.PullRequests.Merge(ctx, "acme", "infra", pr.GetNumber(), "", &gh.PullRequestOptions{MergeMethod: "rebase"}); err != nil {
		return fmt.Errorf("merge the promotion: %w", err)
	}
	after, _ := d.branchSHA("acme", "infra", "main")
	d.detail("approved by alice, rebase-merged: infra main %s → %s", before[:7], after[:7])

	d.say("infra: the merge is a push to main: plan → deploy only staging")
	if err := d.act_(ctx, "acme/infra", "push", "main",
		fmt.Sprintf(`{"ref":"refs/heads/main","before":%q,"after":%q,"repository":{"full_name":"acme/infra","default_branch":"main"}}`, before, after)); err != nil {
		return err
	}
	d.showDeployed()

	if err := d.rollback(ctx); err != nil {
		return err
	}

	d.say("app: start a hotfix from what runs in prod (workflow_dispatch of hotfix.yml, base: prod)")
	if err := d.actWorkflow(ctx, "acme/app", ".github/workflows/hotfix.yml", "workflow_dispatch", "main",
		`{"ref":"refs/heads/main","inputs":{"name":"login-crash","base":"prod"},"repository":{"full_name":"acme/app","default_branch":"main"}}`,
		"name=login-crash", "base=prod"); err != nil {
		return err
	}
	hotfix, err := d.branchSHA("acme", "app", "hotfixes/login-crash")
	if err != nil {
		return err
	}
	prod, _ := d.srv.ReadFile("acme", "infra", "main", "envs/prod.json")
	d.detail("acme/app has hotfixes/login-crash at %s (prod runs api@%s)", hotfix[:7], tagOf(prod)[:7])
	if hotfix != tagOf(prod) {
		return fmt.Errorf("the hotfix starts at %s, not at prod's version %s", hotfix[:7], tagOf(prod)[:7])
	}

	d.say("audit trail: GitHub Deployments recorded on the infra repo")
	deps, err := d.srv.Deployments("acme", "infra")
	if err != nil {
		return err
	}
	for _, dep := range deps {
		d.detail("deployment %d: %-8s at %s  %s", dep.ID, dep.Environment, dep.SHA[:7], strings.Join(dep.States, " → "))
	}
	fmt.Fprintln(w, "\ndemo finished: every step above ran for real (act, the local GitHub, the registry)")
	return nil
}

// rollback rolls staging back to its previous deployment through a PR a
// human approves, deploys it, and shows the hold keeping the next
// promotion off staging.
func (d *demo) rollback(ctx context.Context) error {
	d.say("infra: roll staging back to its previous deployment (workflow_dispatch of rollback.yml)")
	const reason = "INC-7: logins fail on v2"
	if err := d.actWorkflow(ctx, "acme/infra", ".github/workflows/rollback.yml", "workflow_dispatch", "main",
		fmt.Sprintf(`{"ref":"refs/heads/main","inputs":{"environment":"staging","to":"previous","reason":%q},"repository":{"full_name":"acme/infra","default_branch":"main"}}`, reason),
		"environment=staging", "to=previous", "reason="+reason); err != nil {
		return err
	}
	prs, _, err := d.gh.PullRequests.List(ctx, "acme", "infra", &gh.PullRequestListOptions{State: "open"})
	if err != nil || len(prs) != 1 {
		return fmt.Errorf("expected one open rollback PR, got %d (%v)", len(prs), err)
	}
	pr := prs[0]
	d.detail("PR #%d %q by %s", pr.GetNumber(), pr.GetTitle(), pr.GetUser().GetLogin())
	for _, line := range strings.Split(pr.GetBody(), "\n") {
		if strings.HasPrefix(line, "|") || strings.HasPrefix(line, "From deployment") {
			d.detail("%s", line)
		}
	}

	d.say("infra: the rollback PR is validated, approved by a human and merged; the merge deploys staging")
	if err := d.validatePR(ctx, pr); err != nil {
		return err
	}
	if err := d.srv.Approve("acme", "infra", pr.GetNumber(), "alice"); err != nil {
		return err
	}
	before, _ := d.branchSHA("acme", "infra", "main")
	if _, _, err := d.gh.PullRequests.Merge(ctx, "acme", "infra", pr.GetNumber(), "", &gh.PullRequestOptions{MergeMethod: "rebase"}); err != nil {
		return fmt.Errorf("merge the rollback: %w", err)
	}
	after, _ := d.branchSHA("acme", "infra", "main")
	staging, _ := d.srv.ReadFile("acme", "infra", "main", "envs/staging.json")
	d.detail("envs/staging.json on main: api.tag %s, hold %q", tagOf(staging)[:7], holdOf(staging))
	if err := d.act_(ctx, "acme/infra", "push", "main",
		fmt.Sprintf(`{"ref":"refs/heads/main","before":%q,"after":%q,"repository":{"full_name":"acme/infra","default_branch":"main"}}`, before, after)); err != nil {
		return err
	}
	d.showDeployed()

	d.say("infra: the next promotion to staging is skipped while staging is held")
	if err := d.actWorkflow(ctx, "acme/infra", ".github/workflows/promote.yml", "workflow_dispatch", "main",
		`{"ref":"refs/heads/main","inputs":{"from":"dev","to":"staging"},"repository":{"full_name":"acme/infra","default_branch":"main"}}`,
		"from=dev", "to=staging"); err != nil {
		return err
	}
	prs, _, err = d.gh.PullRequests.List(ctx, "acme", "infra", &gh.PullRequestListOptions{State: "open"})
	if err != nil || len(prs) != 0 {
		return fmt.Errorf("the held staging got a promotion PR (%d open, %v)", len(prs), err)
	}
	d.detail("no PR opened: staging stays at api@%s until a reviewed PR removes the hold", tagOf(staging)[:7])
	return nil
}

func holdOf(file string) string {
	const key = `"hold": "`
	i := strings.Index(file, key)
	if i < 0 {
		return ""
	}
	rest := file[i+len(key):]
	if j := strings.Index(rest, `"`); j >= 0 {
		return rest[:j]
	}
	return ""
}

// seed creates the app and infra repositories from examples/, with every
// environment of the infra repo at the app's first commit.
func (d *demo) seed() (string, error) {
	for _, r := range []string{"app", "infra"} {
		if err := d.srv.CreateRepo(githubtest.RepoConfig{Owner: "acme", Name: r, Private: true}); err != nil {
			return "", err
		}
	}
	app, err := readTree(filepath.Join(d.root, "examples", "app"))
	if err != nil {
		return "", err
	}
	first, err := d.srv.CommitFiles("acme", "app", "main", app, "the example app")
	if err != nil {
		return "", err
	}
	infra, err := readTree(filepath.Join(d.root, "examples", "infra"))
	if err != nil {
		return "", err
	}
	for name, content := range infra {
		if strings.HasPrefix(name, "envs/") {
			infra[name] = strings.ReplaceAll(content, strings.Repeat("0", 40), first)
		}
	}
	if _, err := d.srv.CommitFiles("acme", "infra", "main", infra, "the example infra"); err != nil {
		return "", err
	}
	d.detail("acme/app   from examples/app   (main at %s)", first[:7])
	d.detail("acme/infra from examples/infra (dev, staging, prod at api.tag %s)", first[:7])
	return first, nil
}

// act_ clones the repository from the local GitHub and runs its workflows for
// an event with act, printing what the actions said.
func (d *demo) act_(ctx context.Context, repo, event, branch, payload string, inputs ...string) error {
	return d.actWorkflow(ctx, repo, "", event, branch, payload, inputs...)
}

// actWorkflow is act_ for one workflow file only ("" for all that match).
func (d *demo) actWorkflow(ctx context.Context, repo, workflow, event, branch, payload string, inputs ...string) error {
	dir := filepath.Join(d.scratch, fmt.Sprintf("run-%d", d.step))
	clone := filepath.Join(dir, "repo")
	if err := d.clone(repo, clone); err != nil {
		return err
	}
	in := map[string]string{}
	for _, kv := range inputs {
		k, v, _ := strings.Cut(kv, "=")
		in[k] = v
	}
	res, err := actrun.Run(ctx, actrun.Options{
		Act: d.act, ActionsDir: d.actions, Binary: d.binary, WorkDir: dir,
		RepoDir: clone, Repository: repo, Branch: branch, Event: event, Payload: payload, Inputs: in, Workflow: workflow,
		Env: map[string]string{
			"GITHUB_API_URL": d.srv.APIURL(), "GITHUB_SERVER_URL": d.srv.ServerURL(),
			"DEPLOY_DIR": d.deployed,
		},
		Vars:    map[string]string{"REGISTRY": d.registry.Host, "BOT_LOGIN": botLogin},
		Offline: []string{appTokenAction},
		// GITHUB_TOKEN stands for the workflow's own token (github.token).
		Secrets: map[string]string{"BOT_TOKEN": botToken, "GITHUB_TOKEN": workflowTokenOf(repo), "ROLLBACK_TOKEN": rollbackToken, "READER_TOKEN": readerToken},
		Timeout: 5 * time.Minute,
	})
	if err != nil {
		return err
	}
	d.printLog(res.Log)
	if res.Err != nil {
		return fmt.Errorf("the %s workflow of %s failed: %v (DEMO_DEBUG=1 shows act's whole log)", event, repo, res.Err)
	}
	d.detail("(act ran the workflows in %s)", res.Duration.Round(time.Millisecond))
	return nil
}

// printLog shows the jobs that ran and the lines the actions printed.
// identities registers the Apps and tokens of the constants above.
func (d *demo) identities() error {
	apps := []struct {
		id          int64
		slug, token string
		perms       githubtest.Permissions
	}{
		{botAppID, "demo-pipeline", botToken, githubtest.Permissions{
			"contents": githubtest.Write, "pull_requests": githubtest.Write, "issues": githubtest.Write,
			"checks": githubtest.Read, "statuses": githubtest.Read, "deployments": githubtest.Read}},
		{rollbackAppID, "demo-rollback", rollbackToken, githubtest.Permissions{
			"contents": githubtest.Write, "pull_requests": githubtest.Write, "issues": githubtest.Write, "deployments": githubtest.Read}},
		{readerAppID, "demo-reader", readerToken, githubtest.Permissions{
			"contents": githubtest.Read, "pull_requests": githubtest.Read}},
	}
	for _, a := range apps {
		if err := d.srv.AddApp(a.id, a.slug); err != nil {
			return err
		}
		if err := d.srv.AddAppToken(a.token, a.id, a.perms, "acme/app", "acme/infra"); err != nil {
			return err
		}
	}
	for tok, repo := range map[string]string{appWorkflowToken: "acme/app", infraWorkflowToken: "acme/infra"} {
		d.srv.AddToken(tok, "github-actions[bot]", githubtest.None)
		if err := d.srv.SetRepoAccess(tok, repo, githubtest.Write); err != nil {
			return err
		}
	}
	return nil
}

// workflowTokenOf is the GITHUB_TOKEN of a run in repo: its own only.
func workflowTokenOf(repo string) string {
	if repo == "acme/app" {
		return appWorkflowToken
	}
	return infraWorkflowToken
}

func (d *demo) printLog(log string) {
	for _, l := range strings.Split(log, "\n") {
		switch {
		case strings.Contains(l, "🏁  Job succeeded"), strings.Contains(l, "🏁  Job failed"):
			d.detail("%s", strings.TrimSpace(l))
		case strings.Contains(l, "  | ") && !strings.Contains(l, "::"):
			if i := strings.Index(l, "  | "); i >= 0 {
				d.detail("  %s%s", jobOf(l), strings.TrimSpace(l[i+4:]))
			}
		case strings.Contains(l, "::error::"), strings.Contains(l, "::warning::"), strings.Contains(l, "::notice::"):
			d.detail("  %s%s", jobOf(l), strings.TrimSpace(l[strings.Index(l, "::"):]))
		}
	}
}

func jobOf(l string) string {
	if i, j := strings.Index(l, "["), strings.Index(l, "]"); i >= 0 && j > i {
		return l[i:j+1] + " "
	}
	return ""
}

func (d *demo) showDeployed() {
	entries, _ := os.ReadDir(d.deployed)
	for _, e := range entries {
		v, _ := os.ReadFile(filepath.Join(d.deployed, e.Name()))
		d.detail("deployed so far: %-8s api@%s", e.Name(), strings.TrimSpace(string(v))[:7])
	}
}

// validatePR runs the infra repo's validate job on the PR, as the required
// status check would.
func (d *demo) validatePR(ctx context.Context, pr *gh.PullRequest) error {
	dir := filepath.Join(d.scratch, fmt.Sprintf("pr-%d", pr.GetNumber()))
	clone := filepath.Join(dir, "repo")
	if err := d.clone("acme/infra", clone); err != nil {
		return err
	}
	if err := d.git(clone, "-c", "http.extraHeader="+d.auth(), "fetch", "-q", "origin", pr.GetHead().GetRef()); err != nil {
		return err
	}
	if err := d.git(clone, "checkout", "-q", "FETCH_HEAD"); err != nil {
		return err
	}
	payload := fmt.Sprintf(`{"action":"opened","number":%d,"pull_request":{"number":%d,"head":{"ref":%q,"sha":%q},"base":{"ref":"main","sha":%q},"user":{"login":%q}},"repository":{"full_name":"acme/infra","default_branch":"main"}}`,
		pr.GetNumber(), pr.GetNumber(), pr.GetHead().GetRef(), pr.GetHead().GetSHA(), pr.GetBase().GetSHA(), pr.GetUser().GetLogin())
	res, err := actrun.Run(ctx, actrun.Options{
		Act: d.act, ActionsDir: d.actions, Binary: d.binary, WorkDir: dir,
		RepoDir: clone, Repository: "acme/infra", Event: "pull_request", Payload: payload,
		Offline: []string{appTokenAction},
		Env:     map[string]string{"GITHUB_API_URL": d.srv.APIURL(), "GITHUB_SERVER_URL": d.srv.ServerURL()},
		Vars:    map[string]string{"BOT_LOGIN": botLogin},
		Secrets: map[string]string{"BOT_TOKEN": botToken, "GITHUB_TOKEN": infraWorkflowToken, "READER_TOKEN": readerToken},
	})
	if err != nil {
		return err
	}
	d.printLog(res.Log)
	if res.Err != nil {
		return fmt.Errorf("validate failed on PR #%d: %v", pr.GetNumber(), res.Err)
	}
	return nil
}

// clone fetches a repository over git smart HTTP. The token travels in an
// Authorization header given on the command line for this one command, never
// in the URL or a config file (the clone is copied into act's workspace).
func (d *demo) clone(repo, dir string) error {
	url := d.srv.ServerURL() + "/" + repo + ".git"
	cmd := exec.Command("git", "-c", "http.extraHeader="+d.auth(), "clone", "-q", url, dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git clone %s: %v\n%s", repo, err, out)
	}
	return nil
}

func (d *demo) auth() string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+botToken))
}

func (d *demo) git(dir string, args ...string) error {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %v: %v\n%s", args, err, out)
	}
	return nil
}

func (d *demo) branchSHA(owner, repo, branch string) (string, error) {
	refs, err := d.srv.Refs(owner, repo)
	if err != nil {
		return "", err
	}
	sha, ok := refs["refs/heads/"+branch]
	if !ok {
		return "", fmt.Errorf("%s/%s has no branch %s", owner, repo, branch)
	}
	return sha, nil
}

func readTree(dir string) (map[string]string, error) {
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)] = string(data)
		return nil
	})
	return files, err
}

func tagOf(file string) string {
	i := strings.Index(file, `"tag": "`)
	if i < 0 || len(file) < i+8+40 {
		return "?"
	}
	return file[i+8 : i+8+40]
}
