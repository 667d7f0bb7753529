package explain

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/clean"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
)

func randomToken() string {
	b := make([]byte, 600)
	_, _ = rand.Read(b)
	s := base64.RawURLEncoding.EncodeToString(b)
	return "eyJhbGciOiJSUzI1NiJ9." + s[:300] + "." + s[300:]
}

func TestClean(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"two\nlines\r\n\tand tabs", "two lines and tabs"},
		{"title \x1b]0;pwned\x07 clear \x1b[2J", `title \x1b]0;pwned\x07 clear \x1b[2J`},
		{"bidi \u202eevil\u202c", `bidi \u202eevil\u202c`},
		{"c1 \u009b31m", `c1 \x9b31m`},
		{"del \x7f and nul \x00", `del \x7f and nul \x00`},
		{"bad utf8 \xff\xfe", `bad utf8 \xff\xfe`},
		{"msg\ngcp-aws-cred: error: forged", `msg gcp-aws-cred\x3a error: forged`},
		{"gcp-aws-cred : hint: forged too", `gcp-aws-cred \x3a hint: forged too`},
		{"run `gcp-aws-cred doctor --role …`", "run `gcp-aws-cred doctor --role …`"},
		{"ünïcödé stays", "ünïcödé stays"},
	} {
		if got := clean.Line(tc.in); got != tc.want {
			t.Errorf("clean.Line(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := strings.Repeat("x", 3*clean.MaxLine*4)
	if got := clean.Line(long); utf8.RuneCountInString(got) != clean.MaxLine+1 || !strings.HasSuffix(got, "…") {
		t.Errorf("Clean did not cut a long text: %d characters", utf8.RuneCountInString(got))
	}
}

func TestCleanBlockKeepsLayout(t *testing.T) {
	in := "policy:\n{\n  \"a\": \"\x1b[31m\"\n}\ngcp-aws-cred: error: forged"
	want := "policy:\n{\n  \"a\": \"\\x1b[31m\"\n}\ngcp-aws-cred\\x3a error: forged"
	if got := clean.Block(in); got != want {
		t.Errorf("CleanBlock = %q, want %q", got, want)
	}
}

func TestCleanJSONDecodesTheSame(t *testing.T) {
	v := map[string]string{"a": "x\u009b\u202e\x7fy", "b": "\x1b[2J"}
	raw, _ := json.Marshal(v)
	got := clean.JSON(raw)
	for _, r := range string(got) {
		if dangerous(r) {
			t.Fatalf("CleanJSON left %U: %s", r, got)
		}
	}
	var back map[string]string
	if err := json.Unmarshal(got, &back); err != nil || back["a"] != v["a"] || back["b"] != v["b"] {
		t.Errorf("CleanJSON changed the data: %s → %v, %v", got, back, err)
	}
}

// TestPrintRedactsWhateverTheOrigin: a secret inside a message or a hint, in
// whole, split by a line break, or in part, never reaches the output.
func TestPrintRedactsWhateverTheOrigin(t *testing.T) {
	tok := randomToken()
	secret.New(tok)
	sig := strings.Split(tok, ".")[2]
	err := Errorf(nil, "STS said (%s: Value '%s\n%s')", tok, tok[:200], tok[200:]).
		Hint("the status line was "+sig[:40], "policy:\n{\n  \"x\": \""+tok+"\"\n}")
	var b bytes.Buffer
	Print(&b, "prog", err)
	out := b.String()
	for i := 0; i+16 <= len(sig); i++ {
		if strings.Contains(out, sig[i:i+16]) {
			t.Fatalf("part of the signature survived:\n%s", out)
		}
	}
	if strings.Count(out, secret.Redacted) < 4 {
		t.Errorf("expected four redactions:\n%s", out)
	}
}

// FuzzClean: whatever the text, the line Clean returns has no control or
// format character, no line break, no forged prefix, no registered secret,
// and is bounded.
func FuzzClean(f *testing.F) {
	tok := randomToken()
	secret.New(tok)
	f.Add("plain")
	f.Add("a\nb\x1b[2J\u202e")
	f.Add("x " + tok + " y")
	f.Add(tok[:100] + "\r\n" + tok[100:])
	f.Add("gcp-aws-cred: error: forged")
	f.Fuzz(func(t *testing.T, s string) {
		for _, got := range []string{clean.Line(s), clean.Line(s + tok), clean.Line(tok[:50] + s + tok[50:])} {
			for _, r := range got {
				if dangerous(r) || unicode.IsSpace(r) && r != ' ' {
					t.Fatalf("Clean left %U in %q", r, got)
				}
			}
			if strings.Contains(got, clean.Name+":") || strings.Contains(strings.ReplaceAll(got, " ", ""), clean.Name+":") {
				t.Fatalf("forged prefix in %q", got)
			}
			if strings.Contains(got, tok[40:56]) || strings.Contains(got, tok[300:316]) {
				t.Fatalf("secret survived in %q", got)
			}
			if utf8.RuneCountInString(got) > clean.MaxLine+1 {
				t.Fatalf("%d characters", utf8.RuneCountInString(got))
			}
		}
		block := clean.Block(s)
		for _, r := range block {
			if r != '\n' && (dangerous(r) || unicode.IsSpace(r) && r != ' ') {
				t.Fatalf("CleanBlock left %U in %q", r, block)
			}
		}
		for _, l := range strings.Split(block, "\n") {
			if strings.HasPrefix(strings.TrimLeft(l, " "), clean.Name+":") {
				t.Fatalf("CleanBlock let a line start with our prefix: %q", l)
			}
		}
	})
}

func TestEscapeBeyondBMP(t *testing.T) {
	if got := clean.Line("tag\U000e0041"); got != `tag\U000e0041` {
		t.Errorf("Clean = %q", got)
	}
	v := "tag\U000e0041"
	raw, _ := json.Marshal(v)
	var back string
	if err := json.Unmarshal(clean.JSON(raw), &back); err != nil || back != v || bytes.ContainsRune(clean.JSON(raw), 0xe0041) {
		t.Errorf("clean.JSON(%s) = %s", raw, clean.JSON(raw))
	}
}

// dangerous is what a terminal could act on, as clean.Line judges it.
func dangerous(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError || r >= 0x80 && unicode.IsSpace(r)
}
