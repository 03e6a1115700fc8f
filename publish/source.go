package publish

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/cicd-excellence/actions/internal/action"
)

// artifact is what gets pushed: one image (or files artifact) or one index.
type artifact struct {
	Image       v1.Image
	Index       v1.ImageIndex
	Description string // for logs: where it came from and what it holds
}

func (a *artifact) taggable() remote.Taggable {
	if a.Index != nil {
		return a.Index
	}
	return a.Image
}

func (a *artifact) digest() (v1.Hash, error) {
	if a.Index != nil {
		return a.Index.Digest()
	}
	return a.Image.Digest()
}

// openSource turns the source paths into an annotated artifact. tmp is a
// directory for decompressed or extracted archives and built layers; it must
// outlive the push.
func openSource(c *config, tmp string) (*artifact, error) {
	for i, p := range c.Sources {
		if _, err := os.Stat(p); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				where := ""
				if !filepath.IsAbs(c.SourceNames[i]) {
					where = " in the workspace " + c.WorkDir
				}
				return nil, action.Inputf("source", "%s does not exist%s", c.SourceNames[i], where)
			}
			return nil, action.Inputf("source", "%s: %v", c.SourceNames[i], err)
		}
	}
	kind := c.SourceType
	var sniffed *tarInfo
	if len(c.Sources) > 1 {
		kind = TypeFiles
	} else if fi, _ := os.Stat(c.Sources[0]); kind != TypeFiles {
		if fi.Mode().IsRegular() {
			info, err := sniffTar(c.Sources[0])
			if err != nil {
				return nil, fmt.Errorf("source %s: %w", c.SourceNames[0], err)
			}
			sniffed = info
		}
		if kind == TypeAuto {
			kind = detect(c.Sources[0], fi, sniffed)
		}
	}

	switch kind {
	case TypeOCILayout:
		return openLayout(c, tmp, sniffed)
	case TypeDockerArchive:
		return openDockerArchive(c, tmp, sniffed)
	default:
		img, err := buildFiles(c.Sources, c.ArtifactType, c.Annotations, tmp)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", strings.Join(c.SourceNames, ", "), err)
		}
		n := len(c.Sources)
		return &artifact{Image: img, Description: fmt.Sprintf("files artifact %s (%s, %d layer%s)", strings.Join(c.SourceNames, ", "), c.ArtifactType, n, plural(n))}, nil
	}
}

func detect(p string, fi fs.FileInfo, t *tarInfo) string {
	if fi.IsDir() {
		if isFile(filepath.Join(p, "oci-layout")) && isFile(filepath.Join(p, "index.json")) {
			return TypeOCILayout
		}
		return TypeFiles
	}
	switch {
	case t == nil || !t.IsTar:
		return TypeFiles
	case t.Names["manifest.json"]:
		return TypeDockerArchive
	case t.Names["oci-layout"] && t.Names["index.json"]:
		return TypeOCILayout
	}
	return TypeFiles
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// tarInfo is what sniffTar learned of a file.
type tarInfo struct {
	IsTar bool
	Gzip  bool
	Names map[string]bool
}

// sniffTar reads a file's tar headers (through gzip when it is compressed).
// A file that does not start as a tar is fine (it is a plain file), unless
// its name says it is one; a tar that breaks off is an error, and so is one
// that looks like an image archive without its manifest, since pushing it as
// files would hide a truncated docker save.
func sniffTar(p string) (*tarInfo, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info := &tarInfo{Names: map[string]bool{}}
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return notTar(p, info, err)
		}
		defer zr.Close()
		info.Gzip, r = true, zr
	}
	tr := tar.NewReader(r)
	imageLike := false
	for first := true; ; first = false {
		h, err := tr.Next()
		if err == io.EOF {
			if first {
				return notTar(p, info, errors.New("empty"))
			}
			break
		}
		if err != nil {
			if first {
				return notTar(p, info, err)
			}
			return nil, fmt.Errorf("corrupt or truncated tar archive: %v", err)
		}
		n := path.Clean(strings.TrimPrefix(h.Name, "./"))
		info.Names[n] = true
		if n == "repositories" || strings.HasSuffix(n, "/layer.tar") || strings.HasPrefix(n, "blobs/sha256/") {
			imageLike = true
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return nil, fmt.Errorf("corrupt or truncated tar archive: %v", err)
		}
	}
	info.IsTar = true
	if imageLike && !info.Names["manifest.json"] && !info.Names["index.json"] {
		return nil, errors.New("looks like an image archive (docker save or OCI layout) but has neither manifest.json nor index.json: is it truncated?")
	}
	return info, nil
}

func notTar(p string, info *tarInfo, err error) (*tarInfo, error) {
	lower := strings.ToLower(p)
	for _, ext := range []string{".tar", ".tar.gz", ".tgz"} {
		if strings.HasSuffix(lower, ext) {
			return nil, fmt.Errorf("not a readable tar archive: %v", err)
		}
	}
	return info, nil
}

func openDockerArchive(c *config, tmp string, t *tarInfo) (*artifact, error) {
	src, shown := c.Sources[0], c.SourceNames[0]
	if t == nil || !t.IsTar {
		return nil, action.Inputf("source", "%s is not a docker save tarball (source-type is docker-archive)", shown)
	}
	if !t.Names["manifest.json"] {
		return nil, action.Inputf("source", "%s has no manifest.json, so it is not a docker save tarball (an OCI layout tarball is source-type oci-layout)", shown)
	}
	p := src
	if t.Gzip {
		var err error
		if p, err = gunzip(src, tmp); err != nil {
			return nil, fmt.Errorf("source %s: %w", shown, err)
		}
	}
	base, err := tarball.ImageFromPath(p, nil)
	if err != nil {
		msg := err.Error()
		if strings.Contains(msg, "only a single image") {
			msg = "it holds several images; save one image per tarball (docker save IMAGE)"
		}
		return nil, fmt.Errorf("source %s: read docker save tarball: %s", shown, msg)
	}
	img := annotateImage(base, c.Annotations)
	// The digest needs every layer compressed and hashed: a broken archive
	// fails here, before anything is pushed.
	if _, err := img.Digest(); err != nil {
		return nil, fmt.Errorf("source %s: read docker save tarball: %v", shown, err)
	}
	return &artifact{Image: img, Description: "docker save tarball " + shown + describeImage(img)}, nil
}

func openLayout(c *config, tmp string, t *tarInfo) (*artifact, error) {
	src, shown := c.Sources[0], c.SourceNames[0]
	dir := src
	if t != nil {
		if !t.IsTar || !t.Names["oci-layout"] || !t.Names["index.json"] {
			return nil, action.Inputf("source", "%s is not an OCI image layout (a directory or tarball with oci-layout and index.json)", shown)
		}
		dir = filepath.Join(tmp, "layout")
		if err := extractTar(src, t.Gzip, dir); err != nil {
			return nil, fmt.Errorf("source %s: extract OCI layout: %w", shown, err)
		}
	} else if !isFile(filepath.Join(dir, "oci-layout")) || !isFile(filepath.Join(dir, "index.json")) {
		return nil, action.Inputf("source", "%s is not an OCI image layout (it needs the files oci-layout and index.json)", shown)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("source %s: read OCI layout: %w", shown, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("source %s: read OCI layout index.json: %w", shown, err)
	}
	what := "OCI layout " + shown
	switch {
	case len(im.Manifests) == 0:
		return nil, fmt.Errorf("source %s: the OCI layout's index.json lists no manifests", shown)
	case len(im.Manifests) > 1:
		a := annotateIndex(idx, c.Annotations)
		if _, err := a.Digest(); err != nil {
			return nil, fmt.Errorf("source %s: read OCI layout: %w", shown, err)
		}
		return &artifact{Index: a, Description: fmt.Sprintf("%s (index.json with %d manifests, pushed as an index)", what, len(im.Manifests))}, nil
	}
	d := im.Manifests[0]
	switch {
	case d.MediaType.IsImage():
		base, err := idx.Image(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("source %s: read OCI layout image %s: %w", shown, d.Digest, err)
		}
		img := annotateImage(base, c.Annotations)
		if _, err := img.Digest(); err != nil {
			return nil, fmt.Errorf("source %s: read OCI layout image %s: %w", shown, d.Digest, err)
		}
		return &artifact{Image: img, Description: what + describeImage(img)}, nil
	case d.MediaType.IsIndex():
		base, err := idx.ImageIndex(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("source %s: read OCI layout index %s: %w", shown, d.Digest, err)
		}
		a := annotateIndex(base, c.Annotations)
		n := 0
		if m, err := base.IndexManifest(); err == nil {
			n = len(m.Manifests)
		}
		if _, err := a.Digest(); err != nil {
			return nil, fmt.Errorf("source %s: read OCI layout index %s: %w", shown, d.Digest, err)
		}
		return &artifact{Index: a, Description: fmt.Sprintf("%s (an index of %d manifests)", what, n)}, nil
	}
	return nil, fmt.Errorf("source %s: index.json points at a %s, neither an image nor an index", shown, d.MediaType)
}

func describeImage(img v1.Image) string {
	m, err := img.Manifest()
	if err != nil {
		return ""
	}
	s := fmt.Sprintf(" (an image of %d layer%s", len(m.Layers), plural(len(m.Layers)))
	if cf, err := img.ConfigFile(); err == nil && cf.OS != "" {
		s += ", " + cf.OS + "/" + cf.Architecture
		if cf.Variant != "" {
			s += "/" + cf.Variant
		}
	}
	return s + ")"
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// gunzip decompresses a .tar.gz into tmp once: the tarball reader opens its
// file once per layer, which through gzip would decompress it again each time.
func gunzip(src, tmp string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	zr, err := gzip.NewReader(bufio.NewReader(in))
	if err != nil {
		return "", fmt.Errorf("decompress: %w", err)
	}
	out, err := os.CreateTemp(tmp, "source-*.tar")
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, zr); err != nil {
		out.Close()
		return "", fmt.Errorf("decompress: %w", err)
	}
	return out.Name(), out.Close()
}

// extractTar unpacks an OCI layout tarball into dir. Only directories and
// regular files with local names are accepted: the archive is untrusted.
func extractTar(src string, gz bool, dir string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	if gz {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return err
		}
		defer zr.Close()
		r = zr
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		n := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if n == "." {
			continue
		}
		if !filepath.IsLocal(n) {
			return fmt.Errorf("entry %q leaves the archive", h.Name)
		}
		target := filepath.Join(dir, filepath.FromSlash(n))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			out, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, tr); err != nil {
				out.Close()
				return err
			}
			if err := out.Close(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("entry %q is not a file or directory", h.Name)
		}
	}
}

// annotateImage returns base with the annotations merged into its manifest,
// Docker media types turned into their OCI equivalents (annotations are an
// OCI feature), and the config and layers untouched: mutate.Annotations
// would re-marshal the config, changing the image ID and dropping fields it
// does not know.
func annotateImage(base v1.Image, anns map[string]string) v1.Image {
	img, _ := partial.CompressedToImage(&annotatedImage{base: base, anns: anns})
	return img
}

// annotateIndex merges the annotations into an index; its manifests are
// pushed untouched. An index.json without a mediaType gets OCI's.
func annotateIndex(base v1.ImageIndex, anns map[string]string) v1.ImageIndex {
	if m, err := base.IndexManifest(); err == nil && m.MediaType == "" {
		base = mutate.IndexMediaType(base, types.OCIImageIndex)
	}
	return mutate.Annotations(base, anns).(v1.ImageIndex)
}

type annotatedImage struct {
	base v1.Image
	anns map[string]string

	once     sync.Once
	manifest []byte
	types    map[v1.Hash]types.MediaType
	err      error
}

var ociLayerType = map[types.MediaType]types.MediaType{
	types.DockerLayer:             types.OCILayer,
	types.DockerUncompressedLayer: types.OCIUncompressedLayer,
	types.DockerForeignLayer:      types.OCIRestrictedLayer,
}

func (a *annotatedImage) compute() {
	a.once.Do(func() {
		m, err := a.base.Manifest()
		if err != nil {
			a.err = err
			return
		}
		m = m.DeepCopy()
		if m.MediaType == types.DockerManifestSchema2 || m.MediaType == "" {
			m.MediaType = types.OCIManifestSchema1
		}
		if m.Config.MediaType == types.DockerConfigJSON {
			m.Config.MediaType = types.OCIConfigJSON
		}
		a.types = map[v1.Hash]types.MediaType{}
		for i, l := range m.Layers {
			if t, ok := ociLayerType[l.MediaType]; ok {
				m.Layers[i].MediaType = t
			}
			a.types[l.Digest] = m.Layers[i].MediaType
		}
		if m.Annotations == nil {
			m.Annotations = map[string]string{}
		}
		keys := make([]string, 0, len(a.anns))
		for k := range a.anns {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			m.Annotations[k] = a.anns[k]
		}
		a.manifest, a.err = json.Marshal(m)
	})
}

func (a *annotatedImage) RawManifest() ([]byte, error) {
	a.compute()
	return a.manifest, a.err
}

func (a *annotatedImage) MediaType() (types.MediaType, error) {
	return types.OCIManifestSchema1, nil
}

func (a *annotatedImage) RawConfigFile() ([]byte, error) { return a.base.RawConfigFile() }

func (a *annotatedImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	a.compute()
	if a.err != nil {
		return nil, a.err
	}
	l, err := a.base.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	if t, ok := a.types[h]; ok {
		return &typedLayer{Layer: l, mediaType: t}, nil
	}
	return l, nil
}

// typedLayer is a layer under another media type (the OCI name of its
// Docker type); its bytes are the same.
type typedLayer struct {
	v1.Layer
	mediaType types.MediaType
}

func (l *typedLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }
