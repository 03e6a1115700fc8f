package envdiff

import (
	"os"
	"testing"

	"github.com/cicd-excellence/actions/internal/gitread"
	"github.com/cicd-excellence/actions/internal/testkit/gitrepo"
)

// TestMain keeps the machine's git configuration out of the tests, once,
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

// testRepo is a real git repository built by a test.
type testRepo struct {
	*gitrepo.Repo
	dir string
}

func newRepo(t *testing.T) *testRepo {
	t.Helper()
	r := gitrepo.New(t)
	return &testRepo{Repo: r, dir: r.Dir}
}

func (r *testRepo) git(args ...string) string { return r.Git(args...) }

// commit writes files (a "" content deletes the file) and commits them.
func (r *testRepo) commit(msg string, files map[string]string) string { return r.Commit(msg, files) }

func (r *testRepo) reader() gitread.Reader { return gitread.Reader{Dir: r.dir} }
