package action

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Infof prints a log line. Every message is one line: the arguments are
// untrusted (a branch name, a PR title, an API's error text), so every line
// break is escaped and a branch name can never start a line of its own and be
// read by the runner as a workflow command.
//
// These helpers pass format and args straight to fmt.Sprintf so that go vet
// sees them as printf wrappers and checks every call; the escaping is done on
// the formatted message, which works because no format holds a line break.
func (r *Runtime) Infof(format string, args ...any) {
	fmt.Fprintln(r.Stdout, clean(oneLine(fmt.Sprintf(format, args...))))
}

// Noticef prints a notice annotation (a plain line outside Actions).
func (r *Runtime) Noticef(format string, args ...any) {
	msg := oneLine(fmt.Sprintf(format, args...))
	if r.InActions() {
		r.gha.Noticef("%s", msg)
		return
	}
	fmt.Fprintln(r.Stdout, "notice: "+clean(msg))
}

// Warningf prints a warning annotation (a plain line outside Actions).
func (r *Runtime) Warningf(format string, args ...any) {
	msg := oneLine(fmt.Sprintf(format, args...))
	if r.InActions() {
		r.gha.Warningf("%s", msg)
		return
	}
	fmt.Fprintln(r.Stdout, "warning: "+clean(msg))
}

// Debugf prints a debug line: shown by the runner when debug logging is on,
// and outside Actions when RUNNER_DEBUG=1.
func (r *Runtime) Debugf(format string, args ...any) {
	msg := oneLine(fmt.Sprintf(format, args...))
	if r.InActions() {
		r.gha.Debugf("%s", msg)
		return
	}
	if r.Getenv("RUNNER_DEBUG") == "1" {
		fmt.Fprintln(r.Stdout, "debug: "+clean(msg))
	}
}

// oneLine escapes the line breaks of a formatted message.
func oneLine(msg string) string {
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(msg)
}

// clean defuses lines that would start a workflow command ("::name::"). The
// runner only reads commands at the start of a line, so a leading space that
// is not whitespace-trimmed away is not enough; we break the "::" itself.
func clean(msg string) string {
	lines := strings.Split(msg, "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimLeft(l, " \t"), "::") {
			lines[i] = strings.Replace(l, "::", ":\u200b:", 1)
		}
	}
	return strings.Join(lines, "\n")
}

// scrubber replaces registered secrets with *** in everything written
// through it. Each Write is scrubbed on its own, which holds because the
// runtime writes whole lines.
type scrubber struct {
	mu      sync.Mutex
	w       interface{ Write([]byte) (int, error) }
	secrets []string
}

func (s *scrubber) add(secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets = append(s.secrets, secret)
}

func (s *scrubber) has(secret string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.secrets {
		if x == secret {
			return true
		}
	}
	return false
}

func (s *scrubber) Write(p []byte) (int, error) {
	s.mu.Lock()
	secrets := s.secrets
	s.mu.Unlock()
	if len(secrets) == 0 {
		return s.w.Write(p)
	}
	text := string(p)
	for _, sec := range secrets {
		text = strings.ReplaceAll(text, sec, "***")
	}
	if _, err := s.w.Write([]byte(text)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// ErrorAt prints an error annotation pointing at a file (and line, when
// above zero), as a check would; outside Actions a plain "file:line: error"
// line. It does not fail the step: return an error for that.
func (r *Runtime) ErrorAt(file string, line int, format string, args ...any) {
	msg := oneLine(fmt.Sprintf(format, args...))
	if r.InActions() {
		fields := map[string]string{"file": file}
		if line > 0 {
			fields["line"] = strconv.Itoa(line)
		}
		r.gha.WithFieldsMap(fields).Errorf("%s", msg)
		return
	}
	loc := file
	if line > 0 {
		loc = fmt.Sprintf("%s:%d", file, line)
	}
	fmt.Fprintf(r.Stdout, "%s: error: %s\n", loc, clean(msg))
}
