package openinfrapr

import (
	"errors"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v60/github"
)

type mergeKind int

const (
	mergeFinal    mergeKind = iota
	mergeRaced              // the base or head moved under the merge: look again
	mergeChecks             // required checks not met yet: wait
	mergeReview             // an approval is missing: the bot cannot wait it out
	mergeConflict           // not mergeable: rebuild on the base
	mergeMethod             // the repository does not allow the merge method
)

// classifyMerge sorts a refused merge. GitHub tells these apart only by
// status and message, so the messages it documents are matched here, in
// one place.
func classifyMerge(err error) (mergeKind, string) {
	if err == nil {
		return mergeRaced, "GitHub did not merge it"
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
		return mergeRaced, msg
	case status >= 500 || status == 0:
		// The client already retried it within its budget: GitHub is
		// failing, not busy. Waiting out merge-timeout would not help.
		return mergeFinal, "GitHub kept failing: " + msg
	case strings.Contains(low, "merges are not allowed"), strings.Contains(low, "merge commits are not allowed"):
		return mergeMethod, msg
	case strings.Contains(low, "approving review"), strings.Contains(low, "review is required"), strings.Contains(low, "changes requested"):
		return mergeReview, msg
	case strings.Contains(low, "required status check"), strings.Contains(low, "up to date"), strings.Contains(low, "expected"):
		return mergeChecks, msg
	case strings.Contains(low, "rule violation"), strings.Contains(low, "protected branch"):
		return mergeFinal, msg
	case strings.Contains(low, "not mergeable"), strings.Contains(low, "merge conflict"):
		return mergeConflict, msg
	case status == http.StatusConflict:
		return mergeRaced, msg
	}
	return mergeFinal, msg
}
