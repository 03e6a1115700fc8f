package envdiff

import (
	"context"
	"errors"
	"github.com/cicd-excellence/actions/internal/testkit/gitrepo"
	"reflect"
	"strings"
	"testing"
)

func TestConverge(t *testing.T) {
	t.Parallel()
	all := func(api, web string) map[string]string { return map[string]string{"api.tag": api, "web.tag": web} }
	tests := []struct {
		name      string
		files     map[string]string // on top of base
		deployed  map[string]map[string]string
		want      []wantEnv
		notes     []string
		untracked []string
	}{
		{
			name:     "everything recorded at its desired versions: nothing to do",
			deployed: map[string]map[string]string{"dev": all(a1, w1), "staging": all(a1, w1), "prod": all(a1, w1)},
		},
		{
			name:     "never deployed: every environment, in order",
			deployed: map[string]map[string]string{},
			want: []wantEnv{
				{env: "dev", new: true, changes: []Change{{Key: "api.tag", New: a1}, {Key: "web.tag", New: w1}}},
				{env: "staging", new: true, changes: []Change{{Key: "api.tag", New: a1}, {Key: "web.tag", New: w1}}},
				{env: "prod", new: true, changes: []Change{{Key: "api.tag", New: a1}, {Key: "web.tag", New: w1}}},
			},
		},
		{
			// The middle run of three pushes never ran: staging was promoted
			// in it, and the third push only touched dev.
			name:     "a missed deploy is caught up",
			files:    map[string]string{"envs/dev.json": envJSON(a3, w1), "envs/staging.json": envJSON(a2, w1)},
			deployed: map[string]map[string]string{"dev": all(a2, w1), "staging": all(a1, w1), "prod": all(a1, w1)},
			want: []wantEnv{
				{env: "dev", changes: []Change{{Key: "api.tag", Old: a2, New: a3}}},
				{env: "staging", changes: []Change{{Key: "api.tag", Old: a1, New: a2}}},
			},
		},
		{
			name:     "a key no longer in the file is a change",
			files:    map[string]string{"envs/prod.json": `{"api": {"tag": "` + a1 + `"}}`},
			deployed: map[string]map[string]string{"dev": all(a1, w1), "staging": all(a1, w1), "prod": all(a1, w1)},
			want:     []wantEnv{{env: "prod", changes: []Change{{Key: "web.tag", Old: w1, Removed: true}}}},
		},
		{
			name:      "a file with no tracked key is reported, not deployed",
			files:     map[string]string{"envs/qa.json": `{"api": {"version": "` + a1 + `"}}`},
			deployed:  map[string]map[string]string{"dev": all(a1, w1), "staging": all(a1, w1), "prod": all(a1, w1)},
			untracked: []string{"envs/qa.json"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := gitrepo.New(t)
			head := base(r)
			if tc.files != nil {
				head = r.Commit("change", tc.files)
			}
			res, err := Converge(context.Background(), reader(r), head, Config{}, Recorded(tc.deployed))
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, res, tc.want, tc.notes)
			if !reflect.DeepEqual(res.Untracked, tc.untracked) {
				t.Errorf("Untracked = %q, want %q", res.Untracked, tc.untracked)
			}
		})
	}
}

func TestConvergeErrors(t *testing.T) {
	t.Parallel()
	r := gitrepo.New(t)
	head := base(r)
	broken := r.Commit("break", map[string]string{"envs/dev.json": "{\n  \"api\": \n}\n"})
	ctx := context.Background()
	if _, err := Converge(ctx, reader(r), "HEAD", Config{}, Recorded(nil)); err == nil || !strings.Contains(err.Error(), "not a full commit SHA") {
		t.Errorf("HEAD: %v", err)
	}
	if _, err := Converge(ctx, reader(r), strings.Repeat("c", 40), Config{}, Recorded(nil)); !errors.Is(err, ErrMissingCommit) {
		t.Errorf("a commit the clone lacks: %v", err)
	}
	var fe *FileError
	if _, err := Converge(ctx, reader(r), broken, Config{}, Recorded(nil)); !errors.As(err, &fe) || fe.File != "envs/dev.json" {
		t.Errorf("a broken file: %v", err)
	}
	if _, err := Converge(ctx, reader(r), head, Config{Tracked: []string{"api.**"}}, Recorded(nil)); err == nil {
		t.Error("a bad pattern: no error")
	}
}

func TestConvergeAsksOnlyWhatItNeeds(t *testing.T) {
	t.Parallel()
	r := gitrepo.New(t)
	head := r.Commit("files", map[string]string{"envs/dev.json": envJSON(a1, w1), "envs/notes.json": `{"owner": "ops"}`})
	var asked []string
	_, err := Converge(context.Background(), reader(r), head, Config{}, func(_ context.Context, env string) (map[string]string, bool, error) {
		asked = append(asked, env)
		return nil, false, nil
	})
	if err != nil || !reflect.DeepEqual(asked, []string{"dev"}) {
		t.Errorf("asked about %q (%v), want only dev", asked, err)
	}
	boom := errors.New("the API is down")
	_, err = Converge(context.Background(), reader(r), head, Config{}, func(context.Context, string) (map[string]string, bool, error) { return nil, false, boom })
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "dev: ") {
		t.Errorf("err = %v", err)
	}
}

func TestPlanReportsUntracked(t *testing.T) {
	t.Parallel()
	r := gitrepo.New(t)
	b := base(r)
	a := r.Commit("typo", map[string]string{"envs/dev.json": `{"api": {"tga": "` + a2 + `"}}`})
	res, err := Plan(context.Background(), reader(r), b, a, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.Untracked, []string{"envs/dev.json"}) {
		t.Errorf("Untracked = %q", res.Untracked)
	}
}
