package openinfrapr

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v60/github"
)

// requiredCheck is one status check the base branch's rules require; app is
// the GitHub App it must come from (0: any source).
type requiredCheck struct {
	context string
	app     int64
}

// requiredChecks are the checks every rule on the base branch requires. The
// bot waits for each on the exact head it merges, whatever its token may
// bypass: a pull_request-mode bypass skips required checks too (GitHub docs,
// "About rulesets" → bypass), so the rules alone would not stop it.
type requiredChecks struct {
	checks []requiredCheck
	strict bool // the branch must be up to date before merging
}

// maxPages bounds every paginated read.
const maxPages = 10

func (u *Updater) requiredChecks(ctx context.Context, base string) (*requiredChecks, error) {
	c := u.Cfg
	rules, _, err := u.GH.Repositories.GetRulesForBranch(ctx, c.Owner, c.Repo, base)
	if statusOf(err) == http.StatusNotFound {
		return nil, u.repoErr(err)
	}
	if err != nil {
		return nil, u.apiErr("read the rules of "+base, err)
	}
	rc := &requiredChecks{}
	seen := map[requiredCheck]bool{}
	for _, r := range rules {
		if r.Type != "required_status_checks" || r.Parameters == nil {
			continue
		}
		var p gh.RequiredStatusChecksRuleParameters
		if err := json.Unmarshal(*r.Parameters, &p); err != nil {
			return nil, fmt.Errorf("read the rules of %s in %s: required_status_checks: %w", base, u.repo(), err)
		}
		rc.strict = rc.strict || p.StrictRequiredStatusChecksPolicy
		for _, chk := range p.RequiredStatusChecks {
			k := requiredCheck{context: chk.Context, app: chk.GetIntegrationID()}
			if !seen[k] {
				seen[k] = true
				rc.checks = append(rc.checks, k)
			}
		}
	}
	if len(rc.checks) == 0 {
		u.Warn("%s in %s requires no status check: the bot merges without a validating check (apply the rulesets presets)", base, u.repo())
	}
	return rc, nil
}

type checksState int

const (
	checksPassed checksState = iota
	checksPending
	checksFailed
)

// state evaluates every required check on sha: failed as soon as one has
// failed, pending while one has not reported or not finished.
func (u *Updater) state(ctx context.Context, sha string, rc *requiredChecks) (checksState, string, error) {
	if rc == nil || len(rc.checks) == 0 {
		return checksPassed, "", nil
	}
	runs, err := u.checkRuns(ctx, sha)
	if err != nil {
		return 0, "", err
	}
	var statuses map[string]string
	result, why := checksPassed, ""
	for _, req := range rc.checks {
		st, found := checksPending, false
		for _, r := range runs {
			if r.GetName() != req.context || (req.app != 0 && r.GetApp().GetID() != req.app) {
				continue
			}
			found = true
			st = runState(r)
			break // the newest first
		}
		if !found && req.app == 0 {
			// A commit status satisfies a check not bound to an app. One
			// bound to an app needs that app's check run: the status API
			// does not say which app posted a status, so the bot refuses.
			if statuses == nil {
				if statuses, err = u.statuses(ctx, sha); err != nil {
					return 0, "", err
				}
			}
			switch statuses[req.context] {
			case "success":
				st = checksPassed
			case "failure", "error":
				st = checksFailed
			}
		}
		switch st {
		case checksFailed:
			return checksFailed, fmt.Sprintf("required check %q failed on %s", req.context, short(sha)), nil
		case checksPending:
			result, why = checksPending, fmt.Sprintf("waiting for required check %q on %s", req.context, short(sha))
		}
	}
	return result, why, nil
}

func runState(r *gh.CheckRun) checksState {
	if r.GetStatus() != "completed" {
		return checksPending
	}
	switch r.GetConclusion() {
	case "success", "neutral", "skipped":
		return checksPassed
	}
	return checksFailed
}

// checkRuns lists the latest check run of each name on sha, every page.
func (u *Updater) checkRuns(ctx context.Context, sha string) ([]*gh.CheckRun, error) {
	c := u.Cfg
	var all []*gh.CheckRun
	opts := &gh.ListCheckRunsOptions{Filter: gh.String("latest"), ListOptions: gh.ListOptions{PerPage: 100}}
	for page := 0; page < maxPages; page++ {
		res, resp, err := u.GH.Checks.ListCheckRunsForRef(ctx, c.Owner, c.Repo, sha, opts)
		if err != nil {
			return nil, u.apiErr("read check runs of "+short(sha), err)
		}
		all = append(all, res.CheckRuns...)
		if resp.NextPage == 0 {
			return all, nil
		}
		opts.Page = resp.NextPage
	}
	return nil, fmt.Errorf("read check runs of %s in %s: more than %d pages", short(sha), u.repo(), maxPages)
}

// statuses is the latest state of each commit status context on sha.
func (u *Updater) statuses(ctx context.Context, sha string) (map[string]string, error) {
	c := u.Cfg
	out := map[string]string{}
	opts := &gh.ListOptions{PerPage: 100}
	for page := 0; page < maxPages; page++ {
		st, resp, err := u.GH.Repositories.GetCombinedStatus(ctx, c.Owner, c.Repo, sha, opts)
		if err != nil {
			return nil, u.apiErr("read statuses of "+short(sha), err)
		}
		for _, s := range st.Statuses {
			if _, ok := out[s.GetContext()]; !ok {
				out[s.GetContext()] = strings.ToLower(s.GetState())
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
	return nil, fmt.Errorf("read statuses of %s in %s: more than %d pages", short(sha), u.repo(), maxPages)
}
