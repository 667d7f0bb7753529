package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fail"
	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
)

// Fetch gets fresh credentials: one Google token and one STS exchange.
// cred.Flow's Credentials method is one. It must honour ctx.
type Fetch func(ctx context.Context) (awscred.Credentials, error)

// RefresherOptions configure a Refresher. Only Fetch is required.
type RefresherOptions struct {
	// Fetch gets fresh credentials.
	Fetch Fetch
	// Timeout bounds each exchange, retries inside it included, and the
	// throttled retries of the first one (--timeout). Zero means 30s.
	Timeout time.Duration
	// Clock is the time source; nil means the real one.
	Clock Clock
	// Rand draws the refresh times and backoff delays; nil means a
	// generator seeded by the runtime, different in every process.
	Rand Rand
	// Log receives the log; nil discards it.
	Log io.Writer
	// LogFormat is LogPlain (the default) or LogJSON.
	LogFormat string
	// Quiet logs failures only.
	Quiet bool
	// Role is the role ARN, for log lines.
	Role string
}

// Refresher holds one set of credentials in memory and replaces it in the
// background before it expires, never making more than one STS call at a
// time. Requests read the current credentials without waiting; they wait
// only when there are none that may be served, and then for the refresh
// already running, never one of their own.
type Refresher struct {
	fetch   Fetch
	timeout time.Duration
	clock   Clock
	rand    Rand
	log     *logger
	role    string

	ctx    context.Context // cancelled by Close, aborting a running fetch
	cancel context.CancelFunc

	mu       sync.Mutex
	cur      *held
	inflight chan struct{} // non-nil while a fetch runs; closed when it ends
	timer    Timer
	next     time.Time // when timer fires
	failures int       // consecutive failed refreshes
	lastErr  error
	logged   string // the failure last logged, so a repeat is not
	empty    bool   // logged that nothing can be served
	closed   bool
	started  time.Time // when the last refresh began, for minRefreshGap

	calls, refreshes, failed atomic.Int64
}

// held is one set of credentials with its schedule and its response body,
// encoded once per refresh rather than once per request.
type held struct {
	creds awscred.Credentials
	plan  plan
	body  []byte
}

// Stats count a refresher's work since it was made.
type Stats struct {
	// Calls is how many times Fetch was called: the STS calls made, not
	// counting the SDK's own retries inside one.
	Calls int64
	// Refreshes is how many calls returned usable credentials, the first
	// exchange included.
	Refreshes int64
	// Failures is how many calls failed.
	Failures int64
}

// NewRefresher returns a refresher with no credentials; Start fetches the
// first.
func NewRefresher(o RefresherOptions) *Refresher {
	r := &Refresher{fetch: o.Fetch, timeout: o.Timeout, clock: o.Clock, rand: o.Rand, role: o.Role}
	if r.timeout <= 0 {
		r.timeout = 30 * time.Second
	}
	if r.clock == nil {
		r.clock = realClock{}
	}
	if r.rand == nil {
		r.rand = globalRand{}
	}
	r.log = newLogger(o.Log, o.LogFormat, o.Quiet, r.clock.Now)
	r.ctx, r.cancel = context.WithCancel(context.Background())
	return r
}

// Start makes the first exchange and schedules the refreshes. When STS
// throttles it, the exchange is retried with full jitter (so that a fleet
// started at once does not retry at once) for as long as Timeout allows;
// any other failure is returned at once, as the credential process would
// report it.
func (r *Refresher) Start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	// The deadline by the injected clock, which the retries are timed on.
	deadline := r.clock.Now().Add(r.timeout)
	var throttled error
	for attempt := 1; ; attempt++ {
		r.calls.Add(1)
		r.mu.Lock()
		r.started = r.clock.Now()
		r.mu.Unlock()
		creds, err := r.fetch(ctx)
		now := r.clock.Now()
		if err == nil {
			err = check(creds, now)
		}
		if err == nil {
			r.mu.Lock()
			r.store(creds, now)
			r.mu.Unlock()
			return nil
		}
		r.failed.Add(1)
		if !errors.Is(err, sts.ErrThrottled) {
			if throttled != nil && ctx.Err() != nil {
				// The deadline ran out during a retry: what stopped the
				// start was the throttling, and its status says so.
				return throttled
			}
			return err
		}
		throttled = err
		// Full jitter from 1s doubling to 10s: a whole deployment retries
		// spread over the window instead of in step.
		d := jitter(time.Second, 10*time.Second, attempt, r.rand)
		if r.clock.Now().Add(d).After(deadline) {
			return err
		}
		r.log.emit(entry{Level: levelWarn, Event: "throttled", Code: codeOf(err),
			Msg: fmt.Sprintf("STS throttled the first exchange (%s); retrying in %s", codeOf(err), round(d))})
		if sleep(ctx, r.clock, d) != nil {
			return err
		}
	}
}

// check refuses credentials that must not be served whatever the
// schedule: incomplete, not UTF-8 (a JSON encoder would alter them), or
// already expired by this machine's clock.
func check(c awscred.Credentials, now time.Time) error {
	if c.AccessKeyID == "" || c.SecretAccessKey.Reveal() == "" || c.SessionToken.Reveal() == "" || c.Expiration.IsZero() {
		return fail.Errorf(nil, "STS returned incomplete credentials").
			Hint("check --sts-endpoint, AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL: the endpoint may not be AWS STS")
	}
	for _, s := range []string{c.AccessKeyID, c.SecretAccessKey.Reveal(), c.SessionToken.Reveal(), c.AccountID} {
		if !utf8.ValidString(s) {
			return fail.Errorf(nil, "STS returned credentials that are not valid UTF-8").
				Hint("check --sts-endpoint, AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL: the endpoint may not be AWS STS")
		}
	}
	if !c.Expiration.After(now) {
		return fail.Errorf(nil, "STS returned credentials that expired at %s, which is already past by this machine's clock (%s)",
			c.Expiration.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)).
			Hint("this machine's clock is probably wrong: check its time sync (chronyc tracking, timedatectl)")
	}
	return nil
}

// store makes c the current credentials and schedules their refresh.
// Called with mu held.
func (r *Refresher) store(c awscred.Credentials, now time.Time) {
	p := newPlan(now, c.Expiration)
	body, _ := json.Marshal(document{
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey.Reveal(),
		Token:           c.SessionToken.Reveal(),
		Expiration:      c.Expiration.UTC().Format(time.RFC3339),
		AccountID:       c.AccountID,
	})
	r.cur = &held{creds: c, plan: p, body: body}
	r.refreshes.Add(1)
	r.schedule(p.refreshAt(r.rand).Sub(now))
}

// document is the container credentials provider's response: Token, not
// SessionToken (botocore's ContainerProvider reads response['Token'], the
// Go SDK's endpointcreds client decodes a Token field), and Expiration,
// without which every SDK takes the keys as static and never asks again.
// AccountId is read by recent botocore, Go and JS SDKs.
type document struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
	AccountID       string `json:"AccountId,omitempty"`
}

// minRefreshGap is the least time between the starts of two refreshes.
// Credentials that live a fraction of a second by this machine's clock (a
// broken or hostile STS, or a clock an hour fast) would otherwise have
// serve call STS and the metadata server many times a second, for good.
const minRefreshGap = time.Second

// schedule sets the one refresh timer, no sooner than minRefreshGap after
// the last refresh began. Called with mu held.
func (r *Refresher) schedule(d time.Duration) {
	if r.timer != nil {
		r.timer.Stop()
	}
	if r.closed {
		return
	}
	d = max(d, r.started.Add(minRefreshGap).Sub(r.clock.Now()), 10*time.Millisecond)
	r.next = r.clock.Now().Add(d)
	r.timer = r.clock.AfterFunc(d, r.refresh)
}

// refresh runs one background refresh unless one is running already.
func (r *Refresher) refresh() {
	r.mu.Lock()
	done := r.begin()
	r.mu.Unlock()
	if done != nil {
		r.run(done)
	}
}

// begin marks a refresh as running and returns its done channel, or nil if
// one is running or the refresher is closed. Called with mu held.
func (r *Refresher) begin() chan struct{} {
	if r.inflight != nil || r.closed {
		return nil
	}
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	r.inflight = make(chan struct{})
	r.started = r.clock.Now()
	return r.inflight
}

// run makes the STS call and records its outcome.
func (r *Refresher) run(done chan struct{}) {
	ctx, cancel := context.WithTimeout(r.ctx, r.timeout)
	r.calls.Add(1)
	creds, err := r.fetch(ctx)
	cancel()
	now := r.clock.Now()
	if err == nil {
		err = check(creds, now)
	}

	r.mu.Lock()
	var emit func()
	switch {
	case r.closed:
		// Shutdown cancelled the call: nothing to record or report.
		emit = func() {}
		if err == nil {
			r.store(creds, now)
		}
	case err == nil:
		after := r.failures
		r.failures, r.lastErr, r.logged, r.empty = 0, nil, "", false
		r.store(creds, now)
		msg := fmt.Sprintf("refreshed the credentials; they expire at %s, next refresh at %s",
			stamp(creds.Expiration), stamp(r.next))
		if after > 0 {
			msg = fmt.Sprintf("refreshed the credentials after %d failed %s; they expire at %s, next refresh at %s",
				after, plural(after, "attempt"), stamp(creds.Expiration), stamp(r.next))
		}
		e := entry{Level: levelInfo, Event: "refreshed", Msg: msg}
		if after > 0 {
			e.Level = levelWarn // recovery is news to whoever saw the failures
		}
		emit = func() { r.log.emit(e) }
	default:
		r.failed.Add(1)
		r.failures++
		r.lastErr = err
		emit = r.failure(err, now)
	}
	r.inflight = nil
	close(done)
	r.mu.Unlock()
	emit()
}

// failure schedules the retry after a failed refresh and returns what to
// log: each distinct failure once, with its hints (a throttle on one line
// with the STS code), and the moment nothing is left to serve. Called
// with mu held.
func (r *Refresher) failure(err error, now time.Time) func() {
	var p plan
	if r.cur != nil {
		p = r.cur.plan
	} else {
		// No credentials yet: back off as for the default lifetime.
		p = newPlan(now, now.Add(time.Hour))
	}
	d := p.retryDelay(r.failures, r.rand)
	r.schedule(d)
	servable := r.cur != nil && r.cur.plan.servable(now)

	var state string
	switch {
	case servable:
		until := r.cur.plan.expires.Add(-r.cur.plan.floor)
		state = fmt.Sprintf("retrying in %s; serving the current credentials until %s", round(d), stamp(until))
	case r.empty:
		state = fmt.Sprintf("retrying in %s", round(d))
	default:
		state = fmt.Sprintf("retrying in %s; no credentials left to serve: requests get 503 until a refresh succeeds", round(d))
	}
	newEmpty := !servable && !r.empty
	r.empty = r.empty || !servable
	msg, hints := err.Error(), fail.Hints(err)
	repeat := msg == r.logged
	r.logged = msg
	e := entry{Level: levelError, Event: "refresh_failed", Code: codeOf(err)}
	switch {
	case repeat && newEmpty:
		e.Event, e.Msg = "unavailable", fmt.Sprintf("the refresh still fails as logged before (attempt %d); %s", r.failures, state)
	case repeat:
		return func() {}
	case errors.Is(err, sts.ErrThrottled):
		e.Level, e.Event, e.Msg = levelWarn, "throttled", fmt.Sprintf("STS throttled the refresh (%s); %s", codeOf(err), state)
	default:
		e.Msg, e.Hints = fmt.Sprintf("cannot refresh the credentials (%s): %s", state, msg), hints
	}
	return func() { r.log.emit(e) }
}

// Credentials returns credentials that may be served: the current ones
// while they have more than the floor left; otherwise the outcome of the
// refresh in flight; otherwise an error saying why there are none.
func (r *Refresher) Credentials(ctx context.Context) (awscred.Credentials, error) {
	c, _, err := r.current(ctx)
	return c, err
}

// current is Credentials with the pre-encoded response body.
func (r *Refresher) current(ctx context.Context) (awscred.Credentials, []byte, error) {
	for {
		r.mu.Lock()
		now := r.clock.Now()
		if r.cur != nil && r.cur.plan.servable(now) {
			h := r.cur
			r.mu.Unlock()
			return h.creds, h.body, nil
		}
		if r.closed && r.inflight == nil {
			r.mu.Unlock()
			return awscred.Credentials{}, nil, errShutdown
		}
		if r.inflight == nil && r.failures == 0 && r.cur != nil && !now.Before(r.started.Add(minRefreshGap)) {
			// The timer should have fired already. Timers run on the
			// monotonic clock, which stands still while the machine is
			// suspended; the wall clock, which expiry follows, does not.
			if done := r.begin(); done != nil {
				go r.run(done)
			}
		}
		wait, last := r.inflight, r.lastErr
		r.mu.Unlock()
		if wait == nil {
			if last == nil {
				last = errors.New("no credentials yet")
			}
			return awscred.Credentials{}, nil, &unavailableError{err: last}
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return awscred.Credentials{}, nil, ctx.Err()
		}
	}
}

// unavailableError is why a request got no credentials: the last refresh's
// error, keeping its hints.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string {
	return "no valid credentials: " + e.err.Error()
}

func (e *unavailableError) Unwrap() error { return e.err }

// Healthy reports whether credentials may be served now.
func (r *Refresher) Healthy() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur != nil && r.cur.plan.servable(r.clock.Now())
}

// NextRefresh is when the next refresh or retry is due; zero when none is
// scheduled (before Start, while one runs, after Close).
func (r *Refresher) NextRefresh() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.timer == nil {
		return time.Time{}
	}
	return r.next
}

// Current returns the credentials held, servable or not, and whether there
// are any, for tests and the simulation.
func (r *Refresher) Current() (awscred.Credentials, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur == nil {
		return awscred.Credentials{}, false
	}
	return r.cur.creds, true
}

// Stats returns the counts so far.
func (r *Refresher) Stats() Stats {
	return Stats{Calls: r.calls.Load(), Refreshes: r.refreshes.Load(), Failures: r.failed.Load()}
}

// Close stops the refreshes and aborts one in flight. The credentials held
// are still served until they reach the floor, so requests in flight
// during a graceful shutdown complete.
func (r *Refresher) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	r.cancel()
}

// codeOf is the STS error code in err, for log lines.
func codeOf(err error) string {
	return sts.ErrorCode(err)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// round shortens a delay for a log line: 12.345678s reads as 12.3s.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
