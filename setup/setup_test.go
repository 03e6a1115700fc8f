package setup

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/sjson"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/event"
	"github.com/cicd-excellence/actions/internal/testkit/steptest"
)

// payload reads one of GitHub's example payloads (testdata/webhooks, made
// from @octokit/webhooks-examples) and applies edits, so each case starts from
// a real webhook and changes only what it is about.
func payload(t *testing.T, file string, edits map[string]any) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "webhooks", file))
	if err != nil {
		t.Fatal(err)
	}
	for path, v := range edits {
		if data, err = sjson.SetBytes(data, path, v); err != nil {
			t.Fatal(err)
		}
	}
	return data
}

const sha = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"

func TestDecide(t *testing.T) {
	tests := []struct {
		name   string
		event  string
		file   string
		edits  map[string]any
		cfg    Config
		want   Decision
		reason string
	}{
		{
			name:  "push to the default branch publishes, opens the infra PR and deploys",
			event: "push", file: "push.4.json",
			want: Decision{Publish: true, OpenInfraPR: true, Deploy: true, SHA: sha, Branch: "master", BaseBranch: "master", IsDefaultBranch: true},
		},
		{
			name:  "push to a hotfix branch publishes only",
			event: "push", file: "push.4.json", edits: map[string]any{"ref": "refs/heads/hotfixes/login-crash"},
			want: Decision{Publish: true, SHA: sha, Branch: "hotfixes/login-crash", BaseBranch: "hotfixes/login-crash", IsHotfix: true},
		},
		{
			name:  "hotfix prefix is configurable",
			event: "push", file: "push.4.json", edits: map[string]any{"ref": "refs/heads/release/1.2"}, cfg: Config{HotfixPrefix: "release/"},
			want: Decision{Publish: true, SHA: sha, Branch: "release/1.2", BaseBranch: "release/1.2", IsHotfix: true},
		},
		{
			name:  "the prefix alone is not a hotfix branch",
			event: "push", file: "push.4.json", edits: map[string]any{"ref": "refs/heads/hotfixes"},
			want: Decision{SHA: sha, Branch: "hotfixes", BaseBranch: "hotfixes"},
		},
		{
			name:  "push to a feature branch does nothing",
			event: "push", file: "push.4.json", edits: map[string]any{"ref": "refs/heads/feature/x"},
			want: Decision{SHA: sha, Branch: "feature/x", BaseBranch: "feature/x"},
		},
		{
			name:  "default-branch input overrides the payload",
			event: "push", file: "push.4.json", edits: map[string]any{"ref": "refs/heads/trunk"}, cfg: Config{DefaultBranch: "trunk"},
			want: Decision{Publish: true, OpenInfraPR: true, Deploy: true, SHA: sha, Branch: "trunk", BaseBranch: "trunk", IsDefaultBranch: true},
		},
		{
			name:  "tag push does nothing",
			event: "push", file: "push.0.json",
			want: Decision{SHA: sha},
		},
		{
			name:  "deleting the default branch does nothing",
			event: "push", file: "push.1.json", edits: map[string]any{"ref": "refs/heads/master"},
			want: Decision{SHA: sha, Branch: "master", BaseBranch: "master", IsDefaultBranch: true},
		},
		{
			name:  "pull request into the default branch tests only, sha is the PR head",
			event: "pull_request", file: "pull_request.0.json",
			want: Decision{SHA: "ec26c3e57ca3a959ca5aad62de7213c562f8c821", Branch: "changes", BaseBranch: "master", IsDefaultBranch: true},
		},
		{
			name:  "pull request into a hotfix branch tests only",
			event: "pull_request", file: "pull_request.0.json", edits: map[string]any{"pull_request.base.ref": "hotfixes/x"},
			want: Decision{SHA: "ec26c3e57ca3a959ca5aad62de7213c562f8c821", Branch: "changes", BaseBranch: "hotfixes/x", IsHotfix: true},
		},
		{
			name:  "pull_request_target behaves like pull_request",
			event: "pull_request_target", file: "pull_request.0.json",
			want: Decision{SHA: "ec26c3e57ca3a959ca5aad62de7213c562f8c821", Branch: "changes", BaseBranch: "master", IsDefaultBranch: true},
		},
		{
			name:  "merge group tests only",
			event: "merge_group", file: "merge_group.0.json",
			want: Decision{SHA: "2ffea6db159f6b6c47a24e778fb9ef40cf6b1c7d", Branch: "gh-readonly-queue/main/pr-104-929f8209d40f77f4abc622a499c93a83babdbe64", BaseBranch: "main", IsDefaultBranch: true},
		},
		{
			name:  "manual run on the default branch publishes but opens no infra PR",
			event: "workflow_dispatch", file: "workflow_dispatch.0.json", edits: map[string]any{},
			want: Decision{Publish: true, SHA: sha, Branch: "main", BaseBranch: "main", IsDefaultBranch: true},
		},
		{
			name:  "manual run on a feature branch does nothing",
			event: "workflow_dispatch", file: "workflow_dispatch.0.json", edits: map[string]any{"ref": "refs/heads/feature"},
			want: Decision{SHA: sha, Branch: "feature", BaseBranch: "feature"},
		},
		{
			name:  "release event does nothing",
			event: "release", file: "release.0.json",
			want: Decision{SHA: sha},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := event.Parse(tc.event, payload(t, tc.file, tc.edits))
			if err != nil {
				t.Fatal(err)
			}
			if ev.SHA == "" {
				ev.SHA = sha // GITHUB_SHA, which the runner sets for every event
			}
			if tc.cfg.HotfixPrefix == "" {
				tc.cfg.HotfixPrefix = "hotfixes/"
			}
			got, err := Decide(ev, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got.Reason == "" {
				t.Error("no reason given")
			}
			tc.want.Event, tc.want.Reason = tc.event, got.Reason
			if got != tc.want {
				t.Errorf("Decide:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestDecideErrors(t *testing.T) {
	push := func() *event.Context {
		ev, err := event.Parse("push", payload(t, "push.4.json", nil))
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	tests := []struct {
		name  string
		ev    func() *event.Context
		cfg   Config
		input string
	}{
		{"empty prefix", push, Config{}, "hotfix-prefix"},
		{"prefix with a space", push, Config{HotfixPrefix: "hot fixes/"}, "hotfix-prefix"},
		{"prefix with ..", push, Config{HotfixPrefix: "a/../b/"}, "hotfix-prefix"},
		{"prefix with a leading dash", push, Config{HotfixPrefix: "-x/"}, "hotfix-prefix"},
		{"prefix with shell metacharacters", push, Config{HotfixPrefix: "$(id)/"}, "hotfix-prefix"},
		{"no default branch anywhere", func() *event.Context {
			ev := push()
			ev.DefaultBranch = ""
			return ev
		}, Config{HotfixPrefix: "hotfixes/"}, "default-branch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decide(tc.ev(), tc.cfg)
			var ie *action.InputError
			if !errors.As(err, &ie) || ie.Input != tc.input {
				t.Fatalf("err = %v, want an error naming input %q", err, tc.input)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
	t.Run("publish without a full SHA", func(t *testing.T) {
		ev := push()
		ev.SHA = "abc"
		if _, err := Decide(ev, Config{HotfixPrefix: "hotfixes/"}); err == nil || !strings.Contains(err.Error(), "full commit SHA") {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestRunOutputs runs the step as the runner does (steptest): inputs and
// event from the environment, outputs through a real $GITHUB_OUTPUT file.
func TestRunOutputs(t *testing.T) {
	eventPath := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(eventPath, payload(t, "push.4.json", map[string]any{"ref": "refs/heads/hotfixes/a"}), 0o644); err != nil {
		t.Fatal(err)
	}
	res := steptest.RunWith(t, Step, steptest.Env(
		"GITHUB_EVENT_NAME=push", "GITHUB_EVENT_PATH="+eventPath,
		"GITHUB_SHA="+sha, "GITHUB_REF=refs/heads/hotfixes/a",
		"INPUT_HOTFIX_PREFIX=hotfixes/",
	))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	got := res.Outputs
	want := map[string]string{
		"publish": "true", "open_infra_pr": "false", "deploy": "false", "sha": sha, "short_sha": sha[:7],
		"branch": "hotfixes/a", "base_branch": "hotfixes/a", "is_hotfix": "true", "is_default_branch": "false", "event": "push",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("output %s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("outputs = %v, want exactly %v", got, want)
	}
	if s := res.Summary; !strings.Contains(s, "hotfix branch hotfixes/a") || strings.Count(strings.TrimSpace(s), "\n") != 0 {
		t.Errorf("summary is not the one-line decision: %q", s)
	}
}

func TestRunRejectsBadInputBeforeWriting(t *testing.T) {
	res := steptest.RunWith(t, Step, steptest.Env(
		"GITHUB_EVENT_NAME=push", "GITHUB_SHA="+sha, "GITHUB_REF=refs/heads/main",
		"INPUT_DEFAULT_BRANCH=main", "INPUT_HOTFIX_PREFIX=$(curl evil)",
	))
	if res.Err == nil || !strings.Contains(res.Err.Error(), `input "hotfix-prefix"`) {
		t.Fatalf("err = %v", res.Err)
	}
	if res.RawOutput != "" {
		t.Errorf("outputs were written before the input was checked: %q", res.RawOutput)
	}
}
