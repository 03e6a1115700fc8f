package readme

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cicd-excellence/actions/internal/action"
)

// StepOrder is the order the root action.yml lists the steps' outputs in:
// the pipeline's. LoadSteps refuses a step folder missing from it.
var StepOrder = []string{"setup", "publish", "open-infra-pr", "deploy", "hotfix", "rulesets"}

// LoadSteps reads <root>/<step>/action.yml of every step of StepOrder and
// fails when a folder holds an action.yml that StepOrder leaves out.
func LoadSteps(root string) ([]Step, error) {
	found, err := filepath.Glob(filepath.Join(root, "*", "action.yml"))
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, name := range StepOrder {
		known[name] = true
	}
	for _, p := range found {
		if dir := filepath.Base(filepath.Dir(p)); !known[dir] {
			return nil, fmt.Errorf("%s: step %q is not in readme.StepOrder", p, dir)
		}
	}
	var steps []Step
	for _, name := range StepOrder {
		p := filepath.Join(root, name, "action.yml")
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		m, err := action.ParseManifest(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		steps = append(steps, Step{Name: name, Manifest: m})
	}
	return steps, nil
}

// Step is one step's action.yml, by the name the root action's `step` input
// takes.
type Step struct {
	Name     string
	Manifest *action.Manifest
}

// RootOutputs renders the `outputs:` block of the root action.yml: every
// output of every step, in the steps' order and each step's own order, with
// a description naming the steps that set it. The root action runs one step
// with id "run", so every value is ${{ steps.run.outputs.<name> }}.
func RootOutputs(steps []Step) string {
	type out struct {
		name  string
		descs []string
	}
	var outs []*out
	byName := map[string]*out{}
	for _, s := range steps {
		for _, name := range s.Manifest.OutputOrder {
			o := byName[name]
			if o == nil {
				o = &out{name: name}
				byName[name] = o
				outs = append(outs, o)
			}
			o.descs = append(o.descs, s.Name+": "+strings.Join(strings.Fields(s.Manifest.Outputs[name].Description), " "))
		}
	}
	var b bytes.Buffer
	b.WriteString("outputs:\n")
	b.WriteString("  # Generated from the steps' action.yml files by `make readme`; a test fails when they differ.\n")
	for _, o := range outs {
		fmt.Fprintf(&b, "  %s:\n    description: '%s'\n    value: ${{ steps.run.outputs.%s }}\n",
			o.name, strings.ReplaceAll(strings.Join(o.descs, " "), "'", "''"), o.name)
	}
	return b.String()
}

// ErrNoOutputsBlock means the root action.yml has no top-level outputs:
// followed by runs:.
var ErrNoOutputsBlock = errors.New("action.yml has no top-level outputs block followed by runs")

// UpdateRootAction returns the root action.yml with its outputs block (from
// the top-level `outputs:` line to the `runs:` line) replaced by RootOutputs.
func UpdateRootAction(actionYML []byte, steps []Step) ([]byte, error) {
	s := string(actionYML)
	i := strings.Index(s, "\noutputs:\n")
	j := strings.Index(s, "\nruns:\n")
	if i < 0 || j < i {
		return nil, ErrNoOutputsBlock
	}
	return []byte(s[:i+1] + RootOutputs(steps) + s[j+1:]), nil
}
