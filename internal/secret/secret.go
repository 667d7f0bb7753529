// Package secret holds values that must never reach a log, an error message
// or a panic: the Google ID token, the AWS secret key and the session token.
//
// A secret.String renders as "[REDACTED]" under every fmt verb, slog, JSON
// and text marshalling; Reveal, easy to grep for, is the one way to read
// it. A type cannot stop a peer from echoing a secret back, so New also
// remembers each value and Redact removes it from text about to be printed.
package secret

import (
	"fmt"
	"log/slog"
)

// Redacted is what a secret prints as.
const Redacted = "[REDACTED]"

// String is a secret string; the zero value is empty. It is a struct, not
// a named string type, so that string(s) does not compile.
type String struct{ v string }

// New wraps v and remembers it for Redact.
func New(v string) String {
	register(v)
	return String{v: v}
}

// Reveal returns the secret, only where it leaves the process on purpose:
// the STS request, the credential document, a child's environment.
func (s String) Reveal() string { return s.v }

// String implements fmt.Stringer.
func (String) String() string { return Redacted }

// GoString implements fmt.GoStringer so %#v does not show the field.
func (String) GoString() string { return "secret.String{" + Redacted + "}" }

// Format implements fmt.Formatter: %x, %q and friends would otherwise
// bypass String and print the bytes.
func (s String) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = f.Write([]byte(Redacted))
}

// LogValue implements slog.LogValuer.
func (String) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalText implements encoding.TextMarshaler, which encoding/json also
// uses, so a secret inside a struct cannot be serialised by accident.
func (String) MarshalText() ([]byte, error) { return []byte(Redacted), nil }
