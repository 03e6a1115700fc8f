package deploy

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/cicd-excellence/actions/internal/refname"
)

// validEnvironment is the shared rule (refname.Environment), so deploy,
// validate and open-infra-pr agree on every name.
func validEnvironment(name string) error { return refname.Environment(name) }

var safePath = regexp.MustCompile(`^[A-Za-z0-9._/-]+$`)

// envFile is the repository path of an environment's file, refusing
// directories that leave the repository.
func envFile(dir, env string) (string, error) {
	if dir == "." {
		dir = ""
	}
	if dir != "" && (!safePath.MatchString(dir) || strings.HasPrefix(dir, "/") || path.Clean(dir) != dir || dir == ".." || strings.HasPrefix(dir, "../")) {
		return "", fmt.Errorf("%s is not a clean directory inside the repository", strconv.Quote(dir))
	}
	return path.Join(dir, env+".json"), nil
}
