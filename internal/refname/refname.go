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

// EnvironmentMaxLength bounds an environment name: it becomes a GitHub
// environment, a job name and a file name downstream; 63 is the strictest of
// the old rules in deploy and open-infra-pr.
const EnvironmentMaxLength = 63

// Environment checks an environment name: lower-case letters, digits, '_'
// and '-', starting with a letter or digit, at most EnvironmentMaxLength.
// One rule for every action (deploy, envdiff, open-infra-pr), so a name one
// accepts is never refused by another.
func Environment(name string) error {
	ok := name != "" && len(name) <= EnvironmentMaxLength
	for i, c := range name {
		lowerOrDigit := 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
		if !lowerOrDigit && (i == 0 || c != '_' && c != '-') {
			ok = false
			break
		}
	}
	if !ok {
		return fmt.Errorf("%s is not an environment name (lower-case letters, digits, '_' and '-', starting with a letter or digit, at most %d)", strconv.Quote(name), EnvironmentMaxLength)
	}
	return nil
}

// DefaultHotfixPrefix is where the hotfix action creates branches and where
// validate and ancestry look for hotfix commits.
const DefaultHotfixPrefix = "hotfixes/"

// HotfixPrefix checks a hotfix branch prefix: a valid branch name followed
// by '/', so that "hotfixes/" can never also match "hotfixes-evil".
func HotfixPrefix(p string) error {
	if !strings.HasSuffix(p, "/") {
		return fmt.Errorf("%s must end with '/' (e.g. %s)", strconv.Quote(p), DefaultHotfixPrefix)
	}
	if err := Branch(strings.TrimSuffix(p, "/")); err != nil {
		return fmt.Errorf("%s is not a branch prefix: %v", strconv.Quote(p), err)
	}
	return nil
}

// BotBranchPrefix starts every branch open-infra-pr creates. validate
// applies its bot guard to any PR from such a branch, whoever opened it.
const BotBranchPrefix = "cicd-excellence/"

// Short abbreviates a commit SHA to 7 characters for messages; anything that
// is not a hex SHA is returned unchanged, so a wrong value is shown as is.
func Short(s string) string {
	if IsHexSHA(s) || len(s) == 64 && IsHexSHA(s[:40]) && IsHexSHA(s[40:]) {
		return s[:7]
	}
	return s
}
