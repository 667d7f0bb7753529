package serve

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// The server speaks the part of HTTP/1.1 the container credentials
// protocol uses, GET without a body, with keep-alive, rather than run
// net/http's Server: that one links TLS server code and much HTTP
// machinery, 0.7 MB of a binary budgeted at 10 MB that every credential
// process run loads. Requests are still parsed by the standard library
// (http.ReadRequest, which the client side links already); only the
// connection loop and the writing of a response are here.

// serve accepts connections until Shutdown. At most maxConns are open at a
// time. When all are taken, a connection that is not being answered (idle,
// or still sending its header) is closed to make room: otherwise any local
// process, token or not, could hold every slot with connections that send
// nothing, or a byte now and then, and starve the real clients, whose
// requests arrive whole. Only when every connection is being answered does
// a new one wait, in the kernel's backlog.
func (s *Server) serve() {
	defer close(s.done)
	backoff := 5 * time.Millisecond
	for {
		c, err := s.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			// Out of file descriptors and the like: wait, as net/http does,
			// rather than spin.
			s.log.emit(entry{Level: levelWarn, Event: "accept_failed", Msg: "cannot accept a connection: " + err.Error()})
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		if !s.slot() {
			_ = c.Close()
			return
		}
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			_ = c.Close()
			<-s.slots
			continue
		}
		s.conns[c] = false
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

// slot takes one of the maxConns slots, shedding a connection that is not
// being answered when none is free; it returns false once Shutdown began.
// A connection being answered may turn idle without closing, so the wait
// for a slot looks again every few milliseconds.
func (s *Server) slot() bool {
	for {
		select {
		case s.slots <- struct{}{}:
			return true
		default:
		}
		s.shed()
		select {
		case s.slots <- struct{}{}:
			return true
		case <-s.quit:
			return false
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// shed closes one connection that is not being answered, if there is one;
// its slot is freed when its goroutine sees the connection closed.
func (s *Server) shed() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c, active := range s.conns {
		if !active {
			_ = c.Close()
			return
		}
	}
}

// setActive marks c as answering a request, or not (idle, or reading a
// request's header); it returns false once the server is shutting down,
// when a connection that is not answering is to be closed.
func (s *Server) setActive(c net.Conn, active bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = active
	return true
}

// serveConn answers the requests of one connection in turn.
func (s *Server) serveConn(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		_ = c.Close()
		<-s.slots
	}()
	budget := &budgetReader{r: c}
	br := bufio.NewReaderSize(budget, 4<<10)
	for {
		budget.n = maxHeaderBytes
		_ = c.SetReadDeadline(time.Now().Add(idleTimeout))
		if _, err := br.Peek(1); err != nil {
			return // closed, idle too long, shed, or shut down
		}
		_ = c.SetReadDeadline(time.Now().Add(readTimeout))
		req, err := http.ReadRequest(br)
		if err == nil && !s.setActive(c, true) {
			return
		}
		if err != nil {
			status, code, msg := http.StatusBadRequest, "BadRequest", "malformed request"
			if budget.n <= 0 {
				status, code, msg = http.StatusRequestHeaderFieldsTooLarge, "RequestHeaderFieldsTooLarge", "the request header is larger than 8 KiB"
			}
			_ = c.SetWriteDeadline(time.Now().Add(writeTimeout))
			_, _ = c.Write(encode(errorResponse(status, code, msg), "", false))
			return
		}
		resp := s.answer(req)
		// A body is never read, so a request that has one ends the
		// connection: what follows it is not a request.
		keep := req.ProtoAtLeast(1, 1) && !req.Close && req.ContentLength == 0 && len(req.TransferEncoding) == 0
		_ = c.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := c.Write(encode(resp, req.Method, keep)); err != nil || !keep {
			return
		}
		if !s.setActive(c, false) {
			return
		}
	}
}

// encode writes resp as an HTTP/1.1 response, in one piece.
func encode(resp response, method string, keep bool) []byte {
	b := make([]byte, 0, 160+len(resp.body))
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(resp.status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(resp.status)...)
	// Content-Type is exactly application/json: the Go SDK's endpointcreds
	// client decodes an error body as JSON only when the header equals
	// that string (deserializeError in its internal client).
	b = append(b, "\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(resp.body)), 10)
	b = append(b, "\r\n"...)
	if resp.allow != "" {
		b = append(b, "Allow: "+resp.allow+"\r\n"...)
	}
	if !keep {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "\r\n"...)
	if method != http.MethodHead {
		b = append(b, resp.body...)
	}
	return b
}

// budgetReader fails once n bytes have been read: it bounds a request's
// header, which http.ReadRequest would otherwise read without limit.
type budgetReader struct {
	r io.Reader
	n int
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, errors.New("request header too large")
	}
	if len(p) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= n
	return n, err
}
