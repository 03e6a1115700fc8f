package action

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newRuntime(t *testing.T, env ...string) (*Runtime, *bytes.Buffer, string) {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "output")
	var log bytes.Buffer
	env = append(env, "GITHUB_ACTIONS=true", "GITHUB_OUTPUT="+out, "GITHUB_STEP_SUMMARY="+filepath.Join(dir, "summary"))
	m := MustParseManifest([]byte(`
name: t
inputs:
  github-token:
    default: ${{ github.token }}
  mode:
    default: auto
  flag: {}
`))
	return New(Options{Stdout: &log, Env: env, Manifest: m}), &log, out
}

func TestBoolInput(t *testing.T) {
	for _, v := range []string{"true", "True", "TRUE", "false", "False", "FALSE", ""} {
		r, _, _ := newRuntime(t, "INPUT_FLAG="+v)
		got, err := r.BoolInput("flag", true)
		want := v == "" || strings.EqualFold(v, "true")
		if err != nil || got != want {
			t.Errorf("BoolInput(%q) = %v, %v; want %v", v, got, err, want)
		}
	}
	for _, v := range []string{"yes", "1", "tRue", "on"} {
		r, _, _ := newRuntime(t, "INPUT_FLAG="+v)
		_, err := r.BoolInput("flag", false)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Input != "flag" || !strings.Contains(err.Error(), `input "flag"`) || !strings.Contains(err.Error(), "true or false") {
			t.Errorf("BoolInput(%q) err = %v, want an InputError naming flag", v, err)
		}
	}
}

func TestInputSources(t *testing.T) {
	// GitHub's own spelling keeps the dash; composite actions map with '_'.
	r, _, _ := newRuntime(t, "INPUT_GITHUB-TOKEN=  a  ")
	if got := r.Input("github-token"); got != "a" {
		t.Errorf("dash spelling: %q", got)
	}
	r, _, _ = newRuntime(t, "INPUT_GITHUB_TOKEN=b")
	if got := r.Input("github-token"); got != "b" {
		t.Errorf("underscore spelling: %q", got)
	}
	// Expression defaults are the runner's to evaluate, plain ones apply.
	r, _, _ = newRuntime(t)
	if got := r.Input("github-token"); got != "" {
		t.Errorf("expression default leaked: %q", got)
	}
	if got := r.Input("mode"); got != "auto" {
		t.Errorf("plain default: %q", got)
	}
	// A set but empty variable is the user's empty value, not the default.
	r, _, _ = newRuntime(t, "INPUT_MODE=")
	if got := r.Input("mode"); got != "" {
		t.Errorf("empty value replaced by default: %q", got)
	}
	r = New(Options{Env: []string{"INPUT_MODE=env"}, Flags: map[string]string{"mode": "flag"}, Stdout: &bytes.Buffer{}})
	if got := r.Input("mode"); got != "flag" {
		t.Errorf("flags first: %q", got)
	}
	if _, err := r.RequiredInput("missing"); err == nil || err.Error() != `input "missing": is required` {
		t.Errorf("RequiredInput: %v", err)
	}
}

func TestListAndDurationInputs(t *testing.T) {
	r, _, _ := newRuntime(t, "INPUT_FLAG=a, b\n\n c,", "INPUT_MODE=90s")
	if got := strings.Join(r.ListInput("flag"), "|"); got != "a|b|c" {
		t.Errorf("ListInput = %q", got)
	}
	if d, err := r.DurationInput("mode", 0); err != nil || d != 90*time.Second {
		t.Errorf("DurationInput = %v, %v", d, err)
	}
	r, _, _ = newRuntime(t, "INPUT_MODE=soon")
	if _, err := r.DurationInput("mode", 0); err == nil || !strings.Contains(err.Error(), `input "mode"`) {
		t.Errorf("bad duration err = %v", err)
	}
	if _, err := r.ChoiceInput("mode", "x", "auto", "none"); err == nil || !strings.Contains(err.Error(), "auto, none") {
		t.Errorf("ChoiceInput err = %v", err)
	}
}

// TestOutputInjection writes values that try to end the heredoc early and set
// outputs of their own, and reads the file back as the runner would.
func TestOutputInjection(t *testing.T) {
	r, _, out := newRuntime(t)
	evil := map[string]string{
		"fixed":     "x\nghadelimiter_00000000-0000-0000-0000-000000000000\nadmin=true",
		"eof":       "x\nEOF\nadmin=true",
		"setoutput": "::set-output name=admin::true",
		"multiline": "line one\nline two",
	}
	for k, v := range evil {
		if err := r.SetOutput(k, v); err != nil {
			t.Fatal(err)
		}
	}
	data, _ := os.ReadFile(out)
	got, err := ParseOutputFile(string(data))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["admin"]; ok {
		t.Fatalf("a value injected an output: %v", got)
	}
	for k, v := range evil {
		if got[k] != v {
			t.Errorf("output %s = %q, want %q", k, got[k], v)
		}
	}
}

func TestOutputRefusesItsDelimiter(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "output")
	// A fixed random source makes the delimiter known to the test, as an
	// attacker who guessed it would know it.
	zero := bytes.NewReader(make([]byte, 64))
	r := New(Options{Stdout: &bytes.Buffer{}, Env: []string{"GITHUB_ACTIONS=true", "GITHUB_OUTPUT=" + out}, Random: zero})
	err := r.SetOutput("x", "a\nghadelimiter_00000000000000000000000000000000\nadmin=true")
	if err == nil || !strings.Contains(err.Error(), "delimiter") {
		t.Fatalf("err = %v", err)
	}
	if data, _ := os.ReadFile(out); len(data) != 0 {
		t.Errorf("something was written: %q", data)
	}
	if err := r.SetOutput("bad name", "v"); err == nil {
		t.Error("an invalid output name was accepted")
	}
}

func TestOutputsOutsideActions(t *testing.T) {
	var log bytes.Buffer
	r := New(Options{Stdout: &log})
	if err := r.SetOutput("a", "b"); err != nil {
		t.Fatal(err)
	}
	if log.String() != "output a=b\n" {
		t.Errorf("printed %q", log.String())
	}
	r = New(Options{Stdout: &log, Env: []string{"GITHUB_ACTIONS=true"}})
	if err := r.SetOutput("a", "b"); !errors.Is(err, ErrNoOutputFile) {
		t.Errorf("err = %v", err)
	}
}

func TestLogsCannotIssueWorkflowCommands(t *testing.T) {
	r, log, _ := newRuntime(t)
	r.Infof("creating branch %s", "x\n::set-output name=admin::true")
	r.Infof("%s", "::add-mask::oops")
	r.Warningf("title %s", "t\n::error::fake")
	for _, line := range strings.Split(log.String(), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "::") && !strings.HasPrefix(line, "::warning::") {
			t.Errorf("log line would be read as a command: %q", line)
		}
	}
	if strings.Count(log.String(), "::warning::") != 1 {
		t.Errorf("warning not issued once: %q", log.String())
	}
}

func TestMask(t *testing.T) {
	r, log, _ := newRuntime(t)
	r.Mask("s3cr3t-token")
	r.Mask("s3cr3t-token")
	r.Infof("token is %s", "s3cr3t-token")
	want := "::add-mask::s3cr3t-token\ntoken is ***\n"
	if log.String() != want {
		t.Errorf("log = %q, want %q", log.String(), want)
	}
}

func TestReport(t *testing.T) {
	var b bytes.Buffer
	Report(&b, true, errors.New("open infra PR: input \"set\": 50% wrong\nsecond line"))
	if got := b.String(); got != "::error::open infra PR: input \"set\": 50%25 wrong%0Asecond line\n" {
		t.Errorf("annotation = %q", got)
	}
	b.Reset()
	Report(&b, false, errors.New("boom"))
	if b.String() != "error: boom\n" {
		t.Errorf("local = %q", b.String())
	}
}

func TestSummaryAndGroup(t *testing.T) {
	r, log, _ := newRuntime(t)
	if err := r.Group("step", func() error { return r.Summary("| a |") }); err != nil {
		t.Fatal(err)
	}
	if log.String() != "::group::step\n::endgroup::\n" {
		t.Errorf("log = %q", log.String())
	}
	data, _ := os.ReadFile(r.Getenv("GITHUB_STEP_SUMMARY"))
	if string(data) != "| a |\n" {
		t.Errorf("summary = %q", data)
	}
}

func TestParseManifestOrder(t *testing.T) {
	m, err := ParseManifest([]byte("name: n\ninputs:\n  b: {required: true}\n  a: {default: x}\noutputs:\n  z: {description: d}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(m.InputOrder, ",") != "b,a" || !m.Inputs["b"].Required || m.Inputs["a"].Default != "x" || m.Outputs["z"].Description != "d" {
		t.Errorf("manifest = %+v", m)
	}
	if _, err := ParseManifest([]byte("inputs: [a]")); err == nil {
		t.Error("a list of inputs was accepted")
	}
}

func TestErrorAt(t *testing.T) {
	r, log, _ := newRuntime(t)
	r.ErrorAt("envs/dev.json", 3, "duplicate key %s", "\"tag\"\n::set-output")
	if got := log.String(); got != "::error file=envs/dev.json,line=3::duplicate key \"tag\"\\n::set-output\n" {
		t.Errorf("annotation = %q", got)
	}
	var b bytes.Buffer
	New(Options{Stdout: &b}).ErrorAt("a.json", 0, "bad")
	if b.String() != "a.json: error: bad\n" {
		t.Errorf("local = %q", b.String())
	}
}

// TestLogHelpersKeepUntrustedTextOnOneLine pins the exact output of every
// log helper given text an attacker controls (a branch name, a PR title, an
// API error): one line, its line breaks escaped, no line starting with "::"
// but the helper's own annotation. It fails when a helper stops escaping.
func TestLogHelpersKeepUntrustedTextOnOneLine(t *testing.T) {
	evil := "x\n::set-output name=admin::true\r\n::add-mask::"
	evilErr := errors.New("API said: " + evil)
	tests := []struct {
		name    string
		actions bool
		log     func(r *Runtime)
		want    string
	}{
		{"Infof string", true, func(r *Runtime) { r.Infof("branch %s", evil) },
			"branch x\\n::set-output name=admin::true\\r\\n::add-mask::\n"},
		{"Infof error", true, func(r *Runtime) { r.Infof("failed: %v", evilErr) },
			"failed: API said: x\\n::set-output name=admin::true\\r\\n::add-mask::\n"},
		{"Infof leading command", true, func(r *Runtime) { r.Infof("%s", "::error::fake") },
			":\u200b:error::fake\n"},
		{"Noticef", true, func(r *Runtime) { r.Noticef("title %s", evil) },
			"::notice::title x\\n::set-output name=admin::true\\r\\n::add-mask::\n"},
		{"Warningf", true, func(r *Runtime) { r.Warningf("%v", evilErr) },
			"::warning::API said: x\\n::set-output name=admin::true\\r\\n::add-mask::\n"},
		{"Debugf", true, func(r *Runtime) { r.Debugf("%s", evil) },
			"::debug::x\\n::set-output name=admin::true\\r\\n::add-mask::\n"},
		{"ErrorAt", true, func(r *Runtime) { r.ErrorAt("a.json", 2, "%v", evilErr) },
			"::error file=a.json,line=2::API said: x\\n::set-output name=admin::true\\r\\n::add-mask::\n"},
		{"Noticef outside Actions", false, func(r *Runtime) { r.Noticef("%s", "::x::"+evil) },
			"notice: :\u200b:x::x\\n::set-output name=admin::true\\r\\n::add-mask::\n"},
		{"Warningf outside Actions", false, func(r *Runtime) { r.Warningf("%s", evil) },
			"warning: x\\n::set-output name=admin::true\\r\\n::add-mask::\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			env := []string{}
			if tc.actions {
				env = append(env, "GITHUB_ACTIONS=true")
			}
			tc.log(New(Options{Stdout: &log, Env: env}))
			if log.String() != tc.want {
				t.Errorf("log = %q\nwant  %q", log.String(), tc.want)
			}
		})
	}
}
