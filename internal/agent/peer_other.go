//go:build !linux && !darwin

package agent

import (
	"errors"
	"net"
	"os"
)

// Supported is whether this platform can tell who is at the other end of a
// Unix socket. Here it cannot (Windows has AF_UNIX but no peer credentials
// Go can read), and there is no weaker fallback: the agent refuses to start
// and the credential process never asks.
const Supported = false

func peerUID(*net.UnixConn) (int, error) {
	return -1, errors.New("peer credentials are not available on this platform")
}

// ownerOf cannot tell the owner here; the agent does not start.
func ownerOf(os.FileInfo) int { return -2 }
