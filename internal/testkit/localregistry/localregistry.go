// Package localregistry runs the real CNCF distribution registry (pinned in
// tools/versions.txt) as a process on 127.0.0.1, for the publish tests and
// the demo: filesystem storage in a directory of its own, optional htpasswd
// basic auth.
package localregistry

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Registry is a running registry process.
type Registry struct {
	Host    string // 127.0.0.1:port
	Storage string
	log     *lockedBuffer
	stop    func()
}

// Start runs `exe serve` in dir. users, when not empty, turns on htpasswd
// auth (user name to password). A port taken meanwhile is retried.
func Start(exe, dir string, users map[string]string) (*Registry, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		r, err := start(exe, filepath.Join(dir, fmt.Sprint(attempt)), users)
		if err == nil {
			return r, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("start registry: %w", lastErr)
}

// Log is what the registry printed.
func (r *Registry) Log() string { return r.log.String() }

// Close stops the process.
func (r *Registry) Close() { r.stop() }

func start(exe, dir string, users map[string]string) (*Registry, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	host, err := freeAddr()
	if err != nil {
		return nil, err
	}
	r := &Registry{Host: host, Storage: filepath.Join(dir, "storage"), log: &lockedBuffer{}}
	config := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
  secret: local-only-secret
`, r.Storage, host)
	if len(users) > 0 {
		var htpasswd bytes.Buffer
		for u, p := range users {
			// MinCost: the default cost makes every request slow.
			h, err := bcrypt.GenerateFromPassword([]byte(p), bcrypt.MinCost)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(&htpasswd, "%s:%s\n", u, h)
		}
		path := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(path, htpasswd.Bytes(), 0o600); err != nil {
			return nil, err
		}
		config += fmt.Sprintf("auth:\n  htpasswd:\n    realm: local-registry\n    path: %s\n", path)
	}
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "serve", cfgPath)
	// No telemetry leaves this machine.
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none", "OTEL_SDK_DISABLED=true")
	cmd.Stdout, cmd.Stderr = r.log, r.log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	r.stop = func() {
		cmd.Process.Kill()
		<-exited
	}
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			return nil, fmt.Errorf("registry exited:\n%s", r.log.String())
		default:
		}
		resp, err := client.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return r, nil
			}
		}
		if time.Now().After(deadline) {
			r.stop()
			return nil, fmt.Errorf("registry not ready on %s after 15s:\n%s", host, r.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
