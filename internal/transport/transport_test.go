package transport

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
)

// endless writes without end until the client goes away.
func endless(w http.ResponseWriter, r *http.Request) {
	chunk := bytes.Repeat([]byte("A"), 32<<10)
	for r.Context().Err() == nil {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

func client(c Policy) *http.Client {
	return &http.Client{Transport: Wrap(&http.Transport{}, c)}
}

func TestBodyCap(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"endless": endless,
		"declared too long": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100000")
			_, _ = w.Write(bytes.Repeat([]byte("B"), 100000))
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			resp, err := client(Policy{Peer: "test server", MaxBody: 64 << 10}).Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			var tl *TooLargeError
			if !errors.As(err, &tl) || err.Error() != "the answer from the test server is larger than 64 KiB" {
				t.Fatalf("err = %v", err)
			}
			if len(b) != 64<<10 {
				t.Errorf("read %d bytes, want exactly the cap", len(b))
			}
		})
	}
	// A body of exactly the cap is fine.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(bytes.Repeat([]byte("C"), 1024))
	}))
	defer srv.Close()
	resp, err := client(Policy{Peer: "p", MaxBody: 1024}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(resp.Body); err != nil || len(b) != 1024 {
		t.Errorf("read %d bytes, %v", len(b), err)
	}
}

// TestPerRequestLimit: a server that never answers costs one limit, and the
// error says it was that limit, not the caller's deadline.
func TestPerRequestLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	c := client(Policy{Peer: "metadata server", PerRequest: 100 * time.Millisecond})
	_, err := c.Get(srv.URL)
	var te *TimeoutError
	if !errors.As(err, &te) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the per-request limit", err)
	}
	if te.Error() != "the metadata server did not answer within 100ms" {
		t.Errorf("message %q", te)
	}
	// The caller's deadline, when it comes first, stays the caller's.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	_, err = client(Policy{Peer: "p", PerRequest: time.Hour}).Do(req)
	if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &te) {
		t.Errorf("err = %v, want the caller's deadline", err)
	}
	// A body that stalls halfway is caught by the same limit.
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("half"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer stall.Close()
	resp, err := c.Get(stall.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	if !errors.As(err, &te) {
		t.Errorf("stalled body: err = %v", err)
	}
}

func TestRetryRefused(t *testing.T) {
	// Find a port, close it, and open it again after a while: a metadata
	// server that is still starting.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var trace bytes.Buffer
	go func() {
		time.Sleep(400 * time.Millisecond)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })}
		go func() { _ = srv.Serve(l) }()
		t.Cleanup(func() { srv.Close() })
	}()
	c := client(Policy{Peer: "metadata server", RetryRefused: 5 * time.Second, Trace: NewTracer(&trace)})
	resp, err := c.Get("http://" + addr + "/path?secret=1")
	if err != nil {
		t.Fatalf("not retried until the server came up: %v", err)
	}
	resp.Body.Close()
	if !strings.Contains(trace.String(), "metadata server: connection refused; trying again in 100ms") {
		t.Errorf("trace does not show the retries:\n%s", trace.String())
	}
	if strings.Contains(trace.String(), "secret=1") {
		t.Errorf("trace shows the query:\n%s", trace.String())
	}

	// Refused for longer than the window: one RefusedError, which does not
	// look like a refusal to anything that would retry it again.
	start := time.Now()
	_, err = client(Policy{Peer: "p", RetryRefused: 300 * time.Millisecond}).Get("http://127.0.0.1:1/")
	var re *RefusedError
	if !errors.As(err, &re) || re.Tries < 2 || errors.Is(err, errRefused()) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("retried for %s, window 300ms", d)
	}
}

// TestRefusedUnderShortDeadline: a deadline shorter than the retry window
// still ends in a RefusedError, not the deadline: every try was refused, and
// that is what the user must hear, however short --timeout is.
func TestRefusedUnderShortDeadline(t *testing.T) {
	for _, d := range []time.Duration{50 * time.Millisecond, 250 * time.Millisecond, time.Second} {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:1/", nil)
		_, err := client(Policy{Peer: "p", RetryRefused: 5 * time.Second}).Do(req)
		cancel()
		var re *RefusedError
		if !errors.As(err, &re) || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("deadline %s: err = %v, want a RefusedError", d, err)
		}
	}
}

func TestTraceNeverShowsSecrets(t *testing.T) {
	tok := "eyJhbGciOiJSUzI1NiJ9." + strings.Repeat("Zm9vYmFy", 40) + ".c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl"
	secret.New(tok)
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The first answer echoes the token in a header; the second adds
		// a terminal escape, which breaks the header for Go's client.
		if n.Add(1) == 1 {
			w.Header().Set("Content-Type", "text/"+tok)
		} else {
			w.Header().Set("Content-Type", "text/\x1b[2J"+tok)
		}
		w.WriteHeader(400)
	}))
	defer srv.Close()
	var trace bytes.Buffer
	c := client(Policy{Peer: "STS", Trace: NewTracer(&trace)})
	for range 2 {
		req, _ := http.NewRequest("POST", srv.URL+"/?WebIdentityToken="+tok, strings.NewReader("WebIdentityToken="+tok))
		req.Header.Set("Authorization", "Bearer "+tok)
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	out := trace.String()
	if strings.Contains(out, "c2lnbmF0dXJlc2lnbmF0dXJl") || strings.Contains(out, "Zm9vYmFyZm9vYmFy") || strings.Contains(out, "\x1b") {
		t.Errorf("trace leaks:\n%q", out)
	}
	if !strings.Contains(out, "gcp-aws-cred: debug: [+") || !strings.Contains(out, "STS: POST "+srv.URL+"/: HTTP 400") ||
		!strings.Contains(out, "STS: POST "+srv.URL+"/ failed after") || strings.Count(out, "\n") != 2 {
		t.Errorf("trace:\n%s", out)
	}
	var nilTracer *Tracer
	nilTracer.Printf("nothing %d", 1) // must not panic
}

func errRefused() error { return refusedErrno }

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{64 << 10: "64 KiB", 1 << 20: "1 MiB", 1000: "1000 bytes", 20000: "20000 bytes"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}

var refusedErrno error = syscall.ECONNREFUSED

// TestRequestBodyReadOnly: the SDK's request body returns io.EOF from
// WriteTo once closed, which net/http, copying through WriteTo after an
// early answer, takes for a write error: it closes the connection under the
// answer and the SDK sends the exchange again. The body net/http sees has
// no WriteTo, and the caller's request is left as it was.
func TestRequestBodyReadOnly(t *testing.T) {
	var seen io.Reader
	rt := Wrap(roundTripFunc(func(req *http.Request) (*http.Response, error) {
		seen = req.Body
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
	}), Policy{Peer: "STS endpoint"})
	body := closedWriterTo{}
	req, err := http.NewRequest(http.MethodPost, "https://sts.example/", body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if _, ok := seen.(io.WriterTo); ok {
		t.Errorf("the transport saw a body with WriteTo (%T)", seen)
	}
	if n, err := io.Copy(io.Discard, seen); n != 0 || err != nil {
		t.Errorf("copying the closed body: %d, %v; want 0, nil (a clean end)", n, err)
	}
	if _, ok := req.Body.(io.WriterTo); !ok {
		t.Errorf("the caller's request was changed: its body is %T", req.Body)
	}
}

// closedWriterTo behaves as smithy-go's request body once the SDK has
// closed it.
type closedWriterTo struct{}

func (closedWriterTo) Read([]byte) (int, error)         { return 0, io.EOF }
func (closedWriterTo) Close() error                     { return nil }
func (closedWriterTo) WriteTo(io.Writer) (int64, error) { return 0, io.EOF }

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// TestCleartextRules: http:// only to loopback, and to a literal
// link-local address only when the call allows that address
// (AllowLinkLocal, for a credential source), never with user information;
// refused before anything is sent (issue 23, item 6).
func TestCleartextRules(t *testing.T) {
	sent := 0
	rt := Wrap(roundTripFunc(func(req *http.Request) (*http.Response, error) {
		sent++
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
	}), Policy{Peer: "p"})
	allowed := AllowLinkLocal(context.Background(), "http://169.254.169.254/latest/meta-data", "http://metadata.example/x", "https://169.254.170.2/")
	for _, tc := range []struct {
		ctx  context.Context
		url  string
		want bool
	}{
		{context.Background(), "http://127.0.0.1:8080/token", true},
		{context.Background(), "http://localhost/token", true},
		{context.Background(), "http://[::1]/token", true},
		{context.Background(), "http://169.254.169.254/token", false},
		{allowed, "http://169.254.169.254/latest/api/token", true},
		{allowed, "http://169.254.170.2/token", false},
		{context.Background(), "http://10.0.0.1/token", false},
		{context.Background(), "http://oauth2.googleapis.com/token", false},
		{context.Background(), "http://user:pw@127.0.0.1/token", false},
		{context.Background(), "https://oauth2.googleapis.com/token", true},
	} {
		req, _ := http.NewRequestWithContext(tc.ctx, http.MethodPost, tc.url, strings.NewReader("x"))
		before := sent
		_, err := rt.RoundTrip(req)
		var ce *CleartextError
		if got := err == nil; got != tc.want || !tc.want && (!errors.As(err, &ce) || sent != before) {
			t.Errorf("%s: err %v, sent %d, want allowed %v", tc.url, err, sent-before, tc.want)
		}
	}
}

// TestDialChecksAddress: a cleartext request is dialled only at a loopback
// address, whatever its name resolved to, and at a link-local one only
// when allowed; the check runs before the connection is made.
func TestDialChecksAddress(t *testing.T) {
	d := dial(Policy{DialTimeout: time.Second})
	for _, tc := range []struct {
		addr      string
		linkLocal bool
		ok        bool
	}{
		{"127.0.0.1:1", false, true}, {"127.8.9.10:1", false, true}, {"[::1]:1", false, true},
		{"192.0.2.1:80", false, false}, {"[2001:db8::1]:80", false, false}, {"10.0.0.1:80", false, false},
		{"169.254.169.254:80", false, false}, {"169.254.169.254:80", true, true},
	} {
		ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), dialKey{}, tc.linkLocal), 50*time.Millisecond)
		conn, err := d(ctx, "tcp", tc.addr)
		cancel()
		if conn != nil {
			conn.Close()
		}
		if got := !errors.As(err, new(*NotLoopbackError)); got != tc.ok {
			t.Errorf("%s (link-local allowed: %v): %v", tc.addr, tc.linkLocal, err)
		}
	}
	// Without the mark (https), any address is dialled.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := d(ctx, "tcp", "192.0.2.1:443"); errors.As(err, new(*NotLoopbackError)) {
		t.Errorf("an unmarked dial was checked: %v", err)
	}
}

// TestRegistersSecrets: every credential a request carries, and every
// token of an answer, is remembered for redaction before the peer or the
// caller sees it (issue 23, item 2).
func TestRegistersSecrets(t *testing.T) {
	bearer, user, pass, key := "ya29.bearer-"+unique(), "client-"+unique(), "client-secret-"+unique(), "api-key-"+rand.Text()
	form := map[string]string{"subject_token": "subject-" + unique(), "refresh_token": "refresh-" + unique(), "assertion": "assertion-" + unique(), "client_secret": "form-secret-" + unique(), "actor_token": "actor-" + unique()}
	answer := map[string]string{"access_token": "at-" + unique(), "accessToken": "iam-at-" + unique(), "id_token": "idt-" + unique(), "token": "tok-" + unique(), "SecretAccessKey": "aws-secret-" + unique()}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := json.Marshal(answer)
		_, _ = w.Write(b)
	}))
	defer srv.Close()
	c := NewClient(Policy{Peer: "p", Secrets: true, MaxBody: 1 << 20})
	for _, auth := range []string{"Bearer " + bearer, "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass)),
		// A Basic credential without a colon: an API key alone.
		"Basic " + base64.StdEncoding.EncodeToString([]byte(key))} {
		v := url.Values{}
		for k, s := range form {
			v.Set(k, s)
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", auth)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), answer["token"]) {
			t.Errorf("the answer did not reach the caller whole: %s", b)
		}
	}
	all := []string{bearer, pass, key}
	for _, s := range form {
		all = append(all, s)
	}
	for _, s := range answer {
		all = append(all, s)
	}
	for _, s := range all {
		if got := secret.Redact("peer says " + s + " and " + base64.StdEncoding.EncodeToString([]byte(s))); strings.Contains(got, s) || strings.Contains(got, base64.StdEncoding.EncodeToString([]byte(s))[:16]) {
			t.Errorf("not registered: %s", got)
		}
	}
}

// unique is a random secret: no window of it matches another secret's, so
// one left unregistered shows.
func unique() string { return rand.Text() }
