package envfile

import (
	"strings"
	"testing"
)

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		pattern string
		yes     []string
		no      []string
	}{
		{"**.tag", []string{"tag", "api.tag", "services.api.image.tag", `my\.app.tag`}, []string{"api.tags", "api.tag.x", "api", "tagx"}},
		{"*.tag", []string{"api.tag", `my\.app.tag`}, []string{"tag", "a.b.tag", "api.version"}},
		{"api.tag", []string{"api.tag"}, []string{"web.tag", "api.tag.x", "x.api.tag"}},
		{"services.*.image.tag", []string{"services.api.image.tag"}, []string{"services.image.tag", "services.a.b.image.tag", "apps.api.image.tag"}},
		{"apps.**.version", []string{"apps.version", "apps.a.version", "apps.a.b.c.version"}, []string{"version", "x.apps.version", "apps.a.versions"}},
		{"**.image.*", []string{"image.tag", "a.b.image.digest"}, []string{"image", "a.image", "image.a.b"}},
		{"**.**.tag", []string{"tag", "a.b.c.tag"}, []string{"a.b"}},
		{"*.*", []string{"a.b"}, []string{"a", "a.b.c"}},
		{`my\.app.tag`, []string{`my\.app.tag`}, []string{"my.app.tag"}},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			p, err := ParsePattern(tt.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if p.String() != tt.pattern {
				t.Errorf("String() = %q", p.String())
			}
			for _, s := range tt.yes {
				if !p.Match(mustPath(t, s)) {
					t.Errorf("%q does not match %q", tt.pattern, s)
				}
			}
			for _, s := range tt.no {
				if p.Match(mustPath(t, s)) {
					t.Errorf("%q matches %q", tt.pattern, s)
				}
			}
		})
	}
}

func TestPatternLongPaths(t *testing.T) {
	// Many '**' against a deep path must stay fast (the NFA is linear).
	p, err := ParsePattern(strings.Repeat("**.a.", 20) + "tag")
	if err != nil {
		t.Fatal(err)
	}
	deep := mustPath(t, strings.Repeat("a.", 120)+"b")
	if p.Match(deep) {
		t.Fatal("matched a path not ending in tag")
	}
	if !p.Match(mustPath(t, strings.Repeat("a.", 120)+"tag")) {
		t.Fatal("did not match")
	}
}

func TestParsePatternErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "is empty"},
		{"**", "must not end with '**'"},
		{"api.**", "must not end with '**'"},
		{"api*.tag", "must be whole keys"},
		{"***.tag", "must be whole keys"},
		{"api.?", "which key paths do not allow"},
		{"api..tag", "empty key"},
		{`a\*.tag`, "backslash"},
	}
	for _, tt := range tests {
		if _, err := ParsePattern(tt.in); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParsePattern(%q) = %v, want an error containing %q", tt.in, err, tt.want)
		}
	}
	ps, err := ParsePatterns(nil)
	if err != nil || len(ps) != 1 || ps[0].String() != DefaultTracked {
		t.Fatalf("ParsePatterns(nil) = %v, %v", ps, err)
	}
	if _, err := ParsePatterns([]string{"a.tag", "b*", "**"}); err == nil || !strings.Contains(err.Error(), `"b*"`) || !strings.Contains(err.Error(), `"**"`) {
		t.Fatalf("ParsePatterns with two bad patterns: %v", err)
	}
	var zero Pattern
	if zero.Match(mustPath(t, "a")) {
		t.Fatal("the zero Pattern matches")
	}
}
