package serve

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// maxStrangers caps the connections open at once that have not sent a
// request with the token, closing the oldest beyond it. Each holds a
// goroutine, buffers and up to maxHeaderBytes of parsed header lines:
// unbounded, 500 of them took serve past the 64 MB its unit allows. A
// client's connection is a stranger's only until its header is read, so a
// flood would have to open the cap's worth within that millisecond to
// close it. The cap bounds the descriptors strangers take too.
const maxStrangers = 128

// strangers tracks the strangers' connections, oldest first.
type strangers struct {
	log    *slog.Logger
	mu     sync.Mutex
	conns  []net.Conn // in the order accepted
	closed tally      // connections closed at the cap
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
		s.forget(c)
	}
}

func (s *strangers) forget(c net.Conn) {
	s.mu.Lock()
	if i := slices.Index(s.conns, c); i >= 0 {
		s.conns = slices.Delete(s.conns, i, i+1)
	}
	s.mu.Unlock()
}

// track is the server's ConnState hook. net/http calls it for StateNew on
// the accepting goroutine, before the connection is served, so the cap
// holds whatever the connections send.
func (s *strangers) track(c net.Conn, state http.ConnState) {
	switch state {
	case http.StateHijacked, http.StateClosed:
		s.forget(c)
		return
	case http.StateNew:
	default:
		return
	}
	s.mu.Lock()
	s.conns = append(s.conns, c)
	var oldest net.Conn
	if len(s.conns) > maxStrangers {
		oldest = s.conns[0]
		s.conns = slices.Delete(s.conns, 0, 1) // not to be counted or closed twice
	}
	s.mu.Unlock()
	k := 0
	if oldest != nil {
		_ = oldest.Close() // its goroutine ends on the read error
		k = 1
	}
	if n, _ := s.closed.add(k); n > 0 {
		s.log.Warn(fmt.Sprintf("closed %d %s that had sent no request with the token, the oldest of more than %d open at once; a local process holds many connections open (a client leaking them, or an attack); this is logged at most once a minute",
			n, plural(n, "connection"), maxStrangers), keyEvent, "strangers_closed", "count", n)
	}
}

// logInterval is the least time between two lines about refusals, or
// about strangers closed.
const logInterval = time.Minute

// tally counts what local clients make happen as often as they choose (a
// refusal, a stranger closed) and logs it at most once per logInterval: a
// line each would let any local process flood the log, and none at all
// would hide a client with a stale token or a process probing for
// credentials.
type tally struct {
	total atomic.Int64 // every event, for the metrics
	mu    sync.Mutex
	last  time.Time // when a line was last logged
	since int       // events not yet logged
}

// add counts k events (0 to ask only whether a line is due) and returns
// how many a line should report now, 0 for none, and whether it is the
// first line.
func (t *tally) add(k int) (n int, first bool) {
	t.total.Add(int64(k))
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.since += k
	first = t.last.IsZero()
	if t.since == 0 || !first && now.Sub(t.last) < logInterval {
		return 0, false
	}
	n, t.since, t.last = t.since, 0, now
	return n, first
}
