//go:build !linux

package child

import "os/exec"

// stopWithParent does nothing where no parent-death signal is used (only
// Linux's is): the command of a killed exec --serve runs on until its next
// refresh fails to connect.
func stopWithParent(*exec.Cmd) {}
