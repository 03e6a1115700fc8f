package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	openinfrapr "github.com/cicd-excellence/actions/open-infra-pr"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

// TestBenchSmall runs the whole bench small (50 and 300 commits, 5 ms per
// request, one run, crowds of 4) and checks its structural claims and the
// table's columns, not speed: open-infra-pr's request count does not depend
// on the history and touches no git, the seed's git requests pay the
// latency, and both crowds drain with every check passing.
func TestBenchSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs git clones and concurrent merges")
	}
	var log bytes.Buffer
	o := options{Commits: []int{50, 300}, Latency: 5 * time.Millisecond, Crowd: 4, Runs: 1, Backoff: 100 * time.Millisecond}
	rep, err := run(context.Background(), o, &log)
	var table bytes.Buffer
	if rep != nil {
		rep.print(&table)
	}
	t.Logf("progress:\n%s\n%s", log.String(), table.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Sizes) != 2 {
		t.Fatalf("measured %d sizes, want 2", len(rep.Sizes))
	}
	small, big := rep.Sizes[0], rep.Sizes[1]
	if small.Ours.Requests != big.Ours.Requests {
		t.Errorf("open-infra-pr made %d requests at %d commits and %d at %d: the count must not depend on history",
			small.Ours.Requests, small.Commits, big.Ours.Requests, big.Commits)
	}
	for _, s := range rep.Sizes {
		if s.Ours.GitRequests != 0 {
			t.Errorf("%d commits: open-infra-pr made %d git requests, want none", s.Commits, s.Ours.GitRequests)
		}
		if s.Ours.RoundTrips < 1 || s.Ours.RoundTrips > s.Ours.Requests || s.Ours.Writes < 1 || s.Ours.Writes >= s.Ours.Requests {
			t.Errorf("%d commits: ours %d requests, %d round trips, %d content-creating: out of range", s.Commits, s.Ours.Requests, s.Ours.RoundTrips, s.Ours.Writes)
		}
		// The seed's flow is strictly sequential (git and the two API calls
		// one after another), so nearly every request is its own round
		// trip: this shows the server logs when each request started. (A
		// request's End is when the handler returned, which can be just
		// after the client had its answer, so two may merge.) Ours reads
		// in parallel.
		if s.Clone.RoundTrips < s.Clone.Requests-2 || s.Ours.RoundTrips >= s.Ours.Requests {
			t.Errorf("%d commits: seed %d round trips for %d requests (want nearly as many), ours %d for %d (want fewer)",
				s.Commits, s.Clone.RoundTrips, s.Clone.Requests, s.Ours.RoundTrips, s.Ours.Requests)
		}
		// clone: info/refs + upload-pack; push: info/refs + receive-pack;
		// then POST pulls + PUT merge. Only the push and the two API calls
		// create content.
		if s.Clone.GitRequests < 4 || s.Clone.GitSlow != s.Clone.GitRequests || s.Clone.Writes != 3 {
			t.Errorf("%d commits: seed made %d git requests (%d paid the latency), %d content-creating; want >= 4, all, 3",
				s.Commits, s.Clone.GitRequests, s.Clone.GitSlow, s.Clone.Writes)
		}
	}
	if big.Clone.GitBytes <= small.Clone.GitBytes {
		t.Errorf("clone flow moved %d git bytes at %d commits and %d at %d: expected growth with history", small.Clone.GitBytes, small.Commits, big.Clone.GitBytes, big.Commits)
	}

	if len(rep.Crowds) != 2 {
		t.Fatalf("measured %d crowds, want 2", len(rep.Crowds))
	}
	for _, c := range rep.Crowds {
		if len(c.Problems) > 0 || c.Runs != 4 || c.Traffic.Requests < 4 {
			t.Errorf("%s crowd: %d runs, %d requests, problems %v", c.Name, c.Runs, c.Traffic.Requests, c.Problems)
		}
	}
	if same := rep.Crowds[0]; same.Ops[openinfrapr.OpMerged] < 1 || same.Ops[openinfrapr.OpSkipped]+same.Ops[openinfrapr.OpNone] < 1 {
		t.Errorf("same-key crowd ended %v: want a merge and the older values skipped or none", same.Ops)
	}
	if diff := rep.Crowds[1]; diff.Ops[openinfrapr.OpMerged] != 4 {
		t.Errorf("different-key crowd ended %v: want every run merged", diff.Ops)
	}

	for _, want := range []string{
		"requests", "round trips", "content-creating", "bytes", "wall time", "× faster",
		"Targets, clean dev bump", "(target <= 10)", "(target <= 7)", "(target >= 1.3×)", "flat in history size",
		"same-key api.tag", "different-key svcNN.tag", "drained in", "vs one bump", "requests/run", "merged ", "superseded ",
		"Backoff 100ms",
	} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

func TestRoundTrips(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	req := func(start, dur int) githubtest.Request {
		return githubtest.Request{Start: t0.Add(time.Duration(start) * time.Millisecond), Duration: time.Duration(dur) * time.Millisecond}
	}
	for _, tc := range []struct {
		name string
		reqs []githubtest.Request
		want int
	}{
		{"none", nil, 0},
		{"one", []githubtest.Request{req(0, 50)}, 1},
		{"three in a row", []githubtest.Request{req(0, 50), req(51, 50), req(102, 50)}, 3},
		{"two in parallel", []githubtest.Request{req(0, 50), req(1, 50)}, 1},
		{"log order is not start order", []githubtest.Request{req(102, 50), req(0, 50), req(51, 50)}, 3},
		// Starting exactly at an End is not after it.
		{"start at the end", []githubtest.Request{req(0, 50), req(50, 50)}, 1},
		// A long request keeps its wave open for those that start while it
		// runs, even after a short one of the same wave has ended.
		{"overlapped by a slow one", []githubtest.Request{req(0, 200), req(1, 50), req(60, 50), req(201, 10)}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := roundTrips(tc.reqs); got != tc.want {
				t.Errorf("roundTrips = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestIsWrite(t *testing.T) {
	for _, tc := range []struct {
		method, path, op string
		want             bool
	}{
		{"GET", "/repos/o/r/contents/f", "GET /repos/{owner}/{repo}/contents/{path}", false},
		{"POST", "/repos/o/r/git/refs", "POST /repos/{owner}/{repo}/git/refs", true},
		{"PUT", "/repos/o/r/pulls/1/merge", "PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge", true},
		{"PATCH", "/repos/o/r/pulls/1", "PATCH /repos/{owner}/{repo}/pulls/{pull_number}", true},
		{"DELETE", "/repos/o/r/git/refs/heads/b", "DELETE /repos/{owner}/{repo}/git/refs/{ref}", true},
		{"GET", "/o/r.git/info/refs", "GET /{owner}/{repo}.git/{path}", false},
		{"POST", "/o/r.git/git-upload-pack", "POST /{owner}/{repo}.git/{path}", false},
		{"POST", "/o/r.git/git-receive-pack", "POST /{owner}/{repo}.git/{path}", true},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			if got := isWrite(githubtest.Request{Method: tc.method, Path: tc.path, Operation: tc.op}); got != tc.want {
				t.Errorf("isWrite = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string // "" for success
	}{
		{nil, ""},
		{[]string{"-commits", "1000, 20000", "-crowd", "0"}, ""},
		{[]string{"-commits", "1000,x"}, `-commits: "x" is not a positive number`},
		{[]string{"-commits", "0"}, `-commits: "0" is not a positive number`},
		{[]string{"-latency", "-1s"}, "-latency: -1s is negative"},
		{[]string{"-crowd", "-1"}, "-crowd: -1 is not between 0 and 100"},
		{[]string{"-runs", "0"}, "-runs: 0 is not between 1 and 20"},
		{[]string{"-backoff", "0s"}, "-backoff: 0s is not positive"},
		{[]string{"extra"}, `unexpected arguments ["extra"]`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			o, err := parseFlags(tc.args)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("parseFlags: %v", err)
			case tc.err != "" && (err == nil || err.Error() != tc.err):
				t.Fatalf("parseFlags error = %v, want %q", err, tc.err)
			case tc.err == "" && (len(o.Commits) == 0 || o.Runs < 1 || o.Backoff <= 0):
				t.Errorf("options = %+v", o)
			}
		})
	}
	o, _ := parseFlags(nil)
	if len(o.Commits) != 2 || o.Commits[0] != 1000 || o.Commits[1] != 20000 || o.Latency != 50*time.Millisecond || o.Crowd != 20 || o.Backoff != 200*time.Millisecond {
		t.Errorf("defaults = %+v, want 1000,20000 commits, 50ms, crowd 20, backoff 200ms", o)
	}
}
