package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/serve"
)

// Bounds of the agent, stated in docs/agent.md.
const (
	// MinLeft is the least time credentials handed out have left: botocore
	// refreshes at 15 minutes left, so anything closer makes it run the
	// process on every call. A session of 15 minutes or less (STS's
	// shortest) is handed out while half its life is left.
	MinLeft = 15 * time.Minute
	// Idle is how long an entry may go unused before it is dropped, with
	// its credentials, so an idle machine makes no STS calls.
	Idle = time.Hour
	// MaxEntries caps the entries held; the least recently used goes first.
	MaxEntries = 64
	// maxConns caps the connections served at once; the clients of the
	// others exchange themselves.
	maxConns = 64
	// readRequest bounds the time a client has to send its request.
	readRequest = 2 * time.Second
	// maxRequestTime bounds a whole connection: request, exchange, answer.
	maxRequestTime = maxExchange + 10*time.Second
	// tick is how often entries are checked for refresh and idleness.
	tick = 30 * time.Second
	// drainGrace bounds a stopping agent's wait for requests under way.
	drainGrace = 35 * time.Second
)

// Config is what a Server needs.
type Config struct {
	// Check refuses arguments that are not a credential process run: a
	// request may make the agent run the pipeline and nothing else.
	Check func(args []string) error
	// Exchange runs the pipeline with a request's inputs (SelfExchange). A
	// *Failure is a direct run's failure, handed to the caller as is.
	Exchange func(context.Context, *Request) (awscred.Credentials, error)
	// Logger gets refusals and failures as warnings, exchanges, refreshes
	// and dropped entries as information.
	Logger *slog.Logger
	// Now is the clock (time.Now if nil).
	Now func() time.Time
}

// Server holds the entries and answers connections.
type Server struct {
	cfg  Config
	uid  int
	host string

	mu      sync.Mutex
	entries map[string]*entry
}

// entry is the credentials for one set of inputs.
type entry struct {
	req      *Request
	creds    awscred.Credentials
	has      bool
	life     time.Duration
	next     time.Time // the next refresh
	attempt  int       // failed refreshes in a row
	lastUsed time.Time
	flight   *flight
}

// flight is an entry's one exchange under way, shared by every request
// that waits for it.
type flight struct {
	done  chan struct{}
	creds awscred.Credentials
	err   error
}

// NewServer returns a server with no entries.
func NewServer(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	return &Server{cfg: cfg, uid: os.Getuid(), host: host, entries: map[string]*entry{}}
}

// Serve answers connections on ln until ctx is done, then waits for the
// requests under way (at most drainGrace). The caller closes ln.
func (s *Server) Serve(ctx context.Context, ln *net.UnixListener) error {
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
				s.Tick()
			}
		}
	}()
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	var conns sync.WaitGroup
	sem := make(chan struct{}, maxConns)
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return err
		}
		select {
		case sem <- struct{}{}:
		default:
			s.cfg.Logger.Warn("refused a connection: "+fmt.Sprint(maxConns)+" are being served already", "event", "busy")
			writeAnswer(c, answer{Status: stRefused, Reason: "busy"})
			_ = c.Close()
			continue
		}
		conns.Go(func() {
			defer func() { <-sem }()
			s.serveConn(c)
		})
	}
	done := make(chan struct{})
	go func() { conns.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(drainGrace):
		s.cfg.Logger.Warn("stopped with requests still under way after " + drainGrace.String())
	}
	return nil
}

// serveConn answers one connection: the peer first, then one request.
func (s *Server) serveConn(c *net.UnixConn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(maxRequestTime))
	uid, err := peerUID(c)
	if err != nil || uid != s.uid {
		who := fmt.Sprintf("user %d", uid)
		if err != nil {
			who = "a peer the kernel could not name (" + err.Error() + ")"
		}
		s.cfg.Logger.Warn(fmt.Sprintf("refused a connection from %s: only user %d may ask", who, s.uid), "event", "refused")
		writeAnswer(c, answer{Status: stRefused, Reason: "not your agent"})
		return
	}
	_ = c.SetReadDeadline(time.Now().Add(readRequest))
	req, err := decodeRequest(c)
	if errors.Is(err, io.EOF) {
		return // connected and closed: a probe, as systemd's or a script's
	}
	if err != nil {
		writeAnswer(c, s.refuse(err, "bad request"))
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	switch {
	case req.Op == opPing:
		writeAnswer(c, answer{Status: stOK, PID: os.Getpid()})
	case req.Host != s.host:
		// The default session name is the host name: another host name
		// (a container's own UTS namespace) would get another session.
		err := errors.New("the caller's host name is not the agent's")
		writeAnswer(c, s.refuse(err, err.Error()))
	case req.Op == opPeek:
		st := stNone
		if s.held(req.key()) {
			st = stHeld
		}
		writeAnswer(c, answer{Status: st})
	default:
		writeAnswer(c, s.get(req, func() { writeAnswer(c, answer{Status: stPending}) }))
	}
}

// refuse logs a refused request and answers the client reason.
func (s *Server) refuse(err error, reason string) answer {
	s.cfg.Logger.Warn("refused a request: "+err.Error(), "event", "bad_request")
	return answer{Status: stRefused, Reason: reason}
}

// decodeRequest reads and decodes the request, at most MaxRequest bytes.
func decodeRequest(c net.Conn) (*Request, error) {
	r := &io.LimitedReader{R: c, N: MaxRequest + 1}
	var req Request
	if err := json.NewDecoder(r).Decode(&req); err != nil {
		if r.N == 0 {
			return nil, fmt.Errorf("larger than %d bytes", MaxRequest)
		}
		return nil, err
	}
	if err := req.check(); err != nil {
		return nil, err
	}
	return &req, nil
}

// servable reports whether e's credentials may be handed out at now.
func (e *entry) servable(now time.Time) bool {
	if !e.has {
		return false
	}
	floor := MinLeft
	if e.life <= MinLeft {
		floor = e.life / 2
	}
	return e.creds.Expiration.Sub(now) >= floor
}

// held reports whether key's entry holds servable credentials.
func (s *Server) held(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[key]
	return e != nil && e.servable(s.cfg.Now())
}

// get answers a request for credentials: from its entry, else by an
// exchange with its inputs (joining one under way), calling pending first.
func (s *Server) get(req *Request, pending func()) answer {
	key := req.key()
	s.mu.Lock()
	a, ok := s.hitLocked(key)
	s.mu.Unlock()
	if ok {
		return a
	}
	// Only a request that would start an exchange pays for the check:
	// parsing the arguments costs about a millisecond.
	if s.cfg.Check != nil {
		if err := s.cfg.Check(req.Args); err != nil {
			err = fmt.Errorf("not a credential process run: %v", err)
			return s.refuse(err, err.Error())
		}
	}
	s.mu.Lock()
	// Another request's exchange may have ended since.
	if a, ok := s.hitLocked(key); ok {
		s.mu.Unlock()
		return a
	}
	now := s.cfg.Now()
	e := s.entries[key]
	if e == nil {
		if !s.makeRoomLocked() {
			s.mu.Unlock()
			return answer{Status: stRefused, Reason: "full"}
		}
		e = &entry{req: req}
		s.entries[key] = e
	}
	e.lastUsed = now
	f, fresh := e.flight, false
	if f == nil {
		f, fresh = s.startLocked(key, e), true
	}
	s.mu.Unlock()
	pending()
	// Not ctx: a stopping agent answers the requests under way (Serve
	// waits for them, at most drainGrace); the exchange is bounded anyway.
	<-f.done
	if fl, ok := errors.AsType[*Failure](f.err); ok {
		return answer{Status: stFailed, Exit: fl.Exit, Stderr: fl.Stderr}
	}
	if f.err != nil {
		return answer{Status: stRefused, Reason: f.err.Error()}
	}
	a = credsAnswer(f.creds)
	a.Fresh = fresh
	return a
}

// hitLocked returns key's entry's credentials if they are servable.
func (s *Server) hitLocked(key string) (answer, bool) {
	now := s.cfg.Now()
	e := s.entries[key]
	if e == nil || !e.servable(now) {
		return answer{}, false
	}
	e.lastUsed = now
	return credsAnswer(e.creds), true
}

// makeRoomLocked drops the least recently used entry with no exchange
// under way if the entries are at their cap, and reports whether there is
// room.
func (s *Server) makeRoomLocked() bool {
	if len(s.entries) < MaxEntries {
		return true
	}
	var oldest string
	for k, e := range s.entries {
		if e.flight == nil && (oldest == "" || e.lastUsed.Before(s.entries[oldest].lastUsed)) {
			oldest = k
		}
	}
	if oldest == "" {
		return false
	}
	delete(s.entries, oldest)
	s.cfg.Logger.Info("dropped the least recently used entry: "+fmt.Sprint(MaxEntries)+" are held", "event", "evicted")
	return true
}

// startLocked starts an exchange for e.
func (s *Server) startLocked(key string, e *entry) *flight {
	f := &flight{done: make(chan struct{})}
	e.flight = f
	refresh := e.has
	go func() {
		start := s.cfg.Now()
		f.creds, f.err = s.cfg.Exchange(context.Background(), e.req)
		now := s.cfg.Now()
		s.mu.Lock()
		e.flight = nil
		if f.err == nil {
			e.creds, e.has, e.attempt = f.creds, true, 0
			e.life = f.creds.Expiration.Sub(now)
			e.next = serve.RefreshAt(now, e.life)
		} else if e.servable(now) {
			e.attempt++
			e.next = now.Add(serve.RetryDelay(e.life, e.attempt))
		} else if s.entries[key] == e {
			delete(s.entries, key)
		}
		s.mu.Unlock()
		close(f.done)
		s.logExchange(refresh, f, now.Sub(start))
	}()
	return f
}

func (s *Server) logExchange(refresh bool, f *flight, took time.Duration) {
	what := "exchange"
	if refresh {
		what = "refresh"
	}
	if f.err != nil {
		msg := f.err.Error()
		if _, after, ok := strings.Cut(msg, "gcp-aws-cred: error: "); ok {
			msg, _, _ = strings.Cut(after, "\n")
		}
		s.cfg.Logger.Warn(what+" failed: "+msg, "event", what+"_failed")
		return
	}
	s.cfg.Logger.Info(fmt.Sprintf("%s: key %s until %s, after %s", what, f.creds.AccessKeyID, f.creds.Expiration.UTC().Format(time.RFC3339), took.Round(time.Millisecond)),
		"event", what, "expiration", f.creds.Expiration.UTC().Format(time.RFC3339))
}

// Tick refreshes the entries whose refresh is due and drops those unused
// for Idle.
func (s *Server) Tick() {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.entries {
		switch {
		case e.flight != nil:
		case now.Sub(e.lastUsed) >= Idle:
			delete(s.entries, k)
			s.cfg.Logger.Info("dropped an entry unused for "+Idle.String(), "event", "idle")
		case e.has && !now.Before(e.next):
			s.startLocked(k, e)
		}
	}
}

// writeAnswer writes one answer line; a client gone away is not worth a
// log line.
func writeAnswer(c net.Conn, a answer) {
	b, _ := json.Marshal(a)
	_, _ = c.Write(append(b, '\n'))
}
