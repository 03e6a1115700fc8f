package envfile

import (
	"errors"
	"maps"
	"testing"
)

const sample = `{
  "api": {
    "tag": "1111111111111111111111111111111111111111",
    "replicas": 3
  },
  "web": {"tag": "2222222222222222222222222222222222222222", "image": {"tag": "v1"}},
  "my.app": {"tag": "a\"b"},
  "list": [{"tag": "in-array"}],
  "obj": {"tag": {"nested": "x"}},
  "n": {"tag": null}
}
`

func TestGet(t *testing.T) {
	tests := []struct {
		path   string
		value  string
		exists bool
		err    string
	}{
		{path: "api.tag", value: "1111111111111111111111111111111111111111", exists: true},
		{path: "web.image.tag", value: "v1", exists: true},
		{path: `my\.app.tag`, value: `a"b`, exists: true},
		{path: "missing.tag"},
		{path: "api.missing"},
		{path: "api.replicas", exists: true, err: "api.replicas (line 4) is a number, not a string"},
		{path: "api", exists: true, err: "api (line 2) is an object, not a string"},
		{path: "list", exists: true, err: "list (line 8) is an array, not a string"},
		{path: "n.tag", exists: true, err: "n.tag (line 10) is null, not a string"},
		{path: "api.tag.x", err: "api.tag.x: api.tag (line 3) is a string, not an object"},
		{path: "list.0.tag", err: "list.0.tag: list (line 8) is an array, not an object"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			v, ok, err := Get([]byte(sample), mustPath(t, tt.path))
			if tt.err != "" {
				var te *TypeError
				if err == nil || err.Error() != tt.err || !errors.As(err, &te) {
					t.Fatalf("err = %v, want *TypeError %q", err, tt.err)
				}
				return
			}
			if err != nil || v != tt.value || ok != tt.exists {
				t.Fatalf("Get = %q, %v, %v; want %q, %v", v, ok, err, tt.value, tt.exists)
			}
		})
	}
	if _, _, err := Get([]byte(`{"a":1,"a":2}`), mustPath(t, "a")); err == nil {
		t.Fatal("Get on a file with duplicate keys: no error")
	}
	if _, _, err := Get([]byte(sample), Path{}); err == nil {
		t.Fatal("Get of the zero Path: no error")
	}
}

func TestLineOf(t *testing.T) {
	tests := []struct {
		path string
		line int
	}{
		{"api.tag", 3},
		{"api", 2},
		{"web.image.tag", 6},
		{`my\.app.tag`, 7},
		{"missing", 0},
	}
	for _, tt := range tests {
		if got := LineOf([]byte(sample), mustPath(t, tt.path)); got != tt.line {
			t.Errorf("LineOf(%s) = %d, want %d", tt.path, got, tt.line)
		}
	}
	// The value's line, when key and value are on different lines.
	if got := LineOf([]byte("{\"a\":\n\n  \"x\"}"), mustPath(t, "a")); got != 3 {
		t.Errorf("value on its own line: %d, want 3", got)
	}
	if got := LineOf([]byte(`{"a": `), mustPath(t, "a")); got != 0 {
		t.Errorf("invalid file: %d, want 0", got)
	}
}

func TestValues(t *testing.T) {
	good := `{
  "api": {"tag": "a", "replicas": 3},
  "web": {"image": {"tag": "b"}},
  "my.app": {"tag": "c", "version": "9"},
  "list": [{"tag": "ignored: inside an array"}],
  "tag": "top"
}`
	tests := []struct {
		name     string
		data     string
		patterns []string
		want     map[string]string
		err      string
	}{
		{name: "default", data: good, want: map[string]string{"api.tag": "a", "web.image.tag": "b", `my\.app.tag`: "c", "tag": "top"}},
		{name: "one level", data: good, patterns: []string{"*.tag"}, want: map[string]string{"api.tag": "a", `my\.app.tag`: "c"}},
		{name: "two patterns", data: good, patterns: []string{"api.tag", `my\.app.version`}, want: map[string]string{"api.tag": "a", `my\.app.version`: "9"}},
		{name: "no match", data: good, patterns: []string{"nothing.here"}, want: map[string]string{}},
		{name: "number", data: `{"api": {"tag": 123}}`, err: "api.tag (line 1) is a number, not a string"},
		{name: "object", data: "{\"tag\":\n {}}", err: "tag (line 2) is an object, not a string"},
		{name: "unaddressable key", data: "{\n\"a*\": {\"tag\": \"x\"}}", err: `tracked key a*.tag (line 2) has the key "a*", whose '*' key paths do not allow`},
		{name: "invalid file", data: `{"a": {"tag": "x", "tag": "y"}}`, err: `line 1, column 20: duplicate key "tag"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pats []Pattern
			if tt.patterns != nil {
				var err error
				if pats, err = ParsePatterns(tt.patterns); err != nil {
					t.Fatal(err)
				}
			}
			got, err := Values([]byte(tt.data), pats)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !maps.Equal(got, tt.want) {
				t.Fatalf("Values = %v, %v; want %v", got, err, tt.want)
			}
			for k, v := range got { // every key Values returns is a usable path
				if g, ok, err := Get([]byte(tt.data), mustPath(t, k)); err != nil || !ok || g != v {
					t.Errorf("Get(%s) = %q, %v, %v", k, g, ok, err)
				}
			}
		})
	}
	// An empty, non-nil list tracks nothing; only nil means the default.
	if got, err := Values([]byte(`{"a":{"tag":"x"}}`), []Pattern{}); err != nil || len(got) != 0 {
		t.Fatalf("Values with no patterns = %v, %v", got, err)
	}
}
