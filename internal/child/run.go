package child

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
)

// Run starts cmd (its Path from Look) and waits for it, passing on the
// signals this process receives; then it calls after (which stops exec
// --serve's server) and returns nil for status 0, else explain.Exit with a
// shell's status.
//
// Signals stay caught from before the start until after has returned: one
// arriving before the command exists is queued for it rather than orphaning
// it, and one arriving after its end cannot replace its status with the
// signal's. A signal ignored at start (SIGHUP under nohup) stays ignored:
// the command inherits the disposition. os.Process.Signal signals a pidfd
// on Linux, so a reaped command's ID reused by another process is safe.
func Run(cmd *exec.Cmd, after func()) error {
	var caught []os.Signal
	for _, s := range forwarded {
		if !signal.Ignored(s) {
			caught = append(caught, s)
		}
	}
	sigs := make(chan os.Signal, 16)
	if len(caught) > 0 { // Notify with no signal would catch them all
		signal.Notify(sigs, caught...)
	}
	defer signal.Stop(sigs)
	if after != nil {
		defer after()
	}
	stopWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return startError(cmd.Path, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case s := <-sigs:
			if !sharedWithCommand(s) {
				_ = cmd.Process.Signal(s)
			}
		case err := <-done:
			if _, exited := errors.AsType[*exec.ExitError](err); err != nil && !exited {
				return explain.Errorf(err, "lost track of %s: %v", cmd.Path, err)
			}
			if code := status(cmd.ProcessState); code != 0 {
				return explain.Exit(code)
			}
			return nil
		}
	}
}
