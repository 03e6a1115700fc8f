package envdiff

import (
	"fmt"
	"github.com/cicd-excellence/actions/internal/gitread"
	"slices"
	"strings"

	"github.com/cicd-excellence/actions/internal/envfile"
	"github.com/cicd-excellence/actions/internal/refname"
)

// Config says where environment files live and what in them is deployed.
type Config struct {
	// Dir holds the <env>.json files, relative to the repository root;
	// "envs" when empty, "." for the root itself.
	Dir string
	// Tracked are envfile patterns of the keys holding versions;
	// envfile.DefaultTracked ("**.tag") when empty.
	Tracked []string
	// Order is the deployment order; DefaultOrder() when empty.
	// Environments not listed deploy after these, alphabetically.
	Order []string
}

// DefaultOrder is the usual promotion path: dev, staging, prod.
func DefaultOrder() []string { return []string{"dev", "staging", "prod"} }

// resolved is a Config with defaults applied and patterns parsed.
type resolved struct {
	dir      string
	patterns []envfile.Pattern
	order    []string
}

func (c Config) resolve() (resolved, error) {
	r := resolved{dir: c.Dir, order: c.Order}
	if r.dir == "" {
		r.dir = "envs"
	}
	if err := gitread.CheckPath(r.dir); err != nil {
		return r, fmt.Errorf("config dir: %w", err)
	}
	if len(r.order) == 0 {
		r.order = DefaultOrder()
	}
	for _, e := range r.order {
		if err := refname.Environment(e); err != nil {
			return r, fmt.Errorf("config order: %w", err)
		}
	}
	pats, err := envfile.ParsePatterns(c.Tracked)
	if err != nil {
		return r, fmt.Errorf("config tracked: %w", err)
	}
	r.patterns = pats
	return r, nil
}

// sortEnvs orders environments for deployment: those in order first, in
// that order, then the rest alphabetically.
func sortEnvs(envs []string, order []string) {
	rank := func(e string) int {
		if i := slices.Index(order, e); i >= 0 {
			return i
		}
		return len(order)
	}
	slices.SortFunc(envs, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
}
