package event

import (
	"os"
	"path/filepath"
	"testing"
)

func readPayload(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "webhooks", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestParseExamples reads GitHub's own example payloads.
func TestParseExamples(t *testing.T) {
	tests := []struct {
		file, event                            string
		ref, refType, refName, sha, head, base string
		pr                                     int
	}{
		{"push.4.json", Push, "refs/heads/master", "branch", "master", "6113728f27ae82c7b1a177c8d03f9e96e0adf246", "", "", 0},
		{"push.0.json", Push, "refs/tags/simple-tag", "tag", "simple-tag", "6113728f27ae82c7b1a177c8d03f9e96e0adf246", "", "", 0},
		{"push.1.json", Push, "refs/tags/simple-tag", "tag", "simple-tag", "", "", "", 0},
		{"pull_request.0.json", PullRequest, "refs/pull/2/merge", "", "pull/2/merge", "ec26c3e57ca3a959ca5aad62de7213c562f8c821", "changes", "master", 2},
		{"merge_group.0.json", MergeGroup, "refs/heads/gh-readonly-queue/main/pr-104-929f8209d40f77f4abc622a499c93a83babdbe64", "branch", "gh-readonly-queue/main/pr-104-929f8209d40f77f4abc622a499c93a83babdbe64", "2ffea6db159f6b6c47a24e778fb9ef40cf6b1c7d", "gh-readonly-queue/main/pr-104-929f8209d40f77f4abc622a499c93a83babdbe64", "main", 0},
		{"workflow_dispatch.0.json", WorkflowDispatch, "refs/heads/main", "branch", "main", "", "", "", 0},
		{"release.0.json", Release, "refs/tags/0.0.1", "tag", "0.0.1", "", "", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			c, err := Parse(tc.event, readPayload(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if c.Ref != tc.ref || c.RefType != tc.refType || c.RefName != tc.refName || c.SHA != tc.sha || c.HeadRef != tc.head || c.BaseRef != tc.base || c.PRNumber != tc.pr {
				t.Errorf("got ref=%q type=%q name=%q sha=%q head=%q base=%q pr=%d", c.Ref, c.RefType, c.RefName, c.SHA, c.HeadRef, c.BaseRef, c.PRNumber)
			}
			if c.DefaultBranch == "" || c.Repository == "" {
				t.Errorf("default branch %q, repository %q", c.DefaultBranch, c.Repository)
			}
		})
	}
}

func TestLoadFromEnvironment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(path, readPayload(t, "pull_request.0.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": path, "GITHUB_REF": "refs/pull/2/merge",
		"GITHUB_SHA": "ffffffffffffffffffffffffffffffffffffffff", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "42",
		"GITHUB_SERVER_URL": "https://ghe.example.com/",
	}
	c, err := Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.SHA != "ec26c3e57ca3a959ca5aad62de7213c562f8c821" {
		t.Errorf("SHA = %s: a pull request is about its head, not the merge commit", c.SHA)
	}
	if c.RunURL != "https://ghe.example.com/o/r/actions/runs/42" || c.Repository != "o/r" {
		t.Errorf("RunURL = %q, Repository = %q", c.RunURL, c.Repository)
	}
	if c.Branch() != "changes" || c.TargetBranch() != "master" {
		t.Errorf("Branch %q TargetBranch %q", c.Branch(), c.TargetBranch())
	}
	env["GITHUB_EVENT_PATH"] = filepath.Join(t.TempDir(), "missing.json")
	if _, err := Load(func(k string) string { return env[k] }); err == nil {
		t.Error("a missing payload file was not an error")
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	env["GITHUB_EVENT_PATH"] = path
	if _, err := Load(func(k string) string { return env[k] }); err == nil {
		t.Error("a corrupt payload was not an error")
	}
}

// TestParseErrorOneLine: the event name is the caller's; a line break in it
// does not make the error span lines (found by FuzzParse).
func TestParseErrorOneLine(t *testing.T) {
	c, err := Parse("push\n::error::injected\r", []byte("{"))
	if err == nil || c != nil {
		t.Fatalf("Parse of a truncated payload = %v, %v", c, err)
	}
	if want := `parse "push\n::error::injected\r" payload: unexpected end of JSON input`; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}
