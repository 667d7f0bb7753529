// Package clean makes any text safe to print to a terminal or a log: it
// removes secrets, escapes control and format characters, folds lines and
// cuts what is too long, and defuses the program's own line prefix.
//
// It is a leaf, apart from internal/explain, so that the HTTP layer under
// sts and token can clean its trace lines while explain imports those.
package clean

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
)

// Flatten folds every run of white space in s into one space and cuts it
// to max characters (0: no limit): a server's multi-line message would read
// like several errors, and a long one bury the line that matters.
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

// MaxLine is the most characters of one message or hint line printed, so
// no answer, however large, floods a terminal or a log.
const MaxLine = 4000

// Line makes s safe to print as one line of a terminal or a log: secrets
// redacted (secret.Redact), runs of white space made one space, control,
// format (bidirectional) and invalid characters escaped as \x1b or \u202e,
// the program's prefix defused, and the result cut to MaxLine. It is the
// one function for text that may hold anything a peer sent: every error
// printed, doctor's report, the trace, serve's log.
func Line(s string) string {
	// Cut again after escaping, which can make a line longer.
	return cut(escape(Flatten(secret.Redact(bound(s)), MaxLine)), MaxLine)
}

// Block is Line for text whose line breaks are meant, such as a hint
// that shows a JSON policy: each line is cleaned on its own and keeps its
// indentation.
func Block(s string) string {
	lines := strings.Split(secret.Redact(bound(s)), "\n")
	for i, l := range lines {
		indent := len(l) - len(strings.TrimLeft(l, " "))
		lines[i] = l[:indent] + cut(escape(cut(strings.TrimRight(l[indent:], " "), MaxLine)), MaxLine)
	}
	return strings.Join(lines, "\n")
}

// JSON makes JSON safe for a terminal: the characters encoding/json
// leaves raw but a terminal acts on (DEL, the C1 controls, format
// characters such as bidirectional overrides) are written as \u escapes, so
// the JSON still decodes to the same values; and secrets are redacted, the
// one change to what it decodes to.
func JSON(b []byte) []byte {
	s := secret.Redact(string(b))
	var out strings.Builder
	for _, r := range s {
		if r >= 0x7f && dangerous(r) {
			if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
				fmt.Fprintf(&out, `\u%04x`, r1) // JSON writes the rest of Unicode as a surrogate pair
				r = r2
			}
			fmt.Fprintf(&out, `\u%04x`, r)
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
	if !strings.ContainsFunc(s, dangerous) && !strings.Contains(s, Name) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !dangerous(r):
			b.WriteString(s[i : i+n])
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r > 0xffff:
			fmt.Fprintf(&b, `\U%08x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += n
	}
	return defuse(b.String())
}

// defuse rewrites "gcp-aws-cred:" inside text as "gcp-aws-cred\x3a", so that
// a quoted peer cannot forge a line of ours ("gcp-aws-cred: error: …").
func defuse(s string) string {
	var b strings.Builder
	for {
		before, after, found := strings.Cut(s, Name)
		if !found {
			return b.String() + s
		}
		s = strings.TrimLeft(after, " ")
		b.WriteString(before + Name + after[:len(after)-len(s)])
		if rest, ok := strings.CutPrefix(s, ":"); ok {
			b.WriteString(`\x3a`)
			s = rest
		}
	}
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
