package transport

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync/atomic"
)

// Answer is how one request of a call failed: the status and the start of
// an error answer's body, or the transport's error when no answer came.
// x/oauth2 wraps errors with %v, losing their types, and hides some answers
// in error strings; the Recorder keeps them typed.
type Answer struct {
	// URL is the request's, as shown in messages: scheme, host and path.
	URL    string
	Status int
	Body   []byte
	// Err is the transport's error when no answer came.
	Err error
}

// MaxErrorBody is how much of an error answer is kept for its message.
const MaxErrorBody = 8 << 10

// Recorder keeps the last failure of one call.
type Recorder struct {
	base http.RoundTripper
	ctx  context.Context
	last atomic.Pointer[Answer]
}

// ForCall returns a client for one call made through c, and the Recorder
// of its failures, so concurrent calls never see each other's. Requests
// without a context get ctx: some of x/oauth2's sources send them.
func ForCall(ctx context.Context, c *http.Client) (*http.Client, *Recorder) {
	rec := &Recorder{base: c.Transport, ctx: ctx}
	return &http.Client{Transport: rec, CheckRedirect: c.CheckRedirect}, rec
}

// Last is the last failure, or nil.
func (r *Recorder) Last() *Answer { return r.last.Load() }

// RoundTrip sends req through the call's client and keeps its failure.
func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Context().Done() == nil {
		req = req.WithContext(r.ctx)
	}
	shown := req.URL.Scheme + "://" + req.URL.Host + req.URL.Path
	resp, err := r.base.RoundTrip(req)
	if err != nil {
		r.last.Store(&Answer{URL: shown, Err: err})
		return nil, err
	}
	if resp.StatusCode < 400 {
		return resp, nil
	}
	b, rerr := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))
	resp.Body.Close()
	if rerr != nil {
		r.last.Store(&Answer{URL: shown, Err: rerr})
		return nil, rerr
	}
	r.last.Store(&Answer{URL: shown, Status: resp.StatusCode, Body: b})
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}
