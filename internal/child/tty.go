//go:build linux || darwin

package child

import (
	"os"
	"syscall"
	"unsafe"
)

// foreground reports whether this process's group is the foreground
// process group of its controlling terminal, and so receives the
// terminal's SIGINT and SIGQUIT together with the command it runs.
func foreground() bool {
	f, err := os.Open("/dev/tty")
	if err != nil {
		return false // no controlling terminal: every signal was sent on purpose
	}
	defer f.Close()
	var pgrp int32
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), uintptr(syscall.TIOCGPGRP), uintptr(unsafe.Pointer(&pgrp)))
	return errno == 0 && int(pgrp) == syscall.Getpgrp()
}
