// Command release-manifest writes internal/launcher/manifest.txt from
// goreleaser's dist/checksums.txt:
//
//	go run ./internal/build/release/cmd/release-manifest -version v1.2.3 -repository cicd-excellence/actions dist/checksums.txt
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/cicd-excellence/actions/internal/build/release"
)

func main() {
	version := flag.String("version", "", "the release version, vX.Y.Z")
	repo := flag.String("repository", "cicd-excellence/actions", "the repository releases are downloaded from")
	out := flag.String("out", "internal/launcher/manifest.txt", "where to write the manifest")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: release-manifest -version vX.Y.Z [-repository owner/name] [-out file] dist/checksums.txt")
		os.Exit(2)
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "release-manifest:", err)
		os.Exit(1)
	}
	defer f.Close()
	m, err := release.Manifest(*version, *repo, f)
	if err != nil {
		fmt.Fprintln(os.Stderr, "release-manifest:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, []byte(m), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "release-manifest:", err)
		os.Exit(1)
	}
}
