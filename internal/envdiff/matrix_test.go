package envdiff

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestMatrix(t *testing.T) {
	tests := []struct {
		name string
		res  Result
		want string
	}{
		{name: "nothing", res: Result{}, want: `{"include":[]}`},
		{name: "only a deletion", res: Result{Environments: []EnvChange{{Environment: "qa", File: "envs/qa.json", Deleted: true}}}, want: `{"include":[]}`},
		{
			name: "two environments",
			res: Result{Changed: true, Environments: []EnvChange{
				{Environment: "dev", File: "envs/dev.json", Versions: map[string]string{"web.tag": "w", "api.tag": "a2"},
					Changes: []Change{{Key: "api.tag", Old: "a1", New: "a2"}}},
				{Environment: "qa", File: "envs/qa.json", Deleted: true},
				{Environment: "prod", File: "envs/prod.json", Versions: map[string]string{"web.tag": "w"},
					Changes: []Change{{Key: "api.tag", Old: "a1", Removed: true}}},
			}},
			want: `{"include":[` +
				`{"environment":"dev","file":"envs/dev.json","versions":{"api.tag":"a2","web.tag":"w"},"changes":[{"key":"api.tag","old":"a1","new":"a2"}]},` +
				`{"environment":"prod","file":"envs/prod.json","versions":{"web.tag":"w"},"changes":[{"key":"api.tag","old":"a1","new":"","removed":true}]}]}`,
		},
		{
			name: "nil maps and lists",
			res:  Result{Changed: true, Environments: []EnvChange{{Environment: "dev", File: "envs/dev.json"}}},
			want: `{"include":[{"environment":"dev","file":"envs/dev.json","versions":{},"changes":[]}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Matrix(&tt.res)
			if err != nil || got != tt.want {
				t.Fatalf("Matrix =\n%s, %v\nwant\n%s", got, err, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Fatal("invalid JSON")
			}
		})
	}
	var many Result
	for i := 0; i <= MaxMatrixJobs; i++ {
		many.Environments = append(many.Environments, EnvChange{Environment: fmt.Sprintf("e%d", i)})
	}
	if _, err := Matrix(&many); err == nil || !strings.Contains(err.Error(), "allows at most 256") {
		t.Fatalf("%d environments: %v", len(many.Environments), err)
	}
}

func TestSortEnvs(t *testing.T) {
	tests := []struct {
		in, order, want []string
	}{
		{[]string{"qa", "prod", "alpha", "dev", "staging"}, DefaultOrder(), []string{"dev", "staging", "prod", "alpha", "qa"}},
		{[]string{"b", "a"}, DefaultOrder(), []string{"a", "b"}},
		{[]string{"dev", "prod", "x"}, []string{"prod", "dev"}, []string{"prod", "dev", "x"}},
	}
	for _, tt := range tests {
		got := append([]string(nil), tt.in...)
		sortEnvs(got, tt.order)
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("sortEnvs(%v, %v) = %v, want %v", tt.in, tt.order, got, tt.want)
		}
	}
}
