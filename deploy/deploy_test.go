package deploy

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
	"github.com/cicd-excellence/actions/internal/testkit/steptest"
)

// repo is an infra repository checkout built with real git in the test.
type repo struct {
	t   *testing.T
	dir string
}

func newRepo(t *testing.T) *repo {
	t.Helper()
	r := &repo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	return r
}

func (r *repo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", r.dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes files (a nil content deletes) and returns the new SHA.
func (r *repo) commit(files map[string]*string) string {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.dir, name)
		if content == nil {
			r.git("rm", "-q", name)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(*content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", "change")
	return r.git("rev-parse", "HEAD")
}

func s(v string) *string { return &v }

func env(api, web string) *string {
	return s(`{
  "api": {
    "tag": "` + api + `",
    "replicas": 2
  },
  "web": {
    "tag": "` + web + `"
  }
}
`)
}

const (
	a1 = "1111111111111111111111111111111111111111"
	a2 = "2222222222222222222222222222222222222222"
	w1 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
)

// run runs the step with a real output file; it returns outputs and the log.
func run(t *testing.T, dir string, env ...string) (map[string]string, string, error) {
	t.Helper()
	res := steptest.Run(t, Step, dir, env...)
	return res.Outputs, res.Log, res.Err
}

func TestPlanMode(t *testing.T) {
	r := newRepo(t)
	c0 := r.commit(map[string]*string{"envs/dev.json": env(a1, w1), "envs/staging.json": env(a1, w1), "envs/prod.json": env(a1, w1)})
	c1 := r.commit(map[string]*string{"envs/dev.json": env(a2, w1)})
	c2 := r.commit(map[string]*string{"envs/staging.json": env(a2, w1)})
	c3 := r.commit(map[string]*string{"envs/prod.json": s(strings.Replace(*env(a1, w1), `"replicas": 2`, `"replicas": 3`, 1))})

	tests := []struct {
		name, before, after string
		want                []string
	}{
		{"only dev changed", c0, c1, []string{"dev"}},
		{"two commits in one push", c0, c2, []string{"dev", "staging"}},
		{"a non-tracked key", c2, c3, nil},
		{"first push deploys everything", strings.Repeat("0", 40), c0, []string{"dev", "staging", "prod"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, log, err := run(t, r.dir, "INPUT_MODE=plan", "GITHUB_EVENT_NAME=push", "INPUT_BEFORE="+tc.before, "INPUT_AFTER="+tc.after)
			if err != nil {
				t.Fatalf("%v\n%s", err, log)
			}
			var m struct {
				Include []struct {
					Environment string            `json:"environment"`
					Versions    map[string]string `json:"versions"`
				} `json:"include"`
			}
			if err := json.Unmarshal([]byte(out["matrix"]), &m); err != nil {
				t.Fatalf("matrix %q: %v", out["matrix"], err)
			}
			var got []string
			for _, e := range m.Include {
				got = append(got, e.Environment)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") || out["environments"] != strings.Join(tc.want, ",") {
				t.Errorf("deployed %v (environments %q), want %v", got, out["environments"], tc.want)
			}
			if out["changed"] != map[bool]string{true: "true", false: "false"}[len(tc.want) > 0] {
				t.Errorf("changed = %q", out["changed"])
			}
		})
	}
	t.Run("bad before", func(t *testing.T) {
		_, _, err := run(t, r.dir, "INPUT_MODE=plan", "GITHUB_EVENT_NAME=push", "INPUT_BEFORE=abc", "INPUT_AFTER="+c1)
		var ie *action.InputError
		if !errors.As(err, &ie) || ie.Input != "before" {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDeployMode(t *testing.T) {
	r := newRepo(t)
	r.commit(map[string]*string{"envs/dev.json": env(a2, w1)})
	marker := filepath.Join(t.TempDir(), "deployed")
	cmd := `printf '%s %s %s %s\n' "$ENVIRONMENT" "$VERSION" "$VERSION_API_TAG" "$VERSION_WEB_TAG" > "$MARKER"; echo deployed`
	out, log, err := run(t, r.dir, "INPUT_MODE=deploy", "INPUT_ENVIRONMENT=dev", "INPUT_COMMAND="+cmd, "INPUT_RECORD_DEPLOYMENT=false", "MARKER="+marker)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	got, _ := os.ReadFile(marker)
	if string(got) != "dev "+a2+" "+a2+" "+w1+"\n" {
		t.Errorf("the command saw %q", got)
	}
	if out["version"] != a2 || !strings.Contains(log, "deployed") {
		t.Errorf("outputs %v, log %s", out, log)
	}

	t.Run("the command's status is the step's", func(t *testing.T) {
		_, _, err := run(t, r.dir, "INPUT_MODE=deploy", "INPUT_ENVIRONMENT=dev", "INPUT_COMMAND=exit 7", "INPUT_RECORD_DEPLOYMENT=false")
		var ee *ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 7 {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("values never become script", func(t *testing.T) {
		evil := newRepo(t)
		evil.commit(map[string]*string{"envs/dev.json": s(`{"api": {"tag": "$(touch pwned)"}}`)})
		_, log, err := run(t, evil.dir, "INPUT_MODE=deploy", "INPUT_ENVIRONMENT=dev", `INPUT_COMMAND=echo "v=$VERSION"`, "INPUT_RECORD_DEPLOYMENT=false")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(evil.dir, "pwned")); err == nil || !strings.Contains(log, "v=$(touch pwned)") {
			t.Errorf("the value ran as shell: %s", log)
		}
	})
	t.Run("dry run runs nothing", func(t *testing.T) {
		m2 := filepath.Join(t.TempDir(), "m")
		_, log, err := run(t, r.dir, "INPUT_MODE=deploy", "INPUT_ENVIRONMENT=dev", "INPUT_COMMAND=touch "+m2, "INPUT_DRY_RUN=true")
		if err != nil || !strings.Contains(log, "dry run") {
			t.Fatalf("%v %s", err, log)
		}
		if _, err := os.Stat(m2); err == nil {
			t.Error("dry run ran the command")
		}
	})
	bad := []struct {
		name, input string
		env         []string
	}{
		{"no environment", "environment", []string{"INPUT_MODE=deploy", "INPUT_COMMAND=true"}},
		{"environment with a slash", "environment", []string{"INPUT_MODE=deploy", "INPUT_ENVIRONMENT=../prod", "INPUT_COMMAND=true"}},
		{"environment without a file", "environment", []string{"INPUT_MODE=deploy", "INPUT_ENVIRONMENT=qa", "INPUT_COMMAND=true"}},
		{"no command", "command", []string{"INPUT_MODE=deploy", "INPUT_ENVIRONMENT=dev"}},
		{"unknown mode", "mode", []string{"INPUT_MODE=apply"}},
		{"directory escaping the repo", "environments-dir", []string{"INPUT_MODE=deploy", "INPUT_ENVIRONMENTS_DIR=../x", "INPUT_ENVIRONMENT=dev", "INPUT_COMMAND=true"}},
		{"bad pattern", "tracked", []string{"INPUT_MODE=plan", "INPUT_TRACKED=api.**"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := run(t, r.dir, tc.env...)
			var ie *action.InputError
			if !errors.As(err, &ie) || ie.Input != tc.input {
				t.Fatalf("err = %v, want input %q", err, tc.input)
			}
		})
	}
}

func TestValidateMode(t *testing.T) {
	r := newRepo(t)
	base := r.commit(map[string]*string{"envs/dev.json": env(a1, w1), "envs/staging.json": env(a1, w1)})
	r.commit(map[string]*string{"envs/dev.json": env(a2, w1)})
	good := r.commit(map[string]*string{"envs/staging.json": env(a2, w1)})
	pr := func(head, author string) string {
		p := filepath.Join(t.TempDir(), "event.json")
		body := `{"pull_request":{"number":1,"head":{"ref":"x","sha":"` + head + `"},"base":{"ref":"main","sha":"` + base + `"},"user":{"login":"` + author + `"}},"repository":{"full_name":"acme/infra","default_branch":"main"}}`
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	_, log, err := run(t, r.dir, "INPUT_MODE=validate", "GITHUB_EVENT_NAME=pull_request", "GITHUB_EVENT_PATH="+pr(good, "dev"))
	if err != nil {
		t.Fatalf("a good promotion failed: %v\n%s", err, log)
	}

	// Skipping dev: staging gets a version dev never had.
	r.git("checkout", "-q", "-b", "skip", base)
	skip := r.commit(map[string]*string{"envs/staging.json": env("3333333333333333333333333333333333333333", w1)})
	_, log, err = run(t, r.dir, "INPUT_MODE=validate", "GITHUB_EVENT_NAME=pull_request", "GITHUB_EVENT_PATH="+pr(skip, "dev"))
	if err == nil || !strings.Contains(log, "::error file=envs/staging.json,line=3::promotion: api.tag = 3333333 was never in dev") {
		t.Fatalf("promotion order not enforced: %v\n%s", err, log)
	}

	// A broken file and a short version: annotated at file and line.
	r.git("checkout", "-q", "-b", "broken", base)
	broken := r.commit(map[string]*string{"envs/dev.json": s("{\n  \"api\": {\"tag\": \"abc\"},\n  \"api\": {}\n}\n"), "envs/staging.json": s(`{"web": {"tag": "v1"}}`)})
	_, log, err = run(t, r.dir, "INPUT_MODE=validate", "GITHUB_EVENT_NAME=pull_request", "GITHUB_EVENT_PATH="+pr(broken, "dev"))
	if err == nil || !strings.Contains(log, "::error file=envs/dev.json,line=3::parse:") || !strings.Contains(log, `::error file=envs/staging.json,line=1::version: web.tag = "v1" does not match`) {
		t.Fatalf("problems not annotated: %v\n%s", err, log)
	}
	// The bot guard: TestValidateBotGuard in validate_test.go.
}

// TestPlanFallsBackToTheAPI: after a force push no clone has the push's
// before commit; plan reads both commits through the API instead.
func TestPlanFallsBackToTheAPI(t *testing.T) {
	srv := githubtest.New(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(srv.CreateRepo(githubtest.RepoConfig{Owner: "acme", Name: "infra"}))
	before, err := srv.CommitFiles("acme", "infra", "main", map[string]string{"envs/dev.json": *env(a1, w1), "envs/prod.json": *env(a1, w1)}, "one")
	must(err)
	after, err := srv.CommitFiles("acme", "infra", "main", map[string]string{"envs/dev.json": *env(a2, w1)}, "two")
	must(err)
	// A clone that holds only after, as a shallow checkout does.
	r := newRepo(t)
	r.commit(map[string]*string{"envs/dev.json": env(a2, w1), "envs/prod.json": env(a1, w1)})

	out, log, err := run(t, r.dir, "INPUT_MODE=plan", "GITHUB_EVENT_NAME=push", "INPUT_BEFORE="+before, "INPUT_AFTER="+after,
		"GITHUB_REPOSITORY=acme/infra", "GITHUB_API_URL="+srv.APIURL(), "INPUT_GITHUB_TOKEN="+githubtest.DefaultToken)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if out["environments"] != "dev" || !strings.Contains(log, "reading through the API instead") {
		t.Errorf("outputs %v\n%s", out, log)
	}
	if srv.CountRequests("GET /repos/{owner}/{repo}/contents/{path}") == 0 {
		t.Error("nothing was read through the API")
	}
	// Without a token it says what to do.
	_, _, err = run(t, r.dir, "INPUT_MODE=plan", "GITHUB_EVENT_NAME=push", "INPUT_BEFORE="+before, "INPUT_AFTER="+after, "GITHUB_REPOSITORY=acme/infra")
	if err == nil || !strings.Contains(err.Error(), "no token to read through the API") || !strings.Contains(err.Error(), `input "github-token"`) {
		t.Errorf("err = %v", err)
	}
}
