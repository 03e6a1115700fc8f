package repocheck

import (
	"os/exec"
	"strings"
	"testing"
)

// TestShippedBinaryLeavesOutTestkit: README's layout promises that the test,
// demo and build tooling never reaches the binary users run.
func TestShippedBinaryLeavesOutTestkit(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./actions")
	cmd.Dir = root(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./actions: %v", err)
	}
	const module = "github.com/cicd-excellence/actions/"
	var ours int
	for _, pkg := range strings.Fields(string(out)) {
		rel, ok := strings.CutPrefix(pkg, module)
		if !ok {
			continue
		}
		ours++
		if strings.HasPrefix(rel, "internal/testkit/") || strings.HasPrefix(rel, "internal/build/") {
			t.Errorf("the shipped binary imports %s", rel)
		}
	}
	if ours < 5 {
		t.Fatalf("go list -deps ./actions named %d of our packages: the check read the wrong list", ours)
	}
}
