package action

import (
	"fmt"
	"strings"
)

// ParseOutputFile reads a $GITHUB_OUTPUT (or $GITHUB_ENV) file the way the
// runner does: name=value lines and name<<DELIMITER heredocs. Tests use it to
// check what a step really wrote, injection attempts included.
func ParseOutputFile(data string) (map[string]string, error) {
	out := map[string]string{}
	lines := strings.Split(strings.ReplaceAll(data, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		eq, heredoc := strings.Index(line, "="), strings.Index(line, "<<")
		if heredoc >= 0 && (eq < 0 || heredoc < eq) {
			name, delim := line[:heredoc], line[heredoc+2:]
			var value []string
			closed := false
			for i++; i < len(lines); i++ {
				if lines[i] == delim {
					closed = true
					break
				}
				value = append(value, lines[i])
			}
			if !closed {
				return nil, fmt.Errorf("output %s: delimiter %s never closes", name, delim)
			}
			out[name] = strings.Join(value, "\n")
			continue
		}
		if eq < 0 {
			return nil, fmt.Errorf("invalid line %q", line)
		}
		out[line[:eq]] = line[eq+1:]
	}
	return out, nil
}
