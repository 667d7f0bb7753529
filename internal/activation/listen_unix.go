//go:build unix

package activation

import "syscall"

// listening reports whether the socket fd is listening (SO_ACCEPTCONN):
// net.FileListener takes a connected socket, or one bound but never
// listened on, as readily as a listening one, and the service would then
// say it listens and answer nothing.
func listening(fd uintptr) (bool, error) {
	v, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ACCEPTCONN)
	return v != 0, err
}
