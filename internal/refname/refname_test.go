package refname

import (
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"
)

var bad = []string{
	"", "@", "-rf", "--upload-pack=x", "/a", "a/", "a//b", "a..b", "..", "a@{1}", "a.", "a b", "a\tb", "a\nb", "a\x00b",
	"a\x7fb", "a~1", "a^", "a:b", "a?", "a*", "a[1]", `a\b`, ".hidden", "a/.b", "a.lock", "a/b.lock/c",
	"$(id)", "`id`", "a;rm", "a|b", "a&b", "a>b", "a<b", "a'b", `a"b`, "a$b", "a(b)", "é", "a{b}", "a#b", "a!b",
	strings.Repeat("a", MaxLength+1),
}

var good = []string{"a", "login-fix", "hotfixes/2026-11-25", "release/v1.2.3", "a_b.c", "A/B/C", strings.Repeat("a", MaxLength)}

func TestBranch(t *testing.T) {
	for _, name := range bad {
		err := Branch(name)
		if err == nil {
			t.Errorf("Branch(%q) accepted", name)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("Branch(%q) error spans lines: %q", name, err)
		}
	}
	for _, name := range good {
		if err := Branch(name); err != nil {
			t.Errorf("Branch(%q) = %v", name, err)
		}
	}
}

// TestAgreesWithGit checks that every name accepted here is accepted by real
// git's check-ref-format: the conservative set may refuse more, never less.
func TestAgreesWithGit(t *testing.T) {
	for _, name := range append(append([]string{}, good...), bad...) {
		if Branch(name) != nil {
			continue
		}
		if err := exec.Command("git", "check-ref-format", "--branch", name).Run(); err != nil {
			t.Errorf("%q is accepted here but git refuses it", name)
		}
	}
}

func TestSHA(t *testing.T) {
	for s, want := range map[string]bool{"abcdef0": true, "ABCDEF0": true, "abcdef": false, "abcdefg": false, strings.Repeat("a", 40): true, strings.Repeat("a", 41): false, "-abcdef0": false} {
		if IsHexSHA(s) != want {
			t.Errorf("IsHexSHA(%q) = %v", s, !want)
		}
	}
	if !IsFullSHA(strings.Repeat("0", 40)) || IsFullSHA(strings.Repeat("A", 40)) || IsFullSHA("abc") {
		t.Error("IsFullSHA")
	}
}

func FuzzBranch(f *testing.F) {
	for _, s := range append(append([]string{}, good...), bad...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if Branch(name) != nil {
			return
		}
		// Whatever passes is safe anywhere downstream.
		if !utf8.ValidString(name) || strings.ContainsAny(name, " \t\n\r$`;|&<>'\"\\(){}*?[]~^:") || strings.HasPrefix(name, "-") || strings.Contains(name, "..") || len(name) > MaxLength {
			t.Fatalf("accepted unsafe name %q", name)
		}
		if err := exec.Command("git", "check-ref-format", "--branch", name).Run(); err != nil {
			t.Fatalf("accepted %q, which git refuses", name)
		}
	})
}

func TestRepo(t *testing.T) {
	for _, s := range []string{"a/b", "acme/app.infra", "A-1/b_2"} {
		if _, _, err := Repo(s); err != nil {
			t.Errorf("Repo(%q) = %v", s, err)
		}
	}
	for _, s := range []string{"", "a", "a/", "/b", "a/b/c", "a/..", "-a/b", "a b/c", "a/b;c", "a/$(id)", strings.Repeat("a", 141) + "/b"} {
		if _, _, err := Repo(s); err == nil {
			t.Errorf("Repo(%q) accepted", s)
		}
	}
}

func TestEnvironment(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"dev", true}, {"prod-eu_1", true}, {"0day", true}, {strings.Repeat("a", EnvironmentMaxLength), true},
		{"", false}, {"Prod", false}, {"-dev", false}, {"_dev", false}, {"../prod", false}, {"dev.json", false},
		{"dev prod", false}, {"dev\n", false}, {"é", false}, {strings.Repeat("a", EnvironmentMaxLength+1), false},
	}
	for _, tc := range tests {
		err := Environment(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("Environment(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && (strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "environment name")) {
			t.Errorf("Environment(%q) error %q: want one line naming what is wrong", tc.name, err)
		}
	}
}

func TestHotfixPrefix(t *testing.T) {
	tests := []struct {
		prefix string
		ok     bool
	}{
		{DefaultHotfixPrefix, true}, {"release/hotfix/", true},
		{"", false}, {"hotfixes", false}, {"/", false}, {"-x/", false}, {"a..b/", false}, {"a b/", false}, {"x//", false},
	}
	for _, tc := range tests {
		if err := HotfixPrefix(tc.prefix); (err == nil) != tc.ok {
			t.Errorf("HotfixPrefix(%q) = %v, want ok=%v", tc.prefix, err, tc.ok)
		}
	}
}

func TestShort(t *testing.T) {
	full := "0123456789abcdef0123456789abcdef01234567"
	tests := []struct{ in, want string }{
		{full, "0123456"}, {strings.ToUpper(full), "0123456"}, {full + strings.Repeat("a", 24), "0123456"},
		{"0123456789", "0123456"}, {"abc", "abc"}, {"v1.2.3-final", "v1.2.3-final"}, {"", ""},
	}
	for _, tc := range tests {
		if got := Short(tc.in); got != tc.want {
			t.Errorf("Short(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
