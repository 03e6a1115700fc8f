// Command gen cuts the operations githubtest implements out of GitHub's
// official OpenAPI description (the @octokit/openapi npm package) into a small
// extract that keeps every component those operations reference, so the
// server can load it quickly and validate against the real schemas.
//
//	go run ./internal/testkit/githubtest/openapi/gen \
//	  -spec node_modules/@octokit/openapi/generated/api.github.com.json \
//	  -out internal/testkit/githubtest/openapi/github.json
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest/openapi"
)

func main() {
	spec := flag.String("spec", "", "path to @octokit/openapi's generated/api.github.com.json")
	out := flag.String("out", "internal/testkit/githubtest/openapi/github.json", "where to write the extract")
	flag.Parse()
	if *spec == "" {
		fmt.Fprintln(os.Stderr, "gen: -spec is required")
		os.Exit(2)
	}
	if err := run(*spec, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(specPath, outPath string) error {
	raw, err := os.ReadFile(specPath)
	if err != nil {
		return fmt.Errorf("read spec: %w", err)
	}
	doc, err := decode(raw)
	if err != nil {
		return fmt.Errorf("parse %s: %w", specPath, err)
	}
	extract, err := Extract(doc, openapi.Operations)
	if err != nil {
		return err
	}
	info, _ := doc["info"].(map[string]any)
	version, _ := info["version"].(string)
	sum := sha256.Sum256(raw)
	extract["info"] = map[string]any{
		"title":   "githubtest extract of GitHub's REST API description",
		"version": version,
		"description": fmt.Sprintf("The %d operations internal/testkit/githubtest serves, cut with every component they reference "+
			"from npm package @octokit/openapi@%s (generated/api.github.com.json). Do not edit: regenerate with "+
			"go run ./internal/testkit/githubtest/openapi/gen -spec <api.github.com.json> -out internal/testkit/githubtest/openapi/github.json",
			len(openapi.Operations), version),
		"x-source": map[string]any{
			"package": "@octokit/openapi",
			"version": version,
			"file":    "generated/api.github.com.json",
			"sha256":  hex.EncodeToString(sum[:]),
		},
		"license": info["license"],
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(extract); err != nil {
		return fmt.Errorf("encode extract: %w", err)
	}
	if err := os.WriteFile(outPath, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write extract: %w", err)
	}
	fmt.Printf("gen: wrote %s (%d operations, %d bytes)\n", outPath, len(openapi.Operations), buf.Len())
	return nil
}

func decode(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep numbers (e.g. int64 examples) exactly as written
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// Extract returns a document holding only ops ("METHOD /path") and the
// components they reference, directly or through other components.
func Extract(doc map[string]any, ops []string) (map[string]any, error) {
	paths, _ := doc["paths"].(map[string]any)
	components, _ := doc["components"].(map[string]any)
	outPaths := map[string]any{}
	var queue []any
	for _, op := range ops {
		method, path, ok := strings.Cut(op, " ")
		if !ok {
			return nil, fmt.Errorf("operation %q is not \"METHOD /path\"", op)
		}
		item, _ := paths[path].(map[string]any)
		operation, ok := item[strings.ToLower(method)]
		if !ok {
			return nil, fmt.Errorf("operation %s is not in the description", op)
		}
		dst, _ := outPaths[path].(map[string]any)
		if dst == nil {
			dst = map[string]any{}
			if params, ok := item["parameters"]; ok {
				dst["parameters"] = params
				queue = append(queue, params)
			}
			outPaths[path] = dst
		}
		dst[strings.ToLower(method)] = operation
		queue = append(queue, operation)
	}
	outComponents := map[string]any{}
	seen := map[string]bool{}
	for len(queue) > 0 {
		node := queue[0]
		queue = queue[1:]
		for _, ref := range refs(node) {
			if seen[ref] {
				continue
			}
			seen[ref] = true
			section, name, err := splitRef(ref)
			if err != nil {
				return nil, err
			}
			sec, _ := components[section].(map[string]any)
			target, ok := sec[name]
			if !ok {
				return nil, fmt.Errorf("unresolved $ref %s", ref)
			}
			dst, _ := outComponents[section].(map[string]any)
			if dst == nil {
				dst = map[string]any{}
				outComponents[section] = dst
			}
			dst[name] = target
			queue = append(queue, target)
		}
	}
	return map[string]any{
		"openapi":    doc["openapi"],
		"servers":    doc["servers"],
		"paths":      outPaths,
		"components": outComponents,
	}, nil
}

// refs lists every "$ref" under node, sorted so output order never depends
// on map iteration.
func refs(node any) []string {
	set := map[string]bool{}
	var walk func(any)
	walk = func(n any) {
		switch v := n.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok {
				set[r] = true
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(node)
	out := make([]string, 0, len(set))
	for r := range set {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

func splitRef(ref string) (section, name string, err error) {
	parts := strings.Split(strings.TrimPrefix(ref, "#/"), "/")
	if !strings.HasPrefix(ref, "#/components/") || len(parts) != 3 {
		return "", "", errors.New("unsupported $ref " + ref + " (only #/components/<section>/<name>)")
	}
	unescape := strings.NewReplacer("~1", "/", "~0", "~")
	return unescape.Replace(parts[1]), unescape.Replace(parts[2]), nil
}
