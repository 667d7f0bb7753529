//go:build unix

package serve

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/output"
)

// helperBind tries to listen on addr, as another local user's process
// would to catch the clients' tokens: exit 0 if it could, 3 if not.
func helperBind(addr string) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Println(err)
		return 3
	}
	ln.Close()
	return 0
}

// helperActivated is serve under socket activation: the test passes a
// listening socket as descriptor 3, and LISTEN_PID can only name this
// process once it runs.
func helperActivated() int {
	os.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
	f := newFakeFetch(time.Hour)
	err := Run(context.Background(), RunConfig{
		Config: Config{Fetch: f.fetch, Role: testRole, Logger: NewLogger(os.Stderr, LogPlain, false), Listen: "127.0.0.1:1"},
		Output: output.Env, Stdout: os.Stdout,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	return 0
}

// helper starts the test binary as one of the helpers.
func helper(t *testing.T, mode string, files []*os.File, args ...string) (*exec.Cmd, *bufio.Reader, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "LISTEN_FDS=1")
	cmd.ExtraFiles = files
	stdout, stderr := startPiped(t, cmd)
	return cmd, stdout, stderr
}

// freePort is a loopback address nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestFixedPortHeldDuringSlowExchange: with a fixed --listen, the port is
// bound before the first exchange, so while that exchange is slow another
// process cannot take the port and receive the clients' tokens. A client
// connecting meanwhile waits and is answered once credentials are in hand.
func TestFixedPortHeldDuringSlowExchange(t *testing.T) {
	addr := freePort(t)
	f := newFakeFetch(time.Hour)
	release := make(chan struct{})
	f.set(func(f *fakeFetch) { f.block, f.entered = release, make(chan struct{}, 1) })
	started := make(chan *Server, 1)
	go func() {
		srv, err := Start(context.Background(), Config{Fetch: f.fetch, Role: testRole, Listen: addr, Token: secret.New(testToken)})
		if err != nil {
			t.Error(err)
		}
		started <- srv
	}()
	<-f.entered // the first exchange is under way, and hangs
	cmd := exec.Command(os.Args[0], addr)
	cmd.Env = append(os.Environ(), helperEnv+"=bind")
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 3 {
		t.Fatalf("another process bound %s during the first exchange (exit %d, %v): %s", addr, code, err, out)
	}
	if !strings.Contains(string(out), "address already in use") {
		t.Errorf("the other process: %s", out)
	}
	type result struct {
		a   answer
		err error
	}
	answered := make(chan result, 1)
	go func() { // tryGet, not get: t.Fatal must not be called from here
		a, err := tryGet("GET", "http://"+addr+CredentialsPath, []string{testToken}, "")
		answered <- result{a, err}
	}()
	time.Sleep(200 * time.Millisecond)
	close(release)
	srv := <-started
	if srv == nil {
		t.FailNow()
	}
	defer shutdown(srv)
	if r := <-answered; r.err != nil || r.a.status != 200 {
		t.Errorf("the client that connected during the exchange: %v %d %s", r.err, r.a.status, r.a.body)
	}
}

// TestServeDrainsOnSIGHUP: a closing terminal's SIGHUP stops serve as
// SIGTERM does: exit 0 within 2 seconds, the socket closed.
func TestServeDrainsOnSIGHUP(t *testing.T) {
	cmd, out, stderr := helper(t, "serve", nil)
	line, _ := out.ReadString('\n')
	uri, ok := strings.CutPrefix(strings.TrimSpace(line), "export "+URIEnv+"=")
	if !ok {
		t.Fatalf("printed %q; stderr: %s", line, stderr)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := cmd.Wait()
	if took := time.Since(start); err != nil || took > 2*time.Second {
		t.Errorf("after SIGHUP: %v after %s; stderr: %s", err, took, stderr)
	}
	if !strings.Contains(stderr.String(), "gcp-aws-cred: stopping: received hangup") {
		t.Errorf("stderr: %s", stderr)
	}
	host := strings.TrimSuffix(strings.TrimPrefix(uri, "http://"), CredentialsPath)
	if c, err := net.Dial("tcp", host); err == nil {
		c.Close()
		t.Error("still listening after exit")
	}
}

// TestSocketActivation: serve takes the listening socket systemd passes
// (descriptor 3, LISTEN_FDS=1, LISTEN_PID its own), ignores --listen, and
// serves on it.
func TestSocketActivation(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	ln.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, out, stderr := helper(t, "activated", []*os.File{f})
	line, _ := out.ReadString('\n')
	uri, ok := strings.CutPrefix(strings.TrimSpace(line), "export "+URIEnv+"=")
	if !ok || uri != "http://"+ln.Addr().String()+CredentialsPath {
		t.Fatalf("printed %q, want the passed socket's %s; stderr: %s", line, ln.Addr(), stderr)
	}
	tok, _ := out.ReadString('\n')
	tok = strings.TrimPrefix(strings.TrimSpace(tok), "export "+TokenEnv+"=")
	if a := get(t, "GET", uri, []string{tok}, ""); a.status != 200 {
		t.Errorf("%d %s", a.status, a.body)
	}
	if !strings.Contains(stderr.String(), "listening on the socket systemd passed, "+ln.Addr().String()) {
		t.Errorf("stderr: %s", stderr)
	}
}

// TestSocketActivationRefusesNonListening: a connected socket (what a
// .socket unit with Accept=yes passes) or one bound but not listening was
// taken as a listener: serve logged "serving" and answered nothing. Both
// are refused, with the error and a hint, and exit non-zero.
func TestSocketActivationRefusesNonListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	connected, err := conn.(*net.TCPConn).File()
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer connected.Close()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	bound := os.NewFile(uintptr(fd), "bound")
	defer bound.Close()
	for name, f := range map[string]*os.File{"connected": connected, "bound": bound} {
		cmd, out, stderr := helper(t, "activated", []*os.File{f})
		if code, _ := waitExit(t, cmd, 5*time.Second); code != 1 {
			line, _ := out.ReadString('\n')
			t.Errorf("%s: exit %d, printed %q", name, code, line)
		}
		if !strings.Contains(stderr.String(), "helper: the descriptor systemd passed (LISTEN_FDS) is not listening: it is connected (what Accept=yes passes) or bound but not listening") {
			t.Errorf("%s: stderr: %s", name, stderr)
		}
	}
}

// TestTokenFileHygiene: a FIFO is refused at once rather than blocking
// start-up; a file others can read is used, with a warning.
func TestTokenFileHygiene(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	start := time.Now()
	_, _, err := ResolveToken(func(string) string { return "" }, fifo)
	if err == nil || !strings.Contains(err.Error(), "--auth-token-file "+fifo+" is not a regular file") || time.Since(start) > time.Second {
		t.Errorf("FIFO: %v after %s", err, time.Since(start))
	}

	open := filepath.Join(dir, "open")
	if err := os.WriteFile(open, []byte(testToken), 0o644); err != nil {
		t.Fatal(err)
	}
	_, log, err := runServe(t, RunConfig{TokenFile: open, Getenv: func(string) string { return "" }})
	if err != nil || !strings.Contains(log, "warning: --auth-token-file "+open+" can be read by other users (mode 0644)") {
		t.Errorf("%v\n%s", err, log)
	}
	private := filepath.Join(dir, "private")
	if err := os.WriteFile(private, []byte(testToken), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, log, err := runServe(t, RunConfig{TokenFile: private, Getenv: func(string) string { return "" }}); err != nil || strings.Contains(log, "can be read by other users") {
		t.Errorf("%v\n%s", err, log)
	}
}
