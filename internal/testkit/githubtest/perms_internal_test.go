package githubtest

import (
	"regexp"
	"testing"
)

// Every route declares what an App installation token needs, in the
// X-Accepted-GitHub-Permissions format, and nothing else is declared.
func TestEveryRouteDeclaresAppPermissions(t *testing.T) {
	s := &Server{}
	format := regexp.MustCompile(`^[a-z_]+=(read|write)(,[a-z_]+=(read|write))*(; [a-z_]+=(read|write)(,[a-z_]+=(read|write))*)*$`)
	seen := map[string]bool{}
	for _, r := range s.routes() {
		seen[r.key] = true
		p, ok := routePermissions[r.key]
		if !ok || !format.MatchString(p) {
			t.Errorf("%s: permission %q", r.key, p)
		}
	}
	for k := range routePermissions {
		if !seen[k] {
			t.Errorf("routePermissions has %s, which is not a route", k)
		}
	}
}

func TestTokenPermits(t *testing.T) {
	tok := &token{app: &app{id: 1}, perms: Permissions{"metadata": Read, "contents": Write, "issues": Read}}
	for accepted, want := range map[string]bool{
		"contents=read":                     true,
		"contents=write":                    true,
		"checks=read":                       false,
		"issues=write; pull_requests=write": false,
		"checks=write; contents=write":      true,
		"contents=write,checks=read":        false,
		"contents=write,issues=read":        true,
		"":                                  false,
		"contents=admin":                    false,
	} {
		if got := tok.permits(accepted); got != want {
			t.Errorf("permits(%q) = %v, want %v", accepted, got, want)
		}
	}
}
