package ops

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/token"
)

// TestReportPrintsNothingRaw: doctor's report, in text and JSON, shows no
// secret and no control character, whatever a peer put in its facts,
// error and hints.
func TestReportPrintsNothingRaw(t *testing.T) {
	tok := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU"
	secret.New(tok)
	sessionToken := secret.New("FwoGZXIvYXdzE" + strings.Repeat("Zz", 30)).Reveal()
	r := &Report{Steps: []*Step{{
		Name:     "exchange",
		Status:   "fail",
		Facts:    Facts{{Key: "aud", Label: "aud", Value: "x\x1b]0;pwned\x07"}, {Key: "echo", Label: "echo", Value: tok, Text: tok + "\x1b[2J"}},
		Warnings: []string{"asked for \u202eevil"},
		Error:    "STS said (" + tok[:40] + "\n" + tok[40:] + ")\ngcp-aws-cred: error: forged",
		Hints:    []string{"policy:\n{\n  \"a\": \"" + sessionToken + "\"\n}"},
	}}}
	for name, write := range map[string]func(*bytes.Buffer) error{
		"text": func(b *bytes.Buffer) error { return r.WriteText(b) },
		"json": func(b *bytes.Buffer) error { return r.WriteJSON(b) },
	} {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if name == "json" {
			var back struct {
				Steps []struct {
					Facts           map[string]string
					Error           string
					Hints, Warnings []string
				}
			}
			if err := json.Unmarshal(b.Bytes(), &back); err != nil {
				t.Fatalf("json: %v", err)
			}
			s := back.Steps[0]
			out = s.Error + strings.Join(s.Hints, "") + strings.Join(s.Warnings, "") + s.Facts["aud"] + s.Facts["echo"]
		}
		for _, r := range out {
			if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) {
				t.Errorf("%s: control character %U:\n%q", name, r, out)
			}
		}
		for _, s := range []string{"c2lnbmF0dXJlLXNp", "ZzZzZzZzZzZzZzZz", "gcp-aws-cred: error"} {
			if strings.Contains(out, s) {
				t.Errorf("%s: %q printed:\n%s", name, s, out)
			}
		}
	}
	if r.Steps[0].Error == "" || !strings.Contains(r.Steps[0].Error, tok[:40]) {
		t.Error("writing the report changed the report")
	}
}

// TestTokenClaimsEscaped: claims with terminal escapes are shown escaped by
// token, in text and in JSON (which still decodes to the claim itself).
func TestTokenClaimsEscaped(t *testing.T) {
	info := TokenInfo{MetadataHost: "127.0.0.1:1", ServiceAccount: "default",
		Claims: token.Claims{Issuer: "https://accounts.google.com", Subject: "1\x1b[2J", Email: "a\u009b31m@b\u202e", Audience: token.Audience{"x\ngcp-aws-cred: error: forged"}}}
	text := string(info.Text(time.Now()))
	js, err := info.JSON()
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"text": text, "json": string(js)} {
		for _, r := range out {
			if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) {
				t.Errorf("%s: control character %U:\n%q", name, r, out)
			}
		}
	}
	if !strings.Contains(text, `1\x1b[2J`) || strings.Contains(text, "\ngcp-aws-cred: error") {
		t.Errorf("text:\n%s", text)
	}
	var back TokenInfo
	if err := json.Unmarshal(js, &back); err != nil || back.Claims.Email != info.Claims.Email || back.Claims.Subject != info.Claims.Subject {
		t.Errorf("JSON no longer decodes to the claims: %v %+v", err, back.Claims)
	}
}
