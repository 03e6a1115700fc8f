package publish

import (
	"net"
	"testing"

	"github.com/cicd-excellence/actions/internal/testkit/localregistry"
	"github.com/cicd-excellence/actions/internal/testkit/tools"
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
type testRegistry = localregistry.Registry

// startRegistry runs the registry with htpasswd basic auth when users is
// not empty (user name to password); it stops with the test.
func startRegistry(t *testing.T, users map[string]string) *testRegistry {
	t.Helper()
	reg, err := localregistry.Start(registryBinary(t), t.TempDir(), users)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		reg.Close()
		if t.Failed() {
			t.Logf("registry log:\n%s", reg.Log())
		}
	})
	return reg
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
