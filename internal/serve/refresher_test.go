package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
)

// startRefresher starts a refresher on a fake exchange; call it inside a
// synctest bubble, whose clock the refresher's timers then run on.
func startRefresher(t *testing.T, life time.Duration, o Config) (*Refresher, *fakeFetch) {
	t.Helper()
	f := newFakeFetch(life)
	o.Fetch = f.fetch
	if o.Rand == nil {
		o.Rand = seeded(1)
	}
	r := NewRefresher(o)
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r, f
}

// advance lets d pass in the bubble, then lets every goroutine a timer
// started on the way finish what it can.
func advance(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// bubble runs f in a synctest bubble; t0 is the bubble's start.
func bubble(t *testing.T, f func(t *testing.T, t0 time.Time)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) { f(t, time.Now()) })
}

// TestRefreshKeepsCredentialsFresh runs the scheduler through a day of
// fake time for lifetimes from STS's 12 hours down to the 40 seconds a
// fake can issue, checking what a client would get every few seconds.
func TestRefreshKeepsCredentialsFresh(t *testing.T) {
	for _, c := range []struct {
		life time.Duration
		// keep is what served credentials must have left: 15 minutes
		// when the lifetime allows, else half of it (less the second STS
		// truncates Expiration to).
		keep             time.Duration
		minCalls, maxCal int
	}{
		{12 * time.Hour, 15 * time.Minute, 3, 5},
		{time.Hour, 15 * time.Minute, 45, 52},
		{30 * time.Minute, 15*time.Minute - time.Second, 135, 155},
		{20 * time.Minute, 10*time.Minute - time.Second, 200, 235},
		{15 * time.Minute, 7*time.Minute + 29*time.Second, 270, 305},
		{40 * time.Second, 19 * time.Second, 0, 0},
	} {
		t.Run(c.life.String(), func(t *testing.T) {
			bubble(t, func(t *testing.T, t0 time.Time) {
				r, f := startRefresher(t, c.life, Config{})
				horizon, step := 24*time.Hour, c.life/97
				if c.life < time.Minute {
					horizon = 50 * c.life
				}
				for time.Now().Before(t0.Add(horizon)) {
					advance(step)
					cr, err := r.Credentials(context.Background())
					if err != nil {
						t.Fatalf("at %s: %v", time.Since(t0), err)
					}
					if left := time.Until(cr.Expiration); left <= c.keep {
						t.Fatalf("at %s: served credentials with %s left, want more than %s", time.Since(t0), left, c.keep)
					}
				}
				if n := f.count(); c.maxCal > 0 && (n < c.minCalls || n > c.maxCal) {
					t.Errorf("%d STS calls in a day, want %d to %d", n, c.minCalls, c.maxCal)
				}
				if s := r.Stats(); s.Calls != int64(f.count()) || s.Refreshes != s.Calls || s.Failures != 0 {
					t.Errorf("stats %+v, fetch called %d times", s, f.count())
				}
			})
		})
	}
}

// TestSchedulersStartedTogetherDrift starts two servers in the same
// instant, with the default random source, as a rollout does.
func TestSchedulersStartedTogetherDrift(t *testing.T) {
	bubble(t, func(t *testing.T, t0 time.Time) {
		var rs []*Refresher
		var fs []*fakeFetch
		for range 2 {
			f := newFakeFetch(time.Hour)
			r := NewRefresher(Config{Fetch: f.fetch}) // Rand: the default
			if err := r.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			rs, fs = append(rs, r), append(fs, f)
		}
		exp := t0.Add(time.Hour)
		a, b := rs[0].NextRefresh(), rs[1].NextRefresh()
		if a.Equal(b) {
			t.Fatalf("both refresh at %s", a)
		}
		for _, next := range []time.Time{a, b} {
			if from, to := newPlan(t0, time.Hour).window(); next.Before(from) || next.After(to) {
				t.Errorf("refresh at %s, outside the window %s–%s", next.Sub(t0), from.Sub(t0), to.Sub(t0))
			}
			if deadline := exp.Add(-clientRefresh); !next.Before(deadline) {
				t.Errorf("refresh at %s, not before the deadline %s", next.Sub(t0), deadline.Sub(t0))
			}
		}
		advance(40 * time.Minute)
		ta, tb := fs[0].times(), fs[1].times()
		if len(ta) != 2 || len(tb) != 2 || !ta[1].Equal(a) || !tb[1].Equal(b) {
			t.Fatalf("STS calls at %v and %v, want refreshes at %s and %s", ta, tb, a, b)
		}
	})
}

// TestThrottledStartRetriesWithJitter: a fleet started at once gets
// throttled; each server retries after its own random delay, within
// --timeout, and then succeeds.
func TestThrottledStartRetriesWithJitter(t *testing.T) {
	gaps := map[uint64][]time.Duration{}
	for _, seed := range []uint64{1, 2} {
		synctest.Test(t, func(t *testing.T) {
			f := newFakeFetch(time.Hour)
			f.fail(throttled(t), throttled(t))
			log := &syncBuffer{}
			r := NewRefresher(Config{Fetch: f.fetch, Rand: seeded(seed), Timeout: 30 * time.Second, Logger: NewLogger(log, LogPlain, false)})
			defer r.Close()
			if err := r.Start(context.Background()); err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			calls := f.times()
			if len(calls) != 3 {
				t.Fatalf("seed %d: %d calls, want 2 throttled and 1 good", seed, len(calls))
			}
			for i, ceil := range []time.Duration{time.Second, 2 * time.Second} {
				g := calls[i+1].Sub(calls[i])
				if g <= 0 || g > ceil {
					t.Errorf("seed %d: retry %d after %s, want within full jitter up to %s", seed, i+1, g, ceil)
				}
				gaps[seed] = append(gaps[seed], g)
			}
			if _, ok := r.Current(); !ok {
				t.Error("no credentials after the retries")
			}
			if n := strings.Count(log.String(), "warning: STS throttled the first exchange (Throttling); retrying in "); n != 2 {
				t.Errorf("seed %d: %d throttle lines, want 2:\n%s", seed, n, log)
			}
		})
	}
	if gaps[1][0] == gaps[2][0] && gaps[1][1] == gaps[2][1] {
		t.Errorf("two servers retried after the same delays %v: no jitter", gaps[1])
	}
}

func TestThrottledStartGivesUpAtTimeout(t *testing.T) {
	bubble(t, func(t *testing.T, t0 time.Time) {
		f := newFakeFetch(time.Hour)
		f.failAlways(throttled(t))
		r := NewRefresher(Config{Fetch: f.fetch, Rand: fixed(0.999999), Timeout: 5 * time.Second})
		defer r.Close()
		err := r.Start(context.Background())
		if !errors.Is(err, sts.ErrThrottled) {
			t.Fatalf("Start: %v, want the throttling error", err)
		}
		// Delays of just under 1s, 2s, 4s: the fourth would pass the 5s.
		if n := f.count(); n != 3 {
			t.Errorf("%d calls, want 3", n)
		}
		if elapsed := time.Since(t0); elapsed > 5*time.Second {
			t.Errorf("gave up after %s, past --timeout", elapsed)
		}
	})
}

// TestThrottledStartDeadlineDuringRetry: when --timeout runs out in the
// middle of a retry, the error is still the throttling, so the exit
// status tells fleet tooling to slow down.
func TestThrottledStartDeadlineDuringRetry(t *testing.T) {
	bubble(t, func(t *testing.T, t0 time.Time) {
		f := newFakeFetch(time.Hour)
		f.fail(throttled(t))
		// The retry, the second call, hangs until the deadline.
		f.set(func(f *fakeFetch) { f.block, f.blockAt = make(chan struct{}), 2 })
		r := NewRefresher(Config{Fetch: f.fetch, Rand: fixed(0), Timeout: 300 * time.Millisecond})
		defer r.Close()
		if err := r.Start(context.Background()); !errors.Is(err, sts.ErrThrottled) {
			t.Fatalf("Start: %v, want the throttling error", err)
		}
		if f.count() != 2 {
			t.Errorf("%d calls, want the throttled one and the hung retry", f.count())
		}
	})
}

func TestStartFailsAtOnceUnlessThrottled(t *testing.T) {
	f := newFakeFetch(time.Hour)
	denied := stsError(t, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
	f.fail(denied)
	r := NewRefresher(Config{Fetch: f.fetch})
	defer r.Close()
	if err := r.Start(context.Background()); !errors.Is(err, sts.ErrAccessDenied) {
		t.Fatalf("Start: %v, want AccessDenied", err)
	}
	if f.count() != 1 {
		t.Errorf("%d calls, want 1", f.count())
	}
}

func TestStartRefusesExpiredCredentials(t *testing.T) {
	f := newFakeFetch(-time.Minute) // this machine's clock is ahead of STS's
	r := NewRefresher(Config{Fetch: f.fetch})
	defer r.Close()
	err := r.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "already past by this machine's clock") {
		t.Fatalf("Start: %v", err)
	}
	if h := explain.Hints(err); len(h) == 0 || !strings.Contains(h[0], "time sync") {
		t.Errorf("hints %q", h)
	}
}

// TestLastGoodThen503: while STS fails, the last credentials are served
// until they reach the floor, the failure is logged once with its hints,
// retries back off; then requests get the error, and a later success
// serves fresh credentials again.
func TestLastGoodThen503(t *testing.T) {
	bubble(t, func(t *testing.T, t0 time.Time) {
		log := &syncBuffer{}
		r, f := startRefresher(t, time.Hour, Config{Logger: NewLogger(log, LogPlain, false)})
		first, _ := r.Current()
		denied := stsError(t, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
		f.failAlways(explain.Errorf(denied, "%s", denied.Error()).Hint("the role's trust policy must trust the service account"))
		floor := first.Expiration.Add(-5 * time.Minute)
		var before int
		for time.Now().Before(first.Expiration) {
			advance(7 * time.Second)
			c, err := r.Credentials(context.Background())
			if time.Now().Before(floor) {
				if err != nil || c.AccessKeyID != first.AccessKeyID {
					t.Fatalf("at %s, before the floor: %v, %v", time.Since(t0), c, err)
				}
				if !r.Healthy() {
					t.Fatalf("at %s: unhealthy while serving", time.Since(t0))
				}
				before = f.count()
				continue
			}
			if err == nil || !strings.HasPrefix(err.Error(), "no valid credentials: ") || c != (awscred.Credentials{}) {
				t.Fatalf("at %s, past the floor: got %v, %v; want no credentials", time.Since(t0), c, err)
			}
			msg := errorText(err)
			if !strings.Contains(msg, "AccessDenied") || !strings.Contains(msg, "; hint: the role's trust policy must trust") {
				t.Fatalf("503 message %q lacks the error or its hint", msg)
			}
			if r.Healthy() {
				t.Fatal("healthy with nothing to serve")
			}
		}
		// Retries from the refresh time (22m30s to 37m30s in) to the floor
		// (55m in), backing off from 10s up to 2m.
		if retries := before - 1; retries < 6 || retries > 40 {
			t.Errorf("%d STS calls before the floor, want a backed-off handful", retries)
		}
		out := log.String()
		if n := strings.Count(out, "error: cannot refresh the credentials"); n != 1 {
			t.Errorf("failure logged %d times, want once:\n%s", n, out)
		}
		if !strings.Contains(out, "gcp-aws-cred: hint: the role's trust policy must trust") {
			t.Errorf("no hint in the log:\n%s", out)
		}
		if n := strings.Count(out, "no credentials left to serve: requests get 503"); n != 1 {
			t.Errorf("the end of serving logged %d times, want once:\n%s", n, out)
		}
		for _, s := range f.secrets() {
			if strings.Contains(out, s) {
				t.Fatal("the log holds a secret")
			}
		}

		f.failAlways(nil)
		failures := r.Stats().Failures
		advance(2 * time.Minute)
		c, err := r.Credentials(context.Background())
		if err != nil || c.AccessKeyID == first.AccessKeyID || !r.Healthy() {
			t.Fatalf("after STS recovered: %v, %v", c, err)
		}
		if !strings.Contains(log.String(), "refreshed the credentials after "+strconv.FormatInt(failures, 10)+" failed attempts") {
			t.Errorf("recovery not logged:\n%s", log.String()[len(out):])
		}
	})
}

// TestThrottledRefreshLogged: a throttled refresh is one warning line
// with the STS code, in both log formats.
func TestThrottledRefreshLogged(t *testing.T) {
	for _, format := range []string{LogPlain, LogJSON} {
		synctest.Test(t, func(t *testing.T) {
			log := &syncBuffer{}
			r, f := startRefresher(t, time.Hour, Config{Logger: NewLogger(log, format, false)})
			f.failAlways(throttled(t))
			advance(40 * time.Minute)
			if _, err := r.Credentials(context.Background()); err != nil {
				t.Fatalf("last good credentials not served while throttled: %v", err)
			}
			lines := strings.Split(strings.TrimSpace(log.String()), "\n")
			if len(lines) != 1 {
				t.Fatalf("%s: %d log lines, want 1:\n%s", format, len(lines), log)
			}
			want := "gcp-aws-cred: warning: STS throttled the refresh (Throttling); retrying in "
			if format == LogJSON {
				want = `"code":"Throttling"`
				if !strings.Contains(lines[0], `"event":"throttled"`) || !strings.Contains(lines[0], `"level":"warning"`) {
					t.Errorf("json line %s", lines[0])
				}
			}
			if !strings.Contains(lines[0], want) {
				t.Errorf("%s: log line %q, want %q", format, lines[0], want)
			}
			if f.count() < 3 {
				t.Errorf("%d calls: no retries", f.count())
			}
		})
	}
}

// TestRequestsDuringRefreshGetCurrent: while a refresh is in flight,
// requests are answered at once with the credentials held.
func TestRequestsDuringRefreshGetCurrent(t *testing.T) {
	bubble(t, func(t *testing.T, t0 time.Time) {
		r, f := startRefresher(t, time.Hour, Config{})
		first, _ := r.Current()
		release := make(chan struct{})
		f.mu.Lock()
		f.block, f.entered = release, make(chan struct{}, 1)
		f.mu.Unlock()
		<-f.entered // the refresh, which blocks
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				c, err := r.Credentials(context.Background())
				if err != nil || c.AccessKeyID != first.AccessKeyID {
					t.Errorf("during the refresh: %v, %v", c.AccessKeyID, err)
				}
			})
		}
		wg.Wait()
		close(release)
		synctest.Wait()
		if f.count() != 2 {
			t.Errorf("%d STS calls, want 2", f.count())
		}
	})
}

// TestSingleFlightWhenNoneValid: with nothing servable (the refresh has
// hung past the floor), 100 concurrent requests make no call of their own
// and all wait for the one refresh.
func TestSingleFlightWhenNoneValid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, f := startRefresher(t, time.Hour, Config{Timeout: 2 * time.Hour})
		first, _ := r.Current()
		release := make(chan struct{})
		f.mu.Lock()
		f.block = release
		f.mu.Unlock()
		advance(time.Until(first.Expiration.Add(-time.Minute)))
		var wg sync.WaitGroup
		got := make(chan string, 100)
		for range 100 {
			wg.Go(func() {
				c, err := r.Credentials(context.Background())
				if err != nil {
					t.Errorf("request: %v", err)
				}
				got <- c.AccessKeyID
			})
		}
		synctest.Wait() // every request is blocked: waiting on the one refresh
		if n := f.count(); n != 2 {
			t.Fatalf("%d STS calls with 100 requests waiting, want 1 after the first", n)
		}
		if len(got) != 0 {
			t.Fatal("a request was answered before the refresh ended")
		}
		close(release)
		wg.Wait()
		close(got)
		for id := range got {
			if id == first.AccessKeyID || id == "" {
				t.Fatalf("a request got %q, want the refreshed key", id)
			}
		}
		if n := f.count(); n != 2 {
			t.Errorf("%d STS calls, want 2", n)
		}
	})
}

// TestWaitersGetErrorWhenRetryFails: requests that wait on a failing
// retry get its error; they start no call of their own.
func TestWaitersGetErrorWhenRetryFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, f := startRefresher(t, time.Hour, Config{})
		first, _ := r.Current()
		f.failAlways(stsError(t, "IDPCommunicationError", "Couldn't retrieve verification key"))
		advance(time.Until(first.Expiration.Add(-4 * time.Minute))) // past the floor, retrying
		calls := f.count()
		release := make(chan struct{})
		f.mu.Lock()
		f.block, f.entered = release, make(chan struct{}, 1)
		f.mu.Unlock()
		var wg sync.WaitGroup
		errs := make(chan error, 10)
		<-f.entered // the next retry, which blocks
		synctest.Wait()
		for range 10 {
			wg.Go(func() {
				_, err := r.Credentials(context.Background())
				errs <- err
			})
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		synctest.Wait()
		close(errs)
		for err := range errs {
			if !strings.Contains(errorText(err), "IDPCommunicationError") {
				t.Errorf("waiter got %v", err)
			}
		}
		if n := f.count() - calls; n != 1 {
			t.Errorf("%d STS calls for 10 waiters, want the 1 retry", n)
		}
	})
}

func TestCloseStopsRefreshing(t *testing.T) {
	bubble(t, func(t *testing.T, t0 time.Time) {
		r, f := startRefresher(t, time.Hour, Config{})
		r.Close()
		advance(2 * time.Hour)
		if f.count() != 1 || !r.NextRefresh().IsZero() {
			t.Errorf("%d calls and a refresh due at %s after Close", f.count(), r.NextRefresh())
		}
		if _, err := r.Credentials(context.Background()); !errors.Is(err, errShutdown) {
			t.Errorf("after Close and expiry: %v", err)
		}
	})
}

// TestLogIsCleaned: whatever a failure's message holds, the log and the
// 503 show no secret and no raw control character, and no forged line.
func TestLogIsCleaned(t *testing.T) {
	for _, format := range []string{LogPlain, LogJSON} {
		synctest.Test(t, func(t *testing.T) {
			log := &syncBuffer{}
			r, f := startRefresher(t, time.Hour, Config{Logger: NewLogger(log, format, false)})
			issued, _ := r.Current()
			f.failAlways(explain.Errorf(nil, "STS said \x1b[2J%s\ngcp-aws-cred: hint: run rm -rf /", issued.SessionToken.Reveal()).
				Hint("see \x1b]8;;http://evil\x07here"))
			advance(56 * time.Minute)
			_, err := r.Credentials(context.Background())
			for where, text := range map[string]string{"log": log.String(), "503": errorText(err)} {
				if strings.Contains(text, issued.SessionToken.Reveal()) || strings.Contains(text, issued.SecretAccessKey.Reveal()) {
					t.Errorf("%s %s: holds a secret", format, where)
				}
				if strings.ContainsAny(text, "\x1b\x07") {
					t.Errorf("%s %s: raw control characters: %q", format, where, text)
				}
				if !strings.Contains(text, "[REDACTED]") {
					t.Errorf("%s %s: %q", format, where, text)
				}
			}
			if format == LogPlain && strings.Contains(log.String(), "\ngcp-aws-cred: hint: run rm") {
				t.Errorf("a forged hint line:\n%s", log)
			}
		})
	}
}

// TestRefreshesAtMostOncePerSecond has STS issue credentials that live one
// second, as a broken or hostile STS or a clock an hour fast would make
// them look: serve must not call STS more than once a second for them,
// whether its timer or a waiting request asks, and must still never hand
// out expired credentials.
func TestRefreshesAtMostOncePerSecond(t *testing.T) {
	bubble(t, func(t *testing.T, t0 time.Time) {
		r, f := startRefresher(t, 1200*time.Millisecond, Config{})
		for time.Now().Before(t0.Add(10 * time.Second)) {
			advance(50 * time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			cr, err := r.Credentials(ctx)
			cancel()
			if err == nil && !cr.Expiration.After(time.Now()) {
				t.Fatalf("at %s: served credentials that expired at %s", time.Since(t0), cr.Expiration.Sub(t0))
			}
		}
		times := f.times()
		for i := 1; i < len(times); i++ {
			if gap := times[i].Sub(times[i-1]); gap < minRefreshGap {
				t.Errorf("refresh %d began %s after the one before", i, gap)
			}
		}
		if n := len(times); n < 5 || n > 11 {
			t.Errorf("%d STS calls in 10 s, want one a second at most, and still some", n)
		}
	})
}

// TestIssuerClockGovernsLifetime: this machine's clock is 2 hours behind
// STS's (as after a wall clock stepped backwards). STS's Expiration then
// reads 3 hours away locally, but the credentials live 1 hour by STS's own
// Date: they leave service 55 minutes in, with /healthz red, never up to
// 1h55m past their real end as when Expiration was read on the local clock.
func TestIssuerClockGovernsLifetime(t *testing.T) {
	bubble(t, func(t *testing.T, t0 time.Time) {
		f := newFakeFetch(time.Hour)
		f.issuerAhead = 2 * time.Hour
		r := NewRefresher(Config{Fetch: f.fetch, Rand: seeded(1)})
		defer r.Close()
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		first, _ := r.Current()
		if left := time.Until(first.Expiration); left < 2*time.Hour {
			t.Fatalf("set-up: Expiration %s away by the local clock", left)
		}
		f.failAlways(stsError(t, "IDPCommunicationError", "Couldn't retrieve verification key"))
		advance(54 * time.Minute)
		if !r.Healthy() {
			t.Fatal("out of service before the floor")
		}
		advance(time.Minute + time.Second)
		if _, err := r.Credentials(context.Background()); err == nil || r.Healthy() {
			t.Fatalf("at %s, 1h credentials still served: %v", time.Since(t0), err)
		}
	})
}

// TestShortLifetimesBackOff: a broken STS issuing 3-second credentials is
// called about once a second for a minute, then less and less often, up to
// once every 5 minutes; it is logged once.
func TestShortLifetimesBackOff(t *testing.T) {
	bubble(t, func(t *testing.T, t0 time.Time) {
		log := &syncBuffer{}
		r, f := startRefresher(t, 3*time.Second, Config{Logger: NewLogger(log, LogPlain, true)})
		advance(30 * time.Minute)
		times := f.times()
		for i := 1; i < len(times); i++ {
			if gap := times[i].Sub(times[i-1]); gap < minRefreshGap || gap > maxShortGap+time.Second {
				t.Errorf("refresh %d began %s after the one before", i, gap)
			}
		}
		// About 60 in the first minute, then 1, 2, 4 … 256 s, then 300 s.
		if n := len(times); n < 55 || n > 80 {
			t.Errorf("%d STS calls in 30 minutes of 3-second credentials", n)
		}
		if last := times[len(times)-1].Sub(times[len(times)-2]); last != maxShortGap {
			t.Errorf("the last gap is %s, want the %s ceiling", last, maxShortGap)
		}
		if n := strings.Count(log.String(), "warning: STS issued credentials that live 3s"); n != 1 {
			t.Errorf("logged %d times, want once:\n%s", n, log)
		}
		if !r.Healthy() && r.Stats().Failures != 0 {
			t.Error("short credentials counted as failures")
		}
	})
}

// TestFailureLoggedOncePerCode: failures whose messages differ (a time, an
// echoed value) but whose STS code is the same are one failure for the log.
func TestFailureLoggedOncePerCode(t *testing.T) {
	bubble(t, func(t *testing.T, t0 time.Time) {
		log := &syncBuffer{}
		r, f := startRefresher(t, time.Hour, Config{Logger: NewLogger(log, LogPlain, false)})
		_ = r
		for i := range 20 {
			f.fail(stsError(t, "InvalidIdentityToken", fmt.Sprintf("Couldn't retrieve verification key at %d", i)))
		}
		advance(45 * time.Minute)
		if n := strings.Count(log.String(), "error: cannot refresh the credentials"); n != 1 {
			t.Errorf("logged %d times, want once:\n%s", n, log)
		}
	})
}

// TestLogFields: the JSON log carries the structured fields: event, role,
// expiration, next refresh, STS request ID and error code.
func TestLogFields(t *testing.T) {
	bubble(t, func(t *testing.T, t0 time.Time) {
		log := &syncBuffer{}
		r, f := startRefresher(t, time.Hour, Config{Logger: NewLogger(log, LogJSON, false), Role: testRole})
		_ = r
		advance(40 * time.Minute) // a refresh
		f.failAlways(stsError(t, "AccessDenied", "Not authorized"))
		advance(40 * time.Minute) // a failure
		lines := strings.Split(strings.TrimSpace(log.String()), "\n")
		if len(lines) != 2 {
			t.Fatalf("%d lines:\n%s", len(lines), log)
		}
		var ok, bad map[string]any
		if json.Unmarshal([]byte(lines[0]), &ok) != nil || json.Unmarshal([]byte(lines[1]), &bad) != nil {
			t.Fatalf("not JSON:\n%s", log)
		}
		for k, want := range map[string]any{"level": "info", "event": "refreshed", "role": testRole} {
			if ok[k] != want {
				t.Errorf("refreshed %s = %v, want %v", k, ok[k], want)
			}
		}
		for _, k := range []string{"time", "msg", "expiration", "next_refresh", "request_id"} {
			if _, has := ok[k]; !has {
				t.Errorf("refreshed line has no %s: %s", k, lines[0])
			}
		}
		for k, want := range map[string]any{"level": "error", "event": "refresh_failed", "code": "AccessDenied", "role": testRole} {
			if bad[k] != want {
				t.Errorf("failure %s = %v, want %v", k, bad[k], want)
			}
		}
		if hints, _ := bad["hints"].([]any); len(hints) == 0 {
			t.Errorf("failure without hints: %s", lines[1])
		}
	})
}

// TestDeadlineHintPerExchange: in serve, the hint about a deadline says
// that --timeout bounds each exchange, with the value in force.
func TestDeadlineHintPerExchange(t *testing.T) {
	f := newFakeFetch(time.Hour)
	f.fail(explain.Errorf(context.DeadlineExceeded, "no answer from STS before the deadline").Hint("check the network"))
	r := NewRefresher(Config{Fetch: f.fetch, Timeout: 7 * time.Second})
	defer r.Close()
	err := r.Start(context.Background())
	hints := explain.Hints(err)
	if !errors.Is(err, context.DeadlineExceeded) || len(hints) != 2 || hints[0] != "check the network" ||
		!strings.Contains(hints[1], "in serve, --timeout (7s) bounds each exchange") {
		t.Errorf("%v, hints %q", err, hints)
	}
}

// TestTimeoutClamped: a huge --timeout cannot overflow a deadline.
func TestTimeoutClamped(t *testing.T) {
	f := newFakeFetch(time.Hour)
	r := NewRefresher(Config{Fetch: f.fetch, Timeout: time.Duration(math.MaxInt64)})
	defer r.Close()
	if err := r.Start(context.Background()); err != nil || r.timeout != maxTimeout {
		t.Errorf("%v, timeout %s", err, r.timeout)
	}
}

// TestHungFetchFailsThenRecovers: a fetch that never returns, whatever its
// context says (a FIFO as credential_source.file, an executable that does
// not exit), kept its refresh in flight for good: no log line, no retry,
// and once the credentials reached the floor every request waited and got
// 503, even after the source was back. Past its deadline and hangMargin it
// now counts as failed: logged once, retried on schedule, and the first
// retry after the source recovers serves fresh credentials.
func TestHungFetchFailsThenRecovers(t *testing.T) {
	bubble(t, func(t *testing.T, t0 time.Time) {
		log := &syncBuffer{}
		r, f := startRefresher(t, time.Hour, Config{Logger: NewLogger(log, LogPlain, false), Timeout: 3 * time.Second})
		first, _ := r.Current()
		hang := make(chan struct{})
		defer close(hang) // the hung calls end with the test
		f.set(func(f *fakeFetch) { f.block, f.blockAt, f.deaf = hang, 2, true })
		advance(time.Hour) // past the refresh window, the floor and the expiry
		out := log.String()
		if n := strings.Count(out, "has not ended within its deadline (3s) and 2s more; it is left to end on its own"); n != 1 {
			t.Fatalf("the hung exchange logged %d times, want once:\n%s", n, out)
		}
		if !strings.Contains(out, "gcp-aws-cred: hint: a credential source that never answers holds it") {
			t.Errorf("no hint:\n%s", out)
		}
		hung := f.count() - 1
		if s := r.Stats(); hung < 5 || s.Failures != int64(hung) {
			t.Errorf("%d hung calls, stats %+v: want retries on schedule, each counted as failed", hung, s)
		}
		if r.NextRefresh().IsZero() {
			t.Error("no retry scheduled")
		}
		if _, err := r.Credentials(context.Background()); err == nil || r.Healthy() {
			t.Fatalf("past the expiry with every refresh hung: %v", err)
		}

		f.set(func(f *fakeFetch) { f.block = nil }) // the source answers again
		advance(3 * time.Minute)
		c, err := r.Credentials(context.Background())
		if err != nil || c.AccessKeyID == first.AccessKeyID || !r.Healthy() {
			t.Fatalf("after the source recovered: %v, %v", c, err)
		}
		if !strings.Contains(log.String(), "refreshed the credentials after "+strconv.Itoa(hung)+" failed attempts") {
			t.Errorf("recovery not logged:\n%s", log.String()[len(out):])
		}
	})
}
