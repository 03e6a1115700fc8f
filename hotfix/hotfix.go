// Package hotfix creates hotfixes/<name> at a chosen commit through the
// GitHub API. It replaces the seed's `git switch -c hotfixes/${{ inputs... }}`,
// which put a user's text into a shell script.
package hotfix

import (
	"context"
	_ "embed"
	"fmt"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/envfile"
	"github.com/cicd-excellence/actions/internal/ghclient"
	"github.com/cicd-excellence/actions/internal/refname"
)

//go:embed action.yml
var manifest []byte

// Step is `actions hotfix`.
var Step = action.Step{Name: "hotfix", Manifest: manifest, Run: Run}

// Request is a validated hotfix request.
type Request struct {
	Owner, Repo            string
	Name, Prefix, Base     string
	RequireOnDefaultBranch bool
	// With InfraOwner set, a Base naming an environment of the infra repo
	// (a file <EnvDir>/<base>.json there) means the version it holds: the
	// commit that environment runs.
	InfraOwner, InfraRepo string
	EnvDir                string
	VersionKey            string
}

// Branch is the full branch name.
func (q Request) Branch() string { return q.Prefix + q.Name }

// Result is what was done.
type Result struct {
	Branch  string
	SHA     string
	URL     string
	Created bool
	// BaseEnvironment is the environment base named ("" for a commit, tag
	// or branch), and BaseFile the infra file its version was read from.
	BaseEnvironment, BaseFile string
}

// ParseRequest reads and validates the inputs; nothing is called before this
// succeeds.
func ParseRequest(r *action.Runtime) (Request, error) {
	var q Request
	var err error
	if q.Name, err = r.RequiredInput("name"); err != nil {
		return q, err
	}
	if q.Base, err = r.RequiredInput("base"); err != nil {
		return q, err
	}
	q.Prefix = r.Input("prefix")
	if q.RequireOnDefaultBranch, err = r.BoolInput("require-on-default-branch", true); err != nil {
		return q, err
	}
	repo := r.Input("repository")
	if repo == "" {
		repo = r.Getenv("GITHUB_REPOSITORY")
	}
	if q.Owner, q.Repo, err = refname.Repo(repo); err != nil {
		return q, action.Inputf("repository", "%v", err)
	}
	if infra := r.Input("infra-repo"); infra != "" {
		if q.InfraOwner, q.InfraRepo, err = refname.Repo(infra); err != nil {
			return q, action.Inputf("infra-repo", "%v", err)
		}
	}
	q.EnvDir, q.VersionKey = r.Input("environments-dir"), r.Input("version-key")
	return q, q.Validate()
}

// Validate checks a request without any call to GitHub.
func (q Request) Validate() error {
	if q.Prefix != "" {
		if err := refname.Branch(strings.TrimSuffix(q.Prefix, "/")); err != nil {
			return action.Inputf("prefix", "%v", err)
		}
	}
	if err := refname.Branch(q.Name); err != nil {
		return action.Inputf("name", "%v", err)
	}
	if err := refname.Branch(q.Branch()); err != nil {
		return action.Inputf("name", "the branch %v", err)
	}
	if err := ValidateBase(q.Base); err != nil {
		return action.Inputf("base", "%v", err)
	}
	if q.EnvDir != "" && (!envDirRE.MatchString(q.EnvDir) || path.Clean(q.EnvDir) != q.EnvDir || strings.HasPrefix(q.EnvDir, "../") || q.EnvDir == "..") {
		return action.Inputf("environments-dir", "%s is not a clean directory inside the infra repository", strconv.Quote(q.EnvDir))
	}
	if q.VersionKey != "" {
		if _, err := envfile.ParsePath(q.VersionKey); err != nil {
			return action.Inputf("version-key", "%v", err)
		}
	}
	return nil
}

var (
	envDirRE  = regexp.MustCompile(`^[A-Za-z0-9._-][A-Za-z0-9._/-]*$`)
	envNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
)

// environmentBase resolves a base that names an environment of the infra
// repo to the version its file holds. ok is false when base is no
// environment there (then it is a commit, tag or branch of the app repo).
func environmentBase(ctx context.Context, c *gh.Client, q Request) (sha, file string, ok bool, err error) {
	if q.InfraOwner == "" || !envNameRE.MatchString(q.Base) {
		return "", "", false, nil
	}
	dir := q.EnvDir
	if dir == "" {
		dir = "envs"
	}
	file = path.Join(dir, q.Base+".json")
	infra := q.InfraOwner + "/" + q.InfraRepo
	fc, _, _, err := c.Repositories.GetContents(ctx, q.InfraOwner, q.InfraRepo, file, nil)
	switch {
	case status(err) == http.StatusNotFound:
		return "", "", false, nil
	case err != nil:
		return "", "", false, ghclient.Wrap("read "+file, infra, err)
	case fc == nil || fc.GetType() != "file":
		return "", "", false, nil
	}
	text, err := fc.GetContent()
	if err != nil {
		return "", "", false, fmt.Errorf("read %s of %s: %w", file, infra, err)
	}
	values, err := envfile.Values([]byte(text), nil)
	if err != nil {
		return "", "", false, fmt.Errorf("base %s: %s of %s: %w", q.Base, file, infra, err)
	}
	key := q.VersionKey
	if key == "" {
		// A digest beside a tag is not a second version.
		versions := envfile.VersionKeys(values)
		switch {
		case len(versions) == 1:
			key = versions[0]
		case values["api.tag"] != "":
			key = "api.tag"
		default:
			keys := slices.Sorted(slices.Values(versions))
			return "", "", false, action.Inputf("version-key", "is needed: %s of %s holds %d versions (%s)", file, infra, len(versions), strings.Join(keys, ", "))
		}
	}
	v, found := values[key]
	if !found {
		return "", "", false, action.Inputf("version-key", "%s is not a version key of %s in %s", strconv.Quote(key), file, infra)
	}
	if !refname.IsFullSHA(v) {
		return "", "", false, action.Inputf("base", "%s: %s = %s in %s of %s is not a commit SHA", q.Base, key, strconv.Quote(v), file, infra)
	}
	return strings.ToLower(v), file, true, nil
}

// ValidateBase accepts a 7-40 digit hex SHA, or a tag or branch name.
func ValidateBase(base string) error {
	if refname.IsHexSHA(base) {
		return nil
	}
	if err := refname.Branch(base); err != nil {
		return fmt.Errorf("is neither a commit SHA (7 to 40 hex digits) nor a valid tag or branch name: %v", err)
	}
	return nil
}

// Create makes the branch. It is idempotent: a branch already at the
// resolved commit is success; at another commit it is an error and nothing
// changes.
func Create(ctx context.Context, c *gh.Client, q Request, serverURL string, log func(string, ...any)) (Result, error) {
	repo := q.Owner + "/" + q.Repo
	res := Result{Branch: q.Branch(), URL: fmt.Sprintf("%s/%s/tree/%s", strings.TrimRight(serverURL, "/"), repo, q.Branch())}

	// An environment's version, then validated like any other base.
	if sha, file, ok, err := environmentBase(ctx, c, q); err != nil {
		return res, err
	} else if ok {
		log("base %s: %s of %s/%s holds %s", q.Base, file, q.InfraOwner, q.InfraRepo, sha)
		res.BaseEnvironment, res.BaseFile = q.Base, file
		q.Base = sha
	}

	rc, _, err := c.Repositories.GetCommit(ctx, q.Owner, q.Repo, q.Base, &gh.ListOptions{PerPage: 1})
	if err != nil {
		if status(err) == http.StatusNotFound || status(err) == http.StatusUnprocessableEntity {
			// A repository that does not exist (or that the token cannot
			// see) has no commits either: say which input is wrong.
			if _, _, rerr := c.Repositories.Get(ctx, q.Owner, q.Repo); status(rerr) == http.StatusNotFound {
				return res, action.Inputf("repository", "%v", ghclient.Wrap("read the repository", repo, rerr))
			} else if rerr != nil {
				return res, ghclient.Wrap("read the repository", repo, rerr)
			}
			return res, action.Inputf("base", "%s is not a commit, tag or branch of %s", strconv.Quote(q.Base), repo)
		}
		return res, ghclient.Wrap("resolve base "+q.Base, repo, err)
	}
	commit := rc.GetSHA()
	res.SHA = commit

	if q.RequireOnDefaultBranch {
		r, _, err := c.Repositories.Get(ctx, q.Owner, q.Repo)
		if err != nil {
			return res, ghclient.Wrap("read the repository", repo, err)
		}
		def := r.GetDefaultBranch()
		cmp, _, err := c.Repositories.CompareCommits(ctx, q.Owner, q.Repo, def, commit, &gh.ListOptions{PerPage: 1})
		if err != nil {
			return res, ghclient.Wrap(fmt.Sprintf("check that %s is on %s", short(commit), def), repo, err)
		}
		if s := cmp.GetStatus(); s != "behind" && s != "identical" {
			return res, action.Inputf("base", "%s (%s) is not on the default branch %s; a hotfix starts from released history (set require-on-default-branch: false to allow it)", strconv.Quote(q.Base), short(commit), def)
		}
	}

	existing, err := branchSHA(ctx, c, q.Owner, q.Repo, q.Branch())
	if err != nil {
		return res, err
	}
	switch {
	case existing == commit:
		log("branch %s already exists at %s: nothing to do", q.Branch(), short(commit))
		return res, nil
	case existing != "":
		return res, fmt.Errorf("create hotfix branch: %s already exists at %s, not at %s; choose another name or delete the branch", q.Branch(), short(existing), short(commit))
	}

	ref := "refs/heads/" + q.Branch()
	// A create is not repeated blindly: after a failure whose outcome is
	// unknown (5xx, a dropped connection), the branch's state decides whether
	// it happened, and only a branch still missing is created again.
	for attempt := 1; attempt <= 3; attempt++ {
		if _, _, err = c.Git.CreateRef(ctx, q.Owner, q.Repo, &gh.Reference{Ref: &ref, Object: &gh.GitObject{SHA: &commit}}); err == nil {
			res.Created = true
			return res, nil
		}
		ghclient.AwaitInFlight(ctx, err)
		now, rerr := branchSHA(ctx, c, q.Owner, q.Repo, q.Branch())
		switch {
		case rerr != nil:
			return res, ghclient.Wrap("create branch "+q.Branch(), repo, err)
		case now == commit:
			log("branch %s exists at %s: created by this request or a concurrent run", q.Branch(), short(commit))
			res.Created = status(err) >= 500 || status(err) == 0
			return res, nil
		case now != "":
			return res, fmt.Errorf("create hotfix branch: %s was created at %s meanwhile, not at %s", q.Branch(), short(now), short(commit))
		}
		if status(err) < 500 && !ghclient.Unanswered(err) {
			break // GitHub said no; asking again will not change its mind
		}
		log("creating %s failed (%v); the branch does not exist, trying again (%d/3)", q.Branch(), err, attempt)
	}
	return res, ghclient.Wrap("create branch "+q.Branch(), repo, err)
}

func branchSHA(ctx context.Context, c *gh.Client, owner, repo, branch string) (string, error) {
	ref, _, err := c.Git.GetRef(ctx, owner, repo, "heads/"+branch)
	if status(err) == http.StatusNotFound {
		return "", nil
	}
	if err != nil {
		return "", ghclient.Wrap("read branch "+branch, owner+"/"+repo, err)
	}
	return ref.GetObject().GetSHA(), nil
}

func status(err error) int { return ghclient.Status(err) }

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
