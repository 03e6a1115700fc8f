package repocheck

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/cicd-excellence/actions/internal/testkit/actrun"
)

// pinnedFiles are the examples and READMEs whose `uses:` of these actions
// must be SHA pins (the other folders' follow as their owners convert them).
var pinnedFiles = `^(examples/.*\.ya?ml|[a-z-]*/?README\.md)$`

var usesOurs = regexp.MustCompile(`uses: (cicd-excellence/actions(?:/[a-z-]+)?)@([\w.]+)( \})?(.*)`)

// TestExamplesPinSHAs fails when an example uses one of these actions by a
// tag (which can be moved) instead of the full SHA pin with its version
// comment, the form Dependabot and Renovate keep current.
func TestExamplesPinSHAs(t *testing.T) {
	want := regexp.MustCompile(`^\s*# ` + regexp.QuoteMeta(actrun.PinnedVersion) + `\b`)
	n := 0
	for _, f := range files(t, pinnedFiles) {
		data, err := os.ReadFile(filepath.Join(root(t), f))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range usesOurs.FindAllStringSubmatch(string(data), -1) {
			n++
			if m[2] != actrun.PinnedSHA || !want.MatchString(m[4]) {
				t.Errorf("%s: %q: write uses: %s@%s # %s", f, m[0], m[1], actrun.PinnedSHA, actrun.PinnedVersion)
			}
		}
	}
	if n < 8 {
		t.Fatalf("found only %d uses of these actions in %s", n, pinnedFiles)
	}
}
