package serve

import "time"

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
