package envdiff

import (
	"context"
	"errors"
	"fmt"
	"github.com/cicd-excellence/actions/internal/gitread"
	"github.com/cicd-excellence/actions/internal/testkit/gitrepo"
	"maps"
	"reflect"
	"strings"
	"testing"

	"github.com/cicd-excellence/actions/internal/envfile"
)

const (
	zero = "0000000000000000000000000000000000000000"
	a1   = "a111111111111111111111111111111111111111"
	a2   = "a222222222222222222222222222222222222222"
	a3   = "a333333333333333333333333333333333333333"
	w1   = "b111111111111111111111111111111111111111"
	w2   = "b222222222222222222222222222222222222222"
)

// envJSON is an environment file in the usual 2-space style.
func envJSON(api, web string) string {
	return fmt.Sprintf("{\n  \"api\": {\n    \"tag\": %q,\n    \"replicas\": 2\n  },\n  \"web\": {\n    \"tag\": %q\n  }\n}\n", api, web)
}

// base commits dev, staging and prod all at (a1, w1).
func base(r *gitrepo.Repo) string {
	return r.Commit("init", map[string]string{
		"envs/dev.json":     envJSON(a1, w1),
		"envs/staging.json": envJSON(a1, w1),
		"envs/prod.json":    envJSON(a1, w1),
		"README.md":         "infra\n",
	})
}

type wantEnv struct {
	env      string
	changes  []Change
	new, del bool
	file     string // default envs/<env>.json
}

func TestPlan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(r *gitrepo.Repo) (before, after string)
		cfg     Config
		want    []wantEnv
		notes   []string // substrings, each of some note
		first   bool
		force   bool
		err     string // substring of the error
		errIs   error
		version map[string]map[string]string // env -> Versions, when checked
	}{
		{
			name: "one commit changes dev",
			setup: func(r *gitrepo.Repo) (string, string) {
				b := base(r)
				return b, r.Commit("dev api", map[string]string{"envs/dev.json": envJSON(a2, w1)})
			},
			want:    []wantEnv{{env: "dev", changes: []Change{{Key: "api.tag", Old: a1, New: a2}}}},
			version: map[string]map[string]string{"dev": {"api.tag": a2, "web.tag": w1}},
		},
		{
			name: "several commits: dev twice, then staging",
			setup: func(r *gitrepo.Repo) (string, string) {
				b := base(r)
				r.Commit("dev api 2", map[string]string{"envs/dev.json": envJSON(a2, w1)})
				r.Commit("dev api 3, web 2", map[string]string{"envs/dev.json": envJSON(a3, w2)})
				return b, r.Commit("staging", map[string]string{"envs/staging.json": envJSON(a2, w1)})
			},
			want: []wantEnv{
				{env: "dev", changes: []Change{{Key: "api.tag", Old: a1, New: a3}, {Key: "web.tag", Old: w1, New: w2}}},
				{env: "staging", changes: []Change{{Key: "api.tag", Old: a1, New: a2}}},
			},
		},
		{
			name: "prod, staging and dev in one commit deploy in order",
			setup: func(r *gitrepo.Repo) (string, string) {
				b := base(r)
				return b, r.Commit("all", map[string]string{"envs/prod.json": envJSON(a2, w1), "envs/dev.json": envJSON(a2, w1), "envs/staging.json": envJSON(a2, w1)})
			},
			want: []wantEnv{
				{env: "dev", changes: []Change{{Key: "api.tag", Old: a1, New: a2}}},
				{env: "staging", changes: []Change{{Key: "api.tag", Old: a1, New: a2}}},
				{env: "prod", changes: []Change{{Key: "api.tag", Old: a1, New: a2}}},
			},
		},
		{
			name: "a non-tracked key changes",
			setup: func(r *gitrepo.Repo) (string, string) {
				b := base(r)
				return b, r.Commit("replicas", map[string]string{"envs/dev.json": strings.Replace(envJSON(a1, w1), `"replicas": 2`, `"replicas": 5`, 1)})
			},
		},
		{
			name: "reformat only",
			setup: func(r *gitrepo.Repo) (string, string) {
				b := base(r)
				return b, r.Commit("minify", map[string]string{"envs/dev.json": fmt.Sprintf(`{"web":{"tag":%q},"api":{"replicas":2,"tag":%q}}`, w1, a1)})
			},
		},
		{
			name: "first push",
			setup: func(r *gitrepo.Repo) (string, string) {
				return zero, r.Commit("init", map[string]string{
					"envs/prod.json":  envJSON(a1, w1),
					"envs/dev.json":   envJSON(a2, w1),
					"envs/tools.json": `{"replicas": 1}`,
				})
			},
			first: true,
			want: []wantEnv{
				{env: "dev", new: true, changes: []Change{{Key: "api.tag", New: a2}, {Key: "web.tag", New: w1}}},
				{env: "prod", new: true, changes: []Change{{Key: "api.tag", New: a1}, {Key: "web.tag", New: w1}}},
			},
			notes: []string{"first push", "envs/tools.json is new but has no tracked values (tracked: **.tag)"},
		},
		{
			name: "force push",
			setup: func(r *gitrepo.Repo) (string, string) {
				b := base(r)
				pushed := r.Commit("dev api 2", map[string]string{"envs/dev.json": envJSON(a2, w1)})
				r.Git("reset", "-q", "--hard", b)
				r.Commit("staging api 3", map[string]string{"envs/staging.json": envJSON(a3, w1)})
				return pushed, r.Git("rev-parse", "HEAD")
			},
			force: true,
			want: []wantEnv{
				{env: "dev", changes: []Change{{Key: "api.tag", Old: a2, New: a1}}},
				{env: "staging", changes: []Change{{Key: "api.tag", Old: a1, New: a3}}},
			},
			notes: []string{"force push: "},
		},
		{
			name: "before is not in the clone",
			setup: func(r *gitrepo.Repo) (string, string) {
				return strings.Repeat("de", 20), base(r)
			},
			errIs: ErrMissingCommit,
			err:   "before dededed is not in the clone; check the infra repository out with fetch-depth: 0",
		},
		{
			name: "after is not in the clone",
			setup: func(r *gitrepo.Repo) (string, string) {
				return base(r), strings.Repeat("de", 20)
			},
			errIs: ErrMissingCommit,
			err:   "after dededed is not in the clone",
		},
		{
			name: "new environments deploy after prod, alphabetically",
			setup: func(r *gitrepo.Repo) (string, string) {
				b := base(r)
				return b, r.Commit("qa and alpha", map[string]string{
					"envs/qa.json":    envJSON(a2, w2),
					"envs/alpha.json": `{"api": {"tag": "` + a3 + `"}}`,
					"envs/prod.json":  envJSON(a2, w1),
				})
			},
			want: []wantEnv{
				{env: "prod", changes: []Change{{Key: "api.tag", Old: a1, New: a2}}},
				{env: "alpha", new: true, changes: []Change{{Key: "api.tag", New: a3}}},
				{env: "qa", new: true, changes: []Change{{Key: "api.tag", New: a2}, {Key: "web.tag", New: w2}}},
			},
		},
		{
			name: "a deleted environment is reported, not deployed",
			setup: func(r *gitrepo.Repo) (string, string) {
				b := base(r)
				return b, r.Commit("drop staging", map[string]string{"envs/staging.json": ""})
			},
			want:  []wantEnv{{env: "staging", del: true}},
			notes: []string{"envs/staging.json was deleted: environment staging is not deployed"},
		},
		{
			name: "changed and changed back",
			setup: func(r *gitrepo.Repo) (string, string) {
				b := base(r)
				r.Commit("dev api 2", map[string]string{"envs/dev.json": envJSON(a2, w1)})
				return b, r.Commit("revert", map[string]string{"envs/dev.json": envJSON(a1, w1)})
			},
		},
		{
			name: "invalid JSON at after",
			setup: func(r *gitrepo.Repo) (string, string) {
				b := base(r)
				return b, r.Commit("dup", map[string]string{"envs/staging.json": "{\n  \"api\": {\n    \"tag\": \"x\", \"tag\": \"y\"\n  }\n}\n"})
			},
			err: `envs/staging.json at %s: line 3, column 17: duplicate key "tag"`,
		},
		{
			name: "a tracked value that is not a string",
			setup: func(r *gitrepo.Repo) (string, string) {
				b := base(r)
				return b, r.Commit("number", map[string]string{"envs/dev.json": "{\"api\": {\"tag\": 42}}"})
			},
			err: "envs/dev.json at %s: api.tag (line 1) is a number, not a string",
		},
		{
			name: "invalid environment names are ignored with a note",
			setup: func(r *gitrepo.Repo) (string, string) {
				b := base(r)
				return b, r.Commit("odd files", map[string]string{
					"envs/Dev.json":      envJSON(a2, w2),
					"envs/my env.json":   envJSON(a2, w2),
					"envs/.hidden.json":  envJSON(a2, w2),
					"envs/-x.json":       envJSON(a2, w2),
					"envs/README.md":     "# envs\n",
					"envs/sub/qa.json":   envJSON(a2, w2),
					"envs/dev.json.bak":  "not json",
					"other/staging.json": envJSON(a2, w2),
					"envs/dev.json":      envJSON(a2, w1),
				})
			},
			want:  []wantEnv{{env: "dev", changes: []Change{{Key: "api.tag", Old: a1, New: a2}}}},
			notes: []string{"ignored envs/Dev.json", "ignored envs/my env.json", "ignored envs/.hidden.json", "ignored envs/-x.json"},
		},
		{
			name: "same commit",
			setup: func(r *gitrepo.Repo) (string, string) {
				b := base(r)
				return b, b
			},
			notes: []string{"same commit"},
		},
		{
			name: "a tracked key removed",
			setup: func(r *gitrepo.Repo) (string, string) {
				b := base(r)
				return b, r.Commit("drop web", map[string]string{"envs/prod.json": `{"api": {"tag": "` + a1 + `"}}`})
			},
			want:    []wantEnv{{env: "prod", changes: []Change{{Key: "web.tag", Old: w1, Removed: true}}}},
			notes:   []string{"prod: web.tag was removed"},
			version: map[string]map[string]string{"prod": {"api.tag": a1}},
		},
		{
			name: "a push that fixes a broken file deploys all of it",
			setup: func(r *gitrepo.Repo) (string, string) {
				base(r)
				broken := r.Commit("break", map[string]string{"envs/dev.json": "{\"api\": "})
				return broken, r.Commit("fix", map[string]string{"envs/dev.json": envJSON(a2, w1)})
			},
			want:  []wantEnv{{env: "dev", changes: []Change{{Key: "api.tag", New: a2}, {Key: "web.tag", New: w1}}}},
			notes: []string{"line 1, column 9: unexpected end of JSON input; every tracked value of dev counts as changed"},
		},
		{
			name: "custom dir, tracked keys and order",
			setup: func(r *gitrepo.Repo) (string, string) {
				b := r.Commit("init", map[string]string{
					"deploy/environments/dev.json":  `{"apps": {"api": {"version": "1", "tag": "x"}}}`,
					"deploy/environments/prod.json": `{"apps": {"api": {"version": "1", "tag": "x"}}}`,
				})
				return b, r.Commit("bump", map[string]string{
					"deploy/environments/dev.json":  `{"apps": {"api": {"version": "2", "tag": "x"}}}`,
					"deploy/environments/prod.json": `{"apps": {"api": {"version": "2", "tag": "y"}}}`,
				})
			},
			cfg: Config{Dir: "deploy/environments", Tracked: []string{"apps.*.version"}, Order: []string{"prod", "dev"}},
			want: []wantEnv{
				{env: "prod", file: "deploy/environments/prod.json", changes: []Change{{Key: "apps.api.version", Old: "1", New: "2"}}},
				{env: "dev", file: "deploy/environments/dev.json", changes: []Change{{Key: "apps.api.version", Old: "1", New: "2"}}},
			},
		},
		{
			name: "no environment files",
			setup: func(r *gitrepo.Repo) (string, string) {
				b := base(r)
				return b, r.Commit("docs", map[string]string{"README.md": "more\n"})
			},
			cfg:   Config{Dir: "environments"},
			notes: []string{"no environment files (<env>.json) in environments at "},
		},
		{
			name: "the push deleted the branch",
			setup: func(r *gitrepo.Repo) (string, string) {
				return base(r), zero
			},
			notes: []string{"deleted the branch"},
		},
		{
			name: "upper-case SHAs",
			setup: func(r *gitrepo.Repo) (string, string) {
				b := base(r)
				return strings.ToUpper(b), strings.ToUpper(r.Commit("dev", map[string]string{"envs/dev.json": envJSON(a2, w1)}))
			},
			want: []wantEnv{{env: "dev", changes: []Change{{Key: "api.tag", Old: a1, New: a2}}}},
		},
		{
			name:  "an option instead of a SHA",
			setup: func(r *gitrepo.Repo) (string, string) { return "--output=/tmp/x", base(r) },
			err:   `before "--output=/tmp/x" is not a full commit SHA`,
		},
		{
			name:  "a short SHA",
			setup: func(r *gitrepo.Repo) (string, string) { b := base(r); return b, b[:12] },
			err:   "is not a full commit SHA",
		},
		{
			name:  "a bad pattern",
			setup: func(r *gitrepo.Repo) (string, string) { b := base(r); return b, b },
			cfg:   Config{Tracked: []string{"api*"}},
			err:   `config tracked: pattern "api*"`,
		},
		{
			name:  "a bad dir",
			setup: func(r *gitrepo.Repo) (string, string) { b := base(r); return b, b },
			cfg:   Config{Dir: "../envs"},
			err:   `config dir: path "../envs" is not a clean path`,
		},
		{
			name:  "a bad order",
			setup: func(r *gitrepo.Repo) (string, string) { b := base(r); return b, b },
			cfg:   Config{Order: []string{"Prod"}},
			err:   `config order: "Prod" is not an environment name`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := gitrepo.New(t)
			before, after := tt.setup(r)
			res, err := Plan(context.Background(), reader(r), before, after, tt.cfg)
			if tt.err != "" || tt.errIs != nil {
				want := tt.err
				if strings.Contains(want, "%s") {
					want = fmt.Sprintf(want, short(strings.ToLower(after)))
				}
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err = %v, want it to contain %q", err, want)
				}
				if tt.errIs != nil && !errors.Is(err, tt.errIs) {
					t.Fatalf("err = %v, want errors.Is %v", err, tt.errIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, res, tt.want, tt.notes)
			if res.FirstPush != tt.first || res.ForcePush != tt.force {
				t.Errorf("FirstPush, ForcePush = %v, %v; want %v, %v", res.FirstPush, res.ForcePush, tt.first, tt.force)
			}
			for env, want := range tt.version {
				found := false
				for _, e := range res.Environments {
					if e.Environment == env {
						found = true
						if !maps.Equal(e.Versions, want) {
							t.Errorf("%s versions = %v, want %v", env, e.Versions, want)
						}
					}
				}
				if !found {
					t.Errorf("no environment %s", env)
				}
			}
		})
	}
}

func checkResult(t *testing.T, res *Result, want []wantEnv, notes []string) {
	t.Helper()
	var got []wantEnv
	deploys := false
	for _, e := range res.Environments {
		got = append(got, wantEnv{env: e.Environment, changes: e.Changes, new: e.New, del: e.Deleted, file: e.File})
		deploys = deploys || !e.Deleted
		if e.Deleted && (e.Versions != nil || e.Changes != nil) {
			t.Errorf("deleted %s has versions or changes", e.Environment)
		}
	}
	for i := range want {
		if want[i].file == "" {
			want[i].file = "envs/" + want[i].env + ".json"
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("environments:\n got %+v\nwant %+v", got, want)
	}
	if res.Changed != deploys {
		t.Errorf("Changed = %v with environments %+v", res.Changed, got)
	}
	for _, n := range notes {
		found := false
		for _, have := range res.Notes {
			found = found || strings.Contains(have, n)
		}
		if !found {
			t.Errorf("no note contains %q; notes: %q", n, res.Notes)
		}
	}
	if len(notes) == 0 && len(res.Notes) > 0 {
		t.Errorf("unexpected notes: %q", res.Notes)
	}
}

// TestPlanFileError checks that an invalid file's error carries the file,
// the commit and the line, for an annotation.
func TestPlanFileError(t *testing.T) {
	t.Parallel()
	r := gitrepo.New(t)
	b := base(r)
	a := r.Commit("break", map[string]string{"envs/dev.json": "{\n  \"api\": {\n    \"tag\": \"x\",\n  }\n}\n"})
	_, err := Plan(context.Background(), reader(r), b, a, Config{})
	var fe *FileError
	var se *envfile.SyntaxError
	if !errors.As(err, &fe) || !errors.As(err, &se) {
		t.Fatalf("err = %v (%T), want a *FileError wrapping an *envfile.SyntaxError", err, err)
	}
	if fe.File != "envs/dev.json" || fe.Commit != a || se.Line != 4 || se.Column != 3 {
		t.Fatalf("file %s, commit %s, line %d, column %d", fe.File, fe.Commit, se.Line, se.Column)
	}
}

// TestPlanShallowClone is the case the ErrMissingCommit hint is for: a
// depth-1 checkout of the infra repository lacks the push's before commit.
func TestPlanShallowClone(t *testing.T) {
	t.Parallel()
	r := gitrepo.New(t)
	b := base(r)
	a := r.Commit("dev", map[string]string{"envs/dev.json": envJSON(a2, w1)})
	clone := t.TempDir()
	r.Git("clone", "-q", "--depth", "1", "file://"+r.Dir, clone)
	_, err := Plan(context.Background(), gitread.Reader{Dir: clone}, b, a, Config{})
	if !errors.Is(err, ErrMissingCommit) || !strings.Contains(err.Error(), "fetch-depth: 0") {
		t.Fatalf("shallow clone: err = %v, want ErrMissingCommit suggesting fetch-depth: 0", err)
	}
	deeper := t.TempDir()
	r.Git("clone", "-q", "--depth", "2", "file://"+r.Dir, deeper)
	res, err := Plan(context.Background(), gitread.Reader{Dir: deeper}, b, a, Config{})
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, res, []wantEnv{{env: "dev", changes: []Change{{Key: "api.tag", Old: a1, New: a2}}}}, nil)
}

// plainReader hides gitread.Reader's IsAncestor, as an API-backed Reader might.
type plainReader struct{ Reader }

func TestPlanWithoutAncestry(t *testing.T) {
	t.Parallel()
	r := gitrepo.New(t)
	b := base(r)
	a := r.Commit("dev", map[string]string{"envs/dev.json": envJSON(a2, w1)})
	res, err := Plan(context.Background(), plainReader{reader(r)}, b, a, Config{})
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, res, []wantEnv{{env: "dev", changes: []Change{{Key: "api.tag", Old: a1, New: a2}}}},
		[]string{"could not check whether"})
	if res.ForcePush {
		t.Error("ForcePush without an ancestry check")
	}
}

// failingReader fails one method, to check errors are wrapped, not ignored.
type failingReader struct {
	Reader
	fail string
}

func (f failingReader) Exists(ctx context.Context, sha string) (bool, error) {
	if f.fail == "exists" {
		return false, errors.New("boom")
	}
	return f.Reader.Exists(ctx, sha)
}

func (f failingReader) ListFiles(ctx context.Context, sha, dir string) ([]string, error) {
	if f.fail == "list" {
		return nil, errors.New("boom")
	}
	return f.Reader.ListFiles(ctx, sha, dir)
}

func (f failingReader) ReadFile(ctx context.Context, sha, path string) ([]byte, bool, error) {
	switch f.fail {
	case "read":
		return nil, false, errors.New("boom")
	case "vanish":
		return nil, false, nil
	}
	return f.Reader.ReadFile(ctx, sha, path)
}

func TestPlanReaderErrors(t *testing.T) {
	t.Parallel()
	r := gitrepo.New(t)
	b := base(r)
	a := r.Commit("dev", map[string]string{"envs/dev.json": envJSON(a2, w1)})
	for fail, want := range map[string]string{
		"exists": "look up after " + short(a) + ": boom",
		"list":   "list envs at " + short(b) + ": boom",
		"read":   "read envs/dev.json at " + short(a) + ": boom",
		"vanish": "read envs/dev.json at " + short(a) + ": listed but not found",
	} {
		_, err := Plan(context.Background(), failingReader{reader(r), fail}, b, a, Config{})
		if err == nil || err.Error() != want {
			t.Errorf("%s: err = %v, want %q", fail, err, want)
		}
	}
}
