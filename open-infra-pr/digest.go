package openinfrapr

import (
	"fmt"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/envfile"
)

// A digest edit ("api.digest=sha256:…") rides with its sibling tag edit
// ("api.tag=<sha>"): the tag is what is ordered, checked for reachability
// and superseded; the digest follows every one of those decisions, so a
// commit of the infra repo never holds one run's tag with another's digest.

// checkDigests refuses digest edits that cannot be right whatever the file
// holds: a malformed digest, or a digest without its tag in the same edits.
func checkDigests(input string, edits []envfile.Edit) error {
	keys := map[string]bool{}
	for _, e := range edits {
		keys[e.Path.String()] = true
	}
	for _, e := range edits {
		if !e.Path.IsDigest() {
			continue
		}
		if err := envfile.ValidDigest(e.Value); err != nil {
			return action.Inputf(input, "%s: %v", e.Path.String(), err)
		}
		if tag := e.Path.Sibling(envfile.TagKey).String(); !keys[tag] {
			return action.Inputf(input, "%s is set without %s: a digest moves only with its tag (set both, %s=<sha> and %s=<publish's digest>)", e.Path.String(), tag, tag, e.Path.String())
		}
	}
	return nil
}

// unpairedTags refuses to move a tag while the file keeps a digest beside it
// that no edit replaces: the digest would name the old image under the new
// tag, and a deploy by digest would run what nobody asked for.
func unpairedTags(input, file string, content []byte, edits []envfile.Edit, changes []envfile.Change) error {
	edited := map[string]bool{}
	for _, e := range edits {
		edited[e.Path.String()] = true
	}
	for _, ch := range changes {
		p, err := envfile.ParsePath(ch.Path)
		if err != nil || !p.IsTag() {
			continue
		}
		dp := p.Sibling(envfile.DigestKey)
		if edited[dp.String()] {
			continue
		}
		if _, ok, _ := envfile.Get(content, dp); ok {
			return action.Inputf(input, "%s moves but %s in %s keeps the digest of %s: set %s=<publish's digest> with it", ch.Path, dp.String(), file, short(ch.Old), dp.String())
		}
	}
	return nil
}

// pairDigests makes every digest edit follow its tag's verdict: dropped with
// a skipped tag, and dropped (with why) when it would change under a tag
// that does not move: that is what a moved registry tag looks like, and
// validate's bot guard refuses it too.
func pairDigests(edits []envfile.Edit, keep []bool, why []string, changed map[string]envfile.Change) {
	idx := map[string]int{}
	for i, e := range edits {
		idx[e.Path.String()] = i
	}
	for i, e := range edits {
		if !e.Path.IsDigest() {
			continue
		}
		tag := e.Path.Sibling(envfile.TagKey).String()
		j, ok := idx[tag]
		_, digestMoves := changed[e.Path.String()]
		_, tagMoves := changed[tag]
		switch {
		case !ok:
			keep[i], why[i] = false, fmt.Sprintf("%s: no %s edit to ride with", e.Path.String(), tag)
		case !keep[j]:
			keep[i], why[i] = false, ""
		case !tagMoves && digestMoves:
			keep[i], why[i] = false, fmt.Sprintf("%s: %s already holds %s with another digest; a digest changes only with its tag (was the registry tag moved, or the build not reproducible?)", e.Path.String(), tag, short(edits[j].Value))
		}
	}
}
