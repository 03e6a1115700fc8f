package deploy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gh "github.com/google/go-github/v60/github"

	openinfrapr "github.com/cicd-excellence/actions/open-infra-pr"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/envfile"
	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
	"github.com/cicd-excellence/actions/internal/testkit/steptest"
)

// TestCommandEnvironment: the command sees its values and the runner's
// environment, never the action's inputs (the token above all) or the
// runner's own credentials, with or without a record.
func TestCommandEnvironment(t *testing.T) {
	f := newInfra(t)
	c1 := f.push(all(a1))
	const secret = "ghs_SuperSecretToken0123456789abcdef"
	for _, record := range []string{"true", "false"} {
		t.Run("record-deployment "+record, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "env")
			runner := []string{
				"ACTIONS_RUNTIME_TOKEN=runtime-secret", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=oidc-secret",
				"ACTIONS_ID_TOKEN_REQUEST_URL=https://oidc.example", "RUNNER_TEMP=/tmp", "VERSION=stale", "OUT=" + out,
				// The same token under a name the command does get: masked.
				"LEAKED=" + secret,
			}
			env := append(f.env(c1, "INPUT_MODE=deploy", "INPUT_ENVIRONMENT=dev", "INPUT_RECORD_DEPLOYMENT="+record,
				`INPUT_COMMAND=env > "$OUT"; echo "leak: $LEAKED"`), runner...)
			for i, kv := range env {
				if strings.HasPrefix(kv, "INPUT_GITHUB_TOKEN=") {
					env[i] = "INPUT_GITHUB_TOKEN=" + secret
				}
			}
			f.srv.AddToken(secret, "github-actions[bot]", githubtest.Write)
			res := steptest.Run(t, Step, f.checkout(t, c1), env...)
			if res.Err != nil {
				t.Fatalf("%v\n%s", res.Err, res.Log)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			// LEAKED is the runner's own variable: the command gets it, and
			// only the log's mask protects it.
			var lines []string
			for _, l := range strings.Split(string(data), "\n") {
				if !strings.HasPrefix(l, "LEAKED=") {
					lines = append(lines, l)
				}
			}
			seen := strings.Join(lines, "\n")
			for _, bad := range []string{"INPUT_", secret, "runtime-secret", "oidc-secret", "ACTIONS_ID_TOKEN_REQUEST_URL", "VERSION=stale"} {
				if strings.Contains(seen, bad) {
					t.Errorf("the command's environment has %q:\n%s", bad, seen)
				}
			}
			want := []string{"ENVIRONMENT=dev", "VERSION=" + a1, "VERSION_API_TAG=" + a1, "VERSION_WEB_TAG=" + w1, `VERSIONS_JSON={"api.tag":"` + a1, "RUNNER_TEMP=/tmp"}
			if record == "true" {
				want = append(want, "DEPLOYMENT_ID="+res.Outputs["deployment-id"])
			}
			for _, w := range want {
				if !strings.Contains(seen, w) {
					t.Errorf("the command's environment lacks %q:\n%s", w, seen)
				}
			}
			// The runner learns the mask from ::add-mask::, which is the one
			// line allowed to carry it.
			log := strings.ReplaceAll(res.Log, "::add-mask::"+secret, "")
			if strings.Contains(log, secret) || !strings.Contains(log, "leak: ***") {
				t.Errorf("the token is not masked in the log:\n%s", res.Log)
			}
		})
	}
}

// rolledOut is an infra repo whose dev went a1 → a2 through two
// successful deploys.
func rolledOut(t *testing.T) (*infra, string) {
	t.Helper()
	f := newInfra(t)
	c1 := f.push(all(a1))
	f.run(t, c1)
	c2 := f.push(map[string]*string{"envs/dev.json": env(a2, w2), "envs/staging.json": env(a2, w1)})
	f.run(t, c2)
	return f, c2
}

const w2 = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

func (f *infra) rollback(t *testing.T, sha string, inputs ...string) steptest.Result {
	t.Helper()
	return steptest.Run(t, Step, "", f.env(sha, append([]string{"INPUT_MODE=rollback", "GITHUB_EVENT_NAME=workflow_dispatch", "GITHUB_ACTOR=alice"}, inputs...)...)...)
}

func (f *infra) openPRs(t *testing.T) []*gh.PullRequest {
	t.Helper()
	c := f.client(t, "reader-token", "reader")
	prs, _, err := c.PullRequests.List(context.Background(), "acme", "infra", &gh.PullRequestListOptions{State: "open"})
	if err != nil {
		t.Fatal(err)
	}
	return prs
}

// TestRollbackPrevious: `to: previous` sets the environment back to the
// versions of its last successful deployment before the current one, with
// the hold, through a PR a human approves; merged, converge deploys it and
// the hold keeps the next automatic bump away.
func TestRollbackPrevious(t *testing.T) {
	ctx := context.Background()
	f, c2 := rolledOut(t)
	res := f.rollback(t, c2, "INPUT_ENVIRONMENT=dev", "INPUT_REASON=INC-42: logins fail on a2")
	if res.Err != nil {
		t.Fatalf("%v\n%s", res.Err, res.Log)
	}
	prs := f.openPRs(t)
	if len(prs) != 1 || res.Outputs["pull-request-url"] != prs[0].GetHTMLURL() {
		t.Fatalf("open PRs %d, output %q", len(prs), res.Outputs["pull-request-url"])
	}
	pr := prs[0]
	body := pr.GetBody()
	for _, want := range []string{"Rollback of dev", "INC-42: logins fail on a2", "`api.tag` | `" + a2 + "` | `" + a1 + "`", "`web.tag` | `" + w2 + "` | `" + w1 + "`", "back to the versions of deployment", "removing the \"hold\" field"} {
		if !strings.Contains(body, want) {
			t.Errorf("PR body lacks %q:\n%s", want, body)
		}
	}
	if n := strings.Count(body, "| Key |"); n != 1 {
		t.Errorf("the PR body has %d change tables, want one:\n%s", n, body)
	}
	if !strings.Contains(pr.GetTitle(), "Roll back dev") {
		t.Errorf("title %q", pr.GetTitle())
	}
	file, err := f.srv.ReadFile("acme", "infra", pr.GetHead().GetRef(), "envs/dev.json")
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"api.tag": a1, "web.tag": w1, "api.hold": "INC-42: logins fail on a2", "web.hold": "INC-42: logins fail on a2"} {
		p, _ := envfile.ParsePath(path)
		if got, _, _ := envfile.Get([]byte(file), p); got != want {
			t.Errorf("%s = %q, want %q\n%s", path, got, want, file)
		}
	}
	// Nothing is deployed by the rollback itself; a rerun reuses the PR.
	if again := f.rollback(t, c2, "INPUT_ENVIRONMENT=dev", "INPUT_REASON=INC-42: logins fail on a2"); again.Err != nil || again.Outputs["pull-request-url"] != pr.GetHTMLURL() {
		t.Errorf("rerun: %v %v", again.Outputs, again.Err)
	}

	// A human approves and merges; the next run deploys dev at a1.
	if err := f.srv.Approve("acme", "infra", pr.GetNumber(), "alice"); err != nil {
		t.Fatal(err)
	}
	alice := f.client(t, "alice-token", "alice")
	if _, _, err := alice.PullRequests.Merge(ctx, "acme", "infra", pr.GetNumber(), "", &gh.PullRequestOptions{MergeMethod: "squash"}); err != nil {
		t.Fatal(err)
	}
	f.git("pull", "-q", "--ff-only", f.srv.CloneURL("acme", "infra", githubtest.DefaultToken), "main")
	merged := f.git("rev-parse", "HEAD")
	f.reset(t)
	if got := f.run(t, merged); strings.Join(got, ",") != "dev" || strings.Join(f.deployed(t), ",") != "dev@1" {
		t.Fatalf("after the merge, deployed %v (%v)", got, f.deployed(t))
	}

	// The bot's next bump of dev is skipped: the keys are held.
	p, _ := envfile.ParsePath("api.tag")
	u := &openinfrapr.Updater{GH: f.client(t, "bot-token", "pipeline[bot]"), Cfg: openinfrapr.Config{
		Owner: "acme", Repo: "infra", Environment: "dev", File: "envs/dev.json", Merge: openinfrapr.MergeNone, Title: "bump",
		Edits: []envfile.Edit{{Path: p, Value: a3}},
	}}
	out, err := u.Run(ctx)
	if err != nil || out.Operation != openinfrapr.OpSkipped || !strings.Contains(out.Reason, "INC-42") {
		t.Errorf("bump of a held key: %+v, %v", out, err)
	}
}

func TestRollbackTo(t *testing.T) {
	f, c2 := rolledOut(t)
	tests := []struct {
		name   string
		inputs []string
		input  string // the input the error names; "" for success
		msg    string
		want   map[string]string
	}{
		{"key=sha lines", []string{"INPUT_ENVIRONMENT=staging", "INPUT_TO=api.tag=" + a1}, "", "", map[string]string{"api.tag": a1, "api.hold": "r"}},
		{"a reason with quotes, a backslash and braces", []string{"INPUT_ENVIRONMENT=staging", "INPUT_TO=web.tag=" + w2, `INPUT_REASON=INC-1: "it" \ {sha} <b>`}, "", "", map[string]string{"web.tag": w2, "web.hold": `INC-1: "it" \ {sha} <b>`}},
		{"one SHA and version-key", []string{"INPUT_ENVIRONMENT=dev", "INPUT_TO=" + a1, "INPUT_VERSION_KEY=api.tag"}, "", "", map[string]string{"api.tag": a1, "web.tag": w2}},
		{"one SHA for two keys", []string{"INPUT_ENVIRONMENT=dev", "INPUT_TO=" + a1}, "to", "write key=sha lines", nil},
		{"not a SHA", []string{"INPUT_ENVIRONMENT=dev", "INPUT_TO=v1.2"}, "to", "neither previous", nil},
		{"untracked key", []string{"INPUT_ENVIRONMENT=dev", "INPUT_TO=api.replicas=" + a1}, "to", "not a tracked key", nil},
		{"already there", []string{"INPUT_ENVIRONMENT=prod", "INPUT_TO=api.tag=" + a1}, "to", "nothing to roll back", nil},
		{"no earlier deployment", []string{"INPUT_ENVIRONMENT=prod"}, "to", "no successful deployment before", nil},
		{"no reason", []string{"INPUT_ENVIRONMENT=dev", "INPUT_REASON="}, "reason", "required", nil},
		{"two-line reason", []string{"INPUT_ENVIRONMENT=dev", "INPUT_REASON=a\nb"}, "reason", "one line", nil},
		{"no environment", []string{"INPUT_ENVIRONMENT="}, "environment", "required", nil},
		{"unknown environment", []string{"INPUT_ENVIRONMENT=qa"}, "environment", "has no file", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := f.rollback(t, c2, append([]string{"INPUT_REASON=r"}, tc.inputs...)...)
			if tc.input != "" {
				var ie *action.InputError
				if !errors.As(res.Err, &ie) || ie.Input != tc.input || !strings.Contains(res.Err.Error(), tc.msg) {
					t.Fatalf("err = %v, want input %q: %q", res.Err, tc.input, tc.msg)
				}
				return
			}
			if res.Err != nil {
				t.Fatalf("%v\n%s", res.Err, res.Log)
			}
			var head string
			for _, pr := range f.openPRs(t) {
				if pr.GetHTMLURL() == res.Outputs["pull-request-url"] {
					head = pr.GetHead().GetRef()
				}
			}
			e := strings.TrimPrefix(tc.inputs[0], "INPUT_ENVIRONMENT=")
			file, err := f.srv.ReadFile("acme", "infra", head, "envs/"+e+".json")
			if err != nil {
				t.Fatal(err)
			}
			for path, want := range tc.want {
				p, _ := envfile.ParsePath(path)
				if got, _, _ := envfile.Get([]byte(file), p); got != want {
					t.Errorf("%s = %q, want %q", path, got, want)
				}
			}
		})
	}
}

// TestRollbackIgnoresForgedRecords: a record created by another identity,
// however successful it claims to be, is not the "previous" deployment.
func TestRollbackIgnoresForgedRecords(t *testing.T) {
	ctx := context.Background()
	f, c2 := rolledOut(t)
	mallory := f.client(t, "mallory-token", "mallory")
	evil := "6666666666666666666666666666666666666666"
	forged, _, err := mallory.Repositories.CreateDeployment(ctx, "acme", "infra", &gh.DeploymentRequest{
		Ref: gh.String(c2), Task: gh.String("deploy"), Environment: gh.String("dev"), AutoMerge: gh.Bool(false),
		RequiredContexts: &[]string{}, ProductionEnvironment: gh.Bool(false),
		Payload: payload{Versions: map[string]string{"api.tag": evil, "web.tag": evil}, RequestID: "0000000000000002"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := mallory.Repositories.CreateDeploymentStatus(ctx, "acme", "infra", forged.GetID(), &gh.DeploymentStatusRequest{State: gh.String("success")}); err != nil {
		t.Fatal(err)
	}
	res := f.rollback(t, c2, "INPUT_ENVIRONMENT=dev", "INPUT_REASON=INC-9")
	if res.Err != nil {
		t.Fatalf("%v\n%s", res.Err, res.Log)
	}
	prs := f.openPRs(t)
	if len(prs) != 1 {
		t.Fatalf("%d open PRs", len(prs))
	}
	file, err := f.srv.ReadFile("acme", "infra", prs[0].GetHead().GetRef(), "envs/dev.json")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(file, evil) || !strings.Contains(file, a1) || !strings.Contains(res.Log, "created by mallory") {
		t.Errorf("rolled back to a forged record:\n%s\n%s", file, res.Log)
	}
}
