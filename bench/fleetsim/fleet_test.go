package fleetsim

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/serve"
)

var (
	sizes     = flag.String("n", "100,1000,10000", "fleet sizes, comma-separated (TestTable)")
	durations = flag.String("duration", "1h", "credential lifetimes (--duration), comma-separated (TestTable)")
	span      = flag.Duration("span", 24*time.Hour, "simulated time (TestTable)")
	rollout   = flag.Duration("rollout", time.Minute, "the servers start at random moments within this (TestTable)")
	seed      = flag.Uint64("seed", 1, "random seed: the same seed gives the same figures (TestTable)")
)

// TestTable prints the fleet table for -n and -duration. Under -short it
// simulates one small fleet only, to keep `go test -short ./...` quick.
func TestTable(t *testing.T) {
	ns, ds := parse(t, *sizes, *durations)
	if testing.Short() {
		ns, ds = []int{100}, ds[:1]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Each fleet's servers start within %s and run for %s (seed %d).\n\n", *rollout, *span, *seed)
	b.WriteString("| servers | --duration | schedule | STS calls | mean calls/s | peak calls/s: start-up minute | rest of the span | its second half |\n")
	b.WriteString("|---:|---:|---|---:|---:|---:|---:|---:|\n")
	for _, d := range ds {
		for _, n := range ns {
			for _, jitter := range []bool{false, true} {
				r := simulate(t, n, d, *span, *rollout, jitter, *seed)
				name := "fixed point"
				if jitter {
					name = "jittered"
				}
				fmt.Fprintf(&b, "| %d | %s | %s | %d | %.2f | %d | %d | %d |\n",
					n, short(d), name, r.calls, r.mean, r.startPeak, r.peak, r.latePeak)
			}
		}
	}
	t.Log("\n" + b.String())
}

func parse(t *testing.T, sizes, durations string) ([]int, []time.Duration) {
	var ns []int
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			t.Fatalf("bad fleet size %q", s)
		}
		ns = append(ns, n)
	}
	var ds []time.Duration
	for _, s := range strings.Split(durations, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil || d < 15*time.Minute || d > 12*time.Hour {
			t.Fatalf("bad duration %q: STS issues 15m to 12h", s)
		}
		ds = append(ds, d)
	}
	return ns, ds
}

// TestJitterSpreadsTheFleet: with the real scheduler, a fleet started in
// one minute keeps refreshing in one minute at a fixed point, and spreads
// out with jitter, at the same mean load of N / (2U/3) calls per second.
func TestJitterSpreadsTheFleet(t *testing.T) {
	const n = 500
	span := 6 * time.Hour
	fixed := simulate(t, n, time.Hour, span, time.Minute, false, 7)
	jittered := simulate(t, n, time.Hour, span, time.Minute, true, 7)
	// One call every 2U/3 = 30 minutes for 1h credentials, the first
	// exchange included.
	want := n * int(span/(30*time.Minute))
	for name, r := range map[string]result{"fixed": fixed, "jittered": jittered} {
		if r.calls < want*95/100 || r.calls > want*105/100 {
			t.Errorf("%s: %d calls, want about %d", name, r.calls, want)
		}
	}
	if fixed.peak < fixed.startPeak*8/10 {
		t.Errorf("fixed point: peak %d after start-up, %d during it: the fleet should stay in step", fixed.peak, fixed.startPeak)
	}
	if jittered.peak*3 > fixed.peak {
		t.Errorf("jittered peak %d, fixed %d: jitter should cut it by far more than 3", jittered.peak, fixed.peak)
	}
}

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
			r := serve.NewRefresher(serve.RefresherOptions{Fetch: fetch, Rand: draw})
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
