package publish

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cicd-excellence/actions/internal/tools"
)

// registryBinary is the pinned CNCF distribution registry (tools/versions.txt),
// installed into bin/ on first use.
func registryBinary(t testing.TB) string {
	t.Helper()
	exe, err := tools.Path("registry")
	if err != nil {
		t.Fatalf("registry binary: %v", err)
	}
	return exe
}

// testRegistry is a real registry process on 127.0.0.1.
type testRegistry struct {
	Host    string // 127.0.0.1:port
	Storage string
	log     *lockedBuffer
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

// startRegistry runs `registry serve` with a config of its own: filesystem
// storage in a temporary directory, deletes enabled, and htpasswd basic auth
// when users is not empty (user name to password).
func startRegistry(t *testing.T, users map[string]string) *testRegistry {
	t.Helper()
	exe := registryBinary(t)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		reg, err := tryStartRegistry(t, exe, users)
		if err == nil {
			return reg
		}
		lastErr = err // most likely the free port was taken meanwhile
	}
	t.Fatalf("start registry: %v", lastErr)
	return nil
}

func tryStartRegistry(t *testing.T, exe string, users map[string]string) (*testRegistry, error) {
	dir := t.TempDir()
	host := freeAddr(t)
	reg := &testRegistry{Host: host, Storage: filepath.Join(dir, "storage"), log: &lockedBuffer{}}
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
  secret: test-only-secret
`, reg.Storage, host)
	if len(users) > 0 {
		var htpasswd bytes.Buffer
		for u, p := range users {
			// MinCost: bcrypt's default cost makes every request slow.
			h, err := bcrypt.GenerateFromPassword([]byte(p), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&htpasswd, "%s:%s\n", u, h)
		}
		path := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(path, htpasswd.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		config += fmt.Sprintf("auth:\n  htpasswd:\n    realm: test-registry\n    path: %s\n", path)
	}
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "serve", cfgPath)
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none", "OTEL_SDK_DISABLED=true")
	cmd.Stdout, cmd.Stderr = reg.log, reg.log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Kill()
		<-exited
	}
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			return nil, fmt.Errorf("registry exited:\n%s", reg.log.String())
		default:
		}
		resp, err := client.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				break
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("registry not ready on %s after 15s:\n%s", host, reg.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("registry log:\n%s", reg.log.String())
		}
	})
	return reg, nil
}

// freeAddr returns 127.0.0.1:port with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
