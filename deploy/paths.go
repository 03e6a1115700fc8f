package deploy

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
)

var envNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

func validEnvironment(name string) error {
	if !envNameRE.MatchString(name) {
		return fmt.Errorf("%s is not an environment name (lower-case letters, digits, '_' and '-')", strconv.Quote(name))
	}
	return nil
}

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
