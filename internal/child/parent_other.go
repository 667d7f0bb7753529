//go:build !linux

package child

import "os/exec"

// stopWithParent does nothing where the kernel offers no parent-death
// signal (only Linux and FreeBSD do, and FreeBSD's is not tested here): a
// command whose exec --serve is killed keeps running with the credentials
// its SDK cached, and its next refresh fails to connect.
func stopWithParent(*exec.Cmd) {}
