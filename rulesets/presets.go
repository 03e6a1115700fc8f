package rulesets

import (
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

//go:embed presets/*.json
var presetFS embed.FS

// Presets are the shipped presets, by the name the preset input takes.
var Presets = []string{"default", "bot-branches", "hotfixes", "release-tags"}

// presetFiles are the rulesets (templates in presets/) each preset applies.
// A preset is several rulesets where one actor must bypass one rule and not
// another: GitHub's bypass is per ruleset (bypassing ruleset A does not
// bypass B), and a pull_request-mode bypass also skips that ruleset's
// required status checks ("About rulesets", bypass permissions:
// https://docs.github.com/repositories/configuring-branches-and-merges-in-your-repository/managing-rulesets/about-rulesets).
var presetFiles = map[string][]string{
	// The bot may merge without the approval (Default), never without the
	// checks: those sit in "Required checks", which nobody bypasses.
	"default": {"default", "required-checks"},
	// Only the bot creates, updates or deletes its own branches.
	"bot-branches": {"bot-branches"},
	// Only the bot creates or deletes hotfix branches ("Hotfixes", where it
	// bypasses always); every change to one is a reviewed PR that nobody
	// bypasses ("Hotfixes review").
	"hotfixes": {"hotfixes", "hotfixes-review"},
	// Only the release App creates, moves or deletes v* tags.
	"release-tags": {"release-tags"},
}

// DefaultChecksAppID is GitHub Actions' App id: a required check bound to it
// is satisfied only by a check run that a workflow created.
const DefaultChecksAppID = 15368

// PresetOptions fill the placeholders of the preset templates.
type PresetOptions struct {
	// BypassAppID is the bot GitHub App's id (${BYPASS_APP_ID}): in
	// pull_request mode on the review rulesets, always on the rulesets that
	// only it may create, move or delete refs under.
	BypassAppID int64
	// RequiredChecks are the status check contexts of the Required checks
	// ruleset (${REQUIRED_CHECKS}); each is bound to ChecksAppID.
	RequiredChecks []string
	// ChecksAppID is the App that must report the required checks
	// (${CHECKS_APP_ID}, the rule's integration_id): any writer can post a
	// commit status with any context name, so an unbound check proves
	// nothing. 0 means DefaultChecksAppID.
	ChecksAppID int64
	// ReleaseAppID is the App that alone may create, move or delete v* tags
	// (${RELEASE_APP_ID}).
	ReleaseAppID int64
}

// PresetTemplate returns the embedded JSON template of one of a preset's
// rulesets (see PresetRulesets), placeholders and all.
func PresetTemplate(file string) ([]byte, error) {
	for _, files := range presetFiles {
		if slices.Contains(files, file) {
			return presetFS.ReadFile("presets/" + file + ".json")
		}
	}
	return nil, fmt.Errorf("%s is not a preset ruleset", strconv.Quote(file))
}

// PresetRulesets lists the template names of a preset's rulesets.
func PresetRulesets(name string) ([]string, error) {
	files, ok := presetFiles[name]
	if !ok {
		return nil, fmt.Errorf("%s is not a preset (%s)", strconv.Quote(name), strings.Join(Presets, ", "))
	}
	return append([]string(nil), files...), nil
}

// Preset renders a preset into its rulesets, each validated like a file.
func Preset(name string, o PresetOptions) ([]Ruleset, error) {
	files, err := PresetRulesets(name)
	if err != nil {
		return nil, err
	}
	var out []Ruleset
	for _, f := range files {
		rs, err := renderPreset(name, f, o)
		if err != nil {
			return nil, err
		}
		out = append(out, rs)
	}
	return out, nil
}

func renderPreset(name, file string, o PresetOptions) (Ruleset, error) {
	tmpl, err := PresetTemplate(file)
	if err != nil {
		return Ruleset{}, err
	}
	v, err := decode(tmpl)
	if err != nil {
		return Ruleset{}, fmt.Errorf("preset %s: %w", name, err)
	}
	checksApp := o.ChecksAppID
	if checksApp == 0 {
		checksApp = DefaultChecksAppID
	}
	var missing error
	appID := func(id int64, what, input string) any {
		if id <= 0 && missing == nil {
			missing = fmt.Errorf("the %s preset needs %s (%s)", name, what, input)
		}
		return json.Number(strconv.FormatInt(id, 10))
	}
	filled := fill(v, func(placeholder string) any {
		switch placeholder {
		case "${BYPASS_APP_ID}":
			return appID(o.BypassAppID, "the bot GitHub App's id", "bypass-app-id")
		case "${RELEASE_APP_ID}":
			return appID(o.ReleaseAppID, "the release GitHub App's id", "release-app-id")
		case "${CHECKS_APP_ID}":
			return appID(checksApp, "the id of the App that reports the required checks", "checks-app-id")
		case "${REQUIRED_CHECKS}":
			if len(o.RequiredChecks) == 0 && missing == nil {
				missing = fmt.Errorf("the %s preset needs the status checks a pull request must pass (required-checks)", name)
			}
			// Each check is bound to the App that runs it (integration_id):
			// GitHub then takes a result only from that App ("expected
			// source", https://docs.github.com/repositories/configuring-branches-and-merges-in-your-repository/managing-rulesets/available-rules-for-rulesets#require-status-checks-to-pass-before-merging).
			checks := []any{}
			for _, c := range o.RequiredChecks {
				checks = append(checks, map[string]any{"context": c, "integration_id": appID(checksApp, "the id of the App that reports the required checks", "checks-app-id")})
			}
			return checks
		}
		if missing == nil {
			missing = fmt.Errorf("preset %s: unknown placeholder %s", name, placeholder)
		}
		return nil
	})
	if missing != nil {
		return Ruleset{}, missing
	}
	b, err := json.Marshal(filled)
	if err != nil {
		return Ruleset{}, err
	}
	return Parse("preset "+name, b)
}

// fill replaces every string value of the form ${NAME} with what value
// returns for it.
func fill(v any, value func(string) any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = fill(e, value)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = fill(e, value)
		}
		return x
	case string:
		if strings.HasPrefix(x, "${") && strings.HasSuffix(x, "}") {
			return value(x)
		}
	}
	return v
}
