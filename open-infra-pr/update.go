package openinfrapr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"
	"golang.org/x/sync/errgroup"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/envfile"
	"github.com/cicd-excellence/actions/internal/servicemap"
)

// Operations reported in the `operation` output.
const (
	OpCreated    = "created"
	OpUpdated    = "updated"
	OpMerged     = "merged"
	OpNone       = "none"
	OpSkipped    = "skipped"
	OpSuperseded = "superseded"
	OpDryRun     = "dry-run"
)

// Updater moves one environment through a PR. Everything it needs is passed
// in, so tests run it against the local GitHub with a fast clock.
type Updater struct {
	GH     *gh.Client
	Cfg    Config
	Log    func(format string, args ...any)
	Notice func(format string, args ...any)
	Warn   func(format string, args ...any)
	Sleep  func(ctx context.Context, d time.Duration) error
	Now    func() time.Time
	// MaxAttempts bounds merge attempts and rebuilds (default 60).
	MaxAttempts int
	// Backoff is the first wait between merge attempts (default 1s).
	Backoff time.Duration

	order *orderCache
	me    identity // learned from the first commit this run writes
}

// Outcome is what happened.
type Outcome struct {
	Operation   string
	Reason      string
	Number      int
	URL         string
	Branch      string
	Base        string
	CommitSHA   string
	Merged      bool
	MergeCommit string
	// Verified: GitHub signed the bot's own commit (the head it merged).
	Verified  bool
	Approvals int
	Changes   []envfile.Change
}

func (u *Updater) defaults() {
	if u.Log == nil {
		u.Log = func(string, ...any) {}
	}
	if u.Notice == nil {
		u.Notice = u.Log
	}
	if u.Warn == nil {
		u.Warn = u.Log
	}
	if u.Sleep == nil {
		u.Sleep = action.Sleep
	}
	if u.Now == nil {
		u.Now = time.Now
	}
	if u.MaxAttempts == 0 {
		u.MaxAttempts = 60
	}
	if u.Backoff == 0 {
		u.Backoff = time.Second
	}
	if u.order == nil {
		u.order = &orderCache{status: map[string]string{}}
	}
}

func (u *Updater) repo() string { return u.Cfg.Owner + "/" + u.Cfg.Repo }

// Run performs the update. The flow, in round trips: read the base, its
// file, the rules that guard it and whether the new commits are merged in
// the app repo (together); order the values; write the change onto the
// change's one branch (compare-and-swap); open the PR; wait for every
// required check on the head it wrote; merge exactly that head.
func (u *Updater) Run(ctx context.Context) (*Outcome, error) {
	u.defaults()
	c := u.Cfg
	out := &Outcome{Base: c.Base}

	// First round trip: everything that needs nothing read before it. The
	// change's branch is read on the guess that every edit will be kept
	// (the common case); the writer reads it again when the guess was wrong.
	var snap *snapshot
	var rules *requiredChecks
	var pre *branchState
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if out.Base == "" {
			r, _, err := u.GH.Repositories.Get(gctx, c.Owner, c.Repo)
			if err != nil {
				return u.repoErr(err)
			}
			out.Base = r.GetDefaultBranch()
		}
		g2, g2ctx := errgroup.WithContext(gctx)
		g2.Go(func() (err error) { snap, err = u.read(g2ctx, out.Base); return err })
		if c.Merge != MergeNone && !c.DryRun {
			g2.Go(func() (err error) { rules, err = u.requiredChecks(g2ctx, out.Base); return err })
		}
		return g2.Wait()
	})
	// Reachability needs to know each key's app repo first when a services
	// map may say it; otherwise it goes out now.
	early := c.PromoteFrom == "" && c.ServicesFile == ""
	if early {
		g.Go(func() error { return u.reachableAll(gctx, c.Edits) })
	}
	if c.PromoteFrom == "" {
		if !c.DryRun {
			g.Go(func() (err error) {
				st, err := u.readBranchFile(gctx, Branch(c.BranchPrefix, c.Environment, c.File, c.Edits))
				pre = &st
				return err
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	if snap.services != nil {
		m, err := servicemap.Parse(snap.services)
		if err != nil {
			return nil, action.Inputf("services-file", "%s in %s: %v", c.ServicesFile, u.repo(), err)
		}
		u.Cfg.Services, c.Services = m, m
	}
	edits, err := u.edits(snap)
	if err != nil {
		return nil, err
	}
	if !early {
		if err := u.reachableAll(ctx, edits); err != nil {
			return nil, err
		}
	}
	edits, held := u.dropHeld(snap.content, edits)
	if len(edits) == 0 && len(held) > 0 {
		out.Operation, out.Reason = OpSkipped, "held: "+strings.Join(held, ", ")
		return out, nil
	}
	plan, err := u.plan(ctx, snap.content, edits)
	if err != nil {
		return nil, err
	}
	if plan.op != "" {
		out.Operation, out.Reason = plan.op, plan.reason
		return out, nil
	}
	out.Changes = plan.changes
	out.Branch = Branch(c.BranchPrefix, c.Environment, c.File, plan.edits)
	if c.DryRun {
		out.Operation, out.Reason = OpDryRun, "dry run: nothing written"
		u.Log("dry run: would open a PR from %s into %s changing %s", out.Branch, out.Base, c.File)
		return out, nil
	}

	w := &writer{u: u, out: out, edits: plan.edits}
	if pre != nil && pre.name == out.Branch {
		w.pre = pre
	}
	// Each round ends with the values merged, handed to a run with newer
	// ones, or found on the base; a restart happens only after another run
	// merged older values, which a crowd does a few times at most.
	const rounds = 8
	for round := 1; ; round++ {
		err := u.propose(ctx, w, snap, rules)
		var fin *finished
		switch {
		case errors.As(err, &fin):
			out.Operation, out.Reason = fin.op, fin.reason
			return out, nil
		case errors.Is(err, errRestart) && round == rounds:
			return out, fmt.Errorf("%s in %s: other runs merged older values %d times while this one waited; a rerun continues", out.Branch, u.repo(), rounds)
		case !errors.Is(err, errRestart):
			return out, err
		}
		u.Log("another run merged older values and closed the PR: writing this run's values again")
		w.pre = nil
		if snap, err = u.read(ctx, out.Base); err != nil {
			return out, err
		}
	}
}

// propose writes the change, opens or finds its PR and, unless merge is none,
// merges it.
func (u *Updater) propose(ctx context.Context, w *writer, snap *snapshot, rules *requiredChecks) error {
	out := w.out
	res, err := w.write(ctx, snap)
	if err != nil {
		return err
	}
	if res.op != "" {
		return &finished{res.op, res.reason}
	}
	pr, created, err := u.ensurePR(ctx, out, res)
	if err != nil {
		return err
	}
	out.Number, out.URL, out.CommitSHA, out.Verified = pr.GetNumber(), pr.GetHTMLURL(), res.head, res.verified
	out.Operation = OpUpdated
	switch {
	case created:
		out.Operation = OpCreated
	case !res.joined:
		// Another run opened the PR with its values: the title and body must
		// describe the head that is reviewed and merged.
		u.describe(ctx, out, pr)
	}
	if u.Cfg.Merge == MergeNone {
		return nil
	}
	m := &merger{u: u, w: w, out: out, pr: pr, head: res.head, rules: rules}
	err = m.run(ctx)
	var fin *finished
	if err != nil && !errors.As(err, &fin) && !errors.Is(err, errRestart) && !strings.Contains(err.Error(), fmt.Sprintf("PR #%d", out.Number)) {
		err = fmt.Errorf("PR #%d is open with the change but not merged (a rerun merges it): %w", out.Number, err)
	}
	return err
}

// finished ends a run early with a successful outcome: another run of the
// bot took over with a newer value, or the base already holds ours.
type finished struct{ op, reason string }

func (f *finished) Error() string { return f.op + ": " + f.reason }

// plan is what the run will do with the file as read.
type planned struct {
	op, reason string // set when there is nothing to write
	edits      []envfile.Edit
	changes    []envfile.Change
}

// plan applies the edits to content and keeps only those that move a key
// forward (or, with allow-downgrade, anywhere).
func (u *Updater) plan(ctx context.Context, content []byte, edits []envfile.Edit) (planned, error) {
	c := u.Cfg
	_, changes, err := envfile.Set(content, edits, envfile.SetOptions{CreateMissing: c.CreateMissing})
	var te *envfile.TypeError
	if errors.Is(err, envfile.ErrNotFound) || errors.As(err, &te) {
		// A key the file does not have, or one that holds no version: the
		// edit asked for is wrong, not the file.
		input := "set"
		if c.PromoteFrom != "" {
			input = "keys"
		}
		return planned{}, action.Inputf(input, "edit %s: %v", c.File, err)
	}
	if err != nil {
		return planned{}, fmt.Errorf("edit %s: %w", c.File, err)
	}
	if len(changes) == 0 {
		return planned{op: OpNone, reason: fmt.Sprintf("%s already holds these values", c.File)}, nil
	}
	if err := unpairedTags(u.valuesInput(), c.File, content, edits, changes); err != nil {
		return planned{}, err
	}
	kept, skipped, err := u.checkOrder(ctx, edits, changes)
	if err != nil {
		return planned{}, err
	}
	if len(kept) > 0 {
		_, changes, err = envfile.Set(content, kept, envfile.SetOptions{CreateMissing: c.CreateMissing})
		if err != nil {
			return planned{}, fmt.Errorf("edit %s: %w", c.File, err)
		}
	}
	if len(kept) == 0 || len(changes) == 0 {
		// What is left changes nothing (the keys that would move were
		// skipped): there is nothing to propose.
		return planned{op: OpSkipped, reason: strings.Join(skipped, "; ")}, nil
	}
	return planned{edits: kept, changes: changes}, nil
}
