package envfile

import "strings"

// HoldKey is the key that pins the values of the object holding it: while
// {"api": {"tag": "...", "hold": "INC-123: rolled back"}} says why, the
// pipeline's automation leaves api.tag alone. Humans add and remove holds
// through reviewed PRs, so the file itself is the record.
const HoldKey = "hold"

// Hold reports whether the value at p is held, and why.
func Hold(data []byte, p Path) (reason string, held bool) {
	x, err := Parse(data)
	if err != nil {
		return "", false
	}
	return x.Hold(p)
}

func (d *doc) hold(p Path) (reason string, held bool) {
	if len(p.segs) == 0 {
		return "", false
	}
	segs := append(append([]string{}, p.segs[:len(p.segs)-1]...), HoldKey)
	n, ok, err := d.find(segs)
	if err != nil || !ok || n.kind != kindString || strings.TrimSpace(n.str) == "" {
		return "", false
	}
	return n.str, true
}
