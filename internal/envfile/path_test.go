package envfile

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

func mustPath(t testing.TB, s string) Path {
	t.Helper()
	p, err := ParsePath(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParsePath(t *testing.T) {
	tests := []struct {
		in    string
		segs  []string
		gjson string
	}{
		{`api.tag`, []string{"api", "tag"}, `api.tag`},
		{`services.api.image.tag`, []string{"services", "api", "image", "tag"}, `services.api.image.tag`},
		{`my\.app.tag`, []string{"my.app", "tag"}, `my\.app.tag`},
		{`a\\b.tag`, []string{`a\b`, "tag"}, `a\\b.tag`},
		{`a\\\.b`, []string{`a\.b`}, `a\\\.b`},
		{`0.tag`, []string{"0", "tag"}, `0.tag`},
		{`:x.tag`, []string{":x", "tag"}, `\:x.tag`},
		{`a:b.tag`, []string{"a:b", "tag"}, `a:b.tag`},
		{`with space.tag`, []string{"with space", "tag"}, `with space.tag`},
		{`ünïcødé.tag`, []string{"ünïcødé", "tag"}, `ünïcødé.tag`},
		{`a/b+c,d;e$f&g^h~i` + "`" + `j.tag`, []string{"a/b+c,d;e$f&g^h~i`j", "tag"}, `a\/b\+c\,d\;e\$f\&g\^h\~i` + "\\`" + `j.tag`},
		{`my-app_2.tag`, []string{"my-app_2", "tag"}, `my-app_2.tag`},
		{`tag`, []string{"tag"}, `tag`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParsePath(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p.Segments(), tt.segs) {
				t.Errorf("segments = %q, want %q", p.Segments(), tt.segs)
			}
			if p.String() != tt.in {
				t.Errorf("String() = %q, want %q", p.String(), tt.in)
			}
			if p.GJSON() != tt.gjson {
				t.Errorf("GJSON() = %q, want %q", p.GJSON(), tt.gjson)
			}
			checkGJSONPath(t, p)
		})
	}
}

// checkGJSONPath proves GJSON() against gjson and sjson themselves: a
// document holding exactly the path's keys reads back through gjson, and
// sjson replaces that value without adding or losing keys.
func checkGJSONPath(t *testing.T, p Path) {
	t.Helper()
	var v any = "old"
	for i := len(p.segs) - 1; i >= 0; i-- {
		v = map[string]any{p.segs[i]: v, "sibling": "s"}
	}
	doc, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if got := gjson.GetBytes(doc, p.GJSON()); got.String() != "old" {
		t.Errorf("gjson.Get(%s, %q) = %q, want \"old\"", doc, p.GJSON(), got.Raw)
	}
	out, err := sjson.SetBytes(doc, p.GJSON(), "new")
	if err != nil {
		t.Fatalf("sjson.Set(%q): %v", p.GJSON(), err)
	}
	want := strings.Replace(string(doc), `"old"`, `"new"`, 1)
	if string(out) != want {
		t.Errorf("sjson.Set(%s, %q)\n got %s\nwant %s", doc, p.GJSON(), out, want)
	}
}

func TestParsePathErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{``, `key path "": is empty`},
		{`.api`, `has an empty key`},
		{`api.`, `has an empty key`},
		{`api..tag`, `has an empty key`},
		{`.`, `has an empty key`},
		{`api\`, `has a backslash`},
		{`api\x`, `has a backslash`},
		{`api\*`, `has a backslash`},
		{"api\x00tag", `control character '\x00'`},
		{"api\ntag", `control character '\n'`},
		{"api\x7f", `control character '\x7f'`},
		{"api\xff", `is not valid UTF-8`},
		{strings.Repeat("a", MaxPathLength+1), `is 257 bytes long; the limit is 256`},
	}
	for _, c := range reserved {
		tests = append(tests, struct{ in, want string }{"ap" + string(c) + "i.tag", "which key paths do not allow"})
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParsePath(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParsePath(%q) = %q, %v; want an error containing %q", tt.in, p.segs, err, tt.want)
			}
		})
	}
	if _, err := ParsePath(strings.Repeat("a", MaxPathLength)); err != nil {
		t.Fatalf("a path of exactly %d bytes: %v", MaxPathLength, err)
	}
}

func TestPathZero(t *testing.T) {
	var p Path
	if !p.IsZero() || p.String() != "" || p.GJSON() != "" || p.Segments() != nil {
		t.Fatalf("zero Path = %#v", p)
	}
	q := mustPath(t, "a.b")
	segs := q.Segments()
	segs[0] = "x"
	if q.String() != "a.b" {
		t.Fatal("Segments() aliases the path")
	}
}
