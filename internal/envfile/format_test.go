package envfile

import (
	"reflect"
	"strings"
	"testing"
)

// diffLines returns the 1-based numbers of the lines that differ between a
// and b, which must have the same number of lines. Lines end at "\n", so a
// "\r" lost or gained at a line's end shows as a difference.
func diffLines(t *testing.T, a, b string) []int {
	t.Helper()
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(la) != len(lb) {
		t.Fatalf("line count changed: %d -> %d\n--- before\n%s\n--- after\n%s", len(la), len(lb), a, b)
	}
	var diff []int
	for i := range la {
		if la[i] != lb[i] {
			diff = append(diff, i+1)
		}
	}
	return diff
}

// TestSetKeepsFormatting edits files in every formatting style people
// commit and checks, line by line, that only the edited values changed: the
// output is exactly the input with each old value's bytes replaced.
func TestSetKeepsFormatting(t *testing.T) {
	const sha1, sha2 = "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"
	type swap struct{ path, oldRaw, value, newRaw string }
	tests := []struct {
		name  string
		in    string
		swaps []swap
		lines []int // the lines that must differ
	}{
		{
			name:  "2 spaces, trailing newline",
			in:    "{\n  \"api\": {\n    \"tag\": \"" + sha1 + "\"\n  },\n  \"web\": {\n    \"tag\": \"" + sha1 + "\"\n  }\n}\n",
			swaps: []swap{{"web.tag", `"` + sha1 + `"`, sha2, `"` + sha2 + `"`}},
			lines: []int{6},
		},
		{
			name:  "4 spaces, no trailing newline",
			in:    "{\n    \"api\": {\n        \"replicas\": 3,\n        \"tag\": \"v1\"\n    }\n}",
			swaps: []swap{{"api.tag", `"v1"`, "v2", `"v2"`}},
			lines: []int{4},
		},
		{
			name:  "tabs",
			in:    "{\n\t\"api\": {\n\t\t\"tag\": \"v1\",\n\t\t\"replicas\": 3\n\t}\n}\n",
			swaps: []swap{{"api.tag", `"v1"`, "v10", `"v10"`}},
			lines: []int{3},
		},
		{
			name:  "CRLF",
			in:    "{\r\n  \"api\": {\r\n    \"tag\": \"v1\"\r\n  },\r\n  \"web\": {\r\n    \"tag\": \"w1\"\r\n  }\r\n}\r\n",
			swaps: []swap{{"api.tag", `"v1"`, "v2", `"v2"`}, {"web.tag", `"w1"`, "w2", `"w2"`}},
			lines: []int{3, 6},
		},
		{
			name:  "minified",
			in:    `{"api":{"tag":"v1","replicas":3},"web":{"tag":"w1"}}`,
			swaps: []swap{{"web.tag", `"w1"`, "w2", `"w2"`}},
			lines: []int{1},
		},
		{
			name:  "unicode",
			in:    "{\n  \"ünïcødé\": {\"tag\": \"日本-v1\"},\n  \"emoji😀\": {\"tag\": \"😀\"}\n}\n",
			swaps: []swap{{"ünïcødé.tag", `"日本-v1"`, "日本-v2", `"日本-v2"`}},
			lines: []int{2},
		},
		{
			name:  "odd key order and spacing",
			in:    "{\n\"zeta\":{\"tag\" :  \"z1\", \"a\": 1},\n  \"alpha\" : {\n      \"x\": [1, 2],\n   \"tag\":\"a1\"   }\n}",
			swaps: []swap{{"alpha.tag", `"a1"`, "a2", `"a2"`}, {"zeta.tag", `"z1"`, "z2", `"z2"`}},
			lines: []int{2, 5},
		},
		{
			name:  "value on its own line",
			in:    "{\n  \"api\": {\n    \"tag\":\n      \"v1\"\n  }\n}\n",
			swaps: []swap{{"api.tag", `"v1"`, "v2", `"v2"`}},
			lines: []int{4},
		},
		{
			name:  "escaped old value",
			in:    "{\n  \"api\": {\"tag\": \"a\\\"b\\\\c\\u00e9\\n\"},\n  \"web\": {\"tag\": \"x\"}\n}\n",
			swaps: []swap{{"api.tag", `"a\"b\\c\u00e9\n"`, "plain", `"plain"`}},
			lines: []int{2},
		},
		{
			name:  "escaped new value",
			in:    "{\n  \"api\": {\"tag\": \"v1\"}\n}\n",
			swaps: []swap{{"api.tag", `"v1"`, "q\"b\\n\n", `"q\"b\\n\n"`}},
			lines: []int{2},
		},
		{
			name:  "escaped key",
			in:    "{\n  \"my.app\": {\"t\\u0061g\": \"v1\"},\n  \"tag\": \"top\"\n}\n",
			swaps: []swap{{`my\.app.tag`, `"v1"`, "v2", `"v2"`}, {"tag", `"top"`, "t2", `"t2"`}},
			lines: []int{2, 3},
		},
		{
			name:  "same value elsewhere",
			in:    "{\n  \"a\": {\"tag\": \"v1\"},\n  \"b\": {\"tag\": \"v1\"},\n  \"c\": {\"tag\": \"v1\"}\n}",
			swaps: []swap{{"b.tag", `"v1"`, "v2", `"v2"`}},
			lines: []int{3},
		},
		{
			name:  "numeric and colon keys",
			in:    "{\n  \"0\": {\"tag\": \"v1\"},\n  \":x\": {\"tag\": \"v1\"},\n  \"x\": {\"tag\": \"v1\"}\n}",
			swaps: []swap{{"0.tag", `"v1"`, "v2", `"v2"`}, {":x.tag", `"v1"`, "v3", `"v3"`}},
			lines: []int{2, 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Validate([]byte(tt.in), 0); err != nil {
				t.Fatalf("fixture: %v", err)
			}
			var es []Edit
			want := tt.in
			for _, s := range tt.swaps {
				es = append(es, Edit{Path: mustPath(t, s.path), Value: s.value})
				at := LineOf([]byte(tt.in), mustPath(t, s.path))
				// Replace on the value's own line, so a value that also
				// appears elsewhere cannot make the expectation lie.
				lines := strings.Split(want, "\n")
				if !strings.Contains(lines[at-1], s.oldRaw) {
					t.Fatalf("line %d %q lacks %s", at, lines[at-1], s.oldRaw)
				}
				lines[at-1] = strings.Replace(lines[at-1], s.oldRaw, s.newRaw, 1)
				want = strings.Join(lines, "\n")
			}
			out, changed, err := Set([]byte(tt.in), es, SetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := diffLines(t, tt.in, string(out)); !reflect.DeepEqual(got, tt.lines) {
				t.Errorf("changed lines %v, want %v\n%s", got, tt.lines, out)
			}
			if string(out) != want {
				t.Errorf("output:\n%q\nwant:\n%q", out, want)
			}
			if len(changed) != len(tt.swaps) {
				t.Errorf("changed = %+v", changed)
			}
		})
	}
}

// TestSetCreateFormatting checks that created keys follow the style of the
// object receiving them.
func TestSetCreateFormatting(t *testing.T) {
	tests := []struct {
		name, in string
		edits    []string
		want     string
	}{
		{
			name:  "2 spaces, new top-level key",
			in:    "{\n  \"api\": {\n    \"tag\": \"a\"\n  }\n}\n",
			edits: []string{"web.tag", "b"},
			want:  "{\n  \"api\": {\n    \"tag\": \"a\"\n  },\n  \"web\": {\n    \"tag\": \"b\"\n  }\n}\n",
		},
		{
			name:  "2 spaces, nested",
			in:    "{\n  \"api\": {\n    \"tag\": \"a\"\n  }\n}\n",
			edits: []string{"api.image.tag", "c"},
			want:  "{\n  \"api\": {\n    \"tag\": \"a\",\n    \"image\": {\n      \"tag\": \"c\"\n    }\n  }\n}\n",
		},
		{
			name:  "4 spaces, two keys under one new object",
			in:    "{\n    \"api\": {\n        \"tag\": \"a\"\n    }\n}",
			edits: []string{"new.api.tag", "x", "new.web.tag", "y"},
			want:  "{\n    \"api\": {\n        \"tag\": \"a\"\n    },\n    \"new\": {\n        \"api\": {\n            \"tag\": \"x\"\n        },\n        \"web\": {\n            \"tag\": \"y\"\n        }\n    }\n}",
		},
		{
			name:  "tabs",
			in:    "{\n\t\"api\": {\n\t\t\"tag\": \"a\"\n\t}\n}\n",
			edits: []string{"web.tag", "b"},
			want:  "{\n\t\"api\": {\n\t\t\"tag\": \"a\"\n\t},\n\t\"web\": {\n\t\t\"tag\": \"b\"\n\t}\n}\n",
		},
		{
			name:  "CRLF",
			in:    "{\r\n  \"api\": {\r\n    \"tag\": \"a\"\r\n  }\r\n}\r\n",
			edits: []string{"web.tag", "b"},
			want:  "{\r\n  \"api\": {\r\n    \"tag\": \"a\"\r\n  },\r\n  \"web\": {\r\n    \"tag\": \"b\"\r\n  }\r\n}\r\n",
		},
		{
			name:  "minified",
			in:    `{"api":{"tag":"a"}}`,
			edits: []string{"web.tag", "b", "api.image.tag", "c"},
			want:  `{"api":{"tag":"a","image":{"tag":"c"}},"web":{"tag":"b"}}`,
		},
		{
			name:  "one-line with spaces",
			in:    `{"api": {"tag": "a"}, "db": {"tag": "d"}}`,
			edits: []string{"web.tag", "b", "api.image.tag", "c"},
			want:  `{"api": {"tag": "a", "image": {"tag": "c"}}, "db": {"tag": "d"}, "web": {"tag": "b"}}`,
		},
		{
			name:  "inline object in a pretty file",
			in:    "{\n  \"api\": {\"tag\": \"a\"}\n}\n",
			edits: []string{"api.image.tag", "c"},
			want:  "{\n  \"api\": {\"tag\": \"a\", \"image\": {\"tag\": \"c\"}}\n}\n",
		},
		{
			name:  "empty file object",
			in:    "{}\n",
			edits: []string{"api.tag", "a"},
			want:  "{\"api\": {\"tag\": \"a\"}}\n",
		},
		{
			name:  "empty object over two lines",
			in:    "{\n}\n",
			edits: []string{"api.tag", "a"},
			want:  "{\n  \"api\": {\n    \"tag\": \"a\"\n  }\n}\n",
		},
		{
			name:  "empty nested object",
			in:    "{\n    \"api\": {\n    },\n    \"x\": 1\n}",
			edits: []string{"api.tag", "a"},
			want:  "{\n    \"api\": {\n        \"tag\": \"a\"\n    },\n    \"x\": 1\n}",
		},
		{
			name:  "numeric key makes an object, not an array",
			in:    `{"a":"x"}`,
			edits: []string{"0.tag", "v"},
			want:  `{"a":"x","0":{"tag":"v"}}`,
		},
		{
			name:  "escaped key",
			in:    `{"a": "x"}`,
			edits: []string{`my\.app.tag`, "v", `:c.tag`, "w"},
			want:  `{"a": "x", "my.app": {"tag": "v"}, ":c": {"tag": "w"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, changed, err := Set([]byte(tt.in), edits(t, tt.edits...), SetOptions{CreateMissing: true})
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Errorf("output:\n%s\nwant:\n%s\n(%q)", out, tt.want, out)
			}
			for _, c := range changed {
				if !c.Created || c.Old != "" {
					t.Errorf("change %+v is not marked created", c)
				}
			}
		})
	}
}
