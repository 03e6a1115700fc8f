// Package vetcheck holds calls of the log helpers that go vet must flag
// (TestVetChecksLogHelpers). It lives under testdata so ./... never builds it.
package vetcheck

import (
	"errors"

	"github.com/cicd-excellence/actions/internal/action"
)

func calls(r *action.Runtime) {
	err := errors.New("50% of\nthe text")
	r.Infof("%d", "not a number")          // want: wrong type
	r.Noticef(err.Error())                 // want: non-constant format
	r.Warningf("%s %s", "one")             // want: needs 2 args
	r.Debugf("%s", "a", "b")               // want: too many arguments
	r.ErrorAt("f.json", 1, err.Error())    // want: non-constant format
	r.Infof("fine %s", err)                // no report
	r.ErrorAt("f.json", 1, "fine %v", err) // no report
}
