package openinfrapr

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

// servicesWorld: two app repos (acme/svc-a, acme/svc-b, three commits each)
// and an infra repo whose services.json maps svc-a.tag and svc-b.tag to them.
type servicesWorld struct {
	*world
	a, b []string
}

func newServicesWorld(t *testing.T, services string) *servicesWorld {
	t.Helper()
	sw := &servicesWorld{world: newWorld(t)}
	for _, name := range []string{"svc-a", "svc-b"} {
		must(t, sw.srv.CreateRepo(githubtest.RepoConfig{Owner: "acme", Name: name, Private: true}))
		for i := 0; i < 3; i++ {
			sha, err := sw.srv.CommitFiles("acme", name, "main", map[string]string{"v": fmt.Sprint(i)}, fmt.Sprintf("%s %d", name, i))
			must(t, err)
			if name == "svc-a" {
				sw.a = append(sw.a, sha)
			} else {
				sw.b = append(sw.b, sha)
			}
		}
	}
	env := func(a, b string) string {
		return fmt.Sprintf("{\n  \"svc-a\": {\n    \"tag\": %q\n  },\n  \"svc-b\": {\n    \"tag\": %q\n  }\n}\n", a, b)
	}
	files := map[string]string{
		"envs/dev.json":     env(sw.a[2], sw.b[2]),
		"envs/staging.json": env(sw.a[0], sw.b[0]),
	}
	if services != "" {
		files["services.json"] = services
	}
	_, err := sw.srv.CommitFiles("acme", "infra", "main", files, "services")
	must(t, err)
	return sw
}

// TestPromotionOfManyServices: one PR moves every service of dev to staging,
// each key ordered and linked against its own (private) app repo.
func TestPromotionOfManyServices(t *testing.T) {
	for _, tc := range []struct{ name, services string }{
		{"explicit keys", `{"keys": {"svc-a.tag": "acme/svc-a", "svc-b.tag": "acme/svc-b"}}`},
		{"default rule", `{"default": "{owner}/{name}"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newServicesWorld(t, tc.services)
			out, log, err := w.run(t, "INPUT_ENVIRONMENT=staging", "INPUT_PROMOTE_FROM=dev")
			if err != nil || out["operation"] != "created" {
				t.Fatalf("%v %v\n%s", err, out, log)
			}
			prs := w.pulls(t)
			if len(prs) != 1 {
				t.Fatalf("want one PR for every service, got %d", len(prs))
			}
			for _, link := range []string{
				"acme/svc-a/compare/" + w.a[0] + "..." + w.a[2],
				"acme/svc-b/compare/" + w.b[0] + "..." + w.b[2],
			} {
				if !strings.Contains(prs[0].Body, link) {
					t.Errorf("the PR body lacks the compare link %s:\n%s", link, prs[0].Body)
				}
			}
			head, err := w.srv.ReadFile("acme", "infra", prs[0].HeadSHA, "envs/staging.json")
			must(t, err)
			if !strings.Contains(head, w.a[2]) || !strings.Contains(head, w.b[2]) {
				t.Errorf("staging on the PR does not hold dev's versions:\n%s", head)
			}
		})
	}
}

// TestServicesMapErrors: a key the map does not place, a map that names the
// wrong repo for a key, and a broken map each fail in one line naming
// services-file or the value, and write nothing.
func TestServicesMapErrors(t *testing.T) {
	for _, tc := range []struct{ name, services, want string }{
		{"key with no repo", `{"keys": {"svc-a.tag": "acme/svc-a"}}`, `services-file`},
		{"wrong repo", `{"keys": {"svc-a.tag": "acme/svc-a", "svc-b.tag": "acme/svc-a"}}`, "is not a commit of acme/svc-a"},
		{"broken map", `{"keys": {"svc-a.tag": "not a repo"}}`, `services-file`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newServicesWorld(t, tc.services)
			w.srv.ResetRequests()
			_, log, err := w.run(t, "INPUT_ENVIRONMENT=staging", "INPUT_PROMOTE_FROM=dev")
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line containing %q\n%s", err, tc.want, log)
			}
			for _, r := range w.srv.Requests() {
				if r.Method != "GET" {
					t.Errorf("a refused run wrote: %s %s", r.Method, r.Path)
				}
			}
		})
	}
}
