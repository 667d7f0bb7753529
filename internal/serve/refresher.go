package serve

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
)

// Fetch gets fresh credentials: one Google token and one STS exchange.
// cred.Flow's Credentials method is one. It must honour ctx.
type Fetch func(ctx context.Context) (awscred.Credentials, error)

// Refresher holds one set of credentials in memory and replaces it in the
// background before it expires, never making more than one STS call at a
// time. Requests read the current credentials without waiting; they wait
// only when there are none that may be served, and then for the refresh
// already running, never one of their own.
type Refresher struct {
	fetch   Fetch
	timeout time.Duration
	rand    Rand
	log     *slog.Logger
	role    string

	ctx    context.Context // cancelled by Close, aborting a running fetch
	cancel context.CancelFunc

	mu       sync.Mutex
	cur      *held
	inflight chan struct{} // non-nil while a fetch runs; closed when it ends
	timer    *time.Timer
	next     time.Time // when timer fires
	failures int       // consecutive failed refreshes
	lastErr  error
	logged   string // failureKey of the failure last logged: a repeat is not
	empty    bool   // logged that nothing can be served
	closed   bool
	started  time.Time     // when the last refresh began, for gap
	gap      time.Duration // least time between two refreshes' starts
	short    time.Time     // since when STS has issued too short lifetimes

	outcomes outcomes // exchanges by result, for the metrics
}

// held is one set of credentials with its schedule and its response body,
// encoded once per refresh rather than once per request.
type held struct {
	creds awscred.Credentials
	plan  plan
	body  []byte
}

// NewRefresher returns a refresher with no credentials; Start fetches the
// first. It takes Fetch, Timeout, Rand, Role and the log from cfg.
func NewRefresher(cfg Config) *Refresher {
	r := &Refresher{fetch: cfg.Fetch, timeout: clampTimeout(cfg.Timeout), rand: cfg.Rand, role: cfg.Role, log: cmp.Or(cfg.Logger, discard), gap: minRefreshGap}
	if r.rand == nil {
		r.rand = globalRand{}
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	return r
}

// Start makes the first exchange and schedules the refreshes. When STS
// throttles it, the exchange is retried for as long as Timeout allows;
// any other failure is returned at once, as the credential process would
// report it.
func (r *Refresher) Start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	var throttled error
	for attempt := 1; ; attempt++ {
		r.mu.Lock()
		r.started = time.Now()
		r.mu.Unlock()
		creds, now, err := r.exchange(ctx)
		if err == nil {
			r.mu.Lock()
			emit := r.store(creds, now)
			r.mu.Unlock()
			emit()
			return nil
		}
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
		d := transport.Backoff(time.Second, 10*time.Second, attempt, r.rand.Float64())
		if time.Now().Add(d).After(deadline) {
			return err
		}
		r.log.Warn(fmt.Sprintf("STS throttled the first exchange (%s); retrying in %s", sts.ErrorCode(err), round(d)),
			keyEvent, "throttled", keyRole, r.role, keyCode, sts.ErrorCode(err), keyRequestID, requestID(err))
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return err
		}
	}
}

// hangMargin is how long past its deadline a fetch may run before it
// counts as failed: a fetch that ignores its context (a FIFO or a file on a
// hung network mount as credential source, an executable whose child holds
// its output open) would otherwise keep its refresh in flight for good,
// with no log line, no retry, and every request waiting on it.
const hangMargin = 2 * time.Second

// exchange runs fetch under ctx, checks what it returned and counts the
// outcome for the metrics. A fetch still running hangMargin past ctx's
// deadline fails the exchange and is left to end on its own: its goroutine
// cannot be stopped from here, and its late result is dropped.
func (r *Refresher) exchange(ctx context.Context) (awscred.Credentials, time.Time, error) {
	type result struct {
		creds awscred.Credentials
		err   error
	}
	done := make(chan result, 1) // buffered: a late fetch must not block
	go func() {
		c, err := r.fetch(ctx)
		done <- result{c, err}
	}()
	deadline, _ := ctx.Deadline() // Start and run always set one
	t := time.NewTimer(time.Until(deadline) + hangMargin)
	defer t.Stop()
	var res result
	select {
	case res = <-done:
		res.err = explain.PerExchange(res.err, r.timeout)
	case <-t.C:
		res.err = explain.Errorf(nil,
			"the exchange has not ended within its deadline (%s) and %s more; it is left to end on its own", r.timeout, hangMargin).
			Hint("a credential source that never answers holds it: a FIFO or a file on a hung network mount as credential_source.file, or an executable that does not exit; once the source answers again, the next retry succeeds")
	}
	now := time.Now()
	if res.err == nil {
		res.err = check(res.creds, now)
	}
	r.outcomes.note(res.err)
	return res.creds, now, res.err
}

// check refuses credentials that must not be served whatever the
// schedule: incomplete, not UTF-8 (a JSON encoder would alter them), or
// already expired, by STS's own clock when its answer had a Date, else by
// this machine's.
func check(c awscred.Credentials, now time.Time) error {
	const notSTS = "check --sts-endpoint, AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL: the endpoint may not be AWS STS"
	if c.AccessKeyID == "" || c.SecretAccessKey.Reveal() == "" || c.SessionToken.Reveal() == "" || c.Expiration.IsZero() {
		return explain.Errorf(nil, "STS returned incomplete credentials").Hint(notSTS)
	}
	for _, s := range []string{c.AccessKeyID, c.SecretAccessKey.Reveal(), c.SessionToken.Reveal(), c.AccountID} {
		if !utf8.ValidString(s) {
			return explain.Errorf(nil, "STS returned credentials that are not valid UTF-8").Hint(notSTS)
		}
	}
	if !c.Issued.IsZero() && c.Expiration.Sub(c.Issued)-time.Second <= 0 {
		return explain.Errorf(nil, "STS returned credentials that expired at %s, before the time of its own answer (%s)",
			stamp(c.Expiration), stamp(c.Issued)).Hint(notSTS)
	}
	if lifetime(c, now) <= 0 {
		return explain.Errorf(nil, "STS returned credentials that expired at %s, which is already past by this machine's clock (%s)",
			stamp(c.Expiration), stamp(now)).
			Hint("this machine's clock is probably wrong: check its time sync (chronyc tracking, timedatectl)")
	}
	return nil
}

// lifetime is how long c lives from now: its Expiration less the Date of
// STS's answer (both by STS's clock, so that a local clock behind cannot
// stretch it; less a second, as the Date has whole seconds), or the local
// reading when shorter: a Date behind this machine's clock is a local
// clock ahead or a wrong Date (a broken proxy, a day off), which cannot be
// told apart, and the shorter is safe in both. Without a Date the local
// clock is all there is.
func lifetime(c awscred.Credentials, now time.Time) time.Duration {
	local := c.Expiration.Sub(now)
	if c.Issued.IsZero() {
		return local
	}
	return min(c.Expiration.Sub(c.Issued)-time.Second, local)
}

// Credentials that live less than shortLife cannot be refreshed in time
// for any client: the SDKs want 5 to 15 minutes, and AWS STS never issues
// under 15. They are served while they last, but once STS has issued
// nothing longer for shortGrace, the least gap between refreshes doubles
// with every refresh, up to maxShortGap: a broken endpoint is not called
// every second for good.
const (
	shortLife   = 10 * time.Second
	shortGrace  = time.Minute
	maxShortGap = 5 * time.Minute
)

// store makes c the current credentials and schedules their refresh. It
// returns what to log about their lifetime, to be called once mu is
// released. Called with mu held.
func (r *Refresher) store(c awscred.Credentials, now time.Time) func() {
	life := lifetime(c, now)
	p := newPlan(now, life)
	emit := func() {}
	switch {
	case life >= shortLife:
		r.short, r.gap = time.Time{}, minRefreshGap
	case r.short.IsZero():
		r.short = now
		emit = func() {
			r.log.Warn(fmt.Sprintf("STS issued credentials that live %s, under the %s serve needs to refresh them in time (AWS STS issues 15 minutes at least): the endpoint may not be AWS STS; if it goes on for %s, refreshes back off up to %s",
				round(life), shortLife, shortGrace, maxShortGap),
				keyEvent, "short_lifetime", keyRole, r.role, keyExpiration, c.Expiration.UTC(), keyRequestID, c.RequestID)
		}
	case now.Sub(r.short) >= shortGrace:
		r.gap = min(2*r.gap, maxShortGap)
	}
	body, _ := json.Marshal(document{
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey.Reveal(),
		Token:           c.SessionToken.Reveal(),
		Expiration:      stamp(c.Expiration),
		AccountID:       c.AccountID,
	})
	r.cur = &held{creds: c, plan: p, body: body}
	r.schedule(p.refreshAt(r.rand).Sub(now))
	return emit
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

// schedule sets the one refresh timer, no sooner than r.gap after the last
// refresh began. Called with mu held and no timer set: by Start, or after
// begin, which stops the timer.
func (r *Refresher) schedule(d time.Duration) {
	if r.closed {
		return
	}
	now := time.Now()
	d = max(d, r.started.Add(r.gap).Sub(now), 10*time.Millisecond)
	r.next = now.Add(d)
	r.timer = time.AfterFunc(d, r.refresh)
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
	r.started = time.Now()
	return r.inflight
}

// run makes the STS call and records its outcome.
func (r *Refresher) run(done chan struct{}) {
	ctx, cancel := context.WithTimeout(r.ctx, r.timeout)
	creds, now, err := r.exchange(ctx)
	cancel()

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
		short := r.store(creds, now)
		what, level := "refreshed the credentials", slog.LevelInfo
		if after > 0 {
			what += fmt.Sprintf(" after %d failed %s", after, plural(after, "attempt"))
			level = slog.LevelWarn // recovery is news to whoever saw the failures
		}
		msg := fmt.Sprintf("%s; they expire at %s, next refresh at %s", what, stamp(creds.Expiration), stamp(r.next))
		next := r.next
		emit = func() {
			short()
			r.log.Log(context.Background(), level, msg, keyEvent, "refreshed", keyRole, r.role,
				keyExpiration, creds.Expiration.UTC(), keyNext, next.UTC(), keyRequestID, creds.RequestID)
		}
	default:
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
// with mu held, after Start stored the first credentials.
func (r *Refresher) failure(err error, now time.Time) func() {
	d := r.cur.plan.retryDelay(r.failures, r.rand)
	r.schedule(d)
	servable := r.cur.plan.servable(now)

	state := fmt.Sprintf("retrying in %s", round(d))
	switch {
	case servable:
		state += "; serving the current credentials until " + stamp(r.cur.creds.Expiration.Add(-r.cur.plan.floor))
	case !r.empty:
		state += "; no credentials left to serve: requests get 503 until a refresh succeeds"
	}
	newEmpty := !servable && !r.empty
	r.empty = r.empty || !servable
	key := failureKey(err)
	repeat := key == r.logged
	r.logged = key
	level, event, msg := slog.LevelError, "refresh_failed", ""
	var hints []string
	switch {
	case repeat && newEmpty:
		event, msg = "unavailable", fmt.Sprintf("the refresh still fails as logged before (attempt %d); %s", r.failures, state)
	case repeat:
		return func() {}
	case errors.Is(err, sts.ErrThrottled):
		level, event, msg = slog.LevelWarn, "throttled", fmt.Sprintf("STS throttled the refresh (%s); %s", sts.ErrorCode(err), state)
	default:
		msg, hints = fmt.Sprintf("cannot refresh the credentials (%s): %s", state, err.Error()), explain.Hints(err)
	}
	args := []any{keyEvent, event, keyRole, r.role, keyCode, sts.ErrorCode(err), keyRequestID, requestID(err), keyNext, r.next.UTC()}
	if len(hints) > 0 {
		args = append(args, keyHints, hints)
	}
	return func() { r.log.Log(context.Background(), level, msg, args...) }
}

// failureKey is what makes two failures the same for the log: STS's error
// code when it answered with one, whatever its message (which may carry a
// time or an echoed value); else the message with its digits masked, for
// the same reason.
func failureKey(err error) string {
	if c := sts.ErrorCode(err); c != "" {
		return "code:" + c
	}
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '#'
		}
		return r
	}, err.Error())
}

// current returns credentials that may be served and their response body:
// the current ones while they have more than the floor left; otherwise the
// outcome of the refresh in flight; otherwise an error saying why there
// are none, which keeps the hints of the last refresh's. Called once Start
// has stored the first credentials, as a Server does.
func (r *Refresher) current(ctx context.Context) (*held, error) {
	for {
		r.mu.Lock()
		now := time.Now()
		if r.cur.plan.servable(now) {
			h := r.cur
			r.mu.Unlock()
			return h, nil
		}
		if r.closed && r.inflight == nil {
			r.mu.Unlock()
			return nil, errShutdown
		}
		if r.inflight == nil && r.failures == 0 && !now.Before(r.started.Add(r.gap)) {
			// The timer should have fired already. Timers run on the
			// monotonic clock, which stands still while the machine is
			// suspended; the wall clock, which expiry follows, does not.
			go r.run(r.begin())
		}
		wait, last, gap := r.inflight, r.lastErr, r.gap
		r.mu.Unlock()
		if wait == nil {
			if last == nil {
				last = fmt.Errorf("the credentials held have too little time left, and refreshes are at least %s apart", gap)
			}
			return nil, fmt.Errorf("no valid credentials: %w", last)
		}
		// The refresh in flight ends within its timeout and hangMargin,
		// when exchange gives up on a fetch that does not honour its context.
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Healthy reports whether credentials may be served now.
func (r *Refresher) Healthy() bool {
	h := r.last()
	return h != nil && h.plan.servable(time.Now())
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

// last returns the credentials held, servable or not, or nil before the
// first exchange. A held value is never changed once stored.
func (r *Refresher) last() *held {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur
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

// requestID is the ID STS gave the request that failed with err, if it
// answered at all: what AWS support asks for.
func requestID(err error) string {
	if e, ok := errors.AsType[*sts.Error](err); ok {
		return e.RequestID
	}
	return ""
}

// maxTimeout bounds --timeout where it becomes a timer or a deadline: a
// day is far beyond any exchange, and far below what would overflow a
// time.Duration once added to now.
const maxTimeout = 24 * time.Hour

// clampTimeout is --timeout as serve uses it: 30s when unset, at most
// maxTimeout.
func clampTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		return 30 * time.Second
	}
	return min(d, maxTimeout)
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
