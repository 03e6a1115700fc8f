package readme

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/tools"
)

func TestUpdate(t *testing.T) {
	m := action.MustParseManifest([]byte("name: n\ndescription: d\ninputs:\n  a-b:\n    description: 'x | y'\n    required: true\n  c:\n    default: z\noutputs:\n  o:\n    description: out\n"))
	in := "# T\n\nhand\n\n" + startMarker + "\nold\n" + endMarker + "\n\nmore\n"
	got, err := Update([]byte(in), m)
	if err != nil {
		t.Fatal(err)
	}
	want := "# T\n\nhand\n\n" + startMarker + "\n### Inputs\n\n| Input | Required | Default | Description |\n|---|---|---|---|\n" +
		"| `a-b` | **yes** |  | x \\| y |\n| `c` | no | `z` |  |\n\n### Outputs\n\n| Output | Description |\n|---|---|\n| `o` | out |\n" + endMarker + "\n\nmore\n"
	if string(got) != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if _, err := Update([]byte("# no markers"), m); !errors.Is(err, ErrNoMarkers) {
		t.Errorf("err = %v", err)
	}
}

// TestREADMEsAreCurrent fails when an action's README tables differ from its
// action.yml: run `make readme`.
func TestREADMEsAreCurrent(t *testing.T) {
	root, err := tools.Root()
	if err != nil {
		t.Fatal(err)
	}
	paths, _ := filepath.Glob(filepath.Join(root, "*", "action.yml"))
	paths = append(paths, filepath.Join(root, "action.yml"))
	checked := 0
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			t.Fatal(err)
		}
		m, err := action.ParseManifest(data)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		rp := filepath.Join(filepath.Dir(p), "README.md")
		old, err := os.ReadFile(rp)
		if err != nil {
			t.Errorf("%s: %v", rp, err)
			continue
		}
		updated, err := Update(old, m)
		if err != nil {
			t.Errorf("%s: %v", rp, err)
			continue
		}
		if string(updated) != string(old) {
			rel, _ := filepath.Rel(root, rp)
			t.Errorf("%s is stale: run `make readme`", rel)
		}
		checked++
		if !strings.Contains(string(old), "```yaml") {
			t.Errorf("%s has no copy-paste yaml example", rp)
		}
	}
	if checked == 0 {
		t.Fatal("no README checked")
	}
}
