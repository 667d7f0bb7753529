//go:build unix

package serve

import (
	"errors"
	"os"
	"os/signal"
	"syscall"
)

// forwarded are the signals passed on to the command. A function, not a
// variable: a variable would be initialised when every run starts.
func forwarded() []os.Signal {
	return []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}
}

// runChild runs the command to its end, forwarding signals to it, and
// returns its exit status: 128 + the signal's number when a signal ended
// it, as shells report it.
func runChild(path string, argv []string, attr *os.ProcAttr) (int, error) {
	sigs := make(chan os.Signal, 16)
	// Before Start, so that a signal arriving in between is queued for
	// the command rather than ending this process and orphaning it.
	signal.Notify(sigs, forwarded()...)
	defer signal.Stop(sigs)
	p, err := os.StartProcess(path, argv, attr)
	if err != nil {
		return 0, err
	}
	var state *os.ProcessState
	waited := make(chan struct{})
	go func() {
		state, _ = p.Wait()
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
			_ = p.Signal(s)
		case <-waited:
			if state == nil {
				return 0, errors.New("lost track of the command")
			}
			ws, _ := state.Sys().(syscall.WaitStatus)
			if ws.Signaled() {
				return 128 + int(ws.Signal()), nil
			}
			return ws.ExitStatus(), nil
		}
	}
}
