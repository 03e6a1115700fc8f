// Command demo runs the whole pipeline for real on this machine, with no
// GitHub account: a local GitHub (real git repositories, GitHub's REST API),
// a real OCI registry, and the example repositories' own workflows run by act
// through the same `uses: cicd-excellence/actions/...@<sha>` lines users
// write, the reusable workflows of .github/workflows/ included.
//
// Three services, as a platform team has them: two app repositories
// (acme/api, acme/web, both from examples/app), a monorepo with two services
// (acme/shop, examples/shop) and one infra repository (acme/infra,
// examples/infra), all private, their rulesets applied by one central job.
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
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/envfile"
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
	// The examples' App token step, skipped here (no vars.*_APP_ID).
	appTokenAction = "actions/create-github-app-token@5d869da34e18e7287c1daad50e0b8ea0f506ce69"
	botAppID       = 4242
	botToken       = "ghs_demoBotToken0000000000000000000000"
	botLogin       = "demo-pipeline[bot]"
	// Rollback PRs are opened by an App of their own, not the bot that may
	// bypass the approval: a human approves every rollback.
	rollbackAppID = 4343
	rollbackToken = "ghs_demoRollbackToken00000000000000000"
	// validate reads the private app repos with a read-only App's token.
	readerAppID = 4444
	readerToken = "ghs_demoReaderToken0000000000000000000"
	// The central rulesets job's App: Administration, nothing else.
	rulesetsAppID = 4545
	rulesetsToken = "ghs_demoRulesetsToken00000000000000000"
	// GitHub Actions itself (its App id on github.com): the required checks
	// are bound to it, so only a workflow's check run counts.
	actionsAppID = 15368
	// The required check of the infra repo: a reusable workflow's job is
	// reported as "<caller job> / <job>".
	validateCheck = "pipeline / validate"
)

// The services: each key's app repository (as services.json maps it) and
// its image.
var services = []struct{ key, repo, image string }{
	{"api.tag", "api", "acme/api"},
	{"web.tag", "web", "acme/web"},
	{"shop.cart.tag", "shop", "acme/shop/cart"},
	{"shop.checkout.tag", "shop", "acme/shop/checkout"},
}

var appRepos = []string{"api", "web", "shop"}

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
	mu       sync.Mutex // w: the CI hook prints from its own goroutine
	root     string
	act      string
	actions  string
	binary   string
	scratch  string
	srv      *githubtest.Server
	gh       *gh.Client // alice, a developer with write access
	bob      *gh.Client // bob, another one
	registry *localregistry.Registry
	deployed string // where the example deploy script leaves its markers
	step     int
	runs     int
	// vars the next run gets besides the usual ones (then cleared).
	nextVars map[string]string

	ci     sync.Mutex     // one simulated validate run at a time
	hooks  sync.WaitGroup // validate runs in flight
	checks []string       // "#<pr> <sha7> <conclusion>" of every check reported
}

func (d *demo) say(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.step++
	fmt.Fprintf(d.w, "\n==> %d. %s\n", d.step, fmt.Sprintf(format, args...))
}

func (d *demo) detail(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
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
	defer d.hooks.Wait() // before the server closes
	if err := d.identities(); err != nil {
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
	if err := d.rulesets(ctx); err != nil {
		return err
	}
	// From here on every PR into acme/infra gets its required check the way
	// GitHub runs it: the pipeline workflow's validate job, under act, on
	// each new head, reported as GitHub Actions.
	d.srv.OnHead("acme", "infra", d.onHead)

	infraStart, _ := d.branchSHA("acme", "infra", "main")
	heads, err := d.appPushes(ctx, first)
	if err != nil {
		return err
	}
	if err := d.deploy(ctx, infraStart, "the bot's merges are pushes to main; one deploy run converges (no record yet: every environment)", "dev", "staging", "prod"); err != nil {
		return err
	}
	if err := d.expectEnv("dev", heads); err != nil {
		return err
	}
	if err := d.promote(ctx, heads); err != nil {
		return err
	}
	if err := d.rollback(ctx, first); err != nil {
		return err
	}
	if err := d.hotfix(ctx, first["api"]); err != nil {
		return err
	}

	d.say("audit trail: GitHub Deployments recorded on the infra repo")
	deps, err := d.srv.Deployments("acme", "infra")
	if err != nil {
		return err
	}
	for _, dep := range deps {
		d.detail("deployment %d: %-8s at %s  %s", dep.ID, dep.Environment, dep.SHA[:7], strings.Join(dep.States, " → "))
	}
	d.detail("required checks reported: %s", strings.Join(d.reported(), ", "))
	fmt.Fprintln(w, "\ndemo finished: every step above ran for real (act, the local GitHub, the registry)")
	return nil
}

// seed creates the private repositories from examples/, with every
// environment of the infra repo at each service's first commit.
func (d *demo) seed() (map[string]string, error) {
	for _, r := range append(slices.Clone(appRepos), "infra") {
		if err := d.srv.CreateRepo(githubtest.RepoConfig{Owner: "acme", Name: r, Private: true}); err != nil {
			return nil, err
		}
	}
	first := map[string]string{}
	for _, r := range appRepos {
		src := "app"
		if r == "shop" {
			src = "shop"
		}
		files, err := readTree(filepath.Join(d.root, "examples", src))
		if err != nil {
			return nil, err
		}
		if src == "app" {
			files["app.txt"] = "hello from the example " + r + "\n"
		}
		if first[r], err = d.srv.CommitFiles("acme", r, "main", files, "the example "+src); err != nil {
			return nil, err
		}
		d.detail("acme/%-5s from examples/%-5s (main at %s)", r, src, first[r][:7])
	}
	infra, err := readTree(filepath.Join(d.root, "examples", "infra"))
	if err != nil {
		return nil, err
	}
	for name, content := range infra {
		if !strings.HasPrefix(name, "envs/") {
			continue
		}
		var edits []envfile.Edit
		for _, s := range services {
			p, _ := envfile.ParsePath(s.key)
			edits = append(edits, envfile.Edit{Path: p, Value: first[s.repo]})
		}
		out, _, err := envfile.Set([]byte(content), edits, envfile.SetOptions{})
		if err != nil {
			return nil, fmt.Errorf("seed %s: %w", name, err)
		}
		infra[name] = string(out)
	}
	if _, err := d.srv.CommitFiles("acme", "infra", "main", infra, "the example infra"); err != nil {
		return nil, err
	}
	d.detail("acme/infra from examples/infra (services.json; dev, staging, prod at each service's first commit)")
	return first, nil
}

// rulesets runs the central job of the infra repo: one workflow applies the
// rulesets of all four repositories, then checks them through the API.
func (d *demo) rulesets(ctx context.Context) error {
	d.say("infra: the central rulesets job applies the SOC 2 rulesets to all four private repositories (workflow_dispatch of rulesets.yml)")
	// The bot's App id is what the rulesets name as their bypass actor. Only
	// this run gets it: the others would take it as a cue to mint App tokens,
	// which the demo (no App keys) cannot.
	d.nextVars = map[string]string{"BOT_APP_ID": fmt.Sprint(botAppID)}
	if err := d.run(ctx, "acme/infra", ".github/workflows/rulesets.yml", "workflow_dispatch", "main",
		`{"ref":"refs/heads/main","inputs":{"command":"apply","dry-run":false},"repository":{"full_name":"acme/infra","name":"infra","default_branch":"main"}}`,
		"command=apply", "dry-run=false"); err != nil {
		return err
	}
	want := map[string][]string{
		"api": {"Default", "Hotfixes", "Hotfixes review", "Required checks"}, "web": {"Default", "Hotfixes", "Hotfixes review", "Required checks"},
		"shop": {"Default", "Hotfixes", "Hotfixes review", "Required checks"}, "infra": {"Bot branches", "Default", "Required checks"},
	}
	for _, repo := range append(slices.Clone(appRepos), "infra") {
		rs, _, err := d.gh.Repositories.GetAllRulesets(ctx, "acme", repo, false)
		if err != nil {
			return fmt.Errorf("list the rulesets of acme/%s: %w", repo, err)
		}
		var names []string
		for _, r := range rs {
			names = append(names, r.Name)
		}
		slices.Sort(names)
		if !slices.Equal(names, want[repo]) {
			return fmt.Errorf("acme/%s has rulesets %q, want %q", repo, names, want[repo])
		}
		d.detail("acme/%-5s rulesets: %s", repo, strings.Join(names, ", "))
	}
	return nil
}

// appPushes lands a change on each app's main (standing for a merged PR)
// and runs the repository's one pipeline workflow: publish to the registry,
// then the bot's PR moving dev, merged once the required check passed on
// the head the bot wrote. api and web push at once, then the shop moves two
// keys at once: each time, bot PRs race into the same file and all land.
// (Not all three at once: with the strict required check, every merge makes
// the other open PRs rebuild and validate again, which the demo's two cores
// pay for in minutes.)
func (d *demo) appPushes(ctx context.Context, first map[string]string) (map[string]string, error) {
	changes := map[string]map[string]string{
		"api":  {"app.txt": "hello from api, v2\n"},
		"web":  {"app.txt": "hello from web, v2\n"},
		"shop": {"cart/cart.txt": "the cart of the example shop, v2\n", "checkout/checkout.txt": "the checkout of the example shop, v2\n"},
	}
	heads := map[string]string{}
	for _, wave := range [][]string{{"api", "web"}, {"shop"}} {
		if wave[0] == "api" {
			d.say("apps acme/api and acme/web: a change lands on each main at once (pushes): each repo's one workflow, the reusable app-pipeline: setup → test → build → publish → open-infra-pr (dev); two bot PRs race into envs/dev.json")
		} else {
			d.say("app acme/shop, a monorepo: a change to both services lands on main: one workflow, two jobs calling app-pipeline, each publishes its image and bumps its key; two bot PRs race into envs/dev.json")
		}
		errs := make([]error, len(wave))
		var wg sync.WaitGroup
		for i, repo := range wave {
			head, err := d.srv.CommitFiles("acme", repo, "main", changes[repo], "feat: v2")
			if err != nil {
				return nil, err
			}
			heads[repo] = head
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = d.run(ctx, "acme/"+repo, "", "push", "main", pushPayload(repo, "main", first[repo], head))
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return nil, err
			}
		}
		dev, err := d.srv.ReadFile("acme", "infra", "main", "envs/dev.json")
		if err != nil {
			return nil, err
		}
		for _, s := range services {
			if !slices.Contains(wave, s.repo) {
				continue
			}
			head := heads[s.repo]
			digest, err := d.digest(s.image, head)
			if err != nil {
				return nil, err
			}
			if got := value(dev, s.key); got != head {
				return nil, fmt.Errorf("after acme/%s's push, dev's %s is %s, want %s", s.repo, s.key, got, head)
			}
			d.detail("published %s/%s:%s (%s); infra main: dev %s = %s", d.registry.Host, s.image, head[:7], digest[:19], s.key, head[:7])
			// The digest rides with the tag (#17): what dev deploys is
			// pinned by content, not by a tag the registry could move.
			if got := value(dev, strings.TrimSuffix(s.key, ".tag")+".digest"); got != digest {
				return nil, fmt.Errorf("dev's digest of %s is %q, want %s", s.key, got, digest)
			}
		}
	}
	return heads, nil
}

// deploy runs the infra pipeline for a push to main (before → main).
func (d *demo) deploy(ctx context.Context, before, why string, deployed ...string) error {
	d.say("infra: %s: plan (converge) → deploy", why)
	after, err := d.branchSHA("acme", "infra", "main")
	if err != nil {
		return err
	}
	if err := d.run(ctx, "acme/infra", ".github/workflows/pipeline.yml", "push", "main", pushPayload("infra", "main", before, after)); err != nil {
		return err
	}
	return d.showDeployed(after, deployed...)
}

// promote moves every service from dev to staging in one PR, approved by a
// human, validated and merged; the merge deploys staging.
func (d *demo) promote(ctx context.Context, heads map[string]string) error {
	d.say("infra: one batch promotion of every service, dev → staging, in one PR (workflow_dispatch of promote.yml)")
	if err := d.run(ctx, "acme/infra", ".github/workflows/promote.yml", "workflow_dispatch", "main",
		`{"ref":"refs/heads/main","inputs":{"from":"dev","to":"staging","keys":""},"repository":{"full_name":"acme/infra","name":"infra","default_branch":"main"}}`,
		"from=dev", "to=staging", "keys="); err != nil {
		return err
	}
	pr, err := d.onlyOpenPR(ctx, "promotion")
	if err != nil {
		return err
	}
	d.showPR(pr)
	for _, s := range services {
		if !strings.Contains(pr.GetBody(), "`"+s.key+"`") {
			return fmt.Errorf("the promotion PR's table has no row for %s", s.key)
		}
	}
	if err := d.approveAndMerge(ctx, pr, "alice"); err != nil {
		return err
	}
	before := pr.GetBase().GetSHA()
	if err := d.deploy(ctx, before, "the promotion's merge is a push to main", "staging"); err != nil {
		return err
	}
	return d.expectEnv("staging", heads)
}

// rollback rolls staging back to its previous deployment through a PR a
// human approves, and deploys it.
func (d *demo) rollback(ctx context.Context, first map[string]string) error {
	d.say("infra: INC-7, roll staging back to its previous deployment (workflow_dispatch of rollback.yml)")
	const reason = "INC-7: logins fail on v2"
	if err := d.run(ctx, "acme/infra", ".github/workflows/rollback.yml", "workflow_dispatch", "main",
		fmt.Sprintf(`{"ref":"refs/heads/main","inputs":{"environment":"staging","to":"previous","reason":%q},"repository":{"full_name":"acme/infra","name":"infra","default_branch":"main"}}`, reason),
		"environment=staging", "to=previous", "reason="+reason); err != nil {
		return err
	}
	pr, err := d.onlyOpenPR(ctx, "rollback")
	if err != nil {
		return err
	}
	d.showPR(pr)
	if err := d.approveAndMerge(ctx, pr, "alice"); err != nil {
		return err
	}
	staging, _ := d.srv.ReadFile("acme", "infra", "main", "envs/staging.json")
	if h, held := envfile.Hold([]byte(staging), mustPath("api.tag")); !held || h != reason {
		return fmt.Errorf("staging's api is not held after the rollback (hold %q)", h)
	}
	d.detail("envs/staging.json on main: every service back at its first commit, each held: %q", reason)
	if err := d.deploy(ctx, pr.GetBase().GetSHA(), "the rollback's merge is a push to main", "staging"); err != nil {
		return err
	}
	return d.expectEnv("staging", first)
}

// hotfix starts a hotfix of api from what prod runs, lands a reviewed fix on
// it, publishes it, and takes it through staging to prod with reviewed PRs.
func (d *demo) hotfix(ctx context.Context, prodAPI string) error {
	d.say("infra: start a hotfix of api from what prod runs (workflow_dispatch of the central hotfix.yml, base: prod)")
	if err := d.run(ctx, "acme/infra", ".github/workflows/hotfix.yml", "workflow_dispatch", "main",
		`{"ref":"refs/heads/main","inputs":{"service":"api","repository":"acme/api","name":"login-crash","base":"prod"},"repository":{"full_name":"acme/infra","name":"infra","default_branch":"main"}}`,
		"service=api", "repository=acme/api", "name=login-crash", "base=prod"); err != nil {
		return err
	}
	base, err := d.branchSHA("acme", "api", "hotfixes/login-crash")
	if err != nil {
		return err
	}
	if base != prodAPI {
		return fmt.Errorf("the hotfix starts at %s, not at prod's api %s", base[:7], prodAPI[:7])
	}
	d.detail("acme/api has hotfixes/login-crash at %s (prod runs api@%s)", base[:7], prodAPI[:7])

	d.say("app acme/api: the fix lands on the hotfix branch through a reviewed PR; the push publishes it")
	if err := d.srv.SetRef("acme", "api", "refs/heads/fix/login-crash", base); err != nil {
		return err
	}
	if _, err := d.srv.CommitFiles("acme", "api", "fix/login-crash", map[string]string{"app.txt": "hello from api, logins fixed\n"}, "fix: login crash"); err != nil {
		return err
	}
	n, err := d.srv.OpenPullRequest("acme", "api", githubtest.NewPullRequest{Head: "fix/login-crash", Base: "hotfixes/login-crash", Title: "fix: login crash", User: "bob"})
	if err != nil {
		return err
	}
	if _, _, err := d.gh.PullRequests.Merge(ctx, "acme", "api", n, "", &gh.PullRequestOptions{MergeMethod: "squash"}); err == nil {
		return fmt.Errorf("the hotfix PR #%d merged without a review: the hotfixes rulesets are not in force", n)
	}
	if err := d.srv.Approve("acme", "api", n, "alice"); err != nil {
		return err
	}
	res, _, err := d.gh.PullRequests.Merge(ctx, "acme", "api", n, "", &gh.PullRequestOptions{MergeMethod: "squash"})
	if err != nil {
		return fmt.Errorf("merge the reviewed hotfix PR: %w", err)
	}
	fix := res.GetSHA()
	d.detail("PR #%d refused unreviewed, approved by alice, merged: hotfixes/login-crash %s → %s", n, base[:7], fix[:7])
	if err := d.run(ctx, "acme/api", "", "push", "hotfixes/login-crash", pushPayload("api", "hotfixes/login-crash", base, fix)); err != nil {
		return err
	}
	digest, err := d.digest("acme/api", fix)
	if err != nil {
		return err
	}
	d.detail("published %s/acme/api:%s (%s); no infra PR from a hotfix branch", d.registry.Host, fix[:7], digest[:19])

	d.say("infra: the on-call engineer's PR puts the hotfix into staging and lifts api's hold; bob approves, validate passes, the merge deploys staging")
	pr, err := d.hotfixPR(ctx, fix, digest)
	if err != nil {
		return err
	}
	if err := d.approveAndMerge(ctx, pr, "bob"); err != nil {
		return err
	}
	staging, _ := d.srv.ReadFile("acme", "infra", "main", "envs/staging.json")
	if h, held := envfile.Hold([]byte(staging), mustPath("api.tag")); held {
		return fmt.Errorf("staging's api is still held (%q) after the hotfix PR", h)
	}
	if _, held := envfile.Hold([]byte(staging), mustPath("web.tag")); !held {
		return fmt.Errorf("the hotfix PR lifted web's hold too")
	}
	if err := d.deploy(ctx, pr.GetBase().GetSHA(), "the hotfix PR's merge is a push to main", "staging"); err != nil {
		return err
	}
	if got := d.deployedValue("staging", "api.tag"); got != fix {
		return fmt.Errorf("staging runs api@%s, want the hotfix %s", got, fix)
	}

	d.say("infra: promote the hotfix, staging → prod, api only (workflow_dispatch of promote.yml, keys: api.tag)")
	if err := d.run(ctx, "acme/infra", ".github/workflows/promote.yml", "workflow_dispatch", "main",
		`{"ref":"refs/heads/main","inputs":{"from":"staging","to":"prod","keys":"api.tag"},"repository":{"full_name":"acme/infra","name":"infra","default_branch":"main"}}`,
		"from=staging", "to=prod", "keys=api.tag"); err != nil {
		return err
	}
	pr, err = d.onlyOpenPR(ctx, "hotfix promotion")
	if err != nil {
		return err
	}
	d.showPR(pr)
	if err := d.approveAndMerge(ctx, pr, "alice"); err != nil {
		return err
	}
	if err := d.deploy(ctx, pr.GetBase().GetSHA(), "the promotion's merge is a push to main", "prod"); err != nil {
		return err
	}
	if got := d.deployedValue("prod", "api.tag"); got != fix {
		return fmt.Errorf("prod runs api@%s, want the hotfix %s", got, fix)
	}
	d.detail("the hotfix %s runs in staging and prod; prod's other services did not move", fix[:7])
	return nil
}

// hotfixPR is a human's PR into the infra repo, made through the API with
// alice's token: staging's api at the hotfix (and its digest), hold lifted.
func (d *demo) hotfixPR(ctx context.Context, fix, digest string) (*gh.PullRequest, error) {
	const file, branch = "envs/staging.json", "hotfix/login-crash-staging"
	fc, _, _, err := d.gh.Repositories.GetContents(ctx, "acme", "infra", file, nil)
	if err != nil {
		return nil, err
	}
	content, err := fc.GetContent()
	if err != nil {
		return nil, err
	}
	out, _, err := envfile.Set([]byte(content), []envfile.Edit{{Path: mustPath("api.tag"), Value: fix}, {Path: mustPath("api.digest"), Value: digest}}, envfile.SetOptions{})
	if err != nil {
		return nil, err
	}
	out = []byte(liftHold(string(out), "api"))
	main, err := d.branchSHA("acme", "infra", "main")
	if err != nil {
		return nil, err
	}
	if _, _, err := d.gh.Git.CreateRef(ctx, "acme", "infra", &gh.Reference{Ref: gh.String("refs/heads/" + branch), Object: &gh.GitObject{SHA: gh.String(main)}}); err != nil {
		return nil, fmt.Errorf("create %s: %w", branch, err)
	}
	if _, _, err := d.gh.Repositories.UpdateFile(ctx, "acme", "infra", file, &gh.RepositoryContentFileOptions{
		Message: gh.String("staging: api hotfix login-crash; INC-7 fixed, lift api's hold"), Content: out, SHA: fc.SHA, Branch: gh.String(branch)}); err != nil {
		return nil, fmt.Errorf("commit the hotfix PR: %w", err)
	}
	pr, _, err := d.gh.PullRequests.Create(ctx, "acme", "infra", &gh.NewPullRequest{
		Title: gh.String("staging: api hotfix login-crash (INC-7)"), Head: gh.String(branch), Base: gh.String("main")})
	if err != nil {
		return nil, fmt.Errorf("open the hotfix PR: %w", err)
	}
	d.detail("PR #%d %q by %s", pr.GetNumber(), pr.GetTitle(), pr.GetUser().GetLogin())
	return pr, nil
}

// liftHold removes the "hold" member of a top-level service object, as the
// engineer would by hand (the line and the comma before it).
func liftHold(file, service string) string {
	i := strings.Index(file, `"`+service+`": {`)
	if i < 0 {
		return file
	}
	j := strings.Index(file[i:], `"hold": "`)
	if j < 0 {
		return file
	}
	j += i
	end := strings.Index(file[j:], "\n")
	lineStart := strings.LastIndex(file[:j], "\n")
	prevEnd := strings.LastIndex(file[:lineStart], ",")
	line := file[j : j+end]
	if strings.HasSuffix(line, ",") { // not the last member: drop the line only
		return file[:lineStart] + file[j+end:]
	}
	return file[:prevEnd] + file[prevEnd+1:lineStart] + file[j+end:]
}

// approveAndMerge is the reviewed path of every PR above: the merge is
// refused while the PR is unreviewed (or its check has not passed), then a
// human approves the head, validate runs again on the review (the
// pull_request_review event) and the human merges.
func (d *demo) approveAndMerge(ctx context.Context, pr *gh.PullRequest, reviewer string) error {
	n := pr.GetNumber()
	if err := d.waitCheck(ctx, n); err != nil {
		return err
	}
	if _, _, err := d.gh.PullRequests.Merge(ctx, "acme", "infra", n, "", &gh.PullRequestOptions{MergeMethod: "squash"}); err == nil {
		return fmt.Errorf("PR #%d merged before a human approved it: the rulesets are not in force", n)
	}
	if err := d.srv.Approve("acme", "infra", n, reviewer); err != nil {
		return err
	}
	// The review starts validate again (pull_request_review): what lifts
	// the bot guard for the bot's PRs. A head whose check already passed
	// (a human's or the rollback App's PR) is not run twice here, to keep
	// the demo short; GitHub would run it again, with the same result.
	if !d.passed(ctx, n) {
		if c := d.validate(ctx, n, "pull_request_review"); c != "success" {
			return fmt.Errorf("validate on PR #%d after %s's approval: %s", n, reviewer, c)
		}
	}
	merger := d.gh
	if reviewer == "alice" {
		merger = d.bob
	}
	res, _, err := merger.PullRequests.Merge(ctx, "acme", "infra", n, "", &gh.PullRequestOptions{MergeMethod: "squash"})
	if err != nil {
		return fmt.Errorf("merge PR #%d: %w", n, err)
	}
	d.detail("PR #%d: merge refused until reviewed; approved by %s, %s passed, squash-merged as %s", n, reviewer, validateCheck, res.GetSHA()[:7])
	return nil
}

// onHead is the infra repo's pull_request workflow run GitHub starts for a
// new head: the validate job, reported as GitHub Actions' check run.
func (d *demo) onHead(pr int, sha string) {
	d.hooks.Add(1)
	defer d.hooks.Done()
	d.validateHead(context.Background(), pr, sha, "pull_request")
}

// validate runs the check on the PR's current head and returns its
// conclusion.
func (d *demo) validate(ctx context.Context, n int, event string) string {
	p, err := d.srv.PullRequest("acme", "infra", n)
	if err != nil {
		return err.Error()
	}
	return d.validateHead(ctx, n, p.HeadSHA, event)
}

func (d *demo) validateHead(ctx context.Context, n int, sha, event string) string {
	d.ci.Lock()
	defer d.ci.Unlock()
	p, err := d.srv.PullRequest("acme", "infra", n)
	if err != nil || p.State != "open" || p.HeadSHA != sha {
		return "superseded" // a newer push cancels the group's older run
	}
	d.mu.Lock()
	d.runs++
	dir := filepath.Join(d.scratch, fmt.Sprintf("check-%d", d.runs))
	d.mu.Unlock()
	clone := filepath.Join(dir, "repo")
	conclusion := "failure"
	defer func() {
		if err := d.srv.ReportCheck("acme", "infra", sha, validateCheck, actionsAppID, conclusion); err == nil {
			d.mu.Lock()
			d.checks = append(d.checks, fmt.Sprintf("#%d %s %s", n, sha[:7], conclusion))
			d.mu.Unlock()
		}
	}()
	if err := d.clone("acme/infra", clone); err != nil {
		d.detail("  [check #%d] %v", n, err)
		return conclusion
	}
	if err := d.git(clone, "-c", "http.extraHeader="+d.auth(), "fetch", "-q", "origin", p.Head); err != nil {
		d.detail("  [check #%d] %v", n, err)
		return conclusion
	}
	// GitHub runs pull_request workflows on the PR's test merge
	// (refs/pull/<n>/merge: the head merged into the base's tip), not on the
	// head alone; the payload names both.
	if err := d.git(clone, "checkout", "-q", p.BaseSHA); err != nil {
		d.detail("  [check #%d] %v", n, err)
		return conclusion
	}
	if err := d.git(clone, "-c", "user.name=GitHub", "-c", "user.email=noreply@github.com", "merge", "-q", "--no-ff", "--no-edit", sha); err != nil {
		d.detail("  [check #%d] no test merge (a conflict): %v", n, err)
		return conclusion
	}
	review := ""
	if event == "pull_request_review" {
		review = `"review":{"state":"approved"},`
	}
	payload := fmt.Sprintf(`{"action":"submitted",%s"number":%d,"pull_request":{"number":%d,"head":{"ref":%q,"sha":%q,"repo":{"full_name":"acme/infra"}},"base":{"ref":"main","sha":%q},"user":{"login":%q}},"repository":{"full_name":"acme/infra","name":"infra","default_branch":"main"}}`,
		review, n, n, p.Head, sha, p.BaseSHA, p.User)
	if event == "pull_request" {
		payload = strings.Replace(payload, `"action":"submitted"`, `"action":"synchronize"`, 1)
	}
	res, err := actrun.Run(ctx, actrun.Options{
		Act: d.act, ActionsDir: d.actions, Binary: d.binary, WorkDir: dir,
		RepoDir: clone, Repository: "acme/infra", Event: event, Payload: payload, Workflow: ".github/workflows/pipeline.yml",
		Offline: []string{appTokenAction},
		Env:     map[string]string{"GITHUB_API_URL": d.srv.APIURL(), "GITHUB_SERVER_URL": d.srv.ServerURL()},
		Vars:    map[string]string{"BOT_LOGIN": botLogin},
		Secrets: map[string]string{"GITHUB_TOKEN": workflowTokenOf("acme/infra"), "READER_TOKEN": readerToken},
	})
	if err != nil {
		d.detail("  [check #%d] %v", n, err)
		return conclusion
	}
	d.printLog(res.Log, fmt.Sprintf("[check #%d %s] ", n, event))
	if res.Err == nil {
		conclusion = "success"
	}
	d.detail("  [check #%d] %s on %s: %s", n, validateCheck, sha[:7], conclusion)
	return conclusion
}

// waitCheck waits until the check GitHub starts for the PR's head has
// reported (an API request makes the local GitHub notice the head).
func (d *demo) waitCheck(ctx context.Context, n int) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		pr, _, err := d.gh.PullRequests.Get(ctx, "acme", "infra", n)
		if err != nil {
			return err
		}
		want := fmt.Sprintf("#%d %s ", n, pr.GetHead().GetSHA()[:7])
		for _, c := range d.reported() {
			if strings.HasPrefix(c, want) {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("no %s check was reported on PR #%d", validateCheck, n)
}

// passed reports whether the check succeeded on the PR's current head.
func (d *demo) passed(ctx context.Context, n int) bool {
	pr, _, err := d.gh.PullRequests.Get(ctx, "acme", "infra", n)
	if err != nil {
		return false
	}
	return slices.Contains(d.reported(), fmt.Sprintf("#%d %s success", n, pr.GetHead().GetSHA()[:7]))
}

// digest is the registry's digest of image:tag, read back with a HEAD
// request: what publish pushed, from the registry's own state.
func (d *demo) digest(image, tag string) (string, error) {
	ref, err := name.ParseReference(d.registry.Host+"/"+image+":"+tag, name.Insecure)
	if err != nil {
		return "", err
	}
	desc, err := remote.Head(ref)
	if err != nil {
		return "", fmt.Errorf("%s is not in the registry: %w", ref, err)
	}
	return desc.Digest.String(), nil
}

func (d *demo) reported() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.checks)
}

// run clones the repository from the local GitHub and runs its workflows for
// an event with act (one workflow file, or "" for all that match), printing
// what the actions said.
func (d *demo) run(ctx context.Context, repo, workflow, event, branch, payload string, inputs ...string) error {
	d.mu.Lock()
	d.runs++
	dir := filepath.Join(d.scratch, fmt.Sprintf("run-%d", d.runs))
	d.mu.Unlock()
	clone := filepath.Join(dir, "repo")
	if err := d.clone(repo, clone); err != nil {
		return err
	}
	if branch != "main" {
		if err := d.git(clone, "checkout", "-q", branch); err != nil {
			return err
		}
	}
	vars := map[string]string{"REGISTRY": d.registry.Host, "BOT_LOGIN": botLogin}
	for k, v := range d.nextVars {
		vars[k] = v
	}
	d.nextVars = nil
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
		Vars:    vars,
		Offline: []string{appTokenAction},
		// GITHUB_TOKEN stands for the workflow's own token (github.token).
		Secrets: map[string]string{"BOT_TOKEN": botToken, "GITHUB_TOKEN": workflowTokenOf(repo), "ROLLBACK_TOKEN": rollbackToken,
			"READER_TOKEN": readerToken, "RULESETS_TOKEN": rulesetsToken},
		Timeout: 5 * time.Minute,
	})
	if err != nil {
		return err
	}
	d.printLog(res.Log, "")
	if res.Err != nil {
		return fmt.Errorf("the %s workflow of %s failed: %v (DEMO_DEBUG=1 shows act's whole log)", event, repo, res.Err)
	}
	d.detail("(act ran the workflows in %s)", res.Duration.Round(time.Millisecond))
	return nil
}

// identities registers the Apps and tokens of the constants above.
func (d *demo) identities() error {
	all := []string{"acme/api", "acme/web", "acme/shop", "acme/infra"}
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
		{rulesetsAppID, "demo-rulesets", rulesetsToken, githubtest.Permissions{"administration": githubtest.Write}},
	}
	for _, a := range apps {
		if err := d.srv.AddApp(a.id, a.slug); err != nil {
			return err
		}
		if err := d.srv.AddAppToken(a.token, a.id, a.perms, all...); err != nil {
			return err
		}
	}
	if err := d.srv.AddApp(actionsAppID, "github-actions"); err != nil {
		return err
	}
	for _, repo := range all {
		tok := workflowTokenOf(repo)
		d.srv.AddToken(tok, "github-actions[bot]", githubtest.None)
		if err := d.srv.SetRepoAccess(tok, repo, githubtest.Write); err != nil {
			return err
		}
	}
	var err error
	d.srv.AddToken("ghp_aliceToken", "alice", githubtest.Write)
	d.srv.AddToken("ghp_bobToken", "bob", githubtest.Write)
	if d.gh, err = ghclient.New(d.srv.APIURL(), &ghclient.Transport{Token: "ghp_aliceToken"}); err != nil {
		return err
	}
	d.bob, err = ghclient.New(d.srv.APIURL(), &ghclient.Transport{Token: "ghp_bobToken"})
	return err
}

// workflowTokenOf is the GITHUB_TOKEN of a run in repo: its own only.
func workflowTokenOf(repo string) string {
	name := strings.TrimPrefix(repo, "acme/")
	return "ghs_demoWorkflowToken" + name + strings.Repeat("0", 20-len(name))
}

// printLog shows the jobs that ran and the lines the actions printed, in
// one block (runs print from several goroutines).
func (d *demo) printLog(log, prefix string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if os.Getenv("DEMO_DEBUG") != "" {
		fmt.Fprintln(d.w, log)
		return
	}
	for _, l := range strings.Split(log, "\n") {
		switch {
		case strings.Contains(l, "🏁  Job succeeded"), strings.Contains(l, "🏁  Job failed"):
			fmt.Fprintf(d.w, "    %s%s\n", prefix, strings.TrimSpace(l))
		case strings.Contains(l, "  | ") && !strings.Contains(l, "::"):
			if i := strings.Index(l, "  | "); i >= 0 {
				fmt.Fprintf(d.w, "      %s%s%s\n", prefix, jobOf(l), strings.TrimSpace(l[i+4:]))
			}
		case strings.Contains(l, "::error::"), strings.Contains(l, "::warning::"), strings.Contains(l, "::notice::"):
			fmt.Fprintf(d.w, "      %s%s%s\n", prefix, jobOf(l), strings.TrimSpace(l[strings.Index(l, "::"):]))
		}
	}
}

func jobOf(l string) string {
	if i, j := strings.Index(l, "["), strings.Index(l, "]"); i >= 0 && j > i {
		return l[i:j+1] + " "
	}
	return ""
}

// showDeployed prints what each environment runs and checks it against the
// records: the newest deployment of each environment this run deployed is a
// success at infra main, and every environment runs what its file on main
// says.
func (d *demo) showDeployed(main string, deployed ...string) error {
	deps, err := d.srv.Deployments("acme", "infra")
	if err != nil {
		return err
	}
	for _, env := range []string{"dev", "staging", "prod"} {
		var last *githubtest.Deployment
		for i := range deps {
			if deps[i].Environment == env {
				last = &deps[i]
			}
		}
		if slices.Contains(deployed, env) && (last == nil || !slices.Contains(last.States, "success") || last.SHA != main) {
			return fmt.Errorf("%s's newest deployment is %+v, want a success at infra %s", env, last, main[:7])
		}
		file, err := d.srv.ReadFile("acme", "infra", main, "envs/"+env+".json")
		if err != nil {
			return err
		}
		var line []string
		for _, s := range services {
			got, want := d.deployedValue(env, s.key), value(file, s.key)
			if got != want {
				return fmt.Errorf("%s runs %s=%s, its file on main says %s", env, s.key, got, want)
			}
			line = append(line, fmt.Sprintf("%s@%.7s", strings.TrimSuffix(s.key, ".tag"), got))
			dk := strings.TrimSuffix(s.key, ".tag") + ".digest"
			if got, want := d.deployedValue(env, dk), value(file, dk); got != want {
				return fmt.Errorf("%s runs %s=%s, its file on main says %s", env, dk, got, want)
			}
		}
		d.detail("%-8s runs %s", env, strings.Join(line, " "))
	}
	return nil
}

// expectEnv checks that env's file on infra main holds heads (by repo) for
// every service.
func (d *demo) expectEnv(env string, heads map[string]string) error {
	file, err := d.srv.ReadFile("acme", "infra", "main", "envs/"+env+".json")
	if err != nil {
		return err
	}
	for _, s := range services {
		if got := value(file, s.key); got != heads[s.repo] {
			return fmt.Errorf("%s's %s is %s, want %s", env, s.key, got, heads[s.repo])
		}
	}
	return nil
}

// deployedValue is what the example deploy script recorded for a key.
func (d *demo) deployedValue(env, key string) string {
	v, _ := os.ReadFile(filepath.Join(d.deployed, env, "VERSION_"+strings.ToUpper(strings.ReplaceAll(key, ".", "_"))))
	return strings.TrimSpace(string(v))
}

func (d *demo) onlyOpenPR(ctx context.Context, what string) (*gh.PullRequest, error) {
	prs, _, err := d.gh.PullRequests.List(ctx, "acme", "infra", &gh.PullRequestListOptions{State: "open"})
	if err != nil || len(prs) != 1 {
		return nil, fmt.Errorf("expected one open %s PR, got %d (%v)", what, len(prs), err)
	}
	return prs[0], nil
}

func (d *demo) showPR(pr *gh.PullRequest) {
	d.detail("PR #%d %q by %s", pr.GetNumber(), pr.GetTitle(), pr.GetUser().GetLogin())
	for _, line := range strings.Split(pr.GetBody(), "\n") {
		if strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, "| Environment") {
			cells := strings.Split(line, "|")
			if len(cells) > 5 {
				d.detail("  %s: %s → %s", strings.TrimSpace(cells[2]), short(cells[3]), short(cells[4]))
			}
		}
	}
}

func short(cell string) string {
	s := strings.Trim(strings.TrimSpace(cell), "`")
	if len(s) == 40 {
		return s[:7]
	}
	return s
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

func pushPayload(repo, branch, before, after string) string {
	return fmt.Sprintf(`{"ref":"refs/heads/%s","before":%q,"after":%q,"repository":{"full_name":"acme/%s","name":%q,"default_branch":"main"}}`,
		branch, before, after, repo, repo)
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

func mustPath(key string) envfile.Path {
	p, err := envfile.ParsePath(key)
	if err != nil {
		panic(err)
	}
	return p
}

// value reads a key of an environment file ("" when missing).
func value(file, key string) string {
	v, _, _ := envfile.Get([]byte(file), mustPath(key))
	return v
}
