package envdiff

import (
	"strings"

	"github.com/cicd-excellence/actions/internal/refname"
)

// isZero reports the all-zeros SHA GitHub sends as before on a branch's
// first push and as after when a branch is deleted.
func isZero(sha string) bool {
	return strings.Trim(sha, "0") == ""
}

// short abbreviates a SHA for messages.
func short(sha string) string { return refname.Short(sha) }
