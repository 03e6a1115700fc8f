package envfile

import (
	"errors"
	"fmt"
)

// TypeError says a value is not of the type a path needs: a version that is
// not a string, or a key on the way down that is not an object.
type TypeError struct {
	Path string // the value's path
	Line int    // where the value starts
	Got  string // "a number", "an object", ...
	Want string // "a string" or "an object"
}

func (e *TypeError) Error() string {
	return fmt.Sprintf("%s (line %d) is %s, not %s", e.Path, e.Line, e.Got, e.Want)
}

// ErrNotFound is wrapped by Set when an edited key does not exist and
// SetOptions.CreateMissing is off.
var ErrNotFound = errors.New("key not found")

// Get returns the string at p. A missing key is ("", false, nil); a value of
// another type, or a non-object on the way down, is a *TypeError. To ask one
// file several things, Parse it once and ask the Document.
func Get(data []byte, p Path) (value string, exists bool, err error) {
	if p.IsZero() {
		return "", false, errors.New("empty key path")
	}
	x, err := Parse(data)
	if err != nil {
		return "", false, err
	}
	return x.Get(p)
}

// find looks p up, failing when something on the way is not an object.
func (d *doc) find(segs []string) (node, bool, error) {
	for i := 1; i < len(segs); i++ {
		n, ok := d.lookup(segs[:i])
		if !ok {
			return node{}, false, nil
		}
		if n.kind != kindObject {
			return node{}, false, fmt.Errorf("%s: %w", keyOf(segs), d.typeError(n, kindObject))
		}
	}
	n, ok := d.lookup(segs)
	return n, ok, nil
}

func (d *doc) typeError(n node, want kind) *TypeError {
	line, _ := position(d.data, n.start)
	return &TypeError{Path: keyOf(n.segs), Line: line, Got: n.kind.String(), Want: want.String()}
}

// LineOf returns the 1-based line where the value at p starts, for
// annotations; 0 when data is invalid or p is not there.
func LineOf(data []byte, p Path) int {
	x, err := Parse(data)
	if err != nil {
		return 0
	}
	return x.LineOf(p)
}

// Values validates data and returns every value the patterns track (nil
// patterns: DefaultTracked), keyed by path in ParsePath syntax, and the
// digest beside every tracked tag ("api.digest" with "api.tag"). A tracked key
// holding anything but a string is an error rather than skipped: a version
// written as a number would otherwise never deploy. So is a tracked key whose
// path cannot be written (it contains a reserved character).
func Values(data []byte, patterns []Pattern) (map[string]string, error) {
	x, err := Parse(data)
	if err != nil {
		return nil, err
	}
	return x.Values(patterns)
}

func (d *doc) values(patterns []Pattern) (map[string]string, error) {
	out := map[string]string{}
	for _, n := range d.nodes[1:] {
		if !matchAny(patterns, n.segs) && !digestOfTracked(patterns, n.segs) {
			continue
		}
		if n.kind != kindString {
			return nil, d.typeError(n, kindString)
		}
		if err := addressable(n.segs); err != nil {
			line, _ := position(d.data, n.keyStart)
			return nil, fmt.Errorf("tracked key %s (line %d) %w", keyOf(n.segs), line, err)
		}
		out[keyOf(n.segs)] = n.str
	}
	return out, nil
}
