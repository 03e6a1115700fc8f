// Package release writes the release manifest the launcher verifies binaries
// against: internal/launcher/manifest.txt, committed at the release commit,
// so that pinning this repository's SHA pins every byte that runs.
package release

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// Platforms are the os/arch pairs every release carries.
var Platforms = []string{"darwin_amd64", "darwin_arm64", "linux_amd64", "linux_arm64", "windows_amd64", "windows_arm64"}

var (
	versionRE = regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`)
	sumRE     = regexp.MustCompile(`^[0-9a-f]{64}$`)
	repoRE    = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
)

// Manifest renders the manifest from goreleaser's checksums.txt
// ("<sha256>  <file>" lines). Every platform must be present, nothing else.
func Manifest(version, repository string, checksums io.Reader) (string, error) {
	if !versionRE.MatchString(version) {
		return "", fmt.Errorf("version %q is not vX.Y.Z", version)
	}
	if !repoRE.MatchString(repository) {
		return "", fmt.Errorf("repository %q is not owner/name", repository)
	}
	sums := map[string]string{}
	s := bufio.NewScanner(checksums)
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 || !sumRE.MatchString(f[0]) {
			return "", fmt.Errorf("checksums: malformed line %q", s.Text())
		}
		sums[f[1]] = f[0]
	}
	if err := s.Err(); err != nil {
		return "", err
	}
	var lines []string
	for _, p := range Platforms {
		name := "actions_" + p
		if strings.HasPrefix(p, "windows") {
			name += ".exe"
		}
		sum, ok := sums[name]
		if !ok {
			return "", fmt.Errorf("checksums: no binary %s", name)
		}
		lines = append(lines, fmt.Sprintf("sha256 %s %s", name, sum))
		delete(sums, name)
	}
	if len(sums) > 0 {
		extra := make([]string, 0, len(sums))
		for k := range sums {
			extra = append(extra, k)
		}
		sort.Strings(extra)
		return "", fmt.Errorf("checksums: unexpected files %s", strings.Join(extra, ", "))
	}
	return fmt.Sprintf("# Written by the release process; the launcher verifies every binary against it.\nversion %s\nrepository %s\n%s\n",
		version, repository, strings.Join(lines, "\n")), nil
}
