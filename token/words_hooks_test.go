package token

import (
	"io"
	"time"
)

// internal/fail words token's errors, so it imports token, and token's
// own tests cannot import it: words_test.go (package token_test) sets
// these to fail's functions, so that a test reads a failure as the
// command line prints it.
var (
	// Explain is fail.Given.Explain for a run bounded by --timeout
	// timeout (0: no run deadline).
	Explain func(timeout time.Duration, err error) error
	// Print is fail.Print of the explained error.
	Print func(w io.Writer, err error)
	// Hints is fail.Hints of the explained error.
	Hints func(err error) []string
)
