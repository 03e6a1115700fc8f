package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const fixture = `{
  "openapi": "3.0.3",
  "info": {"version": "9.9.9", "license": {"name": "MIT"}},
  "paths": {
    "/a/{id}": {
      "parameters": [{"$ref": "#/components/parameters/id"}],
      "get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/a"}}}}}},
      "delete": {"responses": {"204": {"description": "gone"}}}
    },
    "/b": {"get": {"responses": {"200": {"$ref": "#/components/responses/b"}}}}
  },
  "components": {
    "parameters": {"id": {"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}},
    "responses": {"b": {"description": "b", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/b"}}}}},
    "schemas": {
      "a": {"type": "object", "properties": {"child": {"$ref": "#/components/schemas/child"}}},
      "child": {"type": "object", "properties": {"self": {"$ref": "#/components/schemas/child"}}},
      "b": {"type": "string"},
      "unused": {"type": "string"}
    }
  }
}`

func TestExtractKeepsOnlyReferencedComponents(t *testing.T) {
	doc, err := decode([]byte(fixture))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Extract(doc, []string{"GET /a/{id}"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out)
	s := string(b)
	for _, want := range []string{`"child"`, `"a"`, `"id"`, `"get"`} {
		if !strings.Contains(s, want) {
			t.Errorf("extract lacks %s: %s", want, s)
		}
	}
	for _, unwanted := range []string{`"unused"`, `"delete"`, `"/b"`, `"responses":{"b"`} {
		if strings.Contains(s, unwanted) {
			t.Errorf("extract has %s: %s", unwanted, s)
		}
	}
	if _, err := Extract(doc, []string{"POST /a/{id}"}); err == nil {
		t.Error("a missing operation must be an error")
	}
}

func TestRunWritesInfo(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "spec.json")
	if err := os.WriteFile(spec, []byte(fixture), 0o644); err != nil {
		t.Fatal(err)
	}
	// The real operation list is not in the fixture, so run must fail
	// loudly rather than write a partial extract.
	if err := run(spec, filepath.Join(dir, "out.json")); err == nil || !strings.Contains(err.Error(), "not in the description") {
		t.Fatalf("run on an incomplete spec: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out.json")); !os.IsNotExist(err) {
		t.Fatal("partial extract written")
	}
}
