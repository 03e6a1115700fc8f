package envfile

import "errors"

// Document is an environment file parsed once: a caller that asks a file
// several things (its values, a key, a hold, a line) asks the Document
// instead of handing the bytes to Get, Values, Hold and LineOf, each of
// which parses them again.
type Document struct{ d *doc }

// Parse validates data (DefaultMaxSize) and indexes every addressable value.
func Parse(data []byte) (*Document, error) {
	d, err := parse(data, 0)
	if err != nil {
		return nil, err
	}
	return &Document{d: d}, nil
}

// Get returns the string at p. A missing key is ("", false, nil); a value of
// another type, or a non-object on the way down, is a *TypeError.
func (x *Document) Get(p Path) (value string, exists bool, err error) {
	if p.IsZero() {
		return "", false, errors.New("empty key path")
	}
	n, ok, err := x.d.find(p.segs)
	if err != nil || !ok {
		return "", false, err
	}
	if n.kind != kindString {
		return "", true, x.d.typeError(n, kindString)
	}
	return n.str, true, nil
}

// Values returns every value the patterns track (nil patterns:
// DefaultTracked) and the digest beside every tracked tag; see Values.
func (x *Document) Values(patterns []Pattern) (map[string]string, error) {
	if patterns == nil {
		p, err := ParsePattern(DefaultTracked)
		if err != nil {
			return nil, err
		}
		patterns = []Pattern{p}
	}
	return x.d.values(patterns)
}

// Hold reports whether the value at p is held, and why; see HoldKey.
func (x *Document) Hold(p Path) (reason string, held bool) {
	return x.d.hold(p)
}

// LineOf returns the 1-based line where the value at p starts; 0 when p is
// not there.
func (x *Document) LineOf(p Path) int {
	if p.IsZero() {
		return 0
	}
	n, ok := x.d.lookup(p.segs)
	if !ok {
		return 0
	}
	line, _ := position(x.d.data, n.start)
	return line
}
