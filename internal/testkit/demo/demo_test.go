package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestDemo runs `make demo` in-process: the example workflows under act, the
// local GitHub and the registry, from an app push to staging deployed.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{
		"publish=true open_infra_pr=true deploy=true",
		"pushed 127.0.0.1:",
		"merged PR #1 into main",
		"deploy, in order: dev, staging, prod", // converge: never deployed before
		"deploy, in order: staging",
		"validate: 3 environment file(s) pass every rule",
		"Roll back staging: INC-7: logins fail on v2",
		"hold \"INC-7: logins fail on v2\"",
		"is held (INC-7: logins fail on v2)",
		"no PR opened: staging stays at api@",
		"acme/app has hotfixes/login-crash at",
		"in_progress → success",
		"demo finished",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if strings.Count(out.String(), "Job failed") != 0 {
		t.Errorf("a job failed:\n%s", out.String())
	}
	if t.Failed() {
		t.Logf("demo output:\n%s", out.String())
	}
}
