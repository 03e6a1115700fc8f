package openinfrapr

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cicd-excellence/actions/internal/envfile"
	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

// serviceKeys are the version keys of the many-services world: two app repos
// and a monorepo (acme/shop) whose two images share its commits.
var serviceKeys = []struct{ key, repo string }{
	{"svc-a.tag", "svc-a"},
	{"svc-b.tag", "svc-b"},
	{"shop.cart.tag", "shop"},
	{"shop.checkout.tag", "shop"},
}

const manyServicesMap = `{
  "default": "{owner}/{name}",
  "keys": {"shop.cart.tag": "acme/shop", "shop.checkout.tag": "acme/shop"}
}
`

// TestCrowdOfServices: three app repos (one a monorepo with two keys) each
// push several commits at once, every run bumping its keys in the same
// envs/dev.json with the services map in place, in random order. Every run
// ends well, each key ends at its repo's newest commit, no key moves
// backwards on any commit of infra main, and nothing is left behind.
func TestCrowdOfServices(t *testing.T) {
	w := &crowdWorld{world: newWorld(t)}
	_, err := w.srv.AddRuleset("acme", "infra", crowdRuleset)
	must(t, err)
	w.reportChecks(t, 100*time.Millisecond)
	commits := map[string][]string{} // repo → main, oldest first
	for _, repo := range []string{"svc-a", "svc-b", "shop"} {
		must(t, w.srv.CreateRepo(githubtest.RepoConfig{Owner: "acme", Name: repo, Private: true}))
		for i := range 4 {
			sha, err := w.srv.CommitFiles("acme", repo, "main", map[string]string{"v": fmt.Sprint(i)}, fmt.Sprintf("%s %d", repo, i))
			must(t, err)
			commits[repo] = append(commits[repo], sha)
		}
	}
	dev := "{\n"
	for i, k := range serviceKeys {
		group, field, _ := strings.Cut(strings.TrimSuffix(k.key, ".tag"), ".")
		sep := ",\n"
		if i == len(serviceKeys)-1 {
			sep = "\n"
		}
		if field == "" {
			dev += fmt.Sprintf("  %q: {\"tag\": %q}%s", group, commits[k.repo][0], sep)
		} else {
			dev += fmt.Sprintf("  %q: {\"tag\": %q}%s", group+"-"+field, commits[k.repo][0], sep)
		}
	}
	dev += "}\n"
	// shop's keys nest: {"shop": {"cart": {...}, "checkout": {...}}}.
	dev = strings.Replace(dev, `"shop-cart": {"tag": "`+commits["shop"][0]+`"},
  "shop-checkout": {"tag": "`+commits["shop"][0]+`"}`,
		`"shop": {"cart": {"tag": "`+commits["shop"][0]+`"}, "checkout": {"tag": "`+commits["shop"][0]+`"}}`, 1)
	_, err = w.srv.CommitFiles("acme", "infra", "main", map[string]string{"envs/dev.json": dev, "services.json": manyServicesMap}, "services")
	must(t, err)
	for _, k := range serviceKeys {
		p, err := envfile.ParsePath(k.key)
		must(t, err)
		if v, ok, _ := envfile.Get([]byte(dev), p); !ok || v != commits[k.repo][0] {
			t.Fatalf("the fixture's dev.json lacks %s:\n%s", k.key, dev)
		}
	}

	type push struct{ repo, sha string }
	var pushes []push
	for repo, shas := range commits {
		for _, sha := range shas[1:] {
			pushes = append(pushes, push{repo, sha})
		}
	}
	rand.Shuffle(len(pushes), func(i, j int) { pushes[i], pushes[j] = pushes[j], pushes[i] })
	type result struct {
		out map[string]string
		log string
		err error
	}
	results := make([]result, len(pushes))
	var wg sync.WaitGroup
	for i, p := range pushes {
		set := []string{}
		for _, k := range serviceKeys {
			if k.repo == p.repo {
				set = append(set, k.key+"="+p.sha)
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, log, err := w.run(t, "GITHUB_REPOSITORY=acme/"+p.repo, "GITHUB_SHA="+p.sha, "INPUT_SERVICES_FILE=services.json",
				"INPUT_SET="+strings.Join(set, "\n"))
			results[i] = result{out, log, err}
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.err != nil || !slices.Contains([]string{OpMerged, OpSuperseded, OpSkipped, OpNone}, r.out["operation"]) {
			t.Errorf("run for %s@%s: %v %v\n%s", pushes[i].repo, short(pushes[i].sha), r.err, r.out, r.log)
		}
	}
	final := []byte(w.file(t, "dev"))
	for _, k := range serviceKeys {
		p, _ := envfile.ParsePath(k.key)
		if v, _, _ := envfile.Get(final, p); v != commits[k.repo][3] {
			t.Errorf("%s = %s, want %s's newest commit %s", k.key, short(v), k.repo, short(commits[k.repo][3]))
		}
	}
	// On every commit of infra main, each key is at a commit no older than
	// on the commit before.
	dir := filepath.Join(w.srv.Dir(), "acme", "infra.git")
	out, err := exec.Command("git", "-C", dir, "rev-list", "--first-parent", "--reverse", "main").Output()
	must(t, err)
	last := map[string]int{}
	for _, sha := range strings.Fields(string(out)) {
		body, err := exec.Command("git", "-C", dir, "show", sha+":envs/dev.json").Output()
		if err != nil {
			continue
		}
		for _, k := range serviceKeys {
			p, _ := envfile.ParsePath(k.key)
			v, ok, _ := envfile.Get(body, p)
			if !ok {
				continue // before the services existed
			}
			i := slices.Index(commits[k.repo], v)
			if i < last[k.key] {
				t.Errorf("%s moved backwards on infra %s: %d → %d", k.key, short(sha), last[k.key], i)
			}
			last[k.key] = max(last[k.key], i)
		}
	}
	if b := w.branches(t); len(b) != 0 {
		t.Errorf("branches left behind: %v", b)
	}
}

// TestHotfixFlows: a hotfix version flows where the docs say, and the main
// bump after it is never a silent stall.
//
//   - dev at a main commit, the hotfix (built on it) is newer: it goes in.
//   - dev at the hotfix, a newer main commit that lacks the fix: it goes in,
//     with a notice that the fix is not in it (merge it back to main).
//   - dev at the hotfix, a main commit older than the hotfix's base: skipped,
//     with a notice saying why and how to force it (allow-downgrade), exit 0.
func TestHotfixFlows(t *testing.T) {
	w := newWorld(t) // hotfix from app[1]; dev at app[1]
	out, log, err := w.run(t, "INPUT_SET=api.tag="+w.hotfix)
	if err != nil || out["operation"] != OpMerged || !strings.Contains(w.file(t, "dev"), w.hotfix) {
		t.Fatalf("the hotfix did not go into dev: %v %v\n%s", err, out, log)
	}
	out, log, err = w.run(t, "INPUT_SET=api.tag="+w.app[0])
	if err != nil || out["operation"] != OpSkipped || !strings.Contains(log, "::notice") || !strings.Contains(log, "allow-downgrade") {
		t.Fatalf("an older main commit after the hotfix: %v %v\n%s", err, out, log)
	}
	if !strings.Contains(w.file(t, "dev"), w.hotfix) {
		t.Fatal("an older main commit replaced the hotfix")
	}
	out, log, err = w.run(t, "INPUT_SET=api.tag="+w.app[3])
	if err != nil || out["operation"] != OpMerged || !strings.Contains(w.file(t, "dev"), w.app[3]) {
		t.Fatalf("a newer main commit did not replace the hotfix: %v %v\n%s", err, out, log)
	}
	if want := "a commit off the default branch (a hotfix?) that " + short(w.app[3]) + " does not contain"; !strings.Contains(log, want) || !strings.Contains(log, "::notice") {
		t.Errorf("the move past the hotfix was silent; want a notice with %q\n%s", want, log)
	}
}

// TestPromotionWithOneKeyRejected: a batch promotion in which one service
// would move backwards (staging holds a newer commit than dev) promotes the
// others in one PR and says, in a notice, which key it left and why.
func TestPromotionWithOneKeyRejected(t *testing.T) {
	w := newServicesWorld(t, `{"default": "{owner}/{name}"}`)
	env := func(a, b string) string {
		return fmt.Sprintf("{\n  \"svc-a\": {\n    \"tag\": %q\n  },\n  \"svc-b\": {\n    \"tag\": %q\n  }\n}\n", a, b)
	}
	_, err := w.srv.CommitFiles("acme", "infra", "main", map[string]string{
		"envs/dev.json":     env(w.a[2], w.b[1]),
		"envs/staging.json": env(w.a[0], w.b[2]),
	}, "staging ahead on svc-b")
	must(t, err)
	out, log, err := w.run(t, "INPUT_ENVIRONMENT=staging", "INPUT_PROMOTE_FROM=dev")
	if err != nil || out["operation"] != OpCreated {
		t.Fatalf("%v %v\n%s", err, out, log)
	}
	if want := "svc-b.tag: " + short(w.b[1]) + " is not newer than " + short(w.b[2]); !strings.Contains(log, "::notice::skipped "+want) {
		t.Errorf("no notice names the rejected key; want %q\n%s", want, log)
	}
	prs := w.pulls(t)
	if len(prs) != 1 {
		t.Fatalf("want one PR, got %d", len(prs))
	}
	head, err := w.srv.ReadFile("acme", "infra", prs[0].HeadSHA, "envs/staging.json")
	must(t, err)
	if head != env(w.a[2], w.b[2]) {
		t.Errorf("staging on the PR:\n%s\nwant svc-a promoted and svc-b kept:\n%s", head, env(w.a[2], w.b[2]))
	}
	if strings.Contains(prs[0].Body, "acme/svc-b/compare") {
		t.Errorf("the PR body lists the rejected key:\n%s", prs[0].Body)
	}
}
