package fakes

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"time"
)

// Servers are a fake metadata server and a fake STS listening on loopback,
// wired so the STS checks tokens against the metadata server's key.
type Servers struct {
	Metadata *Metadata
	STS      *STS
	// MetadataHost is host:port, the form GCE_METADATA_HOST takes.
	MetadataHost string
	// STSURL is the endpoint URL, the form AWS_ENDPOINT_URL_STS takes.
	STSURL string
	// Google fakes the OAuth 2.0 token endpoint, Workload Identity
	// Federation's exchange and the IAM Credentials API, for
	// --impersonate; its ID tokens pass at STS, and the metadata server's
	// access tokens pass at it.
	Google *Google

	md, sts *endpoint
	tls     *httptest.Server
}

// Options say what StartWith starts. The zero value gives what Start gives.
type Options struct {
	// Platform the metadata server acts as (Metadata.ActAs). Empty keeps
	// NewMetadata's defaults: format=full served, no compute_engine claim.
	Platform Platform
	// RefuseMetadataFor keeps the metadata server's port refusing
	// connections for this long after StartWith returns, as the GKE
	// metadata server does in a pod's first seconds. MetadataHost is known
	// at once; nothing listens on it until then, though on Linux the port
	// is bound so that no other socket can take it.
	RefuseMetadataFor time.Duration
	// OmitFlavorHeader leaves Metadata-Flavor out of the metadata server's
	// responses, as older GKE versions did (Metadata.OmitFlavorHeader).
	OmitFlavorHeader bool
	// Roles the STS knows (STS.Roles); nil trusts every role ARN.
	// SandboxRoles gives a set with trust policies.
	Roles map[string]Role
}

// Start listens on two free loopback ports and serves until Close.
func Start() (*Servers, error) { return StartWith(Options{}) }

// StartWith starts the servers as o says and serves until Close.
func StartWith(o Options) (*Servers, error) {
	md, err := NewMetadata()
	if err != nil {
		return nil, err
	}
	if o.Platform != "" {
		md.ActAs(o.Platform)
	}
	md.OmitFlavorHeader(o.OmitFlavorHeader)
	s := &Servers{Metadata: md, STS: NewSTS(&md.Key.PublicKey)}
	s.STS.Roles = o.Roles
	// Before the metadata server serves, which reads AccessToken.
	if s.Google, err = StartGoogle(md.Key); err != nil {
		return nil, err
	}
	md.AccessToken = s.Google.IssueAccessToken
	if s.md, err = listenAfter(md, o.RefuseMetadataFor); err != nil {
		s.Close()
		return nil, err
	}
	if s.sts, err = listenAfter(s.STS, 0); err != nil {
		s.Close()
		return nil, err
	}
	s.MetadataHost, s.STSURL = s.md.addr, "http://"+s.sts.addr
	return s, nil
}

// StartSTSTLS serves the same fake STS over HTTPS as well, with a
// certificate for 127.0.0.1 from a CA nobody trusts, and returns its URL and
// that CA in PEM, for TLS failure and AWS_CA_BUNDLE tests.
func (s *Servers) StartSTSTLS() (url string, caPEM []byte) {
	if s.tls == nil {
		s.tls = httptest.NewUnstartedServer(s.STS)
		// A refused certificate is the point of this server; don't log it.
		s.tls.Config.ErrorLog = log.New(io.Discard, "", 0)
		s.tls.StartTLS()
	}
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.tls.Certificate().Raw})
	return s.tls.URL, ca
}

// Env is the environment that points gcp-aws-cred at these servers.
func (s *Servers) Env() []string {
	return []string{"GCE_METADATA_HOST=" + s.MetadataHost, "AWS_ENDPOINT_URL_STS=" + s.STSURL}
}

// StopMetadata stops the metadata server alone, as when the workload is not
// on Google Cloud after all. RefuseMetadataFor brings it back.
func (s *Servers) StopMetadata() { s.md.stop() }

// RefuseMetadataFor stops the metadata server at once, as a GKE metadata
// server restarting under a pod, and has it listen again on the same port
// after d. Meanwhile connections are refused: nothing listens, though on
// Linux the port stays bound, so the kernel gives it to nobody else who asks
// for a free port. The channel is closed once it
// listens again, or if StopMetadata or Close comes first. Calling it again
// while it refuses extends the refusal to d from now.
func (s *Servers) RefuseMetadataFor(d time.Duration) (<-chan struct{}, error) {
	return s.md.refuseFor(d)
}

// Close stops both servers.
func (s *Servers) Close() {
	for _, e := range []*endpoint{s.md, s.sts} {
		if e != nil {
			e.close()
		}
	}
	if s.tls != nil {
		s.tls.Close()
	}
	if s.Google != nil {
		s.Google.Close()
	}
}

// endpoint serves a handler on one loopback port for the life of Servers.
// It can stop listening for a while and listen again on the same port, so a
// client configured with the address sees refused connections, then
// answers.
type endpoint struct {
	h    http.Handler
	addr string

	mu      sync.Mutex
	srv     *http.Server  // while listening
	pending *reserved     // while refusing
	timer   *time.Timer   // ends the refusal
	ready   chan struct{} // closed when the refusal ends
	gen     int           // counts refusals, so a superseded timer knows
	closed  bool
}

// listenAfter serves h on a free loopback port, refusing connections for d
// first.
func listenAfter(h http.Handler, d time.Duration) (*endpoint, error) {
	r, err := reserve("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &endpoint{h: h, addr: r.addr}
	if d <= 0 {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e, e.serveOn(r)
	}
	e.mu.Lock()
	e.refuseLocked(r, d)
	e.mu.Unlock()
	return e, nil
}

// serveOn starts listening on r. Called with mu held.
func (e *endpoint) serveOn(r *reserved) error {
	l, err := r.listen()
	if err != nil {
		return err
	}
	e.srv = &http.Server{Handler: e.h, ReadHeaderTimeout: 5 * time.Second}
	go func(srv *http.Server) { _ = srv.Serve(l) }(e.srv)
	return nil
}

// refuseFor closes the server if it is listening and listens again after d.
func (e *endpoint) refuseFor(d time.Duration) (<-chan struct{}, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, http.ErrServerClosed
	}
	r := e.pending
	if r == nil {
		if e.srv != nil {
			_ = e.srv.Close()
			e.srv = nil
		}
		var err error
		if r, err = reserveAgain(e.addr); err != nil {
			return nil, err
		}
	}
	return e.refuseLocked(r, d), nil
}

// reserveAgain reserves the port a closed listener held. Go closes a
// listener's socket only once its Accept has returned, a moment after
// Close, so the port may still be busy for that moment.
func reserveAgain(addr string) (*reserved, error) {
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		r, err := reserve(addr)
		if !errors.Is(err, syscall.EADDRINUSE) || time.Since(start) > 2*time.Second {
			return r, err
		}
	}
}

// refuseLocked holds r until d has passed, then serves on it. A refusal
// already under way is extended rather than doubled.
func (e *endpoint) refuseLocked(r *reserved, d time.Duration) <-chan struct{} {
	if e.timer != nil {
		e.timer.Stop()
	}
	if e.ready == nil {
		e.ready = make(chan struct{})
	}
	e.pending = r
	e.gen++
	gen, ready := e.gen, e.ready
	e.timer = time.AfterFunc(d, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.gen != gen || e.pending != r {
			return // superseded by a later call, stopped, or closed
		}
		e.pending, e.timer, e.ready = nil, nil, nil
		defer close(ready)
		if err := e.serveOn(r); err != nil {
			log.Printf("fakes: listening again on %s: %v", e.addr, err)
		}
	})
	return ready
}

// stop closes the server, or ends a refusal without listening.
func (e *endpoint) stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stopLocked()
}

func (e *endpoint) stopLocked() {
	e.gen++
	if e.srv != nil {
		_ = e.srv.Close()
		e.srv = nil
	}
	if e.timer != nil {
		e.timer.Stop()
		e.timer = nil
	}
	if e.pending != nil {
		e.pending.release()
		e.pending = nil
	}
	if e.ready != nil {
		close(e.ready)
		e.ready = nil
	}
}

// close shuts the server down for good, letting requests in flight finish
// for up to a second.
func (e *endpoint) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	if e.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = e.srv.Shutdown(ctx)
		e.srv = nil
	}
	e.stopLocked()
}
