package githubtest

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest/openapi"
)

// specJSON is the extract of GitHub's description cut by openapi/gen.
//
//go:embed openapi/github.json
var specJSON []byte

// The spec is the only process-wide state: parsing it takes a noticeable
// fraction of a second, and it never changes.
var (
	specOnce sync.Once
	specVal  *spec
	specErr  error
)

// spec is the loaded description with an index from "METHOD /path" to the
// operation, so the server never needs kin-openapi's router (its own router
// already knows which operation a request is).
type spec struct {
	doc *openapi3.T
	ops map[string]*routers.Route
}

func loadSpec() (*spec, error) {
	specOnce.Do(func() {
		specVal, specErr = parseSpec(specJSON)
	})
	return specVal, specErr
}

func parseSpec(data []byte) (*spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("githubtest: load embedded OpenAPI extract: %w", err)
	}
	sp := &spec{doc: doc, ops: map[string]*routers.Route{}}
	for _, key := range openapi.Operations {
		method, path, _ := strings.Cut(key, " ")
		item := doc.Paths.Value(path)
		if item == nil || item.GetOperation(method) == nil {
			return nil, fmt.Errorf("githubtest: operation %s missing from the extract (regenerate openapi/github.json)", key)
		}
		op := item.GetOperation(method)
		relaxAmbiguousErrorOneOf(op)
		sp.ops[key] = &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}
	}
	return sp, nil
}

// relaxAmbiguousErrorOneOf is the one change made to GitHub's description,
// and only on the response side. Some error responses are declared as
// oneOf [basic-error, repository-rule-violation-error] (or validation-error
// instead of basic-error). Those schemas have no discriminator and no
// required property that tells them apart, so every error body matches both
// alternatives and "oneOf" can never pass, whatever the server sends. Those
// (and only those) are validated as anyOf: the body must still match one of
// GitHub's error schemas.
func relaxAmbiguousErrorOneOf(op *openapi3.Operation) {
	if op.Responses == nil {
		return
	}
	for code, ref := range op.Responses.Map() {
		if ref.Value == nil || !strings.HasPrefix(code, "4") {
			continue
		}
		for _, mt := range ref.Value.Content {
			s := mt.Schema
			if s == nil || s.Value == nil || len(s.Value.OneOf) < 2 {
				continue
			}
			allErrors := true
			for _, alt := range s.Value.OneOf {
				switch alt.Ref {
				case "#/components/schemas/basic-error", "#/components/schemas/validation-error",
					"#/components/schemas/repository-rule-violation-error":
				default:
					allErrors = false
				}
			}
			if allErrors {
				relaxed := *s.Value
				relaxed.AnyOf, relaxed.OneOf = relaxed.OneOf, nil
				mt.Schema = &openapi3.SchemaRef{Value: &relaxed}
			}
		}
	}
}

// schemaOptions adds a document-scoped "uri" check (kin-openapi ignores the
// format by default) without touching kin-openapi's global format registry.
func schemaOptions() []openapi3.SchemaValidationOption {
	return []openapi3.SchemaValidationOption{
		openapi3.WithStringFormatValidator("uri", openapi3.NewCallbackValidator(func(s string) error {
			// "" is GitHub's documented default for some uri fields (e.g. a
			// deployment status's target_url), meaning "not set".
			if s == "" {
				return nil
			}
			u, err := url.Parse(s)
			if err != nil || !u.IsAbs() || u.Host == "" {
				return fmt.Errorf("%q is not an absolute URI", s)
			}
			return nil
		})),
	}
}

func filterOptions() *openapi3filter.Options {
	o := &openapi3filter.Options{
		MultiError:                        true,
		IncludeResponseStatus:             true,
		RejectWhenRequestBodyNotSpecified: true,
		AuthenticationFunc:                openapi3filter.NoopAuthenticationFunc,
		SchemaValidationOptions:           schemaOptions(),
		// Defaults must not be written into the request the handler sees:
		// handlers apply GitHub's defaults themselves.
		SkipSettingDefaults: true,
	}
	// One line per problem (where, why, what was sent) instead of kin's
	// default that dumps the whole schema.
	o.WithCustomSchemaErrorFunc(func(err *openapi3.SchemaError) string {
		value, _ := json.Marshal(err.Value)
		if len(value) > 200 {
			value = append(value[:200], "..."...)
		}
		return fmt.Sprintf("at %q: %s (value %s)", "/"+strings.Join(err.JSONPointer(), "/"), err.Reason, value)
	})
	return o
}

// Violation is a request or response that does not match GitHub's OpenAPI
// description.
type Violation struct {
	Kind      string // "request" or "response"
	Operation string // "METHOD /path" as in the description
	Path      string // the concrete request path
	Status    int    // response status (responses only)
	Message   string
}

func (v Violation) String() string {
	if v.Kind == "response" {
		return fmt.Sprintf("githubtest: response does not match GitHub's OpenAPI description: %s (%s) -> %d: %s", v.Operation, v.Path, v.Status, v.Message)
	}
	return fmt.Sprintf("githubtest: request does not match GitHub's OpenAPI description: %s (%s): %s", v.Operation, v.Path, v.Message)
}

// validateRequest checks path parameters, query, headers and body. body is
// the already-read request body; r.Body is restored afterwards.
func (sp *spec) validateRequest(ctx context.Context, opKey string, r *http.Request, params map[string]string, body []byte) error {
	route := sp.ops[opKey]
	if route == nil {
		return fmt.Errorf("operation %s is not in the description", opKey)
	}
	if opKey == "POST /repos/{owner}/{repo}/issues/{issue_number}/labels" {
		body = wrapBareLabelArray(body)
	}
	req := r.Clone(ctx)
	req.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) == 0 {
		req.Body = http.NoBody
		req.ContentLength = 0
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: filterOptions()}
	return openapi3filter.ValidateRequest(ctx, in)
}

// wrapBareLabelArray: GitHub's description of issues/add-labels says "You
// can also pass an array of labels directly", but its schema only lists the
// {"labels": [...]} object, and go-github sends the bare array. The bare
// form is validated as the object form, so every label is still checked
// against the same item schema.
func wrapBareLabelArray(body []byte) []byte {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '[' {
		return body
	}
	return append(append([]byte(`{"labels":`), trimmed...), '}')
}

func (sp *spec) validateResponse(ctx context.Context, opKey string, r *http.Request, params map[string]string, status int, header http.Header, body []byte) error {
	route := sp.ops[opKey]
	if route == nil {
		return fmt.Errorf("operation %s is not in the description", opKey)
	}
	req := r.Clone(ctx)
	req.Body = http.NoBody
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: filterOptions()},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                filterOptions(),
	}
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		return err
	}
	// A response without a body where the description declares one (204
	// aside) is a server bug kin-openapi does not catch on its own.
	if ref := route.Operation.Responses.Status(status); ref != nil && ref.Value != nil && len(ref.Value.Content) > 0 && len(body) == 0 {
		return errors.New("response has no body but the description declares one")
	}
	return nil
}

// validateComponent checks a body against a named component schema; used
// for responses the description does not declare for the operation.
func (sp *spec) validateComponent(name string, body []byte) error {
	ref := sp.doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("component schema %s missing from the extract", name)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("body is not JSON: %w", err)
	}
	opts := append([]openapi3.SchemaValidationOption{openapi3.MultiErrors(), openapi3.VisitAsResponse(),
		openapi3.SetSchemaErrorMessageCustomizer(func(err *openapi3.SchemaError) string {
			return fmt.Sprintf("at %q: %s", "/"+strings.Join(err.JSONPointer(), "/"), err.Reason)
		})}, schemaOptions()...)
	return ref.Value.VisitJSON(v, opts...)
}

// docURL is the operation's page in GitHub's REST docs, used as the
// documentation_url of error bodies like GitHub does.
func (sp *spec) docURL(opKey string) string {
	if route := sp.ops[opKey]; route != nil && route.Operation.ExternalDocs != nil {
		return route.Operation.ExternalDocs.URL
	}
	return "https://docs.github.com/rest"
}

// ruleTypes are the rule types GitHub's description knows.
func (sp *spec) ruleTypes() map[string]bool {
	known := map[string]bool{}
	ref := sp.doc.Components.Schemas["repository-rule"]
	if ref == nil || ref.Value == nil {
		return known
	}
	for _, alt := range ref.Value.OneOf {
		if alt.Value == nil {
			continue
		}
		if t := alt.Value.Properties["type"]; t != nil && t.Value != nil {
			for _, e := range t.Value.Enum {
				if s, ok := e.(string); ok {
					known[s] = true
				}
			}
		}
	}
	return known
}

// violationMessage flattens kin-openapi's (multi-)errors into one line per
// problem so a test failure shows every mismatch at once.
func violationMessage(err error) string {
	var me openapi3.MultiError
	if errors.As(err, &me) {
		parts := make([]string, 0, len(me))
		for _, e := range me {
			parts = append(parts, violationMessage(e))
		}
		return strings.Join(parts, "; ")
	}
	msg := err.Error()
	return strings.Join(strings.Fields(msg), " ")
}
