package envfile

import (
	"fmt"
	"regexp"
	"strconv"
)

// Key kinds. A tracked key is one of two kinds:
//
//   - a version key ("api.tag"): a commit SHA of an app, ordered and checked
//     for reachability against the app's history;
//   - a digest key ("api.digest", the key named DigestKey beside a TagKey):
//     the image digest the tag was published as, "sha256:<64 hex>". A tag
//     can be moved in a registry; a digest cannot. It is never ordered on
//     its own: it moves with its tag, whose decisions it follows.
const (
	TagKey    = "tag"
	DigestKey = "digest"
)

// Kind is what a tracked key holds.
type Kind int

// The kinds of tracked keys.
const (
	KindVersion Kind = iota // a version: a commit SHA
	KindDigest              // an image digest: sha256:<64 hex>
)

func (k Kind) String() string {
	if k == KindDigest {
		return "digest"
	}
	return "version"
}

// KindOf tells the kind of a tracked key path, in ParsePath syntax: a key
// named DigestKey is a digest, any other tracked key a version.
func KindOf(key string) Kind {
	p, err := ParsePath(key)
	if err == nil && p.IsDigest() {
		return KindDigest
	}
	return KindVersion
}

// IsDigest reports whether p names a digest key (its last key is DigestKey).
func (p Path) IsDigest() bool {
	return len(p.segs) > 0 && p.segs[len(p.segs)-1] == DigestKey
}

// IsTag reports whether p names a version key of the tag kind (its last
// key is TagKey): the key a digest beside it rides with.
func (p Path) IsTag() bool {
	return len(p.segs) > 0 && p.segs[len(p.segs)-1] == TagKey
}

// Parent is the object holding p's value (api for api.tag); ok is false
// for a top-level key, whose parent is the file itself.
func (p Path) Parent() (Path, bool) {
	if len(p.segs) < 2 {
		return Path{}, false
	}
	return Path{segs: p.segs[: len(p.segs)-1 : len(p.segs)-1]}, true
}

// Sibling is the key beside p (in the same object) named name: the tag of
// a digest, the digest of a tag.
func (p Path) Sibling(name string) Path {
	if len(p.segs) == 0 {
		return Path{}
	}
	segs := append(append([]string{}, p.segs[:len(p.segs)-1]...), name)
	return Path{segs: segs}
}

// TagOf is the version key a digest key belongs to: "api.tag" for
// "api.digest"; ok is false when key is not a digest key.
func TagOf(key string) (tag string, ok bool) {
	p, err := ParsePath(key)
	if err != nil || !p.IsDigest() {
		return "", false
	}
	return p.Sibling(TagKey).String(), true
}

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// ValidDigest checks the form of a digest value: "sha256:" and 64
// lower-case hex digits, as publish's digest output and registries write it.
func ValidDigest(v string) error {
	if !digestRE.MatchString(v) {
		return fmt.Errorf("%s is not an image digest (sha256: and 64 lower-case hex digits)", strconv.Quote(truncate(v, 80)))
	}
	return nil
}

// ShortDigest is a digest as a person reads it: "sha256:0123456789ab"
// (12 hex digits); anything else is returned as it is.
func ShortDigest(v string) string {
	if digestRE.MatchString(v) {
		return v[:len("sha256:")+12]
	}
	return v
}

// VersionKeys are the keys of values that are versions, not digests, in
// no particular order: the keys a caller picks "the" version from (a file
// with api.tag and api.digest holds one version).
func VersionKeys(values map[string]string) []string {
	var out []string
	for k := range values {
		if KindOf(k) == KindVersion {
			out = append(out, k)
		}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// digestOfTracked reports whether segs is the digest key beside a key the
// patterns track as a version: a tracked tag's digest is tracked with it, so
// a custom tracked pattern ("services.*.image.tag") carries its digests too.
func digestOfTracked(pats []Pattern, segs []string) bool {
	if len(segs) == 0 || segs[len(segs)-1] != DigestKey {
		return false
	}
	tag := append(append([]string{}, segs[:len(segs)-1]...), TagKey)
	return matchAny(pats, tag)
}
