package rulesets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Ruleset is one desired ruleset in GitHub's own JSON (the format the
// rulesets page exports), validated and normalized: only the fields a user
// sets (name, target, enforcement, conditions, rules, bypass_actors), numbers
// kept as json.Number so nothing is lost or reformatted.
type Ruleset struct {
	// Source is where it came from: a workspace-relative file path or
	// "preset <name>"; it names the ruleset in errors and annotations.
	Source string
	// Body is the JSON object sent to GitHub on create and update.
	Body map[string]any
}

// Name is the ruleset's name, its identity on GitHub (unique per repository,
// case-insensitively).
func (rs Ruleset) Name() string { s, _ := rs.Body["name"].(string); return s }

// desiredFields are what a user sets; serverFields are what GitHub adds and
// a UI export carries along: both are accepted in a file, the latter dropped.
var (
	desiredFields = []string{"name", "target", "enforcement", "conditions", "rules", "bypass_actors"}
	serverFields  = map[string]bool{"id": true, "source": true, "source_type": true, "node_id": true, "created_at": true, "updated_at": true, "_links": true, "current_user_can_bypass": true}
)

// KnownRuleTypes are the rule types of GitHub's REST description this action
// was built against. Others are applied and compared as raw JSON all the
// same; they are only reported as unknown.
var KnownRuleTypes = map[string]bool{
	"creation": true, "update": true, "deletion": true, "required_linear_history": true, "merge_queue": true,
	"required_deployments": true, "required_signatures": true, "pull_request": true, "required_status_checks": true,
	"non_fast_forward": true, "commit_message_pattern": true, "commit_author_email_pattern": true,
	"committer_email_pattern": true, "branch_name_pattern": true, "tag_name_pattern": true, "workflows": true,
	"code_scanning": true, "copilot_code_review": true, "license_compliance_scanning": true,
	"file_path_restriction": true, "max_file_path_length": true, "file_extension_restriction": true, "max_file_size": true,
}

var (
	targets      = []string{"branch", "tag", "push"}
	enforcements = []string{"active", "evaluate", "disabled"}
	actorTypes   = []string{"Integration", "OrganizationAdmin", "RepositoryRole", "Team", "DeployKey", "User"}
	bypassModes  = []string{"always", "pull_request", "exempt"}
	ruleType     = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// FieldError is a bad ruleset: which file, which field, what is wrong.
type FieldError struct {
	Source  string // file path or "preset default"
	Field   string // "rules[2].type"; "" for the whole document
	Problem string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Source + ": " + e.Problem
	}
	return e.Source + ": " + e.Field + ": " + e.Problem
}

// maxRulesetBytes bounds a ruleset file; GitHub's own are a few kilobytes.
const maxRulesetBytes = 1 << 20

// Parse reads and validates one ruleset in GitHub's JSON. Server-side fields
// of an export (id, source, node_id, ...) are dropped; a missing target
// becomes "branch", a missing rules or bypass_actors list an empty one, a
// missing bypass_mode GitHub's default "always" (refused for apps).
func Parse(source string, data []byte) (Ruleset, error) {
	fail := func(field, format string, args ...any) (Ruleset, error) {
		return Ruleset{}, &FieldError{Source: source, Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	if len(data) > maxRulesetBytes {
		return fail("", "is %d bytes; a ruleset file is at most %d", len(data), maxRulesetBytes)
	}
	v, err := decode(data)
	if err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		var tr *trailingError
		switch {
		case errors.As(err, &se):
			line, col := position(data, se.Offset-1)
			return fail("", "line %d, column %d: invalid JSON: %v", line, col, se)
		case errors.As(err, &te):
			line, col := position(data, te.Offset-1)
			return fail("", "line %d, column %d: invalid JSON: %v", line, col, te)
		case errors.As(err, &tr):
			line, col := position(data, tr.offset-1)
			return fail("", "line %d, column %d: invalid JSON: %v (one ruleset per file)", line, col, tr)
		case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			return fail("", "invalid JSON: the document is empty or ends early")
		}
		return fail("", "invalid JSON: %v", err)
	}
	raw, ok := v.(map[string]any)
	if !ok {
		return fail("", "must be a JSON object (one ruleset per file, as GitHub exports it), not %s", kind(v))
	}
	body := map[string]any{}
	var unknown []string
	for k, val := range raw {
		switch {
		case serverFields[k]:
		case slices.Contains(desiredFields, k):
			body[k] = val
		default:
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fail(unknown[0], "unknown field (a ruleset has %s)", strings.Join(desiredFields, ", "))
	}

	name, ok := body["name"].(string)
	switch {
	case body["name"] == nil:
		return fail("name", "missing")
	case !ok:
		return fail("name", "must be a string, not %s", kind(body["name"]))
	case strings.TrimSpace(name) == "":
		return fail("name", "is empty")
	case name != strings.TrimSpace(name) || strings.ContainsAny(name, "\r\n\t"):
		return fail("name", "%s has leading or trailing whitespace or a control character", strconv.Quote(name))
	case len(name) > 100:
		return fail("name", "is %d characters; GitHub allows at most 100", len(name))
	}

	target := "branch"
	if t, present := body["target"]; present {
		s, ok := t.(string)
		if !ok || !slices.Contains(targets, s) {
			return fail("target", "%s is not one of %s", show(t), strings.Join(targets, ", "))
		}
		target = s
	}
	body["target"] = target

	e, present := body["enforcement"]
	if !present {
		return fail("enforcement", "missing (one of %s)", strings.Join(enforcements, ", "))
	}
	if s, ok := e.(string); !ok || !slices.Contains(enforcements, s) {
		return fail("enforcement", "%s is not one of %s", show(e), strings.Join(enforcements, ", "))
	}

	if err := validateConditions(body, target); err != nil {
		return fail(err.field, "%s", err.problem)
	}
	if err := validateRules(body); err != nil {
		return fail(err.field, "%s", err.problem)
	}
	if err := validateBypass(body, target); err != nil {
		return fail(err.field, "%s", err.problem)
	}
	return Ruleset{Source: source, Body: body}, nil
}

type problem struct{ field, problem string }

func problemf(field, format string, args ...any) *problem {
	return &problem{field, fmt.Sprintf(format, args...)}
}

func validateConditions(body map[string]any, target string) *problem {
	c, present := body["conditions"]
	if !present || c == nil {
		if target == "push" {
			return nil
		}
		return problemf("conditions.ref_name.include", "missing: a %s ruleset needs the refs it applies to (such as [\"~DEFAULT_BRANCH\"])", target)
	}
	cond, ok := c.(map[string]any)
	if !ok {
		return problemf("conditions", "must be an object, not %s", kind(c))
	}
	rn, present := cond["ref_name"]
	if !present || rn == nil {
		if target == "push" {
			return nil
		}
		return problemf("conditions.ref_name.include", "missing: a %s ruleset needs the refs it applies to (such as [\"~DEFAULT_BRANCH\"])", target)
	}
	refName, ok := rn.(map[string]any)
	if !ok {
		return problemf("conditions.ref_name", "must be an object, not %s", kind(rn))
	}
	for _, key := range []string{"include", "exclude"} {
		field := "conditions.ref_name." + key
		v, present := refName[key]
		if !present || v == nil {
			if key == "include" {
				return problemf(field, "missing: a %s ruleset needs the refs it applies to (such as [\"~DEFAULT_BRANCH\"])", target)
			}
			refName[key] = []any{}
			continue
		}
		list, ok := v.([]any)
		if !ok {
			return problemf(field, "must be an array of ref patterns, not %s", kind(v))
		}
		if key == "include" && len(list) == 0 {
			return problemf(field, "is empty: the ruleset would apply to nothing")
		}
		for i, p := range list {
			s, ok := p.(string)
			if !ok || strings.TrimSpace(s) == "" {
				return problemf(fmt.Sprintf("%s[%d]", field, i), "must be a non-empty ref pattern string, not %s", show(p))
			}
		}
	}
	return nil
}

func validateRules(body map[string]any) *problem {
	v, present := body["rules"]
	if !present || v == nil {
		body["rules"] = []any{}
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		return problemf("rules", "must be an array, not %s", kind(v))
	}
	seen := map[string]int{}
	for i, item := range list {
		field := fmt.Sprintf("rules[%d]", i)
		rule, ok := item.(map[string]any)
		if !ok {
			return problemf(field, "must be an object with a type, not %s", kind(item))
		}
		t, present := rule["type"]
		if !present || t == nil {
			return problemf(field+".type", "missing")
		}
		s, ok := t.(string)
		if !ok || !ruleType.MatchString(s) {
			return problemf(field+".type", "%s is not a rule type (such as \"pull_request\")", show(t))
		}
		if j, dup := seen[s]; dup {
			return problemf(field+".type", "%s already appears in rules[%d]; a ruleset has each rule type once", strconv.Quote(s), j)
		}
		seen[s] = i
		if p, present := rule["parameters"]; present && p != nil {
			params, ok := p.(map[string]any)
			if !ok {
				return problemf(field+".parameters", "must be an object, not %s", kind(p))
			}
			if pr := validateParams(field+".parameters", s, params); pr != nil {
				return pr
			}
		}
	}
	return nil
}

// validateParams checks the parameters the action itself reasons about;
// GitHub checks the rest.
func validateParams(field, typ string, params map[string]any) *problem {
	switch typ {
	case "pull_request":
		if v, ok := params["required_approving_review_count"]; ok {
			n, isInt := intValue(v)
			if !isInt || n < 0 || n > 10 {
				return problemf(field+".required_approving_review_count", "%s is not a whole number from 0 to 10", show(v))
			}
		}
		for _, k := range []string{"dismiss_stale_reviews_on_push", "require_code_owner_review", "require_last_push_approval", "required_review_thread_resolution"} {
			if v, ok := params[k]; ok {
				if _, isBool := v.(bool); !isBool {
					return problemf(field+"."+k, "must be true or false, not %s", show(v))
				}
			}
		}
	case "required_status_checks":
		v, ok := params["required_status_checks"]
		if !ok {
			return problemf(field+".required_status_checks", "missing (a list of {\"context\": \"...\"})")
		}
		list, ok := v.([]any)
		if !ok {
			return problemf(field+".required_status_checks", "must be an array of {\"context\": \"...\"}, not %s", kind(v))
		}
		for i, item := range list {
			check, ok := item.(map[string]any)
			ctx, _ := check["context"].(string)
			if !ok || strings.TrimSpace(ctx) == "" {
				return problemf(fmt.Sprintf("%s.required_status_checks[%d].context", field, i), "missing or empty")
			}
			if v, present := check["integration_id"]; present && v != nil {
				if n, isInt := intValue(v); !isInt || n <= 0 {
					return problemf(fmt.Sprintf("%s.required_status_checks[%d].integration_id", field, i), "%s is not a GitHub App id (a positive whole number)", show(v))
				}
			}
		}
	}
	return nil
}

// actorIDRequired lists the actor types GitHub identifies by actor_id.
var actorIDRequired = map[string]bool{"Integration": true, "RepositoryRole": true, "Team": true, "User": true}

func validateBypass(body map[string]any, target string) *problem {
	v, present := body["bypass_actors"]
	if !present || v == nil {
		body["bypass_actors"] = []any{}
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		return problemf("bypass_actors", "must be an array, not %s", kind(v))
	}
	seen := map[string]int{}
	for i, item := range list {
		field := fmt.Sprintf("bypass_actors[%d]", i)
		actor, ok := item.(map[string]any)
		if !ok {
			return problemf(field, "must be an object, not %s", kind(item))
		}
		at, _ := actor["actor_type"].(string)
		if actor["actor_type"] == nil {
			return problemf(field+".actor_type", "missing (one of %s)", strings.Join(actorTypes, ", "))
		}
		if !slices.Contains(actorTypes, at) {
			return problemf(field+".actor_type", "%s is not one of %s", show(actor["actor_type"]), strings.Join(actorTypes, ", "))
		}
		if actorIDRequired[at] {
			n, isInt := intValue(actor["actor_id"])
			if actor["actor_id"] == nil {
				return problemf(field+".actor_id", "missing: a %s bypass actor is identified by its id", at)
			}
			if !isInt || n <= 0 {
				return problemf(field+".actor_id", "%s is not a positive whole number", show(actor["actor_id"]))
			}
		}
		mode, present := actor["bypass_mode"]
		if !present || mode == nil {
			if at == "Integration" {
				return problemf(field+".bypass_mode", "missing, and GitHub then uses \"always\": %s", integrationModeWhy)
			}
			mode = "always" // GitHub's default, spelled out so the comparison sees it
			actor["bypass_mode"] = mode
		}
		m, ok := mode.(string)
		if !ok || !slices.Contains(bypassModes, m) {
			return problemf(field+".bypass_mode", "%s is not one of %s", show(mode), strings.Join(bypassModes, ", "))
		}
		switch {
		case at == "Integration" && m == "always" && AppMayAlwaysBypass(body):
			// Allowed: bypassing this ruleset skips no review (see AppMayAlwaysBypass).
		case at == "Integration" && m != "pull_request":
			return problemf(field+".bypass_mode", "%s refused for a GitHub App (Integration): %s", strconv.Quote(m), integrationModeWhy)
		case m == "pull_request" && at == "DeployKey":
			return problemf(field+".bypass_mode", "\"pull_request\" does not apply to a DeployKey (it never opens pull requests)")
		case m == "pull_request" && target != "branch":
			return problemf(field+".bypass_mode", "\"pull_request\" only applies to branch rulesets, and this one targets %s", target)
		}
		key := actorKey(actor)
		if j, dup := seen[key]; dup {
			return problemf(field, "%s already appears in bypass_actors[%d]", key, j)
		}
		seen[key] = i
	}
	return nil
}

// integrationModeWhy is why a bot's bypass must stay in pull_request mode.
const integrationModeWhy = "use \"pull_request\". With \"always\" the app can push straight to the protected branch, " +
	"so whoever holds its private key skips review (the separation-of-duties control); with \"exempt\" the rules are " +
	"not even evaluated and no bypass is recorded. With \"pull_request\" the app's changes still go through a pull " +
	"request and every bypass is logged. \"always\" is accepted only in a ruleset whose rules are all creation, update, " +
	"deletion or non_fast_forward (who may create, move or delete the refs) and that does not target the default branch " +
	"(~DEFAULT_BRANCH, ~ALL), where bypassing skips no review"

// ownershipRules are the rule types that only say who may create, move or
// delete a ref. Bypass is per ruleset (bypassing ruleset A does not bypass
// B: https://docs.github.com/repositories/configuring-branches-and-merges-in-your-repository/managing-rulesets/about-rulesets),
// so an App that always bypasses a ruleset made of these alone skips no
// review and no check of any other ruleset on the same refs.
var ownershipRules = map[string]bool{"creation": true, "update": true, "deletion": true, "non_fast_forward": true}

// AppMayAlwaysBypass reports whether a GitHub App may bypass the ruleset
// (GitHub's JSON) in always mode: its rules are all ownership rules, and it
// does not target the default branch, whose history only reviewed pull
// requests change (an App that always bypasses deletion or non_fast_forward
// there could delete or rewrite it).
func AppMayAlwaysBypass(rs map[string]any) bool {
	if !OwnershipOnly(rs["rules"]) {
		return false
	}
	cond, _ := rs["conditions"].(map[string]any)
	rn, _ := cond["ref_name"].(map[string]any)
	inc, _ := rn["include"].([]any)
	for _, p := range inc {
		if p == "~DEFAULT_BRANCH" || p == "~ALL" {
			return false
		}
	}
	return len(inc) > 0
}

// OwnershipOnly reports whether a ruleset's rules (its "rules" list) are all
// ownership rules.
func OwnershipOnly(rules any) bool {
	list, _ := rules.([]any)
	for _, r := range list {
		m, _ := r.(map[string]any)
		if t, _ := m["type"].(string); !ownershipRules[t] {
			return false
		}
	}
	return len(list) > 0
}

// actorKey identifies a bypass actor: its type and id (OrganizationAdmin and
// DeployKey have no meaningful id).
func actorKey(actor map[string]any) string {
	at, _ := actor["actor_type"].(string)
	if at == "OrganizationAdmin" || at == "DeployKey" {
		return at
	}
	return at + " " + numString(actor["actor_id"])
}

func decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &trailingError{offset: dec.InputOffset()}
	}
	return v, nil
}

// decodeObject decodes a response body that must be a JSON object.
func decodeObject(data []byte) (map[string]any, error) {
	v, err := decode(data)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("expected a JSON object, got %s", kind(v))
	}
	return m, nil
}

// trailingError is data after the JSON value.
type trailingError struct{ offset int64 }

func (e *trailingError) Error() string { return "data after the end of the ruleset" }

func position(data []byte, off int64) (line, col int) {
	off = max(0, min(off, int64(len(data))))
	line, col = 1, 1
	for _, c := range data[:off] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

func intValue(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}

func numString(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case json.Number:
		return x.String()
	}
	return show(v)
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// show renders a JSON value compactly for a message.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
