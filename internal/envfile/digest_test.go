package envfile

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

const (
	dgA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	shA = "1111111111111111111111111111111111111111"
)

func TestValidDigest(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{dgA, true},
		{"sha256:" + strings.Repeat("0123456789abcdef", 4), true},
		{"sha256:" + strings.Repeat("A", 64), false}, // upper case: not as registries write it
		{"sha256:" + strings.Repeat("a", 63), false},
		{"sha256:" + strings.Repeat("a", 65), false},
		{"sha512:" + strings.Repeat("a", 128), false},
		{strings.Repeat("a", 64), false},
		{shA, false},
		{"", false},
		{dgA + "\n", false},
		{" " + dgA, false},
	}
	for _, tt := range tests {
		err := ValidDigest(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ValidDigest(%q) = %v, want ok %v", tt.in, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "sha256: and 64 lower-case hex digits") {
			t.Errorf("ValidDigest(%q) error %q does not say the form", tt.in, err)
		}
	}
	if err := ValidDigest(strings.Repeat("x", 500)); err == nil || len(err.Error()) > 200 {
		t.Errorf("a long bad value: %v (the error must stay one short line)", err)
	}
}

func TestKeyKinds(t *testing.T) {
	tests := []struct {
		key  string
		kind Kind
		tag  string // TagOf; "" when not a digest
	}{
		{"api.tag", KindVersion, ""},
		{"api.digest", KindDigest, "api.tag"},
		{"services.api.image.digest", KindDigest, "services.api.image.tag"},
		{`my\.app.digest`, KindDigest, `my\.app.tag`},
		{"digest", KindDigest, "tag"},
		{"api.digests", KindVersion, ""},
		{"api.version", KindVersion, ""},
	}
	for _, tt := range tests {
		if got := KindOf(tt.key); got != tt.kind {
			t.Errorf("KindOf(%q) = %v, want %v", tt.key, got, tt.kind)
		}
		tag, ok := TagOf(tt.key)
		if tag != tt.tag || ok != (tt.tag != "") {
			t.Errorf("TagOf(%q) = %q, %v; want %q", tt.key, tag, ok, tt.tag)
		}
	}
	if got := mustPath(t, "a.b.tag").Sibling(DigestKey).String(); got != "a.b.digest" {
		t.Errorf("Sibling = %q", got)
	}
	if !(Path{}).Sibling(TagKey).IsZero() {
		t.Error("the zero Path has a sibling")
	}
	if ShortDigest(dgA) != "sha256:aaaaaaaaaaaa" || ShortDigest("latest") != "latest" {
		t.Errorf("ShortDigest: %q %q", ShortDigest(dgA), ShortDigest("latest"))
	}
	got := VersionKeys(map[string]string{"api.tag": shA, "api.digest": dgA, "web.tag": shA})
	slices.Sort(got)
	if !slices.Equal(got, []string{"api.tag", "web.tag"}) {
		t.Errorf("VersionKeys = %v", got)
	}
}

// TestValuesTrackDigests: the digest beside a tracked tag is tracked with
// it, under the default and under custom patterns; a digest whose tag
// pattern does not name is not; a digest that is no string is an error like any
// tracked key's.
func TestValuesTrackDigests(t *testing.T) {
	const file = `{
  "api": {"tag": "` + shA + `", "digest": "` + dgA + `", "replicas": 2},
  "web": {"digest": "` + dgA + `"},
  "services": {"pay": {"image": {"tag": "` + shA + `", "digest": "` + dgA + `"}}},
  "db": {"version": "` + shA + `", "digest": "` + dgA + `"}
}`
	tests := []struct {
		patterns []string
		want     []string
	}{
		// "**.tag" names db.tag and web.tag too, absent as they are: the
		// default is "**.tag" plus "**.digest".
		{nil, []string{"api.digest", "api.tag", "db.digest", "services.pay.image.digest", "services.pay.image.tag", "web.digest"}},
		{[]string{"api.tag"}, []string{"api.digest", "api.tag"}},
		{[]string{"services.*.image.tag"}, []string{"services.pay.image.digest", "services.pay.image.tag"}},
		{[]string{"**.version"}, []string{"db.version"}},
		{[]string{"**.version", "**.digest"}, []string{"api.digest", "db.digest", "db.version", "services.pay.image.digest", "web.digest"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.patterns, ","), func(t *testing.T) {
			var pats []Pattern
			if tt.patterns != nil {
				var err error
				if pats, err = ParsePatterns(tt.patterns); err != nil {
					t.Fatal(err)
				}
			}
			vals, err := Values([]byte(file), pats)
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Sorted(maps.Keys(vals)); !slices.Equal(got, tt.want) {
				t.Errorf("keys = %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := Values([]byte(`{"api": {"tag": "`+shA+`", "digest": 7}}`), nil); err == nil || !strings.Contains(err.Error(), "api.digest (line 1) is a number") {
		t.Errorf("a numeric digest beside a tracked tag: %v", err)
	}
}
