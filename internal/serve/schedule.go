package serve

import (
	"math/rand/v2"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
)

// Rand is the scheduler's source of jitter: Float64 returns a number in
// [0, 1). *math/rand/v2.Rand satisfies it. A server calls it from one
// goroutine at a time.
type Rand interface {
	Float64() float64
}

// globalRand is math/rand/v2's runtime-seeded generator, safe for
// concurrent use: servers started together must not share a seed, or
// their "random" refresh times would coincide.
type globalRand struct{}

func (globalRand) Float64() float64 { return rand.Float64() }

// How long the credentials a client is handed keep, measured against what
// the SDKs do with the Expiration they read from a container endpoint:
//
//   - botocore (AWS CLI, boto3) refreshes when less than 15 minutes are left
//     and insists on 10 (RefreshableCredentials' advisory and mandatory
//     timeouts); with less than 15 minutes left it comes back on every
//     call. The Java SDK v2 prefetches at 15 minutes as well.
//   - aws-sdk-go-v2 gives the container provider an ExpiryWindow of 5
//     minutes (config/resolve_credentials.go), and the JavaScript SDK v3
//     treats credentials with less than 5 minutes left as expired.
//
// So a server should hand out credentials with more than 15 minutes left,
// and must never hand out any with 5 minutes or less: the Go and JS SDKs
// would throw them away at once and ask again.
const (
	clientRefresh = 15 * time.Minute
	clientExpiry  = 5 * time.Minute
)

// plan is the schedule for one set of credentials, received at got and
// living life from then.
//
// keep is what the served credentials should always have left: 15 minutes
// (clientRefresh) for lifetimes of 30 minutes and more, else half the
// lifetime (STS's least, 15 minutes, cannot give anyone 15 minutes plus a
// refresh period). floor is the least they are ever served with: 5 minutes
// (clientExpiry) for any lifetime over 10 minutes, which covers all STS
// issues, else a quarter. Between keep and floor lies the grace a failing
// refresh has to recover in while clients are served the previous
// credentials.
//
// The refresh falls at a random point from U/2 to 5U/6 after got, U being
// life - keep: 22m30s to 37m30s for one-hour credentials. Servers started
// together are spread over U/3 after one refresh and further with each,
// where a fixed point would keep them in step for good; the window ends U/6
// before keep, room for several retries; and the mean period, 2U/3, sets a
// fleet's STS load (docs/serve.md, "At fleet scale", has the numbers).
type plan struct {
	// got is when the credentials arrived, by this machine's clock; its
	// monotonic reading is what the remaining lifetime is counted on.
	got time.Time
	// life is how long they live from got (see lifetime).
	life        time.Duration
	keep, floor time.Duration
}

func newPlan(got time.Time, life time.Duration) plan {
	p := plan{got: got, life: life, keep: clientRefresh, floor: clientExpiry}
	if life < 2*clientRefresh {
		p.keep = life / 2
	}
	if life <= 2*clientExpiry {
		p.floor = life / 4
	}
	return p
}

// window is the span the refresh time is drawn from.
func (p plan) window() (from, to time.Time) {
	u := p.life - p.keep
	return p.got.Add(u / 2), p.got.Add(u * 5 / 6)
}

// refreshAt draws the refresh time: uniform over the window for a random
// source; a source that always returns the same number gives the
// fixed-point schedule the fleet simulation compares against.
func (p plan) refreshAt(r Rand) time.Time {
	from, to := p.window()
	return from.Add(time.Duration(r.Float64() * float64(to.Sub(from))))
}

// left is how long the credentials still live at now.
func (p plan) left(now time.Time) time.Duration {
	return p.leftAfter(now.Sub(p.got), now)
}

// leftAfter is left with the two clocks apart: elapsed is the time since
// got on the monotonic clock, wall the wall clock's reading. The monotonic
// clock cannot be set, so a wall clock stepped backwards never extends the
// lifetime; but it stands still while the machine is suspended, when the
// wall clock (and the credentials' real end) moves on. The lesser of the
// two is right in both cases.
func (p plan) leftAfter(elapsed time.Duration, wall time.Time) time.Duration {
	return min(p.life-elapsed, p.got.Round(0).Add(p.life).Sub(wall.Round(0)))
}

// servable reports whether the credentials may still be handed out at now.
func (p plan) servable(now time.Time) bool {
	return p.left(now) > p.floor
}

// retryDelay is the wait before retry number attempt (1 for the first)
// after a failed refresh: transport.Backoff, with a base and a ceiling that
// scale with the lifetime so that short-lived credentials retry often
// enough to matter; for 1h credentials 10s and 2m, which leaves at least
// five tries in the grace between keep and floor.
func (p plan) retryDelay(attempt int, r Rand) time.Duration {
	base := clamp(p.life/360, 100*time.Millisecond, 10*time.Second)
	ceil := clamp(p.life/30, time.Second, 2*time.Minute)
	return transport.Backoff(base, ceil, attempt, r.Float64())
}

func clamp(d, lo, hi time.Duration) time.Duration {
	return min(max(d, lo), hi)
}

// RefreshAt is when a holder of credentials obtained at got and valid for
// life should refresh them, drawn from serve's own window (see plan). The
// credential agent keeps its entries fresh with it.
func RefreshAt(got time.Time, life time.Duration) time.Time {
	return newPlan(got, life).refreshAt(globalRand{})
}

// RetryDelay is how long to wait before trying again after the attempt-th
// failed refresh (1, 2, …) of credentials valid for life: serve's jittered
// backoff.
func RetryDelay(life time.Duration, attempt int) time.Duration {
	return newPlan(time.Time{}, life).retryDelay(attempt, globalRand{})
}
