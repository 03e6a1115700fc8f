// Command demo runs the pipeline for real on this machine, with no GitHub
// account: the repository's own example workflows run under act, through the
// same `uses: cicd-excellence/actions/<step>@v1` lines users write.
//
//	make demo    (or: go run ./internal/demo)
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/cicd-excellence/actions/internal/actrun"
	"github.com/cicd-excellence/actions/internal/tools"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

type demo struct {
	w       io.Writer
	act     string
	actions string
	binary  string
	scratch string
	step    int
}

func (d *demo) say(format string, args ...any) {
	d.step++
	fmt.Fprintf(d.w, "\n==> %d. %s\n", d.step, fmt.Sprintf(format, args...))
}

func run(ctx context.Context, w io.Writer) error {
	root, err := tools.Root()
	if err != nil {
		return err
	}
	d := &demo{w: w}
	if d.act, err = tools.Path("act"); err != nil {
		return err
	}
	if d.scratch, err = os.MkdirTemp("", "cicd-demo-"); err != nil {
		return err
	}
	defer os.RemoveAll(d.scratch)
	if d.actions, err = actrun.Snapshot(root); err != nil {
		return err
	}
	defer os.RemoveAll(d.actions)
	if d.binary, err = actrun.BuildBinary(root, d.scratch); err != nil {
		return err
	}
	workflow, err := os.ReadFile(filepath.Join(root, "setup", "testdata", "publish.yml"))
	if err != nil {
		return err
	}
	app := map[string]string{".github/workflows/publish.yml": string(workflow), "main.go": "package main\n\nfunc main() {}\n"}

	d.say("app repo: a push to main runs setup, test, publish and the infra job")
	if err := d.setup(ctx, app, "push", "main", `{"ref":"refs/heads/main","before":"0000000000000000000000000000000000000000","after":"{{HEAD}}","repository":{"full_name":"acme/app","default_branch":"main"}}`); err != nil {
		return err
	}
	d.say("app repo: a push to hotfixes/login publishes but opens no infra PR")
	if err := d.setup(ctx, app, "push", "hotfixes/login", `{"ref":"refs/heads/hotfixes/login","before":"0000000000000000000000000000000000000000","after":"{{HEAD}}","repository":{"full_name":"acme/app","default_branch":"main"}}`); err != nil {
		return err
	}
	d.say("app repo: a pull request runs the tests only")
	if err := d.setup(ctx, app, "pull_request", "feature", `{"action":"opened","number":7,"pull_request":{"number":7,"head":{"ref":"feature","sha":"{{HEAD}}"},"base":{"ref":"main","sha":"{{HEAD}}"}},"repository":{"full_name":"acme/app","default_branch":"main"}}`); err != nil {
		return err
	}
	fmt.Fprintln(w, "\ndemo finished: every step above ran for real under act")
	return nil
}

func (d *demo) setup(ctx context.Context, files map[string]string, event, branch, payload string) error {
	res, err := actrun.Run(ctx, actrun.Options{
		Act: d.act, ActionsDir: d.actions, Binary: d.binary,
		WorkDir: filepath.Join(d.scratch, fmt.Sprintf("run-%d", d.step)),
		Files:   files, Branch: branch, Event: event, Payload: payload,
		Timeout: 5 * time.Minute,
	})
	if err != nil {
		return err
	}
	if res.Err != nil {
		return fmt.Errorf("workflow failed: %v\n%s", res.Err, res.Log)
	}
	for _, l := range strings.Split(res.Log, "\n") {
		if strings.Contains(l, "| ") && (strings.Contains(l, "publish=") || strings.Contains(l, ": ")) && strings.Contains(l, "[publish/setup]") {
			fmt.Fprintln(d.w, "   ", strings.TrimSpace(l[strings.Index(l, "|")+1:]))
		}
	}
	fmt.Fprintf(d.w, "    jobs and outputs: %s  (act run %s)\n", strings.Join(res.Results, ", "), res.Duration.Round(time.Millisecond))
	return nil
}
