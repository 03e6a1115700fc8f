package gitread

import (
	"context"
	"github.com/cicd-excellence/actions/internal/testkit/gitrepo"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestHistory(t *testing.T) {
	t.Parallel()
	r := gitrepo.New(t)
	c1 := r.Commit("one", map[string]string{"envs/dev.json": `{"api":{"tag":"aaa"}}`, "README": "x"})
	c2 := r.Commit("two", map[string]string{"envs/dev.json": `{"api":{"tag":"bbb"}}`})
	r.Git("checkout", "-q", "-b", "side", c1)
	c3 := r.Commit("three", map[string]string{"README": "", "new.txt": "n", "-rf": "odd name"})
	g, ctx := reader(r), context.Background()

	if mb, err := g.MergeBase(ctx, c2, c3); err != nil || mb != c1 {
		t.Errorf("MergeBase = %s, %v; want %s", mb, err, c1)
	}
	changes, err := g.Changes(ctx, c1, c3)
	want := []Change{{"D", "README"}, {"A", "-rf"}, {"A", "new.txt"}}
	slices.SortFunc(changes, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	slices.SortFunc(want, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	if err != nil || !slices.Equal(changes, want) {
		t.Errorf("Changes = %v, %v; want %v", changes, err, want)
	}
	if cs, err := g.Commits(ctx, c1, c2, 5); err != nil || !slices.Equal(cs, []string{c2}) {
		t.Errorf("Commits(c1..c2) = %v, %v", cs, err)
	}
	if cs, err := g.Commits(ctx, c1, c1, 5); err != nil || len(cs) != 0 {
		t.Errorf("Commits(c1..c1) = %v, %v", cs, err)
	}
	// max+1 are listed, so that a caller sees there are too many.
	c4 := r.Commit("four", nil)
	if cs, err := g.Commits(ctx, c1, c4, 0); err != nil || len(cs) != 1 {
		t.Errorf("Commits(max 0) = %v, %v; want one", cs, err)
	}
	for _, tc := range []struct {
		rev, value string
		want       bool
	}{{c2, "aaa", true}, {c2, "bbb", true}, {c1, "bbb", false}, {c3, "bbb", false}, {c2, "--all", false}} {
		if got, err := g.EverHeld(ctx, tc.rev, "envs/dev.json", tc.value); err != nil || got != tc.want {
			t.Errorf("EverHeld(%s, %q) = %v, %v; want %v", short(tc.rev), tc.value, got, err, tc.want)
		}
	}
	if _, err := g.EverHeld(ctx, c2, "envs/dev.json", "a\nb"); err == nil {
		t.Error("EverHeld with a newline: no error")
	}
	if ct, err := g.CommitTime(ctx, c1); err != nil || time.Since(ct) > time.Hour {
		t.Errorf("CommitTime = %v, %v", ct, err)
	}
	for _, bad := range []string{"HEAD", "--all", c1[:7]} {
		if _, err := g.MergeBase(ctx, bad, c1); err == nil {
			t.Errorf("MergeBase(%q): no error", bad)
		}
		if _, err := g.Changes(ctx, c1, bad); err == nil {
			t.Errorf("Changes(%q): no error", bad)
		}
		if _, err := g.CommitTime(ctx, bad); err == nil {
			t.Errorf("CommitTime(%q): no error", bad)
		}
	}
	// A shallow clone lacks the history: the error says how to get it.
	shallow := t.TempDir()
	r.Git("clone", "-q", "--depth", "1", "--no-local", "file://"+r.Dir, shallow)
	head := r.Git("-C", shallow, "rev-parse", "HEAD")
	if _, err := (Reader{Dir: shallow}).MergeBase(ctx, c1, head); err == nil || !strings.Contains(err.Error(), "fetch-depth: 0") {
		t.Errorf("MergeBase in a shallow clone: %v", err)
	}
}
