// Package rulesets keeps repository rulesets as code: `apply` makes each
// repository's rulesets match JSON files and shipped presets, idempotently;
// `verify` proves they still do, and that the separation of duties holds,
// with a job summary an auditor can read.
package rulesets

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/ghclient"
	"github.com/cicd-excellence/actions/internal/refname"
)

//go:embed action.yml
var manifest []byte

// Step is `actions rulesets`.
var Step = action.Step{Name: "rulesets", Manifest: manifest, Run: Run}

// Commands of the command input.
const (
	CommandApply  = "apply"
	CommandVerify = "verify"
)

// Config is the validated inputs.
type Config struct {
	Command      string
	Repositories []string // owner/name, in input order, without duplicates
	Rulesets     []Ruleset
	DryRun       bool
	// Presets are the presets asked for, in input order: verify checks the
	// controls each one stands for (see Controls).
	Presets []string
	Options PresetOptions
	// FailUnverifiable makes a bypass list GitHub hides from the token a
	// failure (unverifiable-bypass: fail) rather than a warning.
	FailUnverifiable bool
}

// Values of the unverifiable-bypass input.
const (
	UnverifiableFail = "fail"
	UnverifiableWarn = "warn"
)

// ParseConfig reads and validates every input and every ruleset; nothing is
// called before it succeeds.
func ParseConfig(r *action.Runtime) (Config, error) {
	var cfg Config
	var err error
	if cfg.Command, err = r.RequiredInput("command"); err != nil {
		return cfg, err
	}
	if cfg.Command, err = r.ChoiceInput("command", "", CommandApply, CommandVerify); err != nil {
		return cfg, err
	}
	repos := r.ListInput("repositories")
	if len(repos) == 0 {
		if cur := r.Getenv("GITHUB_REPOSITORY"); cur != "" {
			repos = []string{cur}
		} else {
			return cfg, action.Inputf("repositories", "is empty and GITHUB_REPOSITORY is not set")
		}
	}
	seen := map[string]bool{}
	for _, repo := range repos {
		owner, name, err := refname.Repo(repo)
		if err != nil {
			return cfg, action.Inputf("repositories", "%v", err)
		}
		if key := strings.ToLower(owner + "/" + name); !seen[key] {
			seen[key] = true
			cfg.Repositories = append(cfg.Repositories, owner+"/"+name)
		}
	}
	if cfg.DryRun, err = r.BoolInput("dry-run", false); err != nil {
		return cfg, err
	}

	var opts PresetOptions
	if v := r.Input("bypass-app-id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return cfg, action.Inputf("bypass-app-id", "%s is not a GitHub App id (a positive whole number, the App's id: not its installation id or client id)", strconv.Quote(v))
		}
		opts.BypassAppID = n
	}
	opts.RequiredChecks = r.LinesInput("required-checks")
	opts.ChecksAppID = DefaultChecksAppID
	for _, in := range []struct {
		name string
		dst  *int64
	}{{"checks-app-id", &opts.ChecksAppID}, {"release-app-id", &opts.ReleaseAppID}} {
		if v := r.Input(in.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return cfg, action.Inputf(in.name, "%s is not a GitHub App id (a positive whole number, the App's id: not its installation id or client id)", strconv.Quote(v))
			}
			*in.dst = n
		}
	}
	mode, err := r.ChoiceInput("unverifiable-bypass", UnverifiableFail, UnverifiableFail, UnverifiableWarn)
	if err != nil {
		return cfg, err
	}
	cfg.FailUnverifiable = mode == UnverifiableFail

	presets := r.ListInput("preset")
	files := r.ListInput("files")
	if len(presets) == 0 && len(files) == 0 {
		return cfg, action.Inputf("preset", "is empty and so is files: give a preset (%s) or ruleset files, or both", strings.Join(Presets, ", "))
	}
	names := map[string]string{} // lower-case name -> source
	addRuleset := func(input string, rs Ruleset) error {
		key := strings.ToLower(rs.Name())
		if prev, dup := names[key]; dup {
			return action.Inputf(input, "%s: name: %s is also the name of %s; ruleset names are unique per repository", rs.Source, strconv.Quote(rs.Name()), prev)
		}
		names[key] = rs.Source
		cfg.Rulesets = append(cfg.Rulesets, rs)
		return nil
	}
	donePreset := map[string]bool{}
	for _, p := range presets {
		if !slices.Contains(Presets, p) {
			return cfg, action.Inputf("preset", "%s is not one of %s", strconv.Quote(p), strings.Join(Presets, ", "))
		}
		if donePreset[p] {
			continue
		}
		donePreset[p] = true
		cfg.Presets = append(cfg.Presets, p)
		switch {
		case p == "release-tags" && opts.ReleaseAppID == 0:
			return cfg, action.Inputf("release-app-id", "is required with preset release-tags: the release GitHub App's id, the only actor that may create, move or delete v* tags")
		case p != "release-tags" && opts.BypassAppID == 0:
			return cfg, action.Inputf("bypass-app-id", "is required with preset %s: the bot GitHub App's id, its only bypass actor", p)
		case p == "default" && len(opts.RequiredChecks) == 0:
			return cfg, action.Inputf("required-checks", "is required with preset default: the status check contexts a pull request must pass (such as validate)")
		}
		list, err := Preset(p, opts)
		if err != nil {
			return cfg, action.Inputf("preset", "%v", err)
		}
		for _, rs := range list {
			if err := addRuleset("preset", rs); err != nil {
				return cfg, err
			}
		}
	}
	cfg.Options = opts
	for _, f := range files {
		rs, err := readRulesetFile(r.WorkDir, f)
		if err != nil {
			return cfg, action.Inputf("files", "%v", err)
		}
		if err := addRuleset("files", rs); err != nil {
			return cfg, err
		}
	}
	if len(presets) == 0 && (opts.BypassAppID != 0 || len(opts.RequiredChecks) > 0 || opts.ReleaseAppID != 0) {
		r.Noticef("bypass-app-id, required-checks, checks-app-id and release-app-id only fill the presets; with files alone they are not used")
	}
	return cfg, nil
}

// readRulesetFile reads a workspace-relative ruleset file.
func readRulesetFile(workdir, name string) (Ruleset, error) {
	fail := func(format string, args ...any) (Ruleset, error) {
		return Ruleset{}, &FieldError{Source: name, Problem: fmt.Sprintf(format, args...)}
	}
	if filepath.IsAbs(name) || strings.HasPrefix(name, "/") {
		return fail("must be a path relative to the workspace")
	}
	clean := filepath.Clean(filepath.FromSlash(name))
	if clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return fail("is outside the workspace")
	}
	data, err := os.ReadFile(filepath.Join(workdir, clean))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fail("does not exist in the workspace (is the repository checked out?)")
	case err != nil:
		return fail("cannot be read: %v", errors.Unwrap(err))
	}
	return Parse(name, data)
}

// Run is the step: validate everything, then apply or verify each
// repository, then write the outputs, the log's diff and the job summary.
func Run(ctx context.Context, r *action.Runtime) error {
	cfg, err := ParseConfig(r)
	if err != nil {
		return err
	}
	for _, rs := range cfg.Rulesets {
		for _, n := range unknownRuleNotes(rs) {
			r.Noticef("%s: %s", rs.Source, n)
		}
	}
	if cfg.DryRun && cfg.Command == CommandVerify {
		r.Noticef("dry-run has no effect on verify, which never writes")
	}
	c, err := ghclient.FromRuntime(r)
	if err != nil {
		return err
	}
	api := API{Client: c}
	rep := Report{Command: cfg.Command, DryRun: cfg.DryRun, Time: r.Now().UTC().Format(time.RFC3339), Repositories: []RepoReport{}}

	var failures []error
	var findings []Finding
	for _, full := range cfg.Repositories {
		owner, name, _ := refname.Repo(full)
		var rr RepoReport
		var err error
		if cfg.Command == CommandApply {
			var changed bool
			rr, changed, err = Apply(ctx, api, owner, name, cfg.Rulesets, cfg.DryRun, r.Infof)
			rep.Changed = rep.Changed || changed
		} else {
			rr, err = Verify(ctx, api, owner, name, cfg.Rulesets, VerifyOptions{Presets: cfg.Presets, Preset: cfg.Options})
		}
		if err != nil {
			rr.Error = err.Error()
			rr.Result = "error"
			failures = append(failures, err)
		}
		if cfg.Command == CommandVerify && err == nil {
			for _, c := range rr.Controls {
				if c.Status == Unverified && !cfg.FailUnverifiable {
					r.Warningf("%s: control %s: cannot be verified: %s", full, c.ID, c.Detail)
				}
			}
			for _, rs := range rr.Rulesets {
				for _, it := range rs.Items {
					if it.Status == StatusUnverified && !(cfg.FailUnverifiable && it.Detail == HiddenBypass) {
						r.Warningf("%s: ruleset %q: %s: cannot be verified through the API: %s", full, rs.Name, it.Name, it.Detail)
					}
				}
			}
			for _, c := range rr.SeparationOfDuties {
				if c.Status == Unverified {
					r.Warningf("%s: separation of duties: %s: cannot be verified through the API: %s", full, c.ID, c.Detail)
				}
			}
			fs := rr.Findings(cfg.FailUnverifiable)
			findings = append(findings, fs...)
			rr.Result = "ok"
			if n := rr.Unverifiable(); n > 0 {
				rr.Result = fmt.Sprintf("not verifiable: %d control(s) or bypass list(s) hidden from this token", n)
			}
			if len(fs) > 0 {
				rr.Result = fmt.Sprintf("drift: %d finding(s)", len(fs))
			}
		}
		if cfg.Command == CommandApply && err == nil {
			rr.Result = "unchanged"
			for _, rs := range rr.Rulesets {
				if rs.Status != StatusUnchanged {
					rr.Result = "changed"
					if cfg.DryRun {
						rr.Result = "would change"
					}
				}
			}
		}
		rep.Repositories = append(rep.Repositories, rr)
	}
	rep.Drift = len(findings) > 0
	if cfg.Command == CommandApply {
		for _, rr := range rep.Repositories {
			for _, rs := range rr.Rulesets {
				rep.Drift = rep.Drift || rs.Status != StatusUnchanged
			}
		}
	}

	for _, f := range findings {
		if f.Source != "" && f.Source != "unmanaged" && !strings.HasPrefix(f.Source, "preset ") {
			r.ErrorAt(f.Source, 0, "%s", f.Line)
		} else {
			r.Infof("drift: %s", f.Line)
		}
	}
	report, err := json.Marshal(rep)
	if err != nil {
		return fmt.Errorf("rulesets: %w", err)
	}
	if err := r.SetOutputs(
		"changed", strconv.FormatBool(rep.Changed),
		"drift", strconv.FormatBool(rep.Drift),
		"report", string(report),
	); err != nil {
		return fmt.Errorf("rulesets: %w", err)
	}
	if err := r.Summary(Summary(rep)); err != nil {
		return fmt.Errorf("rulesets: %w", err)
	}

	switch {
	case len(failures) == 1:
		return fmt.Errorf("rulesets %s: %w", cfg.Command, failures[0])
	case len(failures) > 1:
		msgs := make([]string, len(failures))
		for i, f := range failures {
			msgs[i] = f.Error()
		}
		return fmt.Errorf("rulesets %s: %d repositories failed: %s", cfg.Command, len(failures), strings.Join(msgs, "; "))
	case len(findings) > 0:
		return fmt.Errorf("rulesets verify: %d finding(s), first: %s (each finding is listed above and in the job summary)", len(findings), findings[0].Line)
	}
	return nil
}
