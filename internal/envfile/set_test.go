package envfile

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func edits(t testing.TB, kv ...string) []Edit {
	t.Helper()
	var es []Edit
	for i := 0; i < len(kv); i += 2 {
		es = append(es, Edit{Path: mustPath(t, kv[i]), Value: kv[i+1]})
	}
	return es
}

const env = `{
  "api": {"tag": "aaa", "replicas": 2},
  "web": {"tag": "bbb"},
  "list": [1],
  "n": null
}
`

func TestSet(t *testing.T) {
	tests := []struct {
		name    string
		edits   []Edit
		opts    SetOptions
		want    string // the output; "" when err is set
		changed []Change
		err     string
	}{
		{
			name:    "one value",
			edits:   edits(t, "api.tag", "ccc"),
			want:    strings.Replace(env, `"aaa"`, `"ccc"`, 1),
			changed: []Change{{Path: "api.tag", Old: "aaa", New: "ccc"}},
		},
		{
			name:    "two values",
			edits:   edits(t, "web.tag", "ddd", "api.tag", "ccc"),
			want:    strings.Replace(strings.Replace(env, `"aaa"`, `"ccc"`, 1), `"bbb"`, `"ddd"`, 1),
			changed: []Change{{Path: "web.tag", Old: "bbb", New: "ddd"}, {Path: "api.tag", Old: "aaa", New: "ccc"}},
		},
		{
			name:    "no-op edits are left out",
			edits:   edits(t, "api.tag", "aaa", "web.tag", "eee"),
			want:    strings.Replace(env, `"bbb"`, `"eee"`, 1),
			changed: []Change{{Path: "web.tag", Old: "bbb", New: "eee"}},
		},
		{name: "nothing changes", edits: edits(t, "api.tag", "aaa"), want: env},
		{name: "no edits", want: env},
		{name: "same edit twice", edits: edits(t, "api.tag", "x", "api.tag", "x"), want: strings.Replace(env, `"aaa"`, `"x"`, 1), changed: []Change{{Path: "api.tag", Old: "aaa", New: "x"}}},
		{name: "missing key", edits: edits(t, "db.tag", "x"), err: "db.tag: key not found"},
		{name: "missing leaf", edits: edits(t, "api.image", "x"), err: "api.image: key not found"},
		{name: "a number", edits: edits(t, "api.replicas", "3"), err: "api.replicas (line 2) is a number, not a string"},
		{name: "an object", edits: edits(t, "api", "x"), err: "api (line 2) is an object, not a string"},
		{name: "through a string", edits: edits(t, "api.tag.x", "y"), opts: SetOptions{CreateMissing: true}, err: "api.tag.x: api.tag (line 2) is a string, not an object"},
		{name: "through an array", edits: edits(t, "list.tag", "y"), opts: SetOptions{CreateMissing: true}, err: "list.tag: list (line 4) is an array, not an object"},
		{name: "through null", edits: edits(t, "n.tag", "y"), opts: SetOptions{CreateMissing: true}, err: "n.tag: n (line 5) is null, not an object"},
		{name: "twice, differently", edits: edits(t, "api.tag", "x", "api.tag", "y"), err: `api.tag is edited twice, to "x" and "y"`},
		{name: "one inside the other", edits: edits(t, "db.tag", "x", "db", "y"), opts: SetOptions{CreateMissing: true}, err: "edits of db.tag and db conflict: one is inside the other"},
		{name: "zero path", edits: []Edit{{Value: "x"}}, err: "edit 1 has an empty key path"},
		{name: "invalid UTF-8 value", edits: edits(t, "api.tag", "a\xffb"), err: "api.tag: the new value is not valid UTF-8"},
		{name: "output too big", edits: edits(t, "api.tag", strings.Repeat("x", 100)), opts: SetOptions{MaxSize: 120}, err: "is 193 bytes; the limit is 120"},
		{
			name:    "create",
			edits:   edits(t, "web.image.tag", "v2"),
			opts:    SetOptions{CreateMissing: true},
			want:    strings.Replace(env, `{"tag": "bbb"}`, `{"tag": "bbb", "image": {"tag": "v2"}}`, 1),
			changed: []Change{{Path: "web.image.tag", New: "v2", Created: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(env)
			out, changed, err := Set(in, tt.edits, tt.opts)
			if string(in) != env {
				t.Fatal("Set modified its input")
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || out != nil || changed != nil {
					t.Fatalf("Set = %q, %v, %v; want an error containing %q", out, changed, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Errorf("output:\n%s\nwant:\n%s", out, tt.want)
			}
			if !reflect.DeepEqual(changed, tt.changed) {
				t.Errorf("changed = %+v, want %+v", changed, tt.changed)
			}
			if len(out) > 0 && &out[0] == &in[0] {
				t.Error("output aliases the input")
			}
		})
	}
}

func TestSetErrorKinds(t *testing.T) {
	_, _, err := Set([]byte(env), edits(t, "db.tag", "x"), SetOptions{})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("missing key: %v is not ErrNotFound", err)
	}
	var te *TypeError
	if _, _, err := Set([]byte(env), edits(t, "api.replicas", "x"), SetOptions{}); !errors.As(err, &te) || te.Got != "a number" {
		t.Errorf("number: %v", err)
	}
	var se *SyntaxError
	if _, _, err := Set([]byte(`{"a":"x","a":"y"}`), edits(t, "a", "z"), SetOptions{}); !errors.As(err, &se) {
		t.Errorf("duplicate keys: %v is not a *SyntaxError", err)
	}
}

// TestSetSpecialValues writes values that need escaping: the output must be
// valid JSON that reads back exactly.
func TestSetSpecialValues(t *testing.T) {
	values := []string{
		`quote"inside`, `back\slash`, `C:\dir\`, `\"`, "new\nline", "tab\tand\rcr", "nul\x00byte", "\x1f\x7f",
		"<script>&amp;", "ünïcødé ✓ 日本", "\u2028\u2029", "😀", "", " ", `{"json":"inside"}`, `a.b*c?d#e@f|g`,
	}
	for _, create := range []bool{false, true} {
		for _, v := range values {
			path := "api.tag"
			if create {
				path = "new.deep.tag"
			}
			out, _, err := Set([]byte(env), edits(t, path, v), SetOptions{CreateMissing: create})
			if err != nil {
				t.Fatalf("Set(%q): %v", v, err)
			}
			if err := Validate(out, 0); err != nil {
				t.Fatalf("Set(%q) gave an invalid file: %v\n%s", v, err, out)
			}
			got, ok, err := Get(out, mustPath(t, path))
			if err != nil || !ok || got != v {
				t.Fatalf("Get after Set(%q) = %q, %v, %v", v, got, ok, err)
			}
			if !create && bytes.Count(out, []byte("\n")) != bytes.Count([]byte(env), []byte("\n")) {
				t.Fatalf("Set(%q) changed the number of lines:\n%s", v, out)
			}
		}
	}
}

// TestEmptyKey: the key "" is valid JSON and must not be confused with the
// top-level object (a fuzz find: the index once keyed both as "").
func TestEmptyKey(t *testing.T) {
	out, changed, err := Set([]byte(`{"":0}`), edits(t, "0", "0"), SetOptions{CreateMissing: true})
	if err != nil || string(out) != `{"":0,"0":"0"}` || len(changed) != 1 {
		t.Fatalf("Set = %s, %+v, %v", out, changed, err)
	}
	out, _, err = Set([]byte(`{"": {"tag": "x"}, "tag": "y"}`), edits(t, "tag", "z"), SetOptions{})
	if err != nil || string(out) != `{"": {"tag": "x"}, "tag": "z"}` {
		t.Fatalf("Set next to an empty key = %s, %v", out, err)
	}
	if _, err := Values([]byte(`{"": {"tag": "x"}}`), nil); err == nil || !strings.Contains(err.Error(), "has an empty key") {
		t.Fatalf("Values with a tracked value under an empty key: %v", err)
	}
}
