package hotfix

import (
	"strings"
	"testing"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

// TestReadmePermissions: the README's table (Contents: read and write on the
// app repo, for an App installation token) is enough for a hotfix from a
// commit, and without it the run fails in one line naming the permission.
func TestReadmePermissions(t *testing.T) {
	const appID, token = 778, "ghs_hotfixPermissions0000000000000000"
	for _, tc := range []struct {
		name  string
		perms githubtest.Permissions
		want  string // "" for a clean run
	}{
		{"the table is enough", githubtest.Permissions{"contents": githubtest.Write}, ""},
		{"contents read only", githubtest.Permissions{"contents": githubtest.Read}, "contents=write"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(f.srv.AddApp(appID, "pipeline"))
			must(f.srv.AddAppToken(token, appID, tc.perms, "acme/app"))
			out, log, err := f.run(t, "INPUT_NAME=perm", "INPUT_BASE=main", "INPUT_GITHUB_TOKEN="+token)
			switch {
			case tc.want == "" && (err != nil || out["created"] != "true"):
				t.Fatalf("%v %v\n%s", err, out, log)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n")):
				t.Fatalf("err = %v, want one line naming %s\n%s", err, tc.want, log)
			case tc.want != "" && f.branch(t, "hotfixes/perm") != "":
				t.Error("a refused run created the branch")
			}
		})
	}
}
