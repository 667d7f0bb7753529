package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	sizes     = flag.String("n", "100,1000,10000", "fleet sizes, comma-separated")
	durations = flag.String("duration", "1h", "credential lifetimes (--duration), comma-separated")
	span      = flag.Duration("span", 24*time.Hour, "simulated time")
	rollout   = flag.Duration("rollout", time.Minute, "the servers start at random moments within this")
	seed      = flag.Uint64("seed", 1, "random seed: the same seed gives the same figures")
)

func main() {
	testing.Init() // the bubbles need a *testing.T, which MainStart makes
	flag.Parse()
	ns, ds, err := parse(*sizes, *durations)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleetsim:", err)
		os.Exit(2)
	}
	var table string
	m := testing.MainStart(deps{}, []testing.InternalTest{{
		Name: "fleetsim",
		F:    func(t *testing.T) { table = render(t, ns, ds) },
	}}, nil, nil, nil)
	// The testing package's own lines (PASS, a failure) go to stderr, the
	// table alone to stdout.
	stdout := os.Stdout
	os.Stdout = os.Stderr
	code := m.Run()
	os.Stdout = stdout
	if code != 0 {
		os.Exit(code)
	}
	fmt.Print(table)
}

// deps is what testing.MainStart needs of a test binary's runtime, for a
// program that runs no fuzzing, profiling or coverage: only the one
// function that holds the bubbles.
type deps struct{}

type corpusEntry = struct {
	Parent     string
	Path       string
	Data       []byte
	Values     []any
	Generation int
	IsSeed     bool
}

func (deps) ImportPath() string                                       { return "" }
func (deps) ModulePath() string                                       { return "" }
func (deps) MatchString(string, string) (bool, error)                 { return true, nil }
func (deps) SetPanicOnExit0(bool)                                     {}
func (deps) StartCPUProfile(io.Writer) error                          { return nil }
func (deps) StopCPUProfile()                                          {}
func (deps) StartTestLog(io.Writer)                                   {}
func (deps) StopTestLog() error                                       { return nil }
func (deps) WriteProfileTo(string, io.Writer, int) error              { return nil }
func (deps) RunFuzzWorker(func(corpusEntry) error) error              { return nil }
func (deps) ReadCorpus(string, []reflect.Type) ([]corpusEntry, error) { return nil, nil }
func (deps) CheckCorpus([]any, []reflect.Type) error                  { return nil }
func (deps) ResetCoverage()                                           {}
func (deps) SnapshotCoverage()                                        {}
func (deps) CoordinateFuzzing(time.Duration, int64, time.Duration, int64, int, []corpusEntry, []reflect.Type, string, string) error {
	return nil
}
func (deps) InitRuntimeCoverage() (string, func(string, string) (string, error), func() float64) {
	return "", nil, nil
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
