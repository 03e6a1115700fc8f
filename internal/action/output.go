package action

import (
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

var outputName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// SetOutput writes a step output to $GITHUB_OUTPUT in the heredoc form with a
// delimiter drawn at random for every value, and refuses a value that contains
// it: with go-githubactions' fixed delimiter, untrusted text (a PR title, a
// branch name) could end the value early and set outputs of its own.
//
// Outside Actions the output is printed as name=value.
func (r *Runtime) SetOutput(name, value string) error {
	if !outputName.MatchString(name) {
		return fmt.Errorf("set output: invalid output name %q", name)
	}
	path := r.Getenv("GITHUB_OUTPUT")
	if path == "" {
		if r.InActions() {
			return fmt.Errorf("set output %s: %w", name, ErrNoOutputFile)
		}
		fmt.Fprintf(r.Stdout, "output %s=%s\n", name, value)
		return nil
	}
	delim, err := r.delimiter()
	if err != nil {
		return fmt.Errorf("set output %s: %w", name, err)
	}
	if strings.Contains(value, delim) {
		return fmt.Errorf("set output %s: the value contains the output delimiter", name)
	}
	if err := appendFile(path, fmt.Sprintf("%s<<%s\n%s\n%s\n", name, delim, value, delim)); err != nil {
		return fmt.Errorf("set output %s: %w", name, err)
	}
	return nil
}

// SetOutputs writes several outputs in the given order.
func (r *Runtime) SetOutputs(pairs ...string) error {
	if len(pairs)%2 != 0 {
		return fmt.Errorf("set outputs: odd number of arguments")
	}
	for i := 0; i < len(pairs); i += 2 {
		if err := r.SetOutput(pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// Summary appends Markdown to the job summary ($GITHUB_STEP_SUMMARY). Outside
// Actions it is printed, so a local run shows what the job page would.
func (r *Runtime) Summary(markdown string) error {
	if !strings.HasSuffix(markdown, "\n") {
		markdown += "\n"
	}
	path := r.Getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		if r.InActions() {
			return nil // an old runner: the summary is a nicety, not a reason to fail
		}
		fmt.Fprintf(r.Stdout, "--- job summary ---\n%s---\n", markdown)
		return nil
	}
	if err := appendFile(path, markdown); err != nil {
		return fmt.Errorf("write job summary: %w", err)
	}
	return nil
}

func (r *Runtime) delimiter() (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(r.random, b); err != nil {
		return "", fmt.Errorf("draw output delimiter: %w", err)
	}
	return "ghadelimiter_" + hex.EncodeToString(b), nil
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
