//go:build unix

package serve

import (
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// forwarded are the signals passed on to the command.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

// runChild runs cmd to its end, forwarding signals to it, and returns its
// exit status: 128 + the signal's number when a signal ended it, as shells
// report it.
func runChild(cmd *exec.Cmd) (int, error) {
	sigs := make(chan os.Signal, 16)
	// Before Start, so that a signal arriving in between is queued for
	// the command rather than ending this process and orphaning it.
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	waited := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the status is in cmd.ProcessState
		close(waited)
	}()
	for {
		select {
		case s := <-sigs:
			if (s == syscall.SIGINT || s == syscall.SIGQUIT) && foreground() {
				// Ctrl+C and Ctrl+\ at a terminal go to its whole
				// foreground process group, the command included: it
				// has this one already. A second SIGINT makes some
				// programs (terraform among them) abandon their graceful
				// stop.
				continue
			}
			_ = cmd.Process.Signal(s)
		case <-waited:
			ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if ws.Signaled() {
				return 128 + int(ws.Signal()), nil
			}
			return ws.ExitStatus(), nil
		}
	}
}
