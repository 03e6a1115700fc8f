package deploy

import (
	"strings"
	"testing"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

// TestReadmePermissions: the README's table for the infra repo's token (an
// App installation token): Deployments read for a converge plan, read and
// write to deploy with a record. Each is enough, and without it the run
// fails in one line naming the permission GitHub asks for.
func TestReadmePermissions(t *testing.T) {
	const appID, token = 779, "ghs_deployPermissions000000000000000"
	for _, tc := range []struct {
		name  string
		perms githubtest.Permissions
		mode  string
		want  string // "" for a clean run
	}{
		{"plan with Deployments read", githubtest.Permissions{"deployments": githubtest.Read}, "plan", ""},
		{"plan without Deployments", githubtest.Permissions{}, "plan", "deployments=read"},
		{"deploy with Deployments write", githubtest.Permissions{"deployments": githubtest.Write}, "deploy", ""},
		{"deploy with Deployments read only", githubtest.Permissions{"deployments": githubtest.Read}, "deploy", "deployments=write"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newInfra(t)
			sha := f.push(all("api1"))
			if err := f.srv.AddApp(appID, "pipeline"); err != nil {
				t.Fatal(err)
			}
			if err := f.srv.AddAppToken(token, appID, tc.perms, "acme/infra"); err != nil {
				t.Fatal(err)
			}
			more := []string{"INPUT_GITHUB_TOKEN=" + token, "INPUT_DEPLOYERS=pipeline[bot]"}
			var err error
			var log string
			if tc.mode == "plan" {
				res := f.tryPlan(t, sha, more...)
				err, log = res.Err, res.Log
			} else {
				res := f.deploy(t, sha, "dev", markCommand, more...)
				err, log = res.Err, res.Log
			}
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("%v\n%s", err, log)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n")):
				t.Fatalf("err = %v, want one line naming %s\n%s", err, tc.want, log)
			case tc.want != "" && tc.mode == "deploy" && len(f.deployed(t)) != 0:
				t.Error("the command ran although the deployment could not be recorded")
			}
		})
	}
}
