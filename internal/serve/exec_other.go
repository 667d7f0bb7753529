//go:build !unix

package serve

import (
	"os"
	"os/exec"
	"os/signal"
)

// runChild runs cmd to its end and returns its exit code. The console
// delivers Ctrl+C to every process attached to it, the command included,
// so this one only has to survive it.
func runChild(cmd *exec.Cmd) (int, error) {
	signal.Ignore(os.Interrupt)
	defer signal.Reset(os.Interrupt)
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	_ = cmd.Wait()
	return cmd.ProcessState.ExitCode(), nil
}
