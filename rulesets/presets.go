package rulesets

import (
	"embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

//go:embed presets/*.json
var presetFS embed.FS

// Presets are the shipped rulesets, by the name the preset input takes.
var Presets = []string{"default", "hotfixes"}

// PresetOptions fill the placeholders of the preset templates.
type PresetOptions struct {
	// BypassAppID is the bot GitHub App's id: the only bypass actor, in
	// pull_request mode (${BYPASS_APP_ID}).
	BypassAppID int64
	// RequiredChecks are the status check contexts of the default preset's
	// required_status_checks rule (${REQUIRED_CHECKS}).
	RequiredChecks []string
}

// PresetTemplate returns a preset's embedded JSON template, placeholders and
// all.
func PresetTemplate(name string) ([]byte, error) {
	if !contains(Presets, name) {
		return nil, fmt.Errorf("%s is not a preset (%s)", strconv.Quote(name), strings.Join(Presets, ", "))
	}
	return presetFS.ReadFile("presets/" + name + ".json")
}

// Preset renders a preset into a ruleset, validated like a file.
func Preset(name string, o PresetOptions) (Ruleset, error) {
	tmpl, err := PresetTemplate(name)
	if err != nil {
		return Ruleset{}, err
	}
	v, err := decode(tmpl)
	if err != nil {
		return Ruleset{}, fmt.Errorf("preset %s: %w", name, err)
	}
	var missing error
	filled := fill(v, func(placeholder string) any {
		switch placeholder {
		case "${BYPASS_APP_ID}":
			if o.BypassAppID <= 0 {
				missing = fmt.Errorf("the %s preset needs the bot GitHub App's id (bypass-app-id)", name)
			}
			return json.Number(strconv.FormatInt(o.BypassAppID, 10))
		case "${REQUIRED_CHECKS}":
			if len(o.RequiredChecks) == 0 {
				missing = fmt.Errorf("the %s preset needs the status checks a pull request must pass (required-checks)", name)
			}
			checks := []any{}
			for _, c := range o.RequiredChecks {
				checks = append(checks, map[string]any{"context": c})
			}
			return checks
		}
		missing = fmt.Errorf("preset %s: unknown placeholder %s", name, placeholder)
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
