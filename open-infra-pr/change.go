package openinfrapr

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/cicd-excellence/actions/internal/envfile"
	"github.com/cicd-excellence/actions/internal/refname"
)

// BranchPrefix starts every branch this action creates unless
// Config.BranchPrefix says otherwise: validate's bot guard and the
// bot-branches rulesets preset recognise the bot's PRs by it.
const BranchPrefix = refname.BotBranchPrefix

// Branch is the PR branch for a change. It is derived from which keys of
// which file change, not from the values: every run that moves the same keys
// meets on the same branch and PR (see branch.go), and a rerun finds its own.
func Branch(prefix, environment, file string, edits []envfile.Edit) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", environment, file)
	keys := make([]string, len(edits))
	for i, e := range edits {
		keys[i] = e.Path.String()
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "%s\x00", k)
	}
	if prefix == "" {
		prefix = BranchPrefix
	}
	return prefix + environment + "/" + hex.EncodeToString(h.Sum(nil))[:12]
}

// Marker is the machine-readable record in a PR body that lets a later run
// recognise its own PRs (for reuse and superseding) without trusting titles.
type Marker struct {
	Environment string            `json:"environment"`
	File        string            `json:"file"`
	Values      map[string]string `json:"values"`
	AppRepo     string            `json:"app_repo,omitempty"`
}

const markerPrefix = "<!-- cicd-excellence:open-infra-pr "

var markerRE = regexp.MustCompile(`<!-- cicd-excellence:open-infra-pr (\{.*?\}) -->`)

func (m Marker) String() string {
	b, _ := json.Marshal(m)
	// "--" would end the HTML comment early.
	return markerPrefix + strings.ReplaceAll(string(b), "--", `-\u002d`) + " -->"
}

// ParseMarker finds the marker in a PR body.
func ParseMarker(body string) (Marker, bool) {
	m := markerRE.FindStringSubmatch(body)
	if m == nil {
		return Marker{}, false
	}
	var mk Marker
	if json.Unmarshal([]byte(m[1]), &mk) != nil || mk.Environment == "" {
		return Marker{}, false
	}
	return mk, true
}

// Expand fills a title or body template.
func Expand(tmpl string, c Config, changes []envfile.Change) string {
	parts := make([]string, len(changes))
	for i, ch := range changes {
		parts[i] = fmt.Sprintf("%s %s", ch.Path, short(ch.New))
	}
	app := ""
	if c.AppOwner != "" {
		app = c.AppOwner + "/" + c.AppRepo
	}
	return strings.NewReplacer(
		"{environment}", c.Environment,
		"{file}", c.File,
		"{changes}", strings.Join(parts, ", "),
		"{sha}", c.SourceSHA,
		"{short_sha}", short(c.SourceSHA),
		"{app_repo}", app,
	).Replace(tmpl)
}

// Body is the PR body: the user's text, a before → after table with compare
// links into the app repo (the changelog of the change), and the marker.
func Body(c Config, changes []envfile.Change, values map[string]string) string {
	var b strings.Builder
	if c.Body != "" {
		b.WriteString(Expand(c.Body, c, changes))
		b.WriteString("\n\n")
	}
	if c.PromoteFrom != "" {
		fmt.Fprintf(&b, "Promotes **%s** to **%s**.\n\n", c.PromoteFrom, c.Environment)
	} else {
		fmt.Fprintf(&b, "Moves **%s** to new versions.\n\n", c.Environment)
	}
	b.WriteString(ChangeTable(c, changes))
	if c.RunURL != "" {
		fmt.Fprintf(&b, "\nOpened by [a workflow run](%s)", c.RunURL)
		if c.Actor != "" {
			fmt.Fprintf(&b, " triggered by @%s", c.Actor)
		}
		b.WriteString(".\n")
	}
	app := ""
	if c.AppOwner != "" {
		app = c.AppOwner + "/" + c.AppRepo
	}
	b.WriteString("\n" + Marker{Environment: c.Environment, File: c.File, Values: values, AppRepo: app}.String() + "\n")
	return b.String()
}

// ChangeTable renders the changes as Markdown, with compare links when both
// sides are commit SHAs of the app repo.
func ChangeTable(c Config, changes []envfile.Change) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| Environment | Key | Before | After | Changes |\n|---|---|---|---|---|\n")
	for _, ch := range changes {
		link := ""
		owner, repo, _ := c.App(ch.Path)
		switch {
		case owner != "" && isSHA(ch.Old) && isSHA(ch.New):
			link = fmt.Sprintf("[compare](%s/%s/%s/compare/%s...%s)", c.ServerURL, owner, repo, ch.Old, ch.New)
		case owner != "" && isSHA(ch.New):
			link = fmt.Sprintf("[commit](%s/%s/%s/commit/%s)", c.ServerURL, owner, repo, ch.New)
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s |\n", c.Environment, ch.Path, code(ch.Old), code(ch.New), link)
	}
	return b.String()
}

func code(s string) string {
	if s == "" {
		return "(none)"
	}
	return "`" + strings.NewReplacer("`", "", "|", `\|`).Replace(s) + "`"
}

func isSHA(s string) bool { return refname.IsFullSHA(s) }

func short(s string) string {
	if isSHA(s) {
		return s[:7]
	}
	return envfile.ShortDigest(s)
}
