package action

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestVetChecksLogHelpers runs go vet on testdata/vetcheck: every line marked
// "want" must be reported, and nothing else. It fails when a log helper stops
// being a printf wrapper go vet can see (its args no longer passed straight
// to fmt.Sprintf), which would let error text be used as a format again.
func TestVetChecksLogHelpers(t *testing.T) {
	src, err := os.ReadFile("testdata/vetcheck/bad.go")
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]bool{}
	sc := bufio.NewScanner(bytes.NewReader(src))
	for n := 1; sc.Scan(); n++ {
		if strings.Contains(sc.Text(), "// want:") {
			want[n] = true
		}
	}
	if len(want) == 0 {
		t.Fatal("no want lines in testdata/vetcheck/bad.go")
	}
	out, _ := exec.Command("go", "vet", "./testdata/vetcheck").CombinedOutput()
	got := map[int]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		rest, ok := strings.CutPrefix(l, "testdata/vetcheck/bad.go:")
		if !ok {
			continue
		}
		var line int
		for _, c := range rest {
			if c < '0' || c > '9' {
				break
			}
			line = line*10 + int(c-'0')
		}
		got[line] = true
	}
	for n := range want {
		if !got[n] {
			t.Errorf("go vet did not flag line %d of testdata/vetcheck/bad.go\n%s", n, out)
		}
	}
	for n := range got {
		if !want[n] {
			t.Errorf("go vet flagged line %d, which is fine\n%s", n, out)
		}
	}
}
