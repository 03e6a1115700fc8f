// Package gitread reads a local clone with the git CLI, hardened the same way
// for every caller (deploy's plan and validate, publish): replace refs
// ignored, pathspecs literal, every SHA and path validated and passed where
// git cannot read it as an option, output capped.
package gitread

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
)

// maxBlobSize bounds what ReadFile holds in memory. It is above
// envfile.DefaultMaxSize so that an oversized file still gets envfile's
// precise "is N bytes" error rather than this one.
const maxBlobSize = 8 << 20

// Reader reads a local clone with the git CLI. Every SHA and path is
// validated before use and passed after --end-of-options or "--", never where
// git could read it as an option.
type Reader struct {
	Dir string // the clone; "" means the current directory
}

// gitResult is a finished git command: its output and exit code.
type gitResult struct {
	stdout, stderr []byte
	code           int
}

// run runs git in the clone. A non-zero exit is not an error here: callers
// decide which codes mean "no" rather than "broken".
func (g Reader) run(ctx context.Context, stdin []byte, stdout limitWriter, args ...string) (gitResult, error) {
	dir := g.Dir
	if dir == "" {
		dir = "."
	}
	// --no-replace-objects: a refs/replace/ entry must not change what a
	// SHA reads as. --literal-pathspecs: a directory name is not a glob.
	base := []string{"--no-replace-objects", "--literal-pathspecs", "-C", dir}
	cmd := exec.CommandContext(ctx, "git", append(base, args...)...)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_OPTIONAL_LOCKS=0")
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if stdout.max == 0 {
		stdout.max = maxBlobSize
	}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := gitResult{stdout: stdout.buf.Bytes(), stderr: stderr.Bytes()}
	var exit *exec.ExitError
	switch {
	case stdout.overflow:
		return res, fmt.Errorf("git %s: output larger than %d bytes", args[0], stdout.max)
	case errors.As(err, &exit) && ctx.Err() == nil:
		res.code = exit.ExitCode()
	case err != nil:
		return res, fmt.Errorf("git %s: %w", args[0], err)
	}
	return res, nil
}

func (r gitResult) err(what string) error {
	// One line: errors end up in annotations and one-line step errors.
	msg, _, _ := strings.Cut(strings.TrimSpace(string(r.stderr)), "\n")
	if msg == "" {
		msg = "no message"
	}
	return fmt.Errorf("%s: git exited with %d: %s", what, r.code, msg)
}

// limitWriter buffers at most max bytes, then fails the write so that git
// stops on a broken pipe instead of filling memory.
type limitWriter struct {
	buf      bytes.Buffer
	max      int
	overflow bool
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > w.max {
		w.overflow = true
		return 0, errors.New("output too large")
	}
	return w.buf.Write(p)
}

// Exists reports whether sha names a commit in the clone. rev-parse
// --verify --quiet exits 1 for "no such commit" and 128 for a broken
// repository, which cat-file -e does not tell apart.
func (g Reader) Exists(ctx context.Context, sha string) (bool, error) {
	sha, err := CheckSHA("commit", sha)
	if err != nil {
		return false, err
	}
	res, err := g.run(ctx, nil, limitWriter{}, "rev-parse", "--verify", "--quiet", "--end-of-options", sha+"^{commit}")
	switch {
	case err != nil:
		return false, err
	case res.code == 0:
		return true, nil
	case res.code == 1:
		return false, nil
	}
	return false, res.err("look up " + short(sha))
}

// IsAncestor reports whether ancestor is reachable from descendant: false
// for a force push.
func (g Reader) IsAncestor(ctx context.Context, ancestor, descendant string) (bool, error) {
	a, err := CheckSHA("ancestor", ancestor)
	if err != nil {
		return false, err
	}
	d, err := CheckSHA("descendant", descendant)
	if err != nil {
		return false, err
	}
	res, err := g.run(ctx, nil, limitWriter{}, "merge-base", "--is-ancestor", "--end-of-options", a, d)
	switch {
	case err != nil:
		return false, err
	case res.code == 0:
		return true, nil
	case res.code == 1:
		return false, nil
	}
	return false, res.err(fmt.Sprintf("is %s an ancestor of %s", short(a), short(d)))
}

// ListFiles lists the regular files (not directories, symlinks or
// submodules) directly in dir at sha, sorted.
func (g Reader) ListFiles(ctx context.Context, sha, dir string) ([]string, error) {
	sha, err := CheckSHA("commit", sha)
	if err != nil {
		return nil, err
	}
	if err := CheckPath(dir); err != nil {
		return nil, err
	}
	// No --end-of-options here: ls-tree would then take "--" for a path.
	// The SHA is validated hex, so it cannot read as an option anyway.
	args := []string{"ls-tree", "-z", "--full-tree", sha, "--"}
	if dir != "." {
		args = append(args, dir+"/") // the trailing slash lists the tree's entries
	}
	res, err := g.run(ctx, nil, limitWriter{}, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s at %s: %w", dir, short(sha), err)
	}
	if res.code != 0 {
		return nil, res.err(fmt.Sprintf("list %s at %s", dir, short(sha)))
	}
	var files []string
	for _, entry := range strings.Split(string(res.stdout), "\x00") {
		// "<mode> SP <type> SP <object> TAB <path>"
		meta, name, ok := strings.Cut(entry, "\t")
		if !ok {
			continue
		}
		if f := strings.Fields(meta); len(f) == 3 && f[1] == "blob" && (f[0] == "100644" || f[0] == "100755") {
			files = append(files, name)
		}
	}
	sort.Strings(files)
	return files, nil
}

// ReadFile reads a file at sha with cat-file --batch, which reports a
// missing path on stdout instead of failing, and never applies textconv or
// other filters to the blob.
func (g Reader) ReadFile(ctx context.Context, sha, path string) ([]byte, bool, error) {
	sha, err := CheckSHA("commit", sha)
	if err != nil {
		return nil, false, err
	}
	if err := CheckPath(path); err != nil {
		return nil, false, err
	}
	if path == "." {
		return nil, false, fmt.Errorf("path %q is the repository root, not a file", path)
	}
	what := fmt.Sprintf("read %s at %s", path, short(sha))
	res, err := g.run(ctx, []byte(sha+":"+path+"\n"), limitWriter{max: maxBlobSize + 256}, "cat-file", "--batch")
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", what, err)
	}
	if res.code != 0 {
		return nil, false, res.err(what)
	}
	header, body, _ := bytes.Cut(res.stdout, []byte("\n"))
	f := strings.Fields(string(header))
	switch {
	case len(f) == 2 && f[1] == "missing":
		return nil, false, nil
	case len(f) != 3:
		return nil, false, fmt.Errorf("%s: unexpected cat-file output %q", what, header)
	case f[1] != "blob":
		return nil, false, fmt.Errorf("%s: is a %s, not a file", what, f[1])
	}
	size, err := strconv.Atoi(f[2])
	if err != nil || size < 0 || size > len(body) {
		return nil, false, fmt.Errorf("%s: unexpected cat-file output %q", what, header)
	}
	if size > maxBlobSize {
		return nil, false, fmt.Errorf("%s: is %d bytes; the limit is %d", what, size, maxBlobSize)
	}
	return bytes.Clone(body[:size]), true, nil
}
