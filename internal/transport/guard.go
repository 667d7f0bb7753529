package transport

import (
	"context"
	"math/rand/v2"
	"time"
)

// The retry policy of the peers we retry ourselves or through the SDK
// (STS, the IAM Credentials API): three tries in all, waits drawn below
// 250ms doubling up to 2s, so that a run stays well inside its deadline.
const (
	Attempts    = 3
	BaseBackoff = 250 * time.Millisecond
	MaxBackoff  = 2 * time.Second
)

// Backoff is the one jitter function, full jitter as in the AWS
// Architecture Blog's "Exponential Backoff And Jitter": the wait before
// retry number attempt (1 for the first) is u (uniform in [0, 1)) times a
// ceiling doubling from base up to ceil, but at least base/10, so a tiny
// draw is no busy loop. The caller draws u (serve from its own source).
func Backoff(base, ceil time.Duration, attempt int, u float64) time.Duration {
	d := ceil
	if attempt >= 1 && attempt < 32 {
		if b := base << (attempt - 1); b > 0 && b < ceil {
			d = b
		}
	}
	return max(time.Duration(u*float64(d)), base/10)
}

// Retry calls try, at most attempts times, until it reports that trying
// again would not help, waiting Backoff(base, ceil, n, rand.Float64())
// after try n, and never past ctx's deadline. waiting is told each wait
// before it starts (for a trace). Retry returns the number of tries made.
func Retry(ctx context.Context, attempts int, base, ceil time.Duration, try func() (again bool), waiting func(time.Duration)) int {
	for n := 1; ; n++ {
		if !try() || n >= attempts {
			return n
		}
		wait := Backoff(base, ceil, n, rand.Float64())
		if d, ok := ctx.Deadline(); ok && time.Until(d) < wait {
			return n
		}
		waiting(wait)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return n
		}
	}
}
