package fleetsim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/serve"
)

// result is one simulated fleet's load.
type result struct {
	calls     int     // STS calls in the whole span
	mean      float64 // calls per second over the span
	startPeak int     // busiest second of the start-up minute
	peak      int     // busiest second after it
	latePeak  int     // busiest second of the span's second half
}

// simulate runs n servers asking for credentials of lifetime d, in a
// synctest bubble of its own.
func simulate(t *testing.T, n int, d, span, rollout time.Duration, jitter bool, seed uint64) result {
	var res result
	t.Run(fmt.Sprintf("%d-%s-jitter=%v", n, d, jitter), func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			res = run(n, d, span, rollout, jitter, seed)
		})
	})
	return res
}

func run(n int, d, span, rollout time.Duration, jitter bool, seed uint64) result {
	t0 := time.Now()
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	var draw serve.Rand = middle{}
	if jitter {
		draw = &lockedRand{r: rand.New(rand.NewPCG(seed+1, uint64(n)))}
	}
	var mu sync.Mutex
	perSecond := make([]int, int(span/time.Second)+1)
	key := secret.New("simulated-secret-access-key")
	// The fake exchange: STS answers at once and, as the real one does,
	// states Expiration in whole seconds, with the Date of its answer.
	fetch := func(context.Context) (awscred.Credentials, error) {
		now := time.Now()
		mu.Lock()
		if i := int(now.Sub(t0) / time.Second); i < len(perSecond) {
			perSecond[i]++
		}
		mu.Unlock()
		return awscred.Credentials{
			AccessKeyID:     "ASIASIMULATED",
			SecretAccessKey: key,
			SessionToken:    key,
			Expiration:      now.Add(d).Truncate(time.Second),
			Issued:          now.Truncate(time.Second),
			AccountID:       "123456789012",
		}, nil
	}
	var refreshers []*serve.Refresher
	for range n {
		at := time.Duration(rng.Float64() * float64(rollout))
		time.AfterFunc(at, func() {
			r := serve.NewRefresher(serve.Config{Fetch: fetch, Rand: draw})
			if err := r.Start(context.Background()); err != nil {
				panic(err) // the fake exchange cannot fail
			}
			mu.Lock()
			refreshers = append(refreshers, r)
			mu.Unlock()
		})
	}
	time.Sleep(span)
	mu.Lock()
	for _, r := range refreshers {
		r.Close()
	}
	mu.Unlock()

	var res result
	for i, c := range perSecond[:len(perSecond)-1] {
		res.calls += c
		if time.Duration(i)*time.Second < rollout {
			res.startPeak = max(res.startPeak, c)
		} else {
			res.peak = max(res.peak, c)
		}
		if time.Duration(i)*time.Second >= span/2 {
			res.latePeak = max(res.latePeak, c)
		}
	}
	res.mean = float64(res.calls) / span.Seconds()
	return res
}

// middle always draws the middle of the window: the fixed-point schedule.
type middle struct{}

func (middle) Float64() float64 { return 0.5 }

// lockedRand shares one seeded generator between the servers, whose
// timers fire on goroutines of their own.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (l *lockedRand) Float64() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}

func short(d time.Duration) string {
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	return strings.TrimSuffix(s, "0m")
}
