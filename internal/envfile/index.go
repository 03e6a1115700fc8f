package envfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// kind is a JSON value's type, worded for error messages.
type kind int

const (
	kindString kind = iota + 1
	kindNumber
	kindBool
	kindNull
	kindObject
	kindArray
)

func (k kind) String() string {
	switch k {
	case kindString:
		return "a string"
	case kindNumber:
		return "a number"
	case kindBool:
		return "a boolean"
	case kindNull:
		return "null"
	case kindObject:
		return "an object"
	case kindArray:
		return "an array"
	}
	return "unknown"
}

// node is one value reachable from the top-level object through object keys
// only (values inside arrays are not addressable, so they are not indexed).
type node struct {
	segs       []string
	kind       kind
	keyStart   int // offset of the key's opening quote; 0 for the root
	keyEnd     int // offset just past the key's closing quote
	start, end int // the value's bytes
	str        string
	parent     int // index of the parent node; -1 for the root
}

// doc indexes a validated file: every addressable value with its byte span.
type doc struct {
	data  []byte
	nodes []node         // document order; nodes[0] is the root
	byKey map[string]int // indexKey(segs) -> index in nodes
}

func (d *doc) lookup(segs []string) (node, bool) {
	i, ok := d.byKey[indexKey(segs)]
	if !ok {
		return node{}, false
	}
	return d.nodes[i], true
}

// children lists the direct members of the object at index i, in order.
func (d *doc) children(i int) []node {
	var out []node
	for _, n := range d.nodes[i+1:] {
		if n.parent == i {
			out = append(out, n)
		}
	}
	return out
}

// parse validates data and indexes it. It walks encoding/json's token stream
// rather than trusting json.Valid, which accepts duplicate keys and any
// top-level value.
func parse(data []byte, maxSize int) (*doc, error) {
	if err := checkSyntax(data, maxSize); err != nil {
		return nil, err
	}
	w := &walker{data: data, dec: json.NewDecoder(bytes.NewReader(data)), d: &doc{data: data, byKey: map[string]int{}}}
	w.dec.UseNumber() // numbers like 1e400 are valid JSON but overflow float64
	start := w.next(0)
	tok, err := w.dec.Token()
	if err != nil {
		return nil, w.fail(err)
	}
	if tok != json.Delim('{') {
		return nil, syntaxErrorAt(data, start, fmt.Sprintf("the top-level value is %s; an environment file must be a JSON object", kindOfToken(tok)))
	}
	w.d.nodes = append(w.d.nodes, node{kind: kindObject, start: start, parent: -1})
	w.d.byKey[indexKey(nil)] = 0
	if err := w.object(0, nil, false); err != nil {
		return nil, err
	}
	w.d.nodes[0].end = int(w.dec.InputOffset())
	if _, err := w.dec.Token(); err != io.EOF {
		// checkSyntax already rejects trailing data; this guards the walk.
		return nil, w.fail(fmt.Errorf("unexpected data after the top-level object"))
	}
	return w.d, nil
}

// MaxDepth bounds how deeply objects and arrays nest. Environment files are a
// few levels deep; the bound keeps indexing (which copies each value's path)
// from going quadratic on a pathological file.
const MaxDepth = 64

type walker struct {
	data  []byte
	dec   *json.Decoder
	d     *doc
	depth int
}

// next skips the bytes the decoder consumes silently between tokens
// (whitespace, ':' and ','), giving the offset where the next token starts.
func (w *walker) next(off int) int {
	for off < len(w.data) {
		switch w.data[off] {
		case ' ', '\t', '\n', '\r', ':', ',':
			off++
		default:
			return off
		}
	}
	return off
}

// fail reports an error the syntax check should already have caught.
func (w *walker) fail(err error) error {
	return syntaxErrorAt(w.data, int(w.dec.InputOffset()), fmt.Sprintf("invalid JSON: %v", err))
}

// object walks the members of an object whose '{' was just read. Members
// inside arrays are checked for duplicates but not indexed.
func (w *walker) object(self int, segs []string, inArray bool) error {
	seen := map[string]bool{}
	for w.dec.More() {
		keyStart := w.next(int(w.dec.InputOffset()))
		tok, err := w.dec.Token()
		if err != nil {
			return w.fail(err)
		}
		key, ok := tok.(string)
		if !ok {
			return w.fail(fmt.Errorf("object key is not a string"))
		}
		if seen[key] {
			return syntaxErrorAt(w.data, keyStart, fmt.Sprintf("duplicate key %q", key))
		}
		seen[key] = true
		n := node{keyStart: keyStart, keyEnd: int(w.dec.InputOffset()), parent: self}
		n.segs = append(append(make([]string, 0, len(segs)+1), segs...), key)
		if err := w.value(&n, inArray); err != nil {
			return err
		}
	}
	if _, err := w.dec.Token(); err != nil { // the closing '}'
		return w.fail(err)
	}
	return nil
}

// value reads one value into n and indexes it unless it sits in an array.
func (w *walker) value(n *node, inArray bool) error {
	n.start = w.next(int(w.dec.InputOffset()))
	tok, err := w.dec.Token()
	if err != nil {
		return w.fail(err)
	}
	self := -1
	if !inArray {
		self = len(w.d.nodes)
		w.d.nodes = append(w.d.nodes, node{}) // filled in below, after children
	}
	switch t := tok.(type) {
	case json.Delim:
		if w.depth++; w.depth >= MaxDepth {
			return syntaxErrorAt(w.data, n.start, fmt.Sprintf("nested more than %d levels deep", MaxDepth))
		}
		defer func() { w.depth-- }()
		if t == '{' {
			n.kind = kindObject
			err = w.object(self, n.segs, inArray)
		} else {
			n.kind = kindArray
			err = w.array()
		}
		if err != nil {
			return err
		}
	case string:
		n.kind, n.str = kindString, t
	case json.Number:
		n.kind = kindNumber
	case bool:
		n.kind = kindBool
	case nil:
		n.kind = kindNull
	}
	n.end = int(w.dec.InputOffset())
	if !inArray {
		w.d.nodes[self] = *n
		w.d.byKey[indexKey(n.segs)] = self
	}
	return nil
}

// array walks an array whose '[' was just read, for the duplicate check.
func (w *walker) array() error {
	for w.dec.More() {
		var n node
		if err := w.value(&n, true); err != nil {
			return err
		}
	}
	if _, err := w.dec.Token(); err != nil { // the closing ']'
		return w.fail(err)
	}
	return nil
}

func kindOfToken(tok json.Token) kind {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return kindArray
		}
		return kindObject
	case string:
		return kindString
	case json.Number:
		return kindNumber
	case bool:
		return kindBool
	}
	return kindNull
}
