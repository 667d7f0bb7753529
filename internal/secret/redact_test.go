package secret

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// jwt is shaped like an ID token: header, claims, signature.
func jwt() string {
	return "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9." + random(300) + "." + random(342)
}

func TestRedactWholeAndFragments(t *testing.T) {
	tok := jwt()
	New(tok)
	parts := strings.Split(tok, ".")
	sig := parts[2]
	for name, in := range map[string]string{
		"whole":             "Value '" + tok + "' at 'webIdentityToken'",
		"signature alone":   "sig=" + sig + " end",
		"half a signature":  "x " + sig[100:200] + " y",
		"split by newline":  "a " + tok[:500] + "\n" + tok[500:] + " b",
		"split by CRLF+tab": tok[:40] + "\r\n\t" + tok[40:],
		"invisible inside":  tok[:60] + "\u200b\u202e" + tok[60:],
		"in a status line":  "malformed HTTP status code \"" + tok + "\"",
	} {
		got := Redact(in)
		for i := 0; i+gram <= len(tok); i++ {
			if strings.Contains(squeeze(got, nil), tok[i:i+gram]) && !strings.Contains(parts[0], tok[i:i+gram]) {
				t.Errorf("%s: a fragment at %d survived: %q", name, i, got)
				break
			}
		}
		if !strings.Contains(got, Redacted) {
			t.Errorf("%s: nothing redacted: %q", name, got)
		}
	}
	if got := Redact("a " + tok + " b"); got != "a "+Redacted+" b" {
		t.Errorf("whole token: got %q", got)
	}
}

func TestRedactLeavesOrdinaryText(t *testing.T) {
	New(jwt())
	New(random(40))
	for _, s := range []string{
		"",
		"STS at https://sts.us-east-1.amazonaws.com refused AssumeRoleWithWebIdentity for arn:aws:iam::123456789012:role/r",
		"the metadata server at 127.0.0.1:8080 answered HTTP 503: Service Unavailable",
		strings.Repeat("abcdefghijklmnopqrstuvwxyz", 40),
		"ünïcödé \x1b[31m text",
	} {
		if got := Redact(s); got != s {
			t.Errorf("Redact(%q) = %q", s, got)
		}
	}
}

func TestRedactShortValuesWhole(t *testing.T) {
	New("abc")        // too short to tell from a word: not registered
	New("Sh0rtS3cr3") // 10 characters: removed whole
	if got := Redact("abc and Sh0rtS3cr3 and Sh0rtS3"); got != "abc and "+Redacted+" and Sh0rtS3" {
		t.Errorf("got %q", got)
	}
}

// TestRegistryBounded checks that a long-running process that keeps making
// secrets holds only the latest: memory stays bounded, and the newest are
// still redacted.
func TestRegistryBounded(t *testing.T) {
	var last []string
	for i := range 10 * maxValues {
		v := fmt.Sprintf("%04d", i) + random(2000)
		New(v)
		last = append(last, v)
	}
	registry.mu.Lock()
	n, size := len(registry.values), registry.bytes
	registry.mu.Unlock()
	if n > maxValues || size > maxBytes {
		t.Errorf("registry holds %d values, %d bytes; bound is %d, %d", n, size, maxValues, maxBytes)
	}
	for _, v := range last[len(last)-3:] {
		if got := Redact("x " + v + " y"); got != "x "+Redacted+" y" {
			t.Errorf("a recent secret was not redacted")
		}
	}
	huge := random(maxValueLen * 2)
	New(huge)
	if got := Redact(huge[:1000]); got != Redacted {
		t.Errorf("the start of an overlong secret was not redacted")
	}
}

func BenchmarkRedact(b *testing.B) {
	for range 3 {
		New(jwt())
		New(random(40))
		New(random(1200))
	}
	msg := "STS refused the request as invalid (ValidationError: 1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*)"
	b.ReportAllocs()
	for b.Loop() {
		Redact(msg)
	}
}

// TestRedactAnyJWT: a signed token this process never held (a metadata
// server quoting one in an error page) is removed all the same.
func TestRedactAnyJWT(t *testing.T) {
	foreign := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0." + random(86)
	for in, want := range map[string]string{
		"token " + foreign + " end": "token " + Redacted + " end",
		"(" + foreign + ")":         "(" + Redacted + ")",
		"eyJ but not a token":       "eyJ but not a token",
		"eyJhbGci.eyJ.short":        "eyJhbGci.eyJ.short",
		"a.b.c and eyJx.y":          "a.b.c and eyJx.y",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRedactEncodedForms: a peer that echoes a secret base64-encoded (as
// Basic authentication carries it) or URL-encoded (as a form field) does
// not get it printed either (issue 23, item 2).
func TestRedactEncodedForms(t *testing.T) {
	s := random(40) + "/+=&" + random(20)
	New(s)
	for name, echo := range map[string]string{
		"base64":         base64.StdEncoding.EncodeToString([]byte(s)),
		"base64 url":     base64.URLEncoding.EncodeToString([]byte(s)),
		"base64 no pad":  base64.RawStdEncoding.EncodeToString([]byte(s)),
		"url-encoded":    url.QueryEscape(s),
		"url in a query": "refresh_token=" + url.QueryEscape(s) + "&x=1",
	} {
		got := Redact("echo: " + echo + " end")
		for i := 0; i+gram <= len(echo); i++ {
			if strings.Contains(got, echo[i:i+gram]) {
				t.Errorf("%s: fragment %q survived in %q", name, echo[i:i+gram], got)
				break
			}
		}
	}
}
