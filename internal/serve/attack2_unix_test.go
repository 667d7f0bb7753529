//go:build unix

package serve

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
)

// helperFDLimit is a server whose process may hold 64 file descriptors, a
// small stand-in for the limit a hostile local user fills with idle
// connections. It prints its address and serves until killed.
func helperFDLimit() int {
	lim := syscall.Rlimit{Cur: 64, Max: 64}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	f := newFakeFetch(realClock{}, time.Hour)
	srv, err := Start(context.Background(), Config{Fetch: f.fetch, Role: testRole, Token: secret.New(testToken), Log: os.Stderr, Quiet: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	fmt.Println(srv.Addr())
	time.Sleep(time.Minute)
	return 0
}

// TestStrangersCannotExhaustDescriptors: connections that never send a
// request fill the server's file descriptors. net/http then retries
// accept(2) until one of them times out (ReadHeaderTimeout, 10 s), and a
// real client waited that long for each wave of strangers. Out of
// descriptors, the server now closes the oldest connections that never
// completed a request, so that the client in the accept queue gets in.
func TestStrangersCannotExhaustDescriptors(t *testing.T) {
	_, out, stderr := helper(t, "fdlimit", nil)
	addr := readLine(t, out)
	// A client kept alive from before must keep its connection.
	kept, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer kept.Close()
	keptGet := func() string {
		_ = kept.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(kept, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\n\r\n", CredentialsPath, addr, testToken)
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
	for range 100 { // more than the limit: the rest wait in the accept queue
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
	}
	time.Sleep(200 * time.Millisecond) // let the server run out
	took, err := fetcher(&Server{url: "http://" + addr + CredentialsPath})()
	if err != nil {
		t.Fatalf("with the descriptors taken by idle strangers: %v after %s", err, took)
	}
	t.Logf("answered in %s", took)
	if got := keptGet(); got != "200 OK" {
		t.Errorf("kept-alive client, after: %s", got)
	}
	if log := stderr.String(); strings.Count(log, "out of file descriptors") != 1 {
		t.Errorf("want one line about the shedding:\n%s", log)
	}
}

// TestServeUnderNohupKeepsRunningOnSIGHUP: started with SIGHUP ignored
// (`nohup gcp-aws-cred serve &`), serve caught SIGHUP anyway, which
// undoes the ignoring, and stopped when the terminal closed: the one thing
// nohup was asked for. A stop signal the caller ignored stays ignored, as
// exec --serve leaves it for its command: a SIGHUP then a SIGTERM stop
// serve for the SIGTERM.
func TestServeUnderNohupKeepsRunningOnSIGHUP(t *testing.T) {
	cmd := exec.Command("sh", "-c", `trap "" HUP; exec "$0"`, os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=serve")
	out, stderr := startPiped(t, cmd)
	if line := readLine(t, out); !strings.HasPrefix(line, "export "+URIEnv+"=") {
		t.Fatalf("printed %q; stderr: %s", line, stderr)
	}
	_ = cmd.Process.Signal(syscall.SIGHUP)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v; stderr: %s", err, stderr)
	}
	if log := stderr.String(); !strings.Contains(log, "stopping: received terminated") {
		t.Errorf("want a stop for SIGTERM, the SIGHUP ignored:\n%s", log)
	}
}
