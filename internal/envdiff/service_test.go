package envdiff

import (
	"context"
	"errors"
	"github.com/cicd-excellence/actions/internal/testkit/gitrepo"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestServiceOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key, want string
		ok        bool
	}{
		{"api.tag", "api", true},
		{"api.digest", "api", true},
		{"shop.web.tag", "shop.web", true},
		{`my\.app.tag`, `my\.app`, true},
		{`api.my\.tag`, "api", true},
		{"tag", "", false},
		{`a\.b`, "", false},
	}
	for _, tt := range tests {
		got, ok := ServiceOf(tt.key)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ServiceOf(%q) = %q, %v; want %q, %v", tt.key, got, ok, tt.want, tt.ok)
		}
	}
}

func TestValidService(t *testing.T) {
	t.Parallel()
	for _, good := range []string{"api", "shop.web", "svc-a", "svc_b.v2", strings.Repeat("a", MaxServiceLength)} {
		if err := ValidService(good); err != nil {
			t.Errorf("ValidService(%q) = %v", good, err)
		}
	}
	for _, bad := range []string{"", "a b", `my\.app`, "api.", ".api", "a..b", "api;rm", "$(x)", "api/tag", "é", strings.Repeat("a", MaxServiceLength+1), "a\nb"} {
		if err := ValidService(bad); err == nil {
			t.Errorf("ValidService(%q) = nil", bad)
		}
	}
}

func TestServiceVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		service string
		values  map[string]string
		want    string
	}{
		{"the tag", "api", map[string]string{"api.tag": "t", "api.digest": "d"}, "t"},
		{"the only key", "api", map[string]string{"api.image": "i"}, "i"},
		{"several keys, no tag", "api", map[string]string{"api.image": "i", "api.digest": "d"}, ""},
		{"a nested service", "shop.web", map[string]string{"shop.web.tag": "w"}, "w"},
	}
	for _, tt := range tests {
		if got := ServiceVersion(tt.service, tt.values); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestServices(t *testing.T) {
	t.Parallel()
	got, err := Services("envs/dev.json", map[string]string{"api.tag": "a", "api.digest": "d", "shop.web.tag": "w", "shop.tag": "s"})
	want := map[string]map[string]string{
		"api":      {"api.tag": "a", "api.digest": "d"},
		"shop":     {"shop.tag": "s"},
		"shop.web": {"shop.web.tag": "w"},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Services = %v, %v", got, err)
	}
	for _, tc := range []struct {
		values map[string]string
		want   string
	}{
		{map[string]string{"tag": "x"}, "envs/dev.json: tracked key tag: is not inside an object"},
		{map[string]string{"my app.tag": "x"}, `envs/dev.json: tracked key my app.tag: its service "my app" is not a service name`},
	} {
		if _, err := Services("envs/dev.json", tc.values); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Services(%v) = %v, want %q", tc.values, err, tc.want)
		}
	}
}

type wantSvc struct {
	env, service string
	changes      []Change
	new          bool
}

func services(res *Result) []wantSvc {
	var out []wantSvc
	for _, e := range res.Environments {
		if !e.Deleted {
			out = append(out, wantSvc{env: e.Environment, service: e.Service, changes: e.Changes, new: e.New})
		}
	}
	return out
}

func TestByService(t *testing.T) {
	t.Parallel()
	r := gitrepo.New(t)
	b := base(r)
	three := func(api, web, shop string) string {
		return `{"api": {"tag": "` + api + `", "digest": "sha256:1"}, "web": {"tag": "` + web + `"}, "shop": {"web": {"tag": "` + shop + `"}}}`
	}
	c1 := r.Commit("three services", map[string]string{"envs/dev.json": three(a1, w1, a1), "envs/prod.json": three(a1, w1, a1)})
	c2 := r.Commit("bump", map[string]string{"envs/dev.json": three(a2, w1, a2), "envs/prod.json": three(a1, w2, a1)})
	c3 := r.Commit("qa gone", map[string]string{"envs/qa.json": `{"api": {"tag": "` + a1 + `"}}`})
	c4 := r.Commit("qa deleted", map[string]string{"envs/qa.json": ""})
	tests := []struct {
		name          string
		before, after string
		want          []wantSvc
		envs          []string
	}{
		{
			name: "each changed service of each environment, environments in order, services sorted", before: c1, after: c2,
			want: []wantSvc{
				{env: "dev", service: "api", changes: []Change{{Key: "api.tag", Old: a1, New: a2}}},
				{env: "dev", service: "shop.web", changes: []Change{{Key: "shop.web.tag", Old: a1, New: a2}}},
				{env: "prod", service: "web", changes: []Change{{Key: "web.tag", Old: w1, New: w2}}},
			},
			envs: []string{"dev", "prod"},
		},
		{
			name: "a new key of a service", before: b, after: c1,
			want: []wantSvc{
				{env: "dev", service: "api", changes: []Change{{Key: "api.digest", New: "sha256:1"}}},
				{env: "dev", service: "shop.web", changes: []Change{{Key: "shop.web.tag", New: a1}}},
				{env: "prod", service: "api", changes: []Change{{Key: "api.digest", New: "sha256:1"}}},
				{env: "prod", service: "shop.web", changes: []Change{{Key: "shop.web.tag", New: a1}}},
			},
			envs: []string{"dev", "prod"},
		},
		{name: "a deleted file stays reported, not deployed", before: c3, after: c4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Plan(context.Background(), reader(r), tc.before, tc.after, Config{Tracked: []string{"**.tag", "**.digest"}})
			if err != nil {
				t.Fatal(err)
			}
			split, err := ByService(res)
			if err != nil {
				t.Fatal(err)
			}
			if got := services(split); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("entries\n got %+v\nwant %+v", got, tc.want)
			}
			if !reflect.DeepEqual(split.EnvironmentNames(), tc.envs) || split.Changed != (len(tc.want) > 0) {
				t.Errorf("environments %v, changed %v", split.EnvironmentNames(), split.Changed)
			}
			for _, e := range split.Environments {
				for k := range e.Versions {
					if s, _ := ServiceOf(k); s != e.Service {
						t.Errorf("%s/%s carries %s", e.Environment, e.Service, k)
					}
				}
			}
		})
	}
	t.Run("a service with every key removed is not deployed", func(t *testing.T) {
		c5 := r.Commit("web gone", map[string]string{"envs/prod.json": `{"api": {"tag": "` + a1 + `", "digest": "sha256:1"}, "shop": {"web": {"tag": "` + a1 + `"}}}`})
		res, err := Plan(context.Background(), reader(r), c4, c5, Config{})
		if err != nil {
			t.Fatal(err)
		}
		split, err := ByService(res)
		if err != nil || len(services(split)) != 0 || split.Changed || !slices.ContainsFunc(split.Notes, func(n string) bool { return strings.Contains(n, "service web has no tracked key left") }) {
			t.Errorf("%+v %v", split, err)
		}
	})
	t.Run("a top-level tracked key names no service", func(t *testing.T) {
		c6 := r.Commit("flat", map[string]string{"envs/prod.json": `{"tag": "` + a1 + `"}`})
		res, err := Plan(context.Background(), reader(r), c4, c6, Config{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ByService(res); err == nil || !strings.Contains(err.Error(), "envs/prod.json: tracked key tag: is not inside an object") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestConvergeServices(t *testing.T) {
	t.Parallel()
	r := gitrepo.New(t)
	head := r.Commit("files", map[string]string{
		"envs/dev.json":  `{"api": {"tag": "` + a2 + `", "digest": "d2"}, "web": {"tag": "` + w1 + `"}, "shop": {"web": {"tag": "` + a1 + `"}}}`,
		"envs/prod.json": `{"api": {"tag": "` + a1 + `", "digest": "d1"}, "web": {"tag": "` + w1 + `"}}`,
		"envs/qa.json":   `{"owner": "ops"}`,
	})
	var mu sync.Mutex
	var asked []string
	recorded := map[string]map[string]string{
		"dev/api":  {"api.tag": a1, "api.digest": "d1"},
		"dev/web":  {"web.tag": w1},
		"prod/api": {"api.tag": a1, "api.digest": "d1"},
		"prod/web": {"web.tag": w1, "web.old": "x"},
	}
	res, err := ConvergeServices(context.Background(), reader(r), head, Config{Tracked: []string{"**.tag", "**.digest", "**.old"}}, func(_ context.Context, env, svc string) (map[string]string, bool, error) {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, env+"/"+svc)
		v, ok := recorded[env+"/"+svc]
		return v, ok, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []wantSvc{
		{env: "dev", service: "api", changes: []Change{{Key: "api.digest", Old: "d1", New: "d2"}, {Key: "api.tag", Old: a1, New: a2}}},
		{env: "dev", service: "shop.web", changes: []Change{{Key: "shop.web.tag", New: a1}}, new: true},
		{env: "prod", service: "web", changes: []Change{{Key: "web.old", Old: "x", Removed: true}}},
	}
	if got := services(res); !reflect.DeepEqual(got, want) {
		t.Errorf("entries\n got %+v\nwant %+v", got, want)
	}
	if strings.Join(asked, ",") != "dev/api,dev/shop.web,dev/web,prod/api,prod/web" {
		t.Errorf("asked %v", asked)
	}
	if !reflect.DeepEqual(res.Untracked, []string{"envs/qa.json"}) {
		t.Errorf("Untracked = %v", res.Untracked)
	}
	m, err := Matrix(res)
	if err != nil {
		t.Fatal(err)
	}
	wantM := `{"include":[` +
		`{"environment":"dev","service":"api","version":"` + a2 + `","file":"envs/dev.json","versions":{"api.digest":"d2","api.tag":"` + a2 + `"},"changes":[{"key":"api.digest","old":"d1","new":"d2"},{"key":"api.tag","old":"` + a1 + `","new":"` + a2 + `"}]},` +
		`{"environment":"dev","service":"shop.web","version":"` + a1 + `","file":"envs/dev.json","versions":{"shop.web.tag":"` + a1 + `"},"changes":[{"key":"shop.web.tag","old":"","new":"` + a1 + `"}]},` +
		`{"environment":"prod","service":"web","version":"` + w1 + `","file":"envs/prod.json","versions":{"web.tag":"` + w1 + `"},"changes":[{"key":"web.old","old":"x","new":"","removed":true}]}]}`
	if m != wantM {
		t.Errorf("Matrix =\n%s\nwant\n%s", m, wantM)
	}

	boom := errors.New("the API is down")
	_, err = ConvergeServices(context.Background(), reader(r), head, Config{}, func(context.Context, string, string) (map[string]string, bool, error) {
		return nil, false, boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "dev: api: ") {
		t.Errorf("err = %v", err)
	}
	flat := r.Commit("flat", map[string]string{"envs/prod.json": `{"tag": "` + a1 + `"}`})
	if _, err := ConvergeServices(context.Background(), reader(r), flat, Config{}, func(context.Context, string, string) (map[string]string, bool, error) {
		return nil, false, nil
	}); err == nil || !strings.Contains(err.Error(), "tracked key tag: is not inside an object") {
		t.Errorf("a top-level key: %v", err)
	}
}
