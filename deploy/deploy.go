// Package deploy is the infra repo's side of the pipeline: plan which
// environments changed in a push (value by value), deploy one environment
// with the user's command while recording a GitHub Deployment, and validate
// pull requests (the required check, and the bot guard that justifies letting
// the bot merge dev without a human).
package deploy

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/envfile"
	"github.com/cicd-excellence/actions/internal/event"
)

//go:embed action.yml
var manifest []byte

// Step is `actions deploy`.
var Step = action.Step{Name: "deploy", Manifest: manifest, Run: Run}

// common are the inputs every mode reads.
type common struct {
	dir      string
	tracked  []string
	patterns []envfile.Pattern
	order    []string
}

func readCommon(r *action.Runtime) (common, error) {
	c := common{dir: r.Input("environments-dir"), tracked: r.ListInput("tracked"), order: r.ListInput("order")}
	if c.dir == "" {
		c.dir = "envs"
	}
	if _, err := envFile(c.dir, "dev"); err != nil {
		return c, action.Inputf("environments-dir", "%v", err)
	}
	if len(c.tracked) == 0 {
		c.tracked = []string{envfile.DefaultTracked}
	}
	var err error
	if c.patterns, err = envfile.ParsePatterns(c.tracked); err != nil {
		return c, action.Inputf("tracked", "%v", err)
	}
	for _, e := range c.order {
		if err := validEnvironment(e); err != nil {
			return c, action.Inputf("order", "%v", err)
		}
	}
	return c, nil
}

// Run dispatches on the mode.
func Run(ctx context.Context, r *action.Runtime) error {
	mode, err := r.ChoiceInput("mode", "", "plan", "deploy", "validate", "rollback")
	if err != nil {
		return err
	}
	if mode == "" {
		return action.Inputf("mode", "is required (plan, deploy, validate or rollback)")
	}
	c, err := readCommon(r)
	if err != nil {
		return err
	}
	ev, err := event.Load(r.Getenv)
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	switch mode {
	case "plan":
		return runPlan(ctx, r, ev, c)
	case "deploy":
		return runDeploy(ctx, r, ev, c)
	case "rollback":
		return runRollback(ctx, r, ev, c)
	default:
		return runValidate(ctx, r, ev, c)
	}
}
