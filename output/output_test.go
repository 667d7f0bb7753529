package output

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
)

// formats lists every format, default first.
var formats = []Format{Process, Env, EnvNoExport, Fish, PowerShell, WindowsCmd}

var creds = awscred.Credentials{
	AccessKeyID:     "ASIAEXAMPLE123",
	SecretAccessKey: secret.New("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
	SessionToken:    secret.New("FwoGZXIvYXdzEJr//////////wEaDH=="),
	Expiration:      time.Date(2026, 11, 29, 1, 0, 0, 0, time.FixedZone("JST", 9*3600)),
	AccountID:       "123456789012",
}

func TestGolden(t *testing.T) {
	for f, want := range map[Format]string{
		Process:     `{"Version":1,"AccessKeyId":"ASIAEXAMPLE123","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY","SessionToken":"FwoGZXIvYXdzEJr//////////wEaDH==","Expiration":"2026-11-28T16:00:00Z","AccountId":"123456789012"}` + "\n",
		Env:         "export AWS_ACCESS_KEY_ID=ASIAEXAMPLE123\nexport AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\nexport AWS_SESSION_TOKEN=FwoGZXIvYXdzEJr//////////wEaDH==\nexport AWS_CREDENTIAL_EXPIRATION=2026-11-28T16:00:00Z\n",
		EnvNoExport: "AWS_ACCESS_KEY_ID=ASIAEXAMPLE123\nAWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\nAWS_SESSION_TOKEN=FwoGZXIvYXdzEJr//////////wEaDH==\nAWS_CREDENTIAL_EXPIRATION=2026-11-28T16:00:00Z\n",
		Fish:        "set -gx AWS_ACCESS_KEY_ID \"ASIAEXAMPLE123\"\nset -gx AWS_SECRET_ACCESS_KEY \"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\"\nset -gx AWS_SESSION_TOKEN \"FwoGZXIvYXdzEJr//////////wEaDH==\"\nset -gx AWS_CREDENTIAL_EXPIRATION \"2026-11-28T16:00:00Z\"\n",
		PowerShell:  "$Env:AWS_ACCESS_KEY_ID=\"ASIAEXAMPLE123\"\r\n$Env:AWS_SECRET_ACCESS_KEY=\"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\"\r\n$Env:AWS_SESSION_TOKEN=\"FwoGZXIvYXdzEJr//////////wEaDH==\"\r\n$Env:AWS_CREDENTIAL_EXPIRATION=\"2026-11-28T16:00:00Z\"\r\n",
		WindowsCmd:  "set AWS_ACCESS_KEY_ID=ASIAEXAMPLE123\r\nset AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\r\nset AWS_SESSION_TOKEN=FwoGZXIvYXdzEJr//////////wEaDH==\r\nset AWS_CREDENTIAL_EXPIRATION=2026-11-28T16:00:00Z\r\n",
	} {
		got, err := Encode(f, creds)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if diff := cmp.Diff(want, string(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", f, diff)
		}
	}
}

func TestRefusals(t *testing.T) {
	c := creds
	c.Expiration = time.Time{}
	if _, err := Encode(Process, c); err == nil {
		t.Error("a document without Expiration was written")
	}
	c = creds
	c.SessionToken = secret.New("a\xffb")
	if _, err := Encode(Process, c); err == nil || !strings.Contains(err.Error(), "SessionToken is not valid UTF-8") {
		t.Errorf("invalid UTF-8: %v", err)
	}
	c.SessionToken = secret.New("a\x00b")
	for _, f := range []Format{Env, EnvNoExport, Fish, PowerShell, WindowsCmd} {
		if _, err := Encode(f, c); err == nil {
			t.Errorf("%s: NUL accepted", f)
		}
	}
	c.SessionToken = secret.New("a%PATH%b")
	if _, err := Encode(WindowsCmd, c); err == nil || !strings.Contains(err.Error(), "AWS_SESSION_TOKEN: has characters that cmd.exe cannot take literally") {
		t.Errorf("cmd: %v", err)
	}
	if _, err := Encode("yaml", creds); err == nil {
		t.Error("unknown format accepted")
	}
}

// TestControlCharactersRefused: no format writes a control character in a
// credential value; a line break would become a command for a reader that
// evaluates the output line by line, and CRLF-ended PowerShell lines would
// mix with it.
func TestControlCharactersRefused(t *testing.T) {
	for _, v := range []string{"a\nexport EVIL=1", "a\rb", "a\x1b[2Jb", "a\x7fb", "a\u009bb", "a\x9bb", "a\x00b", "a\tb"} {
		for _, field := range []string{"AccessKeyId", "SecretAccessKey", "SessionToken", "AccountId"} {
			c := creds
			switch field {
			case "AccessKeyId":
				c.AccessKeyID = v
			case "SecretAccessKey":
				c.SecretAccessKey = secret.New(v)
			case "SessionToken":
				c.SessionToken = secret.New(v)
			case "AccountId":
				c.AccountID = v
			}
			for _, f := range formats {
				if f != Process && field == "AccountId" {
					continue // not among the variables
				}
				_, err := Encode(f, c)
				if err == nil {
					t.Errorf("%s: %s %q written", f, field, v)
				} else if f != WindowsCmd && !strings.Contains(err.Error(), "contains the control character U+00") && !(f == Process && strings.Contains(err.Error(), "not valid UTF-8")) {
					t.Errorf("%s: %s %q: %v", f, field, v, err)
				}
			}
		}
	}
}

// TestWrite: a short or failed write is an error, so the run cannot exit 0
// having written nothing.
func TestWrite(t *testing.T) {
	if err := Write(shortWriter{}, []byte("document")); !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("short write: %v", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	w.Close()
	if err := Write(w, []byte("document")); err == nil {
		t.Error("a write to a closed file succeeded")
	}
}

type shortWriter struct{}

func (shortWriter) Write(b []byte) (int, error) { return len(b) / 2, nil }

// nasty values that a careless encoder would let a shell run or mangle.
var nasty = []string{
	"plain", "", "it's", `"dq"`, "$(touch /tmp/pwned)", "`id`", "a b", "semi;colon", "new\nline", "back\\slash",
	"tab\tx", "${HOME}", "!bang", "#hash", "*glob?", "&amp|pipe>", "\u2018curly\u2019", "'", "''", "é",
}

// TestShellRoundTrip evaluates the env output in a real sh and reads the
// values back, so quoting is checked by the shell that users run.
func TestShellRoundTrip(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, v := range nasty {
		c := creds
		c.SessionToken = secret.New(v)
		for _, f := range []Format{Env, EnvNoExport} {
			out, err := Encode(f, c)
			if noControl(v) != nil {
				if err == nil {
					t.Errorf("%s: a control character in %q was written", f, v)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			script := string(out) + "\nprintf '%s' \"$AWS_SESSION_TOKEN\""
			got, err := exec.Command(sh, "-c", script).Output()
			if err != nil {
				t.Fatalf("%s with %q: %v", f, v, err)
			}
			if string(got) != v {
				t.Errorf("%s: sh read %q back as %q", f, v, got)
			}
		}
	}
}

// TestFishRoundTrip does for fish what TestShellRoundTrip does for sh.
func TestFishRoundTrip(t *testing.T) {
	fish, err := exec.LookPath("fish")
	if err != nil {
		t.Skip("fish not installed (apt-get install fish)")
	}
	for _, v := range nasty {
		c := creds
		c.SessionToken = secret.New(v)
		out, err := Encode(Fish, c)
		if noControl(v) != nil {
			if err == nil {
				t.Errorf("a control character in %q was written", v)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		script := string(out) + "\nprintf '%s' \"$AWS_SESSION_TOKEN\""
		got, err := exec.Command(fish, "--no-config", "-c", script).Output()
		if err != nil {
			t.Fatalf("fish with %q: %v", v, err)
		}
		if string(got) != v {
			t.Errorf("fish read %q back as %q", v, got)
		}
	}
}

// The decoders read one value from the start of s, exactly in the grammar
// its encoder writes, and return it with the rest of s. Anything else is an
// error, so the fuzz test catches text a shell would read differently.

// bareWord takes the longest run of bare characters.
func bareWord(s string) (string, string) {
	i := 0
	for i < len(s) && bare(s[i:i+1]) {
		i++
	}
	return s[:i], s[i:]
}

// decodePOSIX reads a bare word, or single-quoted runs joined by \'.
func decodePOSIX(s string) (string, string, error) {
	if w, rest := bareWord(s); w != "" {
		return w, rest, nil
	}
	var b strings.Builder
	quoted := false
	for len(s) > 0 {
		switch {
		case strings.HasPrefix(s, `\'`):
			b.WriteByte('\'')
			s = s[2:]
		case s[0] == '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return "", "", errors.New("unterminated quote")
			}
			b.WriteString(s[1 : 1+end])
			s = s[2+end:]
			quoted = true
		default:
			if !quoted {
				return "", "", errors.New("unquoted text")
			}
			return b.String(), s, nil
		}
	}
	return b.String(), s, nil
}

// doubleQuotedBare reads "word" where word needs no quoting, the form the
// PowerShell and fish encoders use for plain values.
func doubleQuotedBare(s string) (string, string, bool) {
	if !strings.HasPrefix(s, `"`) {
		return "", "", false
	}
	w, rest := bareWord(s[1:])
	if w == "" || !strings.HasPrefix(rest, `"`) {
		return "", "", false
	}
	return w, rest[1:], true
}

// decodePowerShell reads a double-quoted bare value or a verbatim string.
func decodePowerShell(s string) (string, string, error) {
	if w, rest, ok := doubleQuotedBare(s); ok {
		return w, rest, nil
	}
	if !strings.HasPrefix(s, "'") {
		return "", "", errors.New("not quoted")
	}
	var b strings.Builder
	rs := []rune(s[1:])
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if strings.ContainsRune("'\u2018\u2019\u201a\u201b", r) {
			if i+1 < len(rs) && rs[i+1] == r {
				b.WriteRune(r)
				i++
				continue
			}
			if r != '\'' {
				return "", "", errors.New("lone typographic quote")
			}
			return b.String(), string(rs[i+1:]), nil
		}
		b.WriteRune(r)
	}
	return "", "", errors.New("unterminated quote")
}

// decodeFish reads a double-quoted bare value or a single-quoted string
// with \\ and \'.
func decodeFish(s string) (string, string, error) {
	if w, rest, ok := doubleQuotedBare(s); ok {
		return w, rest, nil
	}
	if !strings.HasPrefix(s, "'") {
		return "", "", errors.New("not quoted")
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '\\' && s[i+1] != '\'') {
				return "", "", errors.New("bad escape")
			}
			i++
			b.WriteByte(s[i])
		case '\'':
			return b.String(), s[i+1:], nil
		default:
			b.WriteByte(s[i])
		}
	}
	return "", "", errors.New("unterminated quote")
}

func decodeCmd(s string) (string, string, error) {
	w, rest := bareWord(s)
	return w, rest, nil
}

// FuzzEncode feeds any bytes as secrets: every format either refuses them or
// writes text that decodes to exactly those bytes.
func FuzzEncode(f *testing.F) {
	for _, v := range nasty {
		f.Add(v, "wJalrXUtnFEMI/K7MDENG")
	}
	f.Add("\x00", "\xff")
	f.Fuzz(func(t *testing.T, token, key string) {
		c := creds
		c.SessionToken, c.SecretAccessKey = secret.New(token), secret.New(key)

		if out, err := Encode(Process, c); err == nil {
			var doc Document
			if err := json.Unmarshal(out, &doc); err != nil {
				t.Fatalf("invalid JSON: %v", err)
			}
			if doc.SessionToken != token || doc.SecretAccessKey != key || doc.Version != 1 {
				t.Fatalf("JSON round trip changed values")
			}
		} else if utf8.ValidString(token) && utf8.ValidString(key) && noControl(token) == nil && noControl(key) == nil {
			t.Fatalf("valid UTF-8 refused: %v", err)
		}

		for _, tc := range []struct {
			f      Format
			prefix string
			sep    string
			eol    string
			decode func(string) (string, string, error)
		}{
			{Env, "export ", "=", "\n", decodePOSIX},
			{EnvNoExport, "", "=", "\n", decodePOSIX},
			{Fish, "set -gx ", " ", "\n", decodeFish},
			{PowerShell, "$Env:", "=", "\r\n", decodePowerShell},
			{WindowsCmd, "set ", "=", "\r\n", decodeCmd},
		} {
			out, err := Encode(tc.f, c)
			if err != nil {
				continue // refusing is always safe
			}
			if noControl(token) != nil || noControl(key) != nil {
				t.Fatalf("%s wrote a control character", tc.f)
			}
			rest := string(out)
			for _, want := range []struct{ name, value string }{
				{"AWS_ACCESS_KEY_ID", c.AccessKeyID}, {"AWS_SECRET_ACCESS_KEY", key},
				{"AWS_SESSION_TOKEN", token}, {"AWS_CREDENTIAL_EXPIRATION", "2026-11-28T16:00:00Z"},
			} {
				head := tc.prefix + want.name + tc.sep
				if !strings.HasPrefix(rest, head) {
					t.Fatalf("%s: expected %q at %q", tc.f, head, rest)
				}
				got, after, err := tc.decode(rest[len(head):])
				if err != nil || got != want.value || !strings.HasPrefix(after, tc.eol) {
					t.Fatalf("%s: %s does not decode to its value (%v)", tc.f, want.name, err)
				}
				rest = after[len(tc.eol):]
			}
			if rest != "" {
				t.Fatalf("%s: trailing text", tc.f)
			}
		}
	})
}
