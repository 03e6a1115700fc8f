package envfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

var fuzzFiles = []string{
	env,
	sample,
	`{}`,
	`{"api":{"tag":"v1"},"web":{"tag":"w1"}}`,
	"{\r\n  \"api\": {\r\n    \"tag\": \"v1\"\r\n  }\r\n}\r\n",
	"{\n\t\"api\": {\"tag\": \"a\\\"b\\\\c\\u00e9\"},\n\t\"my.app\": {\"tag\": \"x\"}\n}",
	`{"0":{"tag":"a"},":x":{"tag":"b"},"a b":{"tag":"c"},"ü":{"tag":"d"}}`,
	`{"a":[{"tag":"x"},{"tag":"y"}],"tag":"top","n":{"tag":null}}`,
	`{"t\u0061g":"escaped key","x":{"\ud800":"lone surrogate"}}`,
	`{"a":1,"a":2}`,
	`{"a":{"b":{"c":{"tag":"deep"}}}}`,
	`[]`,
	`{"a":1e400,"b":-0.5,"c":true,"d":false}`,
	"\xef\xbb\xbf{}",
	`{"a":"x",}`,
}

// FuzzValidate: Validate never panics, agrees with json.Valid on syntax,
// rejects exactly the files with duplicate keys, and points inside the file.
func FuzzValidate(f *testing.F) {
	for _, s := range fuzzFiles {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := Validate(data, 0)
		var se *SyntaxError
		if errors.As(err, &se) {
			if se.Line < 1 || se.Column < 1 || se.Line > bytes.Count(data, []byte("\n"))+1 {
				t.Fatalf("position %d:%d out of range: %v", se.Line, se.Column, err)
			}
		}
		plain := json.Valid(data) && utf8.Valid(data) && len(data) <= DefaultMaxSize &&
			bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("{")) && depth(data) <= MaxDepth
		if err == nil && !plain {
			t.Fatalf("Validate accepted %q", data)
		}
		if plain {
			dup := keyCount(gjson.ParseBytes(data)) != decodedKeyCount(t, data)
			if dup && err == nil {
				t.Fatalf("Validate missed a duplicate key in %q", data)
			}
			if !dup && err != nil {
				t.Fatalf("Validate rejected %q: %v", data, err)
			}
		}
	})
}

// keyCount counts the keys gjson sees, duplicates included.
func keyCount(r gjson.Result) int {
	n := 0
	if !r.IsObject() && !r.IsArray() {
		return 0 // ForEach on a scalar visits the scalar itself
	}
	r.ForEach(func(_, v gjson.Result) bool {
		if r.IsObject() {
			n++
		}
		n += keyCount(v)
		return true
	})
	return n
}

// decodedKeyCount counts the keys left after encoding/json decoded the file
// into maps, where a duplicate overwrites the first.
func decodedKeyCount(t *testing.T, data []byte) int {
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // 1e400 is valid JSON
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	var count func(any) int
	count = func(v any) int {
		n := 0
		switch v := v.(type) {
		case map[string]any:
			for _, x := range v {
				n += 1 + count(x)
			}
		case []any:
			for _, x := range v {
				n += count(x)
			}
		}
		return n
	}
	return count(v)
}

// depth is the deepest nesting of objects and arrays, outside strings.
func depth(data []byte) int {
	d, deepest, inString := 0, 0, false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			d++
			deepest = max(deepest, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return deepest
}

// FuzzParsePath: a parsed path round-trips through String and its GJSON form
// addresses exactly its keys in gjson and sjson.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"api.tag", `my\.app.tag`, `a\\b`, "0.tag", ":x", "a b.c", "ü.tag", "a..b", ".a", `a\`, "a*", "a/b+c", strings.Repeat("a.", 128) + "b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			return
		}
		if p.String() != s {
			t.Fatalf("ParsePath(%q).String() = %q", s, p.String())
		}
		for _, seg := range p.segs {
			if seg == "" || strings.ContainsAny(seg, reserved) {
				t.Fatalf("ParsePath(%q) kept the segment %q", s, seg)
			}
		}
		checkGJSONPath(t, p)
	})
}

// FuzzSet: Set never panics or modifies its input; a successful Set gives a
// valid file where each edited path reads back its new value, every other
// tracked value is unchanged, and the reported changes are exactly the
// values that differ.
func FuzzSet(f *testing.F) {
	for _, s := range fuzzFiles {
		f.Add([]byte(s), "api.tag", "v2", "web.tag", "w2", false)
		f.Add([]byte(s), "new.tag", "q\"\\\n", `my\.app.tag`, "v1", true)
	}
	f.Add([]byte(`{"a":{"tag":"x"}}`), "a.tag", "x", "b.c.tag", "y", true)
	f.Add([]byte(`{"a":{"tag":"x"}}`), "a", "x", "a.tag", "y", true)
	f.Fuzz(func(t *testing.T, data []byte, p1, v1, p2, v2 string, create bool) {
		var es []Edit
		for _, e := range [][2]string{{p1, v1}, {p2, v2}} {
			if p, err := ParsePath(e[0]); err == nil {
				es = append(es, Edit{Path: p, Value: e[1]})
			}
		}
		in := bytes.Clone(data)
		out, changed, err := Set(data, es, SetOptions{CreateMissing: create})
		if !bytes.Equal(in, data) {
			t.Fatal("Set modified its input")
		}
		if err != nil {
			if out != nil || changed != nil {
				t.Fatalf("error %v with output", err)
			}
			return
		}
		if err := Validate(out, 0); err != nil {
			t.Fatalf("Set produced an invalid file: %v\n%q", err, out)
		}
		edited := map[string]string{}
		for _, e := range es {
			edited[e.Path.String()] = e.Value
			got, ok, err := Get(out, e.Path)
			if err != nil || !ok || got != e.Value {
				t.Fatalf("Get(%s) after Set = %q, %v, %v; want %q", e.Path, got, ok, err, e.Value)
			}
		}
		reported := map[string]bool{}
		for _, c := range changed {
			reported[c.Path] = true
			if c.Old == c.New && !c.Created {
				t.Fatalf("no-op change reported: %+v", c)
			}
		}
		for _, e := range es {
			old, existed, _ := Get(data, e.Path)
			if want := !existed || old != e.Value; reported[e.Path.String()] != want {
				t.Fatalf("change of %s reported = %v, want %v (%+v)", e.Path, !want, want, changed)
			}
		}
		if len(changed) == 0 && !bytes.Equal(out, data) {
			t.Fatal("no changes but the output differs")
		}
		before, err := Values(data, nil)
		if err != nil {
			return // the input tracks something that is not a string
		}
		for k, v := range before {
			if _, ok := edited[k]; ok {
				continue
			}
			p, err := ParsePath(k)
			if err != nil {
				t.Fatalf("Values returned the unparsable key %q: %v", k, err)
			}
			if got, ok, err := Get(out, p); err != nil || !ok || got != v {
				t.Fatalf("tracked %s changed from %q to %q (%v, %v)", k, v, got, ok, err)
			}
		}
		// A created object can land on a tracked name ("tag.x" makes "tag"
		// an object), which Values rightly refuses; otherwise the only new
		// tracked keys are edited ones.
		after, err := Values(out, nil)
		if err != nil {
			return
		}
		for k := range after {
			if _, ok := before[k]; !ok {
				if _, ok := edited[k]; !ok {
					t.Fatalf("new tracked key %s", k)
				}
			}
		}
	})
}
