package githubtest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

// Outside truth: real api.github.com exchanges recorded by @octokit/fixtures
// (testdata/octokit-fixtures, copied by its generate.mjs from the version
// pinned in the root package.json) are replayed in order against a fresh
// local GitHub set up like the recorded repository. Status codes, error
// bodies (message, errors[].code/field) and the set of response keys
// (recursively; arrays by their first element) must match, except for the
// differences listed in fixtureExceptions, each with its reason. Every
// exception must still occur, so the list cannot go stale.

const fixtureDir = "../../../testdata/octokit-fixtures"

type exchange struct {
	Method     string            `json:"method"`
	Path       string            `json:"path"`
	ReqHeaders map[string]string `json:"reqheaders"`
	Body       json.RawMessage   `json:"body"`
	Status     int               `json:"status"`
	Response   json.RawMessage   `json:"response"`
}

// fixtureSetups prepares the recorded repository and returns what the
// fixture's normalized SHAs (0000…0001, 0000…0002, in order of first
// appearance) stand for in it.
var fixtureSetups = map[string]func(t *testing.T, srv *githubtest.Server, owner, repo string) map[string]string{
	"get-repository": helloWorld,
	"get-content":    helloWorld,
	"create-file": func(t *testing.T, srv *githubtest.Server, owner, repo string) map[string]string {
		ok(t, srv.CreateRepo(githubtest.RepoConfig{Owner: owner, Name: repo, AutoInit: true}))
		return nil
	},
	// 0001 is main's tip; 0002 is its parent (the recording fast-forwards
	// refs/heads/test from 0002 to 0001 without force).
	"git-refs": func(t *testing.T, srv *githubtest.Server, owner, repo string) map[string]string {
		ok(t, srv.CreateRepo(githubtest.RepoConfig{Owner: owner, Name: repo, AutoInit: true}))
		parent, err := srv.CommitFiles(owner, repo, "main", map[string]string{"a.txt": "a\n"}, "a")
		ok(t, err)
		tip, err := srv.CommitFiles(owner, repo, "main", map[string]string{"b.txt": "b\n"}, "b")
		ok(t, err)
		return map[string]string{normalized(1): tip, normalized(2): parent}
	},
	"create-status": func(t *testing.T, srv *githubtest.Server, owner, repo string) map[string]string {
		ok(t, srv.CreateRepo(githubtest.RepoConfig{Owner: owner, Name: repo, AutoInit: true}))
		tip, err := srv.CommitFiles(owner, repo, "main", map[string]string{"a.txt": "a\n"}, "a")
		ok(t, err)
		return map[string]string{normalized(1): tip}
	},
	// The recording labels issue #1, which it creates first; the local
	// GitHub has no plain issues, so #1 is a pull request (an issue too).
	"add-labels-to-issue": func(t *testing.T, srv *githubtest.Server, owner, repo string) map[string]string {
		ok(t, srv.CreateRepo(githubtest.RepoConfig{Owner: owner, Name: repo, AutoInit: true}))
		_, err := srv.CommitFiles(owner, repo, "topic", map[string]string{"t.txt": "t\n"}, "t")
		ok(t, err)
		_, err = srv.OpenPullRequest(owner, repo, githubtest.NewPullRequest{Head: "topic", Base: "main", Title: "Issue without a label"})
		ok(t, err)
		return nil
	},
}

func helloWorld(t *testing.T, srv *githubtest.Server, owner, repo string) map[string]string {
	ok(t, srv.CreateRepo(githubtest.RepoConfig{Owner: owner, Name: repo, DefaultBranch: "master"}))
	_, err := srv.CommitFiles(owner, repo, "master", map[string]string{"README.md": "# hello-world"}, "Initial commit")
	ok(t, err)
	return nil
}

func normalized(n int) string { return fmt.Sprintf("%040d", n) }

// fixtureExceptions are the known differences, keyed "scenario#exchange:
// difference", with why they are accepted.
var fixtureExceptions = map[string]string{
	// Endpoints the local GitHub does not serve (nothing in this project
	// calls them): it answers 404 Not Found, checked here.
	"git-refs#0: status 404, want 200":            "GET …/git/refs (list all refs) is not served; callers use git/matching-refs",
	"git-refs#3: status 404, want 200":            "GET …/git/refs (list all refs) is not served; callers use git/matching-refs",
	"add-labels-to-issue#0: status 404, want 201": "POST …/issues is not served: the local GitHub models only pull requests' issues",
	// GET …/commits/{ref}/statuses is not served either, but {ref} may span
	// segments (x-multi-segment), so the path reads as GET …/commits/{ref}
	// for a ref "<sha>/statuses", which does not exist: 422, as GitHub
	// answers for an unknown ref.
	"create-status#2: status 422, want 200": "GET …/commits/{ref}/statuses is not served; callers use the combined status",
	// GET …/contents/ (the root directory, empty path) is not routed: the
	// route needs a non-empty {path}. Nothing in this project lists the root.
	"get-content#0: status 404, want 200": "the contents API's root listing (empty path) is not routed",
	// The raw media type is not modelled: the contents API answers JSON
	// whatever the Accept header (never more lenient: a caller expecting
	// raw bytes fails loudly).
	"get-content#1: response is JSON, GitHub's is raw text": "application/vnd.github.v3.raw is not modelled",
	// Features the local GitHub does not have.
	"get-repository#0: missing key organization":     "no organizations: owners are users",
	"get-repository#0: missing key temp_clone_token": "deprecated, null for tokens without admin; not sent",
	// Keys GitHub added after these exchanges were recorded; the pinned
	// OpenAPI description (which every response is validated against)
	// declares them.
	"get-repository#0: extra key owner.user_view_type":           "added to simple-user in 2024",
	"create-status#0: extra key creator.user_view_type":          "added to simple-user in 2024",
	"create-status#1: extra key creator.user_view_type":          "added to simple-user in 2024",
	"create-status#3: extra key repository.owner.user_view_type": "added to simple-user in 2024",
	"create-file#0: extra key commit.verification.verified_at":   "added to verification in 2024",
	"get-repository#0: extra key has_discussions":                "added with Discussions (2022)",
	"get-repository#0: extra key merge_commit_message":           "added with the merge message settings (2022)",
	"get-repository#0: extra key merge_commit_title":             "added with the merge message settings (2022)",
	"get-repository#0: extra key squash_merge_commit_message":    "added with the merge message settings (2022)",
	"get-repository#0: extra key squash_merge_commit_title":      "added with the merge message settings (2022)",
}

func TestFidelityOctokitFixtures(t *testing.T) {
	t.Parallel()
	// The copy must come from the version package.json pins.
	var pkg struct {
		DevDependencies map[string]string `json:"devDependencies"`
	}
	raw, err := os.ReadFile("../../../package.json")
	ok(t, err)
	ok(t, json.Unmarshal(raw, &pkg))
	source, err := os.ReadFile(filepath.Join(fixtureDir, "SOURCE"))
	ok(t, err)
	if pin := "@octokit/fixtures@" + pkg.DevDependencies["@octokit/fixtures"]; !strings.Contains(string(source), pin+" ") {
		t.Fatalf("%s/SOURCE is not from %s (package.json): regenerate with generate.mjs", fixtureDir, pin)
	}
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	ok(t, err)
	if len(files) == 0 {
		t.Fatalf("no fixtures in %s (run node testdata/octokit-fixtures/generate.mjs)", fixtureDir)
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	scenarios, exchanges := 0, 0
	t.Run("scenarios", func(t *testing.T) {
		for _, file := range files {
			name := strings.TrimSuffix(filepath.Base(file), ".json")
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				setup := fixtureSetups[name]
				if setup == nil {
					t.Fatalf("%s: no setup for this scenario", name)
				}
				raw, err := os.ReadFile(file)
				ok(t, err)
				var xs []exchange
				ok(t, json.Unmarshal(raw, &xs))
				diffs := replay(t, name, xs, setup)
				mu.Lock()
				defer mu.Unlock()
				for _, d := range diffs {
					if _, known := fixtureExceptions[d]; known {
						seen[d] = true
						continue
					}
					t.Errorf("%s", d)
				}
				scenarios++
				exchanges += len(xs)
				t.Logf("%s: %d exchanges replayed, %d known differences", name, len(xs), len(diffs))
			})
		}
	})
	for d, why := range fixtureExceptions {
		if !seen[d] {
			t.Errorf("stale exception %q (%s): the difference no longer occurs", d, why)
		}
	}
	t.Logf("replayed %d scenarios, %d exchanges of @octokit/fixtures", scenarios, exchanges)
	if testing.Verbose() {
		fmt.Printf("octokit-fixtures: replayed %d scenarios, %d exchanges, %d documented exceptions\n", scenarios, exchanges, len(fixtureExceptions))
	}
}

var repoPath = regexp.MustCompile(`^/repos/([^/]+)/([^/?]+)`)

// replay runs one scenario on a fresh server and returns its differences.
func replay(t *testing.T, name string, xs []exchange, setup func(*testing.T, *githubtest.Server, string, string) map[string]string) []string {
	t.Helper()
	m := repoPath.FindStringSubmatch(xs[0].Path)
	if m == nil {
		t.Fatalf("%s: first exchange %s has no repository", name, xs[0].Path)
	}
	srv := githubtest.New(t)
	shas := setup(t, srv, m[1], m[2])
	subst := func(s string) string {
		for from, to := range shas {
			s = strings.ReplaceAll(s, from, to)
		}
		return s
	}
	var diffs []string
	for i, x := range xs {
		token := strings.TrimPrefix(x.ReqHeaders["authorization"], "token ")
		srv.AddToken(token, "octokit-fixture-user-a", githubtest.Admin)
		var body io.Reader
		if len(x.Body) > 0 {
			body = strings.NewReader(subst(string(x.Body)))
		}
		req, err := http.NewRequest(x.Method, srv.URL+subst(x.Path), body)
		ok(t, err)
		for k, v := range x.ReqHeaders {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		ok(t, err)
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		ok(t, err)
		prefix := fmt.Sprintf("%s#%d: ", name, i)
		if resp.StatusCode != x.Status {
			// A different outcome: the bodies are not comparable.
			diffs = append(diffs, fmt.Sprintf("%sstatus %d, want %d", prefix, resp.StatusCode, x.Status))
			continue
		}
		for _, d := range compareBodies(x.Status, x.Response, got) {
			diffs = append(diffs, prefix+d)
		}
	}
	return diffs
}

// compareBodies compares an error's message and errors[].code/field, or a
// success's key sets.
func compareBodies(status int, want json.RawMessage, got []byte) []string {
	var w, g any
	if len(bytes.TrimSpace(want)) == 0 || string(want) == `""` {
		if len(bytes.TrimSpace(got)) != 0 {
			return []string{"answered a body where GitHub sends none"}
		}
		return nil
	}
	if err := json.Unmarshal(want, &w); err != nil {
		return []string{"unreadable fixture: " + err.Error()}
	}
	if text, isText := w.(string); isText {
		if json.Unmarshal(got, &g) == nil {
			if _, gotText := g.(string); !gotText {
				return []string{"response is JSON, GitHub's is raw text"}
			}
		}
		if string(got) != text {
			return []string{fmt.Sprintf("body %q, want %q", got, text)}
		}
		return nil
	}
	if err := json.Unmarshal(got, &g); err != nil {
		return []string{"response is not JSON: " + err.Error()}
	}
	if status >= 400 {
		return compareErrors(w, g)
	}
	return compareKeys("", w, g)
}

func compareErrors(w, g any) []string {
	wm, _ := w.(map[string]any)
	gm, _ := g.(map[string]any)
	var diffs []string
	if wm["message"] != gm["message"] {
		diffs = append(diffs, fmt.Sprintf("message %q, want %q", gm["message"], wm["message"]))
	}
	pick := func(m map[string]any) []string {
		var out []string
		list, _ := m["errors"].([]any)
		for _, e := range list {
			if em, isObj := e.(map[string]any); isObj {
				out = append(out, fmt.Sprintf("%v/%v", em["code"], em["field"]))
			}
		}
		sort.Strings(out)
		return out
	}
	if a, b := pick(gm), pick(wm); !slices.Equal(a, b) {
		diffs = append(diffs, fmt.Sprintf("errors %v, want %v", a, b))
	}
	return diffs
}

// compareKeys reports keys GitHub sends that the local GitHub does not
// ("missing") and the reverse ("extra"), through nested objects.
func compareKeys(path string, w, g any) []string {
	at := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch wv := w.(type) {
	case map[string]any:
		gv, isObj := g.(map[string]any)
		if !isObj {
			return []string{fmt.Sprintf("%s is %T, want an object", orRoot(path), g)}
		}
		var diffs []string
		for _, k := range sortedKeys(wv) {
			if _, has := gv[k]; !has {
				diffs = append(diffs, "missing key "+at(k))
				continue
			}
			diffs = append(diffs, compareKeys(at(k), wv[k], gv[k])...)
		}
		for _, k := range sortedKeys(gv) {
			if _, has := wv[k]; !has {
				diffs = append(diffs, "extra key "+at(k))
			}
		}
		return diffs
	case []any:
		gv, isList := g.([]any)
		if !isList {
			return []string{fmt.Sprintf("%s is %T, want an array", orRoot(path), g)}
		}
		if len(wv) > 0 && len(gv) > 0 {
			return compareKeys(path+"[]", wv[0], gv[0])
		}
	}
	return nil
}

func orRoot(path string) string {
	if path == "" {
		return "response"
	}
	return path
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
