package openinfrapr

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/envfile"
	"github.com/cicd-excellence/actions/internal/ghclient"
)

// snapshot is the base branch as read at one moment.
type snapshot struct {
	sha      string            // the base's commit
	content  []byte            // the environment file
	blob     string            // its blob SHA: the compare-and-swap token of a contents write
	source   *envfile.Document // the promote-from file, parsed once
	services []byte            // the services map, nil when there is none
}

// repoErr is a failed read of the infra repository itself: a 404 means the
// infra-repo input names one that does not exist or the token cannot see.
func (u *Updater) repoErr(err error) error {
	if statusOf(err) == http.StatusNotFound {
		return action.Inputf("infra-repo", "%v", u.apiErr("read repository", err))
	}
	return u.apiErr("read repository", err)
}

// read returns the base branch's commit and the environment file. The two
// reads go out together; should the branch move between them, the file is
// newer than the commit, and the compare-and-swap of the write (on the blob
// SHA) refuses the pair and makes the writer read again.
func (u *Updater) read(ctx context.Context, base string) (*snapshot, error) {
	c := u.Cfg
	s := &snapshot{}
	// Separate errors, not an errgroup: a missing branch must be reported as
	// the base's fault even when the file read fails first.
	var refErr, fileErr, srcErr, svcErr error
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		ref, _, err := u.GH.Git.GetRef(ctx, c.Owner, c.Repo, "heads/"+base)
		if err != nil {
			refErr = err
			return
		}
		s.sha = ref.GetObject().GetSHA()
	}()
	go func() {
		defer wg.Done()
		s.content, s.blob, fileErr = u.file(ctx, c.File, base, true)
		if fileErr == nil && c.PromoteFrom != "" {
			var src []byte
			if src, _, srcErr = u.file(ctx, c.PromoteFile, base, true); srcErr == nil {
				s.source, srcErr = envfile.Parse(src)
			}
		}
	}()
	go func() {
		defer wg.Done()
		if c.ServicesFile != "" {
			s.services, _, svcErr = u.file(ctx, c.ServicesFile, base, false)
			if statusOf(svcErr) == http.StatusNotFound {
				s.services, svcErr = nil, nil // no map: one app repo for every key
			}
		}
	}()
	wg.Wait()
	if refErr != nil {
		if statusOf(refErr) == http.StatusNotFound {
			if _, _, rerr := u.GH.Repositories.Get(ctx, c.Owner, c.Repo); rerr != nil {
				return nil, u.repoErr(rerr)
			}
			return nil, action.Inputf("base", "branch %s does not exist in %s", base, u.repo())
		}
		return nil, u.apiErr("read branch "+base, refErr)
	}
	if fileErr != nil {
		return nil, fileErr
	}
	if srcErr != nil {
		return nil, srcErr
	}
	if svcErr != nil {
		return nil, svcErr
	}
	return s, nil
}

// file reads path at ref. A missing file is the file input's fault when it
// is read from the base (asInput), and plain "not found" on a PR branch.
func (u *Updater) file(ctx context.Context, path, ref string, asInput bool) ([]byte, string, error) {
	c := u.Cfg
	fc, _, _, err := u.GH.Repositories.GetContents(ctx, c.Owner, c.Repo, path, &gh.RepositoryContentGetOptions{Ref: ref})
	if err != nil {
		if statusOf(err) == http.StatusNotFound && asInput {
			// The branch may be missing too; read() reports that one.
			return nil, "", action.Inputf("file", "%s does not exist in %s on %s", path, u.repo(), ref)
		}
		return nil, "", u.apiErr("read "+path+" at "+ref, err)
	}
	if fc == nil || fc.GetType() != "file" {
		return nil, "", action.Inputf("file", "%s is not a file in %s", path, u.repo())
	}
	if fc.GetSize() > envfile.DefaultMaxSize {
		return nil, "", action.Inputf("file", "%s is %d bytes; the limit is %d", path, fc.GetSize(), envfile.DefaultMaxSize)
	}
	text, err := fc.GetContent()
	if err != nil {
		return nil, "", fmt.Errorf("read %s: content is not base64: %w", path, err)
	}
	if err := envfile.Validate([]byte(text), envfile.DefaultMaxSize); err != nil {
		return nil, "", action.Inputf("file", "%s in %s: %v", path, u.repo(), err)
	}
	return []byte(text), fc.GetSHA(), nil
}

// edits are the configured edits, or for a promotion the source
// environment's values of the selected keys.
func (u *Updater) edits(s *snapshot) ([]envfile.Edit, error) {
	c := u.Cfg
	if c.PromoteFrom == "" {
		// ParseSet checked the action's own input; a caller building
		// Config itself (rollback) gets the same rule.
		return c.Edits, checkDigests("set", c.Edits)
	}
	keys := c.PromoteKeys
	if len(keys) == 0 {
		vals, err := s.source.Values(nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.PromoteFile, err)
		}
		names := make([]string, 0, len(vals))
		for k := range vals {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			p, err := envfile.ParsePath(k)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.PromoteFile, err)
			}
			keys = append(keys, p)
		}
		if len(keys) == 0 {
			return nil, fmt.Errorf("promote from %s: %s has no version keys (keys named tag, with their digests)", c.PromoteFrom, c.PromoteFile)
		}
	}
	input := "promote-from"
	if len(c.PromoteKeys) > 0 {
		input = "keys"
		// A service's digest is promoted with its tag: the digest names
		// the image the tag was published as, in every environment.
		listed := map[string]bool{}
		for _, k := range keys {
			listed[k.String()] = true
		}
		for _, k := range keys {
			if !k.IsTag() {
				continue
			}
			d := k.Sibling(envfile.DigestKey)
			if _, ok, _ := s.source.Get(d); ok && !listed[d.String()] {
				keys = append(keys, d)
				listed[d.String()] = true
			}
		}
	}
	var edits []envfile.Edit
	for _, k := range keys {
		v, ok, err := s.source.Get(k)
		if err != nil {
			return nil, fmt.Errorf("promote from %s: %s: %w", c.PromoteFrom, k.String(), err)
		}
		if !ok {
			return nil, action.Inputf("keys", "%s is not in %s", k.String(), c.PromoteFile)
		}
		edits = append(edits, envfile.Edit{Path: k, Value: v})
	}
	if err := checkDigests(input, edits); err != nil {
		return nil, err
	}
	return edits, nil
}

// dropHeld removes edits whose value sits in an object with a non-empty
// "hold" string: the documented way to pin a version during a rollback.
func (u *Updater) dropHeld(content []byte, edits []envfile.Edit) ([]envfile.Edit, []string) {
	doc, err := envfile.Parse(content)
	if err != nil {
		return edits, nil // plan's edit of the file reports it
	}
	var keep []envfile.Edit
	var held []string
	for _, e := range edits {
		if reason, ok := doc.Hold(e.Path); ok {
			held = append(held, fmt.Sprintf("%s (%s)", e.Path.String(), reason))
			u.Notice("%s in %s is held (%s): automation leaves it alone", e.Path.String(), u.Cfg.File, reason)
			continue
		}
		keep = append(keep, e)
	}
	return keep, held
}

func statusOf(err error) int { return ghclient.Status(err) }

func (u *Updater) apiErr(op string, err error) error { return ghclient.Wrap(op, u.repo(), err) }
