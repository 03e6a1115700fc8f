// Package publish pushes a build artifact to an OCI registry under the commit
// SHA: an OCI image layout, a docker save tarball or plain files (as an OCI
// artifact), with the commit, source, time and version as manifest
// annotations, and tags that are never moved.
package publish

import (
	"context"
	_ "embed"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/event"
)

//go:embed action.yml
var manifest []byte

// Step is `actions publish`.
var Step = NewStep(Options{})

// Options change how the step reaches registries. The zero value is what the
// action runs with; tests shorten the backoff and supply credentials (and
// set the HTTP transport, like every step's, through action.Options).
type Options struct {
	// Backoff bounds the retries of every registry request and blob upload.
	// Zero: DefaultBackoff.
	Backoff remote.Backoff
	// Keychain gives credentials when username and password are not used.
	// Nil: authn.DefaultKeychain (docker login's config.json, then anonymous).
	Keychain authn.Keychain
}

// NewStep returns the publish step with o.
func NewStep(o Options) action.Step {
	return action.Step{Name: "publish", Manifest: manifest, Run: func(ctx context.Context, r *action.Runtime) error {
		return run(ctx, r, o)
	}}
}

// Tag states in the log and the summary.
const (
	statePushed  = "pushed"
	stateExisted = "already there (same digest)"
	stateWould   = "would be pushed"
)

func run(ctx context.Context, r *action.Runtime, o Options) error {
	// First of all, so that nothing below can print it.
	r.Mask(r.Input("password"))

	ev, err := event.Load(r.Getenv)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	c, notes, err := parseConfig(ctx, r, ev)
	if err != nil {
		return err
	}
	for _, w := range notes.Warnings {
		r.Warningf("%s", w)
	}
	for _, i := range notes.Infos {
		r.Infof("%s", i)
	}

	tmp, err := os.MkdirTemp(tempRoot(r), "publish-")
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	defer os.RemoveAll(tmp)

	a, err := openSource(c, tmp)
	if err != nil {
		return err
	}
	digest, err := a.digest()
	if err != nil {
		return fmt.Errorf("source %s: %w", strings.Join(c.SourceNames, ", "), err)
	}
	ref := c.Image + "@" + digest.String()
	r.Infof("source: %s", a.Description)
	r.Infof("digest: %s", digest)
	for _, k := range slices.Sorted(maps.Keys(c.Annotations)) {
		r.Infof("annotation %s=%s", k, c.Annotations[k])
	}

	states := make([]string, len(c.Tags))
	if !c.Publish {
		if err := verify(a.taggable()); err != nil {
			return fmt.Errorf("source %s: %w", strings.Join(c.SourceNames, ", "), err)
		}
		r.Infof("publish is false: nothing was pushed and no registry was contacted. A publishing run would push %s as:", ref)
		for i, t := range c.Tags {
			states[i] = stateWould
			r.Infof("  %s", c.tagRef(t))
		}
		return finish(r, c, a, digest, ref, states, "Dry run (publish is false): checked, nothing pushed")
	}

	g, err := newRegistry(ctx, r, c, ev.ServerURL, o)
	if err != nil {
		return err
	}
	r.Infof("registry %s, credentials: %s", c.Repo.RegistryStr(), g.describeCreds())
	first := c.tagRef(c.Tags[0])
	client, err := g.client(ctx)
	if err != nil {
		return g.explain("push "+first, err)
	}

	// Every tag is checked before anything is pushed: one conflict and
	// nothing is, so a run never leaves half of its tags behind.
	var conflicts, todo []string
	for i, t := range c.Tags {
		tagRef := c.tagRef(t)
		got, err := g.tagDigest(ctx, client, t)
		if err != nil {
			return g.explain("push "+tagRef, err)
		}
		switch got {
		case "":
			todo = append(todo, t)
		case digest.String():
			states[i] = stateExisted
			r.Infof("tag %s already points at %s: nothing to push for it (a rerun of the same build)", tagRef, digest)
		default:
			conflicts = append(conflicts, fmt.Sprintf("tag %s already exists with digest %s, not %s", tagRef, got, digest))
		}
	}
	if len(conflicts) > 0 {
		return fmt.Errorf("%s: tags are immutable, nothing was pushed (a different build of the same commit? make the build reproducible, or publish under another tag)", strings.Join(conflicts, "; "))
	}

	status := "Pushed"
	if len(todo) == 0 {
		status = "Already published: every tag already pointed at this digest (a rerun); nothing pushed"
		r.Infof("every tag already points at %s: nothing to push", digest)
	} else {
		p, err := g.pusher(ctx)
		if err != nil {
			return g.explain("push "+first, err)
		}
		for _, t := range todo {
			tagRef := c.tagRef(t)
			if err := p.Push(ctx, c.Repo.Tag(t), a.taggable()); err != nil {
				return g.explain("push "+tagRef, err)
			}
			r.Infof("pushed %s", tagRef)
		}
		// A registry without tag immutability lets a concurrent run move a
		// tag between the check and the push: look again.
		for _, t := range todo {
			tagRef := c.tagRef(t)
			got, err := g.tagDigest(ctx, client, t)
			if err != nil {
				return g.explain("check "+tagRef, err)
			}
			if got != digest.String() {
				return fmt.Errorf("tag %s points at %s right after this run pushed %s: another run pushed it at the same time (serialize publishing with a concurrency group)", tagRef, or(got, "nothing"), digest)
			}
		}
		for i := range states {
			if states[i] == "" {
				states[i] = statePushed
			}
		}
	}
	return finish(r, c, a, digest, ref, states, status)
}

// finish writes the outputs and the job summary.
func finish(r *action.Runtime, c *config, a *artifact, digest v1.Hash, ref string, states []string, status string) error {
	tagRefs := make([]string, len(c.Tags))
	for i, t := range c.Tags {
		tagRefs[i] = c.tagRef(t)
	}
	if err := r.SetOutputs("digest", digest.String(), "ref", ref, "tags", strings.Join(tagRefs, "\n")); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### publish %s\n\n%s.\n\n", action.MDCode(ref), action.MDEscape(status))
	fmt.Fprintf(&b, "Source: %s\n\n", action.MDEscape(a.Description))
	b.WriteString("| Tag | |\n|---|---|\n")
	for i, t := range tagRefs {
		fmt.Fprintf(&b, "| %s | %s |\n", action.MDCode(t), states[i])
	}
	b.WriteString("\n| Annotation | Value |\n|---|---|\n")
	for _, k := range slices.Sorted(maps.Keys(c.Annotations)) {
		fmt.Fprintf(&b, "| %s | %s |\n", action.MDCode(k), action.MDCode(c.Annotations[k]))
	}
	if c.RunURL != "" {
		run := action.MDCode(c.RunURL)
		if plainURL.MatchString(c.RunURL) {
			run = c.RunURL
		}
		fmt.Fprintf(&b, "\nBuilt and published by run %s.\n", run)
	}
	return r.Summary(b.String())
}

var plainURL = regexp.MustCompile(`^https?://[A-Za-z0-9./:-]+$`)

// verify reads every blob of the artifact and checks it against its
// descriptor, as a registry would on upload: the dry run's proof that the
// push would go through.
func verify(t remote.Taggable) error {
	switch a := t.(type) {
	case v1.ImageIndex:
		m, err := a.IndexManifest()
		if err != nil {
			return err
		}
		for _, d := range m.Manifests {
			switch {
			case d.MediaType.IsIndex():
				child, err := a.ImageIndex(d.Digest)
				if err != nil {
					return err
				}
				if err := verify(child); err != nil {
					return err
				}
			case d.MediaType.IsImage():
				child, err := a.Image(d.Digest)
				if err != nil {
					return err
				}
				if err := verify(child); err != nil {
					return err
				}
			}
		}
		return nil
	case v1.Image:
		m, err := a.Manifest()
		if err != nil {
			return err
		}
		cfg, err := a.RawConfigFile()
		if err != nil {
			return fmt.Errorf("config: %w", err)
		}
		if got := sha256Hash(cfg); got != m.Config.Digest || int64(len(cfg)) != m.Config.Size {
			return fmt.Errorf("config %s does not match its descriptor (%s, %d bytes)", m.Config.Digest, got, len(cfg))
		}
		for _, d := range m.Layers {
			if !d.MediaType.IsDistributable() {
				continue // not pushed by registries' rules
			}
			l, err := a.LayerByDigest(d.Digest)
			if err != nil {
				return fmt.Errorf("layer %s: %w", d.Digest, err)
			}
			if err := checkBlob(l, d); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("cannot verify a %T", t)
}

func checkBlob(l v1.Layer, d v1.Descriptor) error {
	rc, err := l.Compressed()
	if err != nil {
		return fmt.Errorf("layer %s: %w", d.Digest, err)
	}
	defer rc.Close()
	h, n, err := v1.SHA256(rc)
	if err != nil {
		return fmt.Errorf("layer %s: %w", d.Digest, err)
	}
	if h != d.Digest || n != d.Size {
		return fmt.Errorf("layer %s is corrupt: its content is %s, %d bytes (descriptor: %d bytes)", d.Digest, h, n, d.Size)
	}
	return nil
}

func tempRoot(r *action.Runtime) string {
	if d := r.Getenv("RUNNER_TEMP"); d != "" {
		return d
	}
	return os.TempDir()
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
