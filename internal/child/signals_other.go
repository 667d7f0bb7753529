//go:build !unix

package child

import (
	"os"
	"os/exec"
)

// forwarded is what is caught while the command runs. Nothing is passed on:
// the console delivers Ctrl+C to every process attached to it, the command
// included, so this process has only to survive it until the command ends.
var forwarded = []os.Signal{os.Interrupt}

func sharedWithCommand(os.Signal) bool { return true }

// status is the command's exit code.
func status(ps *os.ProcessState) int { return ps.ExitCode() }

// Replace runs the command and exits with its status where a process
// cannot replace itself (Windows).
func Replace(path string, argv, env []string) error {
	return Run(&exec.Cmd{Path: path, Args: argv, Env: env, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}, nil)
}
