package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cicd-excellence/actions/internal/action"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"actions": func() {
			os.Exit(exitCode(run(context.Background(), os.Args[1:], os.Environ(), os.Stdout)))
		},
	})
}

// TestScripts runs testdata/script/*.txtar: the binary as a user or a runner
// calls it, exit codes and annotations included.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata/script"})
}

func TestAddInputLines(t *testing.T) {
	m, err := parseStepManifest("setup")
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string]string{"default-branch": "from-flag"}
	if err := addInputLines(m, flags, "\n  hotfix-prefix = release/ \ndefault-branch=ignored\n\n"); err != nil {
		t.Fatal(err)
	}
	if flags["hotfix-prefix"] != "release/" || flags["default-branch"] != "from-flag" {
		t.Errorf("flags = %v", flags)
	}
}

func parseStepManifest(name string) (*action.Manifest, error) {
	s, _ := findStep(name)
	return action.ParseManifest(s.Manifest)
}

// TestInputLinesNeverEchoed: a malformed line of the root action's `inputs`
// is named by its number, never shown: it may be a token written with ':'.
func TestInputLinesNeverEchoed(t *testing.T) {
	m, err := parseStepManifest("setup")
	if err != nil {
		t.Fatal(err)
	}
	const token = "ghs_s3cr3tT0kenValue"
	tests := []struct {
		lines, want string
	}{
		{"github-token: " + token, `input "inputs": line 1 is not name=value`},
		{"default-branch=main\n\n  " + token + "  \n", `input "inputs": line 3 is not name=value`},
		{"default-branch=main\ngithub-token " + token, `input "inputs": line 2 is not name=value`},
	}
	for _, tc := range tests {
		err := addInputLines(m, map[string]string{}, tc.lines)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), token) {
			t.Errorf("addInputLines(%q) = %v, want %q without the token", tc.lines, err, tc.want)
		}
		// Through the binary's error boundary, as a runner shows it.
		var out bytes.Buffer
		env := []string{"GITHUB_ACTIONS=true", "INPUT_INPUTS=" + tc.lines}
		if run(context.Background(), []string{"setup"}, env, &out) == nil || strings.Contains(out.String(), token) || !strings.Contains(out.String(), "::error::") {
			t.Errorf("run with inputs %q printed %q", tc.lines, out.String())
		}
	}
}
