package openinfrapr

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/envfile"
	"github.com/cicd-excellence/actions/internal/ghclient"
)

// The change's branch is shared by every run that moves the same keys of the
// same file (its name comes from the keys, not the values), so a crowd of
// runs meets on one branch and one PR instead of opening one each. Writes to
// it are compare-and-swap: a contents PUT names the blob it replaces and
// GitHub refuses it (409) when another run got there first. Whoever holds
// the newest value keeps writing until it is merged; everyone older stops.

// identity is the login that wrote the bot's commits: learned from the first
// commit this run writes, since an App's installation token cannot ask
// GitHub who it is (GET /user answers 403 to it).
type identity struct {
	mu    sync.Mutex
	login string
}

func (i *identity) get() string { i.mu.Lock(); defer i.mu.Unlock(); return i.login }
func (i *identity) set(l string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.login == "" {
		i.login = l
	}
}

// writer puts this run's values on the change's branch.
type writer struct {
	u     *Updater
	out   *Outcome
	edits []envfile.Edit
	// author is the login of the commits on the branch when this run did not
	// write them itself (it joined a twin run's identical change).
	author string
	// pre is the branch's file as read in the run's first round trip.
	pre *branchState
}

// written is the branch as this run left it.
type written struct {
	op, reason string // set when the run stops here (superseded)
	head       string // the commit the PR must be merged at
	verified   bool   // GitHub signed it
	claimed    bool   // this run created the branch
	joined     bool   // another run had written the same values
}

// branchState is the branch as read, and whether the bot can build on it.
type branchState struct {
	name    string
	exists  bool
	head    string // its commit
	content []byte
	blob    string
	ahead   int // commits on it that the base does not have
	author  string
	signed  bool
}

// maxWrites bounds the attempts to write the branch; each lost race is
// followed by a growing, jittered pause, so a crowd spreads out.
const maxWrites = 24

func (w *writer) values() map[string]string {
	m := map[string]string{}
	for _, e := range w.edits {
		m[e.Path.String()] = e.Value
	}
	return m
}

// write makes the branch hold this run's values, or stops when it already
// holds newer ones.
func (w *writer) write(ctx context.Context, snap *snapshot) (written, error) {
	u, c, branch := w.u, w.u.Cfg, w.out.Branch
	known, waits := w.pre, 0
	// Claim the branch only while it is believed not to exist: a refused
	// create is a write too, and counts against GitHub's secondary limit.
	absent := known == nil || !known.exists
	base := branchState{name: branch, exists: true, head: snap.sha, content: snap.content, blob: snap.blob}
	for attempt := 1; attempt <= maxWrites; attempt++ {
		st, claimed := base, false
		if absent {
			var err error
			if claimed, err = w.claim(ctx, snap.sha); err != nil {
				return written{}, err
			}
			known, absent = nil, false
		}
		if !claimed {
			if known != nil {
				st, known = *known, nil
			} else {
				var err error
				if st, err = u.readBranchFile(ctx, branch); err != nil {
					return written{}, err
				}
			}
			if !st.exists {
				absent = true // merged and deleted meanwhile: claim it again
				continue
			}
			theirs := valuesIn(st.content, w.edits)
			rel, err := u.relate(ctx, w.values(), theirs)
			if err != nil {
				return written{}, err
			}
			if rel == older {
				u.Notice("%s already sets newer values: this run's change is superseded", branch)
				return written{op: OpSuperseded, reason: fmt.Sprintf("%s on %s already sets newer values", c.File, branch)}, nil
			}
			if maps.Equal(theirs, valuesIn(snap.content, w.edits)) && waits < 2 {
				// Another run has just created the branch and is about to
				// write its values: let it, then decide on what it wrote.
				// Waiting costs a read; writing now would likely cost a
				// refused write, in a crowd one per run.
				waits++
				if err := w.jitter(ctx, 150, 450); err != nil {
					return written{}, err
				}
				continue
			}
			if err := w.vouchFor(ctx, &st); err != nil {
				return written{}, err
			}
			if !st.exists {
				absent = true
				continue
			}
			if rel == same && st.ahead > 0 {
				u.Log("%s already holds these values (%s): merging that change", branch, short(st.head))
				w.author = st.author
				u.me.set(st.author)
				return written{head: st.head, verified: st.signed, joined: true}, nil
			}
		}
		head, verified, err := w.put(ctx, st)
		switch {
		case errors.Is(err, errRaced):
			u.Log("%s changed while this run wrote to it (%v): reading it again", branch, err)
			hi := int64(100) << min(attempt, 5) // 200ms … 3.2s
			if err := w.jitter(ctx, hi/4, hi); err != nil {
				return written{}, err
			}
			continue
		case err != nil:
			if claimed {
				w.dropClaim(ctx, snap.sha)
			}
			return written{}, err
		}
		return written{head: head, verified: verified, claimed: claimed}, nil
	}
	return written{}, fmt.Errorf("write %s in %s: it changed under this run %d times in a row; a rerun continues", branch, u.repo(), maxWrites)
}

// jitter sleeps a random time in [lo, hi) milliseconds: runs that collided
// should not collide again in step.
func (w *writer) jitter(ctx context.Context, lo, hi int64) error {
	return w.u.Sleep(ctx, time.Duration(lo+rand.Int64N(hi-lo))*time.Millisecond)
}

func valuesIn(content []byte, edits []envfile.Edit) map[string]string {
	m := map[string]string{}
	doc, err := envfile.Parse(content)
	if err != nil {
		return m
	}
	for _, e := range edits {
		if v, ok, _ := doc.Get(e.Path); ok {
			m[e.Path.String()] = v
		}
	}
	return m
}

var errRaced = errors.New("lost a race")

// claim creates the branch at the base's commit. A branch that exists is
// not an error: the caller reads it.
func (w *writer) claim(ctx context.Context, sha string) (bool, error) {
	u, c, branch := w.u, w.u.Cfg, w.out.Branch
	_, _, err := u.GH.Git.CreateRef(ctx, c.Owner, c.Repo, &gh.Reference{Ref: gh.String("refs/heads/" + branch), Object: &gh.GitObject{SHA: gh.String(sha)}})
	if err == nil {
		return true, nil
	}
	if statusOf(err) == http.StatusUnprocessableEntity && strings.Contains(strings.ToLower(err.Error()), "already exists") {
		return false, nil
	}
	if statusOf(err) >= 500 || ghclient.Unanswered(err) {
		// No usable answer (the client does not repeat a POST): whether it
		// was created or not, the branch's state is read, never assumed.
		ghclient.AwaitInFlight(ctx, err)
		u.Log("creating %s got no clear answer (%v): reading it", branch, err)
		return false, nil
	}
	// Anything else (a ruleset restricting creation, no permission) is the
	// answer: nothing was written.
	return false, u.apiErr("create branch "+branch, err)
}

// dropClaim deletes a branch this run created and could not write to, if it
// is still where the run left it.
func (w *writer) dropClaim(ctx context.Context, sha string) {
	u, c, branch := w.u, w.u.Cfg, w.out.Branch
	ref, _, err := u.GH.Git.GetRef(ctx, c.Owner, c.Repo, "heads/"+branch)
	if err == nil && ref.GetObject().GetSHA() == sha {
		u.deleteBranch(ctx, branch)
	}
}

// readBranchFile reads the environment file on a branch: its content and
// blob SHA, or that the branch does not exist.
func (u *Updater) readBranchFile(ctx context.Context, branch string) (branchState, error) {
	st := branchState{name: branch}
	var err error
	st.content, st.blob, err = u.file(ctx, u.Cfg.File, branch, false)
	if statusOf(err) == http.StatusNotFound {
		return st, nil
	}
	st.exists = err == nil
	return st, err
}

// vouchFor reads what is on the branch that the base lacks, and refuses a
// branch the bot cannot vouch for: a commit GitHub did not sign, a commit
// by anyone but one bot (and, once this run has written, by anyone but this
// bot), or a change to any other file. Such a branch was made or touched by
// someone else; the bot neither builds on it nor merges it.
func (w *writer) vouchFor(ctx context.Context, st *branchState) error {
	u, c, branch := w.u, w.u.Cfg, w.out.Branch
	cmp, _, err := u.GH.Repositories.CompareCommits(ctx, c.Owner, c.Repo, w.out.Base, branch, &gh.ListOptions{PerPage: 100})
	if statusOf(err) == http.StatusNotFound {
		st.exists = false // deleted since it was read
		return nil
	}
	if err != nil {
		return u.apiErr("compare "+w.out.Base+"..."+branch, err)
	}
	st.ahead = cmp.GetAheadBy()
	if st.ahead == 0 {
		st.head = cmp.GetMergeBaseCommit().GetSHA()
		return nil
	}
	if err := w.vouch(cmp); err != nil {
		return err
	}
	last := cmp.Commits[len(cmp.Commits)-1]
	st.head = last.GetSHA()
	st.author = last.GetAuthor().GetLogin()
	st.signed = last.GetCommit().GetVerification().GetVerified()
	return nil
}

// vouch is the trust rule of readBranch.
func (w *writer) vouch(cmp *gh.CommitsComparison) error {
	u, c, branch := w.u, w.u.Cfg, w.out.Branch
	refuse := func(why string) error {
		return fmt.Errorf("branch %s in %s holds %s; the bot does not build on or merge a branch it cannot vouch for: review it, then delete it (a rerun starts afresh)", branch, u.repo(), why)
	}
	if len(cmp.Commits) != cmp.GetAheadBy() {
		return refuse(fmt.Sprintf("%d commits, more than one page", cmp.GetAheadBy()))
	}
	for _, f := range cmp.Files {
		if f.GetFilename() != c.File {
			return refuse(fmt.Sprintf("a change to %s", f.GetFilename()))
		}
	}
	login := ""
	me := u.me.get()
	for _, rc := range cmp.Commits {
		a := rc.GetAuthor().GetLogin()
		switch {
		case !rc.GetCommit().GetVerification().GetVerified():
			return refuse(fmt.Sprintf("commit %s that GitHub did not sign", short(rc.GetSHA())))
		case !strings.HasSuffix(a, "[bot]"):
			return refuse(fmt.Sprintf("commit %s by %q, not a bot", short(rc.GetSHA()), a))
		case login != "" && !strings.EqualFold(a, login):
			return refuse(fmt.Sprintf("commits by both %q and %q", login, a))
		case me != "" && !strings.EqualFold(a, me):
			return refuse(fmt.Sprintf("commit %s by %q, not by this bot (%s)", short(rc.GetSHA()), a, me))
		}
		login = a
	}
	return nil
}

// put writes the values onto the branch as read: one commit whose parent is
// the head read, guarded by the file's blob SHA.
func (w *writer) put(ctx context.Context, st branchState) (string, bool, error) {
	u, c, branch := w.u, w.u.Cfg, w.out.Branch
	content, changes, err := envfile.Set(st.content, w.edits, envfile.SetOptions{CreateMissing: c.CreateMissing})
	if err != nil {
		return "", false, fmt.Errorf("edit %s on %s: %w", c.File, branch, err)
	}
	if len(changes) == 0 {
		return "", false, fmt.Errorf("%w: %s holds these values already", errRaced, branch)
	}
	msg := Expand(c.Title, c, changes)
	if c.SourceSHA != "" && c.AppOwner != "" {
		msg += fmt.Sprintf("\n\nFrom %s/%s@%s.", c.AppOwner, c.AppRepo, c.SourceSHA)
	}
	// No author or committer: GitHub then signs the commit as the App.
	res, _, err := u.GH.Repositories.UpdateFile(ctx, c.Owner, c.Repo, c.File, &gh.RepositoryContentFileOptions{
		Message: gh.String(msg), Content: content, SHA: gh.String(st.blob), Branch: gh.String(branch),
	})
	if err != nil {
		switch s := statusOf(err); {
		case s == http.StatusConflict, s == http.StatusNotFound, s == http.StatusUnprocessableEntity && !ruleRefusal(err):
			return "", false, fmt.Errorf("%w: %v", errRaced, err)
		case ghclient.Unanswered(err):
			ghclient.AwaitInFlight(ctx, err)
			return "", false, fmt.Errorf("%w: no answer: %v", errRaced, err)
		}
		return "", false, u.apiErr("write "+c.File+" on "+branch, err)
	}
	commit := res.Commit
	if len(commit.Parents) != 1 || commit.Parents[0].GetSHA() != st.head {
		// Someone added a commit between the read and the write: the next
		// read vouches for it or refuses it.
		return "", false, fmt.Errorf("%w: %s moved from %s before the write", errRaced, branch, short(st.head))
	}
	if a := commit.GetAuthor().GetName(); a != "" {
		u.me.set(a)
	}
	return commit.GetSHA(), commit.GetVerification().GetVerified(), nil
}

func ruleRefusal(err error) bool {
	return strings.Contains(strings.ToLower(err.Error()), "rule")
}

func (u *Updater) deleteBranch(ctx context.Context, branch string) {
	c := u.Cfg
	if _, err := u.GH.Git.DeleteRef(ctx, c.Owner, c.Repo, "heads/"+branch); err != nil && statusOf(err) != http.StatusUnprocessableEntity && statusOf(err) != http.StatusNotFound {
		u.Warn("could not delete branch %s: %v", branch, err)
	}
}
