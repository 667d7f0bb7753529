package child

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
)

// Run starts cmd (its Path from Look) and waits for it, passing on the
// signals this process receives; when it has ended, it calls after (which
// stops exec --serve's server) and returns the command's status: nil for 0,
// else explain.Exit with the status a shell would give.
//
// Signals stay caught from before the start until after has returned. One
// arriving before the command exists is then queued for it rather than
// ending this process and orphaning the command; one arriving between the
// command's end and this process's would otherwise end this process with
// the signal's status instead of the command's.
//
// A signal this process was started with ignored (SIGHUP under nohup,
// SIGINT for a background job of a script) is left ignored: catching it
// would make the command, which inherits the disposition, lose it too.
//
// Forwarding goes through os.Process.Signal, which on Linux signals a
// pidfd: a command already reaped cannot be confused with another process
// that reuses its ID.
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
