package token

import (
	"io"
	"time"
)

// internal/explain words token's errors, so it imports token, and token's
// own tests cannot import it: words_test.go (package token_test) sets
// these to explain's functions, so that a test reads a failure as the
// command line prints it.
var (
	// Explain is explain.Given.Explain for a run bounded by --timeout
	// timeout (0: no run deadline).
	Explain func(timeout time.Duration, err error) error
	// Print is explain.Print of the explained error.
	Print func(w io.Writer, err error)
	// Hints is explain.Hints of the explained error.
	Hints func(err error) []string
)
