// Fleetsim simulates the STS load of a fleet of `gcp-aws-cred serve`
// processes deployed together, and prints it as a Markdown table:
//
//	go test ./bench/fleetsim -run TestTable -v -table        # the docs' table
//	go test ./bench/fleetsim -run TestTable -v -table -sizes 5000 -duration 15m,2h,12h
//
// N servers start at random moments within one minute (a rollout), each
// asking STS for credentials of -duration D, and run for a day. Each one is
// the real scheduler, serve.Refresher, with its real timers, run inside a
// testing/synctest bubble, where time moves on as soon as every goroutine
// waits: a day passes in seconds, with no network and no clock interface
// in the server. A fake exchange counts the calls in one-second buckets.
// Two schedules are compared:
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
//
// The table is printed by TestTable only when -table is given: it asserts
// nothing and takes seconds, so an ordinary test run skips it. The
// simulation lives in test files because testing/synctest's bubbles need a
// *testing.T. TestJitterSpreadsTheFleet checks what the table shows.
package fleetsim
