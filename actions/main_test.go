package main

import (
	"context"
	"os"
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
