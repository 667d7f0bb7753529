// Package fail carries errors written for the person reading stderr, and
// makes any text safe to print there.
//
// Each package returns a *fail.Error whose message names what failed and the
// value that matters (host, endpoint, role), plus hints when a fix is known.
// The wrapped cause stays reachable for errors.Is and errors.As but is never
// printed on its own, because a cause from deep in a library may quote
// things we do not control.
//
// Messages still carry text from peers (an STS error message, a metadata
// server's body, a token's claims), so everything printed goes through Clean
// or CleanBlock first: secrets are removed, control characters escaped, and
// our own line prefix cannot be forged. Print does it for errors; anything
// else that prints what a peer said (doctor's report, the --verbose trace,
// serve's log) must call them too.
package fail

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
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
// Every line is cleaned (see Clean). An Exit error prints nothing: its
// command has said what it had to say.
func Print(w io.Writer, prog string, err error) {
	if _, ok := errors.AsType[exit](err); ok {
		return
	}
	var b strings.Builder
	b.WriteString(Indent(prog+": error: ", "", Clean(err.Error())))
	for _, h := range Hints(err) {
		b.WriteString(Indent(prog+": hint: ", "    ", CleanBlock(h)))
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
	if max > 0 {
		s = cut(s, max)
	}
	return s
}

// Name is the program's name, which starts every line it writes to stderr.
// Text from elsewhere may not contain it followed by a colon, so that no
// peer can make a line look like one of ours.
const Name = "gcp-aws-cred"

// MaxLine is the most characters of one message or hint line printed: a
// peer's text is cut to it, so no answer, however large, floods a terminal
// or a log.
const MaxLine = 4000

// Clean makes s safe to print as one line of a terminal or a log: every
// secret made in this process, and any recognisable fragment of one, is
// replaced by [REDACTED] (even when a peer split it with white space); runs
// of white space become one space; control, format (bidirectional) and
// invalid characters are shown escaped, as \x1b or \u202e; the program's
// line prefix is defused; and the result is cut to MaxLine characters.
//
// It is the one function for text that may hold anything a peer sent:
// Print calls it on every error, doctor on its report, the trace on each
// line, serve on its log lines.
func Clean(s string) string {
	// Cut again after escaping, which can make a line longer.
	return cut(escape(Flatten(secret.Redact(bound(s)), MaxLine)), MaxLine)
}

// CleanBlock is Clean for text whose line breaks are meant, such as a hint
// that shows a JSON policy: each line is cleaned on its own and keeps its
// indentation.
func CleanBlock(s string) string {
	lines := strings.Split(secret.Redact(bound(s)), "\n")
	for i, l := range lines {
		indent := len(l) - len(strings.TrimLeft(l, " "))
		lines[i] = l[:indent] + cut(escape(cut(strings.TrimRight(l[indent:], " "), MaxLine)), MaxLine)
	}
	return strings.Join(lines, "\n")
}

// CleanJSON makes JSON safe for a terminal: the characters encoding/json
// leaves raw but a terminal acts on (DEL, the C1 controls, format
// characters such as bidirectional overrides) are written as \u escapes, so
// the JSON still decodes to the same values; and secrets are redacted, the
// one change to what it decodes to.
func CleanJSON(b []byte) []byte {
	s := secret.Redact(string(b))
	var out strings.Builder
	for _, r := range s {
		if r >= 0x7f && dangerous(r) {
			if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
				hexEscape(&out, 'u', r1, 4) // JSON writes the rest of Unicode as a surrogate pair
				r = r2
			}
			hexEscape(&out, 'u', r, 4)
			continue
		}
		out.WriteRune(r)
	}
	return []byte(out.String())
}

// dangerous reports whether a terminal could act on r, or hide text with it:
// controls, format characters, invalid bytes, and white space other than
// ASCII's (U+2028 ends a line for some readers).
func dangerous(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError || r >= 0x80 && unicode.IsSpace(r)
}

// escape writes control, format and invalid characters as escapes, and
// defuses the program's own prefix.
func escape(s string) string {
	clean := true
	for _, r := range s {
		if dangerous(r) {
			clean = false
			break
		}
	}
	if clean && !strings.Contains(s, Name) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			hexEscape(&b, 'x', rune(s[i]), 2)
		case r < 0x100 && dangerous(r):
			hexEscape(&b, 'x', r, 2)
		case r > 0xffff && dangerous(r):
			hexEscape(&b, 'U', r, 8)
		case dangerous(r):
			hexEscape(&b, 'u', r, 4)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return defuse(b.String())
}

// hexEscape writes r as a backslash, kind, and digits hex digits.
func hexEscape(b *strings.Builder, kind byte, r rune, digits int) {
	const hex = "0123456789abcdef"
	b.WriteByte('\\')
	b.WriteByte(kind)
	for shift := 4 * (digits - 1); shift >= 0; shift -= 4 {
		b.WriteByte(hex[r>>shift&0xf])
	}
}

// defuse rewrites "gcp-aws-cred:" inside text as "gcp-aws-cred\x3a", so that
// a message that quotes a peer cannot carry what looks like a line of ours,
// such as a forged "gcp-aws-cred: error: …" after its line breaks were
// collapsed.
func defuse(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, Name)
		if i < 0 {
			break
		}
		k := i + len(Name)
		for k < len(s) && s[k] == ' ' {
			k++
		}
		b.WriteString(s[:k])
		if k < len(s) && s[k] == ':' {
			b.WriteString(`\x3a`)
			k++
		}
		s = s[k:]
	}
	b.WriteString(s)
	return b.String()
}

// bound cuts s to what the longest printable line could need, before any
// work proportional to its length.
func bound(s string) string {
	const max = 4 * MaxLine // UTF-8 takes at most 4 bytes a character
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

func cut(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max]) + "…"
}
