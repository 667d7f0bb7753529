package fleetsim

import (
	"testing"
	"time"
)

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
