package openinfrapr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/ancestry"
	"github.com/cicd-excellence/actions/internal/envfile"
)

// orderCache remembers this run's answers about the app repos: a run asks
// the same question again each time it re-reads a moved base.
type orderCache struct {
	mu     sync.Mutex
	status map[string]string // "owner/repo:a...b" -> compare status
	onMain map[string]bool   // "owner/repo@sha" -> on the default branch
}

func (o *orderCache) setOnMain(repo, sha string, on bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.onMain == nil {
		o.onMain = map[string]bool{}
	}
	o.onMain[repo+"@"+sha] = on
}

func (o *orderCache) isOnMain(repo, sha string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.onMain[repo+"@"+sha]
}

func (u *Updater) compare(ctx context.Context, owner, repo, base, head string) (string, error) {
	key := owner + "/" + repo + ":" + base + "..." + head
	u.order.mu.Lock()
	st, ok := u.order.status[key]
	u.order.mu.Unlock()
	if ok {
		return st, nil
	}
	st, err := ancestry.Compare(ctx, u.GH, owner, repo, base, head)
	if err != nil {
		return "", err
	}
	u.order.mu.Lock()
	u.order.status[key] = st
	u.order.mu.Unlock()
	return st, nil
}

// reachableAll checks, together, that every new commit is on its app's
// default branch or a hotfix branch: a commit that only exists in a fork or
// an unmerged PR can still be fetched by SHA through the main repo, and must
// not be deployed.
func (u *Updater) reachableAll(ctx context.Context, edits []envfile.Edit) error {
	g, gctx := errgroup.WithContext(ctx)
	seen := map[string]bool{}
	for _, e := range edits {
		owner, repo, err := u.Cfg.App(e.Path.String())
		if err != nil {
			return err
		}
		if owner == "" || !isSHA(e.Value) || seen[owner+"/"+repo+"@"+e.Value] {
			continue
		}
		seen[owner+"/"+repo+"@"+e.Value] = true
		sha := e.Value
		g.Go(func() error { return u.reachable(gctx, owner, repo, sha) })
	}
	return g.Wait()
}

func (u *Updater) reachable(ctx context.Context, owner, repo, sha string) error {
	c := u.Cfg
	app := owner + "/" + repo
	def := c.defaultBranchOf(owner, repo)
	if def != "" && sha == c.PushedToDefault {
		u.order.setOnMain(app, sha, true)
		return nil
	}
	branch, ok, err := ancestry.ReachableFrom(ctx, u.GH, owner, repo, sha, def, c.HotfixPrefix)
	switch {
	case errors.Is(err, ancestry.ErrUnknownCommit):
		return action.Inputf(u.valuesInput(), "%s is not a commit of %s", sha, app)
	case err != nil:
		return err
	case !ok:
		return action.Inputf(u.valuesInput(), "%s is not on %s's default branch or a %s* branch; only merged commits may be deployed", short(sha), app, c.HotfixPrefix)
	}
	u.order.setOnMain(app, sha, def == "" && !strings.HasPrefix(branch, c.HotfixPrefix) || branch == def)
	return nil
}

// valuesInput is the input the values came from.
func (u *Updater) valuesInput() string {
	if u.Cfg.PromoteFrom != "" {
		return "promote-from"
	}
	return "set"
}

// checkOrder keeps versions monotonic: a commit may only replace one it
// descends from, unless allow-downgrade says a rollback means it. The one
// exception is a hotfix: a commit of the default branch may replace a hotfix
// commit it does not contain, with a notice saying so (the hotfix must be
// merged back to main to stay deployed).
func (u *Updater) checkOrder(ctx context.Context, edits []envfile.Edit, changes []envfile.Change) ([]envfile.Edit, []string, error) {
	c := u.Cfg
	changed := map[string]envfile.Change{}
	for _, ch := range changes {
		changed[ch.Path] = ch
	}
	keep := make([]bool, len(edits))
	why := make([]string, len(edits))
	g, gctx := errgroup.WithContext(ctx)
	for i, e := range edits {
		keep[i] = true
		ch, ok := changed[e.Path.String()]
		owner, repo, err := c.App(e.Path.String())
		if err != nil {
			return nil, nil, err
		}
		if c.AllowDowngrade || !ok || owner == "" || !isSHA(ch.New) || !isSHA(ch.Old) {
			continue
		}
		g.Go(func() error {
			var err error
			keep[i], why[i], err = u.forward(gctx, owner, repo, e.Path.String(), ch.Old, ch.New)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	// Digests are not ordered: each follows its tag's verdict.
	pairDigests(edits, keep, why, changed)
	var kept []envfile.Edit
	var skipped []string
	for i, e := range edits {
		if keep[i] {
			kept = append(kept, e)
			continue
		}
		if why[i] == "" {
			continue // went with its tag, which says why
		}
		if e.Path.IsDigest() {
			u.Warn("skipped %s", why[i])
		} else {
			u.Notice("skipped %s", why[i])
		}
		skipped = append(skipped, why[i])
	}
	return kept, skipped, nil
}

// forward decides whether key may move from old to new in owner/repo.
func (u *Updater) forward(ctx context.Context, owner, repo, key, old, new string) (bool, string, error) {
	c := u.Cfg
	app := owner + "/" + repo
	status, err := u.compare(ctx, owner, repo, old, new)
	switch {
	case errors.Is(err, ancestry.ErrUnknownCommit):
		u.Warn("cannot order %s: %s is not a commit of %s; moving on", key, short(old), app)
		return true, "", nil
	case err != nil:
		return false, "", err
	case status == "ahead" || status == "identical":
		return true, "", nil
	case status == "diverged" && u.order.isOnMain(app, new):
		// old is off the default branch: a hotfix. Moving on is right (the
		// default branch is where fixes must land), but never silently.
		if _, onMain, rerr := ancestry.ReachableFrom(ctx, u.GH, owner, repo, old, c.defaultBranchOf(owner, repo), ""); rerr == nil && !onMain {
			u.Notice("%s: %s replaces %s, a commit off the default branch (a hotfix?) that %s does not contain: merge the fix back to the default branch if it must stay deployed", key, short(new), short(old), short(new))
			return true, "", nil
		}
	}
	return false, fmt.Sprintf("%s: %s is not newer than %s (%s); set allow-downgrade: true for a rollback", key, short(new), short(old), status), nil
}

// relation orders two sets of values of the same keys: ours against those
// another run of the bot wrote. Commit values decide through the app's
// history; when no commit value differs, ours is newer if any value differs
// (the last writer wins, as before for plain values).
type relation int

const (
	same relation = iota
	newer
	older
)

func (u *Updater) relate(ctx context.Context, ours, theirs map[string]string) (relation, error) {
	rel := same
	for k, o := range ours {
		t, ok := theirs[k]
		owner, repo, err := u.Cfg.App(k)
		switch {
		case err != nil:
			return same, err
		case !ok:
			rel = newer
			continue
		case o == t:
			continue
		case !isSHA(o) || !isSHA(t) || owner == "":
			if rel == same {
				rel = newer
			}
			continue
		}
		st, err := u.compare(ctx, owner, repo, t, o)
		if errors.Is(err, ancestry.ErrUnknownCommit) {
			// Theirs is no commit of the app (a hand-made value): ours,
			// checked to be merged, replaces it.
			rel = newer
			continue
		}
		if err != nil {
			return same, err
		}
		switch {
		case st == "ahead":
			rel = newer
		case st == "diverged" && u.order.isOnMain(owner+"/"+repo, o):
			rel = newer
		default:
			return older, nil
		}
	}
	return rel, nil
}
