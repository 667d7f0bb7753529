// Package fail carries errors written for the person reading stderr.
//
// Each package returns a *fail.Error whose message names what failed and the
// value that matters (host, endpoint, role), plus hints when a fix is known.
// The wrapped cause stays reachable for errors.Is and errors.As but is never
// printed on its own, because a cause from deep in a library may quote
// things we do not control.
package fail

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Error is a failure with a user-facing message and optional hints.
type Error struct {
	// Msg says what failed; it is printed after "error: ".
	Msg string
	// Hints are fixes, each printed on its own "hint: " line.
	Hints []string
	// Err is the cause, kept for errors.Is and errors.As.
	Err error
}

// Error returns Msg alone; hints are printed separately by Print.
func (e *Error) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error around cause with a formatted message.
func Errorf(cause error, format string, args ...any) *Error {
	return &Error{Msg: fmt.Sprintf(format, args...), Err: cause}
}

// Hint appends hints and returns e, so construction reads as one expression.
func (e *Error) Hint(hints ...string) *Error {
	e.Hints = append(e.Hints, hints...)
	return e
}

// Print writes err to w as "prog: error: …" and one "prog: hint: …" line per
// hint found anywhere in its chain. Multi-line hints keep the prefix on their
// first line only and are indented after it, so JSON in a hint stays readable.
func Print(w io.Writer, prog string, err error) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: error: %s\n", prog, oneLine(err.Error()))
	for _, h := range Hints(err) {
		lines := strings.Split(strings.TrimRight(h, "\n"), "\n")
		fmt.Fprintf(&b, "%s: hint: %s\n", prog, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(&b, "    %s\n", l)
		}
	}
	// One write, so a reader that captures stderr sees the message whole.
	_, _ = io.WriteString(w, b.String())
}

// Hints collects the hints of every *Error in err's chain, outermost first.
func Hints(err error) []string {
	var hints []string
	for err != nil {
		var fe *Error
		if !errors.As(err, &fe) {
			break
		}
		hints = append(hints, fe.Hints...)
		err = fe.Err
	}
	return hints
}

// Cause returns the last part of a wrapped error's text, which for network
// errors is the part a user can act on ("connection refused", "i/o
// timeout") without the URL and operation that wrap it.
func Cause(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && i+2 < len(s) {
		return s[i+2:]
	}
	return s
}

// oneLine keeps the error on one line: a multi-line message from a server
// would otherwise read like several errors.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
