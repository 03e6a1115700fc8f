package actrun_test

import (
	"os"
	"testing"

	"github.com/cicd-excellence/actions/internal/testkit/actrun"
	"github.com/cicd-excellence/actions/internal/testkit/acttest"
)

func TestMain(m *testing.M) { os.Exit(acttest.Main(m)) }

// TestPinnedRefsResolve runs the same workflow through @v1 and through the
// SHA pin the examples use: both must run this checkout's setup action.
func TestPinnedRefsResolve(t *testing.T) {
	for _, ref := range []string{"v1", actrun.PinnedSHA} {
		t.Run(ref, func(t *testing.T) {
			wf := `name: pinned
on: push
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - id: s
        uses: cicd-excellence/actions/setup@` + ref + `
        with: { default-branch: main }
      - env: { PUBLISH: "${{ steps.s.outputs.publish }}" }
        run: echo "publish=$PUBLISH" >>"$RESULT_FILE"
`
			res := acttest.MustSucceed(t, acttest.Run{Options: actrun.Options{
				Files:   map[string]string{".github/workflows/pinned.yml": wf},
				Event:   "push",
				Payload: `{"ref":"refs/heads/main","after":"{{HEAD}}","repository":{"default_branch":"main"}}`,
			}})
			if !res.Has("publish=true") {
				t.Errorf("results = %q\n%s", res.Results, res.Log)
			}
		})
	}
}
