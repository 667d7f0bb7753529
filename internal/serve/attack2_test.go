package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
)

// More attacks against the real server over loopback, each one a weakness
// found by attacking the built binary, kept as a regression test.

// TestOptionsStarGetsNoConnection: net/http answers "OPTIONS *" itself
// (200, keep-alive) unless told not to, which let a client without the
// token hold a connection open for good by sending one every minute.
// serve answers it like any other path: 404 and Connection: close, and
// nothing pipelined after it is read.
func TestOptionsStarGetsNoConnection(t *testing.T) {
	srv, _ := startServer(t, Config{}, time.Hour)
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	req := fmt.Sprintf("OPTIONS * HTTP/1.1\r\nHost: %s\r\n\r\n", srv.Addr())
	go io.WriteString(c, strings.Repeat(req, 3))
	b, err := io.ReadAll(c) // ends when the server closes; the deadline fails it
	got := string(b)
	if err != nil {
		t.Fatalf("the connection stayed open after OPTIONS * (%v); read:\n%s", err, got)
	}
	if n := strings.Count(got, "HTTP/1.1 "); n != 1 || !strings.Contains(got, "Connection: close") {
		t.Errorf("OPTIONS * pipelined 3 times got %d answers, want 1 with Connection: close:\n%s", n, got)
	}
}

// TestDateInThePastNeverStretchesLifetime: STS's answer carries a Date a
// day before its Expiration's issue time (a broken proxy or endpoint), for
// 1-hour credentials. Lifetimes came from Date against Expiration alone, so
// serve took them for 25-hour credentials and served them, /healthz green,
// for a day after they had expired, its next refresh 15 hours away. A Date
// earlier than this machine's clock cannot tell a wrong Date from a local
// clock that is ahead; the shorter reading is right in both cases.
func TestDateInThePastNeverStretchesLifetime(t *testing.T) {
	bubble(t, func(t *testing.T, t0 time.Time) {
		f := newFakeFetch(time.Hour)
		f.dated = true
		fetch := func(ctx context.Context) (awscred.Credentials, error) {
			c, err := f.fetch(ctx)
			c.Issued = c.Issued.Add(-24 * time.Hour)
			return c, err
		}
		r := NewRefresher(Config{Fetch: fetch, Rand: seeded(1)})
		defer r.Close()
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if next := time.Until(r.NextRefresh()); next > time.Hour {
			t.Errorf("1h credentials: next refresh %s away", next)
		}
		f.failAlways(stsError(t, "IDPCommunicationError", "Couldn't retrieve verification key"))
		advance(time.Hour)
		if c, err := r.Credentials(context.Background()); err == nil || r.Healthy() {
			t.Fatalf("an hour in, credentials that expired at %s are still served (healthy %v)", c.Expiration, r.Healthy())
		}
	})
}

// TestHungRefreshAnswers503: STS hangs while nothing may be served. A
// request waited for the hung refresh until its own timeout (30 s), past
// the server's WriteTimeout (10 s), so the 503 could not be written and
// the client got an empty reply after half a minute instead of the JSON
// error the SDKs show. A request waits for a refresh in flight a bounded
// time, well inside WriteTimeout, then gets its 503.
func TestHungRefreshAnswers503(t *testing.T) {
	srv, f := startServer(t, Config{}, shortLived)
	release := make(chan struct{})
	defer close(release)
	f.set(func(f *fakeFetch) { f.block, f.blockAt, f.entered = release, 2, make(chan struct{}, 1) })
	<-f.entered
	waitUnhealthy(t, srv)
	req, _ := http.NewRequest("GET", srv.URL(), nil)
	req.Header.Set("Authorization", testToken)
	client := &http.Client{Transport: &http.Transport{}, Timeout: 40 * time.Second}
	start := time.Now()
	resp, err := client.Do(req)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("after %s: %v (want a JSON 503)", took, err)
	}
	defer resp.Body.Close()
	var doc map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != 503 || doc["code"] != "CredentialsUnavailable" {
		t.Fatalf("after %s: HTTP %d %v %v", took, resp.StatusCode, doc, err)
	}
	t.Logf("503 after %s: %s", took.Round(time.Millisecond), doc["message"])
}

// TestServerErrorLog: net/http's own lines reach serve's log as warnings,
// cleaned like serve's own. They are not rate limited: the cap on
// connections without the token (maxStrangers) keeps strangers from
// making net/http log an accept error per connection over the descriptor
// limit.
func TestServerErrorLog(t *testing.T) {
	log := &syncBuffer{}
	srv, _ := startServer(t, Config{Logger: NewLogger(log, LogPlain, false)}, time.Hour)
	srv.http.ErrorLog.Printf("http: Accept error: accept tcp 127.0.0.1:1: accept4: too many open files; retrying in 5ms")
	srv.http.ErrorLog.Printf("http: panic serving %s: boom\n", srv.Addr())
	want := "gcp-aws-cred: warning: http: Accept error: accept tcp 127.0.0.1:1: accept4: too many open files; retrying in 5ms\n" +
		"gcp-aws-cred: warning: http: panic serving " + srv.Addr() + ": boom\n"
	if got := log.String(); !strings.HasSuffix(got, want) {
		t.Errorf("the log ends\n%s\nwant\n%s", got, want)
	}
}
