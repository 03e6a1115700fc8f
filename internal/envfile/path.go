package envfile

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// MaxPathLength bounds a key path as written, escapes included.
const MaxPathLength = 256

// reserved are the characters gjson and sjson give meaning to (wildcards,
// queries, modifiers, pipes, literals, multipaths). Rejecting them outright,
// rather than escaping them, keeps a path from ever being read as a query.
const reserved = `*?#@|!()[]{}=<>%'"`

// Path is a parsed key path: the keys from the top-level object down to a
// value. The zero Path is empty and matches nothing; build one with
// ParsePath.
type Path struct {
	segs []string
}

// ParsePath parses a key path such as "api.tag" or `my\.app.tag` (see the
// package documentation for the syntax).
func ParsePath(s string) (Path, error) {
	segs, err := splitSegments(s, false)
	if err != nil {
		return Path{}, fmt.Errorf("key path %q: %w", s, err)
	}
	return Path{segs: segs}, nil
}

// splitSegments parses the shared syntax of paths and patterns; with
// wildcards, the segments "*" and "**" are allowed.
func splitSegments(s string, wildcards bool) ([]string, error) {
	switch {
	case s == "":
		return nil, errors.New("is empty")
	case len(s) > MaxPathLength:
		return nil, fmt.Errorf("is %d bytes long; the limit is %d", len(s), MaxPathLength)
	case !utf8.ValidString(s):
		return nil, errors.New("is not valid UTF-8")
	}
	var segs []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x20 || c == 0x7f:
			return nil, fmt.Errorf("contains the control character %q", c)
		case c == '\\':
			if i+1 == len(s) || (s[i+1] != '.' && s[i+1] != '\\') {
				return nil, errors.New(`has a backslash that is not "\." (a literal dot) or "\\" (a literal backslash)`)
			}
			i++
			cur.WriteByte(s[i])
		case c == '.':
			if cur.Len() == 0 {
				return nil, errors.New("has an empty key (a leading, trailing or doubled '.')")
			}
			segs = append(segs, cur.String())
			cur.Reset()
		case c == '*' && wildcards:
			cur.WriteByte(c)
		case strings.IndexByte(reserved, c) >= 0:
			return nil, fmt.Errorf("contains %q, which key paths do not allow", c)
		default:
			cur.WriteByte(c)
		}
	}
	if cur.Len() == 0 {
		return nil, errors.New("has an empty key (a leading, trailing or doubled '.')")
	}
	return append(segs, cur.String()), nil
}

// Segments returns a copy of the path's keys.
func (p Path) Segments() []string {
	return append([]string(nil), p.segs...)
}

// IsZero reports whether p is the empty Path.
func (p Path) IsZero() bool { return len(p.segs) == 0 }

// String writes p back in the syntax ParsePath reads.
func (p Path) String() string { return keyOf(p.segs) }

// GJSON returns p escaped for gjson and sjson. Each segment goes through
// gjson.Escape, which backslash-escapes every ASCII punctuation character
// but '_', '-' and ':'; a leading ':' is escaped too, since sjson reads it
// as "treat this numeric key as an object key" and would drop it.
func (p Path) GJSON() string {
	esc := make([]string, len(p.segs))
	for i, s := range p.segs {
		e := gjson.Escape(s)
		if strings.HasPrefix(e, ":") {
			e = `\` + e
		}
		esc[i] = e
	}
	return strings.Join(esc, ".")
}

// keyOf joins segments in path syntax. It is not injective when a key is
// empty ([] and [""] both give ""), which paths never contain; the index
// uses indexKey instead.
func keyOf(segs []string) string {
	var b strings.Builder
	for i, s := range segs {
		if i > 0 {
			b.WriteByte('.')
		}
		for j := 0; j < len(s); j++ {
			if s[j] == '.' || s[j] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(s[j])
		}
	}
	return b.String()
}

// indexKey is an injective form of segs, for map keys: each key follows an
// unescaped '.', so empty keys and the root stay distinct.
func indexKey(segs []string) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('.')
		b.WriteString(keyOf([]string{s}))
	}
	return b.String()
}

// addressable says why a key found in a file cannot be named by a path, or
// returns nil.
func addressable(segs []string) error {
	if len(keyOf(segs)) > MaxPathLength {
		return fmt.Errorf("is longer than %d bytes", MaxPathLength)
	}
	for _, s := range segs {
		if s == "" {
			return errors.New("has an empty key")
		}
		for j := 0; j < len(s); j++ {
			if c := s[j]; c < 0x20 || c == 0x7f || strings.IndexByte(reserved, c) >= 0 {
				return fmt.Errorf("has the key %q, whose %q key paths do not allow", s, c)
			}
		}
	}
	return nil
}
