package fleetsim

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	table     = flag.Bool("table", false, "simulate the fleets and print the Markdown table")
	sizes     = flag.String("sizes", "100,1000,10000", "fleet sizes, comma-separated")
	durations = flag.String("duration", "1h", "credential lifetimes (--duration), comma-separated")
	span      = flag.Duration("span", 24*time.Hour, "simulated time")
	rollout   = flag.Duration("rollout", time.Minute, "the servers start at random moments within this")
	seed      = flag.Uint64("seed", 1, "random seed: the same seed gives the same figures")
)

// TestTable prints the fleet table when asked with -table; it asserts
// nothing (TestJitterSpreadsTheFleet checks what the table shows) and
// costs seconds, so an ordinary test run skips it.
func TestTable(t *testing.T) {
	if !*table {
		t.Skip("prints the fleet table only when asked: go test ./bench/fleetsim -run TestTable -v -table")
	}
	ns, ds, err := parse(*sizes, *durations)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Print(render(t, ns, ds))
}

// render simulates every fleet and returns the Markdown table.
func render(t *testing.T, ns []int, ds []time.Duration) string {
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
	return b.String()
}

func parse(sizes, durations string) ([]int, []time.Duration, error) {
	var ns []int
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return nil, nil, fmt.Errorf("bad fleet size %q", s)
		}
		ns = append(ns, n)
	}
	var ds []time.Duration
	for _, s := range strings.Split(durations, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil || d < 15*time.Minute || d > 12*time.Hour {
			return nil, nil, fmt.Errorf("bad duration %q: STS issues 15m to 12h", s)
		}
		ds = append(ds, d)
	}
	return ns, ds, nil
}
