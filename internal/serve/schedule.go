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
// (clientRefresh) when their lifetime is at least 30 minutes, half their
// lifetime when shorter. STS never issues less than 15 minutes, and a role
// asked for exactly 15 cannot give anyone 15 minutes plus a refresh
// period; halving keeps the same shape at any scale, down to the
// credentials of under a minute that tests have a fake STS issue.
//
// floor is the least they are ever served with: 5 minutes (clientExpiry)
// for any lifetime over 10 minutes, which covers all STS issues; a quarter
// of the lifetime below that, which only a fake STS issues. Between keep
// and floor lies the grace a failing refresh has to recover in while clients are
// still served the previous credentials.
//
// The refresh happens at a random point of a window over the span
// U = lifetime - keep during which the credentials still meet keep:
// from U/2 to 5U/6 after they arrived. For the default one-hour
// credentials that is between 22m30s and 37m30s after the exchange (with
// 37m30s to 22m30s left), a 15-minute window whose end leaves U/6 (7m30s)
// for retries before the 15-minute line and 10 minutes more before the
// floor. Why this window:
//
//   - Spread. Servers started together (a rollout) draw independent points,
//     so after one refresh they are spread over U/3 (15 minutes for 1h
//     credentials) instead of the minute they started in, and every later
//     refresh adds another independent draw, so the fleet's calls keep
//     spreading until they are even over the whole period. A fixed point
//     would keep them in lock step forever.
//   - Deadline. The whole window ends well before keep, so one failed or
//     throttled attempt still has several backed-off retries before clients
//     see credentials with less than keep left.
//   - Load. The mean refresh period is 2U/3 (30 minutes for 1h
//     credentials, 7h50m for 12h), which fixes a fleet's mean STS load at
//     N / (2U/3); a window closer to the deadline would call less but leave
//     no room for retries.
type plan struct {
	// got is when the credentials arrived, by this machine's clock; its
	// monotonic reading is what the remaining lifetime is counted on.
	got time.Time
	// life is how long they live from got: their Expiration less the
	// Date of STS's answer, both by STS's own clock, so that neither a
	// skewed nor a stepping local wall clock can stretch it.
	life        time.Duration
	keep, floor time.Duration
}

func newPlan(got time.Time, life time.Duration) plan {
	p := plan{got: got, life: life, keep: clientRefresh, floor: clientExpiry}
	if life < 2*clientRefresh {
		p.keep = life / 2
	}
	// Above ten minutes the floor is the full five: every lifetime STS
	// issues (15 minutes to 12 hours) is served with more than five
	// minutes left, as the Go and JavaScript SDKs need.
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
// after a failed refresh: full jitter (uniform from 0 to the ceiling, as in
// the AWS Architecture Blog's "Exponential Backoff And Jitter"), with a
// ceiling that doubles from base up to ceil. Both scale with the lifetime
// so that short-lived credentials retry often enough to matter; for 1h
// credentials base is 10s and ceil 2m, which leaves at least five tries in
// the grace between keep and floor.
func (p plan) retryDelay(attempt int, r Rand) time.Duration {
	base := clamp(p.life/360, 100*time.Millisecond, 10*time.Second)
	ceil := clamp(p.life/30, time.Second, 2*time.Minute)
	return transport.Backoff(base, ceil, attempt, r.Float64())
}

func clamp(d, lo, hi time.Duration) time.Duration {
	return min(max(d, lo), hi)
}

// RefreshAt is when a holder of credentials obtained at got and valid for
// life should refresh them: a random point in serve's own window (from
// half to five sixths of the time before the last 15 minutes), so holders
// started together do not call STS together. The credential agent keeps
// its entries fresh with it.
func RefreshAt(got time.Time, life time.Duration) time.Time {
	return newPlan(got, life).refreshAt(globalRand{})
}

// RetryDelay is how long to wait before trying again after the attempt-th
// failed refresh (1, 2, …) of credentials valid for life: serve's jittered
// backoff.
func RetryDelay(life time.Duration, attempt int) time.Duration {
	return newPlan(time.Time{}, life).retryDelay(attempt, globalRand{})
}
