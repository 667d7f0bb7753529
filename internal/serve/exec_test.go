//go:build unix

package serve

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func execHelper(t *testing.T, argv []string, environ []string, region string) (string, error) {
	t.Helper()
	f := newFakeFetch(time.Hour)
	out, stdout := capture(t)
	errOut, stderr := capture(t)
	log := &syncBuffer{}
	err := Exec(context.Background(), ExecConfig{
		Config: Config{Fetch: f.fetch, Role: testRole, Logger: NewLogger(log, LogPlain, true)},
		Region: region,
		Argv:   argv,
		// A test binary built with -cover warns on stderr when GOCOVERDIR
		// is unset; the child's stderr must stay empty for what it asserts.
		Environ: append(environ, helperEnv+"=child", "GOCOVERDIR="+t.TempDir()),
		Stdout:  out, Stderr: errOut,
	})
	if e := stderr(); e != "" || log.String() != "" {
		t.Errorf("stderr: %s%s", e, log)
	}
	return stdout(), err
}

// capture is a file for a command to write to, and a function that
// returns what it wrote.
func capture(t *testing.T) (*os.File, func() string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(&b, r)
		close(done)
	}()
	t.Cleanup(func() { r.Close(); w.Close() })
	return w, func() string {
		w.Close()
		<-done
		return b.String()
	}
}

// TestExecServeEnvironment: the command reaches the server through the
// variables it is given, and sees nothing an SDK would prefer to them.
func TestExecServeEnvironment(t *testing.T) {
	environ := []string{
		"AWS_ACCESS_KEY_ID=AKIAOLD", "AWS_SECRET_ACCESS_KEY=old", "AWS_SESSION_TOKEN=old", "AWS_SECURITY_TOKEN=old",
		"AWS_PROFILE=prod", "AWS_DEFAULT_PROFILE=prod", "AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/token", "AWS_ROLE_ARN=arn:aws:iam::1:role/x",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/x", "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN=old-token-0000000000", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/var/run/old-token",
		"UNRELATED=kept", "PATH=" + os.Getenv("PATH"),
	}
	out, err := execHelper(t, []string{os.Args[0], "fetch"}, environ, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"status=200\n", `"AccessKeyId":"ASIAFAKE00000001"`, "env UNRELATED=kept\n", "env AWS_REGION=eu-west-1\n", "env AWS_DEFAULT_REGION=eu-west-1\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("the command's output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "env ") != 3 {
		t.Errorf("the command saw variables it should not:\n%s", out)
	}
	u := line(out, "url=")
	if !strings.HasPrefix(u, "http://127.0.0.1:") {
		t.Fatalf("URL %q", u)
	}
	// Stopped with the command: nothing is left listening.
	pu, _ := url.Parse(u)
	if c, err := net.Dial("tcp", pu.Host); err == nil {
		c.Close()
		t.Error("the server still listens after the command exited")
	}
	// A region variable that is set but empty is replaced: botocore reads
	// only AWS_DEFAULT_REGION, and would have none.
	out, _ = execHelper(t, []string{os.Args[0], "fetch"}, []string{"AWS_REGION=", "AWS_DEFAULT_REGION="}, "eu-west-1")
	if !strings.Contains(out, "env AWS_REGION=eu-west-1\n") || !strings.Contains(out, "env AWS_DEFAULT_REGION=eu-west-1\n") {
		t.Errorf("empty region variables not replaced:\n%s", out)
	}
	// --region sets both, replacing a region in the environment (issue
	// 23 item 14: AWS_DEFAULT_REGION was left unset for botocore).
	out, _ = execHelper(t, []string{os.Args[0], "fetch"}, []string{"AWS_REGION=ap-northeast-1"}, "eu-west-1")
	if !strings.Contains(out, "env AWS_REGION=eu-west-1\n") || !strings.Contains(out, "env AWS_DEFAULT_REGION=eu-west-1\n") || strings.Contains(out, "ap-northeast-1") {
		t.Errorf("region not set for both:\n%s", out)
	}
}

func line(out, prefix string) string {
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			return v
		}
	}
	return ""
}

func TestExecServeExitStatus(t *testing.T) {
	for argv, want := range map[string]int{"exit 0": 0, "exit 3": 3, "exit 125": 125, "kill TERM": 128 + 15, "kill KILL": 128 + 9} {
		_, err := execHelper(t, append([]string{os.Args[0]}, strings.Fields(argv)...), nil, "")
		var exit interface{ ExitCode() int }
		switch {
		case want == 0 && err != nil:
			t.Errorf("%s: %v", argv, err)
		case want != 0 && (!errors.As(err, &exit) || exit.ExitCode() != want):
			t.Errorf("%s: %v, want exit status %d", argv, err, want)
		}
	}
}

func TestExecServeCommandErrors(t *testing.T) {
	dir := t.TempDir()
	notExec := dir + "/data.txt"
	garbage := dir + "/garbage"
	if err := os.WriteFile(notExec, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(garbage, []byte{0x7f, 'E', 'L', 'F', 0, 0}, 0o755); err != nil {
		t.Fatal(err)
	}
	f := newFakeFetch(time.Hour)
	for argv, want := range map[string]string{
		"":                    "exec --serve needs a command to run",
		"no-such-command-xyz": `command "no-such-command-xyz" not found in PATH`,
		notExec:               `cannot run "` + notExec + `": permission denied`,
	} {
		err := Exec(context.Background(), ExecConfig{Config: Config{Fetch: f.fetch}, Argv: strings.Fields(argv)})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", argv, err, want)
		}
	}
	// A shell's statuses: 127 for a command not found, 126 for one found
	// but not runnable.
	for argv, want := range map[string]int{"no-such-command-xyz": 127, dir + "/missing": 127, notExec: 126, dir: 126, garbage: 126} {
		err := Exec(context.Background(), ExecConfig{Config: Config{Fetch: f.fetch}, Argv: []string{argv}})
		var exit interface{ ExitCode() int }
		if !errors.As(err, &exit) || exit.ExitCode() != want {
			t.Errorf("%s: %v, want exit status %d", argv, err, want)
		}
	}
	if f.count() != 1 { // the garbage executable's, known only once started
		t.Errorf("%d STS calls for commands that cannot run", f.count())
	}
	f = newFakeFetch(time.Hour)
	// Found but not runnable: known only once started.
	err := Exec(context.Background(), ExecConfig{Config: Config{Fetch: f.fetch}, Argv: []string{garbage}})
	if err == nil || !strings.Contains(err.Error(), "cannot run "+garbage+": exec format error") {
		t.Errorf("garbage executable: %v", err)
	}
	denied := newFakeFetch(time.Hour)
	denied.failAlways(stsError(t, "AccessDenied", "Not authorized"))
	err = Exec(context.Background(), ExecConfig{Config: Config{Fetch: denied.fetch}, Argv: []string{"true"}})
	if err == nil || !strings.Contains(err.Error(), "STS refused to let this workload assume") {
		t.Errorf("failed first exchange: %v", err)
	}
}

// startHelper runs the test binary as a server process in a session of
// its own (no controlling terminal, as under a service manager).
func startHelper(t *testing.T, mode string, args ...string) (*exec.Cmd, *bufio.Reader, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	stdout, stderr := startPiped(t, cmd)
	return cmd, stdout, stderr
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		l, _ := r.ReadString('\n')
		got <- strings.TrimRight(l, "\r\n")
	}()
	select {
	case l := <-got:
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("no line from the helper in 10s")
	}
	return ""
}

// waitExit waits for cmd and returns its exit status and how long that
// took.
func waitExit(t *testing.T, cmd *exec.Cmd, within time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode(), time.Since(start)
	case <-time.After(within):
		t.Fatalf("still running after %s", within)
	}
	return 0, 0
}

// TestExecServeForwardsSignals sends each signal to the exec --serve
// process; the command gets each once, and its status is exec's.
func TestExecServeForwardsSignals(t *testing.T) {
	cmd, out, stderr := startHelper(t, "exec", os.Args[0], "signals")
	if l := readLine(t, out); l != "ready" {
		t.Fatalf("command said %q; stderr: %s", l, stderr)
	}
	for _, s := range []syscall.Signal{syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGINT, syscall.SIGTERM} {
		if err := cmd.Process.Signal(s); err != nil {
			t.Fatal(err)
		}
		if l := readLine(t, out); l != strings.ToUpper(s.String()) {
			t.Fatalf("sent %s, the command got %q", s, l)
		}
	}
	if code, _ := waitExit(t, cmd, 5*time.Second); code != 7 {
		t.Errorf("exit status %d, want the command's 7; stderr: %s", code, stderr)
	}
	if rest, _ := io.ReadAll(out); len(rest) > 0 {
		t.Errorf("the command got more signals: %q", rest)
	}
}

// TestServeStopsOnSignal runs serve as a process: it prints the variables
// once ready, serves, and on SIGTERM or SIGINT exits 0 within 2 seconds.
func TestServeStopsOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd, out, stderr := startHelper(t, "serve")
		uri, _ := strings.CutPrefix(readLine(t, out), "export "+URIEnv+"=")
		tok, _ := strings.CutPrefix(readLine(t, out), "export "+TokenEnv+"=")
		if !strings.HasPrefix(uri, "http://127.0.0.1:") || len(tok) != 43 {
			t.Fatalf("printed %q and a token of %d characters", uri, len(tok))
		}
		a := get(t, "GET", uri, []string{tok}, "")
		if a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		code, took := waitExit(t, cmd, 3*time.Second)
		if code != 0 || took > 2*time.Second {
			t.Errorf("%s: exit %d after %s, want 0 within 2s; stderr: %s", sig, code, took, stderr)
		}
		if !strings.Contains(stderr.String(), "gcp-aws-cred: stopping: received "+sig.String()) {
			t.Errorf("stderr: %s", stderr)
		}
		if strings.Contains(stderr.String(), tok) {
			t.Error("the log holds the token")
		}
		pu, _ := url.Parse(uri)
		if c, err := net.Dial("tcp", pu.Host); err == nil {
			c.Close()
			t.Error("still listening after exit")
		}
	}
}

// forwarded are the signals exec --serve passes on to its command, which
// the helper command reports.
func forwarded() []os.Signal {
	return []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}
}
