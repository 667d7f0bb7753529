package transport

import (
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"time"
)

// IsLoopback reports whether host, as written in a URL, is this machine: a
// loopback address or "localhost". It is the test for letting an http://
// endpoint through; LoopbackOnly checks the address actually dialled.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// NotLoopbackError says a cleartext endpoint's name led to an address that
// is not loopback.
type NotLoopbackError struct{ Addr string }

func (e *NotLoopbackError) Error() string {
	return "the endpoint's host name resolved to " + e.Addr + ", which is not a loopback address"
}

// LoopbackOnly is a dialer's Control hook for http:// endpoints: it runs
// after the name is resolved and before anything is sent, so a name such as
// localhost that /etc/hosts or DNS points elsewhere is refused.
func LoopbackOnly(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		host = address
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return &NotLoopbackError{Addr: host}
	}
	return nil
}

// The retry policy every peer shares (STS through the SDK's retryer, the
// IAM Credentials API through a loop of its own): three tries in all,
// waits from 250ms doubling up to 2s, so that a run stays well inside its
// deadline.
const (
	Attempts    = 3
	BaseBackoff = 250 * time.Millisecond
	MaxBackoff  = 2 * time.Second
)

// Jitter is the wait before retry number attempt (1 for the first): base
// doubled per attempt, at most max, and then a random half of it taken
// off, so that many clients refused at once do not come back at once.
func Jitter(base, max time.Duration, attempt int) time.Duration {
	d := base << (attempt - 1)
	if d > max || d <= 0 {
		d = max
	}
	return d/2 + rand.N(d/2+1)
}
