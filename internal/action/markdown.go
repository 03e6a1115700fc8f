package action

import "strings"

var mdReplacer = strings.NewReplacer("<", "&lt;", ">", "&gt;", "|", `\|`, "*", `\*`, "_", `\_`, "`", "'", "[", `\[`, "\n", " ", "\r", " ")

// MDEscape makes untrusted text (branch names, titles) safe to place in a
// Markdown job summary: no HTML, no links, no table breaks.
func MDEscape(s string) string { return mdReplacer.Replace(s) }

// MDCode renders s as inline code; backticks are dropped so it cannot close
// the span early.
func MDCode(s string) string {
	if s == "" {
		return ""
	}
	return "`" + strings.NewReplacer("`", "", "\n", " ", "\r", " ", "|", `\|`).Replace(s) + "`"
}
