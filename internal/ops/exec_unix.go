//go:build unix

package ops

import (
	"syscall"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fail"
)

// run replaces this process with the command: its exit status and the
// signals it gets are then its own, and no gcp-aws-cred process lingers
// holding the credentials.
func run(path string, argv, env []string) error {
	err := syscall.Exec(path, argv, env)
	return fail.Errorf(err, "cannot run %s: %v", path, err).
		Hint("check that the file is an executable for this system, and that its #! interpreter exists")
}
