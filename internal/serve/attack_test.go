package serve

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// These tests attack the real server, over loopback, as a hostile local
// user could: connections that pipeline requests and never read the
// answers, connections that sit idle or send half a header, oversized
// headers, request smuggling. A real client with the token must be served
// all along, at once.

// fetcher is a real client with the token, keeping its connection alive
// as the SDKs do.
func fetcher(srv *Server) func() (time.Duration, error) { return fetcherWith(srv, testToken) }

// fetcherWith is fetcher with another token.
func fetcherWith(srv *Server, token string) func() (time.Duration, error) {
	client := &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 10 * time.Second}
	return func() (time.Duration, error) {
		req, _ := http.NewRequest("GET", srv.URL(), nil)
		req.Header.Set("Authorization", token)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return time.Since(start), err
		}
		defer resp.Body.Close()
		var doc map[string]string
		err = json.NewDecoder(resp.Body).Decode(&doc)
		took := time.Since(start)
		if err == nil && (resp.StatusCode != 200 || doc["AccessKeyId"] == "") {
			err = fmt.Errorf("HTTP %d %v", resp.StatusCode, doc)
		}
		return took, err
	}
}

// TestStrangersWhoNeverReadCannotStarveClients: 600 connections without a
// token pipeline requests and never read the answers while they hold the
// connection, reconnecting all along, while a real client fetches
// credentials every 0.3 s. Each stranger gets one 401 with Connection:
// close, and nothing it sends after it is read; no connection slot exists
// for it to pin. The flood opens connections faster than the cap on
// strangers (maxStrangers) turns over, so a client's new connection, a
// stranger's until its header is read, may be among the oldest closed: the
// client retries, as every SDK does on a reset connection (botocore's
// container provider and the Go SDK's both try 3 times).
//
// What is asserted is behaviour, not speed (the latencies are only logged;
// speed is BenchmarkCredentials's business): every
// fetch is answered within the SDKs' 3 tries, and every stranger, once it
// stops holding and reads, finds at most one answer, a 401, and its
// connection closed by the server. The only clock is a liveness bound far
// above readHeaderTimeout, which closes a stranger the server never got to.
func TestStrangersWhoNeverReadCannotStarveClients(t *testing.T) {
	srv, _ := startServer(t, Config{}, time.Hour)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	pipeline := strings.Repeat(fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", CredentialsPath, srv.Addr()), 200)
	const closedWithin = 5 * readHeaderTimeout // liveness, not performance
	var wg sync.WaitGroup
	var conns, answered atomic.Int64
	var mu sync.Mutex
	var wrong []string
	for range 600 {
		wg.Go(func() {
			for ctx.Err() == nil {
				c, err := net.DialTimeout("tcp", srv.Addr(), time.Second)
				if err != nil {
					continue
				}
				conns.Add(1)
				_ = c.SetWriteDeadline(time.Now().Add(time.Second))
				_, _ = io.WriteString(c, pipeline)
				select { // hold it, never reading
				case <-ctx.Done():
				case <-time.After(500 * time.Millisecond):
				}
				// Now read what the server wrote: at most one answer, a 401,
				// then the end of the connection (EOF, or a reset when the
				// server closed with our pipelined requests unread).
				_ = c.SetReadDeadline(time.Now().Add(closedWithin))
				got, err := io.ReadAll(c)
				c.Close()
				n := strings.Count(string(got), "HTTP/1.1 ")
				answered.Add(int64(n))
				var ne net.Error
				switch {
				case errors.As(err, &ne) && ne.Timeout():
					err = fmt.Errorf("still open after %s", closedWithin)
				case n > 1:
					err = fmt.Errorf("%d answers to one connection", n)
				case n == 1 && !strings.HasPrefix(string(got), "HTTP/1.1 401 "):
					err = fmt.Errorf("answered %q", strings.SplitN(string(got), "\r\n", 2)[0])
				default:
					err = nil
				}
				if err != nil {
					mu.Lock()
					wrong = append(wrong, err.Error())
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond) // the flood is on
	fetch := fetcher(srv)
	var took []time.Duration
	var retries int
	for range 20 {
		var d time.Duration
		var err error
		for try := 1; try <= 3; try++ {
			var one time.Duration
			one, err = fetch()
			d += one
			if err == nil {
				break
			}
			retries++
		}
		if err != nil {
			t.Errorf("fetch %d failed 3 times, after %s: %v", len(took)+1, d, err)
		}
		took = append(took, d)
		time.Sleep(300 * time.Millisecond)
	}
	stop()
	wg.Wait()
	slices.Sort(took)
	t.Logf("%d stranger connections, %d answers read by them; %d fetches (%d retried): median %s, max %s",
		conns.Load(), answered.Load(), len(took), retries, took[len(took)/2], took[len(took)-1])
	if len(wrong) > 0 {
		t.Errorf("%d of %d stranger connections were not answered once with 401 and closed, e.g. %s", len(wrong), conns.Load(), wrong[0])
	}
	if answered.Load() == 0 {
		t.Error("no stranger was ever answered: the flood did not reach the server")
	}
}

// TestIdleStrangersCannotStarveClients: 500 connections that send nothing
// and 50 that send half a header (a slowloris's start) are opened while a
// client with the token holds a kept-alive connection. Only the newest
// maxStrangers stay open, the oldest closed as new ones come; the kept
// client keeps its connection, and a new client is answered at once.
// (Descriptors cannot run out first: the cap is far below the process's
// limit, so serve no longer sheds connections when accept(2) fails.)
func TestIdleStrangersCannotStarveClients(t *testing.T) {
	log := &syncBuffer{}
	srv, _ := startServer(t, Config{Logger: NewLogger(log, LogPlain, false)}, time.Hour)
	kept, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer kept.Close()
	keptGet := func() string {
		_ = kept.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(kept, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\n\r\n", CredentialsPath, srv.Addr(), testToken)
		resp, err := http.ReadResponse(bufio.NewReader(kept), nil)
		if err != nil {
			return err.Error()
		}
		resp.Body.Close()
		return resp.Status
	}
	if got := keptGet(); got != "200 OK" {
		t.Fatalf("kept-alive client, before: %s", got)
	}
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	for i := range 550 {
		c, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if i >= 500 {
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthoriz", CredentialsPath, srv.Addr())
		}
		open = append(open, c)
	}
	d, err := fetcher(srv)()
	if err != nil || d > 2*time.Second {
		t.Fatalf("fetch with 500 idle and 50 half-sent connections opened: %v after %s", err, d)
	}
	t.Logf("answered in %s", d)
	if got := keptGet(); got != "200 OK" {
		t.Errorf("kept-alive client, after: %s", got)
	}
	// The oldest are closed; the newest are too, after readHeaderTimeout,
	// which may pass while this loop reads.
	for i, c := range open[:len(open)-maxStrangers] {
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("stranger %d of %d: %v, want it closed", i+1, len(open), err)
		}
	}
	if n := strings.Count(log.String(), "that had sent no request with the token, the oldest of more than 128 open at once"); n != 1 {
		t.Errorf("want one line about closing strangers:\n%s", log)
	}
}

// TestStrangersCapSparesWaitingClient: a client with the token whose
// request waits for a refresh (nothing may be served meanwhile) is no
// stranger: the cap closes the strangers' connections opened after it, not
// its own, and it gets its credentials once the refresh ends. Shedding on
// descriptor exhaustion closed it like any connection not yet answered.
func TestStrangersCapSparesWaitingClient(t *testing.T) {
	srv, f := startServer(t, Config{}, shortLived)
	release := make(chan struct{})
	f.set(func(f *fakeFetch) { f.block, f.blockAt, f.entered = release, 2, make(chan struct{}, 1) })
	<-f.entered
	waitUnhealthy(t, srv)
	waiting, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		close(release)
		t.Fatal(err)
	}
	defer waiting.Close()
	fmt.Fprintf(waiting, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\n\r\n", CredentialsPath, srv.Addr(), testToken)
	time.Sleep(200 * time.Millisecond) // its header is read; it waits
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	for range 2 * maxStrangers {
		c, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			close(release)
			t.Fatal(err)
		}
		open = append(open, c)
	}
	time.Sleep(100 * time.Millisecond)
	close(release)
	_ = waiting.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(waiting), nil)
	if err != nil {
		t.Fatalf("the client waiting for the refresh: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("the client waiting for the refresh: %s", resp.Status)
	}
	_ = open[0].SetReadDeadline(time.Now().Add(time.Second))
	if _, err := open[0].Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("the oldest stranger: %v, want it closed", err)
	}
}

// rawExchange writes raw to a new connection and returns everything the
// server sends back until it closes the connection or 3 s pass.
func rawExchange(t *testing.T, srv *Server, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	go io.WriteString(c, raw) // the server may stop reading early
	b, _ := io.ReadAll(c)
	return string(b)
}

// TestHugeHeaderRefused: a 300 KB header is refused by net/http itself
// (431, in its own plain text), without the server reading it all or
// answering with credentials.
func TestHugeHeaderRefused(t *testing.T) {
	srv, _ := startServer(t, Config{}, time.Hour)
	got := rawExchange(t, srv, fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nX-Pad: %s\r\n\r\n",
		CredentialsPath, srv.Addr(), testToken, strings.Repeat("a", 300<<10)))
	if !strings.HasPrefix(got, "HTTP/1.1 431 ") || strings.Contains(got, "AccessKeyId") {
		t.Errorf("300 KB header answered:\n%.300s", got)
	}
}

// TestSmugglingGetsNoCredentials: a request carrying both Content-Length
// and Transfer-Encoding, whose chunked body ends early and hides a second
// request with the token, gets no credentials: the body is never parsed as
// a request. Nor does a request with two Host headers, or an obfuscated
// Transfer-Encoding.
func TestSmugglingGetsNoCredentials(t *testing.T) {
	srv, _ := startServer(t, Config{}, time.Hour)
	hidden := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\n\r\n", CredentialsPath, srv.Addr(), testToken)
	body := "0\r\n\r\n" + hidden
	for name, raw := range map[string]string{
		"CL+TE": fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n%s",
			HealthPath, srv.Addr(), len(body), body),
		"TE with a space": fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding : chunked\r\nContent-Length: %d\r\n\r\n%s",
			HealthPath, srv.Addr(), len(body), body),
		"two Host headers": fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nHost: evil.example.com\r\nAuthorization: %s\r\n\r\n",
			CredentialsPath, srv.Addr(), testToken),
		"HTTP/9.9":              fmt.Sprintf("GET %s HTTP/9.9\r\nHost: %s\r\nAuthorization: %s\r\n\r\n", CredentialsPath, srv.Addr(), testToken),
		"HTTP/1.1 without Host": fmt.Sprintf("GET %s HTTP/1.1\r\nAuthorization: %s\r\n\r\n", CredentialsPath, testToken),
	} {
		got := rawExchange(t, srv, raw)
		if strings.Contains(got, "AccessKeyId") || strings.Contains(got, " 200 ") {
			t.Errorf("%s: answered with credentials:\n%s", name, got)
		}
		if n := strings.Count(got, "HTTP/1.1 "); n > 1 {
			t.Errorf("%s: %d answers: the body was read as a request:\n%s", name, n, got)
		}
		t.Logf("%s: %s", name, strings.SplitN(got, "\r\n", 2)[0])
	}
}

// TestOnlyAuthorisedClientsKeepConnections: every answer but a 200 from
// the credentials endpoint says Connection: close and closes.
func TestOnlyAuthorisedClientsKeepConnections(t *testing.T) {
	srv, _ := startServer(t, Config{}, time.Hour)
	for _, c := range []struct {
		path, auth string
		keep       bool
	}{
		{CredentialsPath, testToken, true},
		{CredentialsPath, "", false},
		{CredentialsPath, "wrong-token-wrong-token-wrong-token", false},
		{"/nope", testToken, false},
		{HealthPath, "", false},
	} {
		conn, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\n\r\n", c.path, srv.Addr(), c.auth)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Close == c.keep {
			t.Errorf("%s with %q: HTTP %d, Connection: close %v; want %v", c.path, c.auth, resp.StatusCode, resp.Close, !c.keep)
		}
		conn.Close()
	}
}

// TestUnauthorizedLoggedRateLimited: the first 401 is logged, with its
// reason; the next ones are counted, not logged one by one.
func TestUnauthorizedLoggedRateLimited(t *testing.T) {
	log := &syncBuffer{}
	srv, _ := startServer(t, Config{Logger: NewLogger(log, LogPlain, false)}, time.Hour)
	for range 50 {
		get(t, "GET", srv.URL(), []string{"wrong-token-wrong-token-wrong-token"}, "")
	}
	out := log.String()
	if n := strings.Count(out, "refused"); n != 1 || !strings.Contains(out, "warning: refused a request with a wrong token from 127.0.0.1:") {
		t.Errorf("%d lines about refusals, want 1:\n%s", n, out)
	}
	if strings.Contains(out, testToken) || strings.Contains(out, "wrong-token") {
		t.Error("the log shows a token")
	}
}
