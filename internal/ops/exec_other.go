//go:build !unix

package ops

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fail"
)

// run starts the command and waits for it where a process cannot replace
// itself (Windows); interrupts are left for the child to handle.
func run(path string, argv, env []string) error {
	signal.Ignore(os.Interrupt)
	cmd := exec.Command(path, argv[1:]...)
	cmd.Env, cmd.Stdin, cmd.Stdout, cmd.Stderr = env, os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return fail.Exit(exit.ExitCode())
	}
	if err != nil {
		return fail.Errorf(err, "cannot run %s: %v", path, err).
			Hint("check that the file is an executable for this system")
	}
	return nil
}
