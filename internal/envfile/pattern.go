package envfile

import (
	"errors"
	"fmt"
	"strings"
)

// DefaultTracked is the pattern used when a caller tracks nothing else:
// every key named "tag", at any depth, and with each its digest (Values
// tracks the "digest" beside every tracked tag).
const DefaultTracked = "**.tag"

// Pattern selects tracked keys: a key path whose segments may also be "*"
// (one key, any name) or "**" (zero or more keys).
type Pattern struct {
	segs []string
	src  string
}

// ParsePattern parses a tracked-key pattern such as "**.tag", "*.tag" or
// "services.*.image.tag".
func ParsePattern(s string) (Pattern, error) {
	segs, err := splitSegments(s, true)
	if err != nil {
		return Pattern{}, fmt.Errorf("pattern %q: %w", s, err)
	}
	for _, seg := range segs {
		if strings.Contains(seg, "*") && seg != "*" && seg != "**" {
			return Pattern{}, fmt.Errorf("pattern %q: %q: '*' and '**' must be whole keys", s, seg)
		}
	}
	if segs[len(segs)-1] == "**" {
		// It would match the objects on the way down, which hold no version.
		return Pattern{}, fmt.Errorf("pattern %q: must not end with '**'; end it with a key, such as '**.tag'", s)
	}
	return Pattern{segs: segs, src: s}, nil
}

// ParsePatterns parses each pattern; an empty list gives DefaultTracked.
func ParsePatterns(ss []string) ([]Pattern, error) {
	if len(ss) == 0 {
		ss = []string{DefaultTracked}
	}
	var out []Pattern
	var errs []error
	for _, s := range ss {
		p, err := ParsePattern(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, p)
	}
	return out, errors.Join(errs...)
}

func (p Pattern) String() string { return p.src }

// Match reports whether the pattern selects path.
func (p Pattern) Match(path Path) bool {
	return len(p.segs) > 0 && match(p.segs, path.segs)
}

// match runs the pattern as a small NFA over the keys: linear in both
// lengths, so patterns with many '**' stay cheap on deeply nested files.
func match(pat, segs []string) bool {
	cur := make([]bool, len(pat)+1)
	nxt := make([]bool, len(pat)+1)
	cur[0] = true
	closeOver := func(states []bool) { // '**' may match no key at all
		for i := range pat {
			if states[i] && pat[i] == "**" {
				states[i+1] = true
			}
		}
	}
	closeOver(cur)
	for _, seg := range segs {
		clear(nxt)
		alive := false
		for i, p := range pat {
			if !cur[i] {
				continue
			}
			switch {
			case p == "**":
				nxt[i] = true
			case p == "*" || p == seg:
				nxt[i+1] = true
			default:
				continue
			}
			alive = true
		}
		if !alive {
			return false
		}
		closeOver(nxt)
		cur, nxt = nxt, cur
	}
	return cur[len(pat)]
}

func matchAny(pats []Pattern, segs []string) bool {
	for _, p := range pats {
		if match(p.segs, segs) {
			return true
		}
	}
	return false
}
