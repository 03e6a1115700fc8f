package action

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// InputError is a bad input value. Its message names the input so the one-line
// annotation tells the user which line of their workflow to fix.
type InputError struct {
	Input   string
	Problem string
}

func (e *InputError) Error() string {
	return fmt.Sprintf("input %q: %s", e.Input, e.Problem)
}

// Inputf returns an *InputError for input name.
func Inputf(name, format string, args ...any) error {
	return &InputError{Input: name, Problem: fmt.Sprintf(format, args...)}
}

// Input returns the trimmed value of an input, or "" when it is not set.
//
// Values come, in order, from command-line flags, then the environment:
// INPUT_<NAME> with GitHub's spelling (upper case, spaces to '_', '-' kept)
// and then with '-' turned into '_', the spelling composite actions use in
// their env: maps. Last come the defaults of the step's action.yml that are
// plain strings (expressions such as ${{ github.token }} only the runner can
// evaluate).
func (r *Runtime) Input(name string) string {
	if v, ok := r.flags[name]; ok {
		return strings.TrimSpace(v)
	}
	upper := strings.ToUpper(strings.ReplaceAll(name, " ", "_"))
	for _, key := range []string{"INPUT_" + upper, "INPUT_" + strings.ReplaceAll(upper, "-", "_")} {
		if v, ok := r.LookupEnv(key); ok {
			return strings.TrimSpace(v)
		}
	}
	if r.manifest != nil {
		if in, ok := r.manifest.Inputs[name]; ok && !strings.Contains(in.Default, "${{") {
			return strings.TrimSpace(in.Default)
		}
	}
	return ""
}

// RequiredInput returns the input or an error naming it when it is empty.
func (r *Runtime) RequiredInput(name string) (string, error) {
	v := r.Input(name)
	if v == "" {
		return "", Inputf(name, "is required")
	}
	return v, nil
}

// BoolInput parses an input the way GitHub's toolkit does: only true, True,
// TRUE, false, False and FALSE are booleans. Empty means def.
func (r *Runtime) BoolInput(name string, def bool) (bool, error) {
	v := r.Input(name)
	switch v {
	case "":
		return def, nil
	case "true", "True", "TRUE":
		return true, nil
	case "false", "False", "FALSE":
		return false, nil
	}
	return false, Inputf(name, "%s is not a boolean (use true or false)", strconv.Quote(v))
}

// ListInput splits an input on newlines and commas, trimming each item and
// dropping empty ones, so both YAML block scalars and "a, b" work.
func (r *Runtime) ListInput(name string) []string {
	return SplitList(r.Input(name))
}

// LinesInput splits an input on newlines only, for items that may contain
// commas (such as path=value assignments).
func (r *Runtime) LinesInput(name string) []string {
	var out []string
	for _, line := range strings.Split(r.Input(name), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// SplitList splits on newlines and commas and trims each item.
func SplitList(v string) []string {
	var out []string
	for _, item := range strings.FieldsFunc(v, func(c rune) bool { return c == '\n' || c == ',' }) {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// DurationInput parses a Go duration ("90s", "5m"); empty means def.
func (r *Runtime) DurationInput(name string, def time.Duration) (time.Duration, error) {
	v := r.Input(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, Inputf(name, "%s is not a duration (use a value such as 90s or 5m)", strconv.Quote(v))
	}
	return d, nil
}

// ChoiceInput returns the input if it is one of choices; empty means def.
func (r *Runtime) ChoiceInput(name, def string, choices ...string) (string, error) {
	v := r.Input(name)
	if v == "" {
		return def, nil
	}
	for _, c := range choices {
		if v == c {
			return v, nil
		}
	}
	return "", Inputf(name, "%s is not one of %s", strconv.Quote(v), strings.Join(choices, ", "))
}
