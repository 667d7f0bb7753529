package serve

import (
	"testing"
	"time"
)

// t0 is where the plans of these tests start.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestPlan(t *testing.T) {
	for _, c := range []struct {
		life, keep, floor, from, to time.Duration
	}{
		// The default: keep 15m, floor 5m, refresh 22m30s to 37m30s in.
		{time.Hour, 15 * time.Minute, 5 * time.Minute, 22*time.Minute + 30*time.Second, 37*time.Minute + 30*time.Second},
		{12 * time.Hour, 15 * time.Minute, 5 * time.Minute, 5*time.Hour + 52*time.Minute + 30*time.Second, 9*time.Hour + 47*time.Minute + 30*time.Second},
		// From 30 minutes down, keep half the lifetime.
		{30 * time.Minute, 15 * time.Minute, 5 * time.Minute, 7*time.Minute + 30*time.Second, 12*time.Minute + 30*time.Second},
		{20 * time.Minute, 10 * time.Minute, 5 * time.Minute, 5 * time.Minute, 8*time.Minute + 20*time.Second},
		// STS's least: nobody can have 15 minutes left, but the floor
		// stays at 5 minutes, as for every lifetime STS issues.
		{15 * time.Minute, 7*time.Minute + 30*time.Second, 5 * time.Minute, 3*time.Minute + 45*time.Second, 6*time.Minute + 15*time.Second},
		// What tests have the fake STS issue.
		{48 * time.Second, 24 * time.Second, 12 * time.Second, 12 * time.Second, 20 * time.Second},
	} {
		p := newPlan(t0, c.life)
		from, to := p.window()
		if p.keep != c.keep || p.floor != c.floor || from.Sub(t0) != c.from || to.Sub(t0) != c.to {
			t.Errorf("%s: keep %s floor %s window %s–%s; want keep %s floor %s window %s–%s",
				c.life, p.keep, p.floor, from.Sub(t0), to.Sub(t0), c.keep, c.floor, c.from, c.to)
		}
		// The invariants the schedule rests on: the window ends before
		// the credentials drop to keep, and keep is above the floor.
		if deadline := p.expires().Add(-p.keep); !to.Before(deadline) || p.floor >= p.keep {
			t.Errorf("%s: window ends %s, deadline %s, floor %s, keep %s", c.life, to, deadline, p.floor, p.keep)
		}
		if got := p.refreshAt(fixed(0)); !got.Equal(from) {
			t.Errorf("%s: draw 0 refreshes at %s, want %s", c.life, got, from)
		}
		if got := p.refreshAt(fixed(0.999999)); got.Before(from) || got.After(to) {
			t.Errorf("%s: draw ~1 refreshes at %s, outside %s–%s", c.life, got, from, to)
		}
		if !p.servable(p.expires().Add(-p.floor-time.Nanosecond)) || p.servable(p.expires().Add(-p.floor)) {
			t.Errorf("%s: servable does not end at the floor", c.life)
		}
	}
}

func TestRetryDelay(t *testing.T) {
	p := newPlan(t0, time.Hour)
	// Ceilings double from 10s to the 2m cap; full jitter draws below them.
	for attempt, ceil := range map[int]time.Duration{1: 10 * time.Second, 2: 20 * time.Second, 4: 80 * time.Second, 5: 2 * time.Minute, 40: 2 * time.Minute} {
		if got := p.retryDelay(attempt, fixed(0.999999)); got > ceil || got < ceil*99/100 {
			t.Errorf("attempt %d: delay %s, want just under %s", attempt, got, ceil)
		}
		if got := p.retryDelay(attempt, fixed(0)); got != time.Second {
			t.Errorf("attempt %d: smallest delay %s, want a tenth of the base, 1s", attempt, got)
		}
	}
	short := newPlan(t0, 48*time.Second)
	if got := short.retryDelay(10, fixed(0.999999)); got > 1600*time.Millisecond {
		t.Errorf("48s credentials back off up to %s; retries must come within their lifetime", got)
	}
}

// TestLeftFollowsTheEarlierClock: the lifetime left is counted on the
// monotonic clock, so a wall clock stepped backwards (by an operator, or a
// time sync correcting a fast clock) never keeps credentials in service
// past their real end; a wall clock that moved on without the monotonic
// one (a suspended machine) ends them on time too.
func TestLeftFollowsTheEarlierClock(t *testing.T) {
	p := newPlan(t0, time.Hour)
	for _, c := range []struct {
		name    string
		elapsed time.Duration // on the monotonic clock
		wall    time.Duration // the wall clock's reading, from t0
		left    time.Duration
	}{
		{"clocks agree", 20 * time.Minute, 20 * time.Minute, 40 * time.Minute},
		{"wall stepped back 2h", 56 * time.Minute, 56*time.Minute - 2*time.Hour, 4 * time.Minute},
		{"wall stepped back 2h, past the end", 61 * time.Minute, 61*time.Minute - 2*time.Hour, -time.Minute},
		{"suspended 50m", 10 * time.Minute, 60 * time.Minute, 0},
	} {
		left := p.leftAfter(c.elapsed, t0.Add(c.wall))
		if left != c.left {
			t.Errorf("%s: %s left, want %s", c.name, left, c.left)
		}
	}
}
