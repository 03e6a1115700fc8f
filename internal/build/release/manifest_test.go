package release

import (
	"fmt"
	"strings"
	"testing"
)

func checksums(skip string, extra ...string) string {
	var b strings.Builder
	for i, p := range Platforms {
		name := "actions_" + p
		if strings.HasPrefix(p, "windows") {
			name += ".exe"
		}
		if name == skip {
			continue
		}
		fmt.Fprintf(&b, "%064x  %s\n", i+1, name)
	}
	for _, e := range extra {
		b.WriteString(e + "\n")
	}
	return b.String()
}

func TestManifest(t *testing.T) {
	m, err := Manifest("v1.2.3", "cicd-excellence/actions", strings.NewReader(checksums("")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"version v1.2.3\n", "repository cicd-excellence/actions\n", fmt.Sprintf("sha256 actions_windows_arm64.exe %064x\n", 6), fmt.Sprintf("sha256 actions_darwin_amd64 %064x\n", 1)} {
		if !strings.Contains(m, want) {
			t.Errorf("manifest lacks %q:\n%s", want, m)
		}
	}
	bad := []struct{ version, repo, sums, err string }{
		{"1.2.3", "a/b", checksums(""), "not vX.Y.Z"},
		{"v1.2.3", "a", checksums(""), "not owner/name"},
		{"v1.2.3", "a/b", checksums("actions_linux_arm64"), "no binary actions_linux_arm64"},
		{"v1.2.3", "a/b", checksums("", fmt.Sprintf("%064x  evil.sh", 9)), "unexpected files evil.sh"},
		{"v1.2.3", "a/b", checksums("", "zz  actions_linux_amd64"), "malformed"},
	}
	for _, tc := range bad {
		if _, err := Manifest(tc.version, tc.repo, strings.NewReader(tc.sums)); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("Manifest(%q, %q) err = %v, want %q", tc.version, tc.repo, err, tc.err)
		}
	}
}
