// Package readme keeps each action's README in step with its action.yml: the
// inputs and outputs tables between the markers below are generated, the
// rest of the README is written by hand.
//
//	<!-- action-docs:start -->
//	...generated...
//	<!-- action-docs:end -->
package readme

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/cicd-excellence/actions/internal/action"
)

const (
	startMarker = "<!-- action-docs:start -->"
	endMarker   = "<!-- action-docs:end -->"
)

// ErrNoMarkers means the README has no generated section to fill.
var ErrNoMarkers = errors.New("README has no " + startMarker + " / " + endMarker + " markers")

// Tables renders the inputs and outputs tables of an action.yml.
func Tables(m *action.Manifest) string {
	var b bytes.Buffer
	b.WriteString("### Inputs\n\n")
	if len(m.InputOrder) == 0 {
		b.WriteString("None.\n")
	} else {
		b.WriteString("| Input | Required | Default | Description |\n|---|---|---|---|\n")
		for _, name := range m.InputOrder {
			in := m.Inputs[name]
			req := "no"
			if in.Required {
				req = "**yes**"
			}
			def := ""
			if in.Default != "" {
				def = "`" + strings.ReplaceAll(in.Default, "|", `\|`) + "`"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", name, req, def, cell(in.Description))
		}
	}
	b.WriteString("\n### Outputs\n\n")
	if len(m.OutputOrder) == 0 {
		b.WriteString("None.\n")
	} else {
		b.WriteString("| Output | Description |\n|---|---|\n")
		for _, name := range m.OutputOrder {
			fmt.Fprintf(&b, "| `%s` | %s |\n", name, cell(m.Outputs[name].Description))
		}
	}
	return b.String()
}

func cell(s string) string {
	return strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "|", `\|`)
}

// Update returns readme with its generated section rewritten from m.
func Update(readme []byte, m *action.Manifest) ([]byte, error) {
	s := string(readme)
	i := strings.Index(s, startMarker)
	j := strings.Index(s, endMarker)
	if i < 0 || j < i {
		return nil, ErrNoMarkers
	}
	return []byte(s[:i+len(startMarker)] + "\n" + Tables(m) + s[j:]), nil
}
