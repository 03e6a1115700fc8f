// Package refname validates branch names before they reach GitHub or git:
// git's check-ref-format rules, plus a conservative character set so that a
// name can never carry shell syntax, an option or a control character into
// anything downstream.
package refname

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxLength bounds a branch name. Git allows more, but GitHub's UI and many
// tools do not; 200 leaves room for a prefix.
const MaxLength = 200

// Branch checks a branch name (without refs/heads/). The error says what is
// wrong in words a user can act on; callers add which input it was.
func Branch(name string) error {
	q := strconv.Quote(name)
	switch {
	case name == "":
		return fmt.Errorf("is empty")
	case len(name) > MaxLength:
		return fmt.Errorf("is %d characters long; the limit is %d", len(name), MaxLength)
	case name == "@":
		return fmt.Errorf("%s is not a branch name", q)
	case strings.HasPrefix(name, "-"):
		return fmt.Errorf("%s starts with '-' and would read as an option", q)
	case strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/"):
		return fmt.Errorf("%s starts or ends with '/'", q)
	case strings.Contains(name, "//"):
		return fmt.Errorf("%s contains an empty path component ('//')", q)
	case strings.Contains(name, ".."):
		return fmt.Errorf("%s contains '..'", q)
	case strings.Contains(name, "@{"):
		return fmt.Errorf("%s contains '@{'", q)
	case strings.HasSuffix(name, "."):
		return fmt.Errorf("%s ends with '.'", q)
	}
	for _, c := range name {
		switch {
		case c < 0x20 || c == 0x7f:
			return fmt.Errorf("%s contains a control character", q)
		case c == ' ' || c == '\t':
			return fmt.Errorf("%s contains a space", q)
		case strings.ContainsRune("~^:?*[\\", c):
			return fmt.Errorf("%s contains %q, which git does not allow in a branch name", q, c)
		case !allowed(c):
			return fmt.Errorf("%s contains %q; use letters, digits, '.', '_', '-' and '/'", q, c)
		}
	}
	for _, comp := range strings.Split(name, "/") {
		if strings.HasPrefix(comp, ".") {
			return fmt.Errorf("%s has a component starting with '.'", q)
		}
		if strings.HasSuffix(comp, ".lock") {
			return fmt.Errorf("%s has a component ending with '.lock'", q)
		}
	}
	return nil
}

func allowed(c rune) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-' || c == '/'
}

// IsHexSHA reports whether s looks like an abbreviated or full commit SHA:
// 7 to 40 lower- or upper-case hex digits.
func IsHexSHA(s string) bool {
	if len(s) < 7 || len(s) > 40 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// IsFullSHA reports whether s is a full 40-character lower-case hex SHA-1.
func IsFullSHA(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Repo splits and checks an owner/name repository reference.
func Repo(s string) (owner, name string, err error) {
	owner, name, ok := strings.Cut(s, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") || len(s) > 140 {
		return "", "", fmt.Errorf("%s is not owner/name", strconv.Quote(s))
	}
	for _, part := range []string{owner, name} {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") {
			return "", "", fmt.Errorf("%s is not owner/name", strconv.Quote(s))
		}
		for _, c := range part {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
				return "", "", fmt.Errorf("%s is not owner/name", strconv.Quote(s))
			}
		}
	}
	return owner, name, nil
}
