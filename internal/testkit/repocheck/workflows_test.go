package repocheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

type workflowFile struct {
	Jobs map[string]struct {
		Permissions any               `yaml:"permissions"`
		Environment any               `yaml:"environment"`
		Env         map[string]string `yaml:"env"`
		Steps       []struct {
			Name string            `yaml:"name"`
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]any    `yaml:"with"`
			Env  map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

var pinnedUse = regexp.MustCompile(`^[\w.-]+/[\w./-]+@[0-9a-f]{40}$`)

// TestOwnWorkflows checks this repository's workflows against the rules
// zizmor enforces and the release process relies on: no ${{ }} in run:,
// third-party actions pinned to a full SHA (with a version comment), no
// persisted checkout credentials, and jobs that can write (contents, id-token,
// packages...) restore no cache and install no tools. The release's publish
// job must sit behind the `release` Environment and refuse any ref but main.
func TestOwnWorkflows(t *testing.T) {
	paths := files(t, `^\.github/workflows/.*\.ya?ml$`)
	if len(paths) == 0 {
		t.Fatal("no workflows")
	}
	for _, f := range paths {
		t.Run(f, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(root(t), f))
			if err != nil {
				t.Fatal(err)
			}
			for i, line := range strings.Split(string(data), "\n") {
				if u, ok := strings.CutPrefix(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "-")), "uses:"); ok {
					u = strings.TrimSpace(u)
					ref, comment, _ := strings.Cut(u, "#")
					ref = strings.TrimSpace(ref)
					if strings.HasPrefix(ref, "./") {
						continue
					}
					if !pinnedUse.MatchString(ref) || !regexp.MustCompile(`^\s*v\d+`).MatchString(comment) {
						t.Errorf("line %d: %q: pin third-party actions to a full SHA with a # vX.Y.Z comment", i+1, u)
					}
				}
			}
			var wf workflowFile
			if err := yaml.Unmarshal(data, &wf); err != nil {
				t.Fatal(err)
			}
			for name, job := range wf.Jobs {
				writes := writesSomething(job.Permissions)
				for _, s := range job.Steps {
					if strings.Contains(s.Run, "${{") {
						t.Errorf("job %s step %q: ${{ }} inside run: (map it through env:)", name, s.Name)
					}
					if strings.HasPrefix(s.Uses, "actions/checkout@") && s.With["persist-credentials"] != false {
						t.Errorf("job %s: actions/checkout without persist-credentials: false", name)
					}
					if !writes {
						continue
					}
					if strings.HasPrefix(s.Uses, "actions/setup-go@") && s.With["cache"] != false {
						t.Errorf("job %s can write and restores a Go cache: set cache: false", name)
					}
					if strings.HasPrefix(s.Uses, "actions/cache") || regexp.MustCompile(`\b(make|go install|go run|npm|pip|curl)\b`).MatchString(s.Run) {
						t.Errorf("job %s can write and step %q builds or installs (%q): do it in a job without write permissions", name, s.Name, s.Uses+s.Run)
					}
				}
			}
			if f != ".github/workflows/release.yml" {
				return
			}
			pub, ok := wf.Jobs["publish"]
			if !ok {
				t.Fatal("release.yml has no publish job")
			}
			if pub.Environment != "release" {
				t.Errorf("publish job environment = %v, want release", pub.Environment)
			}
			if pub.Env["REF"] != "${{ github.ref }}" || len(pub.Steps) == 0 || !strings.Contains(pub.Steps[0].Run, `[ "$REF" = refs/heads/main ]`) {
				t.Error("the publish job's first step must refuse any ref but refs/heads/main")
			}
			for name, job := range wf.Jobs {
				if name != "publish" && writesSomething(job.Permissions) {
					t.Errorf("job %s can write: only publish may", name)
				}
			}
		})
	}
}

// writesSomething reports whether a job's permissions grant any write (a
// job without its own permissions gets the workflow's, read-only here).
func writesSomething(p any) bool {
	switch p := p.(type) {
	case string:
		return p == "write-all"
	case map[string]any:
		for _, v := range p {
			if v == "write" {
				return true
			}
		}
	}
	return false
}
