package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
)

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fakeExchange issues credentials valid for life from the clock's now,
// numbered, and counts the calls.
type fakeExchange struct {
	clock *clock
	life  time.Duration
	calls atomic.Int32
	gate  chan struct{} // when set, each exchange waits for it
	err   error
}

func (f *fakeExchange) run(_ context.Context, r *Request) (awscred.Credentials, error) {
	n := f.calls.Add(1)
	if f.gate != nil {
		<-f.gate
	}
	if f.err != nil {
		return awscred.Credentials{}, f.err
	}
	return awscred.Credentials{AccessKeyID: fmt.Sprintf("ASIA%d-%s", n, strings.Join(r.Args, ",")), SecretAccessKey: secret.New(fmt.Sprintf("secret-%d", n)),
		SessionToken: secret.New("token"), Expiration: f.clock.Now().Add(f.life)}, nil
}

func newTestServer(life time.Duration) (*Server, *clock, *fakeExchange) {
	c := &clock{now: time.Now()}
	f := &fakeExchange{clock: c, life: life}
	return NewServer(Config{Exchange: f.run, Now: c.Now}), c, f
}

func req(args ...string) *Request {
	h, _ := os.Hostname()
	return &Request{V: 1, Op: opGet, Args: args, Env: []string{"HOME=/home/u"}, Host: h}
}

func get(t *testing.T, s *Server, r *Request) answer {
	t.Helper()
	a := s.get(r, func() {})
	if a.Status != stOK {
		t.Fatalf("get: %+v", a)
	}
	return a
}

// TestFreshness: with a one-hour session, no answer has less than 15
// minutes left; an entry past that is exchanged again, not handed out.
func TestFreshness(t *testing.T) {
	s, c, f := newTestServer(time.Hour)
	r := req("--role", "a")
	for range 120 { // two hours, a request a minute, no refresh ticks
		a := get(t, s, r)
		if left := a.Expiration.Sub(c.Now()); left < MinLeft {
			t.Fatalf("at %s handed out credentials with %s left", c.Now().Format(time.TimeOnly), left)
		}
		c.add(time.Minute)
	}
	// 45 minutes servable out of each hour: 120 minutes take 3 exchanges.
	if n := f.calls.Load(); n != 3 {
		t.Errorf("%d exchanges in two hours of requests, want 3", n)
	}
}

// TestShortSession: a 20-minute session is longer than 15 minutes, so it
// too is never handed out with less than 15 minutes left (issue 22): each
// exchange serves for its first 5 minutes only.
func TestShortSession(t *testing.T) {
	s, c, f := newTestServer(20 * time.Minute)
	r := req("--role", "a", "--duration", "20m")
	for range 12 { // an hour, a request every 4m59s
		a := get(t, s, r)
		if left := a.Expiration.Sub(c.Now()); left < MinLeft {
			t.Fatalf("at %s handed out credentials with %s left", c.Now().Format(time.TimeOnly), left)
		}
		c.add(4*time.Minute + 59*time.Second)
	}
	// Every other request finds 15m01s left, then 10m02s: 6 exchanges.
	if n := f.calls.Load(); n != 6 {
		t.Errorf("%d exchanges, want 6", n)
	}
}

// TestRefreshAheadAndIdle: an entry in use is refreshed within serve's
// window by Tick, so requests never wait; one unused for an hour is
// dropped without an exchange.
func TestRefreshAheadAndIdle(t *testing.T) {
	s, c, f := newTestServer(time.Hour)
	r := req("--role", "a")
	get(t, s, r)
	for range 40 { // 40 minutes of ticks, used each minute
		c.add(time.Minute)
		s.Tick()
		waitIdle(s)
		get(t, s, r)
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("%d exchanges after 40 minutes in use, want 2 (the first and one refresh ahead)", n)
	}
	c.add(Idle)
	s.Tick()
	waitIdle(s)
	if n := entries(s); n != 0 || f.calls.Load() != 2 {
		t.Errorf("after an hour unused: %d entries, %d exchanges; want the entry dropped and no exchange", n, f.calls.Load())
	}
}

// syncBuffer is a log several goroutines write.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// entries is how many entries s holds.
func entries(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

// ask asks the agent at socket as the credential process does.
func ask(socket string, r *Request) (*Answer, error) {
	c, err := Dial(context.Background(), socket)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Ask(context.Background(), r)
}

func waitIdle(s *Server) {
	for {
		s.mu.Lock()
		busy := false
		for _, e := range s.entries {
			busy = busy || e.flight != nil
		}
		s.mu.Unlock()
		if !busy {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// TestOneExchangePerEntry: concurrent requests for new inputs share one
// exchange and one answer; other inputs get their own.
func TestOneExchangePerEntry(t *testing.T) {
	s, _, f := newTestServer(time.Hour)
	f.gate = make(chan struct{})
	var wg sync.WaitGroup
	keys := make([]string, 20)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys[i] = get(t, s, req("--role", fmt.Sprint("r", i%2))).AccessKeyID
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(f.gate)
	wg.Wait()
	if n := f.calls.Load(); n != 2 {
		t.Errorf("20 concurrent requests for 2 sets of inputs made %d exchanges", n)
	}
	for i, k := range keys {
		if !strings.HasSuffix(k, fmt.Sprint("r", i%2)) {
			t.Errorf("request %d got %s", i, k)
		}
	}
}

// TestEntryCap: past MaxEntries the least recently used entry goes.
func TestEntryCap(t *testing.T) {
	s, c, f := newTestServer(time.Hour)
	for i := range MaxEntries + 1 {
		get(t, s, req("--role", fmt.Sprint(i)))
		c.add(time.Second)
	}
	if n := entries(s); n != MaxEntries {
		t.Errorf("%d entries held, cap %d", n, MaxEntries)
	}
	get(t, s, req("--role", "0")) // the oldest, dropped: exchanged again
	if n := int(f.calls.Load()); n != MaxEntries+2 {
		t.Errorf("%d exchanges, want %d", n, MaxEntries+2)
	}
}

// TestFailureNotKept: a failed exchange is answered as it failed and
// leaves no entry; the next request tries again.
func TestFailureNotKept(t *testing.T) {
	s, _, f := newTestServer(time.Hour)
	f.err = &Failure{Exit: 75, Stderr: "gcp-aws-cred: error: STS is throttling\ngcp-aws-cred: hint: wait\n"}
	a := s.get(req("--role", "a"), func() {})
	if a.Status != stFailed || a.Exit != 75 || !strings.Contains(a.Stderr, "throttling") {
		t.Errorf("answer %+v", a)
	}
	if entries(s) != 0 {
		t.Error("a failed exchange left an entry")
	}
}

// TestKey: every input is part of the key but the shell's own variables.
func TestKey(t *testing.T) {
	base := []string{"HOME=/h", "PATH=/bin", "PWD=/a", "SHLVL=1"}
	r1, _ := NewRequest([]string{"--role", "a"}, base, nil)
	r2, _ := NewRequest([]string{"--role", "a"}, []string{"SHLVL=2", "PATH=/bin", "HOME=/h", "PWD=/b", "TERM=x"}, nil)
	if r1.key() != r2.key() {
		t.Error("the shell's own variables changed the key")
	}
	for _, other := range [][]string{
		{"HOME=/h", "PATH=/bin", "GCE_METADATA_HOST=x"},
		{"HOME=/h", "PATH=/bin", "SOME_VARIABLE_NOBODY_LISTED=1"},
		{"HOME=/h2", "PATH=/bin"},
	} {
		r, _ := NewRequest([]string{"--role", "a"}, other, nil)
		if r.key() == r1.key() {
			t.Errorf("%v has the key of %v", other, base)
		}
	}
	// A variable twice: a direct run sees the first (os.Getenv), so the
	// request carries only the first, and the two orders differ.
	d1, _ := NewRequest([]string{"--role", "a"}, []string{"A=1", "A=2"}, nil)
	d2, _ := NewRequest([]string{"--role", "a"}, []string{"A=2", "A=1"}, nil)
	if !slices.Equal(d1.Env, []string{"A=1"}) || !slices.Equal(d2.Env, []string{"A=2"}) || d1.key() == d2.key() {
		t.Errorf("a variable set twice: %q and %q, same key %v", d1.Env, d2.Env, d1.key() == d2.key())
	}
	// Where one input ends and the next begins is part of the key.
	if (&Request{Args: []string{"a", "b"}}).key() == (&Request{Args: []string{"a"}, Env: []string{"b"}}).key() {
		t.Error("an argument moved into the environment kept the key")
	}
	r3, _ := NewRequest([]string{"--role", "b"}, base, nil)
	r4, _ := NewRequest([]string{"get", "--role", "a"}, base, nil)
	if r3.key() == r1.key() || r4.key() != r1.key() {
		t.Error("the arguments do not decide the key")
	}
	if r1.Dir != "" {
		t.Errorf("no relative path, yet the directory %q is in the key", r1.Dir)
	}
	r5, _ := NewRequest([]string{"--role", "a"}, append(base, "AWS_CA_BUNDLE=ca.pem"), nil)
	r6, _ := NewRequest([]string{"--role", "a"}, base, []string{"ca.pem"})
	wd, _ := os.Getwd()
	if r5.Dir != wd || r6.Dir != wd {
		t.Errorf("a relative path left the directory out: %q %q", r5.Dir, r6.Dir)
	}
}

// TestKeyADCContents: the Application Default Credentials file rewritten at
// the same path (gcloud auth application-default login as another account)
// makes another entry, so the agent never hands out the keys the previous
// account got.
func TestKeyADCContents(t *testing.T) {
	home := t.TempDir()
	wk := filepath.Join(home, ".config", "gcloud", "application_default_credentials.json")
	named := filepath.Join(home, "adc.json")
	for _, c := range []struct {
		env  []string
		file string
	}{
		{[]string{"HOME=" + home}, wk},
		{[]string{"HOME=" + home, "GOOGLE_APPLICATION_CREDENTIALS=" + named}, named},
	} {
		key := func() string {
			t.Helper()
			r, err := NewRequest([]string{"--role", "a", "--impersonate", "sa@p.iam.gserviceaccount.com"}, c.env, nil)
			if err != nil {
				t.Fatal(err)
			}
			return r.key()
		}
		absent := key()
		if err := os.MkdirAll(filepath.Dir(c.file), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(c.file, []byte(`{"type":"authorized_user","refresh_token":"alice"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		alice := key()
		if alice == absent || key() != alice {
			t.Errorf("%s: the file appearing did not change the key, or reading it twice did", c.file)
		}
		if err := os.WriteFile(c.file, []byte(`{"type":"authorized_user","refresh_token":"bob"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		if key() == alice {
			t.Errorf("%s rewritten for another account, yet the key is the same", c.file)
		}
	}
}

// TestFailureErr: a direct run's stderr turns back into an error that
// prints the same lines and exits with the same status.
func TestFailureErr(t *testing.T) {
	want := explain.Errorf(nil, "STS refused (AccessDenied)\nsecond line").Hint("the trust policy:\n{\n  \"a\": 1\n}", "another hint")
	var b strings.Builder
	explain.Print(&b, "gcp-aws-cred", want)
	err := (&Failure{Exit: 1, Stderr: "gcp-aws-cred: debug: [+0s] trace\n" + b.String()}).Err()
	var got strings.Builder
	explain.Print(&got, "gcp-aws-cred", err)
	if got.String() != b.String() {
		t.Errorf("printed\n%s\nwant\n%s", got.String(), b.String())
	}
	var ec interface{ ExitCode() int }
	if !errors.As(err, &ec) || ec.ExitCode() != 1 {
		t.Error("no exit status")
	}
}

// TestSocket: over a real socket, an answer, then the client's bounds: a
// peer that sends garbage or nothing is not believed.
func TestSocket(t *testing.T) {
	if !Supported {
		t.Skip("no peer credentials here")
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "run", SocketName)
	ln, created, err := Listen(sock, func(string) string { return "" })
	if err != nil || !created {
		t.Fatal(err)
	}
	fi, _ := os.Stat(sock)
	di, _ := os.Stat(filepath.Dir(sock))
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Errorf("socket %v, directory %v", fi.Mode(), di.Mode())
	}
	s, _, f := newTestServer(time.Hour)
	var log syncBuffer
	s.cfg.Logger = slog.New(slog.NewTextHandler(&log, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Serve(ctx, ln) }()
	r := req("--role", "a")
	for range 3 {
		a, err := ask(sock, r)
		if err != nil || a.Creds.AccessKeyID == "" {
			t.Fatalf("Ask: %v %+v", err, a)
		}
	}
	if f.calls.Load() != 1 {
		t.Errorf("%d exchanges for 3 requests", f.calls.Load())
	}
	if pid, err := Ping(context.Background(), sock); err != nil || pid != os.Getpid() {
		t.Errorf("Ping: %d %v", pid, err)
	}
	if held, err := Peek(context.Background(), sock, r); err != nil || !held {
		t.Errorf("Peek: %v %v", held, err)
	}
	big := req("--role", "a")
	big.Env = []string{"X=" + strings.Repeat("x", MaxRequest)}
	if _, err := ask(sock, big); err == nil {
		t.Errorf("an oversize request: %v", err)
	}
	// What no client of ours sends is refused; a bare connect (a probe,
	// as systemd's or a script's) gets no answer.
	for name, send := range map[string]string{
		"garbage":  "HTTP/1.1 GET /\r\n\r\n",
		"oversize": `{"v":1,"op":"get","env":["X=` + strings.Repeat("x", MaxRequest) + `"]}` + "\n",
		"version":  `{"v":2,"op":"get"}` + "\n",
		"probe":    "",
	} {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			_, _ = c.Write([]byte(send))
			_ = c.(*net.UnixConn).CloseWrite()
		}()
		b, _ := io.ReadAll(c)
		c.Close()
		want := `{"status":"refused","reason":"bad request"}` + "\n"
		if name == "probe" {
			want = ""
		}
		if string(b) != want {
			t.Errorf("%s: answered %q, want %q", name, b, want)
		}
	}
	for _, want := range []string{"refused a request: larger than 262144 bytes", "refused a request: protocol version 2, want 1", "refused a request: invalid character"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the log has no %q:\n%s", want, log.String())
		}
	}
	// A stale socket is replaced, a live one is not.
	if _, _, err := Listen(sock, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "already answers") {
		t.Errorf("a second agent at a live socket: %v", err)
	}
	cancel()
	<-done
	ln.Close()
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("the socket outlived the agent: %v", err)
	}

	// Peers that are not agents.
	for name, reply := range map[string]string{"garbage": "HTTP/1.1 200 OK\r\n\r\n", "nothing": "", "refusal": `{"status":"refused","reason":"busy"}` + "\n"} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "s")
			l, err := net.Listen("unix", p)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			go func() {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				_, _ = bufio.NewReader(c).ReadString('\n')
				if reply != "" {
					_, _ = c.Write([]byte(reply))
				} else {
					time.Sleep(2 * FirstAnswer)
				}
			}()
			start := time.Now()
			_, err = ask(p, r)
			if err == nil || time.Since(start) > FirstAnswer+500*time.Millisecond {
				t.Errorf("%s: %v after %s", name, err, time.Since(start))
			}
		})
	}
	// No agent: one failed connect.
	if _, err := ask(filepath.Join(dir, "none.sock"), r); err == nil {
		t.Errorf("no agent: %v", err)
	}
}

// TestPrepareDir: a directory of another user or writable by others is
// refused.
func TestPrepareDir(t *testing.T) {
	d := filepath.Join(t.TempDir(), "d")
	if err := os.Mkdir(d, 0o777); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(d, 0o777)
	if err := prepareDir(d); err == nil || !strings.Contains(err.Error(), "written by others") {
		t.Errorf("a world-writable directory: %v", err)
	}
	if os.Getuid() == 0 {
		_ = os.Chmod(d, 0o700)
		_ = os.Chown(d, 65534, 65534)
		if err := prepareDir(d); err == nil || !strings.Contains(err.Error(), "belongs to user 65534") {
			t.Errorf("another user's directory: %v", err)
		}
	}
}

// TestPrepareDirAncestors: a socket directory of this user, private, but
// inside a directory another user may rename entries of (XDG_RUNTIME_DIR
// pointing into it) is refused: that user could move the agent's
// directory aside and put theirs in its place. /tmp's sticky bit and this
// user's own directories are fine.
func TestPrepareDirAncestors(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "parent")
	if err := os.Mkdir(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	d := filepath.Join(parent, "gcp-aws-cred")
	if err := prepareDir(d); err != nil {
		t.Fatalf("a private directory in this user's own: %v", err)
	}
	_ = os.Chmod(parent, 0o777)
	if err := prepareDir(d); err == nil || !strings.Contains(err.Error(), "others can write (mode 0777, no sticky bit)") {
		t.Errorf("inside a world-writable directory: %v", err)
	}
	_ = os.Chmod(parent, 0o777|os.ModeSticky)
	if err := prepareDir(d); err != nil {
		t.Errorf("inside a sticky world-writable directory, as /tmp: %v", err)
	}
	if os.Getuid() == 0 {
		_ = os.Chmod(parent, 0o755)
		_ = os.Chown(parent, 65534, 65534)
		if err := prepareDir(d); err == nil || !strings.Contains(err.Error(), "which belongs to user 65534") {
			t.Errorf("inside another user's directory: %v", err)
		}
	}
}

// TestDrain: a stop while an exchange is under way still answers the
// request waiting for it, then removes the socket.
func TestDrain(t *testing.T) {
	if !Supported {
		t.Skip("no peer credentials here")
	}
	sock := filepath.Join(t.TempDir(), "run", SocketName)
	ln, _, err := Listen(sock, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	s, _, f := newTestServer(time.Hour)
	f.gate = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Serve(ctx, ln) }()
	got := make(chan error)
	go func() {
		_, err := ask(sock, req("--role", "a"))
		got <- err
	}()
	for f.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel() // SIGTERM, as Run sees it
	time.Sleep(50 * time.Millisecond)
	close(f.gate)
	if err := <-got; err != nil {
		t.Errorf("the request under way at the stop: %v", err)
	}
	<-done
	ln.Close()
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("the socket outlived the agent: %v", err)
	}
}

// TestCheckBeforeExchange: arguments the agent's Check refuses start no
// exchange and leave no entry.
func TestCheckBeforeExchange(t *testing.T) {
	s, _, f := newTestServer(time.Hour)
	s.cfg.Check = func(args []string) error {
		if len(args) > 0 && args[0] == "exec" {
			return errors.New("a command word")
		}
		return nil
	}
	a := s.get(req("exec", "--", "sh"), func() { t.Error("pending before a refusal") })
	if a.Status != stRefused || f.calls.Load() != 0 || entries(s) != 0 {
		t.Errorf("answer %+v, %d exchanges, %d entries", a, f.calls.Load(), entries(s))
	}
}

// TestExchangeKeepsNoKeysOfAnotherADC: when the ADC file changes while the
// child exchanges (a refresh runs long after the caller asked), the keys
// it made are not stored under the key of the file the caller saw.
func TestExchangeKeepsNoKeysOfAnotherADC(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the stand-in credential process is a shell script")
	}
	dir := t.TempDir()
	adc := filepath.Join(dir, "adc.json")
	if err := os.WriteFile(adc, []byte(`{"type":"authorized_user","refresh_token":"alice"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	self := filepath.Join(dir, "self")
	script := `#!/bin/sh
[ -n "$RELOGIN" ] && printf '{"type":"authorized_user","refresh_token":"bob"}' > "$GOOGLE_APPLICATION_CREDENTIALS"
echo '{"Version":1,"AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"s","SessionToken":"t","Expiration":"2099-01-01T00:00:00Z"}'
`
	if err := os.WriteFile(self, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	exchange := SelfExchange(self)
	for _, relogin := range []bool{false, true} {
		env := []string{"GOOGLE_APPLICATION_CREDENTIALS=" + adc, "PATH=/usr/bin:/bin"}
		if relogin {
			env = append(env, "RELOGIN=1")
		}
		req, err := NewRequest([]string{"--role", "arn:aws:iam::123456789012:role/r"}, env, nil)
		if err != nil {
			t.Fatal(err)
		}
		creds, err := exchange(context.Background(), req)
		switch {
		case !relogin && (err != nil || creds.AccessKeyID != "ASIAEXAMPLE"):
			t.Errorf("the file unchanged: %v, %+v", err, creds)
		case relogin && (err == nil || !strings.Contains(err.Error(), "the Application Default Credentials file changed while the agent exchanged with it")):
			t.Errorf("the file rewritten during the exchange: %v, %+v", err, creds)
		}
	}
}

// TestRequestRefusals: inputs the agent cannot carry or key faithfully
// make the caller exchange itself.
func TestRequestRefusals(t *testing.T) {
	for env, want := range map[string]string{
		"HOME=/home/caf\xe9":                          "not UTF-8",
		"GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1": "a credential source program reads more than the agent's key holds",
	} {
		if _, err := NewRequest([]string{"--role", "a"}, []string{env}, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", env, err, want)
		}
	}
	if _, err := NewRequest([]string{"--session-name", "caf\xe9"}, nil, nil); err == nil {
		t.Error("an argument that is not UTF-8 was carried")
	}
}
