package openinfrapr

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/envfile"
	"github.com/cicd-excellence/actions/internal/event"
	"github.com/cicd-excellence/actions/internal/refname"
	"github.com/cicd-excellence/actions/internal/servicemap"
)

// Merge modes.
const (
	MergeAuto  = "auto"
	MergeAdmin = "admin"
	MergeNone  = "none"
)

// Config is a validated request. Every field is checked before the first
// API call, so bad input never leaves anything behind.
type Config struct {
	Owner, Repo       string // the infra repo
	Environment       string
	File              string
	Edits             []envfile.Edit // empty with PromoteFrom: read from the source file
	Base              string         // empty: the default branch
	Merge             string
	MergeMethod       string
	MergeTimeout      time.Duration
	Title, Body       string
	Labels, Reviewers []string
	Draft, DryRun     bool
	CreateMissing     bool
	AllowDowngrade    bool
	PromoteFrom       string
	PromoteFile       string
	PromoteKeys       []envfile.Path
	AppOwner, AppRepo string
	HotfixPrefix      string
	// AppDefaultBranch is the app repo's default branch when the event names
	// it (the run's own repository): one read fewer per run.
	AppDefaultBranch string
	// PushedToDefault is the commit a push to the app's default branch made
	// its tip, per the event's payload.
	PushedToDefault string
	// ServicesFile is the infra repo's map of version keys to app repos
	// (internal/servicemap); read when set. Services is the parsed map: each
	// key is ordered, checked and linked against its own app repo. Without
	// one, every key belongs to AppOwner/AppRepo.
	ServicesFile string
	Services     *servicemap.Map
	// BranchPrefix starts the PR branch (default BranchPrefix, the bot's).
	// A flow whose PRs a human approves, such as a rollback, uses its own so
	// that the bot guard and the bot's rulesets do not apply to it.
	BranchPrefix string

	// From the run, for the PR body and the audit record.
	Actor     string
	SourceSHA string
	RunURL    string
	ServerURL string
}

var safePath = regexp.MustCompile(`^[A-Za-z0-9._/-]+$`)

// MaxValueLength bounds a version value.
const MaxValueLength = 256

// ParseConfig reads the step's inputs and the event.
func ParseConfig(r *action.Runtime, ev *event.Context) (Config, error) {
	var c Config
	var err error
	infra, err := r.RequiredInput("infra-repo")
	if err != nil {
		return c, err
	}
	if c.Owner, c.Repo, err = refname.Repo(infra); err != nil {
		return c, action.Inputf("infra-repo", "%v", err)
	}
	c.Environment = r.Input("environment")
	if c.Environment == "" {
		c.Environment = "dev"
	}
	if err := ValidateEnvironment(c.Environment); err != nil {
		return c, action.Inputf("environment", "%v", err)
	}
	fileTmpl := r.Input("file")
	if fileTmpl == "" {
		fileTmpl = "envs/{environment}.json"
	}
	if c.File, err = EnvFile(fileTmpl, c.Environment); err != nil {
		return c, action.Inputf("file", "%v", err)
	}
	c.SourceSHA = ev.SHA
	c.Actor = ev.Actor
	c.RunURL = ev.RunURL
	c.ServerURL = ev.ServerURL

	c.PromoteFrom = r.Input("promote-from")
	if c.PromoteFrom != "" {
		if err := ValidateEnvironment(c.PromoteFrom); err != nil {
			return c, action.Inputf("promote-from", "%v", err)
		}
		if c.PromoteFrom == c.Environment {
			return c, action.Inputf("promote-from", "is the environment being changed (%s)", c.Environment)
		}
		if c.PromoteFile, err = EnvFile(fileTmpl, c.PromoteFrom); err != nil {
			return c, action.Inputf("promote-from", "%v", err)
		}
		if r.Input("set") != "" {
			return c, action.Inputf("set", "cannot be used with promote-from: a promotion copies the source environment's values")
		}
		for _, k := range r.ListInput("keys") {
			p, err := envfile.ParsePath(k)
			if err != nil {
				return c, action.Inputf("keys", "%s: %v", strconv.Quote(k), err)
			}
			c.PromoteKeys = append(c.PromoteKeys, p)
		}
	} else {
		if r.Input("keys") != "" {
			return c, action.Inputf("keys", "is only used with promote-from")
		}
		lines := r.LinesInput("set")
		if len(lines) == 0 {
			if !refname.IsFullSHA(ev.SHA) {
				return c, action.Inputf("set", "is empty and the run's commit %s is not a full SHA to default to (api.tag=<sha>)", strconv.Quote(ev.SHA))
			}
			lines = []string{"api.tag=" + ev.SHA}
		}
		if c.Edits, err = ParseSet(lines); err != nil {
			return c, err
		}
	}

	c.Base = r.Input("base")
	if c.Base != "" {
		if err := refname.Branch(c.Base); err != nil {
			return c, action.Inputf("base", "%v", err)
		}
	}
	defMerge := MergeNone
	if c.Environment == "dev" && c.PromoteFrom == "" {
		defMerge = MergeAuto
	}
	if c.Merge, err = r.ChoiceInput("merge", defMerge, MergeAuto, MergeAdmin, MergeNone); err != nil {
		return c, err
	}
	if c.MergeMethod, err = r.ChoiceInput("merge-method", "squash", "rebase", "squash", "merge"); err != nil {
		return c, err
	}
	if c.MergeTimeout, err = r.DurationInput("merge-timeout", 10*time.Minute); err != nil {
		return c, err
	}
	if c.MergeTimeout > 6*time.Hour {
		return c, action.Inputf("merge-timeout", "%s is longer than a job may run (6h)", c.MergeTimeout)
	}
	c.Title = r.Input("title")
	if c.Title == "" {
		c.Title = "{environment}: {changes}"
	}
	if strings.ContainsAny(c.Title, "\r\n") || len(c.Title) > 200 {
		return c, action.Inputf("title", "must be one line of at most 200 characters")
	}
	c.Body = r.Input("body")
	if len(c.Body) > 20000 {
		return c, action.Inputf("body", "is longer than 20000 characters")
	}
	c.Labels = r.ListInput("labels")
	for _, l := range c.Labels {
		if len(l) > 50 || strings.ContainsAny(l, "\r\n\x00") {
			return c, action.Inputf("labels", "%s is not a label name", strconv.Quote(l))
		}
	}
	c.Reviewers = r.ListInput("reviewers")
	for _, u := range c.Reviewers {
		if !regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`).MatchString(u) {
			return c, action.Inputf("reviewers", "%s is not a GitHub user name", strconv.Quote(u))
		}
	}
	if c.Draft, err = r.BoolInput("draft", false); err != nil {
		return c, err
	}
	if c.Draft && c.Merge != MergeNone && r.Input("merge") != "" {
		return c, action.Inputf("merge", "a draft PR is never merged; use merge: none with draft: true")
	}
	if c.Draft {
		c.Merge = MergeNone
	}
	if c.DryRun, err = r.BoolInput("dry-run", false); err != nil {
		return c, err
	}
	if c.CreateMissing, err = r.BoolInput("create-missing", false); err != nil {
		return c, err
	}
	if c.AllowDowngrade, err = r.BoolInput("allow-downgrade", false); err != nil {
		return c, err
	}
	app := r.Input("app-repo")
	if app == "" {
		app = ev.Repository
	}
	if app != "" {
		if c.AppOwner, c.AppRepo, err = refname.Repo(app); err != nil {
			return c, action.Inputf("app-repo", "%v", err)
		}
		if strings.EqualFold(app, ev.Repository) {
			c.AppDefaultBranch = ev.DefaultBranch
			// A push to the default branch: GitHub's own payload says the
			// pushed commit is that branch's tip, so it needs no compare to
			// prove it merged.
			if ev.Name == event.Push && ev.DefaultBranch != "" && ev.Ref == "refs/heads/"+ev.DefaultBranch && refname.IsFullSHA(ev.SHA) {
				c.PushedToDefault = ev.SHA
			}
		}
	}
	c.ServicesFile = r.Input("services-file")
	if c.ServicesFile == "" && c.PromoteFrom != "" {
		// A promotion moves many services at once: each key must be
		// checked against its own repository when the map exists.
		c.ServicesFile = servicemap.DefaultFile
	}
	if c.ServicesFile != "" {
		if c.ServicesFile, err = EnvFile(c.ServicesFile, ""); err != nil {
			return c, action.Inputf("services-file", "%v", err)
		}
	}
	c.HotfixPrefix = r.Input("hotfix-prefix")
	if c.HotfixPrefix == "" {
		c.HotfixPrefix = "hotfixes/"
	}
	if err := refname.Branch(strings.TrimSuffix(c.HotfixPrefix, "/")); err != nil {
		return c, action.Inputf("hotfix-prefix", "%v", err)
	}
	return c, nil
}

// ValidateEnvironment is the one rule for environment names, shared with
// deploy and validate (refname.Environment): a name open-infra-pr accepts is
// one validate accepts too.
func ValidateEnvironment(name string) error { return refname.Environment(name) }

// EnvFile expands the file template and refuses paths that leave the
// repository or are not JSON files.
func EnvFile(tmpl, environment string) (string, error) {
	p := strings.ReplaceAll(tmpl, "{environment}", environment)
	switch {
	case !safePath.MatchString(p):
		return "", fmt.Errorf("%s has characters outside letters, digits, '.', '_', '-' and '/'", strconv.Quote(p))
	case strings.HasPrefix(p, "/"):
		return "", fmt.Errorf("%s is absolute; give a path inside the repository", strconv.Quote(p))
	case path.Clean(p) != p || strings.HasPrefix(p, "../") || p == ".." || strings.Contains(p, "/../"):
		return "", fmt.Errorf("%s is not a clean path inside the repository", strconv.Quote(p))
	case !strings.HasSuffix(p, ".json"):
		return "", fmt.Errorf("%s is not a .json file", strconv.Quote(p))
	}
	return p, nil
}

// ParseSet reads path=value lines. A digest ("api.digest=sha256:…") must
// be well formed and come with its tag ("api.tag=<sha>").
func ParseSet(lines []string) ([]envfile.Edit, error) {
	var edits []envfile.Edit
	seen := map[string]bool{}
	for _, line := range lines {
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, action.Inputf("set", "line %s is not path=value", strconv.Quote(line))
		}
		p, err := envfile.ParsePath(k)
		if err != nil {
			return nil, action.Inputf("set", "%s: %v", strconv.Quote(k), err)
		}
		if err := ValidateValue(v); err != nil {
			return nil, action.Inputf("set", "%s: %v", p.String(), err)
		}
		if seen[p.String()] {
			return nil, action.Inputf("set", "%s is set twice", p.String())
		}
		seen[p.String()] = true
		edits = append(edits, envfile.Edit{Path: p, Value: v})
	}
	if err := checkDigests("set", edits); err != nil {
		return nil, err
	}
	return edits, nil
}

// ValidateValue refuses values that cannot be versions: empty, over-long,
// control characters, and hex strings too short to be a full commit SHA
// (a short SHA is ambiguous and cannot be ordered).
func ValidateValue(v string) error {
	switch {
	case v == "":
		return fmt.Errorf("the value is empty")
	case len(v) > MaxValueLength:
		return fmt.Errorf("the value is longer than %d characters", MaxValueLength)
	}
	for _, c := range v {
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("the value contains a control character")
		}
	}
	if refname.IsHexSHA(v) && !refname.IsFullSHA(v) {
		return fmt.Errorf("%s looks like a short or upper-case commit SHA; use the full 40-character lower-case SHA", strconv.Quote(v))
	}
	return nil
}

// App is the app repository whose commits key holds: from the services map
// when there is one, else AppOwner/AppRepo ("" when neither says).
func (c Config) App(key string) (owner, repo string, err error) {
	if tag, ok := envfile.TagOf(key); ok {
		key = tag // a digest belongs to its tag's app; the map names tags
	}
	if c.Services != nil {
		owner, repo, err = c.Services.RepoFor(key, c.Owner)
		if err != nil {
			return "", "", action.Inputf("services-file", "%s: %v", c.ServicesFile, err)
		}
		return owner, repo, nil
	}
	return c.AppOwner, c.AppRepo, nil
}

// defaultBranchOf is the app repo's default branch when the event said it.
func (c Config) defaultBranchOf(owner, repo string) string {
	if strings.EqualFold(owner+"/"+repo, c.AppOwner+"/"+c.AppRepo) {
		return c.AppDefaultBranch
	}
	return ""
}
