//go:build unix

package serve

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

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
