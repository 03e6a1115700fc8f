// Package action is the runtime every step of the actions binary runs in: typed
// inputs, safely delimited outputs, masks, log groups, the job summary and the
// error boundary that turns a Go error into one ::error annotation.
//
// It wraps github.com/sethvargo/go-githubactions for workflow commands but
// writes outputs itself: go-githubactions uses a fixed heredoc delimiter, so a
// value that contains it could inject further outputs.
package action
