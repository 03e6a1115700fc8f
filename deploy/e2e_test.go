package deploy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cicd-excellence/actions/internal/ghclient"
	"github.com/cicd-excellence/actions/internal/testkit/actrun"
	"github.com/cicd-excellence/actions/internal/testkit/acttest"
	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

func TestMain(m *testing.M) { os.Exit(acttest.Main(m)) }

// TestInfraWorkflowE2E runs the infra repo's deploy workflow with act through
// `uses: cicd-excellence/actions/deploy@v1` for three pushes, and checks which
// environments were deployed (the command's markers) and recorded (GitHub
// Deployments on the local GitHub).
func TestInfraWorkflowE2E(t *testing.T) {
	wf, err := os.ReadFile(filepath.Join("testdata", "deploy.yml"))
	if err != nil {
		t.Fatal(err)
	}
	base := map[string]string{
		".github/workflows/deploy.yml": string(wf),
		"envs/dev.json":                *env(a1, w1),
		"envs/staging.json":            *env(a1, w1),
		"envs/prod.json":               *env(a1, w1),
	}
	tests := []struct {
		name   string
		change map[string]string // the pushed commit's files
		want   []string          // environments deployed
	}{
		{"a push that changes only dev deploys only dev", map[string]string{"envs/dev.json": *env(a2, w1)}, []string{"dev"}},
		{"a promotion deploys only staging", map[string]string{"envs/staging.json": *env(a2, w1)}, []string{"staging"}},
		{"a non-tracked key deploys nothing", map[string]string{"envs/prod.json": strings.Replace(*env(a1, w1), `"replicas": 2`, `"replicas": 5`, 1)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := githubtest.New(t)
			if err := srv.CreateRepo(githubtest.RepoConfig{Owner: "acme", Name: "infra"}); err != nil {
				t.Fatal(err)
			}
			markers := t.TempDir()
			res := acttest.Execute(t, acttest.Run{Options: actrun.Options{
				Files: base, Repository: "acme/infra", Event: "push",
				Payload: `{"ref":"refs/heads/main","before":"{{INITIAL}}","after":"{{HEAD}}","repository":{"full_name":"acme/infra","default_branch":"main"}}`,
				Env:     map[string]string{"GITHUB_API_URL": srv.APIURL(), "GITHUB_SERVER_URL": srv.ServerURL(), "MARKER_DIR": markers},
				Secrets: map[string]string{"BOT_TOKEN": githubtest.DefaultToken},
				BeforeRun: func(repo, _ string) error {
					for name, content := range tc.change {
						if err := os.WriteFile(filepath.Join(repo, name), []byte(content), 0o644); err != nil {
							return err
						}
					}
					git := exec.Command("git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "change")
					if out, err := git.CombinedOutput(); err != nil {
						return fmt.Errorf("commit: %v\n%s", err, out)
					}
					// The infra repo on the local GitHub holds the same history:
					// the deployments name its commits.
					push := exec.Command("git", "-C", repo, "push", "-q", srv.CloneURL("acme", "infra", githubtest.DefaultToken), "HEAD:refs/heads/main")
					if out, err := push.CombinedOutput(); err != nil {
						return fmt.Errorf("push: %v\n%s", err, out)
					}
					return nil
				},
			}})
			if res.Err != nil {
				t.Fatalf("act: %v\n%s", res.Err, res.Log)
			}
			entries, _ := os.ReadDir(markers)
			var got []string
			for _, e := range entries {
				got = append(got, e.Name())
				v, _ := os.ReadFile(filepath.Join(markers, e.Name()))
				if strings.TrimSpace(string(v)) != a2 {
					t.Errorf("%s deployed VERSION %q, want %s", e.Name(), v, a2)
				}
			}
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("deployed %v, want %v\n%s", got, tc.want, res.Log)
			}
			want := fmt.Sprintf("changed=%t environments=%s", len(tc.want) > 0, strings.Join(tc.want, ","))
			if !res.Has(want) {
				t.Errorf("results = %q, want %q", res.Results, want)
			}
			deps, err := srv.Deployments("acme", "infra")
			if err != nil {
				t.Fatal(err)
			}
			if len(deps) != len(tc.want) {
				t.Fatalf("deployments = %+v, want one per deployed environment", deps)
			}
			for i, d := range deps {
				if d.Environment != tc.want[i] || d.SHA != res.Head || len(d.States) < 2 || d.States[len(d.States)-1] != "success" {
					t.Errorf("deployment %+v, want %s at %s ending in success", d, tc.want[i], res.Head)
				}
			}
		})
	}
}

// TestInfraWorkflowPerServiceE2E runs the per-service workflow with act: a
// push that bumps api and web in dev deploys two jobs, api then web, each
// with its own VERSION and keys, each recorded as its own Deployment of
// dev (task deploy:<service>).
func TestInfraWorkflowPerServiceE2E(t *testing.T) {
	wf, err := os.ReadFile(filepath.Join("testdata", "deploy-services.yml"))
	if err != nil {
		t.Fatal(err)
	}
	srv := githubtest.New(t)
	if err := srv.CreateRepo(githubtest.RepoConfig{Owner: "acme", Name: "infra"}); err != nil {
		t.Fatal(err)
	}
	markers := t.TempDir()
	res := acttest.Execute(t, acttest.Run{Options: actrun.Options{
		Files: map[string]string{
			".github/workflows/deploy.yml": string(wf),
			"envs/dev.json":                *env(a1, w1),
			"envs/prod.json":               *env(a1, w1),
		},
		Repository: "acme/infra", Event: "push",
		Payload: `{"ref":"refs/heads/main","before":"{{INITIAL}}","after":"{{HEAD}}","repository":{"full_name":"acme/infra","default_branch":"main"}}`,
		Env:     map[string]string{"GITHUB_API_URL": srv.APIURL(), "GITHUB_SERVER_URL": srv.ServerURL(), "MARKER_DIR": markers},
		Secrets: map[string]string{"BOT_TOKEN": githubtest.DefaultToken},
		BeforeRun: func(repo, _ string) error {
			if err := os.WriteFile(filepath.Join(repo, "envs/dev.json"), []byte(*env(a2, a2)), 0o644); err != nil {
				return err
			}
			for _, args := range [][]string{
				{"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "bump api and web in dev"},
				{"push", "-q", srv.CloneURL("acme", "infra", githubtest.DefaultToken), "HEAD:refs/heads/main"},
			} {
				if out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput(); err != nil {
					return fmt.Errorf("git %s: %v\n%s", args[len(args)-3], err, out)
				}
			}
			return nil
		},
	}})
	if res.Err != nil {
		t.Fatalf("act: %v\n%s", res.Err, res.Log)
	}
	want := map[string]string{
		"dev-api": a2 + ` {"api.tag":"` + a2 + `"}`,
		"dev-web": a2 + ` {"web.tag":"` + a2 + `"}`,
	}
	entries, _ := os.ReadDir(markers)
	if len(entries) != len(want) {
		t.Errorf("markers %v, want %v\n%s", entries, want, res.Log)
	}
	for name, w := range want {
		v, err := os.ReadFile(filepath.Join(markers, name))
		if err != nil || strings.TrimSpace(string(v)) != w {
			t.Errorf("%s: %q (%v), want %q", name, v, err, w)
		}
	}
	if !res.Has("changed=true environments=dev") {
		t.Errorf("results = %q", res.Results)
	}
	deps, err := srv.Deployments("acme", "infra")
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != 2 {
		t.Fatalf("deployments = %+v, want one per service", deps)
	}
	c, err := ghclient.New(srv.APIURL(), &ghclient.Transport{Token: githubtest.DefaultToken})
	if err != nil {
		t.Fatal(err)
	}
	for i, svc := range []string{"api", "web"} {
		d, _, err := c.Repositories.GetDeployment(context.Background(), "acme", "infra", deps[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.GetEnvironment() != "dev" || d.GetTask() != "deploy:"+svc || d.GetSHA() != res.Head || deps[i].States[len(deps[i].States)-1] != "success" {
			t.Errorf("deployment %d: %s %s at %s %v, want dev deploy:%s at %s ending in success", i, d.GetEnvironment(), d.GetTask(), d.GetSHA(), deps[i].States, svc, res.Head)
		}
	}
}
