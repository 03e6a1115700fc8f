package deploy

import (
	"fmt"
	"strings"
	"testing"
)

// TestValidateBatchPromotion: one PR promotes every service from dev to
// staging, each key checked against its own app repository and the
// promotion chain. With one key rejected, the check fails naming that key
// (at its line) and only that key: a reviewer fixes one line, not forty.
func TestValidateBatchPromotion(t *testing.T) {
	f := newGuardFixture(t)
	w3, err := f.srv.CommitFiles("acme", "web", "main", map[string]string{"main.go": "w3"}, "w3")
	must(t, err)
	two := func(api, web string) string {
		return fmt.Sprintf("{\n  \"api\": {\"tag\": %q},\n  \"web\": {\"tag\": %q}\n}\n", api, web)
	}
	base := f.newInfra("infra3", map[string]string{
		"envs/dev.json":     two(f.c3, f.w2),
		"envs/staging.json": two(f.c1, f.w1),
		"services.json":     `{"default": "{owner}/{name}"}`,
	})
	tests := []struct {
		name    string
		staging string
		want    []string // each must be in the log
		notWant []string // none may be
	}{
		{name: "every service moves to dev's version", staging: two(f.c3, f.w2)},
		{name: "one service was never in dev", staging: two(f.c3, w3),
			want:    []string{"::error file=envs/staging.json,line=3::promotion: web.tag = " + w3[:7] + " was never in dev"},
			notWant: []string{"api.tag = " + f.c3[:7]}},
		{name: "one service from the wrong repository", staging: two(f.w2, f.w2),
			want:    []string{"api.tag = " + f.w2 + " is not a commit of acme/api"},
			notWant: []string{"web.tag"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.t = t
			branch := fmt.Sprintf("promote-%d", i)
			head := f.pushAsHuman(branch, map[string]string{"envs/staging.json": tc.staging})
			n := f.openPR(branch, humanLogin)
			log, err := f.validate(n, base, branch, head, humanLogin)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("validate failed: %v\n%s", err, log)
				}
				return
			}
			if err == nil {
				t.Fatalf("validate passed, want %q\n%s", tc.want, log)
			}
			for _, w := range tc.want {
				if !strings.Contains(log, w) {
					t.Errorf("log lacks %q\n%s", w, log)
				}
			}
			for _, w := range tc.notWant {
				for _, l := range strings.Split(log, "\n") {
					if strings.HasPrefix(l, "::error") && strings.Contains(l, w) {
						t.Errorf("an accepted key is reported: %s", l)
					}
				}
			}
		})
	}
}
