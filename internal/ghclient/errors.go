package ghclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"
)

// APIError is a failed call, said in one line a user can act on: what was
// attempted, where, GitHub's answer, and the usual cause.
type APIError struct {
	Op      string // "create branch hotfixes/x"
	Repo    string // "acme/app"
	Status  int    // 0 when no response came back
	Message string
	Hint    string
	Err     error
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s in %s: ", e.Op, e.Repo)
	if e.Status != 0 {
		fmt.Fprintf(&b, "%d %s", e.Status, http.StatusText(e.Status))
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
	} else {
		b.WriteString(e.Message)
	}
	if e.Hint != "" {
		b.WriteString(" (" + e.Hint + ")")
	}
	return b.String()
}

func (e *APIError) Unwrap() error { return e.Err }

// Wrap turns an error from go-github into an *APIError. The URL go-github
// puts in its messages is left out: it adds nothing the operation does not
// say, and it is the one place a credential could ever ride along.
func Wrap(op, repo string, err error) error {
	if err == nil {
		return nil
	}
	e := &APIError{Op: op, Repo: repo, Err: err}
	var er *gh.ErrorResponse
	var rl *RateLimitError
	switch {
	case errors.As(err, &rl):
		e.Message = rl.Error()
	case errors.As(err, &er) && er.Response != nil:
		e.Status = er.Response.StatusCode
		// One line: GitHub's messages may hold line breaks ("Repository
		// rule violations found\n\nCannot create ref ..."), and the error is
		// the user's one-line annotation.
		e.Message = oneLine(er.Message)
		for _, d := range er.Errors {
			if d.Message != "" {
				e.Message += "; " + oneLine(d.Message)
			} else if d.Code != "" {
				e.Message += fmt.Sprintf("; %s %s", d.Field, d.Code)
			}
		}
		e.Hint = hint(e.Status, e.Message)
		// GitHub names the permission a fine-grained or App token lacked.
		if need := er.Response.Header.Get("X-Accepted-GitHub-Permissions"); e.Status == http.StatusForbidden && need != "" {
			e.Hint = "the token needs the permission " + need
		}
	default:
		e.Message = oneLine(err.Error())
	}
	return e
}

func hint(status int, msg string) string {
	low := strings.ToLower(msg)
	switch {
	case status == http.StatusUnauthorized:
		return "the token is invalid or expired"
	case status == http.StatusForbidden && strings.Contains(low, "not accessible by integration"):
		return "the token lacks a permission this needs: check the job's permissions: block or the GitHub App's permissions"
	case status == http.StatusForbidden:
		return "the token is not allowed to do this"
	case status == http.StatusNotFound:
		return "it does not exist, or the token cannot see it: a workflow's GITHUB_TOKEN only reaches its own repository, so use a GitHub App token for another"
	case status == http.StatusConflict:
		return "it changed meanwhile"
	}
	return ""
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Status returns the HTTP status of a failed call, 0 if there was none.
func Status(err error) int {
	var ae *APIError
	if errors.As(err, &ae) && ae.Status != 0 {
		return ae.Status
	}
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// Unanswered says a request got no answer at all (a timeout, a dropped
// connection) rather than a refusal: a write may still be carried out, or
// already have been.
func Unanswered(err error) bool {
	if err == nil || Status(err) != 0 {
		return false
	}
	var rl *RateLimitError
	return !errors.As(err, &rl) && !errors.Is(err, context.Canceled)
}

// InFlight is how long to let an unanswered write land before reading
// whether it happened: the server may still be working on it.
const InFlight = 2 * time.Second

// AwaitInFlight waits InFlight after an unanswered request, so that the
// check that follows sees the write if it is going to happen.
func AwaitInFlight(ctx context.Context, err error) {
	if !Unanswered(err) {
		return
	}
	t := time.NewTimer(InFlight)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
