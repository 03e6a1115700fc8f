package gitread

import (
	"os"
	"testing"

	"github.com/cicd-excellence/actions/internal/testkit/gitrepo"
)

// TestMain keeps the machine's git configuration out of every test, once,
// so that tests can run in parallel.
func TestMain(m *testing.M) {
	cleanup, err := gitrepo.Isolate()
	if err != nil {
		panic(err)
	}
	code := m.Run()
	cleanup()
	os.Exit(code)
}

func reader(r *gitrepo.Repo) Reader { return Reader{Dir: r.Dir} }
