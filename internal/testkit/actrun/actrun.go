// Package actrun runs real workflow files with act (nektos/act, pinned in
// tools/versions.txt) in host mode, with `uses: cicd-excellence/actions/...@v1`
// and `...@<PinnedSHA>` resolved to a snapshot of this checkout: the exact lines users write, run
// the way a runner runs them (composite action.yml, launcher, binary). The
// tests (through acttest) and `make demo` share it.
package actrun

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// The pin the examples and READMEs use: `uses:
// cicd-excellence/actions/<step>@<PinnedSHA> # <PinnedVersion>`. Runs resolve
// it, like @v1, to the checkout under test. The release process moves it
// (and Dependabot or Renovate does in users' repositories).
const (
	PinnedSHA     = "42df96e430b389a07dd27b5caf9c0a43946b3e3c"
	PinnedVersion = "v1.0.0"
)

// Options describes one act run: an app repository made of Files, an event
// and its payload.
type Options struct {
	Act        string // path of the act binary
	ActionsDir string // the cicd-excellence/actions checkout that @v1 and @PinnedSHA mean
	WorkDir    string // scratch directory of this run (created if missing)

	// Files of the repository the workflow runs in, including the workflow
	// under .github/workflows/. Committed in one commit on Branch.
	Files      map[string]string
	Branch     string // default "main"
	Repository string // owner/name act reports as GITHUB_REPOSITORY (default acme/app)
	// RepoDir, when set, is an existing clone to run in instead of Files.
	RepoDir string

	Event string // push, pull_request, workflow_dispatch, ...
	// Payload is the event JSON. "{{HEAD}}" anywhere in it is replaced by
	// the SHA of the repository's HEAD when act starts, "{{INITIAL}}" by the
	// commit of Files (they differ when BeforeRun adds commits).
	Payload string

	Env     map[string]string // workflow-level environment (--env)
	Secrets map[string]string
	Vars    map[string]string
	Inputs  map[string]string // workflow_dispatch inputs
	Job     string            // run only this job (and what it needs)
	// Workflow, when set, runs only this workflow file (a path in the
	// repository, such as .github/workflows/promote.yml).
	Workflow string
	// Offline lists third-party actions ("owner/name@ref") the workflows
	// name in steps that must be skipped here (such as an App token step
	// gated on a variable): act resolves every action before it evaluates
	// if:, and this machine cannot download them. Each is replaced by an
	// action that fails if it ever runs.
	Offline []string

	// Binary, when set, is given to the launcher as ACTIONS_BINARY. Empty
	// makes the launcher build the binary from ActionsDir, as on a runner
	// using a ref with no release.
	Binary  string
	Timeout time.Duration
	// BeforeRun, when set, runs after the repository is committed and
	// before act starts (to push it somewhere, say).
	BeforeRun func(repoDir, head string) error
	Log       io.Writer // also receives act's output as it runs (optional)
}

// Result is what a run left behind.
type Result struct {
	Log      string
	Err      error // act's exit status: a failed workflow
	Head     string
	RepoDir  string
	Duration time.Duration
	// Results holds lines the workflow appended to $RESULT_FILE, the way the
	// tests' workflows report which jobs ran and with which outputs.
	Results []string
}

// Has reports whether the workflow reported a result line.
func (r *Result) Has(line string) bool {
	for _, l := range r.Results {
		if l == line {
			return true
		}
	}
	return false
}

// Snapshot copies the files git would commit (tracked and untracked but not
// ignored) of the checkout at root into a new temporary directory: what a
// user's runner downloads, without bin/ or node_modules/.
func Snapshot(root string) (string, error) {
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		return "", fmt.Errorf("git ls-files: %w", err)
	}
	dst, err := os.MkdirTemp("", "actrun-actions-")
	if err != nil {
		return "", err
	}
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if rel == "" {
			continue
		}
		src := filepath.Join(root, rel)
		info, err := os.Lstat(src)
		if err != nil || !info.Mode().IsRegular() {
			continue // deleted but still in the index, or a link
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return "", err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dst, rel), data, info.Mode().Perm()); err != nil {
			return "", err
		}
	}
	return dst, nil
}

// BuildBinary builds the actions binary of the checkout at root into dir.
func BuildBinary(root, dir string) (string, error) {
	path := filepath.Join(dir, "actions")
	cmd := exec.Command("go", "build", "-o", path, "./actions")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./actions: %v\n%s", err, out)
	}
	return path, nil
}

// Run commits the files, writes the event and runs act. It returns an error
// only for harness problems; a failing workflow is Result.Err.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := os.MkdirAll(o.WorkDir, 0o755); err != nil {
		return nil, err
	}
	repo := filepath.Join(o.WorkDir, "repo")
	branch := o.Branch
	if branch == "" {
		branch = "main"
	}
	full := o.Repository
	if full == "" {
		full = "acme/app"
	}
	var head string
	if o.RepoDir != "" {
		repo = o.RepoDir
		out, err := exec.Command("git", "-C", repo, "rev-parse", "HEAD").Output()
		if err != nil {
			return nil, fmt.Errorf("git rev-parse HEAD in %s: %w", repo, err)
		}
		head = strings.TrimSpace(string(out))
	} else {
		var err error
		if head, err = CommitFiles(repo, branch, o.Files); err != nil {
			return nil, err
		}
	}
	initial := head
	// act names the repository after the origin remote; nothing is fetched.
	exec.Command("git", "-C", repo, "remote", "remove", "origin").Run()
	if out, err := exec.Command("git", "-C", repo, "remote", "add", "origin", "https://github.com/"+full+".git").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("git remote add: %v\n%s", err, out)
	}
	if o.BeforeRun != nil {
		if err := o.BeforeRun(repo, head); err != nil {
			return nil, fmt.Errorf("before run: %w", err)
		}
		// BeforeRun may have moved HEAD (a rebase before a push).
		out, err := exec.Command("git", "-C", repo, "rev-parse", "HEAD").Output()
		if err != nil {
			return nil, fmt.Errorf("git rev-parse HEAD: %w", err)
		}
		head = strings.TrimSpace(string(out))
	}
	eventPath := filepath.Join(o.WorkDir, "event.json")
	payload := strings.NewReplacer("{{HEAD}}", head, "{{INITIAL}}", initial).Replace(o.Payload)
	if payload == "" {
		payload = "{}"
	}
	if !json.Valid([]byte(payload)) {
		return nil, fmt.Errorf("payload is not JSON: %s", payload)
	}
	if err := os.WriteFile(eventPath, []byte(payload), 0o644); err != nil {
		return nil, err
	}
	resultFile := filepath.Join(o.WorkDir, "results.txt")
	env := map[string]string{"RESULT_FILE": resultFile}
	if o.Binary != "" {
		env["ACTIONS_BINARY"] = o.Binary
	}
	for k, v := range o.Env {
		env[k] = v
	}
	args := []string{o.Event,
		"-e", eventPath,
		"-P", "ubuntu-latest=-self-hosted", "-P", "ubuntu-22.04=-self-hosted", "-P", "ubuntu-24.04=-self-hosted",
		"--local-repository", "cicd-excellence/actions@v1=" + o.ActionsDir,
		// The SHA-pinned form users are told to write (act matches the ref
		// as written: owner/repo@ref=path).
		"--local-repository", "cicd-excellence/actions@" + PinnedSHA + "=" + o.ActionsDir,
		// Nothing may leave this machine: no action downloads, no cache server
		// (act would bind it to a non-loopback address).
		"--action-offline-mode", "--no-cache-server",
		"--action-cache-path", filepath.Join(o.WorkDir, "act-cache"),
	}
	if o.Job != "" {
		args = append(args, "-j", o.Job)
	}
	if o.Workflow != "" {
		args = append(args, "-W", o.Workflow)
	}
	for _, ref := range o.Offline {
		dir, err := offlineStub(o.WorkDir, ref)
		if err != nil {
			return nil, err
		}
		args = append(args, "--local-repository", ref+"="+dir)
	}
	for _, kv := range sorted(env) {
		args = append(args, "--env", kv)
	}
	for _, kv := range sorted(o.Secrets) {
		args = append(args, "-s", kv)
	}
	for _, kv := range sorted(o.Vars) {
		args = append(args, "--var", kv)
	}
	for _, kv := range sorted(o.Inputs) {
		args = append(args, "--input", kv)
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, o.Act, args...)
	cmd.Dir = repo
	var log bytes.Buffer
	var w io.Writer = &log
	if o.Log != nil {
		w = io.MultiWriter(&log, o.Log)
	}
	cmd.Stdout, cmd.Stderr = w, w
	start := time.Now()
	runErr := cmd.Run()
	res := &Result{Log: log.String(), Err: runErr, Head: head, RepoDir: repo, Duration: time.Since(start)}
	if data, err := os.ReadFile(resultFile); err == nil {
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if l != "" {
				res.Results = append(res.Results, l)
			}
		}
	}
	return res, nil
}

// offlineStub writes an action that refuses to run, standing in for ref.
func offlineStub(workDir, ref string) (string, error) {
	dir := filepath.Join(workDir, "offline", strings.NewReplacer("/", "_", "@", "_").Replace(ref))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	yml := fmt.Sprintf(`name: offline stand-in
description: 'An action that cannot be downloaded here; its step must be skipped.'
runs:
  using: composite
  steps:
    - shell: bash
      run: echo "::error::%s is not available offline" && exit 1
`, ref)
	return dir, os.WriteFile(filepath.Join(dir, "action.yml"), []byte(yml), 0o644)
}

// CommitFiles makes dir a git repository on branch holding files in one commit
// and returns its SHA.
func CommitFiles(dir, branch string, files map[string]string) (string, error) {
	git := func(args ...string) (string, error) {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=actrun", "-c", "user.email=actrun@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out)), nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if _, err := git("init", "-q", "-b", branch); err != nil {
		return "", err
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	if _, err := git("add", "-A"); err != nil {
		return "", err
	}
	if _, err := git("commit", "-q", "--allow-empty", "-m", "test commit"); err != nil {
		return "", err
	}
	return git("rev-parse", "HEAD")
}

func sorted(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
