package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestDemo runs `make demo` in-process: the example workflows and the
// reusable workflows they call, under act, against the local GitHub (all
// four repositories private, their rulesets applied by the central job) and
// the registry. run itself checks every stage against the state it left:
// the rulesets of each repository, each image in the registry, each key of
// dev on infra main after the bot's merges, the promotion PR's rows, merges
// refused until a human approved, the Deployment records and what each
// environment runs after every deploy, the hotfix branch at prod's version
// and the hotfix running in staging then prod. The log lines below are what
// a reader of the demo sees.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	log := out.String()
	for _, want := range []string{
		"acme/infra rulesets: Bot branches, Default, Required checks",
		"pushed 127.0.0.1:",
		"[cart/app-pipeline/publish] pushed",
		"[checkout/app-pipeline/publish] pushed",
		"merged PR #",
		"deploy, in order: dev, staging, prod", // converge: never deployed before
		"deploy, in order: staging",
		"deploying dev: VERSION_SHOP_CHECKOUT_TAG=",
		// The bot's promotion PR fails the bot guard until a human approves.
		"may move only dev without a review",
		"the bot guard's limits do not apply: alice approved the head commit",
		"merge refused until reviewed",
		"`shop.checkout.tag`:",
		"Roll back staging: INC-7: logins fail on v2",
		"created hotfixes/login-crash at",
		"refused unreviewed, approved by alice",
		"runs in staging and prod",
		"in_progress → success",
		"demo finished",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if !strings.Contains(log, "VERSION_API_DIGEST=sha256:") {
		t.Error("deploy did not get the api's digest")
	}
	// Checks fail on purpose (a bot PR before its approval); no workflow of
	// the pipeline itself may.
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "Job failed") && !strings.Contains(l, "[check #") {
			t.Errorf("a job failed: %s", l)
		}
	}
	if t.Failed() {
		t.Logf("demo output:\n%s", log)
	}
}
