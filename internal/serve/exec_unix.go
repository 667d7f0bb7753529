//go:build unix

package serve

import (
	"os"
	"os/signal"
	"syscall"
)

// forwarded are the signals passed on to the command. A function, not a
// variable: a variable would be initialised when every run starts.
func forwarded() []os.Signal {
	return []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}
}

// runChild runs the command to its end, forwarding signals to it, calls
// after (which stops the server), and returns the command's exit status:
// 128 + the signal's number when a signal ended it, as shells report it.
// Signals stay caught until after has returned: one arriving between the
// command's end and this process's would otherwise end this process with
// the signal's status instead of the command's.
//
// It forks with syscall.ForkExec and reaps with wait4 on SIGCHLD rather
// than through os.StartProcess, whose process handling (pidfd and the
// rest) adds 37 KB to a binary with little room left. Forwarding and
// reaping happen in this one goroutine, so a signal is never sent to the
// process ID once it has been reaped and could name another process.
func runChild(path string, argv []string, attr *os.ProcAttr, after func()) (int, error) {
	sigs := make(chan os.Signal, 16)
	// Before the fork: a signal arriving in between is queued for the
	// command rather than ending this process and orphaning it, and the
	// SIGCHLD of a command that exits at once is not missed.
	signal.Notify(sigs, append(forwarded(), syscall.SIGCHLD)...)
	defer signal.Stop(sigs)
	defer after()
	fds := make([]uintptr, len(attr.Files))
	for i, f := range attr.Files {
		fds[i] = f.Fd()
	}
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{Env: attr.Env, Files: fds})
	if err != nil {
		return 0, err
	}
	for {
		// Every signal, not only SIGCHLD, is a moment to look: signal.Notify
		// drops what does not fit in the channel, and a SIGCHLD lost under a
		// flood of other signals must not leave this process waiting for
		// good. Until it is reaped, the command's process ID stays its own,
		// so a signal forwarded to a command that has just ended is harmless.
		s := <-sigs
		var ws syscall.WaitStatus
		if got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); got == pid && err == nil && (ws.Exited() || ws.Signaled()) {
			if ws.Signaled() {
				return 128 + int(ws.Signal()), nil
			}
			return ws.ExitStatus(), nil
		}
		switch {
		case s == syscall.SIGCHLD:
			// not ours, or stopped rather than ended
		case (s == syscall.SIGINT || s == syscall.SIGQUIT) && foreground():
			// Ctrl+C and Ctrl+\ at a terminal go to its whole foreground
			// process group, the command included: it has this one
			// already. A second SIGINT makes some programs (terraform
			// among them) abandon their graceful stop.
		default:
			_ = syscall.Kill(pid, s.(syscall.Signal))
		}
	}
}
