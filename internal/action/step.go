package action

import "context"

// Step is one action of the repository as the binary sees it: `actions <Name>`
// runs Run with a Runtime built from the process, and the embedded action.yml
// gives the inputs that flags may set.
type Step struct {
	Name     string
	Manifest []byte
	Run      func(ctx context.Context, r *Runtime) error
}
