// Package output renders credentials in the formats of
// `aws configure export-credentials --format`: the credential_process JSON
// document, and lines for POSIX shells, fish, PowerShell and cmd. It serves
// this command only and depends on nothing of ours but the credentials value.
//
// Every encoder builds the whole text for one Write, so a reader of stdout
// never sees half a document. A value a format cannot carry exactly
// (invalid UTF-8 in JSON, most punctuation in cmd) is an error, never an
// altered secret or text a shell would run; so is a control character in
// any format: no AWS value has one, and a line break in a quoted value is a
// command to a reader going line by line (`while read -r l; do eval "$l"`).
package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
)

// Format names an output format.
type Format string

// The formats, named as the AWS CLI names them.
const (
	Process     Format = "process"
	Env         Format = "env"
	EnvNoExport Format = "env-no-export"
	Fish        Format = "fish"
	PowerShell  Format = "powershell"
	WindowsCmd  Format = "windows-cmd"
)

// Document is the credential_process JSON document. Field order and key case
// are part of the contract: Go's SDK matches keys case-insensitively, the
// others do not.
type Document struct {
	Version         int    `json:"Version"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken"`
	Expiration      string `json:"Expiration"`
	AccountID       string `json:"AccountId,omitempty"`
}

// Var is one environment variable.
type Var struct{ Name, Value string }

// Vars are the variables that carry c to the AWS CLI and SDKs, as
// `aws configure export-credentials` names them.
func Vars(c awscred.Credentials) []Var {
	return []Var{
		{"AWS_ACCESS_KEY_ID", c.AccessKeyID},
		{"AWS_SECRET_ACCESS_KEY", c.SecretAccessKey.Reveal()},
		{"AWS_SESSION_TOKEN", c.SessionToken.Reveal()},
		{"AWS_CREDENTIAL_EXPIRATION", expiration(c.Expiration)},
	}
}

// Encode renders c in format f.
func Encode(f Format, c awscred.Credentials) ([]byte, error) {
	if c.Expiration.IsZero() {
		// Without Expiration every SDK treats the keys as eternal and never
		// calls us again, long after STS has stopped honouring them.
		return nil, errors.New("credentials have no expiration")
	}
	if f == Process || f == "" {
		return encodeProcess(c)
	}
	return EncodeVars(f, Vars(c))
}

// EncodeVars renders vars as lines for the shell of format f (not Process,
// a document), quoted for it.
func EncodeVars(f Format, vars []Var) ([]byte, error) {
	sh, ok := shells[f]
	if !ok {
		return nil, fmt.Errorf("unknown output format %q", f)
	}
	var b strings.Builder
	for _, v := range vars {
		if err := noControl(v.Value); err != nil {
			return nil, fmt.Errorf("%s: %w", v.Name, err)
		}
		q, err := sh.quote(v.Value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", v.Name, err)
		}
		b.WriteString(sh.prefix + v.Name + sh.sep + q + sh.eol)
	}
	return []byte(b.String()), nil
}

// shells make a variable's line: prefix, name, sep, quoted value, eol.
var shells = map[Format]struct {
	prefix, sep, eol string
	quote            func(string) (string, error)
}{
	Env:         {"export ", "=", "\n", posixQuote},
	EnvNoExport: {"", "=", "\n", posixQuote},
	Fish:        {"set -gx ", " ", "\n", fishQuote},
	PowerShell:  {"$Env:", "=", "\r\n", powershellQuote},
	WindowsCmd:  {"set ", "=", "\r\n", cmdQuote},
}

func expiration(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func encodeProcess(c awscred.Credentials) ([]byte, error) {
	doc := Document{
		Version:         1,
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey.Reveal(),
		SessionToken:    c.SessionToken.Reveal(),
		Expiration:      expiration(c.Expiration),
		AccountID:       c.AccountID,
	}
	for _, v := range []struct{ name, val string }{
		{"AccessKeyId", doc.AccessKeyID}, {"SecretAccessKey", doc.SecretAccessKey},
		{"SessionToken", doc.SessionToken}, {"AccountId", doc.AccountID},
	} {
		// encoding/json would replace invalid UTF-8 with U+FFFD, handing the
		// SDK a different secret than STS issued.
		if !utf8.ValidString(v.val) {
			return nil, fmt.Errorf("%s is not valid UTF-8 and cannot be put in JSON unchanged", v.name)
		}
		if err := noControl(v.val); err != nil {
			return nil, fmt.Errorf("%s %w", v.name, err)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	// On Windows the Go SDK rewrites every \" in the output to " before
	// parsing it (aws-sdk-go-v2 processcreds), breaking a string at a
	// value's " or final \. As \u escapes they mean the same to every JSON
	// reader; every \ in encoding/json's output begins an escape, and the
	// replacer takes them pairwise from the left, so \\\" is two escapes.
	return []byte(windowsSafe.Replace(buf.String())), nil
}

var windowsSafe = strings.NewReplacer(`\\`, `\u005c`, `\"`, `\u0022`)

// bare reports whether s can stand unquoted in every supported shell. Real
// AWS keys and tokens are in this set, so the usual output matches the AWS
// CLI's byte for byte.
func bare(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		case strings.ContainsRune("_-+/=.:,@", r):
		default:
			return false
		}
	}
	return true
}

// noControl refuses control characters: C0 (NUL, CR, LF, ESC…), DEL and
// C1, whether as characters or as raw bytes outside UTF-8 (0x9b is a
// terminal's CSI). No AWS key, token or account ID contains one.
func noControl(s string) error {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 && 0x80 <= s[i] && s[i] < 0xa0 {
			r = rune(s[i])
		}
		if unicode.IsControl(r) {
			return fmt.Errorf("contains the control character %U, which no AWS credential has; a reader going line by line, or a terminal, would act on it", r)
		}
		i += n
	}
	return nil
}

// posixQuote single-quotes s for sh, bash and zsh, where nothing inside
// single quotes is special; a quote itself is closed, escaped and reopened.
func posixQuote(s string) (string, error) {
	if bare(s) {
		return s, nil
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'", nil
}

// fishQuote writes the AWS CLI's double quotes for plain values and single
// quotes otherwise, where only \ and ' are special in fish.
func fishQuote(s string) (string, error) {
	if bare(s) {
		return `"` + s + `"`, nil
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'", nil
}

// powershellQuote uses the AWS CLI's double quotes for plain values and a
// verbatim single-quoted string otherwise. PowerShell takes the typographic
// single quotes as quotes too, so they are doubled like the ASCII one.
func powershellQuote(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", errors.New("is not valid UTF-8")
	}
	if bare(s) {
		return `"` + s + `"`, nil
	}
	return "'" + powershellQuotes.Replace(s) + "'", nil
}

var powershellQuotes = strings.NewReplacer("'", "''", "\u2018", "\u2018\u2018", "\u2019", "\u2019\u2019", "\u201a", "\u201a\u201a", "\u201b", "\u201b\u201b")

// cmdQuote accepts only values that need no quoting: cmd has no quoting that
// keeps %, ! and line breaks literal in every context.
func cmdQuote(s string) (string, error) {
	if !bare(s) {
		return "", errors.New("has characters that cmd.exe cannot take literally; use --output powershell")
	}
	return s, nil
}
