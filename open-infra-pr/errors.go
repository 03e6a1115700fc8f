package openinfrapr

import (
	"errors"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/ghclient"
)

func statusOf(err error) int { return ghclient.Status(err) }

func (u *Updater) apiErr(op string, err error) error {
	return u.apiErrRepo(op, u.repo(), err)
}

func (u *Updater) apiErrRepo(op, repo string, err error) error {
	return ghclient.Wrap(op, repo, err)
}

type mergeKind int

const (
	mergeFinal mergeKind = iota
	mergeTransient
	mergeConflict
	mergeWaiting // required checks or reviews missing: worth waiting for in auto mode
)

// classifyMerge sorts a failed merge by GitHub's message: a moved base or
// head is worth another try, "not mergeable" needs a rebuild, anything else
// (a ruleset, a missing review, server errors that outlasted the client's
// retries) is final.
func classifyMerge(err error) (mergeKind, string) {
	if err == nil {
		return mergeTransient, "GitHub did not merge it"
	}
	msg := err.Error()
	var er *gh.ErrorResponse
	if errors.As(err, &er) {
		msg = er.Message
	}
	low := strings.ToLower(msg)
	status := statusOf(err)
	switch {
	case strings.Contains(low, "base branch was modified"), strings.Contains(low, "head branch was modified"):
		return mergeTransient, msg
	case status >= 500 || status == 0:
		// The client already retried it within its budget: GitHub is
		// failing, not busy. Waiting out merge-timeout would not help.
		return mergeFinal, "GitHub kept failing: " + msg
	case strings.Contains(low, "required status check"), strings.Contains(low, "approving review"), strings.Contains(low, "review is required"):
		return mergeWaiting, msg
	case strings.Contains(low, "rule violation"), strings.Contains(low, "protected branch"):
		return mergeFinal, msg
	case strings.Contains(low, "not mergeable"), strings.Contains(low, "merge conflict"):
		return mergeConflict, msg
	case status == 409:
		return mergeTransient, msg
	}
	return mergeFinal, msg
}
