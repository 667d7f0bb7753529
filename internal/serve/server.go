// Package serve holds credentials in memory and hands them to local
// processes over the AWS container credentials protocol, the one every AWS
// SDK and the CLI read when AWS_CONTAINER_CREDENTIALS_FULL_URI is set. It
// backs `gcp-aws-cred serve` (a sidecar or system service) and `exec
// --serve` (one long command).
//
// It does not know how credentials are obtained: it takes a Fetch, which
// cred.Flow's Credentials method satisfies, and calls it from a refresh
// scheduler that spreads a fleet's STS calls over time (see plan). Time
// and randomness are injected, so tests and the fleet simulation in
// bench/fleetsim run the real scheduler through hours of fake time.
//
// Nothing is written to disk. Every line serve logs and every error
// message it sends passes through fail.Clean, where secrets are redacted
// and control characters escaped.
package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fail"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
)

// Paths served.
const (
	// CredentialsPath is the credentials endpoint, in the printed URI.
	CredentialsPath = "/credentials"
	// HealthPath answers without authorization, for probes.
	HealthPath = "/healthz"
)

// Request handling limits. A local client that misbehaves, or a thousand
// of them, must not exhaust the server: it reads no request body, bounds
// headers, times out slow clients and caps open connections.
const (
	maxHeaderBytes = 8 << 10
	maxConns       = 256
	readTimeout    = 10 * time.Second // for a request's header, once it starts
	writeTimeout   = 10 * time.Second
	idleTimeout    = 60 * time.Second // between requests on a kept-alive connection
)

// Config configures a server.
type Config struct {
	// Fetch gets fresh credentials; required.
	Fetch Fetch
	// Role is the role ARN, for the log.
	Role string
	// Timeout bounds each exchange, retries inside it included (--timeout);
	// zero means 30s.
	Timeout time.Duration
	// Listen is the loopback address to listen on; empty means 127.0.0.1:0.
	Listen string
	// Token is what clients must send in the Authorization header;
	// required (ResolveToken picks one).
	Token secret.String
	// Log receives the log, usually stderr; nil discards it.
	Log io.Writer
	// LogFormat is LogPlain (default) or LogJSON.
	LogFormat string
	// Quiet logs failures only.
	Quiet bool
	// Clock and Rand drive the refresh schedule; nil means the real ones.
	Clock Clock
	Rand  Rand
}

// Server is a running credentials endpoint.
type Server struct {
	ref   *Refresher
	token secret.String
	hosts map[string]bool
	log   *logger
	ln    net.Listener
	url   string

	slots  chan struct{}   // one per open connection, maxConns at most
	quit   chan struct{}   // closed by Shutdown
	ctx    context.Context // cancelled by Shutdown, ending requests' waits
	cancel context.CancelFunc
	wg     sync.WaitGroup // connections being served
	done   chan struct{}  // closed when the accept loop returns
	once   sync.Once

	mu      sync.Mutex
	conns   map[net.Conn]bool // true while a request is being answered
	closing bool
}

// Start checks cfg, makes the first exchange, then listens and serves in
// the background. A configuration mistake is reported before any network
// call and a failed first exchange before anything listens, each with the
// error the credential process would give.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Fetch == nil {
		return nil, errors.New("serve: Config.Fetch is nil")
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	addr, err := ListenAddr(cfg.Listen)
	if err != nil {
		return nil, err
	}
	if _, err := checkToken(cfg.Token.Reveal(), "the configuration"); err != nil {
		return nil, err
	}
	ref := NewRefresher(RefresherOptions{
		Fetch: cfg.Fetch, Timeout: cfg.Timeout, Clock: cfg.Clock, Rand: cfg.Rand,
		Log: cfg.Log, LogFormat: cfg.LogFormat, Quiet: cfg.Quiet, Role: cfg.Role,
	})
	if err := ref.Start(ctx); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr.String())
	if err != nil {
		ref.Close()
		return nil, fail.Errorf(err, "cannot listen on %s: %v", addr, fail.Cause(err)).
			Hint("another process may hold the port: pick another with --listen, or 127.0.0.1:0 for any free port")
	}
	bound, _ := netip.ParseAddrPort(ln.Addr().String())
	s := &Server{
		ref:   ref,
		token: cfg.Token,
		hosts: hosts(bound),
		log:   ref.log,
		ln:    ln,
		slots: make(chan struct{}, maxConns),
		quit:  make(chan struct{}),
		url:   "http://" + bound.String() + CredentialsPath,
		conns: map[net.Conn]bool{},
		done:  make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.serve()
	c, _ := ref.Current()
	s.log.emit(entry{Level: levelInfo, Event: "start", Msg: fmt.Sprintf("serving %s as session %s at %s; the credentials expire at %s, next refresh at %s",
		cfg.Role, sessionOf(c.AssumedRoleARN), s.url, stamp(c.Expiration), stamp(ref.NextRefresh()))})
	return s, nil
}

// sessionOf is the session name in an assumed-role ARN
// (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION).
func sessionOf(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 && strings.Contains(arn, ":assumed-role/") {
		return arn[i+1:]
	}
	return "(unknown)"
}

// URL is the credentials endpoint, the value of
// AWS_CONTAINER_CREDENTIALS_FULL_URI.
func (s *Server) URL() string { return s.url }

// Addr is the address listened on, host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Refresher is the server's credentials holder, for its counts and
// schedule.
func (s *Server) Refresher() *Refresher { return s.ref }

// Stats returns the refresher's counts: Calls is the number of STS
// exchanges made so far.
func (s *Server) Stats() Stats { return s.ref.Stats() }

// Shutdown stops accepting connections, lets requests in flight finish
// until ctx is done, then closes what is left and stops refreshing.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.once.Do(func() {
		// Stop refreshing first: a request waiting on a refresh is
		// released at once instead of holding up the shutdown.
		s.ref.Close()
		close(s.quit)
		_ = s.ln.Close()
		<-s.done
		s.mu.Lock()
		s.closing = true
		for c, active := range s.conns {
			if !active {
				_ = c.Close()
			}
		}
		s.mu.Unlock()
		finished := make(chan struct{})
		go func() {
			s.wg.Wait()
			close(finished)
		}()
		select {
		case <-finished:
		case <-ctx.Done():
			err = ctx.Err()
			s.cancel()
			s.mu.Lock()
			for c := range s.conns {
				_ = c.Close()
			}
			s.mu.Unlock()
			<-finished
		}
		s.cancel()
	})
	return err
}

// response is an answer before it is written.
type response struct {
	status int
	allow  string // the Allow header of a 405
	body   []byte
}

// answer is the endpoint: every answer is JSON, errors are
// {"code","message"} with a 4xx or 5xx status, the form the SDKs parse.
func (s *Server) answer(r *http.Request) response {
	if len(r.Header["Host"]) > 1 || !hostAllowed(s.hosts, r.Host) {
		return errorResponse(http.StatusForbidden, "Forbidden",
			"the Host header must name this server's loopback address (127.0.0.1, [::1] or localhost with its port)")
	}
	switch r.URL.Path {
	case CredentialsPath:
		return s.credentials(r)
	case HealthPath:
		return s.health(r)
	}
	return errorResponse(http.StatusNotFound, "NotFound", "no such path; credentials are served at "+CredentialsPath)
}

func (s *Server) credentials(r *http.Request) response {
	if !authorized(r.Header.Values("Authorization"), s.token) {
		return errorResponse(http.StatusUnauthorized, "Unauthorized",
			"the Authorization header must carry the token given in "+TokenEnv)
	}
	if r.Method != http.MethodGet {
		resp := errorResponse(http.StatusMethodNotAllowed, "MethodNotAllowed", "only GET is served")
		resp.allow = http.MethodGet
		return resp
	}
	// A wait for a refresh in flight is bounded by the refresh's own
	// timeout; this bound is for the shutdown.
	ctx, cancel := context.WithTimeout(s.ctx, s.ref.timeout+time.Second)
	defer cancel()
	_, body, err := s.ref.current(ctx)
	if err != nil {
		return errorResponse(http.StatusServiceUnavailable, "CredentialsUnavailable", errorText(err))
	}
	return response{status: http.StatusOK, body: body}
}

func (s *Server) health(r *http.Request) response {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		resp := errorResponse(http.StatusMethodNotAllowed, "MethodNotAllowed", "only GET and HEAD are served")
		resp.allow = "GET, HEAD"
		return resp
	}
	if s.ref.Healthy() {
		return response{status: http.StatusOK, body: []byte(`{"status":"ok"}`)}
	}
	return response{status: http.StatusServiceUnavailable, body: []byte(`{"status":"unavailable"}`)}
}

func errorResponse(status int, code, message string) response {
	b, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{code, fail.Clean(message)})
	return response{status: status, body: b}
}
