//go:build linux || darwin

package output

import (
	"os"
	"syscall"
)

// droppedAtStart reports whether f is the /dev/null that the Go runtime
// opens, read-write, on a standard descriptor that was closed at start. A
// shell's >/dev/null opens it write-only, so a user who sends the document
// to /dev/null on purpose still can.
func droppedAtStart(f *os.File) bool {
	raw, err := f.SyscallConn()
	if err != nil {
		return false
	}
	dropped := false
	_ = raw.Control(func(fd uintptr) {
		flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
		if errno != 0 || flags&syscall.O_ACCMODE != syscall.O_RDWR {
			return
		}
		var st, null syscall.Stat_t
		if syscall.Fstat(int(fd), &st) != nil || syscall.Stat(os.DevNull, &null) != nil {
			return
		}
		dropped = st.Mode&syscall.S_IFMT == syscall.S_IFCHR && st.Rdev == null.Rdev
	})
	return dropped
}
