// Package explain is the one place that speaks to the person reading stderr:
// it turns the typed errors of the packages below the command line (sts,
// token), which carry data and name no flag, into a message and hints in
// the words of the command line that ran (Given), and prints them. It is
// the only code that knows flag names and how a value was typed.
//
// An *Error's cause stays reachable for errors.Is and errors.As but is
// never printed on its own: a cause from deep in a library may quote
// things we do not control. Messages still carry text from peers, so
// everything printed goes through clean.Line or clean.Block (secrets
// removed, control characters escaped, our line prefix unforgeable); any
// other code that prints what a peer said must call them too.
package explain

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/clean"
)

// Error is a failure with a user-facing message and optional hints.
type Error struct {
	Msg   string   // printed after "error: "
	Hints []string // each printed on its own "hint: " line
	Err   error    // the cause, for errors.Is and errors.As

	worded       bool // Explain made it, and has nothing more to do with it
	atDeadline   bool // the run's deadline ended it (AtDeadline)
	flag, format string
	value        any // with flag and format: Msg quotes a flag's value (Quote)
}

// Error returns Msg alone; hints are printed separately by Print. An Error
// with no Msg only adds hints to its cause, and says what the cause says.
func (e *Error) Error() string {
	if e.Msg == "" && e.Err != nil {
		return e.Err.Error()
	}
	return e.Msg
}

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
// hint in its chain, every line cleaned; a multi-line hint is indented
// after its first line, so JSON in a hint stays readable. An Exit error
// prints nothing: its command has said what it had to say.
func Print(w io.Writer, prog string, err error) {
	if _, ok := errors.AsType[exit](err); ok {
		return
	}
	var b strings.Builder
	b.WriteString(Indent(prog+": error: ", "", clean.Line(err.Error())))
	for _, h := range Hints(err) {
		b.WriteString(Indent(prog+": hint: ", "    ", clean.Block(h)))
	}
	// One write, so a reader that captures stderr sees the message whole.
	_, _ = io.WriteString(w, b.String())
}

// Indent writes text after first, and each further line of it after rest,
// each line ending in a newline.
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
	for e, ok := errors.AsType[*Error](err); ok; e, ok = errors.AsType[*Error](e.Err) {
		hints = append(hints, e.Hints...)
	}
	return hints
}

// Cause is the innermost error of err's chain, which for network errors is
// the part a user can act on ("connection refused", "i/o timeout") without
// the URL and operation that wrap it.
func Cause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}
