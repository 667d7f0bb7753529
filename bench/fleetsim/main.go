// Command fleetsim simulates the STS load of a fleet of `gcp-aws-cred
// serve` processes deployed together, and prints it as a Markdown table.
//
//	go run ./bench/fleetsim                          # the README's tables
//	go run ./bench/fleetsim -n 5000 -duration 2h     # one fleet of your own
//
// N servers start at random moments within one minute (a rollout), each
// asking STS for credentials of --duration D, and run for a day. Each one
// is the real scheduler, serve.Refresher, driven by a fake clock
// (serve.ManualClock) and a fake exchange that counts the calls in
// one-second buckets: no network, no waiting, the same code the server
// runs. Two schedules are compared:
//
//   - jittered: the server's own, a uniform random refresh time within its
//     window;
//   - fixed point: the same scheduler with a random source that always
//     draws the window's middle, so both have the same mean refresh period
//     and the only difference is the jitter.
//
// The first exchanges all fall in the start-up minute whatever the
// schedule, so the peak is reported for that minute and for the rest of
// the day apart.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/serve"
)

func main() {
	sizes := flag.String("n", "100,1000,10000", "fleet sizes, comma-separated")
	durations := flag.String("duration", "1h", "credential lifetimes (--duration), comma-separated")
	span := flag.Duration("span", 24*time.Hour, "simulated time")
	rollout := flag.Duration("rollout", time.Minute, "the servers start at random moments within this")
	seed := flag.Uint64("seed", 1, "random seed: the same seed gives the same figures")
	flag.Parse()

	var ns []int
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "fleetsim: bad fleet size %q\n", s)
			os.Exit(2)
		}
		ns = append(ns, n)
	}
	var ds []time.Duration
	for _, s := range strings.Split(*durations, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil || d < 15*time.Minute || d > 12*time.Hour {
			fmt.Fprintf(os.Stderr, "fleetsim: bad duration %q: STS issues 15m to 12h\n", s)
			os.Exit(2)
		}
		ds = append(ds, d)
	}

	fmt.Printf("Each fleet's servers start within %s and run for %s (seed %d).\n\n", *rollout, *span, *seed)
	fmt.Println("| servers | --duration | schedule | STS calls | mean calls/s | peak calls/s: start-up minute | rest of the span | its second half |")
	fmt.Println("|---:|---:|---|---:|---:|---:|---:|---:|")
	for _, d := range ds {
		for _, n := range ns {
			for _, jitter := range []bool{false, true} {
				r := simulate(n, d, *span, *rollout, jitter, *seed)
				name := "fixed point"
				if jitter {
					name = "jittered"
				}
				fmt.Printf("| %d | %s | %s | %d | %.2f | %d | %d | %d |\n",
					n, short(d), name, r.calls, r.mean, r.startPeak, r.peak, r.latePeak)
			}
		}
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

// simulate runs n servers asking for credentials of lifetime d.
func simulate(n int, d, span, rollout time.Duration, jitter bool, seed uint64) result {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := serve.NewManualClock(t0)
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	var draw serve.Rand = middle{}
	if jitter {
		draw = rand.New(rand.NewPCG(seed+1, uint64(n)))
	}
	perSecond := make([]int, int(span/time.Second)+1)
	key := secret.New("simulated-secret-access-key")
	// The fake exchange: STS answers at once and, as the real one does,
	// states Expiration in whole seconds.
	fetch := func(context.Context) (awscred.Credentials, error) {
		now := clock.Now()
		if i := int(now.Sub(t0) / time.Second); i < len(perSecond) {
			perSecond[i]++
		}
		return awscred.Credentials{
			AccessKeyID:     "ASIASIMULATED",
			SecretAccessKey: key,
			SessionToken:    key,
			Expiration:      now.Add(d).Truncate(time.Second),
			AccountID:       "123456789012",
		}, nil
	}
	refreshers := make([]*serve.Refresher, 0, n)
	for range n {
		at := time.Duration(rng.Float64() * float64(rollout))
		clock.AfterFunc(at, func() {
			r := serve.NewRefresher(serve.RefresherOptions{Fetch: fetch, Clock: clock, Rand: draw})
			if err := r.Start(context.Background()); err != nil {
				panic(err) // the fake exchange cannot fail
			}
			refreshers = append(refreshers, r)
		})
	}
	clock.AdvanceTo(t0.Add(span))
	for _, r := range refreshers {
		r.Close()
	}

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

func short(d time.Duration) string {
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	return strings.TrimSuffix(s, "0m")
}
