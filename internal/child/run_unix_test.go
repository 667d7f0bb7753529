//go:build unix

package child

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary act as a process the tests need:
// "parent" runs the test binary as "command" through Run, as exec --serve
// runs its command; "command" reports what it sees.
const helperEnv = "CHILD_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "parent":
		os.Exit(helperParent())
	case "command":
		os.Exit(helperCommand())
	}
	os.Exit(99)
}

// helperParent runs the command with Run and exits with its status.
func helperParent() int {
	cmd := &exec.Cmd{Path: os.Args[0], Args: os.Args[:1], Env: append(os.Environ(), helperEnv+"=command"),
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	err := Run(cmd, nil)
	var exit interface{ ExitCode() int }
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	fmt.Fprintln(os.Stderr, "helper:", err)
	return 1
}

// helperCommand says its process ID and whether it started with SIGHUP ignored, then catches
// every forwarded signal, says "ready" and names each signal it gets; it
// exits 7 on SIGTERM.
func helperCommand() int {
	fmt.Printf("pid=%d\n", os.Getpid())
	fmt.Printf("hup-ignored=%v\n", signal.Ignored(syscall.SIGHUP))
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, forwarded...)
	fmt.Println("ready")
	for s := range ch {
		fmt.Println(strings.ToUpper(s.String()))
		if s == syscall.SIGTERM {
			return 7
		}
	}
	return 98
}

// startParent starts the test binary as "parent" in a session of its own
// (no controlling terminal), through sh when script is not empty, and
// returns it with its output.
func startParent(t *testing.T, script string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	if script != "" {
		cmd = exec.Command("sh", "-c", script, os.Args[0])
	}
	cmd.Env = append(os.Environ(), helperEnv+"=parent")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, bufio.NewReader(out)
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		l, _ := r.ReadString('\n')
		got <- strings.TrimRight(l, "\n")
	}()
	select {
	case l := <-got:
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("no line from the helper in 10s")
	}
	return ""
}

func exitStatus(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var exit interface{ ExitCode() int }
	if !errors.As(err, &exit) {
		t.Fatalf("%v carries no exit status", err)
	}
	return exit.ExitCode()
}

func TestRunStatus(t *testing.T) {
	for script, want := range map[string]int{"exit 0": 0, "exit 3": 3, "exit 125": 125, "kill -TERM $$": 128 + 15, "kill -KILL $$": 128 + 9} {
		if got := exitStatus(t, Run(exec.Command("sh", "-c", script), nil)); got != want {
			t.Errorf("%s: status %d, want %d", script, got, want)
		}
	}
}

// TestLook: the messages, and a shell's statuses for a command that never
// ran: 127 not found, 126 found but not runnable.
func TestLook(t *testing.T) {
	dir := t.TempDir()
	data := dir + "/data.txt"
	garbage := dir + "/garbage"
	noInterpreter := dir + "/script"
	for name, content := range map[string]string{data: "data", garbage: "\x7fELF\x00\x00", noInterpreter: "#!/no/such/interpreter\n"} {
		mode := os.FileMode(0o755)
		if name == data {
			mode = 0o644
		}
		if err := os.WriteFile(name, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]struct {
		status int
		msg    string
	}{
		"no-such-command-xyz": {127, `command "no-such-command-xyz" not found in PATH`},
		dir + "/missing":      {127, `cannot run "` + dir + `/missing": no such file or directory`},
		data:                  {126, `cannot run "` + data + `": permission denied`},
		dir:                   {126, `cannot run "` + dir + `": is a directory`},
	} {
		_, err := Look(name)
		if err == nil || err.Error() != want.msg || exitStatus(t, err) != want.status {
			t.Errorf("Look(%q) = %v, want %q and status %d", name, err, want.msg, want.status)
		}
	}
	// Found, but refused by the system once started.
	for path, want := range map[string]string{
		garbage:       "cannot run " + garbage + ": exec format error",
		noInterpreter: "cannot run " + noInterpreter + ": no such file or directory",
	} {
		p, err := Look(path)
		if err != nil {
			t.Fatal(err)
		}
		err = Run(exec.Command(p), nil)
		if err == nil || err.Error() != want || exitStatus(t, err) != 126 {
			t.Errorf("Run(%s) = %v, want %q and status 126", path, err, want)
		}
	}
}

// TestSignalWhileStopping sends a signal after the command has ended, while
// the server is stopping: it must not end this process, and the status is
// still the command's. (Were the signal no longer caught, it would kill
// the test binary itself.)
func TestSignalWhileStopping(t *testing.T) {
	stopped := false
	err := Run(exec.Command("sh", "-c", "exit 3"), func() {
		_ = syscall.Kill(os.Getpid(), syscall.SIGHUP)
		time.Sleep(100 * time.Millisecond) // the signal arrives while the server stops
		stopped = true
	})
	if code := exitStatus(t, err); code != 3 || !stopped {
		t.Fatalf("Run = %v (server stopped: %v); want status 3", err, stopped)
	}
}

// TestIgnoredSignalStaysIgnored: under nohup (SIGHUP ignored), SIGHUP is
// not caught, so the command starts with it ignored too, and it is not
// forwarded; other signals still are.
func TestIgnoredSignalStaysIgnored(t *testing.T) {
	cmd, out := startParent(t, `trap "" HUP; exec "$0"`)
	readLine(t, out) // pid
	if l := readLine(t, out); l != "hup-ignored=true" {
		t.Fatalf("the command said %q: SIGHUP no longer ignored", l)
	}
	if l := readLine(t, out); l != "ready" {
		t.Fatalf("the command said %q", l)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // a forwarded SIGHUP would arrive by now
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if l := readLine(t, out); l != "TERMINATED" {
		t.Fatalf("after SIGHUP and SIGTERM the command printed %q: SIGHUP forwarded?", l)
	}
	if err := cmd.Wait(); cmd.ProcessState.ExitCode() != 7 {
		t.Errorf("parent: %v, want the command's status 7", err)
	}
}

// TestCommandStoppedWithParent: on Linux, a command whose parent is killed
// outright gets SIGTERM rather than running on against a dead endpoint.
func TestCommandStoppedWithParent(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the parent-death signal is Linux's")
	}
	cmd, out := startParent(t, "")
	var pid int
	if _, err := fmt.Sscanf(readLine(t, out), "pid=%d", &pid); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() { // left running: the very failure tested
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	readLine(t, out) // hup-ignored=false
	if l := readLine(t, out); l != "ready" {
		t.Fatalf("the command said %q", l)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if l := readLine(t, out); l != "TERMINATED" {
		t.Fatalf("after its parent was killed the command printed %q", l)
	}
}
