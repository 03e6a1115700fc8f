package gitread

import (
	"fmt"
	"path"
	"strings"

	"github.com/cicd-excellence/actions/internal/refname"
)

// CheckSHA accepts a full object name: 40 hex digits, or 64 in a SHA-256
// repository. Anything else could be read by git as a revision expression.
func CheckSHA(name, s string) (string, error) {
	if len(s) != 40 && len(s) != 64 {
		return "", fmt.Errorf("%s %q is not a full commit SHA (40 or 64 hex digits)", name, s)
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return "", fmt.Errorf("%s %q is not a full commit SHA (40 or 64 hex digits)", name, s)
		}
	}
	return strings.ToLower(s), nil
}

func short(sha string) string { return refname.Short(sha) }

// CheckPath accepts a clean, relative, slash-separated path inside the
// repository, with no control characters (a newline would end a cat-file
// --batch request) and not starting with '-'.
func CheckPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("path is empty")
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("path %q is absolute; want one relative to the repository root", p)
	case strings.HasPrefix(p, "-"):
		return fmt.Errorf("path %q starts with '-'", p)
	case path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../"):
		return fmt.Errorf("path %q is not a clean path inside the repository", p)
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("path %q contains a control character", p)
		}
	}
	return nil
}
