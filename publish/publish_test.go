package publish

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/cicd-excellence/actions/internal/action"
)

// checkPushed reads the artifact back and checks what every run promises:
// the outputs, the tags, and the traceability annotations.
func checkPushed(t *testing.T, res result, ws workspace, repo string, tags []string, auth authn.Authenticator) *v1.Manifest {
	t.Helper()
	if res.Err != nil {
		t.Fatalf("step failed: %v\n%s", res.Err, res.Log)
	}
	digest := res.Outputs["digest"]
	if !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("digest output = %q\n%s", digest, res.Log)
	}
	if want := repo + "@" + digest; res.Outputs["ref"] != want {
		t.Errorf("ref output = %q, want %q", res.Outputs["ref"], want)
	}
	var wantRefs []string
	for _, tag := range tags {
		wantRefs = append(wantRefs, repo+":"+tag)
	}
	if got := res.Outputs["tags"]; got != strings.Join(wantRefs, "\n") {
		t.Errorf("tags output = %q, want %q", got, strings.Join(wantRefs, "\n"))
	}
	sorted := append([]string(nil), tags...)
	sortStrings(sorted)
	if got := listTags(t, repo, auth); !reflect.DeepEqual(got, sorted) {
		t.Errorf("registry tags = %v, want %v", got, sorted)
	}
	var m *v1.Manifest
	for _, tag := range tags {
		d, mm := getManifest(t, repo+":"+tag, auth)
		if d.Digest.String() != digest {
			t.Errorf("%s:%s has digest %s, the output says %s", repo, tag, d.Digest, digest)
		}
		m = mm
	}
	want := map[string]string{
		AnnotationRevision: ws.SHA,
		AnnotationCreated:  wantCreated,
		AnnotationSource:   repoURL,
		AnnotationVersion:  ws.SHA,
	}
	for k, v := range want {
		if m.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, m.Annotations[k], v)
		}
	}
	if !strings.Contains(res.Summary, repo+"@"+digest) || !strings.Contains(res.Summary, "https://github.com/cicd-excellence/app/actions/runs/4242") {
		t.Errorf("summary lacks the reference or the run URL:\n%s", res.Summary)
	}
	return m
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestPublishOCILayoutImage(t *testing.T) {
	t.Parallel()
	reg := startRegistry(t, nil)
	ws := newWorkspace(t)
	img := testImage(t, "one", amd64)
	src := writeLayout(t, ws, "dist/oci", img)
	repo := reg.Host + "/org/api"

	res := runStep(t, ws, stepOpts{}, map[string]string{"image": repo, "source": src, "tags": "v1.2.3", "insecure": "true"})
	m := checkPushed(t, res, ws, repo, []string{ws.SHA, "v1.2.3"}, nil)

	if m.MediaType != types.OCIManifestSchema1 || len(m.Layers) != 2 {
		t.Errorf("manifest: media type %s, %d layers", m.MediaType, len(m.Layers))
	}
	// The config is the build's, byte for byte: same image ID, labels kept.
	wantCfg, _ := img.ConfigName()
	if m.Config.Digest != wantCfg {
		t.Errorf("config %s, want the build's %s", m.Config.Digest, wantCfg)
	}
	pulled, err := remote.Image(mustRef(t, res.Outputs["ref"]))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := pulled.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.Labels["org.example.team"] != "payments" {
		t.Errorf("config labels = %v", cf.Config.Labels)
	}
	if !strings.Contains(res.Log, "OCI layout dist/oci (an image of 2 layers, linux/amd64)") {
		t.Errorf("log does not say what was pushed:\n%s", res.Log)
	}
}

func TestPublishOCILayoutIndex(t *testing.T) {
	t.Parallel()
	reg := startRegistry(t, nil)
	ws := newWorkspace(t)
	src := writeLayout(t, ws, "out", testImage(t, "amd", amd64), testImage(t, "arm", v1.Platform{OS: "linux", Architecture: "arm64"}))
	repo := reg.Host + "/org/multi"

	res := runStep(t, ws, stepOpts{}, map[string]string{"image": repo, "source": src})
	if res.Err != nil {
		t.Fatalf("%v\n%s", res.Err, res.Log)
	}
	checkPushed(t, res, ws, repo, []string{ws.SHA}, nil)
	idx, err := remote.Index(mustRef(t, res.Outputs["ref"]))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 2 || im.Annotations[AnnotationRevision] != ws.SHA {
		t.Errorf("index: %d manifests, annotations %v", len(im.Manifests), im.Annotations)
	}
	for _, d := range im.Manifests {
		if _, err := idx.Image(d.Digest); err != nil {
			t.Errorf("child %s not pushed: %v", d.Digest, err)
		}
	}
}

func TestPublishDockerArchive(t *testing.T) {
	t.Parallel()
	reg := startRegistry(t, nil)
	for _, gz := range []bool{false, true} {
		ws := newWorkspace(t)
		img := testImage(t, "docker", amd64)
		src := writeDockerArchive(t, ws, "image.tar", img)
		repo := reg.Host + "/org/plain"
		if gz {
			gzipFile(t, filepath.Join(ws.Dir, src), filepath.Join(ws.Dir, "image.tar.gz"))
			src, repo = "image.tar.gz", reg.Host+"/org/gzipped"
		}
		res := runStep(t, ws, stepOpts{}, map[string]string{"image": repo, "source": src})
		m := checkPushed(t, res, ws, repo, []string{ws.SHA}, nil)
		// Docker media types become OCI ones (annotations are OCI), the
		// config stays the build's.
		if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
			t.Errorf("media types %s / %s", m.MediaType, m.Config.MediaType)
		}
		for _, l := range m.Layers {
			if l.MediaType != types.OCILayer {
				t.Errorf("layer media type %s", l.MediaType)
			}
		}
		wantCfg, _ := img.ConfigName()
		if m.Config.Digest != wantCfg {
			t.Errorf("config %s, want %s", m.Config.Digest, wantCfg)
		}
		pulled, err := remote.Image(mustRef(t, res.Outputs["ref"]))
		if err != nil {
			t.Fatal(err)
		}
		layers, err := pulled.Layers()
		if err != nil || len(layers) != 2 {
			t.Fatalf("layers: %d, %v", len(layers), err)
		}
		// Layer content round-trips.
		rc, err := layers[1].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		files := untar(t, rc)
		if files["fileb.txt"] != "app layer docker" {
			t.Errorf("layer content = %v", files)
		}
	}
}

func TestPublishFiles(t *testing.T) {
	t.Parallel()
	reg := startRegistry(t, nil)
	ws := newWorkspace(t)
	writeFiles(t, filepath.Join(ws.Dir, "dist", "site"), map[string]string{
		"index.html": "<h1>hi</h1>", "assets/app.js": "console.log(1)", "bin/run.sh*": "#!/bin/sh\necho run\n",
	})
	writeFiles(t, filepath.Join(ws.Dir, "dist"), map[string]string{"sbom.json": `{"sbom":true}`})
	os.MkdirAll(filepath.Join(ws.Dir, "dist", "site", "empty"), 0o755)
	repo := reg.Host + "/org/site"

	res := runStep(t, ws, stepOpts{}, map[string]string{"image": repo, "source": "dist/site\ndist/sbom.json", "artifact-type": "application/vnd.example.site.v1"})
	m := checkPushed(t, res, ws, repo, []string{ws.SHA}, nil)

	if m.ArtifactType != "application/vnd.example.site.v1" || m.Config.MediaType != EmptyConfigMediaType || m.Config.Size != 2 {
		t.Errorf("artifact manifest: artifactType %q, config %+v", m.ArtifactType, m.Config)
	}
	if len(m.Layers) != 2 {
		t.Fatalf("%d layers", len(m.Layers))
	}
	titles := []string{m.Layers[0].Annotations[AnnotationTitle], m.Layers[1].Annotations[AnnotationTitle]}
	if !reflect.DeepEqual(titles, []string{"site", "sbom.json"}) {
		t.Errorf("titles = %v", titles)
	}
	if m.Layers[0].Annotations[annotationUnpack] != "true" || m.Layers[0].MediaType != types.OCILayer {
		t.Errorf("directory layer = %+v", m.Layers[0])
	}
	l, err := remote.Layer(mustRef(t, repo+"@"+m.Layers[0].Digest.String()).(name.Digest))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(rc)
	if err != nil {
		t.Fatal(err)
	}
	if !zr.ModTime.IsZero() || zr.Name != "" {
		t.Errorf("gzip header has a time or name: %v %q", zr.ModTime, zr.Name)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if !h.ModTime.Equal(time.Unix(0, 0)) || h.Uid != 0 || h.Gid != 0 || h.Uname != "" {
			t.Errorf("%s: mtime %v uid %d gid %d uname %q", h.Name, h.ModTime, h.Uid, h.Gid, h.Uname)
		}
		wantMode := int64(0o644)
		if h.Typeflag == tar.TypeDir || h.Name == "site/bin/run.sh" {
			wantMode = 0o755
		}
		if h.Mode != wantMode {
			t.Errorf("%s: mode %o, want %o", h.Name, h.Mode, wantMode)
		}
	}
	want := []string{"site/", "site/assets/", "site/assets/app.js", "site/bin/", "site/bin/run.sh", "site/empty/", "site/index.html"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("entries = %v, want %v", names, want)
	}
}

// TestFilesReproducible builds the same files in two checkouts, written at
// different times with different permissions noise: same digest.
func TestFilesReproducible(t *testing.T) {
	t.Parallel()
	files := map[string]string{"a.txt": "a", "b/c.txt": "c", "b/run*": "x"}
	digests := map[string]bool{}
	for i := 0; i < 2; i++ {
		ws := newWorkspace(t)
		root := filepath.Join(ws.Dir, "out")
		writeFiles(t, root, files)
		stamp := time.Now().Add(time.Duration(i) * 48 * time.Hour)
		filepath.Walk(root, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, stamp, stamp) })
		if i == 1 {
			os.Chmod(filepath.Join(root, "a.txt"), 0o600)
			os.Chmod(filepath.Join(root, "b", "run"), 0o700)
		}
		// created is given: the two checkouts' commits differ only by SHA
		// otherwise, and revision pins that too.
		res := runStep(t, ws, stepOpts{}, map[string]string{
			"image": "registry.example.com/org/files", "source": "out", "publish": "false",
			"revision": strings.Repeat("ab", 20), "created": "2024-01-01T00:00:00Z",
		})
		if res.Err != nil {
			t.Fatalf("%v\n%s", res.Err, res.Log)
		}
		digests[res.Outputs["digest"]] = true
	}
	if len(digests) != 1 {
		t.Errorf("the same files gave different digests: %v", digests)
	}
}

func TestImmutableTags(t *testing.T) {
	t.Parallel()
	reg := startRegistry(t, nil)
	ws := newWorkspace(t)
	repo := reg.Host + "/org/api"
	in := map[string]string{"image": repo, "source": writeLayout(t, ws, "first", testImage(t, "first", amd64)), "tags": "v1"}
	first := runStep(t, ws, stepOpts{}, in)
	checkPushed(t, first, ws, repo, []string{ws.SHA, "v1"}, nil)

	// Idempotent rerun: the same build again succeeds and says so.
	again := runStep(t, ws, stepOpts{}, in)
	checkPushed(t, again, ws, repo, []string{ws.SHA, "v1"}, nil)
	if again.Outputs["digest"] != first.Outputs["digest"] {
		t.Errorf("rerun digest %s, first %s", again.Outputs["digest"], first.Outputs["digest"])
	}
	if !strings.Contains(again.Log, "nothing to push") || !strings.Contains(again.Summary, "Already published") {
		t.Errorf("rerun does not say it pushed nothing:\n%s\n%s", again.Log, again.Summary)
	}

	// A different build of the same commit: refused, nothing pushed, not
	// even the new tag v2 that did not exist.
	other := runStep(t, ws, stepOpts{}, map[string]string{"image": repo, "source": writeLayout(t, ws, "second", testImage(t, "second", amd64)), "tags": "v2, v1"})
	if other.Err == nil {
		t.Fatal("a different digest overwrote the tags")
	}
	msg := other.Err.Error()
	for _, want := range []string{"tag " + repo + ":" + ws.SHA + " already exists with digest " + first.Outputs["digest"], "tags are immutable", "nothing was pushed", "tag " + repo + ":v1 already exists"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	if got := listTags(t, repo, nil); !reflect.DeepEqual(got, sorted(ws.SHA, "v1")) {
		t.Errorf("tags after the refusal = %v", got)
	}
	if d, _ := getManifest(t, repo+":"+ws.SHA, nil); d.Digest.String() != first.Outputs["digest"] {
		t.Errorf("the SHA tag moved to %s", d.Digest)
	}
	if len(other.Outputs) != 0 {
		t.Errorf("outputs written on failure: %v", other.Outputs)
	}

	// A partial rerun: one tag there with the same digest, one new.
	more := runStep(t, ws, stepOpts{}, map[string]string{"image": repo, "source": "first", "tags": "v1, v1.0"})
	checkPushed(t, more, ws, repo, []string{ws.SHA, "v1", "v1.0"}, nil)
	if !strings.Contains(more.Summary, "already there") || !strings.Contains(more.Summary, "pushed") {
		t.Errorf("summary:\n%s", more.Summary)
	}
}

func sorted(s ...string) []string {
	sortStrings(s)
	return s
}

func TestDryRunPushesNothing(t *testing.T) {
	t.Parallel()
	reg := startRegistry(t, nil)
	ws := newWorkspace(t)
	src := writeDockerArchive(t, ws, "image.tar", testImage(t, "dry", amd64))
	repo := reg.Host + "/org/api"
	// Credentials that would fail: a dry run does not use them.
	dry := runStep(t, ws, stepOpts{}, map[string]string{"image": repo, "source": src, "publish": "false", "tags": "v9", "username": "u", "password": secrets[1]})
	if dry.Err != nil {
		t.Fatalf("%v\n%s", dry.Err, dry.Log)
	}
	if repos := catalog(t, reg, nil); len(repos) != 0 {
		t.Errorf("a dry run pushed: catalog %v", repos)
	}
	if !strings.Contains(dry.Log, "nothing was pushed") || !strings.Contains(dry.Log, repo+":v9") || !strings.Contains(dry.Summary, "Dry run") {
		t.Errorf("dry run log/summary:\n%s\n%s", dry.Log, dry.Summary)
	}
	// What the dry run announced is what a publishing run pushes.
	real := runStep(t, ws, stepOpts{}, map[string]string{"image": repo, "source": src, "tags": "v9"})
	checkPushed(t, real, ws, repo, []string{ws.SHA, "v9"}, nil)
	if real.Outputs["digest"] != dry.Outputs["digest"] || real.Outputs["tags"] != dry.Outputs["tags"] {
		t.Errorf("dry run said %v, the push did %v", dry.Outputs, real.Outputs)
	}
}

func TestBadSources(t *testing.T) {
	t.Parallel()
	reg := startRegistry(t, nil)
	ws := newWorkspace(t)
	repo := reg.Host + "/org/api"
	full := writeDockerArchive(t, ws, "full.tar", testImage(t, "full", amd64))
	data, err := os.ReadFile(filepath.Join(ws.Dir, full))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(ws.Dir, "truncated.tar"), data[:len(data)/2+100], 0o644)
	os.WriteFile(filepath.Join(ws.Dir, "garbage.tar"), []byte("this is not a tarball at all, not even close"), 0o644)
	os.MkdirAll(filepath.Join(ws.Dir, "notlayout"), 0o755)
	os.WriteFile(filepath.Join(ws.Dir, "notlayout", "x"), []byte("x"), 0o644)
	// A layout whose blob was damaged after the build.
	lay := writeLayout(t, ws, "damaged", testImage(t, "damaged", amd64))
	blobs, _ := filepath.Glob(filepath.Join(ws.Dir, lay, "blobs", "sha256", "*"))
	for _, b := range blobs {
		if fi, _ := os.Stat(b); fi.Size() > 100 { // a layer, not a manifest or config
			os.WriteFile(b, []byte("damaged"), 0o644)
			break
		}
	}

	tests := []struct {
		name, source, sourceType, publish string
		input                             string // the InputError's input, or "" for another error
		want                              string
	}{
		{"missing path", "dist/nope.tar", "", "", "source", `input "source": dist/nope.tar does not exist in the workspace`},
		{"truncated docker tarball", "truncated.tar", "", "", "", "source truncated.tar: corrupt or truncated tar archive"},
		{"not a tarball", "garbage.tar", "", "", "", "source garbage.tar: not a readable tar archive"},
		{"docker-archive of a directory", "notlayout", "docker-archive", "", "source", "is not a docker save tarball"},
		{"oci-layout without index.json", "notlayout", "oci-layout", "", "source", "is not an OCI image layout"},
		{"several paths for one image", "a\nb", "oci-layout", "", "source", "has 2 paths"},
		{"damaged layout blob", "damaged", "", "false", "", "is corrupt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := map[string]string{"image": repo, "source": tc.source}
			if tc.sourceType != "" {
				in["source-type"] = tc.sourceType
			}
			if tc.publish != "" {
				in["publish"] = tc.publish
			}
			res := runStep(t, ws, stepOpts{}, in)
			if res.Err == nil {
				t.Fatalf("no error\n%s", res.Log)
			}
			if !strings.Contains(res.Err.Error(), tc.want) || strings.Contains(res.Err.Error(), "\n") {
				t.Errorf("error %q, want one line with %q", res.Err, tc.want)
			}
			var ie *action.InputError
			if isInput := errors.As(res.Err, &ie); isInput != (tc.input != "") || (isInput && ie.Input != tc.input) {
				t.Errorf("error %v: want an input error naming %q", res.Err, tc.input)
			}
			if !strings.Contains(res.Log, "::error::") {
				t.Errorf("no ::error:: annotation:\n%s", res.Log)
			}
		})
	}
	if repos := catalog(t, reg, nil); len(repos) != 0 {
		t.Errorf("a bad source pushed something: %v", repos)
	}
}

func TestBadInputs(t *testing.T) {
	t.Parallel()
	reg := startRegistry(t, nil)
	ws := newWorkspace(t)
	src := writeLayout(t, ws, "oci", testImage(t, "inputs", amd64))
	repo := reg.Host + "/org/api"
	tests := []struct {
		name  string
		in    map[string]string
		input string
		want  string
	}{
		{"image with a tag", map[string]string{"image": repo + ":v1"}, "image", "has a tag or digest"},
		{"image with a digest", map[string]string{"image": repo + "@sha256:" + strings.Repeat("a", 64)}, "image", "has a tag or digest"},
		{"image without a host", map[string]string{"image": "org/api"}, "image", "does not start with a registry host"},
		{"image with a scheme", map[string]string{"image": "https://" + repo}, "image", "URL scheme"},
		{"image with a space", map[string]string{"image": reg.Host + "/org/my api"}, "image", "is not a repository name"},
		{"no image", map[string]string{"image": ""}, "image", "is required"},
		{"tag with a space", map[string]string{"tags": "v1, bad tag"}, "tags", `"bad tag" is not a tag`},
		{"tag starting with a dash", map[string]string{"tags": "-x"}, "tags", "is not a tag"},
		{"image:tag as a tag", map[string]string{"tags": repo + ":v1"}, "tags", "is not a tag"},
		{"tag too long", map[string]string{"tags": strings.Repeat("a", 129)}, "tags", "is not a tag"},
		{"latest", map[string]string{"tags": "latest"}, "tags", "immutable"},
		{"short revision", map[string]string{"revision": "abc1234"}, "revision", "not a full commit SHA"},
		{"bad created", map[string]string{"created": "yesterday"}, "created", "RFC 3339"},
		{"bad publish", map[string]string{"publish": "yes"}, "publish", "not a boolean"},
		{"bad source-type", map[string]string{"source-type": "zip"}, "source-type", "not one of"},
		{"bad artifact-type", map[string]string{"artifact-type": "not a type"}, "artifact-type", "not a media type"},
		{"bad source-url", map[string]string{"source-url": "ftp://x"}, "source-url", "not an http(s) URL"},
		{"password without user", map[string]string{"username": "", "password": secrets[0]}, "username", "empty"},
		{"user without password", map[string]string{"username": "someone", "password": ""}, "password", "secrets are not given to workflows run from forks"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := map[string]string{"image": repo, "source": src}
			for k, v := range tc.in {
				in[k] = v
			}
			res := runStep(t, ws, stepOpts{}, in)
			var ie *action.InputError
			if !errors.As(res.Err, &ie) || ie.Input != tc.input || !strings.Contains(res.Err.Error(), tc.want) {
				t.Errorf("err = %v, want an input error naming %q with %q", res.Err, tc.input, tc.want)
			}
		})
	}
	if repos := catalog(t, reg, nil); len(repos) != 0 {
		t.Errorf("bad inputs pushed something: %v", repos)
	}
}

func TestUppercaseImageIsLowered(t *testing.T) {
	t.Parallel()
	reg := startRegistry(t, nil)
	ws := newWorkspace(t)
	src := writeLayout(t, ws, "oci", testImage(t, "upper", amd64))
	res := runStep(t, ws, stepOpts{}, map[string]string{"image": reg.Host + "/Cicd-Excellence/App", "source": src})
	checkPushed(t, res, ws, reg.Host+"/cicd-excellence/app", []string{ws.SHA}, nil)
	if !strings.Contains(res.Log, "upper case letters, which registries refuse: using "+reg.Host+"/cicd-excellence/app") {
		t.Errorf("the lowered name is not logged:\n%s", res.Log)
	}
}

func TestRegistryDown(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t)
	src := writeLayout(t, ws, "oci", testImage(t, "down", amd64))
	host := freeAddr(t) // closed again: nothing listens there
	start := time.Now()
	res := runStep(t, ws, stepOpts{}, map[string]string{"image": host + "/org/api", "source": src, "insecure": "true"})
	elapsed := time.Since(start)
	if res.Err == nil {
		t.Fatal("pushed to nothing")
	}
	want := "push " + host + "/org/api:" + ws.SHA + ": cannot reach " + host + ": connection refused (gave up after"
	if !strings.HasPrefix(res.Err.Error(), want) {
		t.Errorf("err = %q, want it to start with %q", res.Err, want)
	}
	if !strings.Contains(res.Log, "registry request failed (1 failed attempt so far; each request is tried at most 3 times)") {
		t.Errorf("retries not logged:\n%s", res.Log)
	}
	if elapsed > 10*time.Second {
		t.Errorf("took %s: retries are not bounded by the backoff", elapsed)
	}
}

func TestCredentials(t *testing.T) {
	t.Parallel()
	good := secrets[0]
	reg := startRegistry(t, map[string]string{"pusher": good})
	ws := newWorkspace(t)
	src := writeLayout(t, ws, "oci", testImage(t, "auth", amd64))
	repo := reg.Host + "/org/private"
	auth := &authn.Basic{Username: "pusher", Password: good}

	t.Run("wrong password", func(t *testing.T) {
		res := runStep(t, ws, stepOpts{}, map[string]string{"image": repo, "source": src, "username": "pusher", "password": secrets[1]})
		want := "push " + repo + ":" + ws.SHA + ": 401 Unauthorized: check username/password"
		if res.Err == nil || !strings.HasPrefix(res.Err.Error(), want) {
			t.Fatalf("err = %v, want it to start with %q", res.Err, want)
		}
		if strings.Contains(res.Log, "retry") {
			t.Errorf("a 401 was retried:\n%s", res.Log)
		}
	})
	t.Run("workflow token is not sent to another registry", func(t *testing.T) {
		// The defaults (github.actor and github.token) go to ghcr.io only;
		// here they would be right, and are still not sent.
		res := runStep(t, ws, stepOpts{}, map[string]string{"image": repo, "source": src, "username": "pusher", "password": good}, "PUBLISH_DEFAULT_CREDENTIALS=true")
		if res.Err == nil || !strings.Contains(res.Err.Error(), "401 Unauthorized: no credentials were sent: the workflow token goes to GitHub's registry only") {
			t.Fatalf("err = %v", res.Err)
		}
	})
	t.Run("docker login credentials", func(t *testing.T) {
		res := runStep(t, ws, stepOpts{Options: Options{Keychain: staticKeychain{host: reg.Host, auth: auth}}}, map[string]string{"image": repo, "source": src, "username": "pusher", "password": good, "tags": "from-keychain"}, "PUBLISH_DEFAULT_CREDENTIALS=true")
		checkPushed(t, res, ws, repo, []string{ws.SHA, "from-keychain"}, auth)
		if !strings.Contains(res.Log, "credentials: the docker login credentials for "+reg.Host) {
			t.Errorf("log does not say which credentials:\n%s", res.Log)
		}
	})
	t.Run("username and password", func(t *testing.T) {
		res := runStep(t, ws, stepOpts{}, map[string]string{"image": repo, "source": src, "username": "pusher", "password": good, "tags": "from-keychain, explicit"})
		checkPushed(t, res, ws, repo, []string{ws.SHA, "from-keychain", "explicit"}, auth)
	})
}

func TestCreatedFallsBackToEpoch(t *testing.T) {
	t.Parallel()
	reg := startRegistry(t, nil)
	ws := workspace{Dir: t.TempDir(), SHA: strings.Repeat("c", 40)} // no git repository
	writeFiles(t, ws.Dir, map[string]string{"f.txt": "f"})
	const note = "created is 1970-01-01T00:00:00Z; check out the repository (actions/checkout) or set created"
	for _, publish := range []string{"false", "true"} {
		res := runStep(t, ws, stepOpts{}, map[string]string{"image": reg.Host + "/org/x", "source": "f.txt", "publish": publish})
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		// A warning when publishing; a log line in a pull request's dry
		// run, whose shallow checkout often lacks the head commit.
		if !strings.Contains(res.Log, note) || strings.Contains(res.Log, "::warning::") != (publish == "true") {
			t.Errorf("publish %s: no note, or a warning where none belongs:\n%s", publish, res.Log)
		}
		if !strings.Contains(res.Log, "annotation org.opencontainers.image.created=1970-01-01T00:00:00Z") {
			t.Errorf("created is not the epoch:\n%s", res.Log)
		}
	}
	_, m := getManifest(t, reg.Host+"/org/x:"+ws.SHA, nil)
	if m.Annotations[AnnotationCreated] != "1970-01-01T00:00:00Z" {
		t.Errorf("annotations = %v", m.Annotations)
	}
}

func untar(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	files := map[string]string{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name] = string(b)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestOCILayoutTarball pushes what `docker buildx build --output
// type=oci,dest=image.tar` writes: an OCI layout in a tar, here also gzipped.
func TestOCILayoutTarball(t *testing.T) {
	t.Parallel()
	reg := startRegistry(t, nil)
	ws := newWorkspace(t)
	img := testImage(t, "buildx", amd64)
	dir := writeLayout(t, ws, "layout", img)
	tarDir(t, filepath.Join(ws.Dir, dir), filepath.Join(ws.Dir, "image-oci.tar"))
	gzipFile(t, filepath.Join(ws.Dir, "image-oci.tar"), filepath.Join(ws.Dir, "image-oci.tar.gz"))

	fromDir := runStep(t, ws, stepOpts{}, map[string]string{"image": reg.Host + "/org/api", "source": dir, "publish": "false"})
	for _, src := range []string{"image-oci.tar", "image-oci.tar.gz"} {
		repo := reg.Host + "/org/" + strings.ReplaceAll(src, ".", "-")
		res := runStep(t, ws, stepOpts{}, map[string]string{"image": repo, "source": src})
		checkPushed(t, res, ws, repo, []string{ws.SHA}, nil)
		if res.Outputs["digest"] != fromDir.Outputs["digest"] {
			t.Errorf("%s: digest %s, the layout directory gives %s", src, res.Outputs["digest"], fromDir.Outputs["digest"])
		}
	}
}

// tarDir writes the tree under dir as a tar at dst, names relative to dir.
func tarDir(t *testing.T, dir, dst string) {
	t.Helper()
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if fi.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			tw.Write(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

// faultyTransport sits between the step and the real registry and breaks
// the requests fault chooses (by their order among matching requests).
type faultyTransport struct {
	inner http.RoundTripper
	fault func(req *http.Request, n int) (*http.Response, error)

	mu    sync.Mutex
	count map[string]int
}

func (f *faultyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	if f.count == nil {
		f.count = map[string]int{}
	}
	key := req.Method + " " + kindOf(req.URL.Path)
	f.count[key]++
	n := f.count[key]
	f.mu.Unlock()
	if resp, err := f.fault(req, n); resp != nil || err != nil {
		return resp, err
	}
	return f.inner.RoundTrip(req)
}

func kindOf(path string) string {
	switch {
	case strings.Contains(path, "/blobs/uploads/"):
		return "upload"
	case strings.Contains(path, "/manifests/"):
		return "manifest"
	case strings.Contains(path, "/blobs/"):
		return "blob"
	}
	return path
}

func status(req *http.Request, code int) *http.Response {
	return &http.Response{StatusCode: code, Status: http.StatusText(code), Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: req, ProtoMajor: 1, ProtoMinor: 1}
}

func TestRegistryFaults(t *testing.T) {
	t.Parallel()
	reg := startRegistry(t, nil)
	ws := newWorkspace(t)
	src := writeLayout(t, ws, "oci", testImage(t, "faults", amd64))

	t.Run("transient errors are retried", func(t *testing.T) {
		repo := reg.Host + "/org/flaky"
		ft := &faultyTransport{inner: remote.DefaultTransport, fault: func(req *http.Request, n int) (*http.Response, error) {
			switch {
			case req.Method == http.MethodPost && kindOf(req.URL.Path) == "upload" && n == 1:
				return status(req, http.StatusServiceUnavailable), nil
			case (req.Method == http.MethodPatch || req.Method == http.MethodPut) && kindOf(req.URL.Path) == "upload" && n == 1:
				// An upload cut off halfway through its body.
				if req.Body != nil {
					io.CopyN(io.Discard, req.Body, 10)
				}
				return nil, io.ErrUnexpectedEOF
			case req.Method == http.MethodPut && kindOf(req.URL.Path) == "manifest" && n == 1:
				return status(req, http.StatusBadGateway), nil
			}
			return nil, nil
		}}
		res := runStep(t, ws, stepOpts{Transport: ft}, map[string]string{"image": repo, "source": src})
		checkPushed(t, res, ws, repo, []string{ws.SHA}, nil)
		if strings.Contains(res.Log, "_state=") {
			t.Errorf("upload session state (a query string) logged:\n%s", res.Log)
		}
		for _, want := range []string{"503 Service Unavailable", "unexpected EOF", "502 Bad Gateway"} {
			if !strings.Contains(res.Log, "registry request failed") || !strings.Contains(res.Log, want) {
				t.Errorf("retry of %q not logged:\n%s", want, res.Log)
			}
		}
	})
	t.Run("a registry that keeps failing", func(t *testing.T) {
		repo := reg.Host + "/org/broken"
		ft := &faultyTransport{inner: remote.DefaultTransport, fault: func(req *http.Request, n int) (*http.Response, error) {
			if req.Method == http.MethodPut && kindOf(req.URL.Path) == "manifest" {
				return status(req, http.StatusInternalServerError), nil
			}
			return nil, nil
		}}
		res := runStep(t, ws, stepOpts{Transport: ft}, map[string]string{"image": repo, "source": src})
		want := "push " + repo + ":" + ws.SHA + ": 500 Internal Server Error: the registry failed (gave up after 3 failed attempts)"
		if res.Err == nil || res.Err.Error() != want {
			t.Fatalf("err = %v, want %q", res.Err, want)
		}
		if got := listTags(t, repo, nil); len(got) != 0 {
			t.Errorf("tags = %v", got)
		}
	})
	t.Run("403 on push", func(t *testing.T) {
		repo := reg.Host + "/org/denied"
		ft := &faultyTransport{inner: remote.DefaultTransport, fault: func(req *http.Request, n int) (*http.Response, error) {
			if req.Method == http.MethodPost && kindOf(req.URL.Path) == "upload" {
				return status(req, http.StatusForbidden), nil
			}
			return nil, nil
		}}
		res := runStep(t, ws, stepOpts{Transport: ft}, map[string]string{"image": repo, "source": src, "username": "u", "password": secrets[0]})
		if res.Err == nil || !strings.HasPrefix(res.Err.Error(), "push "+repo+":"+ws.SHA+": 403 Forbidden: these credentials may not push to "+repo) {
			t.Fatalf("err = %v", res.Err)
		}
		if strings.Contains(res.Log, "registry request failed") {
			t.Errorf("a 403 was retried:\n%s", res.Log)
		}
	})
}
