// Command readme-gen rewrites the generated inputs/outputs tables of every
// action's README from its action.yml. `make readme` runs it; a test fails
// when a README is stale.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/build/readme"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "readme-gen:", err)
		os.Exit(1)
	}
}

func run() error {
	// The root action's outputs first: its README table is generated from it.
	if err := updateRootAction(); err != nil {
		return err
	}
	paths, err := filepath.Glob("*/action.yml")
	if err != nil {
		return err
	}
	paths = append(paths, "action.yml")
	var failed []string
	for _, p := range paths {
		if err := update(p); err != nil {
			fmt.Fprintln(os.Stderr, "readme-gen:", err)
			failed = append(failed, p)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d README(s) not updated", len(failed))
	}
	return nil
}

func update(p string) error {
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	m, err := action.ParseManifest(data)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	rp := filepath.Join(filepath.Dir(p), "README.md")
	old, err := os.ReadFile(rp)
	if err != nil {
		return err
	}
	updated, err := readme.Update(old, m)
	if err != nil {
		return fmt.Errorf("%s: %w", rp, err)
	}
	if string(updated) != string(old) {
		if err := os.WriteFile(rp, updated, 0o644); err != nil {
			return err
		}
		fmt.Println("updated", rp)
	}
	return nil
}

// updateRootAction regenerates the outputs of the root action.yml from the
// steps' action.yml files.
func updateRootAction() error {
	steps, err := readme.LoadSteps(".")
	if err != nil {
		return err
	}
	old, err := os.ReadFile("action.yml")
	if err != nil {
		return err
	}
	updated, err := readme.UpdateRootAction(old, steps)
	if err != nil {
		return err
	}
	if string(updated) != string(old) {
		if err := os.WriteFile("action.yml", updated, 0o644); err != nil {
			return err
		}
		fmt.Println("updated action.yml")
	}
	return nil
}
