package envfile

import (
	"bytes"
	"encoding/json"
	"strings"
)

// layout is how new members are written: on lines of their own, indented like
// their siblings, or inline for minified and one-line objects.
type layout struct {
	multiline bool
	nl        string // "\n" or "\r\n", as the file uses
	indent    string // the new member's indentation
	unit      string // one level of indentation
	colon     string // between key and value, e.g. ": "
}

// insertion returns where and what to insert so that the object at index pi
// gains keys[0] (holding nested objects for the other keys, down to value),
// written the way the object's existing members are.
func (d *doc) insertion(pi int, keys []string, value string) (int, string) {
	parent := d.nodes[pi]
	l := layout{nl: "\n", colon: d.colonStyle()}
	if bytes.Contains(d.data, []byte("\r\n")) {
		l.nl = "\r\n"
	}
	closeIndent, closeOwn := lineIndent(d.data, parent.end-1)
	if kids := d.children(pi); len(kids) > 0 {
		last := kids[len(kids)-1]
		l.colon = cleanColon(d.data[last.keyEnd:last.start], l.colon)
		indent, own := lineIndent(d.data, last.keyStart)
		if !own {
			return last.end, "," + inlineSep(d.data, kids, l.colon) + render(keys, value, l)
		}
		l.multiline, l.indent = true, indent
		l.unit = d.indentUnit()
		if closeOwn && len(indent) > len(closeIndent) && strings.HasPrefix(indent, closeIndent) {
			l.unit = indent[len(closeIndent):]
		}
		return last.end, "," + l.nl + l.indent + render(keys, value, l)
	}
	// An empty object: spread it over lines only if it already is.
	if !bytes.ContainsAny(d.data[parent.start+1:parent.end-1], "\n") {
		return parent.start + 1, render(keys, value, l)
	}
	l.multiline, l.unit = true, d.indentUnit()
	l.indent = closeIndent + l.unit
	return parent.start + 1, l.nl + l.indent + render(keys, value, l)
}

// inlineSep is what follows the comma between members of a one-line
// object: the blanks before its last key, or with a single member, a space
// if the file puts one after colons.
func inlineSep(data []byte, kids []node, colon string) string {
	if len(kids) == 1 {
		if strings.HasSuffix(colon, " ") {
			return " "
		}
		return ""
	}
	at := kids[len(kids)-1].keyStart
	i := at
	for i > 0 && (data[i-1] == ' ' || data[i-1] == '\t') {
		i--
	}
	return string(data[i:at])
}

// render writes `"key": value`, nesting objects for the remaining keys.
func render(keys []string, value string, l layout) string {
	s := quote(keys[0]) + l.colon
	if len(keys) == 1 {
		return s + quote(value)
	}
	if !l.multiline {
		return s + "{" + render(keys[1:], value, l) + "}"
	}
	inner := l
	inner.indent = l.indent + l.unit
	return s + "{" + l.nl + inner.indent + render(keys[1:], value, inner) + l.nl + l.indent + "}"
}

// quote encodes s as a JSON string; unlike json.Marshal it leaves <, > and &
// alone, since nobody embeds these files in HTML.
func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// lineIndent returns the blanks before off and whether they start the line.
func lineIndent(data []byte, off int) (string, bool) {
	i := off
	for i > 0 && (data[i-1] == ' ' || data[i-1] == '\t') {
		i--
	}
	return string(data[i:off]), i == 0 || data[i-1] == '\n'
}

// colonStyle is the key-value separator the file's first member uses.
func (d *doc) colonStyle() string {
	if len(d.nodes) < 2 {
		return ": "
	}
	n := d.nodes[1]
	return cleanColon(d.data[n.keyEnd:n.start], ": ")
}

// cleanColon keeps the bytes between a key and its value as the separator
// to copy, unless they span lines.
func cleanColon(between []byte, fallback string) string {
	if bytes.ContainsAny(between, "\r\n") {
		return fallback
	}
	return string(between)
}

// indentUnit guesses one indentation level from the top-level members.
func (d *doc) indentUnit() string {
	for _, n := range d.children(0) {
		if indent, own := lineIndent(d.data, n.keyStart); own && indent != "" {
			return indent
		}
	}
	return "  "
}
