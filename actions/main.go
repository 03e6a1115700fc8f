// Command actions is the one binary behind every action of
// cicd-excellence/actions: `actions <step> [--input value ...]`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/cicd-excellence/actions/deploy"
	"github.com/cicd-excellence/actions/hotfix"
	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/version"
	openinfrapr "github.com/cicd-excellence/actions/open-infra-pr"
	"github.com/cicd-excellence/actions/publish"
	"github.com/cicd-excellence/actions/rulesets"
	"github.com/cicd-excellence/actions/setup"
)

// steps lists every step the binary runs. Adding an action means adding its
// package here.
var steps = []action.Step{
	setup.Step,
	hotfix.Step,
	deploy.Step,
	openinfrapr.Step,
	publish.Step,
	rulesets.Step,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Environ(), os.Stdout)
	stop()
	os.Exit(exitCode(err))
}

// errUsage marks errors already explained by printed usage.
var errUsage = errors.New("usage")

func exitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	// A step may pass on a child's status (deploy exits with its command's).
	var coded interface{ ExitCode() int }
	switch {
	case errors.As(err, &coded) && coded.ExitCode() > 0:
		return coded.ExitCode()
	default:
		return 1
	}
}

// run is main without the process: it reports a step's error itself (as an
// ::error annotation on a runner) and returns it for the exit code.
func run(ctx context.Context, args []string, env []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Fprintln(stdout, version.String())
		return nil
	}
	step, ok := findStep(args[0])
	if !ok {
		fmt.Fprintf(stdout, "error: unknown step %q\n", args[0])
		usage(stdout)
		return errUsage
	}
	m, err := action.ParseManifest(step.Manifest)
	if err != nil {
		return fmt.Errorf("%s: %w", step.Name, err)
	}
	flags, help, err := parseFlags(m, args[1:])
	if err != nil {
		fmt.Fprintf(stdout, "error: %s %v\n", step.Name, err)
		return errUsage
	}
	if err := addInputLines(m, flags, lookup(env, "INPUT_INPUTS")); err != nil {
		action.Report(stdout, lookup(env, "GITHUB_ACTIONS") == "true", err)
		return err
	}
	if help {
		stepUsage(stdout, step.Name, m)
		return nil
	}
	r := action.New(action.Options{Stdout: stdout, Env: env, Flags: flags, Manifest: m})
	if err := step.Run(ctx, r); err != nil {
		action.Report(r.Stdout, r.InActions(), err)
		return err
	}
	return nil
}

func findStep(name string) (action.Step, bool) {
	for _, s := range steps {
		if s.Name == name {
			return s, true
		}
	}
	return action.Step{}, false
}

// parseFlags maps --name value and --name=value onto the step's inputs, so a
// step can be debugged outside Actions with the same names as in action.yml.
func parseFlags(m *action.Manifest, args []string) (map[string]string, bool, error) {
	flags := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-h" || a == "--help" {
			return nil, true, nil
		}
		if !strings.HasPrefix(a, "--") {
			return nil, false, fmt.Errorf("unexpected argument %q (inputs are given as --name value)", a)
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if _, ok := m.Inputs[name]; !ok {
			return nil, false, fmt.Errorf("unknown input --%s (inputs: %s)", name, strings.Join(m.InputOrder, ", "))
		}
		if !hasValue {
			if i+1 >= len(args) {
				return nil, false, fmt.Errorf("--%s needs a value", name)
			}
			i++
			value = args[i]
		}
		flags[name] = value
	}
	return flags, false, nil
}

// addInputLines reads the root action's `inputs` input: name=value lines for
// the chosen step. Flags given on the command line win.
func addInputLines(m *action.Manifest, flags map[string]string, lines string) error {
	for i, line := range strings.Split(lines, "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		if !ok {
			// Never the line itself: it may be "github-token: ghs_...".
			return action.Inputf("inputs", "line %d is not name=value (its text is not shown: it may hold a secret)", i+1)
		}
		if _, known := m.Inputs[name]; !known {
			return action.Inputf("inputs", "%q is not an input of this step (inputs: %s)", name, strings.Join(m.InputOrder, ", "))
		}
		if _, set := flags[name]; !set {
			flags[name] = strings.TrimSpace(value)
		}
	}
	return nil
}

func lookup(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

func usage(w io.Writer) {
	names := make([]string, 0, len(steps))
	for _, s := range steps {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "usage: actions <step> [--input value ...]\n\nsteps: %s\n\n", strings.Join(names, ", "))
	fmt.Fprintln(w, "Inputs also come from INPUT_<NAME> variables, as on a runner. `actions <step> --help` lists a step's inputs.")
}

func stepUsage(w io.Writer, name string, m *action.Manifest) {
	fmt.Fprintf(w, "usage: actions %s [--input value ...]\n\n%s\n\ninputs:\n", name, m.Description)
	for _, in := range m.InputOrder {
		i := m.Inputs[in]
		def := ""
		if i.Default != "" {
			def = fmt.Sprintf(" (default %q)", i.Default)
		}
		req := ""
		if i.Required {
			req = " (required)"
		}
		fmt.Fprintf(w, "  --%s%s%s\n      %s\n", in, req, def, i.Description)
	}
	fmt.Fprintln(w, "\noutputs:")
	for _, out := range m.OutputOrder {
		fmt.Fprintf(w, "  %s: %s\n", out, m.Outputs[out].Description)
	}
}
