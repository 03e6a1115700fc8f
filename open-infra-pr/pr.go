package openinfrapr

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/ghclient"
)

// ensurePR returns the open PR of the change's branch, opening it when there
// is none. A PR from the bot's branch that someone else opened is closed:
// GitHub allows one open PR per head and base, and its title and body (the
// audit trail) would be theirs.
func (u *Updater) ensurePR(ctx context.Context, out *Outcome, res written) (*gh.PullRequest, bool, error) {
	if !res.claimed {
		pr, err := u.findPR(ctx, out.Branch, out.Base)
		if err != nil {
			return nil, false, err
		}
		if pr != nil {
			return pr, false, nil
		}
	}
	pr, err := u.createPR(ctx, out)
	if err != nil {
		if res.claimed && !errors.Is(err, errRestart) {
			// The branch is this run's alone: leave nothing half done.
			(&writer{u: u, out: out}).dropClaim(ctx, res.head)
		}
		return nil, false, err
	}
	return pr, true, nil
}

func (u *Updater) createPR(ctx context.Context, out *Outcome) (*gh.PullRequest, error) {
	c := u.Cfg
	pr, _, err := u.GH.PullRequests.Create(ctx, c.Owner, c.Repo, &gh.NewPullRequest{
		Title: gh.String(Expand(c.Title, c, out.Changes)),
		Head:  gh.String(out.Branch),
		Base:  gh.String(out.Base),
		Body:  gh.String(Body(c, out.Changes, editValues(out))),
		Draft: gh.Bool(c.Draft),
	})
	if err != nil {
		// A concurrent run may have opened it between our look and now, or
		// this very request did and its answer was lost.
		ghclient.AwaitInFlight(ctx, err)
		if existing, ferr := u.findPR(ctx, out.Branch, out.Base); ferr == nil && existing != nil {
			return existing, nil
		}
		if statusOf(err) == http.StatusUnprocessableEntity {
			// The branch no longer carries this run's commit: "head
			// invalid" when a run that merged its previous head deleted it
			// just after this run wrote (GitHub has no conditional delete),
			// "No commits between" when it was deleted and claimed again at
			// the base. Either way the values are still to be proposed: the
			// round starts over from the base as it is now.
			if strings.Contains(err.Error(), "No commits between") {
				return nil, errRestart
			}
			if _, _, gerr := u.GH.Git.GetRef(ctx, c.Owner, c.Repo, "heads/"+out.Branch); statusOf(gerr) == http.StatusNotFound {
				return nil, errRestart
			}
		}
		return nil, u.apiErr("open PR from "+out.Branch, err)
	}
	u.Log("opened PR #%d: %s", pr.GetNumber(), pr.GetHTMLURL())
	if len(c.Labels) > 0 {
		if _, _, err := u.GH.Issues.AddLabelsToIssue(ctx, c.Owner, c.Repo, pr.GetNumber(), c.Labels); err != nil {
			u.Warn("could not label PR #%d: %v", pr.GetNumber(), err)
		}
	}
	if len(c.Reviewers) > 0 {
		if _, _, err := u.GH.PullRequests.RequestReviewers(ctx, c.Owner, c.Repo, pr.GetNumber(), gh.ReviewersRequest{Reviewers: c.Reviewers}); err != nil {
			u.Warn("could not request reviewers on PR #%d: %v", pr.GetNumber(), err)
		}
	}
	return pr, nil
}

// findPR returns the open PR from branch into base opened by the bot, and
// closes any opened by someone else.
func (u *Updater) findPR(ctx context.Context, branch, base string) (*gh.PullRequest, error) {
	c := u.Cfg
	prs, _, err := u.GH.PullRequests.List(ctx, c.Owner, c.Repo, &gh.PullRequestListOptions{
		State: "open", Head: c.Owner + ":" + branch, Base: base, ListOptions: gh.ListOptions{PerPage: 10},
	})
	if err != nil {
		return nil, u.apiErr("list PRs", err)
	}
	bot := u.me.get()
	for _, pr := range prs {
		if pr.GetHead().GetRef() != branch {
			continue
		}
		author := pr.GetUser().GetLogin()
		if bot == "" || strings.EqualFold(author, bot) {
			return pr, nil
		}
		u.Warn("PR #%d from the bot's branch %s was opened by %s, not by the bot (%s): closing it", pr.GetNumber(), branch, author, bot)
		if _, _, err := u.GH.PullRequests.Edit(ctx, c.Owner, c.Repo, pr.GetNumber(), &gh.PullRequest{State: gh.String("closed")}); err != nil {
			return nil, u.apiErr(fmt.Sprintf("close PR #%d", pr.GetNumber()), err)
		}
	}
	return nil, nil
}

// describe makes the PR's title and body say what is merged: a PR that
// several runs wrote to still carries the first one's text.
func (u *Updater) describe(ctx context.Context, out *Outcome, pr *gh.PullRequest) {
	c := u.Cfg
	if mk, ok := ParseMarker(pr.GetBody()); ok && maps.Equal(mk.Values, editValues(out)) {
		return
	}
	_, _, err := u.GH.PullRequests.Edit(ctx, c.Owner, c.Repo, pr.GetNumber(), &gh.PullRequest{
		Title: gh.String(Expand(c.Title, c, out.Changes)),
		Body:  gh.String(Body(c, out.Changes, editValues(out))),
	})
	if err != nil {
		u.Warn("could not update the description of PR #%d: %v", pr.GetNumber(), err)
	}
}

func editValues(out *Outcome) map[string]string {
	m := map[string]string{}
	for _, ch := range out.Changes {
		m[ch.Path] = ch.New
	}
	return m
}
