package publish

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Media types and annotations of a files artifact, as ORAS writes them.
const (
	EmptyConfigMediaType = "application/vnd.oci.empty.v1+json"
	AnnotationTitle      = "org.opencontainers.image.title"
	// ORAS unpacks a layer carrying these into a directory named by its title.
	annotationUnpack       = "io.deis.oras.content.unpack"
	annotationUnpackDigest = "io.deis.oras.content.digest"
)

// epoch is the modification time of every entry of a files layer.
var epoch = time.Unix(0, 0).UTC()

// buildFiles packs each path into one tar+gzip layer titled with its base
// name and returns an OCI artifact manifest over them, with the empty config.
//
// The layers are reproducible: entries in lexical order, every mtime at the
// Unix epoch, uid and gid 0 without names, modes reduced to 0644/0755 (0755
// when any execute bit is set), gzip without a name or timestamp. The same
// files give the same digest on any machine and any day.
func buildFiles(paths []string, artifactType string, anns map[string]string, tmp string) (v1.Image, error) {
	a := &filesArtifact{layers: map[v1.Hash]*fileLayer{}}
	seen := map[string]string{}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  artifactType,
		Config: v1.Descriptor{
			MediaType: EmptyConfigMediaType,
			Size:      int64(len(emptyJSON)),
			Digest:    sha256Hash(emptyJSON),
			Data:      emptyJSON,
		},
		Layers:      []v1.Descriptor{},
		Annotations: anns,
	}
	for i, p := range paths {
		title := filepath.Base(p)
		if other, ok := seen[title]; ok {
			return nil, fmt.Errorf("%s and %s have the same name %s: layers are titled by name, rename one", other, p, title)
		}
		seen[title] = p
		l, err := packLayer(p, title, filepath.Join(tmp, fmt.Sprintf("layer-%d.tar.gz", i)))
		if err != nil {
			return nil, err
		}
		d := v1.Descriptor{
			MediaType:   types.OCILayer,
			Size:        l.size,
			Digest:      l.digest,
			Annotations: map[string]string{AnnotationTitle: title},
		}
		if l.dir {
			d.Annotations[annotationUnpack] = "true"
			d.Annotations[annotationUnpackDigest] = l.diffID.String()
		}
		m.Layers = append(m.Layers, d)
		a.layers[l.digest] = l
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	a.manifest = raw
	return partial.CompressedToImage(a)
}

var emptyJSON = []byte("{}")

func sha256Hash(b []byte) v1.Hash {
	sum := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}

type filesArtifact struct {
	manifest []byte
	layers   map[v1.Hash]*fileLayer
}

func (a *filesArtifact) RawManifest() ([]byte, error)        { return a.manifest, nil }
func (a *filesArtifact) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (a *filesArtifact) RawConfigFile() ([]byte, error)      { return emptyJSON, nil }

func (a *filesArtifact) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if l, ok := a.layers[h]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("blob %s is not in this artifact", h)
}

// fileLayer is a tar+gzip layer written to a temporary file.
type fileLayer struct {
	path   string
	digest v1.Hash
	diffID v1.Hash
	size   int64
	dir    bool
}

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }

type countingHash struct {
	hash.Hash
	n int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.Hash.Write(p)
}

// packLayer writes src (a file or a directory) as a reproducible tar+gzip
// whose entries start with title.
func packLayer(src, title, dst string) (*fileLayer, error) {
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	compressed := &countingHash{Hash: sha256.New()}
	bw := bufio.NewWriterSize(io.MultiWriter(out, compressed), 1<<16)
	zw, err := gzip.NewWriterLevel(bw, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	// The zero gzip header: no name, no mtime, no comment.
	uncompressed := sha256.New()
	tw := tar.NewWriter(io.MultiWriter(zw, uncompressed))

	fi, err := os.Stat(src)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(src, p)
			if err != nil {
				return err
			}
			name := title
			if rel != "." {
				name += "/" + filepath.ToSlash(rel)
			}
			info, err := os.Lstat(p)
			if err != nil {
				return err
			}
			return addEntry(tw, p, name, info)
		})
	} else {
		err = addEntry(tw, src, title, fi)
	}
	if err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	if err := out.Close(); err != nil {
		return nil, err
	}
	return &fileLayer{
		path:   dst,
		digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(compressed.Sum(nil))},
		diffID: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(uncompressed.Sum(nil))},
		size:   compressed.n,
		dir:    fi.IsDir(),
	}, nil
}

func addEntry(tw *tar.Writer, p, name string, fi fs.FileInfo) error {
	h := &tar.Header{Name: name, ModTime: epoch}
	switch mode := fi.Mode(); {
	case mode.IsDir():
		h.Typeflag, h.Name, h.Mode = tar.TypeDir, name+"/", 0o755
	case mode.IsRegular():
		h.Typeflag, h.Size, h.Mode = tar.TypeReg, fi.Size(), 0o644
		if mode&0o111 != 0 {
			h.Mode = 0o755
		}
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, filepath.ToSlash(target), 0o777
	default:
		return fmt.Errorf("%s is a %s, not a file, directory or symlink", p, strings.TrimSpace(mode.Type().String()))
	}
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if h.Typeflag != tar.TypeReg {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(tw, f)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if n != h.Size {
		return fmt.Errorf("%s changed while it was packed", p)
	}
	return nil
}
