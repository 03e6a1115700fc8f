// Package version says which build of the actions binary is running.
package version

import "runtime/debug"

// Version is stamped by the release build (-ldflags "-X ...version.Version=v1.2.3").
var Version = ""

// String returns the stamped version, else the module version from the build
// info (set by `go install ...@v1.2.3`), else "devel".
func String() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// UserAgent names the product and version in API requests.
func UserAgent() string { return "cicd-excellence-actions/" + String() }
