package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// fuzzNames are the event names a hand-made seed is tried with: every name
// Parse treats specially, plus one it does not and the empty name.
var fuzzNames = []string{Push, PullRequest, PullRequestTarget, PullRequestReview, MergeGroup, WorkflowDispatch, Release, "create", "delete", "issues", ""}

// fuzzPayloads are the hand-made edge cases, next to GitHub's examples.
var fuzzPayloads = []string{
	``,
	" \t\r\n",
	`null`,
	`[]`,
	`{}`,
	`"push"`,
	`42`,
	`{`,
	`{"ref": 5}`,
	`{"ref": null, "after": null, "created": null}`,
	`{"created": "true"}`,
	`{"repository": "o/r"}`,
	`{"repository": null, "sender": {"login": null}}`,
	`{"pull_request": []}`,
	`{"pull_request": {"number": "1"}}`,
	`{"pull_request": {"number": 1.5}}`,
	`{"pull_request": {"number": -1, "head": {"ref": "a", "sha": "b", "repo": null}, "base": {"ref": "c", "sha": "d"}}}`,
	`{"pull_request": {"number": 9223372036854775807}}`,
	`{"pull_request": {"number": 99999999999999999999999}}`,
	`{"pull_request": {"number": 1e400}}`,
	`{"unknown": 1e400, "also": -0.0e-999999}`,
	`{"after": "0000000000000000000000000000000000000000", "deleted": true, "ref": "refs/heads/gone"}`,
	`{"before": "0000000000000000000000000000000000000000", "after": "b", "created": true, "forced": true, "ref": "refs/tags/t"}`,
	`{"after": "a", "AFTER": "b", "After": "c"}`,
	`{"ref": "a", "ref": "refs/tags/b"}`,
	`{"ref": "refs/heads/", "ref_type": "tag"}`,
	`{"ref": "refs/heads/main\n::error::x", "after": "x\u0000y"}`,
	`{"ref": "refs/heads/\ud800\udc00\ud800", "action": "\u2028"}`,
	"{\"ref\": \"refs/heads/\xff\xfe\"}",
	`{"merge_group": {"head_ref": "refs/heads/refs/heads/x", "base_ref": "main", "head_sha": ""}}`,
	`{"release": {"tag_name": ""}}`,
	`{"release": {}, "ref": "refs/heads/main"}`,
	`{"pull_request": {"head": {"sha": "a"}, "head": {"ref": "b"}}}`,
	"\ufeff{}",
	"\v\f",
	`{"x": ` + strings.Repeat(`[`, 20000) + strings.Repeat(`]`, 20000) + `}`,
	`{"x": ` + strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat(`}`, 200) + `}`,
	strings.Repeat(`[`, 100000),
}

// FuzzParse: Parse never panics; it refuses exactly what it cannot read, in
// a one-line error and without a half-built context; and what it returns is
// the payload's own values, each in the field its event puts it in, with the
// derived fields (RefType, RefName, Branch, TargetBranch) consistent with
// Ref.
func FuzzParse(f *testing.F) {
	examples, err := filepath.Glob(filepath.Join("..", "..", "testdata", "webhooks", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	if len(examples) == 0 {
		f.Fatal("no example payloads in testdata/webhooks")
	}
	for _, path := range examples {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		name, _, _ := strings.Cut(filepath.Base(path), ".")
		f.Add(name, data)
	}
	for _, p := range fuzzPayloads {
		for _, name := range fuzzNames {
			f.Add(name, []byte(p))
		}
	}
	f.Add("push\n::error::injected", []byte(`{`))
	f.Add("pull_request\r", []byte(`{"pull_request": 1}`))

	f.Fuzz(func(t *testing.T, name string, data []byte) {
		c, err := Parse(name, data)
		if err != nil {
			if c != nil {
				t.Fatalf("Parse returned a context and the error %v", err)
			}
			if msg := err.Error(); strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("error is not one line: %q", msg)
			}
			if blank(data) {
				t.Fatalf("Parse refused a blank payload: %v", err)
			}
			return
		}
		if c == nil {
			t.Fatal("Parse returned neither a context nor an error")
		}
		if !blank(data) && !json.Valid(data) {
			t.Fatalf("Parse accepted invalid JSON %q", data)
		}
		if c.Name != name || c.ServerURL != "https://github.com" || c.APIURL != "https://api.github.com" || c.RunURL != "" {
			t.Fatalf("name %q, server %q, API %q, run URL %q", c.Name, c.ServerURL, c.APIURL, c.RunURL)
		}
		checkPayload(t, c, data)
		checkDerived(t, c)
	})
}

// blank is Parse's own notion of "no payload".
func blank(data []byte) bool { return len(bytes.TrimSpace(data)) == 0 }

// rawPayload has the paths of Parse's payload, with every leaf left as the
// decoder found it: the same decoder walks it (case-insensitive keys, last
// duplicate wins), so a difference is Parse's mapping, not JSON.
type rawPayload struct {
	Action     any `json:"action"`
	Ref        any `json:"ref"`
	RefType    any `json:"ref_type"`
	Before     any `json:"before"`
	After      any `json:"after"`
	Created    any `json:"created"`
	Deleted    any `json:"deleted"`
	Forced     any `json:"forced"`
	Repository *struct {
		FullName      any `json:"full_name"`
		DefaultBranch any `json:"default_branch"`
	} `json:"repository"`
	Sender *struct {
		Login any `json:"login"`
	} `json:"sender"`
	PullRequest *struct {
		Number any `json:"number"`
		Head   struct {
			Ref  any `json:"ref"`
			SHA  any `json:"sha"`
			Repo *struct {
				FullName any `json:"full_name"`
			} `json:"repo"`
		} `json:"head"`
		Base struct {
			Ref any `json:"ref"`
			SHA any `json:"sha"`
		} `json:"base"`
		User *struct {
			Login any `json:"login"`
		} `json:"user"`
	} `json:"pull_request"`
	MergeGroup *struct {
		HeadSHA any `json:"head_sha"`
		HeadRef any `json:"head_ref"`
		BaseRef any `json:"base_ref"`
	} `json:"merge_group"`
	Release *struct {
		TagName any `json:"tag_name"`
	} `json:"release"`
}

// checkPayload compares every field Parse fills from the payload with what
// the payload says at that path; a field its event does not use stays zero.
func checkPayload(t *testing.T, c *Context, data []byte) {
	t.Helper()
	if blank(data) {
		if !reflect.DeepEqual(*c, Context{Name: c.Name, ServerURL: c.ServerURL, APIURL: c.APIURL}) {
			t.Fatalf("a blank payload filled the context: %+v", c)
		}
		return
	}
	if !bytes.Equal(c.Payload, data) {
		t.Fatalf("Payload is not the bytes read")
	}
	var p rawPayload
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("Parse accepted %q, which does not decode into the payload's shape: %v", data, err)
	}
	// A value of the wrong type must have been an error, not a zero: every
	// leaf Parse reads is therefore null or of its type.
	str := func(field string, v any) string {
		t.Helper()
		switch v := v.(type) {
		case nil:
			return ""
		case string:
			return v
		}
		t.Fatalf("Parse accepted %s = %#v, which is not a string", field, v)
		return ""
	}
	boolean := func(field string, v any) bool {
		t.Helper()
		switch v := v.(type) {
		case nil:
			return false
		case bool:
			return v
		}
		t.Fatalf("Parse accepted %s = %#v, which is not a boolean", field, v)
		return false
	}
	type want struct {
		field     string
		got, want string
	}
	wants := []want{{"action", c.Action, str("action", p.Action)}}
	var repo, def, actor string
	if p.Repository != nil {
		repo, def = str("repository.full_name", p.Repository.FullName), str("repository.default_branch", p.Repository.DefaultBranch)
	}
	if p.Sender != nil {
		actor = str("sender.login", p.Sender.Login)
	}
	wants = append(wants, want{"Repository", c.Repository, repo}, want{"DefaultBranch", c.DefaultBranch, def}, want{"Actor", c.Actor, actor})

	// What the event does not set stays empty.
	var ref, sha, before, after, headRef, baseRef, baseSHA, author, headRepo string
	var created, deleted, forced bool
	prNumber := 0
	switch c.Name {
	case Push:
		ref, before, after = str("ref", p.Ref), str("before", p.Before), str("after", p.After)
		created, deleted, forced = boolean("created", p.Created), boolean("deleted", p.Deleted), boolean("forced", p.Forced)
		if after != ZeroSHA {
			sha = after
		}
	case PullRequest, PullRequestTarget, PullRequestReview:
		if pr := p.PullRequest; pr != nil {
			if pr.Number != nil {
				n, ok := pr.Number.(json.Number)
				if !ok {
					t.Fatalf("Parse accepted pull_request.number = %#v", pr.Number)
				}
				v, err := strconv.ParseInt(string(n), 10, 0)
				if err != nil {
					t.Fatalf("Parse accepted pull_request.number = %s, not an int: %v", n, err)
				}
				prNumber = int(v)
			}
			headRef, baseRef = str("pull_request.head.ref", pr.Head.Ref), str("pull_request.base.ref", pr.Base.Ref)
			sha, baseSHA = str("pull_request.head.sha", pr.Head.SHA), str("pull_request.base.sha", pr.Base.SHA)
			if pr.User != nil {
				author = str("pull_request.user.login", pr.User.Login)
			}
			if pr.Head.Repo != nil {
				headRepo = str("pull_request.head.repo.full_name", pr.Head.Repo.FullName)
			}
			ref = fmt.Sprintf("refs/pull/%d/merge", prNumber)
		}
	case MergeGroup:
		if mg := p.MergeGroup; mg != nil {
			sha, ref = str("merge_group.head_sha", mg.HeadSHA), str("merge_group.head_ref", mg.HeadRef)
			headRef = strings.TrimPrefix(ref, "refs/heads/")
			baseRef = strings.TrimPrefix(str("merge_group.base_ref", mg.BaseRef), "refs/heads/")
		}
	case WorkflowDispatch:
		ref = str("ref", p.Ref)
	case Release:
		if p.Release != nil {
			ref = "refs/tags/" + str("release.tag_name", p.Release.TagName)
		}
	case "create", "delete":
		if r := str("ref", p.Ref); r != "" {
			if str("ref_type", p.RefType) == "tag" {
				ref = "refs/tags/" + r
			} else {
				ref = "refs/heads/" + r
			}
		}
	}
	wants = append(wants,
		want{"Ref", c.Ref, ref}, want{"SHA", c.SHA, sha}, want{"Before", c.Before, before}, want{"After", c.After, after},
		want{"HeadRef", c.HeadRef, headRef}, want{"BaseRef", c.BaseRef, baseRef}, want{"BaseSHA", c.BaseSHA, baseSHA},
		want{"PRAuthor", c.PRAuthor, author}, want{"HeadRepo", c.HeadRepo, headRepo},
		want{"PRNumber", strconv.Itoa(c.PRNumber), strconv.Itoa(prNumber)},
		want{"Created/Deleted/Forced", fmt.Sprint(c.Created, c.Deleted, c.Forced), fmt.Sprint(created, deleted, forced)},
	)
	for _, w := range wants {
		if w.got != w.want {
			t.Errorf("%s event: %s = %q, the payload says %q", strconv.Quote(c.Name), w.field, w.got, w.want)
		}
	}
	if c.Name == Push && c.SHA == ZeroSHA {
		t.Errorf("a push's SHA is the zero SHA, which names no commit")
	}
	if t.Failed() {
		t.FailNow()
	}
}

// checkDerived checks what fill and the methods derive from Ref and the
// event: a short name that rebuilds the ref, and branches that are the
// pull request's or the pushed ref's, never a tag.
func checkDerived(t *testing.T, c *Context) {
	t.Helper()
	switch c.RefType {
	case "branch":
		if c.Ref != "refs/heads/"+c.RefName {
			t.Fatalf("branch ref %q, short name %q", c.Ref, c.RefName)
		}
	case "tag":
		if c.Ref != "refs/tags/"+c.RefName {
			t.Fatalf("tag ref %q, short name %q", c.Ref, c.RefName)
		}
	case "":
		if strings.HasPrefix(c.Ref, "refs/heads/") || strings.HasPrefix(c.Ref, "refs/tags/") {
			t.Fatalf("ref %q has no type", c.Ref)
		}
		if c.Ref != c.RefName && c.Ref != "refs/"+c.RefName {
			t.Fatalf("ref %q, short name %q", c.Ref, c.RefName)
		}
	default:
		t.Fatalf("RefType %q", c.RefType)
	}
	branch, target := c.Branch(), c.TargetBranch()
	switch c.Name {
	case PullRequest, PullRequestTarget, PullRequestReview, MergeGroup:
		if branch != c.HeadRef || target != c.BaseRef {
			t.Fatalf("%s: Branch %q TargetBranch %q, head %q base %q", c.Name, branch, target, c.HeadRef, c.BaseRef)
		}
	default:
		if target != branch {
			t.Fatalf("%s: TargetBranch %q is not Branch %q", c.Name, target, branch)
		}
		if branch != "" && c.Ref != "refs/heads/"+branch {
			t.Fatalf("%s: Branch %q is not the ref %q", c.Name, branch, c.Ref)
		}
		if c.RefType == "branch" && branch != c.RefName {
			t.Fatalf("%s: Branch %q of the branch ref %q", c.Name, branch, c.Ref)
		}
		if c.RefType == "tag" && branch != "" {
			t.Fatalf("%s: the tag %q has the branch %q", c.Name, c.Ref, branch)
		}
	}
}
