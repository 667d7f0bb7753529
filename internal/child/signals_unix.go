//go:build unix

package child

import (
	"os"
	"syscall"
)

// forwarded are the signals passed on to the command: the ones a user or a
// service manager sends to stop, reload or poke a process.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

// sharedWithCommand reports whether the command received s together with
// this process. Ctrl+C and Ctrl+\ at a terminal go to its whole foreground
// process group, which the command shares: forwarding them would deliver
// them twice, and a second SIGINT makes some programs (terraform among
// them) abandon their graceful stop.
func sharedWithCommand(s os.Signal) bool {
	return (s == syscall.SIGINT || s == syscall.SIGQUIT) && foreground()
}

// status is the exit status a shell reports for a finished command: its
// own, or 128 + N when signal N ended it.
func status(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// Replace runs the command in place of this process (execve): its process
// ID, status and signals are its own, and no gcp-aws-cred process lingers
// holding the credentials. It returns only if the command cannot start.
func Replace(path string, argv, env []string) error {
	return startError(path, syscall.Exec(path, argv, env))
}
