package setup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/sjson"

	"github.com/cicd-excellence/actions/internal/testkit/actrun"
	"github.com/cicd-excellence/actions/internal/testkit/acttest"
)

func TestMain(m *testing.M) { os.Exit(acttest.Main(m)) }

// TestWorkflowE2E runs the seed's app workflow with act for the three events
// that matter, through `uses: cicd-excellence/actions/setup@v1`, and checks
// which jobs ran and what setup said.
func TestWorkflowE2E(t *testing.T) {
	wf, err := os.ReadFile(filepath.Join("testdata", "publish.yml"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{".github/workflows/publish.yml": string(wf), "README.md": "app\n"}
	const prHead = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"

	tests := []struct {
		name            string
		event           string
		file            string
		edits           map[string]any
		branch          string
		buildFromSource bool
		want            []string // result lines that must be there
		absent          []string // result lines that must not
	}{
		{
			name: "push to main", event: "push", file: "push.4.json", branch: "main",
			edits: map[string]any{"ref": "refs/heads/main", "repository.default_branch": "main", "after": "{{HEAD}}"},
			// The first run proves the launcher's build-from-source path.
			buildFromSource: true,
			want:            []string{"publish=true", "open_infra_pr=true", "deploy=true", "branch=main", "is_hotfix=false", "job=test", "job=publish sha={{HEAD}}", "job=infra"},
		},
		{
			name: "push to a hotfix branch", event: "push", file: "push.4.json", branch: "hotfixes/x",
			edits:  map[string]any{"ref": "refs/heads/hotfixes/x", "repository.default_branch": "main", "after": "{{HEAD}}"},
			want:   []string{"publish=true", "open_infra_pr=false", "deploy=false", "branch=hotfixes/x", "is_hotfix=true", "job=test", "job=publish sha={{HEAD}}"},
			absent: []string{"job=infra"},
		},
		{
			name: "pull request", event: "pull_request", file: "pull_request.0.json", branch: "changes",
			edits:  map[string]any{"pull_request.base.ref": "main", "repository.default_branch": "main"},
			want:   []string{"publish=false", "open_infra_pr=false", "deploy=false", "sha=" + prHead, "branch=changes", "job=test"},
			absent: []string{"job=publish sha=" + prHead, "job=infra"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := payload(t, tc.file, nil)
			for path, v := range tc.edits {
				if p, err = sjson.SetBytes(p, path, v); err != nil {
					t.Fatal(err)
				}
			}
			res := acttest.MustSucceed(t, acttest.Run{
				Options:         actrun.Options{Files: files, Branch: tc.branch, Event: tc.event, Payload: string(p)},
				BuildFromSource: tc.buildFromSource,
			})
			for _, w := range tc.want {
				w = strings.ReplaceAll(w, "{{HEAD}}", res.Head)
				if !res.Has(w) {
					t.Errorf("missing %q in results %q", w, res.Results)
				}
			}
			for _, a := range tc.absent {
				if res.Has(a) {
					t.Errorf("unexpected %q in results %q", a, res.Results)
				}
			}
			if t.Failed() || os.Getenv("ACT_LOG") != "" {
				t.Logf("act log:\n%s", res.Log)
			}
		})
	}
}
