package fakes

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// reserved is a loopback TCP port that is bound but not listening: the
// kernel answers a connection attempt with a reset, so the client sees
// "connection refused" just as when nothing is there, yet the port is held
// meanwhile (see reserve).
type reserved struct {
	fd   int
	addr string
}

// reserve binds addr ("127.0.0.1:0" for a free port) without listening.
//
// Bound without SO_REUSEADDR, the port is ours alone: no other socket can
// bind it. A port just given back by a closed listener may still hold
// connections in TIME_WAIT, which block such a bind; then SO_REUSEADDR is
// needed, and the hold is weaker: the kernel still gives the port to nobody
// who asks for a free one, but a program naming it could bind it.
func reserve(addr string) (*reserved, error) {
	ap, err := net.ResolveTCPAddr("tcp4", addr)
	if err != nil {
		return nil, err
	}
	r, err := bindOnly(ap, false)
	if errors.Is(err, syscall.EADDRINUSE) && ap.Port != 0 {
		r, err = bindOnly(ap, true)
	}
	return r, err
}

func bindOnly(ap *net.TCPAddr, reuse bool) (*reserved, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if reuse {
		if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
			syscall.Close(fd)
			return nil, os.NewSyscallError("setsockopt", err)
		}
	}
	sa := &syscall.SockaddrInet4{Port: ap.Port}
	copy(sa.Addr[:], ap.IP.To4())
	if err := syscall.Bind(fd, sa); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	got, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("getsockname", err)
	}
	in4 := got.(*syscall.SockaddrInet4)
	return &reserved{fd: fd, addr: (&net.TCPAddr{IP: in4.Addr[:], Port: in4.Port}).String()}, nil
}

// listen starts listening on the reserved port.
func (r *reserved) listen() (net.Listener, error) {
	// Connections accepted from now on inherit SO_REUSEADDR, as from any Go
	// listener, so when they end in TIME_WAIT they do not keep the port
	// from being reserved again.
	if err := syscall.SetsockoptInt(r.fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		r.release()
		return nil, os.NewSyscallError("setsockopt", err)
	}
	if err := syscall.Listen(r.fd, syscall.SOMAXCONN); err != nil {
		r.release()
		return nil, os.NewSyscallError("listen", err)
	}
	f := os.NewFile(uintptr(r.fd), r.addr)
	defer f.Close() // FileListener holds its own copy of the descriptor
	return net.FileListener(f)
}

// release gives the port back without ever listening.
func (r *reserved) release() { _ = syscall.Close(r.fd) }
