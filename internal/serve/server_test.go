package serve

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
)

const testToken = "test-token-4f0c9e1d2b7a8c3e5f6a7b8c9d"

// startServer starts a server on a free loopback port with a fake fetch.
func startServer(t testing.TB, cfg Config, life time.Duration) (*Server, *fakeFetch) {
	t.Helper()
	f := newFakeFetch(life)
	cfg.Fetch, cfg.Role = f.fetch, testRole
	if cfg.Token == (secret.String{}) {
		cfg.Token = secret.New(testToken)
	}
	srv, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdown(srv) })
	return srv, f
}

type answer struct {
	status int
	header http.Header
	body   string
}

// get sends one request with the given Authorization values and Host.
func get(t *testing.T, method, url string, auth []string, host string) answer {
	t.Helper()
	a, err := tryGet(method, url, auth, host)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// tryGet is get for a goroutine other than the test's, where t.Fatal must
// not be called: it returns the error instead.
func tryGet(method, url string, auth []string, host string) (answer, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return answer{}, err
	}
	req.Header["Authorization"] = auth
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}, nil
}

// jsonError checks an error answer is {"code","message"} and nothing else.
func jsonError(t *testing.T, a answer, status int, code string) string {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var e map[string]string
	if err := json.Unmarshal([]byte(a.body), &e); err != nil || len(e) != 2 || e["code"] != code || e["message"] == "" {
		t.Fatalf("error body %s, want {\"code\":%q,\"message\":…}", a.body, code)
	}
	return e["message"]
}

func TestCredentialsEndpoint(t *testing.T) {
	srv, f := startServer(t, Config{}, time.Hour)
	if !strings.HasPrefix(srv.URL(), "http://127.0.0.1:") || !strings.HasSuffix(srv.URL(), CredentialsPath) {
		t.Fatalf("URL %s", srv.URL())
	}
	a := get(t, "GET", srv.URL(), []string{testToken}, "")
	if a.status != 200 || a.header.Get("Content-Type") != "application/json" || a.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %v %s", a.status, a.header, a.body)
	}
	var doc map[string]string
	if err := json.Unmarshal([]byte(a.body), &doc); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range doc {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"AccessKeyId", "AccountId", "Expiration", "SecretAccessKey", "Token"}; !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	exp, err := time.Parse(time.RFC3339, doc["Expiration"])
	if err != nil || !strings.HasSuffix(doc["Expiration"], "Z") || time.Until(exp) < 59*time.Minute {
		t.Errorf("Expiration %q", doc["Expiration"])
	}
	if doc["AccountId"] != "123456789012" || !slices.Contains(f.secrets(), doc["SecretAccessKey"]) || !slices.Contains(f.secrets(), doc["Token"]) {
		t.Errorf("document %v does not hold what STS issued", doc)
	}
	if f.count() != 1 || srv.Stats().Calls != 1 {
		t.Errorf("%d STS calls for one request after start, want 1", f.count())
	}
}

func TestAuthorization(t *testing.T) {
	srv, f := startServer(t, Config{}, time.Hour)
	for _, c := range []struct {
		name string
		auth []string
		ok   bool
	}{
		{"missing", nil, false},
		{"empty", []string{""}, false},
		{"wrong", []string{"test-token-0000000000000000000"}, false},
		{"prefix", []string{testToken[:len(testToken)-1]}, false},
		{"longer", []string{testToken + "0"}, false},
		{"bearer", []string{"Bearer " + testToken}, false},
		{"twice", []string{testToken, testToken}, false},
		{"right", []string{testToken}, true},
	} {
		a := get(t, "GET", srv.URL(), c.auth, "")
		if c.ok {
			if a.status != 200 {
				t.Errorf("%s: %d %s", c.name, a.status, a.body)
			}
			continue
		}
		msg := jsonError(t, a, 401, "Unauthorized")
		if !strings.Contains(msg, TokenEnv) {
			t.Errorf("%s: message %q", c.name, msg)
		}
		for _, s := range append(f.secrets(), testToken) {
			if strings.Contains(a.body, s) {
				t.Fatalf("%s: a 401 holds a secret", c.name)
			}
		}
	}
}

func TestHostHeader(t *testing.T) {
	srv, _ := startServer(t, Config{}, time.Hour)
	_, port, _ := net.SplitHostPort(srv.Addr())
	for host, ok := range map[string]bool{
		"127.0.0.1:" + port:          true,
		"localhost:" + port:          true,
		"LocalHost:" + port:          true,
		"[::1]:" + port:              true,
		"evil.example.com:" + port:   false,
		"127.0.0.1.nip.io:" + port:   false,
		"127.0.0.1:1" + port:         false,
		"127.0.0.1":                  false,
		"localhost":                  false,
		"169.254.170.2:" + port:      false,
		"[::ffff:127.0.0.1]:" + port: false,
	} {
		for _, path := range []string{CredentialsPath, HealthPath} {
			a := get(t, "GET", "http://"+srv.Addr()+path, []string{testToken}, host)
			if ok && a.status != 200 {
				t.Errorf("Host %s %s: %d %s", host, path, a.status, a.body)
			}
			if !ok {
				jsonError(t, a, 403, "Forbidden")
			}
		}
	}
	// HTTP/1.0 without a Host header at all.
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET %s HTTP/1.0\r\nAuthorization: %s\r\n\r\n", CredentialsPath, testToken)
	line, _ := bufio.NewReader(c).ReadString('\n')
	if !strings.Contains(line, " 403 ") {
		t.Errorf("no Host: %q", line)
	}
}

func TestMethodsAndPaths(t *testing.T) {
	srv, _ := startServer(t, Config{}, time.Hour)
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"} {
		a := get(t, m, srv.URL(), []string{testToken}, "")
		if m == "HEAD" {
			if a.status != 405 {
				t.Errorf("HEAD: %d", a.status)
			}
			continue
		}
		jsonError(t, a, 405, "MethodNotAllowed")
		if a.header.Get("Allow") != "GET" {
			t.Errorf("%s: Allow %q", m, a.header.Get("Allow"))
		}
	}
	jsonError(t, get(t, "POST", "http://"+srv.Addr()+HealthPath, nil, ""), 405, "MethodNotAllowed")
	jsonError(t, get(t, "GET", "http://"+srv.Addr()+"/", []string{testToken}, ""), 404, "NotFound")
	jsonError(t, get(t, "GET", "http://"+srv.Addr()+"/latest/meta-data/", nil, ""), 404, "NotFound")
}

// shortLived is how long the credentials of the tests that need them past
// the floor live: fake time does not run while a real socket is being
// listened on, so these tests wait in real time.
const shortLived = 3 * time.Second

// waitUnhealthy waits until srv has nothing it may serve.
func waitUnhealthy(t *testing.T, srv *Server) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); srv.Refresher().Healthy(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("still serving after 10s")
		}
	}
}

func TestHealth(t *testing.T) {
	srv, f := startServer(t, Config{Rand: seeded(3)}, shortLived)
	health := "http://" + srv.Addr() + HealthPath
	a := get(t, "GET", health, nil, "")
	if a.status != 200 || a.body != `{"status":"ok"}` || a.header.Get("Content-Type") != "application/json" {
		t.Fatalf("healthy: %d %s", a.status, a.body)
	}
	if a := get(t, "HEAD", health, nil, ""); a.status != 200 {
		t.Errorf("HEAD: %d", a.status)
	}
	f.failAlways(stsError(t, "RegionDisabledException", "STS is not activated in this region"))
	waitUnhealthy(t, srv)
	a = get(t, "GET", health, nil, "")
	if a.status != 503 || a.body != `{"status":"unavailable"}` {
		t.Errorf("past the floor: %d %s", a.status, a.body)
	}
	msg := jsonError(t, get(t, "GET", srv.URL(), []string{testToken}, ""), 503, "CredentialsUnavailable")
	for _, want := range []string{"no valid credentials: ", "RegionDisabledException", "; hint: an administrator can activate it"} {
		if !strings.Contains(msg, want) {
			t.Errorf("503 message %q lacks %q", msg, want)
		}
	}
}

func TestCheck(t *testing.T) {
	srv, f := startServer(t, Config{}, shortLived)
	if err := Check(context.Background(), srv.Addr(), time.Second); err != nil {
		t.Fatalf("healthy server: %v", err)
	}
	f.failAlways(stsError(t, "AccessDenied", "Not authorized"))
	waitUnhealthy(t, srv)
	err := Check(context.Background(), srv.Addr(), time.Second)
	if err == nil || !strings.Contains(err.Error(), "holds no credentials it may serve (HTTP 503)") {
		t.Errorf("unhealthy server: %v", err)
	}
	shutdown(srv)
	err = Check(context.Background(), srv.Addr(), time.Second)
	if err == nil || !strings.Contains(err.Error(), "no server answers at http://"+srv.Addr()+"/healthz: connection refused") {
		t.Errorf("no server: %v", err)
	}
	for addr, want := range map[string]string{"127.0.0.1:0": "names no port to check", "0.0.0.0:9911": "refusing to listen"} {
		if err := Check(context.Background(), addr, time.Second); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", addr, err)
		}
	}
}

func TestListenLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", ":0", "10.1.2.3:0", "169.254.170.2:80", "example.com:0", "127.0.0.1.nip.io:0", "[fe80::1%lo]:0", "[::ffff:10.0.0.1]:0"} {
		f := newFakeFetch(time.Hour)
		_, err := Start(context.Background(), Config{Fetch: f.fetch, Listen: addr, Token: secret.New(testToken)})
		if err == nil || !strings.Contains(err.Error(), "refusing to listen on "+addr+": the credentials endpoint listens on loopback only") {
			t.Errorf("%s: %v", addr, err)
		}
		if f.count() != 0 {
			t.Errorf("%s: STS called before the address was checked", addr)
		}
	}
	for addr, msg := range map[string]string{"127.0.0.1": "is not HOST:PORT", "127.0.0.1:http": "has no valid port", "127.0.0.1:70000": "has no valid port"} {
		if _, err := ListenAddr(addr); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v", addr, err)
		}
	}
	for addr, want := range map[string]string{"localhost:0": "127.0.0.1:0", "LOCALHOST:9911": "127.0.0.1:9911", "127.0.0.2:9911": "127.0.0.2:9911", "[::1]:0": "[::1]:0", "[::ffff:127.0.0.1]:80": "127.0.0.1:80"} {
		if got, err := ListenAddr(addr); err != nil || got.String() != want {
			t.Errorf("%s: %v %v, want %s", addr, got, err, want)
		}
	}
	srv, _ := startServer(t, Config{Listen: "localhost:0"}, time.Hour)
	if !strings.HasPrefix(srv.URL(), "http://127.0.0.1:") {
		t.Errorf("localhost listens at %s", srv.URL())
	}
}

func TestListenBusyPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	f := newFakeFetch(time.Hour)
	_, err = Start(context.Background(), Config{Fetch: f.fetch, Listen: l.Addr().String(), Token: secret.New(testToken)})
	if err == nil || !strings.Contains(err.Error(), "cannot listen on "+l.Addr().String()) {
		t.Fatalf("%v", err)
	}
}

func TestResolveToken(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == TokenEnv {
				return v
			}
			return ""
		}
	}
	good := write("good", testToken)
	for _, c := range []struct {
		name, env, file, want, from, err string
	}{
		{"env", testToken, "", testToken, TokenFromEnv, ""},
		{"env wins", testToken, write("other", "other-token-000000000000"), testToken, TokenFromEnv, ""},
		{"file", "", good, testToken, TokenFromFile, ""},
		{"trailing newline", "", write("nl", testToken+"\n"), "", "", "contains a line break, which the AWS SDKs refuse to send"},
		{"CR in env", testToken + "\r", "", "", "", "contains a line break"},
		{"control", "", write("ctl", testToken+"\x00"), "", "", "contains a control character"},
		{"spaces", " " + testToken, "", "", "", "starts or ends with white space"},
		{"short", "short", "", "", "", "has 5 characters; at least 32 are required"},
		{"short file", "", write("shortfile", "0123456789abcdef0123456789abcde"), "", "", "has 31 characters; at least 32 are required"},
		{"directory", "", dir, "", "", "--auth-token-file " + dir + " is not a regular file"},
		{"missing", "", filepath.Join(dir, "nope"), "", "", "cannot read --auth-token-file " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{"large", "", write("large", strings.Repeat("a", maxTokenFile+1)), "", "", "is larger than 4096 bytes"},
	} {
		tok, from, err := ResolveToken(env(c.env), c.file)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want %q", c.name, err, c.err)
			}
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Errorf("%s: the error shows the token", c.name)
			}
			continue
		}
		if err != nil || tok.Reveal() != c.want || from != c.from {
			t.Errorf("%s: %v %s %v", c.name, tok.Reveal() == c.want, from, err)
		}
	}
	a, from, err := ResolveToken(env(""), "")
	b, _, _ := ResolveToken(env(""), "")
	if err != nil || from != TokenFromGenerator || len(a.Reveal()) != 43 || a.Reveal() == b.Reveal() || strings.ContainsAny(a.Reveal(), "+/=") {
		t.Errorf("generated %d characters from %s (%v); two equal: %v", len(a.Reveal()), from, err, a.Reveal() == b.Reveal())
	}
	if got, _ := os.ReadFile(good); string(got) != testToken {
		t.Error("the token file changed")
	}
}

func TestRequestLimits(t *testing.T) {
	srv, _ := startServer(t, Config{}, time.Hour)
	// Just over serve's 8 KiB: its own JSON 431. Past net/http's bound
	// (8 KiB and the 4 KiB it reads beyond): net/http's plain-text one.
	a := get(t, "GET", srv.URL(), []string{strings.Repeat("x", 10<<10)}, "")
	if a.status != http.StatusRequestHeaderFieldsTooLarge || !strings.Contains(a.body, `"code":"RequestHeaderFieldsTooLarge"`) {
		t.Errorf("10 KiB header: %d %s", a.status, a.body)
	}
	a = get(t, "GET", srv.URL(), []string{strings.Repeat("x", 16<<10)}, "")
	if a.status != http.StatusRequestHeaderFieldsTooLarge || strings.Contains(a.body, "AccessKeyId") {
		t.Errorf("16 KiB header: %d %s", a.status, a.body)
	}
	// A request body is never read: a large one ends the connection
	// instead of being drained.
	req, _ := http.NewRequest("POST", srv.URL(), io.LimitReader(neverEnding{}, 1<<30))
	req.Header.Set("Authorization", testToken)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != 405 {
			t.Errorf("POST with a body: %d", resp.StatusCode)
		}
	} else if ctx.Err() != nil {
		t.Errorf("POST with a 1 GiB body hung: %v", err)
	}
}

type neverEnding struct{}

func (neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

// TestConcurrentRequestsOneCall: 100 concurrent requests, with nothing
// servable (the refresh hung past the floor), make no STS call of their
// own: they wait for the one in flight.
func TestConcurrentRequestsOneCall(t *testing.T) {
	srv, f := startServer(t, Config{}, shortLived)
	first, _ := srv.Refresher().Current()
	release := make(chan struct{})
	f.set(func(f *fakeFetch) { f.block, f.blockAt, f.entered = release, 2, make(chan struct{}, 1) })
	<-f.entered
	waitUnhealthy(t, srv)
	go func() {
		time.Sleep(200 * time.Millisecond) // let the rest arrive and wait
		close(release)
	}()
	var wg sync.WaitGroup
	keys := make(chan string, 100)
	for range 100 {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", srv.URL(), nil)
			req.Header.Set("Authorization", testToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var doc map[string]string
			if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != 200 {
				t.Errorf("%d %v", resp.StatusCode, err)
			}
			keys <- doc["AccessKeyId"]
		})
	}
	wg.Wait()
	close(keys)
	for k := range keys {
		if k == first.AccessKeyID {
			t.Fatal("a request got the expiring credentials")
		}
	}
	if n := f.count(); n != 2 {
		t.Errorf("%d STS calls: the first exchange and %d for 100 requests, want 1", n, n-1)
	}
}

// TestGoSDKReadsTheEndpoint: the Go SDK's own container credentials
// client reads what the server sends, credentials and errors alike.
func TestGoSDKReadsTheEndpoint(t *testing.T) {
	srv, f := startServer(t, Config{}, shortLived)
	p := endpointcreds.New(srv.URL(), func(o *endpointcreds.Options) {
		o.AuthorizationToken = testToken
		o.Retryer = aws.NopRetryer{}
	})
	got, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want, _ := srv.Refresher().Current()
	if got.AccessKeyID != want.AccessKeyID || got.SecretAccessKey != want.SecretAccessKey.Reveal() ||
		got.SessionToken != want.SessionToken.Reveal() || !got.CanExpire || !got.Expires.Equal(want.Expiration) || got.AccountID != "123456789012" {
		t.Errorf("the SDK read %v, want %v", got, want)
	}
	f.failAlways(stsError(t, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"))
	waitUnhealthy(t, srv)
	_, err = p.Retrieve(context.Background())
	if err == nil || !strings.Contains(err.Error(), "CredentialsUnavailable: no valid credentials: STS refused to let this workload assume") {
		t.Errorf("the SDK's error: %v", err)
	}
	bad := endpointcreds.New(srv.URL(), func(o *endpointcreds.Options) {
		o.AuthorizationToken = "test-token-wrong-wrong-wrong"
		o.Retryer = aws.NopRetryer{}
	})
	if _, err := bad.Retrieve(context.Background()); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Errorf("wrong token: %v", err)
	}
}

func TestShutdown(t *testing.T) {
	srv, _ := startServer(t, Config{}, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", srv.Addr()); err == nil {
		t.Error("still listening after Shutdown")
	}
	if srv.Refresher().NextRefresh() != (time.Time{}) {
		t.Error("a refresh is still scheduled")
	}
}

// TestWithFakeServers runs the real pipeline, metadata server and STS
// over HTTP, with STS issuing credentials that live 4 seconds: the server
// refreshes them in the background and never hands out ones at the floor.
func TestWithFakeServers(t *testing.T) {
	fk, err := fakes.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer fk.Close()
	fk.STS.Lifetime(4 * time.Second)
	flow := fakeFlow(t, fk)
	log := &syncBuffer{}
	srv, err := Start(context.Background(), Config{Fetch: flow.Credentials, Role: testRole, Token: secret.New(testToken), Logger: NewLogger(log, LogPlain, false), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(srv)
	keys := map[string]bool{}
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		a := get(t, "GET", srv.URL(), []string{testToken}, "")
		var doc map[string]string
		if err := json.Unmarshal([]byte(a.body), &doc); err != nil || a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		exp, _ := time.Parse(time.RFC3339, doc["Expiration"])
		// The lifetime is 3 to 4 s (STS truncates to the second): the
		// floor is a quarter of it.
		if left := time.Until(exp); left < 700*time.Millisecond {
			t.Fatalf("served credentials with %s left", left)
		}
		if !slices.Contains(fk.STS.Issued(), doc["SecretAccessKey"]) {
			t.Fatal("served a key STS did not issue")
		}
		keys[doc["AccessKeyId"]] = true
	}
	if len(keys) < 3 {
		t.Errorf("%d distinct keys in 5s of 4s credentials", len(keys))
	}
	if got, want := len(fk.STS.Received()), int(srv.Stats().Calls); got != want {
		t.Errorf("fake STS got %d calls, the server counted %d", got, want)
	}
	if !strings.Contains(log.String(), "gcp-aws-cred: serving "+testRole+" as session ") || !strings.Contains(log.String(), "gcp-aws-cred: refreshed the credentials; they expire at") {
		t.Errorf("log:\n%s", log)
	}
	for _, s := range fk.STS.Issued() {
		if strings.Contains(log.String(), s) {
			t.Fatal("the log holds a secret")
		}
	}
}

// TestThrottledStartWithFakeSTS: the fake STS throttles the first
// exchange through all of the SDK's attempts; serve retries it after a
// jittered pause and starts.
func TestThrottledStartWithFakeSTS(t *testing.T) {
	fk, err := fakes.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer fk.Close()
	fk.STS.FailNext(fakes.Throttled, fakes.Throttled, fakes.Throttled)
	log := &syncBuffer{}
	srv, err := Start(context.Background(), Config{Fetch: fakeFlow(t, fk).Credentials, Role: testRole, Token: secret.New(testToken), Logger: NewLogger(log, LogPlain, false), Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(srv)
	if n := len(fk.STS.Received()); n != 4 {
		t.Errorf("%d STS requests, want 3 throttled (the SDK's attempts) and 1 good", n)
	}
	if !strings.Contains(log.String(), "gcp-aws-cred: warning: STS throttled the first exchange (Throttling); retrying in ") {
		t.Errorf("log:\n%s", log)
	}
}

// fakeFlow is the real credential pipeline pointed at the fakes.
func fakeFlow(t *testing.T, fk *fakes.Servers) *cred.Flow {
	t.Helper()
	t.Setenv("GCE_METADATA_HOST", fk.MetadataHost)
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:9") // never the internet
	flow, err := cred.New(&cred.Options{
		Role:         testRole,
		Duration:     time.Hour,
		STSEndpoint:  fk.STSURL,
		TokenOptions: cred.TokenOptions{Audience: "sts.amazonaws.com", ServiceAccount: "default", Timeout: 10 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	return flow
}
