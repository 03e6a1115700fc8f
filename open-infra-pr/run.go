// Package openinfrapr moves an environment of the infra repo to new versions
// through a pull request, without cloning: it reads the environment file
// through the API, edits it in place (formatting kept, so the diff is the
// changed values only), commits through the Git Data API, opens the PR and,
// for dev, merges it — surviving concurrent writers, reruns and races.
package openinfrapr

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/event"
	"github.com/cicd-excellence/actions/internal/ghclient"
)

//go:embed action.yml
var manifest []byte

// Step is `actions open-infra-pr`.
var Step = action.Step{Name: "open-infra-pr", Manifest: manifest, Run: Run}

// Audit is the record an auditor reads: who moved what where, through which
// PR, approved by how many, when.
type Audit struct {
	Actor       string        `json:"actor"`
	AppRepo     string        `json:"app_repo,omitempty"`
	AppSHA      string        `json:"app_sha,omitempty"`
	InfraRepo   string        `json:"infra_repo"`
	Environment string        `json:"environment"`
	File        string        `json:"file"`
	Changes     []AuditChange `json:"changes"`
	Operation   string        `json:"operation"`
	PullRequest string        `json:"pull_request,omitempty"`
	MergeCommit string        `json:"merge_commit,omitempty"`
	Approvals   int           `json:"approvals"`
	Merge       string        `json:"merge_mode"`
	RunURL      string        `json:"run_url,omitempty"`
	Time        string        `json:"time"`
}

// AuditChange is one value moved.
type AuditChange struct {
	Key string `json:"key"`
	Old string `json:"old"`
	New string `json:"new"`
}

// Run is the step.
func Run(ctx context.Context, r *action.Runtime) error {
	ev, err := event.Load(r.Getenv)
	if err != nil {
		return fmt.Errorf("open infra PR: %w", err)
	}
	cfg, err := ParseConfig(r, ev)
	if err != nil {
		return err
	}
	client, err := ghclient.FromRuntime(r)
	if err != nil {
		return err
	}
	u := &Updater{
		GH: client, Cfg: cfg, Now: r.Now, Sleep: r.Sleep,
		Log:    r.Infof,
		Notice: r.Noticef,
		Warn:   r.Warningf,
	}
	out, err := u.Run(ctx)
	if err != nil {
		return fmt.Errorf("open infra PR: %w", err)
	}
	audit := Audit{
		Actor: cfg.Actor, AppSHA: cfg.SourceSHA, InfraRepo: cfg.Owner + "/" + cfg.Repo,
		Environment: cfg.Environment, File: cfg.File, Operation: out.Operation, PullRequest: out.URL,
		MergeCommit: out.MergeCommit, Approvals: out.Approvals, Merge: cfg.Merge, RunURL: cfg.RunURL,
		Time: r.Now().UTC().Format(time.RFC3339), Changes: []AuditChange{},
	}
	if cfg.AppOwner != "" {
		audit.AppRepo = cfg.AppOwner + "/" + cfg.AppRepo
	}
	for _, ch := range out.Changes {
		audit.Changes = append(audit.Changes, AuditChange{Key: ch.Path, Old: ch.Old, New: ch.New})
	}
	auditJSON, err := json.Marshal(audit)
	if err != nil {
		return fmt.Errorf("open infra PR: audit record: %w", err)
	}
	number := ""
	if out.Number != 0 {
		number = strconv.Itoa(out.Number)
	}
	if err := r.SetOutputs(
		"pull-request-number", number,
		"pull-request-url", out.URL,
		"operation", out.Operation,
		"commit-sha", out.CommitSHA,
		"merged", strconv.FormatBool(out.Merged),
		"verified", strconv.FormatBool(out.Verified),
		"audit", string(auditJSON),
	); err != nil {
		return fmt.Errorf("open infra PR: %w", err)
	}
	switch out.Operation {
	case OpNone, OpSkipped, OpDryRun:
		r.Noticef("%s: %s", out.Operation, out.Reason)
	default:
		r.Infof("%s PR #%d %s", out.Operation, out.Number, out.URL)
	}
	return r.Summary(summary(cfg, out, string(auditJSON)))
}

func summary(c Config, out *Outcome, audit string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Infra PR: %s\n\n", action.MDEscape(c.Environment))
	if out.URL != "" {
		fmt.Fprintf(&b, "**%s** [#%d](%s) in `%s/%s`", out.Operation, out.Number, out.URL, c.Owner, c.Repo)
		if out.Merged {
			fmt.Fprintf(&b, " — merged as %s", action.MDCode(out.CommitSHA))
		}
		b.WriteString("\n\n")
	} else {
		fmt.Fprintf(&b, "**%s** — %s\n\n", out.Operation, action.MDEscape(out.Reason))
	}
	if len(out.Changes) > 0 {
		b.WriteString(ChangeTable(c, out.Changes))
	}
	fmt.Fprintf(&b, "\n<details><summary>Audit record</summary>\n\n```json\n%s\n```\n</details>\n", audit)
	return b.String()
}
