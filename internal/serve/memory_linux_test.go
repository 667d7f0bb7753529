package serve

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rss reads a process's resident memory from /proc: VmRSS now, VmHWM its
// peak, in bytes.
func rss(t *testing.T, pid int) (now, peak int64) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			now = kb << 10
		case "VmHWM:":
			peak = kb << 10
		}
	}
	return now, peak
}

// TestStrangersHeaderLinesBoundMemory: 500 connections without the token
// each send a partial header of many tiny lines (X1: v, X2: v, …) and hold
// it. With net/http's 64 KiB header limit and a 10 s header deadline for
// all, each held about 650 KB until the deadline: 500 of them took serve
// to 343 MB, past the shipped unit's MemoryMax=64M. Serve's process (a
// helper, measured through /proc) must stay under 64 MB resident, at its
// peak, while a client with the token is answered.
func TestStrangersHeaderLinesBoundMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 500 connections")
	}
	if raceEnabled {
		t.Skip("the race detector multiplies memory use")
	}
	cmd, out, stderr := startHelper(t, "serve")
	uri := strings.TrimPrefix(readLine(t, out), "export "+URIEnv+"=")
	tok := strings.TrimPrefix(readLine(t, out), "export "+TokenEnv+"=")
	addr := strings.TrimSuffix(strings.TrimPrefix(uri, "http://"), CredentialsPath)
	srv := &Server{url: uri}
	fetch := fetcherWith(srv, tok)
	if _, err := fetch(); err != nil {
		t.Fatalf("before: %v; stderr: %s", err, stderr)
	}
	before, _ := rss(t, cmd.Process.Pid)
	// Headers of 63 KiB, as reported, then of 7.5 KiB, under serve's own
	// limit, which are held until the header deadline.
	for _, size := range []int{63 << 10, 7<<10 + 512} {
		attack(t, cmd.Process.Pid, addr, size, before, fetch)
	}
}

// attack opens 500 connections that each send size bytes of tiny header
// lines and hold them, fetches with the token meanwhile, and checks serve's
// resident memory.
func attack(t *testing.T, pid int, addr string, size int, before int64, fetch func() (time.Duration, error)) {
	var lines strings.Builder
	for i := 0; lines.Len() < size; i++ {
		fmt.Fprintf(&lines, "X%d: v\r\n", i)
	}
	var mu sync.Mutex
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	var wg sync.WaitGroup
	for i := range 500 {
		wg.Go(func() {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nX-Conn: %d\r\n", CredentialsPath, addr, i)
			_, _ = c.Write([]byte(lines.String())) // the server may stop reading early
		})
	}
	wg.Wait()
	var took []time.Duration
	for range 10 {
		d, err := fetch()
		if err != nil {
			t.Errorf("a client with the token, under the attack: %v after %s", err, d)
		}
		took = append(took, d)
		time.Sleep(100 * time.Millisecond)
	}
	after, peak := rss(t, pid)
	t.Logf("serve resident: %.1f MB before, %.1f MB with 500 connections of %d header lines held (peak %.1f MB); fetches meanwhile: %v",
		float64(before)/(1<<20), float64(after)/(1<<20), strings.Count(lines.String(), "\n"), float64(peak)/(1<<20), took)
	if peak >= 64<<20 {
		t.Errorf("peak resident %.1f MB, want under 64 MB", float64(peak)/(1<<20))
	}
}
