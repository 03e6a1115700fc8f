package readme

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/testkit/tools"
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

// TestRootActionOutputs fails when the root action.yml does not expose
// exactly the union of the steps' outputs: run `make readme`.
func TestRootActionOutputs(t *testing.T) {
	root, err := tools.Root()
	if err != nil {
		t.Fatal(err)
	}
	steps, err := LoadSteps(root)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := action.ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, s := range steps {
		for _, name := range s.Manifest.OutputOrder {
			want[name] = true
		}
	}
	for name := range want {
		if _, ok := m.Outputs[name]; !ok {
			t.Errorf("root action.yml lacks output %q: run `make readme`", name)
		}
	}
	for name, o := range m.Outputs {
		if !want[name] {
			t.Errorf("root action.yml has output %q that no step sets", name)
		}
		if o.Value != "${{ steps.run.outputs."+name+" }}" {
			t.Errorf("output %q = %q, want it from the run step", name, o.Value)
		}
	}
	if updated, err := UpdateRootAction(data, steps); err != nil || string(updated) != string(data) {
		t.Errorf("root action.yml outputs are stale (err=%v): run `make readme`", err)
	}
}

func TestRootOutputs(t *testing.T) {
	a := action.MustParseManifest([]byte("name: a\noutputs:\n  x:\n    description: \"it's x\"\n  y:\n    description: y of a\n"))
	b := action.MustParseManifest([]byte("name: b\noutputs:\n  y:\n    description: |\n      y of\n      b\n  z: {description: z}\n"))
	got := RootOutputs([]Step{{"a", a}, {"b", b}})
	want := "outputs:\n  # Generated from the steps' action.yml files by `make readme`; a test fails when they differ.\n" +
		"  x:\n    description: 'a: it''s x'\n    value: ${{ steps.run.outputs.x }}\n" +
		"  y:\n    description: 'a: y of a b: y of b'\n    value: ${{ steps.run.outputs.y }}\n" +
		"  z:\n    description: 'b: z'\n    value: ${{ steps.run.outputs.z }}\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if _, err := UpdateRootAction([]byte("name: n\nruns:\n  using: composite\n"), nil); !errors.Is(err, ErrNoOutputsBlock) {
		t.Errorf("err = %v", err)
	}
}
