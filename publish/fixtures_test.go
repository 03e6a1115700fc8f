package publish

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/cicd-excellence/actions/internal/testkit/steptest"
)

// The commit every workspace holds; its committer time is in +02:00 so the
// tests see it turned into UTC.
const (
	commitDate  = "2024-03-04T05:06:07+02:00"
	wantCreated = "2024-03-04T03:06:07Z"
	repoURL     = "https://github.com/cicd-excellence/app"
)

// fastBackoff keeps the retry tests quick: 3 attempts, 10 ms apart.
var fastBackoff = remote.Backoff{Duration: 10 * time.Millisecond, Factor: 1, Steps: 3}

// workspace is a git checkout with one commit, as actions/checkout leaves.
type workspace struct {
	Dir string
	SHA string
}

func newWorkspace(t *testing.T) workspace {
	t.Helper()
	dir := t.TempDir()
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE="+commitDate, "GIT_COMMITTER_DATE="+commitDate)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "--quiet")
	git("commit", "--quiet", "--allow-empty", "-m", "build me")
	return workspace{Dir: dir, SHA: git("rev-parse", "HEAD")}
}

// result is what one run of the step left behind.
type result = steptest.Result

// secrets are the passwords the tests use: runStep fails a test that finds
// one anywhere a user could read it.
var secrets = []string{"correct-Horse-battery-St4ple", "wrong-Pa55word-XYZ"}

// runStep runs the step in-process as the runner would (steptest): inputs
// from INPUT_* variables, outputs through a real GITHUB_OUTPUT file, the
// error reported as main reports it, the passwords scanned for.
// stepOpts are the step's own options and the runtime's transport.
type stepOpts struct {
	Options
	Transport http.RoundTripper
}

func runStep(t *testing.T, ws workspace, so stepOpts, inputs map[string]string, env ...string) result {
	o := so.Options
	t.Helper()
	if o.Backoff.Steps == 0 {
		o.Backoff = fastBackoff
	}
	if o.Keychain == nil {
		o.Keychain = staticKeychain{} // never the machine's docker login
	}
	base := []string{
		"GITHUB_EVENT_NAME=push", "GITHUB_SHA=" + ws.SHA, "GITHUB_REF=refs/heads/main",
		"GITHUB_REPOSITORY=cicd-excellence/app", "GITHUB_SERVER_URL=https://github.com", "GITHUB_RUN_ID=4242",
	}
	for k, v := range inputs {
		base = append(base, "INPUT_"+strings.ToUpper(strings.ReplaceAll(k, "-", "_"))+"="+v)
	}
	// Every run checks that the password was masked before the first
	// request left: an error of that request could otherwise print it
	// before the runner knows to hide it.
	log := &steptest.Log{}
	first := &firstRequest{log: log, inner: so.Transport}
	if first.inner == nil {
		first.inner = remote.DefaultTransport
	}
	res := steptest.RunWith(t, NewStep(o), steptest.WorkDir(ws.Dir), steptest.Env(append(base, env...)...),
		steptest.Transport(first), steptest.Tee(log), steptest.SecretScan(secrets...))
	if pw := strings.TrimSpace(inputs["password"]); pw != "" {
		if seen, logThen := first.state(); seen && !strings.Contains(logThen, "::add-mask::"+pw+"\n") {
			t.Errorf("the password was not masked before the first registry request; log then:\n%s", logThen)
		}
	}
	t.Logf("step log:\n%s", res.Log)
	if res.Summary != "" {
		t.Logf("job summary:\n%s", res.Summary)
	}
	// Nothing is left in RUNNER_TEMP.
	if left, _ := filepath.Glob(filepath.Join(res.RunnerTemp, "publish-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	return res
}

// staticKeychain answers for one registry, and anonymous for the others.
type staticKeychain struct {
	host string
	auth authn.Authenticator
}

func (k staticKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if k.auth != nil && r.RegistryStr() == k.host {
		return k.auth, nil
	}
	return authn.Anonymous, nil
}

// testImage is a small image built the same way each time from seed.
func testImage(t *testing.T, seed string, platform v1.Platform) v1.Image {
	t.Helper()
	var layers []v1.Layer
	for i, content := range []string{"base layer " + seed, "app layer " + seed} {
		data := tarOf(t, map[string]string{"file" + string(rune('a'+i)) + ".txt": content})
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, l)
	}
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = platform.OS, platform.Architecture, platform.Variant
	cf.Created = v1.Time{Time: time.Unix(0, 0)}
	cf.Config.Labels = map[string]string{"org.example.team": "payments", "seed": seed}
	cf.Config.Cmd = []string{"/app"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	return mutate.ConfigMediaType(img, types.OCIConfigJSON)
}

var amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}

// tarOf returns a tar of files (name to content), sorted.
func tarOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(files[n]))
	}
	tw.Close()
	return b.Bytes()
}

// writeLayout writes an OCI image layout holding imgs into ws/rel.
func writeLayout(t *testing.T, ws workspace, rel string, imgs ...v1.Image) string {
	t.Helper()
	p, err := layout.Write(filepath.Join(ws.Dir, rel), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if err := p.AppendImage(img, layout.WithPlatform(v1.Platform{OS: cf.OS, Architecture: cf.Architecture})); err != nil {
			t.Fatal(err)
		}
	}
	return rel
}

// writeDockerArchive writes img as `docker save` would into ws/rel.
func writeDockerArchive(t *testing.T, ws workspace, rel string, img v1.Image) string {
	t.Helper()
	tag, err := name.NewTag("example.com/app:build")
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(filepath.Join(ws.Dir, rel), tag, img); err != nil {
		t.Fatal(err)
	}
	return rel
}

func gzipFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	if err := os.WriteFile(dst, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeFiles creates files (relative name to content; a name ending in '*'
// is executable) under root.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for n, content := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(n, "*") {
			n, mode = strings.TrimSuffix(n, "*"), 0o755
		}
		p := filepath.Join(root, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// remote reads, against the test registry.

func readOpts(auth authn.Authenticator) []remote.Option {
	if auth == nil {
		auth = authn.Anonymous
	}
	return []remote.Option{remote.WithAuth(auth)}
}

func listTags(t *testing.T, repo string, auth authn.Authenticator) []string {
	t.Helper()
	r, err := name.NewRepository(repo)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := remote.List(r, readOpts(auth)...)
	if err != nil {
		if strings.Contains(err.Error(), "NAME_UNKNOWN") {
			return nil
		}
		t.Fatalf("list tags of %s: %v", repo, err)
	}
	sort.Strings(tags)
	return tags
}

func catalog(t *testing.T, reg *testRegistry, auth authn.Authenticator) []string {
	t.Helper()
	r, err := name.NewRegistry(reg.Host)
	if err != nil {
		t.Fatal(err)
	}
	repos, err := remote.Catalog(context.Background(), r, readOpts(auth)...)
	if err != nil {
		t.Fatalf("catalog: %v", err)
	}
	return repos
}

// getManifest fetches ref and returns its descriptor and parsed manifest.
func getManifest(t *testing.T, ref string, auth authn.Authenticator) (*remote.Descriptor, *v1.Manifest) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Get(r, readOpts(auth)...)
	if err != nil {
		t.Fatalf("get %s: %v", ref, err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(d.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	return d, &m
}

// firstRequest keeps what the step had logged when its first registry
// request left.
type firstRequest struct {
	log   *steptest.Log
	inner http.RoundTripper
	mu    sync.Mutex
	seen  bool
	then  string
}

func (f *firstRequest) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	if !f.seen {
		f.seen, f.then = true, f.log.String()
	}
	f.mu.Unlock()
	return f.inner.RoundTrip(req)
}

func (f *firstRequest) state() (bool, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen, f.then
}
