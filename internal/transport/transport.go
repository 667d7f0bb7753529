// Package transport is the HTTP layer under every peer: STS, the metadata
// server, Google's token endpoints and the IAM Credentials API. NewClient
// builds each client from a Policy, adding what neither the metadata
// package, x/oauth2 nor the AWS SDK does: a cap on the bytes read from an
// answer, a time limit per request that is reported as such, retries of
// refused connections within the caller's deadline, the cleartext rules,
// no redirects, secrets remembered for redaction, and the --verbose trace.
// policy.go holds the rules an auditor reads.
//
// Retries, per peer (tries in all, the first included):
//
//	peer                   what is retried                       tries          waits                                by
//	metadata server        refused connections                   for 5s         100ms doubling to 1s                 this package (RetryRefused)
//	metadata server        5xx, resets (not timeouts)            6              full jitter below 100ms doubling      cloud.google.com/go/compute/metadata
//	metadata server        a silent server (5s per request)      1              -                                    PerRequest (not temporary)
//	metadata server        a dial timeout (2s)                   1              -                                    FinalDialTimeout
//	STS                    throttling, 5xx, IDP errors, resets   3              Backoff(250ms, 2s)                   the SDK's retryer
//	IAM Credentials API    429, 5xx, resets                      3              Backoff(250ms, 2s)                   Retry
//	Google token endpoints none (x/oauth2 does not retry)        1              -                                    -
//	serve's first exchange STS throttling                        until Timeout  Backoff(1s, 10s)                     serve
//
// No wait is started that would end after the caller's deadline.
//
// The libraries read answers with io.ReadAll or a streaming decoder, so the
// cap sits here, under them, where every byte they read passes.
package transport

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"syscall"
	"time"
)

// Wrap returns base with p's rules for requests and answers; NewClient, the
// constructor to use, adds the dialer's, the TLS roots and the proxy.
func Wrap(base http.RoundTripper, p Policy) http.RoundTripper {
	return &roundTripper{base: base, c: p}
}

// TooLargeError says an answer was longer than the cap.
type TooLargeError struct {
	Peer  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("the answer from the %s is larger than %s", e.Peer, Size(e.Limit))
}

// TimeoutError says one request took longer than its own limit: not the
// caller's deadline, so a message can say which limit was hit, nor
// temporary, so the metadata package does not turn one silent server into
// six waits.
type TimeoutError struct {
	Peer  string
	Limit time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("the %s did not answer within %s", e.Peer, e.Limit)
}

// Timeout reports true, for callers that ask.
func (e *TimeoutError) Timeout() bool { return true }

// RefusedError says connections were refused For as long as they were
// retried, in Tries attempts. It does not wrap the system's error, so that
// nothing above retries it again.
type RefusedError struct {
	For   time.Duration
	Tries int
}

// Error is what the system would have said; For and Tries tell the rest.
func (e *RefusedError) Error() string { return "connection refused" }

type roundTripper struct {
	base http.RoundTripper
	c    Policy
}

func (t *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	req, err := checkCleartext(t.c, req)
	if err != nil {
		return nil, err
	}
	if t.c.Secrets {
		if req, err = registerRequest(req); err != nil {
			return nil, err
		}
	}
	req = readOnlyBodies(req)
	retry := t.c.RetryRefused > 0 && req.Body == nil
	start := time.Now()
	for try := 1; ; try++ {
		resp, err := t.once(req)
		if err == nil || !retry || !errors.Is(err, syscall.ECONNREFUSED) {
			return resp, err
		}
		// A GKE metadata server refuses connections for a few seconds
		// after the pod starts; a server that is not there at all would
		// time out instead. So a refusal is worth waiting for, briefly.
		wait := min(100*time.Millisecond<<(try-1), time.Second)
		refused := &RefusedError{For: time.Since(start).Round(time.Millisecond), Tries: try}
		// Every try so far was refused: if the next would come after the
		// caller's deadline, that refusal is the answer, not the deadline,
		// however short --timeout is.
		deadline, ok := req.Context().Deadline()
		if time.Since(start)+wait > t.c.RetryRefused || ok && time.Until(deadline) < wait {
			return nil, refused
		}
		t.c.Trace.Printf("%s: connection refused; trying again in %s", t.c.Peer, wait)
		select {
		case <-time.After(wait):
		case <-req.Context().Done():
			if errors.Is(req.Context().Err(), context.DeadlineExceeded) {
				return nil, refused
			}
			return nil, err
		}
	}
}

// once sends req with the per-request limit, and caps its answer.
func (t *roundTripper) once(req *http.Request) (*http.Response, error) {
	parent := req.Context()
	cancel := context.CancelFunc(func() {})
	if t.c.PerRequest > 0 {
		var ctx context.Context
		ctx, cancel = context.WithTimeoutCause(parent, t.c.PerRequest, &TimeoutError{Peer: t.c.Peer, Limit: t.c.PerRequest})
		req = req.WithContext(ctx)
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		cancel()
		err = t.limitHit(parent, req.Context(), err)
		t.c.Trace.Printf("%s: %s failed after %s: %v", t.c.Peer, describe(req), Duration(time.Since(start)), err)
		return nil, err
	}
	t.c.Trace.Printf("%s: %s: HTTP %d%s after %s", t.c.Peer, describe(req), resp.StatusCode, contentInfo(resp), Duration(time.Since(start)))
	resp.Body = &body{rc: resp.Body, left: cmp.Or(t.c.MaxBody, math.MaxInt64-1), t: t, parent: parent, ctx: req.Context(), cancel: cancel}
	if t.c.Secrets {
		registerAnswer(req, resp)
	}
	return resp, nil
}

// limitHit returns the per-request TimeoutError when that limit, and not
// the caller's deadline, ended the request; otherwise err.
func (t *roundTripper) limitHit(parent, ctx context.Context, err error) error {
	if te, ok := errors.AsType[*TimeoutError](context.Cause(ctx)); ok && parent.Err() == nil {
		return te
	}
	return err
}

// body caps what is read and reports the per-request limit as such.
type body struct {
	rc     io.ReadCloser
	left   int64 // bytes still allowed (no cap: one never reached); below zero once the cap was hit
	t      *roundTripper
	parent context.Context
	ctx    context.Context
	cancel context.CancelFunc
}

func (b *body) Read(p []byte) (int, error) {
	max := b.t.c.MaxBody
	if b.left < 0 {
		return 0, &TooLargeError{Peer: b.t.c.Peer, Limit: max}
	}
	// Ask for one byte more than allowed, to tell a body of exactly the
	// cap from a longer one.
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) > b.left {
		n, b.left = int(b.left), -1
		b.t.c.Trace.Printf("%s: the answer is larger than %s; reading stopped", b.t.c.Peer, Size(max))
		return n, &TooLargeError{Peer: b.t.c.Peer, Limit: max}
	}
	b.left -= int64(n)
	return n, b.mapErr(err)
}

func (b *body) mapErr(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return b.t.limitHit(b.parent, b.ctx, err)
}

func (b *body) Close() error {
	err := b.rc.Close()
	b.cancel()
	return err
}

// describe is the method and URL of req without its query, which may carry
// parameters, and without user information.
func describe(req *http.Request) string {
	u := *req.URL
	u.RawQuery, u.ForceQuery, u.Fragment, u.User = "", false, "", nil
	s := req.Method + " " + u.String()
	// The AWS SDK counts its attempts in this header.
	if a := req.Header.Get("Amz-Sdk-Request"); a != "" {
		s += " (" + a + ")"
	}
	return s
}

func contentInfo(resp *http.Response) string {
	s := ""
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		s += ", " + ct
	}
	if resp.ContentLength >= 0 {
		s += ", " + Size(resp.ContentLength)
	}
	return s
}

// Size writes a byte count for people.
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Duration rounds d for a trace or a message: milliseconds, or tenths of
// them below ten.
func Duration(d time.Duration) time.Duration {
	if d >= 10*time.Millisecond {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Microsecond)
}
