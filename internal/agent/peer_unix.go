//go:build linux || darwin

package agent

import (
	"net"
	"os"
	"syscall"
)

// Supported is whether this platform can tell who is at the other end of a
// Unix socket; without that the agent does not start and the credential
// process does not ask.
const Supported = true

// peerUID asks the kernel which user owns the other end of c (peerCredUID,
// per OS): the credentials the peer had when it connected (or listened),
// which it cannot forge.
func peerUID(c *net.UnixConn) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	uid := -1
	var serr error
	err = raw.Control(func(fd uintptr) { uid, serr = peerCredUID(int(fd)) })
	if err != nil {
		return -1, err
	}
	return uid, serr
}

// ownerOf is the user that owns the file fi describes.
func ownerOf(fi os.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}
