package action

import (
	"fmt"
	"io"
	"strings"

	githubactions "github.com/sethvargo/go-githubactions"
)

// Report is the one place where an error becomes what the user sees: an
// ::error annotation on a runner, "error: ..." elsewhere. Error strings stay
// plain everywhere else so they compose with %w.
func Report(w io.Writer, inActions bool, err error) {
	if err == nil {
		return
	}
	msg := strings.TrimSpace(err.Error())
	if inActions {
		githubactions.New(githubactions.WithWriter(w)).Errorf("%s", msg)
		return
	}
	fmt.Fprintf(w, "error: %s\n", msg)
}
