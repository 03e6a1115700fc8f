package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/envfile"
	"github.com/cicd-excellence/actions/internal/testkit/steptest"
)

// Per service: a key's parent is its service (api.tag and api.digest are
// api's, shop.web.tag is shop.web's).
const (
	tracked = "INPUT_TRACKED=**.tag, **.digest"
	bySvc   = "INPUT_MATRIX=service"
	s1      = "5555555555555555555555555555555555555555"
	s2      = "6666666666666666666666666666666666666666"
)

// svcEnv is an environment file of three services, one with two keys.
func svcEnv(api, web, shop string) *string {
	return s(`{
  "api": {
    "tag": "` + api + `",
    "digest": "sha256:` + api[:8] + `",
    "replicas": 2
  },
  "web": {
    "tag": "` + web + `"
  },
  "shop": {
    "web": {
      "tag": "` + shop + `"
    }
  }
}
`)
}

func allSvc(api, web, shop string) map[string]*string {
	return map[string]*string{"envs/dev.json": svcEnv(api, web, shop), "envs/staging.json": svcEnv(api, web, shop), "envs/prod.json": svcEnv(api, web, shop)}
}

type svcEntry struct {
	Environment string            `json:"environment"`
	Service     string            `json:"service"`
	Version     string            `json:"version"`
	File        string            `json:"file"`
	Versions    map[string]string `json:"versions"`
	Changes     []struct {
		Key, Old, New string
	} `json:"changes"`
}

// planServices runs a per-service plan (converge unless more says
// otherwise) and returns its entries as environment/service.
func (f *infra) planServices(t *testing.T, sha string, more ...string) ([]string, []svcEntry, steptest.Result) {
	t.Helper()
	res := f.tryPlan(t, sha, append([]string{tracked, bySvc}, more...)...)
	if res.Err != nil {
		t.Fatalf("plan at %s: %v\n%s", sha[:7], res.Err, res.Log)
	}
	var m struct {
		Include []svcEntry `json:"include"`
	}
	if err := json.Unmarshal([]byte(res.Outputs["matrix"]), &m); err != nil {
		t.Fatalf("matrix %q: %v", res.Outputs["matrix"], err)
	}
	var names, envs []string
	for _, e := range m.Include {
		names = append(names, e.Environment+"/"+e.Service)
		if !slices.Contains(envs, e.Environment) {
			envs = append(envs, e.Environment)
		}
	}
	if strings.Join(envs, ",") != res.Outputs["environments"] || res.Outputs["changed"] != fmt.Sprint(len(names) > 0) {
		t.Errorf("matrix %v, environments %q, changed %q", names, res.Outputs["environments"], res.Outputs["changed"])
	}
	return names, m.Include, res
}

const svcCommand = `echo "$ENVIRONMENT/$SERVICE $VERSION" >> "$MARKERS"`

// deployService runs the deploy job of one matrix entry.
func (f *infra) deployService(t *testing.T, sha, env, service, command string, more ...string) steptest.Result {
	t.Helper()
	return f.deploy(t, sha, env, command, append([]string{tracked, "INPUT_SERVICE=" + service}, more...)...)
}

// runServices is one workflow run per service: a converge plan, then each
// entry in order.
func (f *infra) runServices(t *testing.T, sha string) []string {
	t.Helper()
	names, entries, _ := f.planServices(t, sha)
	for _, e := range entries {
		if res := f.deployService(t, sha, e.Environment, e.Service, svcCommand); res.Err != nil {
			t.Fatalf("deploy %s/%s at %s: %v\n%s", e.Environment, e.Service, sha[:7], res.Err, res.Log)
		}
	}
	return names
}

// lines are the markers the commands wrote, in order.
func (f *infra) lines(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(f.markers)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

// TestServicePlan: with matrix: service, both plans give one entry per
// environment × changed service, environments in order and services
// sorted, each with its service, version and its own keys only.
func TestServicePlan(t *testing.T) {
	f := newInfra(t)
	c1 := f.push(allSvc(a1, w1, s1))
	c2 := f.push(map[string]*string{"envs/dev.json": svcEnv(a2, w1, s2), "envs/staging.json": svcEnv(a1, a2, s1)})

	diff := steptest.Run(t, Step, f.checkout(t, c2), f.env(c2, "INPUT_MODE=plan", "INPUT_BEFORE="+c1, "INPUT_AFTER="+c2, tracked, bySvc)...)
	if diff.Err != nil {
		t.Fatalf("%v\n%s", diff.Err, diff.Log)
	}
	var m struct {
		Include []svcEntry `json:"include"`
	}
	if err := json.Unmarshal([]byte(diff.Outputs["matrix"]), &m); err != nil {
		t.Fatal(err)
	}
	want := []string{"dev/api " + a2, "dev/shop.web " + s2, "staging/web " + a2}
	var got []string
	for _, e := range m.Include {
		got = append(got, e.Environment+"/"+e.Service+" "+e.Version)
		for k := range e.Versions {
			if !strings.HasPrefix(k, e.Service+".") || strings.Count(strings.TrimPrefix(k, e.Service+"."), ".") != 0 {
				t.Errorf("%s/%s carries %s", e.Environment, e.Service, k)
			}
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") || diff.Outputs["environments"] != "dev,staging" {
		t.Errorf("diff plan entries %v (environments %q), want %v", got, diff.Outputs["environments"], want)
	}
	if api := m.Include[0]; len(api.Versions) != 2 || api.Versions["api.digest"] != "sha256:"+a2[:8] || len(api.Changes) != 2 || api.File != "envs/dev.json" {
		t.Errorf("dev/api entry %+v", api)
	}
	if !strings.Contains(diff.Log, "deploy, in order: dev/api, dev/shop.web, staging/web") {
		t.Errorf("log:\n%s", diff.Log)
	}

	// Never deployed: every service of every environment, in order.
	names, _, res := f.planServices(t, c2)
	if strings.Join(names, ",") != "dev/api,dev/shop.web,dev/web,staging/api,staging/shop.web,staging/web,prod/api,prod/shop.web,prod/web" {
		t.Errorf("converge planned %v", names)
	}
	if !strings.Contains(res.Summary, "| api in dev (never deployed) | `api.digest` |") {
		t.Errorf("summary:\n%s", res.Summary)
	}
	// The default stays one entry per environment, with no service field.
	envs, res := f.plan(t, c2)
	if strings.Join(envs, ",") != "dev,staging,prod" || strings.Contains(res.Outputs["matrix"], `"service"`) {
		t.Errorf("per environment: %v %s", envs, res.Outputs["matrix"])
	}
}

// TestServiceDeploy: the command gets SERVICE, VERSION (the service's tag)
// and its keys only; the record is the environment's, with task
// deploy:<service> and the service in its payload.
func TestServiceDeploy(t *testing.T) {
	f := newInfra(t)
	c1 := f.push(allSvc(a1, w1, s1))
	marker := filepath.Join(t.TempDir(), "seen")
	cmd := `printf '%s|%s|%s|%s|%s|%s|%s\n' "$ENVIRONMENT" "$SERVICE" "$VERSION" "$VERSION_API_TAG" "$VERSION_API_DIGEST" "${VERSION_WEB_TAG-unset}" "$VERSIONS_JSON" > "$SEEN"`
	res := f.deployService(t, c1, "dev", "api", cmd, "SEEN="+marker, "SERVICE=forged", "VERSION_WEB_TAG=forged")
	if res.Err != nil {
		t.Fatalf("%v\n%s", res.Err, res.Log)
	}
	seen, _ := os.ReadFile(marker)
	want := "dev|api|" + a1 + "|" + a1 + "|sha256:11111111|unset|" + `{"api.digest":"sha256:11111111","api.tag":"` + a1 + `"}` + "\n"
	if string(seen) != want || res.Outputs["version"] != a1 {
		t.Errorf("the command saw\n%q\nwant\n%q (version output %q)", seen, want, res.Outputs["version"])
	}
	ctx := context.Background()
	client := f.client(t, "reader-token", "reader")
	list, _, err := client.Repositories.ListDeployments(ctx, "acme", "infra", &gh.DeploymentsListOptions{Environment: "dev", Task: "deploy:api"})
	if err != nil || len(list) != 1 {
		t.Fatalf("deploy:api records of dev: %d, %v", len(list), err)
	}
	var p payload
	if err := json.Unmarshal(list[0].Payload, &p); err != nil || p.Service != "api" || len(p.Versions) != 2 || fmt.Sprint(list[0].GetID()) != res.Outputs["deployment-id"] {
		t.Errorf("record %+v payload %+v (%v)", list[0], p, err)
	}
	// A nested service, whose only key is its tag.
	res = f.deployService(t, c1, "prod", "shop.web", cmd, "SEEN="+marker)
	seen, _ = os.ReadFile(marker)
	if res.Err != nil || !strings.HasPrefix(string(seen), "prod|shop.web|"+s1+"|||unset|") {
		t.Errorf("shop.web: %v %q\n%s", res.Err, seen, res.Log)
	}
	// The same versions again: recorded, not run.
	again := f.deployService(t, c1, "dev", "api", markCommand)
	if again.Err != nil || len(f.lines(t)) != 0 || !strings.Contains(again.Log, "already deployed these versions") {
		t.Errorf("a second deploy of dev/api: %v %v\n%s", again.Err, f.lines(t), again.Log)
	}

	bad := []struct {
		name, input string
		env         []string
	}{
		{"a service not in the file", "service", []string{"INPUT_SERVICE=billing"}},
		{"a service with a space", "service", []string{"INPUT_SERVICE=my app"}},
		{"a service with shell characters", "service", []string{"INPUT_SERVICE=api;rm -rf /"}},
		{"a service that is a key", "service", []string{"INPUT_SERVICE=api.tag"}},
		{"a version-key of another service", "version-key", []string{"INPUT_SERVICE=api", "INPUT_VERSION_KEY=web.tag"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			env := append([]string{"INPUT_MODE=deploy", "INPUT_ENVIRONMENT=dev", "INPUT_COMMAND=touch " + marker + ".bad", tracked}, tc.env...)
			res := steptest.Run(t, Step, f.checkout(t, c1), f.env(c1, env...)...)
			var ie *action.InputError
			if !errors.As(res.Err, &ie) || ie.Input != tc.input || strings.Contains(res.Err.Error(), "\n") {
				t.Fatalf("err = %v, want one line naming input %q", res.Err, tc.input)
			}
			if _, err := os.Stat(marker + ".bad"); err == nil {
				t.Error("the command ran")
			}
		})
	}
	t.Run("an unknown matrix", func(t *testing.T) {
		res := f.tryPlan(t, c1, "INPUT_MATRIX=services")
		var ie *action.InputError
		if !errors.As(res.Err, &ie) || ie.Input != "matrix" || !strings.Contains(res.Err.Error(), `"services" is not one of environment, service`) {
			t.Fatalf("err = %v", res.Err)
		}
	})
	deps, err := f.srv.Deployments("acme", "infra")
	if err != nil || len(deps) != 3 {
		t.Errorf("bad inputs left records: %d %v", len(deps), err)
	}
	t.Run("a file with a top-level key cannot be planned per service", func(t *testing.T) {
		c2 := f.push(map[string]*string{"envs/qa.json": s(`{"tag": "` + a1 + `"}`)})
		res := f.tryPlan(t, c2, bySvc)
		var ie *action.InputError
		if !errors.As(res.Err, &ie) || ie.Input != "matrix" || !strings.Contains(res.Err.Error(), "envs/qa.json: tracked key tag: is not inside an object") {
			t.Fatalf("err = %v", res.Err)
		}
	})
}

// TestServiceConvergeMigration: records made per environment before the
// switch count for every service in them; after it, each service is
// compared with its own newest successful record.
func TestServiceConvergeMigration(t *testing.T) {
	f := newInfra(t)
	c1 := f.push(allSvc(a1, w1, s1))
	envs, _ := f.plan(t, c1, tracked)
	for _, e := range envs {
		if res := f.deploy(t, c1, e, markCommand, tracked); res.Err != nil {
			t.Fatalf("deploy %s: %v\n%s", e, res.Err, res.Log)
		}
	}
	if len(envs) != 3 {
		t.Fatalf("per environment deployed %v", envs)
	}
	f.reset(t)
	// Switching deploys nothing again.
	if names, _, res := f.planServices(t, c1); len(names) != 0 || !strings.Contains(res.Log, "all environments at their desired versions") {
		t.Fatalf("after the switch planned %v\n%s", names, res.Log)
	}
	c2 := f.push(map[string]*string{"envs/dev.json": svcEnv(a2, w1, s1)})
	if got := f.runServices(t, c2); strings.Join(got, ",") != "dev/api" {
		t.Fatalf("planned %v, want dev/api", got)
	}
	c3 := f.push(map[string]*string{"envs/dev.json": svcEnv(a2, a2, s1), "envs/staging.json": svcEnv(a2, w1, s1)})
	if got := f.runServices(t, c3); strings.Join(got, ",") != "dev/web,staging/api" {
		t.Fatalf("planned %v, want dev/web,staging/api", got)
	}
	if got := f.lines(t); strings.Join(got, ",") != "dev/api "+a2+",dev/web "+a2+",staging/api "+a2 {
		t.Errorf("deployed %v", got)
	}
	// A failed service deploy is planned again; the others are not.
	c4 := f.push(map[string]*string{"envs/dev.json": svcEnv(a3, a2, s2)})
	if res := f.deployService(t, c4, "dev", "api", "exit 4"); res.Err == nil {
		t.Fatal("a failing command succeeded")
	}
	if res := f.deployService(t, c4, "dev", "shop.web", svcCommand); res.Err != nil {
		t.Fatal(res.Err)
	}
	if names, _, _ := f.planServices(t, c4); strings.Join(names, ",") != "dev/api" {
		t.Errorf("after api failed, planned %v", names)
	}
	// A per-environment deploy since counts for every service in it.
	if res := f.deploy(t, c4, "dev", markCommand, tracked); res.Err != nil {
		t.Fatal(res.Err)
	}
	if names, _, _ := f.planServices(t, c4); len(names) != 0 {
		t.Errorf("after a whole-environment deploy, planned %v", names)
	}
}

// TestServiceCrowd: deploy runs for every service of one environment at
// once, each service twice (two workflow runs): each command runs once,
// every service gets its own successful record and none is marked
// inactive by another's, and converge plans nothing afterwards.
func TestServiceCrowd(t *testing.T) {
	f := newInfra(t)
	c1 := f.push(map[string]*string{"envs/dev.json": svcEnv(a1, w1, s1)})
	services := []string{"api", "web", "shop.web"}
	var wg sync.WaitGroup
	for run := 0; run < 2; run++ {
		for _, svc := range services {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if res := f.deployService(t, c1, "dev", svc, svcCommand); res.Err != nil {
					t.Errorf("deploy dev/%s: %v\n%s", svc, res.Err, res.Log)
				}
			}()
		}
	}
	wg.Wait()
	got := f.lines(t)
	slices.Sort(got)
	if strings.Join(got, ",") != "dev/api "+a1+",dev/shop.web "+s1+",dev/web "+w1 {
		t.Errorf("the commands ran %v; want each service once", got)
	}
	ctx := context.Background()
	client := f.client(t, "reader-token", "reader")
	for _, svc := range services {
		list, _, err := client.Repositories.ListDeployments(ctx, "acme", "infra", &gh.DeploymentsListOptions{Environment: "dev", Task: "deploy:" + svc})
		if err != nil {
			t.Fatal(err)
		}
		var ends []string
		for _, d := range list {
			sts, _, err := client.Repositories.ListDeploymentStatuses(ctx, "acme", "infra", d.GetID(), nil)
			if err != nil {
				t.Fatal(err)
			}
			ends = append(ends, sts[0].GetState())
		}
		slices.Sort(ends)
		if strings.Join(ends, ",") != "inactive,success" {
			t.Errorf("dev/%s records end %v, want one success and one inactive (the run that stepped aside)", svc, ends)
		}
	}
	if names, _, _ := f.planServices(t, c1); len(names) != 0 {
		t.Errorf("after the crowd, planned %v", names)
	}
}

// TestServiceConvergeTrustsOnlyTheDeployers: a user with write access
// creates a deploy:api record of staging at the desired versions with a
// success status, and marks a failed deploy:web record successful. Converge
// ignores both, per service.
func TestServiceConvergeTrustsOnlyTheDeployers(t *testing.T) {
	ctx := context.Background()
	f := newInfra(t)
	c1 := f.push(allSvc(a1, w1, s1))
	f.runServices(t, c1)
	c2 := f.push(map[string]*string{"envs/staging.json": svcEnv(a2, w1, s1), "envs/prod.json": svcEnv(a1, a2, s1)})
	mallory := f.client(t, "mallory-token", "mallory")
	forged, _, err := mallory.Repositories.CreateDeployment(ctx, "acme", "infra", &gh.DeploymentRequest{
		Ref: gh.String(c2), Task: gh.String("deploy:api"), Environment: gh.String("staging"), AutoMerge: gh.Bool(false),
		RequiredContexts: &[]string{}, ProductionEnvironment: gh.Bool(false),
		Payload: payload{Versions: map[string]string{"api.tag": a2, "api.digest": "sha256:" + a2[:8]}, Service: "api", RequestID: "0000000000000001"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := mallory.Repositories.CreateDeploymentStatus(ctx, "acme", "infra", forged.GetID(), &gh.DeploymentStatusRequest{State: gh.String("success")}); err != nil {
		t.Fatal(err)
	}
	res := f.deployService(t, c2, "prod", "web", "exit 1")
	if res.Err == nil {
		t.Fatal("a failing command succeeded")
	}
	var failed int64
	fmt.Sscan(res.Outputs["deployment-id"], &failed)
	if _, _, err := mallory.Repositories.CreateDeploymentStatus(ctx, "acme", "infra", failed, &gh.DeploymentStatusRequest{State: gh.String("success")}); err != nil {
		t.Fatal(err)
	}
	names, _, res := f.planServices(t, c2)
	if strings.Join(names, ",") != "staging/api,prod/web" {
		t.Fatalf("planned %v, want staging/api,prod/web (the forged records ignored)\n%s", names, res.Log)
	}
	for _, want := range []string{
		fmt.Sprintf("ignored deployment %d of api in staging: created by mallory", forged.GetID()),
		fmt.Sprintf(`ignored status "success" of deployment %d of web in prod: set by mallory`, failed),
	} {
		if !strings.Contains(res.Log, want) {
			t.Errorf("log lacks %q:\n%s", want, res.Log)
		}
	}
	// The deploy itself does not take the forged record for its own.
	f.reset(t)
	if res := f.deployService(t, c2, "staging", "api", svcCommand); res.Err != nil || strings.Join(f.lines(t), ",") != "staging/api "+a2 {
		t.Errorf("deploy staging/api: %v %v\n%s", res.Err, f.lines(t), res.Log)
	}
}

// TestServiceRollbackPreviousRefuses: rollback's previous reads
// whole-environment records; once an environment is deployed per service
// they no longer say what runs, so previous refuses (naming to) instead of
// rolling back to a stale pair. An untrusted per-service record does not
// block it.
func TestServiceRollbackPreviousRefuses(t *testing.T) {
	f, c2 := rolledOut(t)
	mallory := f.client(t, "mallory-token", "mallory")
	if _, _, err := mallory.Repositories.CreateDeployment(context.Background(), "acme", "infra", &gh.DeploymentRequest{
		Ref: gh.String(c2), Task: gh.String("deploy:api"), Environment: gh.String("dev"), AutoMerge: gh.Bool(false),
		RequiredContexts: &[]string{}, Payload: payload{Versions: map[string]string{"api.tag": a2}, Service: "api", RequestID: "1"},
	}); err != nil {
		t.Fatal(err)
	}
	if res := f.rollback(t, c2, "INPUT_ENVIRONMENT=dev", "INPUT_REASON=INC-1: x"); res.Err != nil || len(f.openPRs(t)) != 1 {
		t.Fatalf("an untrusted per-service record blocked previous: %v\n%s", res.Err, res.Log)
	}
	c3 := f.push(map[string]*string{"envs/dev.json": env(a3, w2)})
	if res := f.deploy(t, c3, "dev", markCommand, "INPUT_SERVICE=api"); res.Err != nil {
		t.Fatal(res.Err)
	}
	res := f.rollback(t, c3, "INPUT_ENVIRONMENT=dev", "INPUT_REASON=INC-2: api breaks")
	if res.Err == nil || !strings.Contains(res.Err.Error(), "dev is deployed per service since") || !strings.Contains(res.Err.Error(), "of api") || len(f.openPRs(t)) != 1 {
		t.Fatalf("err = %v, PRs %d", res.Err, len(f.openPRs(t)))
	}
}

// TestVersionsDefault: which value is VERSION, per environment and per
// service, when the keys alone decide.
func TestVersionsDefault(t *testing.T) {
	pats, err := envfile.ParsePatterns([]string{"**.tag", "**.digest", "**.image"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, service, versionKey, want string
		wantInput                             string // the input an error names
	}{
		{"one key", `{"svc": {"tag": "t"}}`, "", "", "t", ""},
		{"one service's tag and digest", `{"svc-a": {"tag": "t", "digest": "d"}}`, "", "", "t", ""},
		{"several services: api.tag", `{"api": {"tag": "a"}, "web": {"tag": "w"}}`, "", "", "a", ""},
		{"several services, version-key", `{"api": {"tag": "a"}, "web": {"tag": "w"}}`, "", "web.tag", "w", ""},
		{"a service's tag", `{"api": {"tag": "a", "digest": "d"}, "web": {"tag": "w"}}`, "api", "", "a", ""},
		{"a service's digest by version-key", `{"api": {"tag": "a", "digest": "d"}}`, "api", "api.digest", "d", ""},
		{"a service with only a digest", `{"api": {"digest": "d"}}`, "api", "", "d", ""},
		{"a service without a tag and two keys", `{"api": {"image": "i", "digest": "d"}}`, "api", "", "", "version-key"},
		{"a service not in the file", `{"api": {"tag": "a"}}`, "web", "", "", "service"},
		{"a version-key of another service", `{"api": {"tag": "a"}, "web": {"tag": "w"}}`, "api", "web.tag", "", "version-key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			if tc.service == "" {
				_, got, _, err = Versions([]byte(tc.file), pats, tc.versionKey)
			} else {
				_, got, _, err = ServiceVersions([]byte(tc.file), pats, tc.service, tc.versionKey)
			}
			var ie *action.InputError
			switch {
			case tc.wantInput != "":
				if !errors.As(err, &ie) || ie.Input != tc.wantInput {
					t.Errorf("err = %v, want input %q", err, tc.wantInput)
				}
			case err != nil || got != tc.want:
				t.Errorf("VERSION = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
