package transport

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync/atomic"
)

// Answer is what one request of a call ended with when it failed: the
// status and the start of the body of an error answer, or the transport's
// error when no answer came. Libraries such as x/oauth2 wrap errors with
// %v, which loses their types, and hide some answers in error strings; the
// Recorder keeps them where they still have their types.
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
// of its failures. Requests without a deadline of their own get ctx's:
// some of x/oauth2's sources send requests without a context. Each call
// gets a Recorder of its own, so concurrent calls never see each other's
// failures.
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
