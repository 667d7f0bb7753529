//go:build unix

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
)

// The container credentials server end to end: exec --serve and serve
// with the real AWS CLI (v1 and v2) and boto3, which find it through
// AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN
// alone. STS calls are counted where they arrive: moto's STS sits behind a
// proxy that counts each action (moto keeps no log of calls), and the fake
// STS records every request it parses.

// stsCounter forwards every request to an STS (moto) and counts them by
// the Query protocol's Action, so a test can tell the exchanges that
// gcp-aws-cred makes from the clients' own STS calls.
type stsCounter struct {
	URL string
	mu  sync.Mutex
	n   map[string]int
}

func countSTS(t *testing.T, upstream string) *stsCounter {
	t.Helper()
	target, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	c := &stsCounter{n: map[string]int{}}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		form, _ := url.ParseQuery(string(body))
		action := form.Get("Action")
		if action == "" {
			action = "(none)"
		}
		c.mu.Lock()
		c.n[action]++
		c.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

// calls is how many requests with this Action went through.
func (c *stsCounter) calls(action string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[action]
}

func (c *stsCounter) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprint(c.n)
}

// setEnv returns env with k set to v, replacing any earlier value.
func setEnv(env []string, k, v string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if name, _, _ := strings.Cut(kv, "="); name != k {
			out = append(out, kv)
		}
	}
	return append(out, k+"="+v)
}

// runLong is world.run with a longer deadline, for a child that is meant
// to outlive several sets of credentials.
func runLong(t *testing.T, env []string, dir string, timeout time.Duration, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env, cmd.Dir = env, dir
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// serverAddr finds the uri=… line a child printed and returns the
// server's host:port, checking the URI has the form the SDKs accept.
func serverAddr(t *testing.T, out string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^uri=(.*)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the child printed no uri= line:\n%s", out)
	}
	u, err := url.Parse(m[1])
	if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "" {
		t.Fatalf("AWS_CONTAINER_CREDENTIALS_FULL_URI %q: want http://127.0.0.1:PORT/…", m[1])
	}
	return u.Host
}

// checkClosed fails unless nothing listens at addr any more.
func checkClosed(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after the server should have stopped", addr)
	} else if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("dialling %s after the server stopped: %v, want connection refused", addr, err)
	}
}

// checkQuiet fails on any line of gcp-aws-cred's in stderr: exec --serve
// logs only failures.
func checkQuiet(t *testing.T, stderr string) {
	t.Helper()
	if strings.Contains(stderr, "gcp-aws-cred:") {
		t.Errorf("exec --serve wrote to stderr on success:\n%s", stderr)
	}
}

// TestExecServeOneExchange runs ten AWS CLI v1 commands, STS and S3 mixed,
// under exec --serve: they make exactly one AssumeRoleWithWebIdentity call
// between them, where credential_process would make ten. The parent's
// environment names the credential_process profile (AWS_PROFILE) and holds
// stale keys; exec --serve must hide both from the child, or the CLI would
// run the credential process per command or sign with the wrong keys (and
// moto would answer get-caller-identity for some other identity). Then
// AWS CLI v2 does the same with one more exchange. Afterwards nothing
// listens on the server's port and HOME holds only the config the test
// wrote.
func TestExecServeOneExchange(t *testing.T) {
	w := setup(t)
	moto := w.motoURL()
	counter := countSTS(t, moto)
	env := setEnv(w.env, "AWS_ENDPOINT_URL_STS", counter.URL)
	env = setEnv(env, "AWS_PROFILE", "gcp")
	env = setEnv(env, "AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	env = setEnv(env, "AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	w.env = env

	// Ten aws commands; set -e stops at the first that fails.
	const script = `set -e
echo "uri=$AWS_CONTAINER_CREDENTIALS_FULL_URI"
aws sts get-caller-identity --output json
aws s3 mb s3://serve-e2e
printf 'from memory' | aws s3 cp - s3://serve-e2e/greeting
aws s3 ls s3://serve-e2e
aws sts get-caller-identity --query Arn --output text
aws s3 cp s3://serve-e2e/greeting -; echo
aws s3api list-buckets --query 'Buckets[].Name' --output text
aws s3api head-object --bucket serve-e2e --key greeting --query ContentLength --output text
aws s3 rm s3://serve-e2e/greeting
aws sts get-caller-identity --query Arn --output text
`
	out, errOut, err := w.run(t, w.bin, "exec", "--serve", "--role", role, "--session-name", session, "--", "sh", "-c", script)
	if err != nil {
		t.Fatalf("exec --serve: %v\nstdout: %s\nstderr: %s", err, out, errOut)
	}
	addr := serverAddr(t, out)
	if n := strings.Count(out, wantARN); n != 3 {
		t.Errorf("the three get-caller-identity calls printed %s %d times, want 3 (another identity answered?):\n%s", wantARN, n, out)
	}
	for _, want := range []string{"from memory\n", "serve-e2e\n", "\n11\n", "delete: s3://serve-e2e/greeting"} {
		if !strings.Contains(out, want) {
			t.Errorf("the commands' output lacks %q:\n%s", want, out)
		}
	}
	if got := counter.calls("AssumeRoleWithWebIdentity"); got != 1 {
		t.Errorf("ten aws commands under exec --serve made %d AssumeRoleWithWebIdentity calls, want 1 (STS saw %s)", got, counter)
	}
	// The CLI's own calls went through the counter too, so it sees the
	// traffic it is meant to count.
	if got := counter.calls("GetCallerIdentity"); got != 3 {
		t.Errorf("STS saw %d GetCallerIdentity calls, want the CLI's 3 (STS saw %s)", got, counter)
	}
	checkQuiet(t, errOut)
	checkClosed(t, addr)

	t.Run("AWS CLI v2", func(t *testing.T) {
		v2 := awsV2(t)
		// v2 before 2.13 ignores AWS_ENDPOINT_URL_STS; its own calls take
		// --endpoint-url, gcp-aws-cred still reads the variable.
		script := fmt.Sprintf(`set -e
echo "uri=$AWS_CONTAINER_CREDENTIALS_FULL_URI"
%[1]s --endpoint-url %[2]s sts get-caller-identity --query Arn --output text
%[1]s --endpoint-url %[3]s s3 mb s3://serve-e2e-v2
%[1]s --endpoint-url %[3]s s3 ls
%[1]s --endpoint-url %[2]s sts get-caller-identity --query Arn --output text
`, v2, counter.URL, moto)
		before := counter.calls("AssumeRoleWithWebIdentity")
		out, errOut, err := w.run(t, w.bin, "exec", "--serve", "--role", role, "--session-name", session, "--", "sh", "-c", script)
		if err != nil {
			t.Fatalf("exec --serve with AWS CLI v2: %v\nstdout: %s\nstderr: %s", err, out, errOut)
		}
		if n := strings.Count(out, wantARN); n != 2 {
			t.Errorf("v2's get-caller-identity printed %s %d times, want 2:\n%s", wantARN, n, out)
		}
		if !strings.Contains(out, "serve-e2e-v2") {
			t.Errorf("v2's s3 ls does not list the bucket:\n%s", out)
		}
		if got := counter.calls("AssumeRoleWithWebIdentity") - before; got != 1 {
			t.Errorf("four AWS CLI v2 commands made %d AssumeRoleWithWebIdentity calls, want 1", got)
		}
		checkQuiet(t, errOut)
		checkClosed(t, serverAddr(t, out))
	})

	if got, want := filesUnder(t, w.home), []string{".aws", ".aws/config"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("HOME holds %v, want only %v", got, want)
	}
}

// served is what a credentials request to serve returned.
type served struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string
	Token           string
	Expiration      string
	AccountID       string `json:"AccountId"`
}

// startServe runs `serve` with env until the test ends and returns the
// variables it printed, as a client would eval them, and the process.
func startServe(t *testing.T, env []string, args ...string) (vars map[string]string, cmd *exec.Cmd, stderr *syncBuffer) {
	t.Helper()
	return startServeN(t, 2, env, args...)
}

// startServeN is startServe for a serve that prints n variables.
func startServeN(t *testing.T, n int, env []string, args ...string) (vars map[string]string, cmd *exec.Cmd, stderr *syncBuffer) {
	t.Helper()
	cmd = exec.Command(binPath, append([]string{"serve"}, args...)...)
	cmd.Env = env
	cmd.SysProcAttr = orphanProof()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr = &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	vars = map[string]string{}
	sc := bufio.NewScanner(stdout)
	for len(vars) < n && sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
		if !ok {
			t.Fatalf("serve printed %q, want NAME=value lines", sc.Text())
		}
		if u, err := strconv.Unquote(v); err == nil {
			v = u
		}
		vars[k] = strings.Trim(v, "'")
	}
	if len(vars) < n {
		t.Fatalf("serve printed %v and stopped; stderr:\n%s", vars, stderr.String())
	}
	return vars, cmd, stderr
}

// syncBuffer is a strings.Builder that a process may write to while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// boto3ViaContainer is run by python with only serve's two variables for
// credentials: it prints which provider boto3's default chain used, the
// caller's ARN, and an object it wrote to S3 and read back.
const boto3ViaContainer = `
import json, sys, boto3
session = boto3.Session()
creds = session.get_credentials()
arn = session.client("sts").get_caller_identity()["Arn"]
s3 = session.client("s3")
bucket = sys.argv[1]
s3.create_bucket(Bucket=bucket)
s3.put_object(Bucket=bucket, Key="k", Body=b"boto3 via serve")
body = s3.get_object(Bucket=bucket, Key="k")["Body"].read().decode()
names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
print(json.dumps({"method": creds.method, "arn": arn, "body": body, "listed": bucket in names}))
`

// TestServeBoto3 starts `serve`, gives boto3 nothing but the variables it
// printed (and where moto is), and checks boto3's default chain takes the
// container provider, STS knows the role it calls as, and S3 works; two
// boto3 processes and an AWS CLI command later, STS has still seen one
// exchange. serve is then stopped with SIGTERM: it exits 0, leaves nothing
// listening, never printed a secret, and HOME holds only the test's config.
func TestServeBoto3(t *testing.T) {
	w := setup(t)
	moto := w.motoURL()
	counter := countSTS(t, moto)
	serveEnv := setEnv(w.env, "AWS_ENDPOINT_URL_STS", counter.URL)
	vars, cmd, stderr := startServe(t, serveEnv, "--role", role, "--session-name", session)
	uri, token := vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"], vars["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
	if uri == "" || token == "" {
		t.Fatalf("serve printed %v, want the URI and the token it generated", vars)
	}
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}

	// The client: what a workload has, plus serve's two variables.
	client := append(cleanEnv(w.home),
		"AWS_CONTAINER_CREDENTIALS_FULL_URI="+uri,
		"AWS_CONTAINER_AUTHORIZATION_TOKEN="+token,
		"AWS_ENDPOINT_URL_STS="+counter.URL,
		"AWS_ENDPOINT_URL="+moto,
		"AWS_DEFAULT_REGION=us-east-1",
	)
	for i, bucket := range []string{"serve-boto3-a", "serve-boto3-b"} {
		out, errOut, err := runIn(t, client, w.home, python(), "-c", boto3ViaContainer, bucket)
		if err != nil {
			t.Fatalf("boto3 (%d): %v\nstdout: %s\nstderr: %s\nserve's log:\n%s", i+1, err, out, errOut, stderr.String())
		}
		var got struct {
			Method, Arn, Body string
			Listed            bool
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("boto3 printed %q: %v", out, err)
		}
		if got.Method != "container-role" {
			t.Errorf("boto3 took its credentials from %q, want the container provider (container-role)", got.Method)
		}
		if got.Arn != wantARN {
			t.Errorf("boto3 get_caller_identity: Arn %q, want %q", got.Arn, wantARN)
		}
		if got.Body != "boto3 via serve" || !got.Listed {
			t.Errorf("boto3's S3 round trip: read %q, bucket listed %v", got.Body, got.Listed)
		}
	}
	out, errOut, err := runIn(t, client, w.home, "aws", "sts", "get-caller-identity", "--output", "json")
	if err != nil {
		t.Fatalf("aws with serve's variables: %v\n%s", err, errOut)
	}
	if arn := callerARN(t, out); arn != wantARN {
		t.Errorf("aws sts get-caller-identity: Arn %q, want %q", arn, wantARN)
	}
	if got := counter.calls("AssumeRoleWithWebIdentity"); got != 1 {
		t.Errorf("serve and three clients made %d AssumeRoleWithWebIdentity calls, want the 1 at start (STS saw %s)", got, counter)
	}

	// What the clients were served, to look for it where it must not be.
	req, _ := http.NewRequest(http.MethodGet, uri, nil)
	req.Header.Set("Authorization", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var creds served
	err = json.NewDecoder(resp.Body).Decode(&creds)
	resp.Body.Close()
	if err != nil || creds.SecretAccessKey == "" || creds.Token == "" {
		t.Fatalf("serve answered %d, %v", resp.StatusCode, err)
	}
	resp, err = http.Get("http://" + u.Host + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz answered %d while serving, want 200", resp.StatusCode)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after SIGTERM: %v, want exit 0\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	checkClosed(t, u.Host)
	log := stderr.String()
	for _, want := range []string{"gcp-aws-cred: serving " + role + " as session " + session + " at " + uri, "stopping: received terminated"} {
		if !strings.Contains(log, want) {
			t.Errorf("serve's log lacks %q:\n%s", want, log)
		}
	}
	for name, secret := range map[string]string{"the secret key": creds.SecretAccessKey, "the session token": creds.Token, "the authorization token": token} {
		if strings.Contains(log, secret) {
			t.Errorf("serve's log shows %s:\n%s", name, log)
		}
	}
	if got, want := filesUnder(t, w.home), []string{".aws", ".aws/config"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("HOME holds %v, want only %v", got, want)
	}
}

// boto3Outlives keeps one boto3 client calling STS for argv[1] seconds.
// Its credentials come from the container provider, which botocore asks
// again whenever what it holds has less than 15 minutes left: every call,
// here. It prints how many calls it made and how many distinct access keys
// signed them.
const boto3Outlives = `
import sys, time, boto3
session = boto3.Session()
sts = session.client("sts")
end = time.time() + float(sys.argv[1])
calls, keys = 0, set()
while time.time() < end:
    sts.get_caller_identity()
    keys.add(session.get_credentials().get_frozen_credentials().access_key)
    calls += 1
    time.sleep(0.5)
print("boto3-calls=%d boto3-keys=%d" % (calls, len(keys)))
`

// TestExecServeOutlivesCredentials has the fake STS issue credentials that
// live 20 seconds and runs, under exec --serve, a loop of AWS CLI commands
// and one long-lived boto3 client side by side for more than two of those
// lifetimes. The fake STS answers get-caller-identity only when signed
// with keys it issued that have not expired, so every call succeeding
// shows the child was always handed live credentials; more than one
// exchange and more than one key in use show they were refreshed, and
// fewer exchanges than calls show they came from memory.
func TestExecServeOutlivesCredentials(t *testing.T) {
	requireTools(t)
	const lifetime = 20 * time.Second
	span := 9 * lifetime / 4
	fk, err := fakes.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fk.Close)
	fk.STS.Lifetime(lifetime)
	home := t.TempDir()
	env := append(cleanEnv(home), fk.Env()...)
	env = append(env, "AWS_DEFAULT_REGION=us-east-1")

	script := fmt.Sprintf(`echo "uri=$AWS_CONTAINER_CREDENTIALS_FULL_URI"
%s -c '%s' %d &
boto3=$!
begin=$(date +%%s)
end=$(( begin + %d ))
n=0
while [ "$(date +%%s)" -lt "$end" ]; do
  aws sts get-caller-identity --query Arn --output text || exit 1
  n=$((n+1))
done
wait $boto3 || exit 1
echo "cli-calls=$n ran=$(( $(date +%%s) - begin ))"
`, python(), boto3Outlives, int(span.Seconds()), int(span.Seconds()))
	start := time.Now()
	out, errOut, err := runLong(t, env, home, span+90*time.Second, binPath, "exec", "--serve", "--role", role, "--session-name", session, "--", "sh", "-c", script)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("exec --serve with credentials of %s: %v after %s\nstdout: %s\nstderr: %s", lifetime, err, elapsed.Round(time.Second), out, errOut)
	}
	m := regexp.MustCompile(`boto3-calls=(\d+) boto3-keys=(\d+)`).FindStringSubmatch(out)
	c := regexp.MustCompile(`cli-calls=(\d+) ran=(\d+)`).FindStringSubmatch(out)
	if m == nil || c == nil {
		t.Fatalf("the child's counts are missing:\n%s", out)
	}
	// The span is read on the wall clock, as the script and the fake STS's
	// expirations count it: a jump of the machine's clock shortens all of
	// them alike, while the monotonic elapsed would not.
	if ran, _ := strconv.Atoi(c[2]); time.Duration(ran)*time.Second < 2*lifetime {
		t.Errorf("the child ran for %ds by its clock, not more than two lifetimes (%s)", ran, 2*lifetime)
	}
	boto3Calls, _ := strconv.Atoi(m[1])
	boto3Keys, _ := strconv.Atoi(m[2])
	cliCalls, _ := strconv.Atoi(c[1])
	if n := strings.Count(out, wantARN); n != cliCalls {
		t.Errorf("%d AWS CLI calls printed the role's ARN %d times", cliCalls, n)
	}
	if boto3Keys < 2 {
		t.Errorf("one boto3 client used %d access key over %s (%d calls), want the refreshed ones too", boto3Keys, span, boto3Calls)
	}

	var exchanges, calls int
	keys := map[string]bool{}
	for _, r := range fk.STS.Received() {
		switch r.Form.Get("Action") {
		case "AssumeRoleWithWebIdentity":
			exchanges++
		case "GetCallerIdentity":
			calls++
			if k := regexp.MustCompile(`Credential=(\w+)/`).FindStringSubmatch(r.Authorization); k != nil {
				keys[k[1]] = true
			}
		}
	}
	if calls != cliCalls+boto3Calls {
		t.Errorf("the fake STS saw %d GetCallerIdentity calls, the child made %d", calls, cliCalls+boto3Calls)
	}
	if exchanges < 2 || exchanges >= calls {
		t.Errorf("%d exchanges for %d calls over %s with credentials of %s: want more than one (refreshed) and fewer than the calls (from memory)", exchanges, calls, elapsed.Round(time.Second), lifetime)
	}
	if len(keys) < 2 {
		t.Errorf("the calls were signed with %d distinct access keys, want more than one", len(keys))
	}
	t.Logf("%s: %d exchanges, %d calls (%d AWS CLI, %d boto3) signed with %d keys", elapsed.Round(time.Second), exchanges, calls, cliCalls, boto3Calls, len(keys))
	checkQuiet(t, errOut)
	checkClosed(t, serverAddr(t, out))
	if got := filesUnder(t, home); len(got) != 0 {
		t.Errorf("HOME holds %v, want nothing", got)
	}
}
