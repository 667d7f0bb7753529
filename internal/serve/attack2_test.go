package serve

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
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
