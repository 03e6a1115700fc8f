package envdiff

import (
	"context"
	"errors"
)

// Reader reads an infra repository at given commits. SHAs are full and
// lower-case; paths are relative to the repository root.
type Reader interface {
	// Exists reports whether the commit is available.
	Exists(ctx context.Context, sha string) (bool, error)
	// ListFiles lists the regular files directly in dir ("." for the root)
	// at the commit, as repository paths; a missing dir lists nothing.
	ListFiles(ctx context.Context, sha, dir string) ([]string, error)
	// ReadFile returns a file's content at the commit; false if it does
	// not exist there.
	ReadFile(ctx context.Context, sha, path string) ([]byte, bool, error)
}

// AncestorChecker is implemented by Readers that can tell a force push from
// a fast-forward. Plan works without it, with a note saying it could not
// check.
type AncestorChecker interface {
	IsAncestor(ctx context.Context, ancestor, descendant string) (bool, error)
}

// ErrMissingCommit means the Reader lacks a commit Plan needs: typically a
// shallow clone missing the push's before commit, or a force push, whose
// before commit no branch reaches any more, so no clone fetches it. Callers
// fall back to an API-backed Reader, which can still read it.
var ErrMissingCommit = errors.New("commit not found")
