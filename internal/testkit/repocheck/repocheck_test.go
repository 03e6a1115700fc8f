// Package repocheck holds checks of the repository itself: every workflow
// passes actionlint, and every action.yml follows the rules that keep the
// actions safe (inputs through env:, no ${{ }} in run:, the shared launcher).
package repocheck

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/cicd-excellence/actions/internal/testkit/tools"
)

func root(t *testing.T) string {
	t.Helper()
	r, err := tools.Root()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// files lists the repository's files (tracked or new) matching pattern.
func files(t *testing.T, pattern string) []string {
	t.Helper()
	out, err := exec.Command("git", "-C", root(t), "ls-files", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(pattern)
	var fs []string
	for _, f := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if re.MatchString(f) {
			if _, err := os.Stat(filepath.Join(root(t), f)); err == nil {
				fs = append(fs, f)
			}
		}
	}
	return fs
}

// TestActionlint runs the pinned actionlint over every workflow file: the
// repository's own, the examples, and the workflows the tests run under act.
func TestActionlint(t *testing.T) {
	lint, err := tools.Path("actionlint")
	if err != nil {
		t.Fatal(err)
	}
	var workflows []string
	for _, f := range files(t, `\.ya?ml$`) {
		if strings.HasSuffix(f, "action.yml") || strings.HasSuffix(f, "action.yaml") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root(t), f))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if yaml.Unmarshal(data, &doc) == nil && doc["jobs"] != nil && doc["on"] != nil {
			workflows = append(workflows, f)
		}
	}
	if len(workflows) == 0 {
		t.Fatal("no workflow files found")
	}
	cmd := exec.Command(lint, append([]string{"-no-color"}, workflows...)...)
	cmd.Dir = root(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("actionlint %v: %v\n%s", workflows, err, out)
	}
	t.Logf("actionlint passed %d workflows", len(workflows))
}

type actionFile struct {
	Name        string                    `yaml:"name"`
	Description string                    `yaml:"description"`
	Inputs      map[string]map[string]any `yaml:"inputs"`
	Outputs     map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			ID    string            `yaml:"id"`
			Shell string            `yaml:"shell"`
			Run   string            `yaml:"run"`
			Env   map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

// TestActionFiles checks every action.yml: a composite action whose run:
// scripts interpolate nothing, whose every input reaches the binary through
// env:, whose outputs come from the launcher step, and that has a README.
func TestActionFiles(t *testing.T) {
	actions := files(t, `(^|/)action\.ya?ml$`)
	if len(actions) == 0 {
		t.Fatal("no action.yml found")
	}
	for _, f := range actions {
		t.Run(f, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(root(t), f))
			if err != nil {
				t.Fatal(err)
			}
			var a actionFile
			if err := yaml.Unmarshal(data, &a); err != nil {
				t.Fatal(err)
			}
			if a.Name == "" || a.Description == "" {
				t.Error("name and description are required")
			}
			if a.Runs.Using != "composite" {
				t.Fatalf("runs.using = %q, want composite (runs on every runner OS)", a.Runs.Using)
			}
			if _, err := os.Stat(filepath.Join(root(t), filepath.Dir(f), "README.md")); err != nil {
				t.Error("no README.md beside it")
			}
			mapped := map[string]bool{}
			launcher := false
			for _, s := range a.Runs.Steps {
				if strings.Contains(s.Run, "${{") {
					t.Errorf("step %q interpolates ${{ }} in run: (script injection); pass it through env:", s.ID)
				}
				if strings.Contains(s.Run, "internal/launcher/launch.sh") {
					launcher = true
					if s.Shell != "bash" {
						t.Errorf("launcher step shell = %q, want bash", s.Shell)
					}
					if s.Env["ACTION_PATH"] != "${{ github.action_path }}" {
						t.Error("launcher step must locate files with github.action_path (github.action_ref is empty in composite actions)")
					}
				}
				for k, v := range s.Env {
					if strings.HasPrefix(k, "INPUT_") {
						mapped[k] = true
						if !regexp.MustCompile(`^\$\{\{ inputs\.[a-z0-9-]+ \}\}$`).MatchString(v) {
							t.Errorf("env %s = %q: map exactly one input", k, v)
						}
					}
				}
			}
			if !launcher {
				t.Error("no step runs internal/launcher/launch.sh")
			}
			for name := range a.Inputs {
				if name != strings.ToLower(name) || strings.Contains(name, "_") {
					t.Errorf("input %q: inputs are kebab-case like GitHub's own actions", name)
				}
				key := "INPUT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
				if !mapped[key] {
					t.Errorf("input %q is not passed to the binary (no env %s)", name, key)
				}
			}
			for name, o := range a.Outputs {
				if !strings.Contains(o.Value, "steps.") {
					t.Errorf("output %q does not come from a step: %q", name, o.Value)
				}
			}
		})
	}
}

// TestREADMEWorkflowsLint runs actionlint over every complete workflow shown
// in a README (a ```yaml block with on: and jobs:), so the copy-paste
// examples users start from are as checked as the repository's own.
func TestREADMEWorkflowsLint(t *testing.T) {
	lint, err := tools.Path("actionlint")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var paths []string
	for _, f := range files(t, `(^|/)README\.md$`) {
		data, err := os.ReadFile(filepath.Join(root(t), f))
		if err != nil {
			t.Fatal(err)
		}
		for i, block := range yamlBlocks(string(data)) {
			var doc map[string]any
			if yaml.Unmarshal([]byte(block), &doc) != nil || doc["jobs"] == nil || doc["on"] == nil {
				continue
			}
			p := filepath.Join(dir, strings.NewReplacer("/", "_", ".", "_").Replace(f)+fmt.Sprintf("_%d.yml", i))
			if err := os.WriteFile(p, []byte(block), 0o644); err != nil {
				t.Fatal(err)
			}
			paths = append(paths, p)
		}
	}
	if len(paths) < 5 {
		t.Fatalf("found only %d README workflows", len(paths))
	}
	cmd := exec.Command(lint, append([]string{"-no-color"}, paths...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("actionlint on README workflows: %v\n%s", err, out)
	}
	t.Logf("actionlint passed %d README workflows", len(paths))
}

func yamlBlocks(md string) []string {
	var blocks []string
	for {
		i := strings.Index(md, "```yaml\n")
		if i < 0 {
			return blocks
		}
		md = md[i+len("```yaml\n"):]
		j := strings.Index(md, "```")
		if j < 0 {
			return blocks
		}
		blocks = append(blocks, md[:j])
		md = md[j+3:]
	}
}
