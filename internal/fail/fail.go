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
// An Exit error prints nothing: its command has said what it had to say.
func Print(w io.Writer, prog string, err error) {
	if _, ok := errors.AsType[exit](err); ok {
		return
	}
	var b strings.Builder
	b.WriteString(Indent(prog+": error: ", "", Flatten(err.Error(), 0)))
	for _, h := range Hints(err) {
		b.WriteString(Indent(prog+": hint: ", "    ", h))
	}
	// One write, so a reader that captures stderr sees the message whole.
	_, _ = io.WriteString(w, b.String())
}

// Indent writes text after first, and each further line of it after rest,
// each line ending in a newline: how a multi-line hint or value is shown
// under its label.
func Indent(first, rest, text string) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	var b strings.Builder
	b.WriteString(first + lines[0] + "\n")
	for _, l := range lines[1:] {
		b.WriteString(rest + l + "\n")
	}
	return b.String()
}

// Exit is an error that asks the program to exit with code, printing
// nothing: a command that ran (exec's child) has already spoken for itself.
func Exit(code int) error { return exit(code) }

type exit int

func (e exit) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// ExitCode is the status to exit with.
func (e exit) ExitCode() int { return int(e) }

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

// Flatten puts s on one line, folding every run of white space into one
// space, and cuts it to max characters (0: no limit). A multi-line message
// from a server would otherwise read like several errors, and a long one
// would bury the line that matters.
func Flatten(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); max > 0 && len(r) > max {
		s = string(r[:max]) + "…"
	}
	return s
}
