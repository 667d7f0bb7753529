package serve

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// openPTY opens a pseudo-terminal pair.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	var unlock int32
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatal(e)
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatal(e)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("cannot open the pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// TestExecServeCtrlCOnce: at a terminal, Ctrl+C reaches the command
// directly (it shares exec's foreground process group); exec must not
// forward a second SIGINT, which would make a program such as terraform
// abandon its graceful stop. A SIGTERM sent to exec alone is forwarded.
func TestExecServeCtrlCOnce(t *testing.T) {
	master, slave := openPTY(t)
	cmd := exec.Command(os.Args[0], os.Args[0], "signals")
	cmd.Env = append(os.Environ(), helperEnv+"=exec")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	slave.Close()
	out := bufio.NewReader(master)
	if l := readLine(t, out); l != "ready" {
		t.Fatalf("command said %q", l)
	}
	if _, err := master.Write([]byte{0x03}); err != nil { // Ctrl+C
		t.Fatal(err)
	}
	// The terminal echoes ^C without a newline.
	if l := strings.TrimPrefix(readLine(t, out), "^C"); l != "INTERRUPT" {
		t.Fatalf("after Ctrl+C the command printed %q", l)
	}
	time.Sleep(200 * time.Millisecond) // a forwarded second SIGINT would arrive by now
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if l := readLine(t, out); l != "TERMINATED" {
		t.Fatalf("after Ctrl+C and SIGTERM the command printed %q: SIGINT twice?", l)
	}
	if code, _ := waitExit(t, cmd, 5*time.Second); code != 7 {
		t.Errorf("exit status %d, want 7", code)
	}
}
