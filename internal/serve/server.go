// Package serve holds credentials in memory and hands them to local
// processes over the AWS container credentials protocol, the one every AWS
// SDK and the CLI read when AWS_CONTAINER_CREDENTIALS_FULL_URI is set. It
// backs `gcp-aws-cred serve` (a sidecar or system service) and `exec
// --serve` (one long command).
//
// It does not know how credentials are obtained: it takes a Fetch, which
// cred.Flow's Credentials method satisfies, and calls it from a refresh
// scheduler that spreads a fleet's STS calls over time (see plan). It
// reads the time from the time package alone: tests and the fleet
// simulation run the real scheduler through hours of fake time inside
// testing/synctest bubbles. Randomness is injected, for reproducible runs.
//
// The HTTP side is net/http's Server. Nothing is written to disk. Every
// line serve logs and every error message it sends passes through
// clean.Line, where secrets are redacted and control characters escaped.
package serve

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/clean"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
)

// Paths served.
const (
	// CredentialsPath is the credentials endpoint, in the printed URI.
	CredentialsPath = "/credentials"
	// HealthPath answers without authorization, for probes.
	HealthPath = "/healthz"
)

// Request handling limits: a local client that misbehaves, or a thousand
// of them, must not exhaust the server or delay another client.
const (
	// maxHeaderBytes is the largest request header answered with anything
	// but 431: a token is a header value, and the SDKs send a handful of
	// short headers besides. net/http reads 4 KiB past it, so a header a
	// little over gets serve's JSON 431, and a larger one net/http's own.
	maxHeaderBytes = 8 << 10
	// readHeaderTimeout is for a request's header, from the connection's
	// start or its first byte: the SDKs send theirs in one write, so a
	// few seconds leave room for a loaded machine and none for a stranger
	// holding a half-sent header.
	readHeaderTimeout = 3 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 10 * time.Second
	idleTimeout       = 60 * time.Second // between requests on a kept-alive connection
	// refreshWait bounds a request's wait for a refresh in flight, well
	// inside writeTimeout: past it the 503 could not be written, and the
	// client would get an empty reply instead of the error SDKs show.
	refreshWait = writeTimeout / 2
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
	// Listener, when set, is listened on instead of Listen: a socket
	// systemd passed (see activation.Listener). It must be on loopback.
	Listener net.Listener
	// Token is what clients must send in the Authorization header;
	// required (ResolveToken picks one).
	Token secret.String
	// Logger receives the log (NewLogger makes one); nil discards it.
	Logger *slog.Logger
	// Rand draws the refresh times; nil means the runtime's generator.
	Rand Rand
	// IMDS adds the EC2 instance metadata protocol (IMDSv2) on the same
	// listener, for clients that read no other (--imds). It has no shared
	// secret: any local process that reaches the port gets credentials.
	IMDS bool
}

// Server is a running credentials endpoint.
type Server struct {
	ref   *Refresher
	token secret.String
	hosts map[string]bool
	url   string // http://ADDR/credentials
	http  *http.Server

	done   chan struct{} // closed when http.Server.Serve returns
	failed chan error    // Serve's error, unless the server was shut down

	refused   tally // requests without the right token
	strangers *strangers
	answered  [600]atomic.Int64 // answers written, by HTTP status
	imds      *imds             // nil unless Config.IMDS
}

// Start checks cfg, binds the address, makes the first exchange, then
// serves in the background. The address is bound first, so that no other
// local process can take a fixed port (and the token clients send to it)
// while the exchange runs; connections made meanwhile wait in the kernel's
// queue. Errors are the credential process's.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Fetch == nil {
		return nil, errors.New("serve: Config.Fetch is nil")
	}
	if _, err := checkToken(cfg.Token.Reveal(), "the configuration"); err != nil {
		return nil, err
	}
	ln := cfg.Listener
	if ln == nil {
		addr, err := ListenAddr(cmp.Or(cfg.Listen, "127.0.0.1:0"))
		if err != nil {
			return nil, err
		}
		if ln, err = net.Listen("tcp", addr.String()); err != nil {
			return nil, explain.Errorf(err, "cannot listen on %s: %v", addr, explain.Cause(err)).
				Hint("another process may hold the port: pick another with --listen, or 127.0.0.1:0 for any free port")
		}
	}
	bound, err := netip.ParseAddrPort(ln.Addr().String())
	if err != nil || !bound.Addr().Unmap().IsLoopback() {
		_ = ln.Close()
		return nil, refuseListen(ln.Addr().String())
	}
	bound = netip.AddrPortFrom(bound.Addr().Unmap(), bound.Port())
	ref := NewRefresher(cfg)
	log := ref.log
	if err := ref.Start(ctx); err != nil {
		_ = ln.Close()
		return nil, err
	}
	s := &Server{
		ref:    ref,
		token:  cfg.Token,
		hosts:  hosts(bound),
		url:    "http://" + bound.String() + CredentialsPath,
		done:   make(chan struct{}),
		failed: make(chan error, 1),
	}
	if cfg.IMDS {
		s.imds = newIMDS(cfg.Role)
		log.Warn(fmt.Sprintf("--imds: any local process that can reach %s gets the credentials over the EC2 metadata protocol, which has no shared secret; clients that can, should use %s with its token", bound, URIEnv),
			keyEvent, "imds")
	}
	s.strangers = &strangers{log: log}
	s.http = &http.Server{
		ConnState:         s.strangers.track,
		ConnContext:       withConn,
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		// net/http's own lines (a handler's panic, an accept error) go
		// through serve's handler, as warnings.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// net/http would answer "OPTIONS *" itself, 200 and keep-alive,
		// whatever the token: a stranger could hold a connection for good.
		DisableGeneralOptionsHandler: true,
	}
	go func() {
		defer close(s.done)
		if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.failed <- err
		}
	}()
	c := ref.last().creds
	log.Info(fmt.Sprintf("serving %s as session %s at %s; the credentials expire at %s, next refresh at %s",
		cfg.Role, sessionOf(c.AssumedRoleARN), s.url, stamp(c.Expiration), stamp(ref.NextRefresh())),
		keyEvent, "start", keyRole, cfg.Role, keyExpiration, c.Expiration.UTC(), keyNext, ref.NextRefresh().UTC(), keyRequestID, c.RequestID)
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

// IMDSEndpoint is the value of AWS_EC2_METADATA_SERVICE_ENDPOINT with
// Config.IMDS, else "". It ends in a slash: Debian's AWS CLI v2 (2.9)
// appends "latest/api/token" to it without one.
func (s *Server) IMDSEndpoint() string {
	if s.imds == nil {
		return ""
	}
	return strings.TrimSuffix(s.url, CredentialsPath) + "/"
}

// Failed receives the error that stopped the server from accepting
// connections (a listener closed under it, or failing for good), which
// leaves it answering nothing: the caller must stop. Nothing is sent after
// Shutdown.
func (s *Server) Failed() <-chan error { return s.failed }

// Shutdown stops accepting connections, lets requests in flight finish
// until ctx is done, then closes what is left and stops refreshing.
func (s *Server) Shutdown(ctx context.Context) error {
	// Stop refreshing first: a request waiting on a refresh is released at
	// once instead of holding up the shutdown. Every step may be repeated.
	s.ref.Close()
	err := s.http.Shutdown(ctx)
	if err != nil {
		_ = s.http.Close() // which ends the requests' contexts, and their waits
	}
	<-s.done
	return err
}

// response is an answer before it is written.
type response struct {
	status int
	header http.Header // set over the defaults, which are for JSON
	body   []byte
}

// with returns r with the header key set to value.
func (r response) with(key, value string) response {
	if r.header == nil {
		r.header = http.Header{}
	}
	r.header.Set(key, value)
	return r
}

// ServeHTTP answers one request. Only a 200 from the credentials endpoint
// keeps the connection open: every other answer (a stranger's 401, a
// probe's 404, /healthz, which needs no token) carries Connection: close,
// so that only a client with the token holds a connection, and what a
// stranger pipelines after its first request is never read.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resp := s.answer(r)
	h := w.Header()
	// Exactly application/json: the Go SDK's endpointcreds client decodes
	// an error body as JSON only when the header equals that string.
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(resp.body)))
	maps.Copy(h, resp.header)
	// A body is never read, so a request with one ends the connection too:
	// what follows it is not a request.
	if resp.status != http.StatusOK || r.URL.Path != CredentialsPath || r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
		h.Set("Connection", "close")
	}
	s.answered[resp.status].Add(1)
	w.WriteHeader(resp.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(resp.body)
	}
}

// answer is the endpoint: every answer is JSON, errors are
// {"code","message"} with a 4xx or 5xx status, the form the SDKs parse.
func (s *Server) answer(r *http.Request) response {
	if headerSize(r) > maxHeaderBytes {
		return errorResponse(http.StatusRequestHeaderFieldsTooLarge, "RequestHeaderFieldsTooLarge", "the request header is larger than 8 KiB")
	}
	if len(r.Header["Host"]) > 1 || !s.hosts[strings.ToLower(r.Host)] {
		return errorResponse(http.StatusForbidden, "Forbidden",
			"the Host header must name this server's loopback address (127.0.0.1, [::1] or localhost with its port)")
	}
	if s.imds != nil && strings.HasPrefix(r.URL.Path, "/latest/") {
		return s.imdsAnswer(r)
	}
	switch r.URL.Path {
	case CredentialsPath:
		return s.credentials(r)
	case HealthPath:
		return s.health(r)
	case MetricsPath:
		return s.metrics(r)
	}
	return errorResponse(http.StatusNotFound, "NotFound", "no such path; credentials are served at "+CredentialsPath)
}

func (s *Server) credentials(r *http.Request) response {
	if !authorized(r.Header.Values("Authorization"), s.token) {
		s.refuse(r)
		return errorResponse(http.StatusUnauthorized, "Unauthorized",
			"the Authorization header must carry the token given in "+TokenEnv)
	}
	// From here the connection is a client's: the cap on strangers must not
	// close it while the request waits for a refresh.
	s.strangers.keep(r.Context())
	if r.Method != http.MethodGet {
		return errorResponse(http.StatusMethodNotAllowed, "MethodNotAllowed", "only GET is served").with("Allow", http.MethodGet)
	}
	return s.served(r, func(h *held) []byte { return h.body })
}

// served answers r with the credentials, as body encodes them, or with the
// 503 that says why there are none.
func (s *Server) served(r *http.Request, body func(*held) []byte) response {
	// The request's context ends with the client's connection too.
	ctx, cancel := context.WithTimeout(r.Context(), refreshWait)
	defer cancel()
	h, err := s.ref.current(ctx)
	if err != nil {
		if ctx.Err() != nil && r.Context().Err() == nil {
			err = fmt.Errorf("no valid credentials: the refresh under way has not ended within %s; try again shortly", refreshWait)
		}
		return errorResponse(http.StatusServiceUnavailable, "CredentialsUnavailable", errorText(err))
	}
	return response{status: http.StatusOK, body: body(h)}
}

func (s *Server) health(r *http.Request) response {
	if resp := onlyGetOrHead(r); resp != nil {
		return *resp
	}
	if s.ref.Healthy() {
		return response{status: http.StatusOK, body: []byte(`{"status":"ok"}`)}
	}
	return response{status: http.StatusServiceUnavailable, body: []byte(`{"status":"unavailable"}`)}
}

// onlyGetOrHead is the 405 for a method other than GET and HEAD, or nil.
func onlyGetOrHead(r *http.Request) *response {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	resp := errorResponse(http.StatusMethodNotAllowed, "MethodNotAllowed", "only GET and HEAD are served").with("Allow", "GET, HEAD")
	return &resp
}

// headerSize is about what the request's header took on the wire.
func headerSize(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

func errorResponse(status int, code, message string) response {
	b, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{code, clean.Line(message)})
	return response{status: status, body: b}
}
