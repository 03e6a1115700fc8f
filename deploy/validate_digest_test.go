package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cicd-excellence/actions/internal/envdiff"
	"github.com/cicd-excellence/actions/internal/envfile"
	"github.com/cicd-excellence/actions/internal/gitread"
)

// digestOf is the image digest the tests pretend publish pushed for an app
// commit, one per commit.
func digestOf(sha string) string {
	h := sha256.Sum256([]byte(sha))
	return "sha256:" + hex.EncodeToString(h[:])
}

func apiPair(tag, digest string) string {
	return `{
  "api": {
    "tag": "` + tag + `",
    "digest": "` + digest + `",
    "replicas": 2
  }
}
`
}

// TestValidateDigest: a digest is checked for form, never looked up as a
// commit; the bot moves it only with its tag (an unchanged tag with another
// digest fails the bot guard, so the bot path cannot merge it; it may add a
// tag's first digest only while moving that tag); a reviewed
// human PR may change it alone, with a note; promotion order and the hotfix
// exemption apply to the pair.
func TestValidateDigest(t *testing.T) {
	f := newGuardFixture(t)
	base := f.newInfra("infra", map[string]string{
		"envs/dev.json":     apiPair(f.c2, digestOf(f.c2)),
		"envs/staging.json": apiPair(f.c1, digestOf(f.c1)),
		"envs/prod.json":    apiPair(f.c1, digestOf(f.c1)),
		"envs/qa.json":      apiEnv(f.c2), // no digest yet
	})
	qa := []string{"INPUT_BOT_ENVIRONMENTS=dev, qa"}
	evil := digestOf("evil")
	tests := []struct {
		name, branch, author string
		head                 func(branch string) string
		approve              string
		env                  []string
		want                 []string // substrings of the log
		fail                 bool
	}{
		{name: "bot adds the first digest beside the tag it moves (create-missing)", branch: "cicd-excellence/qa/a", author: botLogin, env: qa,
			head: func(b string) string {
				return f.botCommit(b, map[string]string{"envs/qa.json": apiPair(f.c3, digestOf(f.c3))})
			}},
		{name: "attacker: a bot PR adding a digest under an unchanged tag", branch: "cicd-excellence/qa/b", author: botLogin, env: qa, fail: true,
			head: func(b string) string { return f.botCommit(b, map[string]string{"envs/qa.json": apiPair(f.c2, evil)}) },
			want: []string{"may not add the version key api.digest"}},
		{name: "bot moves the pair forward", branch: "cicd-excellence/dev/a", author: botLogin,
			head: func(b string) string {
				return f.botCommit(b, map[string]string{"envs/dev.json": apiPair(f.c3, digestOf(f.c3))})
			}},
		{name: "bot moves the tag of an identical image, the digest unchanged", branch: "cicd-excellence/dev/same", author: botLogin,
			head: func(b string) string {
				return f.botCommit(b, map[string]string{"envs/dev.json": apiPair(f.c3, digestOf(f.c2))})
			}},
		{name: "attacker: a bot-branch PR changing only the digest", branch: "cicd-excellence/dev/b", author: botLogin, fail: true,
			head: func(b string) string { return f.botCommit(b, map[string]string{"envs/dev.json": apiPair(f.c2, evil)}) },
			want: []string{"::error file=envs/dev.json,line=4::bot: api.digest changes but api.tag does not: the bot moves a digest only with its tag"}},
		{name: "attacker: a human pushes a digest-only change onto the bot's branch", branch: "cicd-excellence/dev/c", author: botLogin, fail: true,
			head: func(b string) string {
				f.botCommit(b, map[string]string{"envs/dev.json": apiPair(f.c3, digestOf(f.c3))})
				return f.pushAsHuman(b, map[string]string{"envs/dev.json": apiPair(f.c3, evil)})
			},
			want: []string{"is authored by alice, not by pipeline[bot]"}},
		{name: "a bot PR with a malformed digest", branch: "cicd-excellence/dev/d", author: botLogin, fail: true,
			head: func(b string) string {
				return f.botCommit(b, map[string]string{"envs/dev.json": apiPair(f.c3, "sha256:"+strings.Repeat("A", 64))})
			},
			want: []string{"::error file=envs/dev.json,line=4::digest: api.digest: \"sha256:AAAA", "is not an image digest (sha256: and 64 lower-case hex digits)"}},
		{name: "a digest-only bot-branch PR a collaborator approved", branch: "cicd-excellence/dev/e", author: botLogin, approve: humanLogin,
			head: func(b string) string { return f.botCommit(b, map[string]string{"envs/dev.json": apiPair(f.c2, evil)}) },
			want: []string{"::notice::validate: envs/dev.json: api.digest changes under the unchanged api.tag = " + f.c2[:7]}},
		{name: "a human PR changing only the digest", branch: "repush", author: humanLogin,
			head: func(b string) string {
				return f.pushAsHuman(b, map[string]string{"envs/dev.json": apiPair(f.c2, evil)})
			},
			want: []string{"::notice::validate: envs/dev.json: api.digest changes under the unchanged api.tag"}},
		{name: "a human ships a hotfix pair straight to prod", branch: "hotfix", author: humanLogin,
			head: func(b string) string {
				return f.pushAsHuman(b, map[string]string{"envs/prod.json": apiPair(f.h1, digestOf(f.h1))})
			}},
		{name: "a human skips staging with the pair", branch: "skip", author: humanLogin, fail: true,
			head: func(b string) string {
				return f.pushAsHuman(b, map[string]string{"envs/prod.json": apiPair(f.c2, digestOf(f.c2))})
			},
			want: []string{"promotion: api.tag = " + f.c2[:7] + " was never in staging", "promotion: api.digest = " + digestOf(f.c2) + " was never in staging"}},
		{name: "a human promotes the tag with another digest than staging's", branch: "promote", author: humanLogin, fail: true,
			head: func(b string) string {
				return f.pushAsHuman(b, map[string]string{"envs/staging.json": apiPair(f.c2, evil)})
			},
			want: []string{"promotion: api.digest = " + evil + " was never in dev"}},
		{name: "a digest without its tag", branch: "lone", author: humanLogin, fail: true,
			head: func(b string) string {
				return f.pushAsHuman(b, map[string]string{"envs/dev.json": "{\n  \"api\": {\"digest\": \"" + digestOf(f.c2) + "\"}\n}\n"})
			},
			want: []string{"digest: api.digest has no api.tag beside it"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.t = t
			head := tc.head(tc.branch)
			n := f.openPR(tc.branch, tc.author)
			if tc.approve != "" {
				must(t, f.srv.Approve("acme", f.infra, n, tc.approve))
			}
			f.srv.ResetRequests()
			log, err := f.validate(n, base, tc.branch, head, tc.author, append([]string{"INPUT_APP_REPO=acme/api", "INPUT_PROMOTION_CHAIN=dev, staging, prod"}, tc.env...)...)
			if tc.fail != (err != nil) {
				t.Fatalf("validate err = %v, want failure %v\n%s", err, tc.fail, log)
			}
			for _, w := range tc.want {
				if !strings.Contains(log, w) {
					t.Errorf("log lacks %q\n%s", w, log)
				}
			}
			// Per-key checks never ask the app repository about a digest,
			// whole or as bare hex.
			for _, r := range f.srv.Requests() {
				for _, d := range []string{digestOf(f.c2), digestOf(f.c3), digestOf(f.h1), evil} {
					if strings.Contains(r.Path, "sha256") || strings.Contains(r.Path, strings.TrimPrefix(d, "sha256:")) {
						t.Errorf("a digest was looked up: %s %s", r.Method, r.Path)
					}
				}
			}
		})
	}
}

// TestVersionsDigest: deploy's command gets the digest as VERSION_API_DIGEST
// under the default tracked set, and VERSION stays the tag.
func TestVersionsDigest(t *testing.T) {
	const tag = "1111111111111111111111111111111111111111"
	dg := digestOf(tag)
	for _, tracked := range [][]string{nil, {envfile.DefaultTracked}, {"api.tag"}} {
		pats, err := envfile.ParsePatterns(tracked)
		must(t, err)
		env, version, values, err := Versions([]byte(apiPair(tag, dg)), pats, "")
		must(t, err)
		if version != tag || values["api.digest"] != dg {
			t.Errorf("tracked %v: VERSION = %q, values %v", tracked, version, values)
		}
		for _, want := range []string{"VERSION=" + tag, "VERSION_API_TAG=" + tag, "VERSION_API_DIGEST=" + dg} {
			if !slices.Contains(env, want) {
				t.Errorf("tracked %v: %s missing from %v", tracked, want, env)
			}
		}
	}
}

// TestPlanDigestIsADeploy: a push that changes only a digest (a reviewed
// human PR re-pointing a version at another image) deploys the environment,
// under the default tracked set and under the deploy action's "**.tag".
func TestPlanDigestIsADeploy(t *testing.T) {
	const tag = "1111111111111111111111111111111111111111"
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	commit := func(content string) string {
		t.Helper()
		must(t, os.MkdirAll(filepath.Join(dir, "envs"), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, "envs", "dev.json"), []byte(content), 0o644))
		git("add", "-A")
		git("commit", "-q", "-m", "change")
		return git("rev-parse", "HEAD")
	}
	git("init", "-q")
	before := commit(apiPair(tag, digestOf(tag)))
	after := commit(apiPair(tag, digestOf("other")))
	for _, tracked := range [][]string{nil, {envfile.DefaultTracked}} {
		res, err := envdiff.Plan(context.Background(), gitread.Reader{Dir: dir}, before, after, envdiff.Config{Tracked: tracked})
		must(t, err)
		if !res.Changed || len(res.Environments) != 1 {
			t.Fatalf("tracked %v: plan = %+v, want dev deployed", tracked, res)
		}
		env := res.Environments[0]
		want := envdiff.Change{Key: "api.digest", Old: digestOf(tag), New: digestOf("other")}
		if env.Environment != "dev" || len(env.Changes) != 1 || env.Changes[0] != want || env.Versions["api.tag"] != tag {
			t.Errorf("tracked %v: %+v", tracked, env)
		}
	}
}
