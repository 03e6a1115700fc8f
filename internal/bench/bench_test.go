package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestBenchSmoke runs the benchmark small (200 and 2000 commits, 5 ms per
// request, 4 writers) and checks its structural claims rather than numbers:
// open-infra-pr's request count does not depend on the history, the clone
// flow's bytes do and end up above ours, and every concurrent writer lands.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("runs git clones and concurrent merges")
	}
	var log bytes.Buffer
	rep, err := run(context.Background(), options{Commits: []int{200, 2000}, Latency: 5 * time.Millisecond, Writers: 4}, &log)
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

	if small.Ours.Requests != big.Ours.Requests || small.Ours.APIRequests != small.Ours.Requests {
		t.Errorf("open-infra-pr made %d API requests at %d commits and %d at %d: the count must not depend on history (and no git requests: %d)",
			small.Ours.Requests, small.Commits, big.Ours.Requests, big.Commits, small.Ours.GitRequests+big.Ours.GitRequests)
	}
	if small.Ours.GitRequests+big.Ours.GitRequests != 0 {
		t.Errorf("open-infra-pr touched git smart HTTP")
	}
	// Ours moves the same few KiB whatever the history; the clone grows
	// with it. At 200 commits the two are close (the PR JSON the API returns
	// dominates both), at 2000 the clone is well above.
	if d := big.Ours.Bytes - small.Ours.Bytes; d > 2048 || d < -2048 {
		t.Errorf("open-infra-pr moved %d bytes at %d commits and %d at %d: should not depend on history", small.Ours.Bytes, small.Commits, big.Ours.Bytes, big.Commits)
	}
	if big.Clone.GitBytes < 5*small.Clone.GitBytes {
		t.Errorf("clone flow moved %d git bytes at %d commits and %d at %d: expected growth with history", small.Clone.GitBytes, small.Commits, big.Clone.GitBytes, big.Commits)
	}
	if big.Ours.Bytes >= big.Clone.Bytes {
		t.Errorf("at %d commits open-infra-pr moved %d bytes, the clone flow %d: ours should be fewer", big.Commits, big.Ours.Bytes, big.Clone.Bytes)
	}
	if big.Clone.GitRequests == 0 || big.Clone.GitSlow != big.Clone.GitRequests {
		t.Errorf("git requests: %d, of which %d paid the latency", big.Clone.GitRequests, big.Clone.GitSlow)
	}

	if rep.Drain == nil || rep.Drain.Writers != 4 || rep.Drain.Merges < 4 {
		t.Fatalf("drain = %+v", rep.Drain)
	}
	if !strings.Contains(table.String(), "all 4 landed") {
		t.Errorf("table lacks the drain line:\n%s", table.String())
	}
}
