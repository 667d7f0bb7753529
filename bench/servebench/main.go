// Command servebench measures what `serve` and `exec --serve` buy and cost,
// and prints Markdown tables for docs/benchmarks.md.
//
//	go run ./bench/servebench                    # about 20 minutes
//	go run ./bench/servebench -smoke             # seconds: checks it works, figures meaningless
//	go run ./bench/servebench -script=false -resolves 0   # serve under load only
//
// It builds the release binary (or takes -bin), starts the project's fake
// metadata server and fake STS in this process, and measures three things.
//
// A script of -commands AWS CLI commands (`aws sts get-caller-identity`,
// answered by the fake STS, which checks the signature against keys it
// issued), run three ways: each command running the credential process from
// a credential_process profile; under `exec` (one exchange, static keys);
// under `exec --serve` (one exchange, keys from memory over the container
// credentials protocol). Each way runs with the fake STS answering at once
// and with every STS answer held back by -delay, the round trip from Google
// Cloud to AWS; the CLI's own call pays it too, as it would against AWS.
// Wall time is measured around the whole script, and the STS calls are
// the AssumeRoleWithWebIdentity requests the fake received during it. The
// ways run interleaved, rotating who goes first, over -rounds rounds, and
// medians are reported: the machine may be shared. A CLI command spends
// most of a second on its own start-up, which buries the few milliseconds
// between the ways under the noise of a shared machine, so what each way
// costs one command is also timed where it happens: botocore's default
// credential chain inside a fresh Python process (-resolves runs each).
//
// serve under load: `serve` runs as its own process; a load generator in
// this process sends credentials requests over loopback, with keep-alive
// from one client (latency), from -clients concurrent clients
// (throughput), and with a new connection per request from one client (as
// each AWS CLI process makes). serve's resident memory (VmRSS) is read
// after each phase: after 1,000 requests, 11,000, 100,000 and so on to
// -requests; and its CPU time per request from /proc. Client and server
// share the machine's cores, so throughput is a floor.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
)

const role = "arn:aws:iam::123456789012:role/bench"

type options struct {
	bin      string
	rounds   int
	commands int
	delay    time.Duration
	script   bool
	load     bool
	requests int
	clients  int
	fresh    int
	resolves int
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "the gcp-aws-cred binary to measure (default: build the release binary from this tree)")
	flag.IntVar(&o.rounds, "rounds", 9, "rounds of the script comparison")
	flag.IntVar(&o.commands, "commands", 20, "aws commands in the script")
	flag.DurationVar(&o.delay, "delay", 100*time.Millisecond, "the simulated STS round trip")
	flag.BoolVar(&o.script, "script", true, "run the script comparison (needs the AWS CLI on PATH)")
	flag.BoolVar(&o.load, "load", true, "run serve under load")
	flag.IntVar(&o.requests, "requests", 200_000, "credentials requests to serve in all (at least 100,000 for the memory figure)")
	flag.IntVar(&o.clients, "clients", 8, "concurrent clients for the throughput figure")
	flag.IntVar(&o.fresh, "fresh", 5_000, "requests on a new connection each")
	flag.IntVar(&o.resolves, "resolves", 40, "fresh botocore processes per way and delay that time getting credentials (0: none)")
	smoke := flag.Bool("smoke", false, "a run of seconds that checks the benchmark works (figures meaningless)")
	flag.Parse()
	if *smoke {
		o.rounds, o.commands, o.requests, o.fresh, o.resolves = 1, 2, 3_000, 200, 1
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "servebench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	tmp, err := os.MkdirTemp("", "servebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if o.bin == "" {
		o.bin = filepath.Join(tmp, "gcp-aws-cred")
		fmt.Fprintln(os.Stderr, "building the release binary…")
		build := exec.Command("go", "build", "-trimpath", "-tags", "nethttpomithttp2", "-ldflags=-s -w", "-o", o.bin, ".")
		build.Dir = moduleRoot()
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %v\n%s", err, out)
		}
	}
	fk, err := fakes.Start()
	if err != nil {
		return err
	}
	defer fk.Close()
	home := filepath.Join(tmp, "home")
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		return err
	}
	config := fmt.Sprintf("[profile gcp]\ncredential_process = %s --role %s\n", o.bin, role)
	if err := os.WriteFile(filepath.Join(home, ".aws", "config"), []byte(config), 0o600); err != nil {
		return err
	}
	env := append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
		"NO_PROXY=127.0.0.1,localhost",
		"PYTHONDONTWRITEBYTECODE=1",
	}, fk.Env()...)

	fmt.Printf("## serve and exec --serve, %s\n\n%s\n", time.Now().Format("2006-01-02"), machine())
	if o.script {
		if err := scriptTable(o, fk, env, home); err != nil {
			return err
		}
	}
	if o.resolves > 0 {
		if err := resolveTable(o, fk, env, home); err != nil {
			return err
		}
	}
	if o.load {
		if err := loadTables(o, env, home); err != nil {
			return err
		}
	}
	return nil
}

// way is one way of running the script.
type way struct {
	name string
	argv func(script string) []string
	env  []string
}

func scriptTable(o options, fk *fakes.Servers, env []string, home string) error {
	if _, err := exec.LookPath("aws"); err != nil {
		return errors.New("the script comparison needs the AWS CLI (pip install awscli), or -script=false")
	}
	script := fmt.Sprintf(`i=0
while [ $i -lt %d ]; do
  aws sts get-caller-identity --output text >/dev/null || exit 1
  i=$((i+1))
done`, o.commands)
	ways := []way{
		{"credential_process (per command)", func(s string) []string { return []string{"sh", "-c", s} }, append(slices.Clone(env), "AWS_PROFILE=gcp")},
		{"exec", func(s string) []string { return []string{o.bin, "exec", "--role", role, "--", "sh", "-c", s} }, env},
		{"exec --serve", func(s string) []string {
			return []string{o.bin, "exec", "--serve", "--role", role, "--", "sh", "-c", s}
		}, env},
	}
	delays := []time.Duration{0, o.delay}
	type key struct {
		way   int
		delay time.Duration
	}
	wall := map[key][]time.Duration{}
	calls := map[key][]int{}
	exchanges := func() int {
		n := 0
		for _, r := range fk.STS.Received() {
			if r.Form.Get("Action") == "AssumeRoleWithWebIdentity" {
				n++
			}
		}
		return n
	}
	fmt.Fprintf(os.Stderr, "script: %d aws commands, 3 ways, 2 STS delays, %d rounds…\n", o.commands, o.rounds)
	for r := 0; r < o.rounds; r++ {
		for di := range delays {
			d := delays[(di+r)%len(delays)]
			fk.STS.Delay(d)
			for wi := range ways {
				i := (wi + r) % len(ways)
				w := ways[i]
				before := exchanges()
				start := time.Now()
				cmd := exec.Command(w.argv(script)[0], w.argv(script)[1:]...)
				cmd.Env, cmd.Dir = w.env, home
				out, err := cmd.CombinedOutput()
				took := time.Since(start)
				if err != nil {
					return fmt.Errorf("%s: %v\n%s", w.name, err, out)
				}
				k := key{i, d}
				wall[k] = append(wall[k], took)
				calls[k] = append(calls[k], exchanges()-before)
				fmt.Fprintf(os.Stderr, "  round %d, delay %s, %s: %s\n", r+1, d, w.name, took.Round(time.Millisecond))
			}
		}
	}
	fk.STS.Delay(0)

	fmt.Printf("\n%d × `aws sts get-caller-identity` (AWS CLI %s) in one `sh` script, %d interleaved rounds; wall time of the whole script, median and fastest round:\n\n",
		o.commands, awsVersion(), o.rounds)
	fmt.Printf("| way | STS calls | STS at once: median | fastest | STS %s away: median | fastest |\n", o.delay)
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	for i, w := range ways {
		all := append(slices.Clone(calls[key{i, 0}]), calls[key{i, o.delay}]...)
		count := strconv.Itoa(slices.Max(all))
		if m := slices.Min(all); m != slices.Max(all) {
			count = fmt.Sprintf("%d–%d", m, slices.Max(all))
		}
		a, b := wall[key{i, 0}], wall[key{i, o.delay}]
		fmt.Printf("| %s | %s | %s | %s | %s | %s |\n", w.name, count, sec(median(a)), sec(slices.Min(a)), sec(median(b)), sec(slices.Min(b)))
	}
	// A burst of load from elsewhere lasts seconds and hits one script and
	// not the next, so the ways are also compared pairwise: the difference
	// between two ways run back to back in the same round, per command.
	fmt.Printf("\nCompared with credential_process in the same round, per command (median of %d rounds):\n\n", o.rounds)
	fmt.Printf("| way | STS at once | STS %s away |\n|---|---:|---:|\n", o.delay)
	for i := 1; i < len(ways); i++ {
		var cells []string
		for _, d := range delays {
			var diff []time.Duration
			for r := range wall[key{0, d}] {
				diff = append(diff, (wall[key{i, d}][r]-wall[key{0, d}][r])/time.Duration(o.commands))
			}
			cells = append(cells, fmt.Sprintf("%+.0f ms", float64(median(diff))/float64(time.Millisecond)))
		}
		fmt.Printf("| %s | %s | %s |\n", ways[i].name, cells[0], cells[1])
	}
	return nil
}

// server is a running `serve`.
type server struct {
	uri, token string
	cmd        *exec.Cmd
	log        strings.Builder // read only after stop
	once       sync.Once
}

// startServer runs `serve` as its own process and reads the variables it
// prints.
func startServer(o options, env []string, home string) (*server, error) {
	s := &server{cmd: exec.Command(o.bin, "serve", "--role", role, "--output", "env-no-export")}
	s.cmd.Env, s.cmd.Dir = env, home
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s.cmd.Stderr = &s.log
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	vars := map[string]string{}
	buf := make([]byte, 4096)
	var got []byte
	for len(vars) < 2 {
		n, err := stdout.Read(buf)
		got = append(got, buf[:n]...)
		for _, line := range strings.Split(string(got), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				vars[k] = strings.Trim(v, "'")
			}
		}
		if err != nil {
			s.stop()
			return nil, fmt.Errorf("serve printed %q and stopped: %v\n%s", got, err, s.log.String())
		}
	}
	s.uri, s.token = vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"], vars["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
	return s, nil
}

// stop kills serve and waits for it, and so for its log to be complete.
func (s *server) stop() {
	s.once.Do(func() { _ = s.cmd.Process.Kill(); _ = s.cmd.Wait() })
}

// resolve is run by python in a fresh process, as each aws command is: it
// times botocore's default credential chain from a new session to frozen
// credentials (the import of botocore, the same for every way, is left
// out) and prints the milliseconds and the provider that answered.
const resolve = `
import time, botocore.session
t0 = time.perf_counter()
session = botocore.session.get_session()
creds = session.get_credentials()
frozen = creds.get_frozen_credentials()
t1 = time.perf_counter()
assert frozen.access_key and frozen.token
print("%.3f %s" % ((t1 - t0) * 1e3, creds.method))
`

// resolveTable times what each way costs an AWS CLI command to get its
// credentials, inside a fresh botocore process, far more precisely than
// the difference between two whole scripts.
func resolveTable(o options, fk *fakes.Servers, env []string, home string) error {
	python := "python3"
	if p := os.Getenv("E2E_PYTHON"); p != "" {
		python = p
	}
	srv, err := startServer(o, env, home)
	if err != nil {
		return err
	}
	defer srv.stop()
	get := exec.Command(o.bin, "--role", role)
	get.Env = env
	out, err := get.Output()
	if err != nil {
		return fmt.Errorf("the credential process: %v", err)
	}
	var doc struct{ AccessKeyId, SecretAccessKey, SessionToken string }
	if err := json.Unmarshal(out, &doc); err != nil {
		return err
	}
	ways := []struct {
		name, method string
		env          []string
	}{
		{"credential_process (per command)", "custom-process", append(slices.Clone(env), "AWS_PROFILE=gcp")},
		{"exec", "env", append(slices.Clone(env), "AWS_ACCESS_KEY_ID="+doc.AccessKeyId, "AWS_SECRET_ACCESS_KEY="+doc.SecretAccessKey, "AWS_SESSION_TOKEN="+doc.SessionToken)},
		{"exec --serve", "container-role", append(slices.Clone(env), "AWS_CONTAINER_CREDENTIALS_FULL_URI="+srv.uri, "AWS_CONTAINER_AUTHORIZATION_TOKEN="+srv.token)},
	}
	delays := []time.Duration{0, o.delay}
	took := map[string][]time.Duration{}
	fmt.Fprintf(os.Stderr, "credentials in a fresh botocore process: %d runs each…\n", o.resolves)
	for r := 0; r < o.resolves; r++ {
		for di := range delays {
			d := delays[(di+r)%len(delays)]
			fk.STS.Delay(d)
			for wi := range ways {
				w := ways[(wi+r)%len(ways)]
				cmd := exec.Command(python, "-c", resolve)
				cmd.Env, cmd.Dir = w.env, home
				out, err := cmd.CombinedOutput()
				if err != nil {
					return fmt.Errorf("%s: %v\n%s", w.name, err, out)
				}
				f := strings.Fields(string(out))
				v, err := strconv.ParseFloat(f[0], 64)
				if err != nil || len(f) != 2 || f[1] != w.method {
					return fmt.Errorf("%s: botocore printed %q, want the time and %s", w.name, out, w.method)
				}
				k := fmt.Sprint(w.name, d)
				took[k] = append(took[k], time.Duration(v*float64(time.Millisecond)))
			}
		}
	}
	fk.STS.Delay(0)
	fmt.Printf("\nWhat each way costs one AWS CLI command to get its credentials: botocore's default chain, from a new session to credentials, timed inside a fresh Python process (botocore %s); %d runs each, interleaved:\n\n", botocoreVersion(python), o.resolves)
	fmt.Printf("| way | provider | STS at once: median | p90 | STS %s away: median | p90 |\n|---|---|---:|---:|---:|---:|\n", o.delay)
	for _, w := range ways {
		a, b := took[fmt.Sprint(w.name, time.Duration(0))], took[fmt.Sprint(w.name, o.delay)]
		slices.Sort(a)
		slices.Sort(b)
		fmt.Printf("| %s | %s | %s | %s | %s | %s |\n", w.name, w.method, us(median(a)), us(pct(a, 0.9)), us(median(b)), us(pct(b, 0.9)))
	}
	return nil
}

func botocoreVersion(python string) string {
	out, err := exec.Command(python, "-c", "import botocore; print(botocore.__version__)").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

func loadTables(o options, env []string, home string) error {
	if o.requests < 100_000 {
		fmt.Fprintf(os.Stderr, "-requests %d: the memory figure after 100,000 requests is left out\n", o.requests)
	}
	srv, err := startServer(o, env, home)
	if err != nil {
		return err
	}
	defer srv.stop()
	uri, token, pid := srv.uri, srv.token, srv.cmd.Process.Pid

	// The first answer must be credentials, or the figures would time errors.
	var doc struct{ AccessKeyId, SecretAccessKey, Token, Expiration string }
	if err := fetchJSON(uri, token, &doc); err != nil || doc.AccessKeyId == "" || doc.Token == "" || doc.Expiration == "" {
		return fmt.Errorf("serve's first answer: %+v, %v", doc.AccessKeyId, err)
	}

	type phase struct {
		name     string
		clients  int
		requests int
		fresh    bool
	}
	var (
		rows  []string
		rss   []string
		total int
	)
	memory := func() {
		r, err := vmRSS(pid)
		if err != nil {
			rss = append(rss, fmt.Sprintf("| after %s requests | %v |", thousands(total), err))
			return
		}
		rss = append(rss, fmt.Sprintf("| after %s requests | %.1f MiB |", thousands(total), float64(r)/1024))
	}
	warm := min(1_000, o.requests)
	latencyN := min(10_000, o.requests-warm)
	phases := []phase{
		{"warm-up", o.clients, warm, false},
		{"keep-alive, 1 client", 1, latencyN, false},
		{fmt.Sprintf("keep-alive, %d clients", o.clients), o.clients, max(0, min(100_000, o.requests)-warm-latencyN), false},
		{"new connection per request, 1 client", 1, o.fresh, true},
		{fmt.Sprintf("keep-alive, %d clients (more)", o.clients), o.clients, max(0, o.requests-100_000-o.fresh), false},
	}
	fmt.Fprintf(os.Stderr, "serve under load: %d requests…\n", o.requests+o.fresh)
	for _, p := range phases {
		if p.requests == 0 {
			continue
		}
		cpu0, _ := cpuTime(pid)
		lat, took, err := load(uri, token, p.clients, p.requests, p.fresh)
		if err != nil {
			srv.stop()
			return fmt.Errorf("%s: %v\nserve's log:\n%s", p.name, err, srv.log.String())
		}
		cpu1, _ := cpuTime(pid)
		total += p.requests
		memory()
		if p.name == "warm-up" {
			continue
		}
		slices.Sort(lat)
		rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %.0f/s | %.0f µs |", p.name, thousands(p.requests),
			us(pct(lat, 0.50)), us(pct(lat, 0.90)), us(pct(lat, 0.99)), us(lat[len(lat)-1]),
			float64(p.requests)/took.Seconds(), float64(cpu1-cpu0)/float64(time.Microsecond)/float64(p.requests)))
	}
	if r, err := vmHWM(pid); err == nil {
		rss = append(rss, fmt.Sprintf("| peak (VmHWM) | %.1f MiB |", float64(r)/1024))
	}

	fmt.Printf("\n`serve` on loopback (GET of the credentials endpoint with its token; client and server on the same %d cores):\n\n", runtime.NumCPU())
	fmt.Println("| load | requests | p50 | p90 | p99 | max | throughput | serve CPU per request |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		fmt.Println(r)
	}
	fmt.Println("\n| serve's resident memory (VmRSS) | |\n|---|---:|")
	for _, r := range rss {
		fmt.Println(r)
	}
	return nil
}

// load sends n credentials requests from c concurrent clients and returns
// each request's latency and the wall time of the whole.
func load(uri, token string, c, n int, fresh bool) ([]time.Duration, time.Duration, error) {
	tr := &http.Transport{
		Proxy:               nil,
		DisableKeepAlives:   fresh,
		MaxIdleConnsPerHost: c,
		DialContext:         (&net.Dialer{}).DialContext,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, c)
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, uri, nil)
			req.Header.Set("Authorization", token)
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(t0)
				if err != nil || resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("request %d: HTTP %d, %v", i, resp.StatusCode, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return nil, 0, err
	}
	return lat, took, nil
}

func fetchJSON(uri, token string, v any) error {
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, uri, nil)
	req.Header.Set("Authorization", token)
	resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// status reads one "Name: N kB" field of /proc/PID/status, in KiB.
func status(pid int, field string) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

func vmRSS(pid int) (int, error) { return status(pid, "VmRSS") }
func vmHWM(pid int) (int, error) { return status(pid, "VmHWM") }

// cpuTime is the user and system time pid has used, from /proc/PID/stat.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; the fields follow its ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	u, _ := strconv.Atoi(f[11])
	s, _ := strconv.Atoi(f[12])
	// USER_HZ is 100 on every Linux this runs on.
	return time.Duration(u+s) * 10 * time.Millisecond, nil
}

func median(xs []time.Duration) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// pct is the q-quantile of sorted xs (nearest rank).
func pct(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(len(sorted)-1, i))]
}

func sec(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func us(d time.Duration) string {
	if d >= time.Millisecond {
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func awsVersion() string {
	out, err := exec.Command("aws", "--version").CombinedOutput()
	if err != nil {
		return "?"
	}
	v, _, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	return strings.TrimPrefix(v, "aws-cli/")
}

func machine() string {
	cpu := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("Machine: %d × %s; %s %s/%s", runtime.NumCPU(), cpu, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// moduleRoot is the directory of go.mod, for go build.
func moduleRoot() string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "."
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}
