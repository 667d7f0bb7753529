package serve

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// maxStrangers caps the connections open at once that have not sent a
// request with the token. Each holds a goroutine, buffers and, while its
// header arrives, the parsed lines of up to httpMaxHeaderBytes: unbounded,
// 500 connections of tiny header lines took serve past the 64 MB the unit
// allows. At the cap the oldest is closed. A client's own first request is
// a stranger's for the millisecond before its header is read, so a flood
// would have to open the cap's worth of connections in that time to close
// it; a connection is no stranger's once its request shows the token, and
// is never closed by the cap after that, even while the request waits for
// a refresh. The cap also bounds the descriptors strangers can take, far
// below the process's limit, which Go raises to the hard limit at start.
const maxStrangers = 128

// strangers tracks the connections that have not sent a request with the
// token, oldest first, and closes the oldest beyond maxStrangers.
type strangers struct {
	log    *slog.Logger
	mu     sync.Mutex
	conns  map[net.Conn]time.Time // when accepted
	logged time.Time              // when closing was last logged
	since  int                    // connections closed since
	closed atomic.Int64           // connections closed at the cap, in all
}

// connKey is the request context's key for its connection.
type connKey struct{}

// withConn is the server's ConnContext hook: it records each connection
// in its requests' context, for keep.
func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// keep marks the connection of a request that showed the token as no
// stranger's, before the request waits for anything.
func (s *strangers) keep(ctx context.Context) {
	if c, ok := ctx.Value(connKey{}).(net.Conn); ok {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}
}

// track is the server's ConnState hook. net/http calls it for StateNew on
// the accepting goroutine, before the connection is served, so the cap
// holds whatever the connections send.
func (s *strangers) track(c net.Conn, state http.ConnState) {
	switch state {
	case http.StateHijacked, http.StateClosed:
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		return
	case http.StateNew:
	default:
		return
	}
	now := time.Now()
	s.mu.Lock()
	s.conns[c] = now
	var oldest net.Conn
	if len(s.conns) > maxStrangers {
		var at time.Time
		for x, t := range s.conns {
			if oldest == nil || t.Before(at) {
				oldest, at = x, t
			}
		}
		delete(s.conns, oldest) // not to be counted or closed twice
		s.since++
		s.closed.Add(1)
	}
	n := s.since
	logNow := n > 0 && now.Sub(s.logged) >= refusalInterval
	if logNow {
		s.logged, s.since = now, 0
	}
	s.mu.Unlock()
	if oldest != nil {
		_ = oldest.Close() // its goroutine ends on the read error
	}
	if logNow {
		// Logged at most once a minute, as 401s are: the strangers
		// choose how often it happens.
		s.log.Warn(fmt.Sprintf("closed %d %s that had sent no request with the token, the oldest of more than %d open at once; a local process holds many connections open (a client leaking them, or an attack); this is logged at most once a minute",
			n, plural(n, "connection"), maxStrangers), keyEvent, "strangers_closed", "count", n)
	}
}
