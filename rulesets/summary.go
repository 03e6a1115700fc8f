package rulesets

import (
	"fmt"
	"strings"

	"github.com/cicd-excellence/actions/internal/action"
)

// Summary renders a report as the job summary. For verify it is the
// evidence of the control: every repository, ruleset and rule with its
// status, the separation-of-duties checks, and when it was checked.
func Summary(rep Report) string {
	var b strings.Builder
	if rep.Command == CommandApply {
		title := "Rulesets apply"
		if rep.DryRun {
			title += " (dry run: nothing written)"
		}
		fmt.Fprintf(&b, "### %s\n\nRun at %s.\n\n", title, rep.Time)
		perRepo(&b, rep)
		b.WriteString("| Repository | Ruleset | Source | Result | Changes |\n|---|---|---|---|---|\n")
		for _, rr := range rep.Repositories {
			if rr.Error != "" {
				fmt.Fprintf(&b, "| %s |  |  | error | %s |\n", action.MDEscape(rr.Repository), action.MDEscape(rr.Error))
			}
			for _, rs := range rr.Rulesets {
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", action.MDEscape(rr.Repository), action.MDEscape(rs.Name),
					action.MDEscape(rs.Source), rs.Status, action.MDEscape(joinChanges(rs.Changes)))
			}
		}
		return b.String()
	}

	verdict := "in place"
	if rep.Drift {
		verdict = "drift found"
	}
	for _, rr := range rep.Repositories {
		if rr.Error != "" {
			verdict = "could not be verified"
		}
	}
	fmt.Fprintf(&b, "### Rulesets verify: %s\n\nChecked at **%s** (UTC) through the GitHub REST API, read-only. ", verdict, rep.Time)
	b.WriteString("Each row compares the live ruleset with the desired one (a file of the repository or a shipped preset).\n\n")
	perRepo(&b, rep)
	if hasControls(rep) {
		b.WriteString("#### Controls\n\n")
		b.WriteString("One line per control of the presets asked for. A control is never shown as verified on what GitHub did not show the token.\n\n")
		b.WriteString("| Repository | Control | Status | Detail |\n|---|---|---|---|\n")
		for _, rr := range rep.Repositories {
			for _, c := range rr.Controls {
				fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", action.MDEscape(rr.Repository), action.MDEscape(c.Title), status(c.Status), action.MDEscape(c.Detail))
			}
		}
		b.WriteString("\n#### Rulesets\n\n")
	}
	b.WriteString("| Repository | Ruleset | Item | Status | Detail |\n|---|---|---|---|---|\n")
	for _, rr := range rep.Repositories {
		if rr.Error != "" {
			fmt.Fprintf(&b, "| %s |  |  | error | %s |\n", action.MDEscape(rr.Repository), action.MDEscape(rr.Error))
		}
		for _, rs := range rr.Rulesets {
			name := action.MDEscape(rs.Name)
			if rs.ID != 0 {
				name += fmt.Sprintf(" (id %d)", rs.ID)
			}
			name += " — " + action.MDEscape(rs.Source)
			for _, it := range rs.Items {
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", action.MDEscape(rr.Repository), name, action.MDEscape(it.Name), status(it.Status), action.MDEscape(it.Detail))
			}
			for _, n := range rs.Notes {
				fmt.Fprintf(&b, "| %s | %s | note |  | %s |\n", action.MDEscape(rr.Repository), name, action.MDEscape(n))
			}
		}
	}

	b.WriteString("\n#### ★ Separation of duties\n\n")
	b.WriteString("Checked on the rules in force on each default branch, from every active ruleset that applies (organization rulesets included).\n\n")
	b.WriteString("| Repository | Branch | Control | Status | Detail |\n|---|---|---|---|---|\n")
	for _, rr := range rep.Repositories {
		for _, c := range rr.SeparationOfDuties {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", action.MDEscape(rr.Repository), action.MDEscape(rr.DefaultBranch), action.MDEscape(c.Title), status(c.Status), action.MDEscape(c.Detail))
		}
	}
	b.WriteString("\n" + limits + "\n")
	return b.String()
}

// limits is what a repository token cannot show, said in every verify
// summary so the evidence does not claim more than it checked.
const limits = "**Not visible through the API to a repository token**, so not verified here: the bypass lists of " +
	"organization- and enterprise-level rulesets (their rules in force are checked above), the members of a team or the holders of " +
	"a role that may bypass, and who actually approved past pull requests. An auditor checks those in the organization's " +
	"settings and its audit log."

func status(s string) string {
	switch s {
	case StatusOK, Verified:
		return "✅ " + s
	case StatusDrift, StatusMissing, NotVerified:
		return "❌ " + s
	case StatusUnverified:
		return "⚠️ " + s
	}
	return s
}

// perRepo is the one-line-per-repository result table.
func perRepo(b *strings.Builder, rep Report) {
	b.WriteString("| Repository | Result |\n|---|---|\n")
	for _, rr := range rep.Repositories {
		res := rr.Result
		switch {
		case rr.Error != "":
			res = "❌ error: " + rr.Error
		case res == "ok":
			res = "✅ ok"
		case strings.HasPrefix(res, "drift"):
			res = "❌ " + res
		case strings.HasPrefix(res, "not verifiable"):
			res = "⚠️ " + res
		}
		fmt.Fprintf(b, "| %s | %s |\n", action.MDEscape(rr.Repository), action.MDEscape(res))
	}
	b.WriteString("\n")
}

func hasControls(rep Report) bool {
	for _, rr := range rep.Repositories {
		if len(rr.Controls) > 0 {
			return true
		}
	}
	return false
}
