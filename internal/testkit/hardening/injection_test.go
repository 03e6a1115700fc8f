package hardening

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/cicd-excellence/actions/deploy"
	"github.com/cicd-excellence/actions/hotfix"
	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
	openinfrapr "github.com/cicd-excellence/actions/open-infra-pr"
	"github.com/cicd-excellence/actions/setup"
)

// hostile are values that would take over a runner if a step echoed them
// raw into its log, its outputs or its environment files.
var hostile = []struct{ name, v string }{
	{"expression", "${{ secrets.GITHUB_TOKEN }}"},
	{"expression without spaces", "${{github.token}}"},
	{"line break and set-output", "x\n::set-output name=publish::true"},
	{"line break and an output line", "x\npublish=true"},
	{"line break and a heredoc", "x\npublish<<EOF\ntrue\nEOF"},
	{"go-githubactions' fixed delimiter", "x\n_GitHubActionsFileCommandDelimeter_\npublish=true"},
	{"a toolkit delimiter", "x\nghadelimiter_5f3b2c1e-9a7d-4e6b-8c1f-0123456789ab\npublish=true"},
	{"bare fixed delimiter", "_GitHubActionsFileCommandDelimeter_"},
	{"bare toolkit delimiter", "ghadelimiter_5f3b2c1e-9a7d-4e6b-8c1f-0123456789ab"},
	{"add-mask", "::add-mask::main"},
	{"stop-commands", "::stop-commands::pwned"},
	{"percent-encoded line break", "x%0A::set-output name=publish::true%0D%0A"},
	{"carriage return", "x\r::warning::pwned"},
	{"set-env", "x\n::set-env name=LD_PRELOAD::/tmp/x.so"},
	{"line separator", "x\u2028::set-output name=publish::true"},
	{"next line", "x\u0085::error::pwned"},
}

// hasControl: what no branch, version or title line may hold.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(c rune) bool { return c < 0x20 || c == 0x7f })
}

// plainWord: letters, digits, '.', '_' and '-' only (the bare
// delimiters): a valid name, harmless wherever it goes, so places that only
// take names are not asked to refuse it.
var plainWord = regexp.MustCompile(`^[A-Za-z0-9._-]+$`).MatchString

// envFiles are the runner's other environment files, which no step writes:
// a line in them would set a variable or a PATH entry for every later step.
type envFiles struct{ env, path, state string }

func newEnvFiles(t *testing.T) envFiles {
	dir := t.TempDir()
	f := envFiles{filepath.Join(dir, "env"), filepath.Join(dir, "path"), filepath.Join(dir, "state")}
	for _, p := range []string{f.env, f.path, f.state} {
		must(t, os.WriteFile(p, nil, 0o644))
	}
	return f
}

func (f envFiles) vars() []string {
	return []string{"GITHUB_ENV=" + f.env, "GITHUB_PATH=" + f.path, "GITHUB_STATE=" + f.state}
}

func (f envFiles) check(p *problems) {
	for _, path := range []string{f.env, f.path, f.state} {
		data, err := os.ReadFile(path)
		if err != nil || len(data) > 0 {
			p.addf("%s was written (%v): %q", filepath.Base(path), err, data)
		}
	}
}

// checkInjection is what every injection run is put through: the scans of
// the suite, the log read as the runner reads it (a bare CR ends a line
// too), the environment files untouched, and outputs that are one line
// each, except those that are lists of lines by design.
func checkInjection(p *problems, res result, step action.Step, files envFiles, multiLine map[string]func(string) bool, masks ...string) {
	scanAll(p, res, step, masks...)
	checkCommands(p, strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(res.Log), masks...)
	files.check(p)
	for k, v := range res.Outputs {
		if !strings.ContainsAny(v, "\r\n") {
			continue
		}
		ok := multiLine[k] != nil
		for _, line := range strings.Split(v, "\n") {
			ok = ok && multiLine[k](line)
		}
		if !ok {
			p.addf("output %s holds a line of its own: %q", k, v)
		}
	}
}

// expectRefusal: a refused value is refused in one line naming where it
// came from, before any output.
func expectRefusal(p *problems, res result, names ...string) {
	if res.Err == nil {
		p.addf("the hostile value was accepted")
		return
	}
	for _, n := range names {
		if !strings.Contains(res.Err.Error(), n) {
			p.addf("the error does not name %s: %v", n, res.Err)
		}
	}
	checkNoOutputs(p, res)
}

func TestInjectionSetup(t *testing.T) {
	sha := worldFacts(t).app[3]
	payloadFile := func(t *testing.T, v any) string {
		data, err := json.Marshal(v)
		must(t, err)
		p := filepath.Join(t.TempDir(), "event.json")
		must(t, os.WriteFile(p, data, 0o644))
		return p
	}
	pr := func(head, base string) map[string]any {
		return map[string]any{"action": "opened", "number": 1,
			"pull_request": map[string]any{"number": 1, "head": map[string]any{"ref": head, "sha": sha}, "base": map[string]any{"ref": base, "sha": sha}},
			"repository":   map[string]any{"full_name": "acme/app", "default_branch": "main"}}
	}
	places := []struct {
		name string
		env  func(t *testing.T, v string) []string
		// outputs are what the value must be, verbatim, when accepted.
		outputs func(v string) map[string]string
		// refused says whether a value must be refused (with what in the
		// error); otherwise it must be accepted.
		refused func(v string) bool
	}{
		{"GITHUB_REF of a push", func(t *testing.T, v string) []string {
			return []string{"GITHUB_EVENT_NAME=push", "GITHUB_REF=refs/heads/" + v, "INPUT_DEFAULT_BRANCH=main"}
		}, func(v string) map[string]string {
			return map[string]string{"branch": v, "base_branch": v, "publish": "false"}
		}, hasControl},
		{"GITHUB_HEAD_REF of a pull request", func(t *testing.T, v string) []string {
			return []string{"GITHUB_EVENT_NAME=pull_request", "GITHUB_HEAD_REF=" + v, "GITHUB_BASE_REF=main", "INPUT_DEFAULT_BRANCH=main"}
		}, func(v string) map[string]string { return map[string]string{"branch": v, "base_branch": "main"} }, hasControl},
		{"head ref in the pull_request payload", func(t *testing.T, v string) []string {
			return []string{"GITHUB_EVENT_NAME=pull_request", "GITHUB_EVENT_PATH=" + payloadFile(t, pr(v, "main"))}
		}, func(v string) map[string]string { return map[string]string{"branch": v, "base_branch": "main"} }, hasControl},
		{"base ref in the pull_request payload", func(t *testing.T, v string) []string {
			return []string{"GITHUB_EVENT_NAME=pull_request", "GITHUB_EVENT_PATH=" + payloadFile(t, pr("feature", v))}
		}, func(v string) map[string]string { return map[string]string{"branch": "feature", "base_branch": v} }, hasControl},
		{"ref in the push payload", func(t *testing.T, v string) []string {
			return []string{"GITHUB_EVENT_NAME=push", "GITHUB_EVENT_PATH=" + payloadFile(t, map[string]any{"ref": "refs/heads/" + v, "after": sha,
				"repository": map[string]any{"full_name": "acme/app", "default_branch": "main"}})}
		}, func(v string) map[string]string { return map[string]string{"branch": v, "sha": sha} }, hasControl},
		{"default-branch input", func(t *testing.T, v string) []string {
			return []string{"GITHUB_EVENT_NAME=push", "GITHUB_REF=refs/heads/main", "INPUT_DEFAULT_BRANCH=" + v}
		}, func(v string) map[string]string {
			return map[string]string{"branch": "main", "is_default_branch": "false", "publish": "false"}
		}, func(string) bool { return false }},
	}
	for _, pl := range places {
		for _, h := range hostile {
			t.Run(pl.name+"/"+h.name, func(t *testing.T) {
				t.Parallel()
				files := newEnvFiles(t)
				env := append([]string{"GITHUB_REPOSITORY=acme/app", "GITHUB_SHA=" + sha}, files.vars()...)
				res := runStep(t, setup.Step, "", append(env, pl.env(t, h.v)...)...)
				var p problems
				checkInjection(&p, res, setup.Step, files, nil)
				if pl.refused(h.v) {
					expectRefusal(&p, res, "control character")
				} else if res.Err != nil {
					p.addf("refused: %v", res.Err)
				} else {
					for k, want := range pl.outputs(h.v) {
						if got, ok := res.Outputs[k]; !ok || got != want {
							p.addf("output %s = %q, want %q verbatim", k, got, want)
						}
					}
				}
				p.report(t, res)
			})
		}
	}
}

// sharedWorld is one world for the runs that must be refused before any
// write: each gets a token and login of its own, so that its requests are
// told apart; the world must end as it began.
type sharedWorld struct {
	w *world
	n int
}

func newSharedWorld(t *testing.T, repos ...string) *sharedWorld {
	s := &sharedWorld{w: newWorld(t)}
	before := snapshot(t, s.w.srv, repos...)
	t.Cleanup(func() {
		if d := before.diff(snapshot(t, s.w.srv, repos...)); d != "" {
			t.Errorf("refused runs changed their shared world: %s", d)
		}
	})
	return s
}

// token registers a token of its own for the next run (call it before the
// run's t.Parallel).
func (s *sharedWorld) token() (token, login string) {
	s.n++
	token, login = fmt.Sprintf("%s_inj%03d", secret, s.n), fmt.Sprintf("hardening-injection-%03d[bot]", s.n)
	s.w.srv.AddToken(token, login, githubtest.Write)
	return token, login
}

func TestInjectionHotfix(t *testing.T) {
	s := newSharedWorld(t, "acme/app")
	places := []struct{ name, input string }{
		{"name", "name"}, {"base", "base"}, {"prefix", "prefix"}, {"repository", "repository"},
	}
	for _, pl := range places {
		for _, h := range hostile {
			if plainWord(h.v) {
				continue
			}
			token, login := s.token()
			t.Run(pl.name+"/"+h.name, func(t *testing.T) {
				t.Parallel()
				in := map[string]string{"name": "x2", "base": "main", "prefix": "hotfixes/", "repository": "acme/app"}
				in[pl.input] = h.v
				files := newEnvFiles(t)
				env := append(s.w.env("acme/app", s.w.app[3], "INPUT_GITHUB_TOKEN="+token), files.vars()...)
				for k, v := range in {
					env = append(env, "INPUT_"+strings.ToUpper(k)+"="+v)
				}
				res := runStep(t, hotfix.Step, "", env...)
				var p problems
				checkInjection(&p, res, hotfix.Step, files, nil, token)
				expectRefusal(&p, res, fmt.Sprintf("input %q", pl.input))
				if ws := writes(s.w.srv, login, false); len(ws) > 0 {
					p.addf("writes: %v", ws)
				}
				p.report(t, res)
			})
		}
	}
}

func notPlain(v string) bool { return !plainWord(v) }

func TestInjectionOpenInfraPR(t *testing.T) {
	s := newSharedWorld(t, "acme/app", "acme/infra")
	// Places that refuse every hostile value, and those that refuse the
	// ones with a control character: each on the shared world.
	refusing := []struct {
		name, input string
		env         func(v string) []string
		refused     func(v string) bool
	}{
		{"environment", "environment", func(v string) []string { return []string{"INPUT_ENVIRONMENT=" + v} }, notPlain},
		{"base", "base", func(v string) []string { return []string{"INPUT_BASE=" + v} }, notPlain},
		{"infra-repo", "infra-repo", func(v string) []string { return []string{"INPUT_INFRA_REPO=" + v} }, func(string) bool { return true }},
		{"file", "file", func(v string) []string { return []string{"INPUT_FILE=envs/" + v + ".json"} }, notPlain},
		{"the run's commit (GITHUB_SHA) as the default set", "set", func(v string) []string { return []string{"GITHUB_SHA=" + v} }, func(string) bool { return true }},
		{"set key", "set", func(v string) []string { return []string{"INPUT_SET=" + v + "=" + s.w.app[3]} }, func(string) bool { return true }},
		{"set value", "set", func(v string) []string { return []string{"INPUT_SET=api.tag=" + v} }, hasControl},
		{"title", "title", func(v string) []string { return []string{"INPUT_TITLE=" + v} }, func(v string) bool { return strings.ContainsAny(v, "\r\n") }},
		{"labels", "labels", func(v string) []string { return []string{"INPUT_LABELS=" + v} }, func(v string) bool { return strings.Contains(v, "\r") }},
	}
	for _, pl := range refusing {
		for _, h := range hostile {
			if !pl.refused(h.v) {
				continue
			}
			token, login := s.token()
			t.Run(pl.name+"/"+h.name, func(t *testing.T) {
				t.Parallel()
				files := newEnvFiles(t)
				env := append(s.w.env("acme/app", s.w.app[3], "INPUT_INFRA_REPO=acme/infra", "INPUT_GITHUB_TOKEN="+token), files.vars()...)
				res := runStep(t, openinfrapr.Step, "", append(env, pl.env(h.v)...)...)
				var p problems
				checkInjection(&p, res, openinfrapr.Step, files, nil, token)
				expectRefusal(&p, res, fmt.Sprintf("input %q", pl.input))
				if ws := writes(s.w.srv, login, false); len(ws) > 0 {
					p.addf("writes: %v", ws)
				}
				p.report(t, res)
			})
		}
	}

	// The values the step takes: all at once, in every place that takes
	// them, on a world of their own; they must reach GitHub verbatim.
	for _, h := range hostile {
		t.Run("accepted/"+h.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			v := h.v
			value, title, labels := !hasControl(v), !strings.ContainsAny(v, "\r\n"), !strings.Contains(v, "\r")
			files := newEnvFiles(t)
			env := append(w.env("acme/app", w.app[3], "INPUT_INFRA_REPO=acme/infra", "INPUT_MERGE=none", "INPUT_BODY="+v, "GITHUB_ACTOR="+v), files.vars()...)
			if value {
				env = append(env, "INPUT_SET=api.tag="+v)
			}
			if title {
				env = append(env, "INPUT_TITLE="+v)
			}
			if labels {
				env = append(env, "INPUT_LABELS="+v)
			}
			res := runStep(t, openinfrapr.Step, "", env...)
			var p problems
			checkInjection(&p, res, openinfrapr.Step, files, nil)
			if res.Err != nil {
				p.addf("refused: %v", res.Err)
				p.report(t, res)
				return
			}
			pr, err := w.srv.PullRequest("acme", "infra", 1)
			must(t, err)
			var audit openinfrapr.Audit
			if err := json.Unmarshal([]byte(res.Outputs["audit"]), &audit); err != nil {
				p.addf("audit output: %v", err)
			}
			if audit.Actor != v {
				p.addf("audit actor = %q, want %q", audit.Actor, v)
			}
			if !strings.HasPrefix(pr.Body, v+"\n\n") || !strings.Contains(pr.Body, "triggered by @"+v+".") {
				p.addf("PR body does not hold the body and actor verbatim:\n%s", pr.Body)
			}
			if mk, ok := openinfrapr.ParseMarker(pr.Body); !ok || mk.Environment != "dev" || mk.File != "envs/dev.json" {
				p.addf("the PR's marker was taken over: %+v %t", mk, ok)
			}
			want := w.app[3]
			if value {
				want = v
			}
			var file struct{ API struct{ Tag string } }
			if err := json.Unmarshal([]byte(w.file(t, "infra", pr.HeadSHA, "envs/dev.json")), &file); err != nil || file.API.Tag != want {
				p.addf("the PR's envs/dev.json has api.tag %q (%v), want %q", file.API.Tag, err, want)
			}
			if title && pr.Title != v {
				p.addf("PR title = %q, want %q", pr.Title, v)
			}
			if labels && strings.Join(pr.Labels, "\x00") != strings.Join(action.SplitList(v), "\x00") {
				p.addf("PR labels = %q, want %q", pr.Labels, action.SplitList(v))
			}
			p.report(t, res)
		})
	}
}

func TestInjectionPublish(t *testing.T) {
	reg := startRegistry(t)
	places := []struct {
		name, input string
		env         func(v string) []string
		refused     func(v string) bool
		annotation  string // the annotation an accepted value becomes
		value       func(v string) string
	}{
		{"version", "version", func(v string) []string { return []string{"INPUT_VERSION=" + v} }, hasControl, "org.opencontainers.image.version", func(v string) string { return v }},
		{"source-url", "source-url", func(v string) []string { return []string{"INPUT_SOURCE_URL=https://example.com/src/" + v} }, hasControl,
			"org.opencontainers.image.source", func(v string) string { return "https://example.com/src/" + v }},
		{"tags", "tags", func(v string) []string { return []string{"INPUT_TAGS=v1, " + v} }, notPlain, "", nil},
	}
	ws := newPublishCheckout(t)
	n := 0
	for _, pl := range places {
		for _, h := range hostile {
			if pl.input == "tags" && plainWord(h.v) {
				continue // a valid tag: pushed like any other
			}
			n++
			image := fmt.Sprintf("%s/inj/p%03d", reg.Host, n)
			t.Run(pl.name+"/"+h.name, func(t *testing.T) {
				t.Parallel()
				r, _ := publishRun(ws, image)
				files := newEnvFiles(t)
				res := r.run(t, append(append(append(r.env, files.vars()...), "INPUT_TAGS=v1"), pl.env(h.v)...)...)
				var p problems
				tagLine := func(line string) bool {
					return strings.HasPrefix(line, image+":") && !strings.ContainsAny(line[len(image)+1:], ":/ ")
				}
				checkInjection(&p, res, r.step, files, map[string]func(string) bool{"tags": tagLine}, registryPassword)
				switch {
				case pl.refused(h.v):
					expectRefusal(&p, res, fmt.Sprintf("input %q", pl.input))
					if ws := r.writes(); len(ws) > 0 {
						p.addf("pushed before refusing: %v", ws)
					}
				case res.Err != nil:
					p.addf("refused: %v", res.Err)
				default:
					ref, err := name.ParseReference(image+":v1", name.Insecure)
					must(t, err)
					d, err := remote.Get(ref, remote.WithAuth(registryAuth))
					must(t, err)
					var m struct{ Annotations map[string]string }
					must(t, json.Unmarshal(d.Manifest, &m))
					if got := m.Annotations[pl.annotation]; got != pl.value(h.v) {
						p.addf("annotation %s = %q, want %q verbatim", pl.annotation, got, pl.value(h.v))
					}
				}
				p.report(t, res)
			})
		}
	}
}

func TestInjectionDeploy(t *testing.T) {
	sha := worldFacts(t).app[1]
	envJSON := func(v string) string {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		return `{"api": {"tag": ` + string(b) + `}, "web": {"tag": "` + sha + `"}}` + "\n"
	}
	// One history for every plan: a first commit, then one commit per
	// hostile value; each plan compares the first with one of them. Runs
	// only read it.
	history := t.TempDir()
	first := gitRepo(t, history, map[string]string{"envs/dev.json": envJSON(sha)})
	commits := map[string]string{}
	for _, h := range hostile {
		commits[h.name] = gitRepo(t, history, map[string]string{"envs/dev.json": envJSON(h.v)})
	}
	for _, h := range hostile {
		t.Run("deploy/"+h.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir() // deploy reads the checkout's files, not its history
			writeFiles(t, dir, map[string]string{"envs/dev.json": envJSON(h.v)})
			marker := filepath.Join(t.TempDir(), "version")
			files := newEnvFiles(t)
			env := append([]string{"GITHUB_REPOSITORY=acme/infra", "GITHUB_SHA=" + sha, "GITHUB_EVENT_NAME=push",
				"INPUT_MODE=deploy", "INPUT_ENVIRONMENT=dev", "INPUT_RECORD_DEPLOYMENT=false", "MARKER=" + marker,
				`INPUT_COMMAND=printf '%s' "$VERSION" > "$MARKER"`}, files.vars()...)
			res := runStep(t, deploy.Step, dir, env...)
			var p problems
			checkInjection(&p, res, deploy.Step, files, nil)
			ran, _ := os.ReadFile(marker)
			switch {
			case hasControl(h.v):
				expectRefusal(&p, res, `input "environment"`, "control character")
				if ran != nil {
					p.addf("the command ran with %q", ran)
				}
			case res.Err != nil:
				p.addf("refused: %v", res.Err)
			default:
				if res.Outputs["version"] != h.v || string(ran) != h.v {
					p.addf("version output %q, the command's VERSION %q; want %q verbatim", res.Outputs["version"], ran, h.v)
				}
			}
			p.report(t, res)
		})
		t.Run("plan/"+h.name, func(t *testing.T) {
			t.Parallel()
			dir, before, after := history, first, commits[h.name]
			files := newEnvFiles(t)
			env := append([]string{"GITHUB_REPOSITORY=acme/infra", "GITHUB_SHA=" + after, "GITHUB_EVENT_NAME=push",
				"INPUT_MODE=plan", "INPUT_BEFORE=" + before, "INPUT_AFTER=" + after}, files.vars()...)
			res := runStep(t, deploy.Step, dir, env...)
			var p problems
			checkInjection(&p, res, deploy.Step, files, nil)
			var m struct {
				Include []struct {
					Environment string            `json:"environment"`
					Versions    map[string]string `json:"versions"`
				} `json:"include"`
			}
			switch err := json.Unmarshal([]byte(res.Outputs["matrix"]), &m); {
			case res.Err != nil:
				p.addf("refused: %v", res.Err)
			case err != nil:
				p.addf("matrix output: %v", err)
			case len(m.Include) != 1 || m.Include[0].Environment != "dev" || m.Include[0].Versions["api.tag"] != h.v || res.Outputs["environments"] != "dev":
				p.addf("the plan does not carry the value verbatim as data: %q", res.RawOutput)
			}
			p.report(t, res)
		})
	}
}

// TestInjectionOutputDelimiter: every output goes through the runtime's
// SetOutput, which writes a heredoc with a delimiter drawn at random for
// each value. A value holding the fixed delimiters others use, or lines
// that look like outputs, stays one value; a value holding the delimiter
// drawn is refused.
func TestInjectionOutputDelimiter(t *testing.T) {
	run := func(t *testing.T, random []byte, value string) (map[string]string, string, error) {
		dir := t.TempDir()
		out := filepath.Join(dir, "output")
		o := action.Options{Stdout: &bytes.Buffer{}, Env: []string{"GITHUB_ACTIONS=true", "GITHUB_OUTPUT=" + out}}
		if random != nil {
			o.Random = bytes.NewReader(random)
		}
		r := action.New(o)
		err := r.SetOutputs("first", value, "second", "two")
		raw, _ := os.ReadFile(out)
		parsed, perr := action.ParseOutputFile(string(raw))
		if perr != nil {
			t.Fatalf("the runner cannot read the output file: %v\n%s", perr, raw)
		}
		return parsed, string(raw), err
	}
	for _, h := range hostile {
		t.Run(h.name, func(t *testing.T) {
			v := "before\n" + h.v + "\nsecond<<_GitHubActionsFileCommandDelimeter_\ninjected\n_GitHubActionsFileCommandDelimeter_\nafter"
			got, raw, err := run(t, nil, v)
			if err != nil || len(got) != 2 || got["first"] != v || got["second"] != "two" {
				t.Errorf("err %v, outputs %q; want first verbatim and second \"two\"\n%s", err, got, raw)
			}
		})
	}
	t.Run("the delimiter drawn", func(t *testing.T) {
		random := bytes.Repeat([]byte{0xab}, 64)
		delim := "ghadelimiter_" + strings.Repeat("ab", 16)
		got, raw, err := run(t, random, "x\n"+delim+"\nsecond=pwned")
		if err == nil || !strings.Contains(err.Error(), "contains the output delimiter") || len(got) != 0 || raw != "" {
			t.Errorf("a value with the delimiter: err %v, outputs %q, file %q", err, got, raw)
		}
	})
	t.Run("a fresh delimiter per value", func(t *testing.T) {
		_, raw, err := run(t, nil, "one")
		must(t, err)
		delims := regexp.MustCompile(`(?m)^(first|second)<<(ghadelimiter_[0-9a-f]{32})$`).FindAllStringSubmatch(raw, -1)
		if len(delims) != 2 || delims[0][2] == delims[1][2] {
			t.Errorf("delimiters %q in\n%s", delims, raw)
		}
	})
}
