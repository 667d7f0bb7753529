//go:build !linux

package fakes

import "net"

// reserved is a loopback TCP port nothing listens on, so connections to it
// are refused. Elsewhere than Linux the port is merely remembered, not held:
// another program could take it before listen.
type reserved struct{ addr string }

// reserve picks addr ("127.0.0.1:0" for a free port) without listening.
func reserve(addr string) (*reserved, error) {
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	return &reserved{addr: l.Addr().String()}, nil
}

// listen starts listening on the port.
func (r *reserved) listen() (net.Listener, error) { return net.Listen("tcp4", r.addr) }

// release gives the port back.
func (r *reserved) release() {}
