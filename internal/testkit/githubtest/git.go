package githubtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// zeroOID tells git update-ref that a ref must not exist yet.
const zeroOID = "0000000000000000000000000000000000000000"

var (
	fullSHA  = regexp.MustCompile(`^[0-9a-f]{40}$`)
	shortSHA = regexp.MustCompile(`^[0-9a-f]{4,40}$`)
)

// gitRepo runs the git CLI against one bare repository. All state that
// lives in git (objects, refs) is read and written only through it, so the
// API, the seeding helpers and smart-HTTP pushes see the same repository.
type gitRepo struct {
	dir   string
	check *batchProc // cat-file --batch-check: name resolution
	cat   *batchProc // cat-file --batch: object content
	cache gitCache

	hadRefs   atomic.Bool // see Server.isEmpty
	emptyOnce sync.Once
	empty     string
	emptyErr  error
}

func newGitRepo(dir string) *gitRepo {
	return &gitRepo{dir: dir, check: &batchProc{dir: dir}, cat: &batchProc{dir: dir, content: true}}
}

// errGit is returned for a git command that ran and failed; exitCode lets
// callers tell "conflict" (merge-tree exit 1) from real failures.
type errGit struct {
	args     []string
	exitCode int
	stderr   string
}

func (e *errGit) Error() string {
	return fmt.Sprintf("git %s: exit %d: %s", strings.Join(e.args, " "), e.exitCode, strings.TrimSpace(e.stderr))
}

// gitEnv isolates git from the machine's configuration (signing, hooks,
// templates) so every run behaves the same on a developer machine and CI.
func gitEnv(extra ...string) []string {
	env := []string{
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + os.DevNull,
		"GIT_TERMINAL_PROMPT=0",
		"HOME=" + os.TempDir(),
		"PATH=" + os.Getenv("PATH"),
		"LANG=C",
		"LC_ALL=C",
		// glibc otherwise grows the heap in small brk steps; where brk is a
		// slow syscall (sandboxes) that made fast-import of 5k commits take
		// 14 s instead of 0.2 s.
		"MALLOC_TOP_PAD_=67108864",
		"MALLOC_TRIM_THRESHOLD_=134217728",
	}
	return append(env, extra...)
}

func (g *gitRepo) run(ctx context.Context, stdin []byte, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Env = gitEnv(append([]string{"GIT_DIR=" + g.dir}, env...)...)
	cmd.Dir = g.dir
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return stdout.Bytes(), &errGit{args: args, exitCode: exit.ExitCode(), stderr: stderr.String()}
		}
		return nil, fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return stdout.Bytes(), nil
}

func (g *gitRepo) out(ctx context.Context, args ...string) (string, error) {
	b, err := g.run(ctx, nil, nil, args...)
	return strings.TrimSpace(string(b)), err
}

func exitCode(err error) int {
	var ge *errGit
	if errors.As(err, &ge) {
		return ge.exitCode
	}
	return -1
}

func initBare(ctx context.Context, dir, defaultBranch string) (*gitRepo, error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("create repo parent: %w", err)
	}
	cmd := exec.CommandContext(ctx, "git", "init", "--quiet", "--bare", "--initial-branch="+defaultBranch, dir)
	cmd.Env = gitEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("git init --bare %s: %w: %s", dir, err, out)
	}
	g := newGitRepo(dir)
	// http.receivepack lets git http-backend accept authenticated pushes;
	// gc.auto=0 keeps background gc from racing the tests.
	for _, kv := range [][2]string{{"http.receivepack", "true"}, {"gc.auto", "0"}, {"receive.denyDeleteCurrent", "ignore"}} {
		if _, err := g.out(ctx, "config", kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// copyBare copies a bare repository that initBare made (its configuration
// included) to dir.
func copyBare(from, dir string) (*gitRepo, error) {
	if _, err := os.Stat(filepath.Join(from, "HEAD")); err != nil {
		return nil, fmt.Errorf("copy %s: not a bare repository: %w", from, err)
	}
	if err := os.CopyFS(dir, os.DirFS(from)); err != nil {
		return nil, fmt.Errorf("copy %s: %w", from, err)
	}
	return newGitRepo(dir), nil
}

// refSHA returns the object a full ref points to, or "" if it does not exist.
func (g *gitRepo) refSHA(ctx context.Context, ref string) (string, error) {
	sha, _, _, _, found, err := g.check.query(ref)
	if !found {
		return "", err
	}
	return sha, nil
}

// commitOf returns the commit a revision peels to, or "" when there is none.
func (g *gitRepo) commitOf(ctx context.Context, rev string) (string, error) {
	if strings.HasPrefix(rev, "-") {
		return "", nil
	}
	sha, _, _, _, found, err := g.check.query(rev + "^{commit}")
	if !found {
		return "", err
	}
	return sha, nil
}

// resolveCommitish resolves what GitHub accepts as a commit "ref": a branch,
// a tag, "heads/x"/"tags/x", a full ref or a (short) SHA. Revision syntax
// such as "main~1" is deliberately not accepted, as on GitHub.
func (g *gitRepo) resolveCommitish(ctx context.Context, ref string) (string, error) {
	if ref == "" || strings.ContainsAny(ref, "~^:@{}\\ ") && !strings.HasPrefix(ref, "refs/") {
		return "", nil
	}
	var candidates []string
	switch {
	case strings.HasPrefix(ref, "refs/"):
		candidates = []string{ref}
	case strings.HasPrefix(ref, "heads/"), strings.HasPrefix(ref, "tags/"):
		candidates = []string{"refs/" + ref, "refs/heads/" + ref, "refs/tags/" + ref}
	default:
		candidates = []string{"refs/heads/" + ref, "refs/tags/" + ref}
	}
	for _, c := range candidates {
		sha, err := g.commitOf(ctx, c)
		if err != nil || sha != "" {
			return sha, err
		}
	}
	if shortSHA.MatchString(ref) {
		sha, err := g.commitOf(ctx, ref)
		if err != nil || sha == "" {
			return "", err
		}
		if strings.HasPrefix(sha, ref) {
			return sha, nil
		}
	}
	return "", nil
}

// objectType returns "commit", "tree", "blob", "tag" or "" if missing.
func (g *gitRepo) objectType(ctx context.Context, sha string) (string, error) {
	if !shortSHA.MatchString(sha) {
		return "", nil
	}
	_, typ, _, _, _, err := g.check.query(sha)
	return typ, err
}

// updateRef moves ref to newSHA only if it currently points at oldSHA
// (zeroOID: must not exist). This compare-and-swap is what makes concurrent
// API writes, seeding and smart-HTTP pushes safe without a global lock.
func (g *gitRepo) updateRef(ctx context.Context, ref, newSHA, oldSHA string) error {
	_, err := g.run(ctx, nil, nil, "update-ref", "-m", "githubtest", ref, newSHA, oldSHA)
	if err != nil {
		return fmt.Errorf("%w: %w", errRefMoved, err)
	}
	return nil
}

func (g *gitRepo) deleteRef(ctx context.Context, ref, oldSHA string) error {
	_, err := g.run(ctx, nil, nil, "update-ref", "-d", ref, oldSHA)
	if err != nil {
		return fmt.Errorf("%w: %w", errRefMoved, err)
	}
	return nil
}

var errRefMoved = errors.New("ref was changed concurrently")

type gitRef struct {
	Name, SHA, Type string
}

// refs lists refs under prefix ("refs/" for all), sorted by name.
func (g *gitRepo) refs(ctx context.Context, prefix string) ([]gitRef, error) {
	out, err := g.out(ctx, "for-each-ref", "--format=%(refname) %(objectname) %(objecttype)", prefix)
	if err != nil {
		return nil, err
	}
	var refs []gitRef
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		if !strings.HasPrefix(f[0], prefix) {
			continue
		}
		refs = append(refs, gitRef{Name: f[0], SHA: f[1], Type: f[2]})
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].Name < refs[j].Name })
	return refs, nil
}

func (g *gitRepo) writeBlob(ctx context.Context, content []byte) (string, error) {
	b, err := g.run(ctx, content, nil, "hash-object", "-w", "--stdin")
	return strings.TrimSpace(string(b)), err
}

func (g *gitRepo) readBlob(ctx context.Context, sha string) ([]byte, error) {
	_, typ, _, content, found, err := g.cat.query(sha)
	if err != nil {
		return nil, err
	}
	if !found || typ != "blob" {
		return nil, fmt.Errorf("blob %s not found", sha)
	}
	return content, nil
}

// readCommitObject returns the raw text of a commit object.
func (g *gitRepo) readCommitObject(sha string) ([]byte, error) {
	_, typ, _, content, found, err := g.cat.query(sha)
	if err != nil {
		return nil, err
	}
	if !found || typ != "commit" {
		return nil, fmt.Errorf("commit %s not found", sha)
	}
	return content, nil
}

type treeEntry struct {
	Mode, Type, SHA, Path string
	Size                  int64 // -1 when not a blob
}

// lsTree lists a tree; with recursive it lists blobs and the trees leading
// to them (like GitHub's ?recursive=1).
func (g *gitRepo) lsTree(ctx context.Context, treeish string, recursive bool, paths ...string) ([]treeEntry, error) {
	args := []string{"ls-tree", "-z", "-l"}
	if recursive {
		args = append(args, "-r", "-t")
	}
	args = append(args, treeish)
	if len(paths) > 0 {
		args = append(append(args, "--"), paths...)
	}
	b, err := g.run(ctx, nil, nil, args...)
	if err != nil {
		return nil, err
	}
	var entries []treeEntry
	for _, rec := range strings.Split(string(b), "\x00") {
		if rec == "" {
			continue
		}
		meta, path, ok := strings.Cut(rec, "\t")
		if !ok {
			return nil, fmt.Errorf("ls-tree: bad record %q", rec)
		}
		f := strings.Fields(meta)
		if len(f) != 4 {
			return nil, fmt.Errorf("ls-tree: bad record %q", rec)
		}
		size := int64(-1)
		if f[3] != "-" {
			size, _ = strconv.ParseInt(f[3], 10, 64)
		}
		entries = append(entries, treeEntry{Mode: f[0], Type: f[1], SHA: f[2], Path: path, Size: size})
	}
	return entries, nil
}

// treeOf returns the tree of a commit.
func (g *gitRepo) treeOf(ctx context.Context, commit string) (string, error) {
	sha, _, _, _, found, err := g.check.query(commit + "^{tree}")
	if err == nil && !found {
		err = fmt.Errorf("%s has no tree", commit)
	}
	return sha, err
}

// emptyTree writes (idempotently, once) and returns the empty tree.
func (g *gitRepo) emptyTree(ctx context.Context) (string, error) {
	g.emptyOnce.Do(func() {
		b, err := g.run(ctx, []byte{}, nil, "mktree")
		g.empty, g.emptyErr = strings.TrimSpace(string(b)), err
	})
	return g.empty, g.emptyErr
}

// edit is one change to a tree: a blob or commit at Path, or a deletion
// when Delete is set. A whole tree may be grafted at Path with Type "tree".
type edit struct {
	Path, Mode, Type, SHA string
	Delete                bool
}

// buildTree applies edits to base (a tree SHA or "" for empty) through a
// throw-away index: git does the nesting, so deep paths cost no extra work.
func (g *gitRepo) buildTree(ctx context.Context, base string, edits []edit) (string, error) {
	files := map[string]treeEntry{}
	if base != "" {
		entries, err := g.lsTree(ctx, base, true)
		if err != nil {
			return "", err
		}
		for _, e := range entries {
			if e.Type != "tree" {
				files[e.Path] = e
			}
		}
	}
	for _, e := range edits {
		p := strings.Trim(e.Path, "/")
		// Replacing or deleting a path removes everything below it too.
		for k := range files {
			if strings.HasPrefix(k, p+"/") {
				delete(files, k)
			}
		}
		delete(files, p)
		if e.Delete {
			continue
		}
		if e.Type == "tree" {
			sub, err := g.lsTree(ctx, e.SHA, true)
			if err != nil {
				return "", err
			}
			for _, s := range sub {
				if s.Type != "tree" {
					s.Path = p + "/" + s.Path
					files[s.Path] = s
				}
			}
			continue
		}
		files[p] = treeEntry{Mode: e.Mode, Type: e.Type, SHA: e.SHA, Path: p}
	}
	// Paths that are both a file and a directory prefix make an invalid tree.
	for k := range files {
		for dir := k; strings.Contains(dir, "/"); {
			dir = dir[:strings.LastIndex(dir, "/")]
			if _, clash := files[dir]; clash {
				return "", fmt.Errorf("%w: %q is both a file and a directory", errBadTree, dir)
			}
		}
	}
	if len(files) == 0 {
		return g.emptyTree(ctx)
	}
	tmp, err := os.CreateTemp("", "githubtest-index-*")
	if err != nil {
		return "", fmt.Errorf("temp index: %w", err)
	}
	index := tmp.Name()
	tmp.Close()
	os.Remove(index) // git wants to create the index itself
	defer os.Remove(index)
	var info bytes.Buffer
	for _, f := range files {
		fmt.Fprintf(&info, "%s %s\t%s\x00", f.Mode, f.SHA, f.Path)
	}
	env := []string{"GIT_INDEX_FILE=" + index}
	if _, err := g.run(ctx, info.Bytes(), env, "update-index", "-z", "--index-info"); err != nil {
		return "", err
	}
	b, err := g.run(ctx, nil, env, "write-tree", "--missing-ok")
	return strings.TrimSpace(string(b)), err
}

var errBadTree = errors.New("invalid tree")

// signature is a git author or committer.
type signature struct {
	Name, Email string
	Date        time.Time
}

func (s signature) gitDate() string {
	return fmt.Sprintf("%d %s", s.Date.Unix(), s.Date.Format("-0700"))
}

// commitTree writes a commit object. Dates come from the signatures so the
// API can honour author.date like GitHub does.
func (g *gitRepo) commitTree(ctx context.Context, tree string, parents []string, message string, author, committer signature) (string, error) {
	args := []string{"commit-tree", tree}
	for _, p := range parents {
		args = append(args, "-p", p)
	}
	env := []string{
		"GIT_AUTHOR_NAME=" + author.Name, "GIT_AUTHOR_EMAIL=" + author.Email, "GIT_AUTHOR_DATE=" + author.gitDate(),
		"GIT_COMMITTER_NAME=" + committer.Name, "GIT_COMMITTER_EMAIL=" + committer.Email, "GIT_COMMITTER_DATE=" + committer.gitDate(),
	}
	// The message goes through stdin verbatim (-F -) so a trailing newline
	// or an empty message round-trips exactly.
	b, err := g.run(ctx, []byte(message), env, append(args, "-F", "-")...)
	return strings.TrimSpace(string(b)), err
}

// commitInfo is the parsed content of a commit object.
type commitInfo struct {
	SHA, Tree         string
	Parents           []string
	Author, Committer signature
	Message           string
}

const logFormat = "%H%x00%T%x00%P%x00%an%x00%ae%x00%at%x00%ai%x00%cn%x00%ce%x00%ct%x00%ci%x00%B%x00%x01"

// logCommits reads commits in one git process; args are passed to git log.
func (g *gitRepo) logCommits(ctx context.Context, args ...string) ([]commitInfo, error) {
	b, err := g.run(ctx, nil, nil, append([]string{"log", "--format=" + logFormat}, args...)...)
	if err != nil {
		return nil, err
	}
	var out []commitInfo
	for _, rec := range strings.Split(string(b), "\x01") {
		rec = strings.TrimLeft(rec, "\n")
		if rec == "" {
			continue
		}
		f := strings.Split(rec, "\x00")
		if len(f) < 12 {
			return nil, fmt.Errorf("git log: bad record %q", rec)
		}
		ci := commitInfo{SHA: f[0], Tree: f[1], Message: f[11]}
		if f[2] != "" {
			ci.Parents = strings.Fields(f[2])
		}
		ci.Author = parseSig(f[3], f[4], f[5], f[6])
		ci.Committer = parseSig(f[7], f[8], f[9], f[10])
		out = append(out, ci)
	}
	return out, nil
}

func parseSig(name, email, unix, iso string) signature {
	sec, _ := strconv.ParseInt(unix, 10, 64)
	t := time.Unix(sec, 0)
	// %ai is "2006-01-02 15:04:05 -0700": keep the author's zone.
	if parsed, err := time.Parse("2006-01-02 15:04:05 -0700", iso); err == nil {
		t = parsed
	}
	return signature{Name: name, Email: email, Date: t}
}

// commit reads a commit (by full SHA); commits never change, so they are cached.
func (g *gitRepo) commit(ctx context.Context, sha string) (commitInfo, error) {
	g.cache.mu.Lock()
	ci, ok := g.cache.commits[sha]
	g.cache.mu.Unlock()
	if ok {
		return ci, nil
	}
	raw, err := g.readCommitObject(sha)
	if err != nil {
		return commitInfo{}, err
	}
	if ci, err = parseCommitObject(sha, raw); err != nil {
		return commitInfo{}, err
	}
	g.cache.mu.Lock()
	if g.cache.commits == nil {
		g.cache.commits = map[string]commitInfo{}
	}
	g.cache.commits[sha] = ci
	g.cache.mu.Unlock()
	return ci, nil
}

// mergeBase returns the best common ancestor, or "" when there is none.
func (g *gitRepo) mergeBase(ctx context.Context, a, b string) (string, error) {
	out, err := g.out(ctx, "merge-base", a, b)
	if err != nil {
		if exitCode(err) == 1 {
			return "", nil
		}
		return "", err
	}
	return out, nil
}

func (g *gitRepo) isAncestor(ctx context.Context, ancestor, of string) (bool, error) {
	_, err := g.run(ctx, nil, nil, "merge-base", "--is-ancestor", ancestor, of)
	if err == nil {
		return true, nil
	}
	if exitCode(err) == 1 {
		return false, nil
	}
	return false, err
}

func (g *gitRepo) count(ctx context.Context, rangeArgs ...string) (int, error) {
	out, err := g.out(ctx, append([]string{"rev-list", "--count"}, rangeArgs...)...)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(out)
}

// mergeTrees runs a real three-way merge without a work tree. ok is false
// when the merge conflicts; conflicts then lists the conflicted paths.
func (g *gitRepo) mergeTrees(ctx context.Context, ours, theirs string) (tree string, ok bool, conflicts []string, err error) {
	key := ours + " " + theirs
	g.cache.mu.Lock()
	m, hit := g.cache.merges[key]
	g.cache.mu.Unlock()
	if hit && fullSHA.MatchString(ours) && fullSHA.MatchString(theirs) {
		return m.tree, m.ok, m.conflicts, nil
	}
	tree, ok, conflicts, err = g.mergeTreesUncached(ctx, ours, theirs)
	if err == nil {
		g.cache.mu.Lock()
		if g.cache.merges == nil {
			g.cache.merges = map[string]mergeResult{}
		}
		g.cache.merges[key] = mergeResult{tree, ok, conflicts}
		g.cache.mu.Unlock()
	}
	return tree, ok, conflicts, err
}

func (g *gitRepo) mergeTreesUncached(ctx context.Context, ours, theirs string) (tree string, ok bool, conflicts []string, err error) {
	b, err := g.run(ctx, nil, nil, "merge-tree", "--write-tree", "--name-only", "--no-messages", "-z", ours, theirs)
	if err != nil && exitCode(err) != 1 {
		return "", false, nil, err
	}
	parts := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	if len(parts) == 0 || !fullSHA.MatchString(parts[0]) {
		return "", false, nil, fmt.Errorf("merge-tree: unexpected output %q", b)
	}
	if err != nil { // exit 1: conflicts
		for _, p := range parts[1:] {
			if p != "" {
				conflicts = append(conflicts, p)
			}
		}
		return parts[0], false, conflicts, nil
	}
	return parts[0], true, nil, nil
}

// cherryPickTree replays commit c (parent p) onto onto and returns the
// resulting tree. git 2.39's merge-tree has no --merge-base, so a throw-away
// commit with onto's tree and the single parent p makes p the merge base:
// exactly cherry-pick's three-way merge (base p, ours onto, theirs c).
func (g *gitRepo) cherryPickTree(ctx context.Context, onto, c, p string) (string, bool, error) {
	ontoTree, err := g.treeOf(ctx, onto)
	if err != nil {
		return "", false, err
	}
	sig := signature{Name: "githubtest", Email: "githubtest@localhost", Date: time.Unix(1000000000, 0).UTC()}
	var parents []string
	if p != "" {
		parents = []string{p}
	}
	synthetic, err := g.commitTree(ctx, ontoTree, parents, "githubtest rebase step\n", sig, sig)
	if err != nil {
		return "", false, err
	}
	tree, ok, _, err := g.mergeTrees(ctx, synthetic, c)
	return tree, ok, err
}

type fileChange struct {
	Filename, Status, SHA string
	Additions, Deletions  int
}

// diff lists changed files between two commits (a may be "" for a root
// commit), with GitHub's status words and line counts.
func (g *gitRepo) diff(ctx context.Context, a, b string) ([]fileChange, error) {
	key := a + " " + b
	g.cache.mu.Lock()
	d, hit := g.cache.diffs[key]
	g.cache.mu.Unlock()
	if hit {
		return d, nil
	}
	d, err := g.diffUncached(ctx, a, b)
	if err == nil && fullSHA.MatchString(b) && (a == "" || fullSHA.MatchString(a)) {
		g.cache.mu.Lock()
		if g.cache.diffs == nil {
			g.cache.diffs = map[string][]fileChange{}
		}
		g.cache.diffs[key] = d
		g.cache.mu.Unlock()
	}
	return d, err
}

func (g *gitRepo) diffUncached(ctx context.Context, a, b string) ([]fileChange, error) {
	if a == "" {
		empty, err := g.emptyTree(ctx)
		if err != nil {
			return nil, err
		}
		a = empty
	}
	raw, err := g.run(ctx, nil, nil, "diff-tree", "-r", "-z", "--no-renames", "--raw", "--numstat", a, b)
	if err != nil {
		return nil, err
	}
	// -z output: raw records ":m1 m2 s1 s2 X\0path\0" then numstat records
	// "add\tdel\tpath\0".
	fields := strings.Split(string(raw), "\x00")
	byPath := map[string]*fileChange{}
	var order []string
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		if f == "" {
			continue
		}
		if strings.HasPrefix(f, ":") && i+1 < len(fields) {
			meta := strings.Fields(f)
			path := fields[i+1]
			i++
			fc := &fileChange{Filename: path, SHA: meta[3]}
			switch meta[4] {
			case "A":
				fc.Status = "added"
			case "D":
				fc.Status = "removed"
				fc.SHA = meta[2]
			case "M":
				fc.Status = "modified"
			case "T":
				fc.Status = "changed"
			default:
				fc.Status = "modified"
			}
			byPath[path] = fc
			order = append(order, path)
			continue
		}
		parts := strings.SplitN(f, "\t", 3)
		if len(parts) == 3 {
			if fc := byPath[parts[2]]; fc != nil {
				fc.Additions, _ = strconv.Atoi(parts[0]) // "-" for binary stays 0
				fc.Deletions, _ = strconv.Atoi(parts[1])
			}
		}
	}
	out := make([]fileChange, 0, len(order))
	for _, p := range order {
		out = append(out, *byPath[p])
	}
	return out, nil
}
