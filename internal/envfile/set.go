package envfile

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/tidwall/sjson"
)

// Edit sets the string at Path to Value.
type Edit struct {
	Path  Path
	Value string
}

// SetOptions tunes Set.
type SetOptions struct {
	// CreateMissing creates a missing key, and any missing objects on the
	// way to it. An existing value on the way that is not an object is
	// never replaced: that is an error.
	CreateMissing bool
	// MaxSize caps input and output; DefaultMaxSize when <= 0.
	MaxSize int
}

// Change records a value Set actually changed. Old is empty when Created.
type Change struct {
	Path     string // in ParsePath syntax
	Old, New string
	Created  bool
}

// Set applies edits to data and returns the new file and the values that
// changed; edits that set a value to what it already is are left out of
// changed, so no changes means nothing to commit. Every edited path must hold
// a string (or be missing, with CreateMissing). The output differs from data
// only in the edited values' bytes (plus inserted members when keys are
// created), and is checked to be a valid environment file before it is
// returned. data is never modified; out is always a new slice.
func Set(data []byte, edits []Edit, opts SetOptions) (out []byte, changed []Change, err error) {
	orig, err := parse(data, opts.MaxSize)
	if err != nil {
		return nil, nil, err
	}
	if err := checkEdits(edits); err != nil {
		return nil, nil, err
	}
	cur := orig
	for _, e := range edits {
		n, ok, err := cur.find(e.Path.segs)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case ok && n.kind != kindString:
			return nil, nil, cur.typeError(n, kindString)
		case ok && n.str == e.Value:
			continue
		case ok:
			cur, err = replace(cur, n, e, opts.MaxSize)
			changed = append(changed, Change{Path: e.Path.String(), Old: n.str, New: e.Value})
		case !opts.CreateMissing:
			return nil, nil, fmt.Errorf("%s: %w", e.Path, ErrNotFound)
		default:
			cur, err = create(cur, e, opts.MaxSize)
			changed = append(changed, Change{Path: e.Path.String(), New: e.Value, Created: true})
		}
		if err != nil {
			return nil, nil, err
		}
	}
	if len(changed) == 0 {
		return bytes.Clone(data), nil, nil
	}
	if err := verify(orig, cur, edits); err != nil {
		return nil, nil, err
	}
	return cur.data, changed, nil
}

// checkEdits rejects edit lists whose result would depend on their order.
func checkEdits(edits []Edit) error {
	for i, e := range edits {
		if e.Path.IsZero() {
			return fmt.Errorf("edit %d has an empty key path", i+1)
		}
		if !utf8.ValidString(e.Value) {
			// sjson would turn the bad bytes into U+FFFD: not what was asked.
			return fmt.Errorf("%s: the new value is not valid UTF-8", e.Path)
		}
		for _, f := range edits[:i] {
			switch {
			case f.Path.String() == e.Path.String() && f.Value != e.Value:
				return fmt.Errorf("%s is edited twice, to %q and %q", e.Path, f.Value, e.Value)
			case isPrefix(f.Path.segs, e.Path.segs) || isPrefix(e.Path.segs, f.Path.segs):
				return fmt.Errorf("edits of %s and %s conflict: one is inside the other", f.Path, e.Path)
			}
		}
	}
	return nil
}

// isPrefix reports whether a is a strict prefix of b.
func isPrefix(a, b []string) bool {
	if len(a) >= len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// replace sets an existing string through sjson, then checks that only the
// value's bytes changed.
func replace(cur *doc, n node, e Edit, maxSize int) (*doc, error) {
	out, err := sjson.SetBytesOptions(cur.data, e.Path.GJSON(), e.Value, &sjson.Options{Optimistic: true})
	if err != nil {
		return nil, fmt.Errorf("set %s: %w", e.Path, err)
	}
	next, err := parse(out, maxSize)
	if err != nil {
		return nil, fmt.Errorf("set %s: the result is not a valid environment file: %w", e.Path, err)
	}
	m, ok := next.lookup(e.Path.segs)
	tail := len(cur.data) - n.end
	if !ok || m.kind != kindString || m.str != e.Value || m.start != n.start || len(out)-m.end != tail ||
		!bytes.Equal(out[:n.start], cur.data[:n.start]) || !bytes.Equal(out[m.end:], cur.data[n.end:]) {
		return nil, fmt.Errorf("set %s: sjson changed more than the value; refusing the edit", e.Path)
	}
	return next, nil
}

// create inserts the missing part of e.Path under its deepest existing
// object, in that object's formatting style.
func create(cur *doc, e Edit, maxSize int) (*doc, error) {
	segs := e.Path.segs
	k := 0 // segs[:k] exists (the root always does)
	for k < len(segs) {
		if _, ok := cur.lookup(segs[:k+1]); !ok {
			break
		}
		k++
	}
	pi := cur.byKey[indexKey(segs[:k])]
	at, text := cur.insertion(pi, segs[k:], e.Value)
	out := make([]byte, 0, len(cur.data)+len(text))
	out = append(append(append(out, cur.data[:at]...), text...), cur.data[at:]...)
	next, err := parse(out, maxSize)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", e.Path, err)
	}
	if m, ok := next.lookup(segs); !ok || m.kind != kindString || m.str != e.Value {
		return nil, fmt.Errorf("create %s: the inserted key does not read back; refusing the edit", e.Path)
	}
	return next, nil
}

// verify compares the final file with the original: every value not edited
// is byte-for-byte the same, every edited one reads back, and the only new
// keys are the ones the edits created.
func verify(orig, final *doc, edits []Edit) error {
	want := map[string]string{}
	created := map[string]bool{}
	for _, e := range edits {
		want[indexKey(e.Path.segs)] = e.Value
		for i := 1; i <= len(e.Path.segs); i++ {
			created[indexKey(e.Path.segs[:i])] = true
		}
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("internal error: edit check failed: "+format, args...)
	}
	for _, n := range orig.nodes {
		m, ok := final.lookup(n.segs)
		if !ok || m.kind != n.kind {
			return fail("%s changed type or vanished", keyOf(n.segs))
		}
		if v, edited := want[indexKey(n.segs)]; edited {
			if m.str != v {
				return fail("%s reads %q, want %q", keyOf(n.segs), m.str, v)
			}
			continue
		}
		if n.kind != kindObject && !bytes.Equal(orig.data[n.start:n.end], final.data[m.start:m.end]) {
			return fail("%s changed", keyOf(n.segs))
		}
	}
	for _, m := range final.nodes {
		if _, ok := orig.lookup(m.segs); !ok && !created[indexKey(m.segs)] {
			return fail("unexpected new key %s", keyOf(m.segs))
		}
	}
	for _, e := range edits {
		if m, ok := final.lookup(e.Path.segs); !ok || m.kind != kindString || m.str != e.Value {
			return fail("%s does not read back %q", e.Path, e.Value)
		}
	}
	return nil
}
