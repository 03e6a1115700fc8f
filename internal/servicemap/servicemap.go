// Package servicemap reads the infra repo's services file: which app
// repository each version key's commits come from, so that validate checks
// every service against its own (possibly private) repository.
//
//	{
//	  "default": "{owner}/{name}",
//	  "keys": {"svc-a.tag": "acme/svc-a", "shop.web.tag": "acme/shop"}
//	}
//
// "keys" maps a version key (envfile path syntax) to owner/name. "default",
// optional, is a rule for the keys not listed: {owner} is the infra repo's
// owner, {name} the first segment of a two-segment key ("api.tag" → api).
// A key that neither names is an error, never a guess.
package servicemap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/cicd-excellence/actions/internal/envfile"
	"github.com/cicd-excellence/actions/internal/refname"
)

// DefaultFile is where validate looks for the map, relative to the infra
// repository's root.
const DefaultFile = "services.json"

// MaxSize caps the file: a map of a few hundred services is kilobytes.
const MaxSize = 1 << 20

// Map is a parsed services file.
type Map struct {
	def  string
	keys map[string]string // key -> owner/name
}

// Single is the map every key of which comes from owner/repo: what the
// app-repo input means when there is no services file.
func Single(owner, repo string) *Map {
	return &Map{def: owner + "/" + repo, keys: map[string]string{}}
}

// Keys returns the explicitly mapped keys, sorted.
func (m *Map) Keys() []string {
	out := make([]string, 0, len(m.keys))
	for k := range m.keys {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// RepoFor returns the app repository of a version key. infraOwner fills the
// default rule's {owner}.
func (m *Map) RepoFor(key, infraOwner string) (owner, repo string, err error) {
	if r, ok := m.keys[key]; ok {
		return refname.Repo(r)
	}
	if m.def == "" {
		return "", "", fmt.Errorf("no app repository for %s: add it to \"keys\" in the services file", strconv.Quote(key))
	}
	name := ""
	if strings.Contains(m.def, "{name}") {
		p, err := envfile.ParsePath(key)
		if err != nil {
			return "", "", fmt.Errorf("no app repository for %s: %v", strconv.Quote(key), err)
		}
		segs := p.Segments()
		if len(segs) != 2 {
			return "", "", fmt.Errorf("no app repository for %s: the default rule maps only <name>.<field> keys; add it to \"keys\" in the services file", strconv.Quote(key))
		}
		name = segs[0]
	}
	if strings.Contains(m.def, "{owner}") && infraOwner == "" {
		return "", "", fmt.Errorf("no app repository for %s: the default rule needs the infra repository's owner (GITHUB_REPOSITORY is not set)", strconv.Quote(key))
	}
	r := strings.NewReplacer("{owner}", infraOwner, "{name}", name).Replace(m.def)
	if owner, repo, err = refname.Repo(r); err != nil {
		return "", "", fmt.Errorf("no app repository for %s: the default rule gives %v", strconv.Quote(key), err)
	}
	return owner, repo, nil
}

// Parse reads and validates a services file. Errors name the line and the
// field or key: unknown fields, duplicates, bad repository names and bad
// keys are refused rather than ignored, since a typo would silently check a
// service against the wrong repository.
func Parse(data []byte) (*Map, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("is %d bytes; the limit is %d", len(data), MaxSize)
	}
	p := &parser{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	m := &Map{keys: map[string]string{}}
	if err := p.delim('{', "the file must be a JSON object"); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for p.dec.More() {
		field, line, err := p.key()
		if err != nil {
			return nil, err
		}
		if seen[field] {
			return nil, fmt.Errorf("line %d: field %s appears twice", line, strconv.Quote(field))
		}
		seen[field] = true
		switch field {
		case "default":
			if m.def, line, err = p.str(); err != nil {
				return nil, fmt.Errorf("line %d: default: %w", line, err)
			}
			if err := checkDefault(m.def); err != nil {
				return nil, fmt.Errorf("line %d: default: %w", line, err)
			}
		case "keys":
			if err := p.keys(m); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("line %d: unknown field %s (want \"default\" and \"keys\")", line, strconv.Quote(field))
		}
	}
	if err := p.delim('}', "unterminated object"); err != nil {
		return nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("line %d: unexpected data after the object", p.line())
	}
	return m, nil
}

// checkDefault accepts owner/name with {owner} and {name} placeholders.
func checkDefault(d string) error {
	r := strings.NewReplacer("{owner}", "o", "{name}", "n").Replace(d)
	if strings.ContainsAny(r, "{}") {
		return fmt.Errorf("%s: the only placeholders are {owner} and {name}", strconv.Quote(d))
	}
	if _, _, err := refname.Repo(r); err != nil {
		return fmt.Errorf("%s is not an owner/name rule", strconv.Quote(d))
	}
	return nil
}

type parser struct {
	data []byte
	dec  *json.Decoder
}

// line is the 1-based line of the decoder's position.
func (p *parser) line() int {
	off := min(int(p.dec.InputOffset()), len(p.data))
	return 1 + bytes.Count(p.data[:off], []byte("\n"))
}

func (p *parser) token() (json.Token, int, error) {
	tok, err := p.dec.Token()
	line := p.line()
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			off := min(int(se.Offset), len(p.data))
			line = 1 + bytes.Count(p.data[:off], []byte("\n"))
			return nil, line, fmt.Errorf("line %d: %v", line, se)
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, line, fmt.Errorf("line %d: %v", line, err)
	}
	return tok, line, nil
}

func (p *parser) delim(d json.Delim, msg string) error {
	tok, line, err := p.token()
	if err != nil {
		return err
	}
	if tok != d {
		return fmt.Errorf("line %d: %s", line, msg)
	}
	return nil
}

func (p *parser) key() (string, int, error) {
	tok, line, err := p.token()
	if err != nil {
		return "", line, err
	}
	s, _ := tok.(string)
	return s, line, nil
}

func (p *parser) str() (string, int, error) {
	tok, line, err := p.token()
	if err != nil {
		return "", line, err
	}
	s, ok := tok.(string)
	if !ok {
		return "", line, fmt.Errorf("want a string, got %v", tok)
	}
	return s, line, nil
}

func (p *parser) keys(m *Map) error {
	if err := p.delim('{', "keys must be an object of \"<key>\": \"owner/name\""); err != nil {
		return err
	}
	for p.dec.More() {
		key, line, err := p.key()
		if err != nil {
			return err
		}
		if _, dup := m.keys[key]; dup {
			return fmt.Errorf("line %d: keys: %s appears twice", line, strconv.Quote(key))
		}
		if _, err := envfile.ParsePath(key); err != nil {
			return fmt.Errorf("line %d: keys: %s is not a version key: %v", line, strconv.Quote(key), err)
		}
		repo, line, err := p.str()
		if err != nil {
			return fmt.Errorf("line %d: keys: %s: %w", line, strconv.Quote(key), err)
		}
		if _, _, err := refname.Repo(repo); err != nil {
			return fmt.Errorf("line %d: keys: %s: %v", line, strconv.Quote(key), err)
		}
		m.keys[key] = repo
	}
	return p.delim('}', "unterminated keys object")
}
