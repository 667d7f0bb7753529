package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"time"
)

// strangers tracks the connections that have not been kept after an
// answer, oldest first, for the one moment a cap exists after all: the
// process's file descriptors. Only an authorised client's 200 keeps a
// connection (keep), so a connection never kept is a stranger's, or a
// client's first request in flight, a millisecond old. When accept(2)
// finds no descriptor left, the older half of them is closed: without it
// connections that never send a byte would hold every descriptor until
// readHeaderTimeout, and a real client would wait that long in the accept
// queue for each wave of them. Clients kept alive are never closed.
type strangers struct {
	log    *slog.Logger
	mu     sync.Mutex
	conns  map[net.Conn]time.Time // when accepted
	logged time.Time              // when shedding was last logged
	shed   int                    // connections closed since
}

// connKey is the request context's key for its connection.
type connKey struct{}

// withConn is the server's ConnContext hook: it records each connection
// in its requests' context, for keep.
func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// keep marks the connection of a request answered with keep-alive as no
// stranger's, before the answer is written: the client may send its next
// request, or the server run out of descriptors, as soon as it is.
func (s *strangers) keep(ctx context.Context) {
	if c, ok := ctx.Value(connKey{}).(net.Conn); ok {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}
}

// track is the server's ConnState hook.
func (s *strangers) track(c net.Conn, state http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch state {
	case http.StateNew:
		s.conns[c] = time.Now()
	case http.StateHijacked, http.StateClosed:
		delete(s.conns, c)
	}
}

// closeOldest closes the older half of the strangers' connections. It
// logs at most once a minute, as 401s are: the strangers choose how often
// it runs.
func (s *strangers) closeOldest() {
	type conn struct {
		c  net.Conn
		at time.Time
	}
	s.mu.Lock()
	all := make([]conn, 0, len(s.conns))
	for c, at := range s.conns {
		all = append(all, conn{c, at})
	}
	slices.SortFunc(all, func(a, b conn) int { return a.at.Compare(b.at) })
	all = all[:(len(all)+1)/2]
	for _, x := range all {
		delete(s.conns, x.c) // not to be counted or closed twice
	}
	s.shed += len(all)
	n, now := s.shed, time.Now()
	logNow := n > 0 && now.Sub(s.logged) >= refusalInterval
	if logNow {
		s.logged, s.shed = now, 0
	}
	s.mu.Unlock()
	for _, x := range all {
		_ = x.c.Close() // the server's goroutine for it ends on the read error
	}
	if logNow {
		s.log.Warn(fmt.Sprintf("out of file descriptors: closed %d %s that had sent no complete request; many local connections are held open (a client leaking them, or an attack); this is logged at most once a minute",
			n, plural(n, "connection")), keyEvent, "descriptors_exhausted", "count", n)
	}
}

// shedListener sheds strangers when Accept runs out of descriptors. The
// error still reaches http.Server, which retries after a pause (5 ms at
// first): the client at the head of the accept queue then gets in, and the
// one accepted just before has time to send its request.
type shedListener struct {
	net.Listener
	strangers *strangers
}

func (l shedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
		l.strangers.closeOldest()
	}
	return c, err
}
