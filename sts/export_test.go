package sts

import (
	"io"
)

// The words of sts's errors are internal/explain's, which imports sts, so
// these tests cannot import it: words_test.go, outside the package, sets
// these to explain's functions.
var (
	// Words is the message a person reads for err.
	Words = func(err error) string { return err.Error() }
	// Hints are the hints printed under it.
	Hints = func(error) []string { return nil }
	// Print writes err as the program does.
	Print = func(w io.Writer, err error) { _, _ = io.WriteString(w, err.Error()) }
)
