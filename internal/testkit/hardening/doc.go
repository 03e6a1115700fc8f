// Package hardening is the adversarial test suite of the actions: a
// catalogue of bad inputs per action (each refused in one line, with nothing
// written), API faults injected at every route a step calls (each run ends
// complete or untouched), secret and workflow-command injection scans of
// everything a step prints or writes, and fuzz.sh, which runs the fuzz
// targets of the packages that parse untrusted text. The package has no
// code of its own: everything is in its _test.go files.
package hardening
