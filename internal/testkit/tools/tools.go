// Package tools finds the pinned external programs the tests run (act,
// actionlint, the registry, ...) in the repository's bin/ and installs a
// missing one with `go install module@version` from tools/versions.txt, the
// one place versions are pinned.
package tools

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Root returns the repository root: the nearest parent of the working
// directory holding go.mod.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Pinned returns the module@version of a tool from tools/versions.txt.
func Pinned(root, name string) (string, error) {
	f, err := os.Open(filepath.Join(root, "tools", "versions.txt"))
	if err != nil {
		return "", err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) == 2 && fields[0] == name && !strings.HasPrefix(fields[0], "#") {
			return fields[1], nil
		}
	}
	return "", fmt.Errorf("tool %s is not pinned in tools/versions.txt", name)
}

// Path returns the path of a pinned tool, installing it into bin/ first if it
// is missing. Concurrent test binaries wait on a lock instead of racing.
func Path(name string) (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(root, "bin")
	exe := filepath.Join(bin, name)
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	if _, err := os.Stat(exe); err == nil {
		return exe, nil
	}
	pin, err := Pinned(root, name)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", err
	}
	lock := filepath.Join(bin, ".install-"+name+".lock")
	deadline := time.Now().Add(15 * time.Minute)
	for {
		f, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			f.Close()
			break
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("waited too long for %s (remove %s if no install is running)", lock, lock)
		}
		time.Sleep(500 * time.Millisecond)
		if _, err := os.Stat(exe); err == nil {
			return exe, nil
		}
	}
	defer os.Remove(lock)
	if _, err := os.Stat(exe); err == nil {
		return exe, nil
	}
	cmd := exec.Command("go", "install", pin)
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s: %v\n%s", pin, err, out)
	}
	return exe, nil
}
