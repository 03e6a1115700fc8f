// Package setup decides, from the event that triggered a run, what the rest of
// the pipeline does: publish artifacts, open an infra PR, deploy.
package setup

import (
	"context"
	_ "embed"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/event"
	"github.com/cicd-excellence/actions/internal/refname"
)

//go:embed action.yml
var manifest []byte

// Step is `actions setup`.
var Step = action.Step{Name: "setup", Manifest: manifest, Run: Run}

// Config is what the inputs may override.
type Config struct {
	DefaultBranch string // empty: the payload's repository.default_branch
	HotfixPrefix  string
}

// Decision is setup's answer; every field becomes an output.
type Decision struct {
	Publish         bool
	OpenInfraPR     bool
	Deploy          bool
	SHA             string
	Branch          string
	BaseBranch      string
	IsHotfix        bool
	IsDefaultBranch bool
	Event           string
	Reason          string
}

var prefixPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]*$`)

// Decide applies the pipeline's rules to an event. It is pure: the table in
// setup/README.md is this function.
func Decide(ev *event.Context, cfg Config) (Decision, error) {
	if cfg.HotfixPrefix == "" || !prefixPattern.MatchString(cfg.HotfixPrefix) || strings.Contains(cfg.HotfixPrefix, "..") {
		return Decision{}, action.Inputf("hotfix-prefix", "%s is not a branch prefix (use letters, digits, '.', '_', '-' and '/', such as hotfixes/)", strconv.Quote(cfg.HotfixPrefix))
	}
	// No git ref, commit or event name has a control character: one that
	// does (a forged GITHUB_HEAD_REF, a hand-made payload) would carry a line
	// break into the branch and sha outputs.
	for _, f := range []struct{ what, v string }{
		{"event name", ev.Name}, {"ref", ev.Ref}, {"commit", ev.SHA}, {"head branch", ev.HeadRef}, {"base branch", ev.BaseRef},
	} {
		if strings.ContainsFunc(f.v, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
			return Decision{}, fmt.Errorf("setup: the event's %s %s has a control character, which no git ref, commit or event name has (check GITHUB_REF, GITHUB_HEAD_REF, GITHUB_BASE_REF, GITHUB_SHA and the event payload)", f.what, strconv.Quote(f.v))
		}
	}
	def := cfg.DefaultBranch
	if def == "" {
		def = ev.DefaultBranch
	}
	if def == "" {
		return Decision{}, action.Inputf("default-branch", "is empty and the %s event payload does not name the repository's default branch; set it", or(ev.Name, "(unknown)"))
	}
	d := Decision{
		Event:      ev.Name,
		SHA:        ev.SHA,
		Branch:     ev.Branch(),
		BaseBranch: ev.TargetBranch(),
	}
	target := ev.TargetBranch()
	d.IsDefaultBranch = target != "" && target == def
	d.IsHotfix = target != "" && strings.HasPrefix(target, cfg.HotfixPrefix) && len(target) > len(cfg.HotfixPrefix)

	switch ev.Name {
	case event.Push:
		switch {
		case ev.Deleted:
			d.Reason = fmt.Sprintf("push deleted %s: nothing to build", ev.Ref)
		case ev.RefType != "branch":
			d.Reason = fmt.Sprintf("push of %s, not a branch: nothing to publish", ev.Ref)
		case d.IsDefaultBranch:
			d.Publish, d.OpenInfraPR, d.Deploy = true, true, true
			d.Reason = fmt.Sprintf("push to the default branch %s: publish, open the infra PR, deploy", def)
		case d.IsHotfix:
			d.Publish = true
			d.Reason = fmt.Sprintf("push to hotfix branch %s: publish only; environments move by a reviewed infra PR", target)
		default:
			d.Reason = fmt.Sprintf("push to %s, neither the default branch nor a %s* branch: nothing to publish", target, cfg.HotfixPrefix)
		}
	case event.WorkflowDispatch:
		switch {
		case ev.RefType != "branch":
			d.Reason = fmt.Sprintf("manual run on %s, not a branch: nothing to publish", ev.Ref)
		case d.IsDefaultBranch || d.IsHotfix:
			// Republishing is safe (tags are immutable and idempotent by SHA);
			// moving environments stays the job of a push or a reviewed PR.
			d.Publish = true
			d.Reason = fmt.Sprintf("manual run on %s: publish only (no infra PR, no deploy from a manual run)", target)
		default:
			d.Reason = fmt.Sprintf("manual run on %s, neither the default branch nor a hotfix branch: nothing to publish", target)
		}
	case event.PullRequest, event.PullRequestTarget:
		d.Reason = fmt.Sprintf("pull request into %s: tests only; publishing happens on the push after merge", or(target, "(unknown)"))
	case event.MergeGroup:
		d.Reason = fmt.Sprintf("merge queue for %s: tests only; publishing happens on the push the queue makes", or(target, "(unknown)"))
	default:
		d.Reason = fmt.Sprintf("%s event: nothing to publish", or(ev.Name, "unknown"))
	}
	if d.Publish && !refname.IsFullSHA(d.SHA) {
		return Decision{}, fmt.Errorf("setup: the run's commit %q is not a full commit SHA (is GITHUB_SHA set?)", d.SHA)
	}
	return d, nil
}

// Run is the step: read inputs and event, decide, write outputs and summary.
func Run(ctx context.Context, r *action.Runtime) error {
	ev, err := event.Load(r.Getenv)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	d, err := Decide(ev, Config{
		DefaultBranch: r.Input("default-branch"),
		HotfixPrefix:  r.Input("hotfix-prefix"),
	})
	if err != nil {
		return err
	}
	short := d.SHA
	if len(short) > 7 {
		short = short[:7]
	}
	if err := r.SetOutputs(
		"publish", strconv.FormatBool(d.Publish),
		"open_infra_pr", strconv.FormatBool(d.OpenInfraPR),
		"deploy", strconv.FormatBool(d.Deploy),
		"sha", d.SHA,
		"short_sha", short,
		"branch", d.Branch,
		"base_branch", d.BaseBranch,
		"is_hotfix", strconv.FormatBool(d.IsHotfix),
		"is_default_branch", strconv.FormatBool(d.IsDefaultBranch),
		"event", d.Event,
	); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	r.Infof("%s", d.Reason)
	r.Infof("publish=%t open_infra_pr=%t deploy=%t sha=%s", d.Publish, d.OpenInfraPR, d.Deploy, d.SHA)
	return r.Summary(fmt.Sprintf("**setup** %s · publish `%t` · open_infra_pr `%t` · deploy `%t` — %s",
		action.MDCode(short), d.Publish, d.OpenInfraPR, d.Deploy, action.MDEscape(d.Reason)))
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
