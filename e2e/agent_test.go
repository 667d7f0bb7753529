//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/testbin"
)

// FirstAnswerForTest is agent.FirstAnswer, the client's first wait.
const FirstAnswerForTest = time.Second

// agentWorld is the fakes, a HOME with a credential_process profile, a
// private runtime directory, and a copy of the binary every user may run.
type agentWorld struct {
	srv    *fakes.Servers
	bin    string
	home   string
	rundir string
	sock   string
	env    []string
}

func newAgentWorld(t *testing.T) *agentWorld {
	t.Helper()
	testbin.StatSources()
	if testing.Short() {
		t.Skip("end-to-end tests skipped in -short mode")
	}
	srv, err := fakes.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	// A binary in a directory others may enter, for the run as nobody.
	pub, err := os.MkdirTemp("", "gcp-aws-cred-agent-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(pub) })
	_ = os.Chmod(pub, 0o755)
	bin := filepath.Join(pub, "gcp-aws-cred")
	b, err := os.ReadFile(binPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	home, rundir := t.TempDir(), t.TempDir()
	w := &agentWorld{srv: srv, bin: bin, home: home, rundir: rundir, sock: filepath.Join(rundir, "gcp-aws-cred", "agent.sock")}
	w.env = append(cleanEnv(home),
		"GCE_METADATA_HOST="+srv.MetadataHost,
		"AWS_ENDPOINT_URL_STS="+srv.STSURL,
		"AWS_ENDPOINT_URL="+srv.STSURL,
		"AWS_DEFAULT_REGION=us-east-1",
		"XDG_RUNTIME_DIR="+rundir,
		"GCP_AWS_CRED_AGENT_SOCKET=",
	)
	return w
}

// exchanges counts the AssumeRoleWithWebIdentity calls the fake STS got.
func (w *agentWorld) exchanges() int {
	n := 0
	for _, r := range w.srv.STS.Received() {
		if r.Form.Get("Action") == "AssumeRoleWithWebIdentity" {
			n++
		}
	}
	return n
}

// startAgent runs the agent (argv before the binary, such as strace or
// setpriv) until the test ends, and waits until it answers.
func (w *agentWorld) startAgent(t *testing.T, env []string, prefix ...string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	argv := append(append([]string(nil), prefix...), w.bin, "agent", "--verbose")
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	log := &strings.Builder{}
	cmd.Stderr = log
	cmd.SysProcAttr = orphanProof()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; ; i++ {
		if _, err := os.Stat(w.sock); err == nil {
			if c, err := net.Dial("unix", w.sock); err == nil {
				c.Close()
				break
			}
		}
		if i == 100 {
			t.Fatalf("the agent did not start:\n%s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cmd, log
}

// creds runs the credential process and returns its document.
func (w *agentWorld) creds(t *testing.T, env []string, args ...string) (doc struct {
	AccessKeyId string
	Expiration  time.Time
}, stderr string) {
	t.Helper()
	cmd := exec.Command(w.bin, args...)
	cmd.Env = env
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, errb.String())
	}
	if err := json.Unmarshal([]byte(out.String()), &doc); err != nil {
		t.Fatalf("%v printed %q: %v", args, out.String(), err)
	}
	return doc, errb.String()
}

// TestAgentAWSCLI runs aws sts get-caller-identity through a
// credential_process profile with an agent, then as many without: one
// exchange, then one per command. 20 each way by default (an aws command
// takes a second or two on a loaded machine); E2E_AGENT_RUNS=100 for the
// figure docs/agent.md quotes.
func TestAgentAWSCLI(t *testing.T) {
	w := newAgentWorld(t)
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI is not installed")
	}
	config := fmt.Sprintf("[profile gcp]\ncredential_process = %s --role %s --session-name %s\nregion = us-east-1\n", w.bin, role, session)
	cfg := filepath.Join(w.home, "config")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	env := slices.Concat(w.env, []string{"AWS_CONFIG_FILE=" + cfg})
	w.startAgent(t, env)
	runs := 20
	if n, err := strconv.Atoi(os.Getenv("E2E_AGENT_RUNS")); err == nil && n > 0 {
		runs = n
	}
	aws := func(env []string) {
		for range runs {
			cmd := exec.Command("aws", "--profile", "gcp", "sts", "get-caller-identity", "--output", "json")
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if err != nil || callerARN(t, string(out)) != wantARN {
				t.Fatalf("aws: %v\n%s", err, out)
			}
		}
	}
	start := time.Now()
	aws(env)
	withAgent := time.Since(start)
	if n := w.exchanges(); n != 1 {
		t.Errorf("%d aws commands with an agent made %d AssumeRoleWithWebIdentity calls, want 1", runs, n)
	}
	start = time.Now()
	aws(slices.Concat(env, []string{"GCP_AWS_CRED_NO_AGENT=1"}))
	without := time.Since(start)
	if n := w.exchanges() - 1; n != runs {
		t.Errorf("%d aws commands without the agent made %d AssumeRoleWithWebIdentity calls, want %d", runs, n, runs)
	}
	t.Logf("%d aws commands: with the agent %s (1 exchange), without %s (%d exchanges)", runs, withAgent.Round(time.Millisecond), without.Round(time.Millisecond), w.exchanges()-1)
}

// TestAgent checks entries per inputs, refusals of another user, a killed
// agent, a silent socket, freshness and the stop.
func TestAgent(t *testing.T) {
	w := newAgentWorld(t)
	cmd, log := w.startAgent(t, w.env)
	g, err := fakes.StartGoogle(w.srv.Metadata.Key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	adc := writeADC(t, g, fakes.AuthorizedUser, t.TempDir())
	impEnv := slices.Concat(w.env, []string{"GCP_AWS_CRED_IAM_CREDENTIALS_ENDPOINT=" + g.URL, "GOOGLE_APPLICATION_CREDENTIALS=" + adc})

	// Each set of inputs gets its own entry: an exchange the first time,
	// none the second, and keys no other set gets.
	other := "arn:aws:iam::" + account + ":role/other-role"
	cases := []struct {
		name string
		env  []string
		args []string
	}{
		{"role", w.env, []string{"--role", role}},
		{"another role", w.env, []string{"--role", other}},
		{"another audience", w.env, []string{"--role", role, "--audience", "https://example.com/aud"}},
		{"another duration", w.env, []string{"--role", role, "--duration", "2h"}},
		{"another variable", slices.Concat(w.env, []string{"AWS_REGION=eu-west-1"}), []string{"--role", role}},
		{"impersonation", impEnv, []string{"--role", role, "--impersonate", fakes.TargetEmail}},
		{"a delegate", impEnv, []string{"--role", role, "--impersonate", fakes.DelegateEmail + "," + fakes.TargetEmail}},
	}
	keys := map[string]string{}
	for _, c := range cases {
		before, minted := w.exchanges(), g.IDTokens()
		first, _ := w.creds(t, c.env, c.args...)
		second, _ := w.creds(t, c.env, c.args...)
		if n := w.exchanges() - before; n != 1 {
			t.Errorf("%s: two runs made %d exchanges, want 1", c.name, n)
		}
		if first.AccessKeyId != second.AccessKeyId {
			t.Errorf("%s: the second run got other keys", c.name)
		}
		if prev, ok := keys[first.AccessKeyId]; ok {
			t.Errorf("%s got the keys of %s", c.name, prev)
		}
		keys[first.AccessKeyId] = c.name
		if strings.Contains(c.name, "imperson") || strings.Contains(c.name, "delegate") {
			if n := g.IDTokens() - minted; n != 1 {
				t.Errorf("%s: two runs made %d generateIdToken calls, want 1", c.name, n)
			}
		}
		if left := time.Until(first.Expiration); left < 15*time.Minute {
			t.Errorf("%s: handed out credentials with %s left", c.name, left)
		}
	}

	// 100 runs with --impersonate: one generateIdToken call, one exchange.
	before, minted := w.exchanges(), g.IDTokens()
	for range 100 {
		w.creds(t, impEnv, "--role", role, "--impersonate", fakes.TargetEmail, "--session-name", "hundred")
	}
	if n, m := w.exchanges()-before, g.IDTokens()-minted; n != 1 || m != 1 {
		t.Errorf("100 runs with --impersonate: %d exchanges, %d generateIdToken calls; want 1 and 1", n, m)
	}

	// A first exchange slower than the client's first wait: the agent says
	// it is working on it, the client waits, and STS is called once.
	w.srv.STS.Delay(2 * FirstAnswerForTest)
	before = w.exchanges()
	_, stderr := w.creds(t, w.env, "--role", role, "--session-name", "slow", "--verbose")
	w.srv.STS.Delay(0)
	if n := w.exchanges() - before; n != 1 || !strings.Contains(stderr, "after an exchange with these inputs") {
		t.Errorf("a slow first exchange: %d STS calls, want 1:\n%s", n, stderr)
	}

	// agent --check: 0 with an agent, 1 and a hint without.
	check := exec.Command(w.bin, "agent", "--check")
	check.Env = w.env
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("agent --check with an agent: %v\n%s", err, out)
	}
	check = exec.Command(w.bin, "agent", "--check", "--socket", filepath.Join(w.rundir, "none.sock"))
	check.Env = w.env
	out, err := check.CombinedOutput()
	want := "gcp-aws-cred: error: no agent at " + filepath.Join(w.rundir, "none.sock") + " (connect: no such file or directory)\n"
	if check.ProcessState.ExitCode() != 1 || !strings.HasPrefix(string(out), want) || !strings.Contains(string(out), "hint: start one with") {
		t.Errorf("agent --check without an agent: %v\n%s", err, out)
	}

	// A failure in the agent reaches the caller as a direct run's.
	w.srv.STS.FailNext(fakes.Throttled, fakes.Throttled, fakes.Throttled)
	viaAgent := exec.Command(w.bin, "--role", role, "--session-name", "throttled")
	viaAgent.Env = w.env
	outA, errA := viaAgent.CombinedOutput()
	w.srv.STS.FailNext(fakes.Throttled, fakes.Throttled, fakes.Throttled)
	direct := exec.Command(w.bin, "--role", role, "--session-name", "throttled", "--no-agent")
	direct.Env = w.env
	outD, errD := direct.CombinedOutput()
	if viaAgent.ProcessState.ExitCode() != 75 || string(outA) != string(outD) || direct.ProcessState.ExitCode() != 75 {
		t.Errorf("throttled through the agent: %v\n%s\ndirect: %v\n%s", errA, outA, errD, outD)
	}

	// Another user's process, pointed at the socket, is refused and gets
	// its own credentials directly.
	if os.Getuid() == 0 {
		if setpriv, err := exec.LookPath("setpriv"); err == nil {
			_ = os.Chmod(filepath.Dir(w.rundir), 0o755)
			_ = os.Chmod(w.rundir, 0o755)
			_ = os.Chmod(filepath.Dir(w.sock), 0o755)
			_ = os.Chmod(w.sock, 0o666)
			before := w.exchanges()
			c := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", w.bin, "--role", role, "--verbose")
			c.Env = append(setEnv(w.env, "HOME", "/"), "GCP_AWS_CRED_AGENT_SOCKET="+w.sock)
			out, err := c.Output()
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			if err != nil || !strings.Contains(string(out), "AccessKeyId") {
				t.Errorf("as nobody: %v %s %s", err, out, stderr)
			}
			if w.exchanges() != before+1 {
				t.Errorf("nobody's run made %d exchanges, want its own one", w.exchanges()-before)
			}
			if !strings.Contains(log.String(), "refused a connection from user 65534") {
				t.Errorf("the agent did not log the refusal:\n%s", log)
			}
			_ = os.Chmod(w.sock, 0o600)
			_ = os.Chmod(filepath.Dir(w.sock), 0o700)
			_ = os.Chmod(w.rundir, 0o700)
			_ = os.Chmod(filepath.Dir(w.rundir), 0o700)

			// And the client refuses an agent of another user.
			nbDir, _ := os.MkdirTemp("", "gcp-aws-cred-nobody-")
			defer os.RemoveAll(nbDir)
			_ = os.Chmod(nbDir, 0o755)
			_ = os.Chown(nbDir, 65534, 65534)
			nbSock := filepath.Join(nbDir, "run", "agent.sock")
			nb := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", w.bin, "agent", "--socket", nbSock)
			nb.Env = setEnv(w.env, "HOME", "/")
			nb.SysProcAttr = orphanProof()
			if err := nb.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = nb.Process.Signal(syscall.SIGTERM); _ = nb.Wait() }()
			for i := 0; i < 100; i++ {
				if _, err := os.Stat(nbSock); err == nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			_, stderr = w.creds(t, slices.Concat(w.env, []string{"GCP_AWS_CRED_AGENT_SOCKET=" + nbSock}), "--role", role, "--verbose")
			if !strings.Contains(stderr, "is served by user 65534, not by you") {
				t.Errorf("the client asked another user's agent:\n%s", stderr)
			}
		}
	}

	// A socket that accepts and never answers: the run still succeeds,
	// within the client's bound.
	silentDir := t.TempDir()
	silentSock := filepath.Join(silentDir, "silent.sock")
	ln, err := net.Listen("unix", silentSock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	start := time.Now()
	_, stderr = w.creds(t, slices.Concat(w.env, []string{"GCP_AWS_CRED_AGENT_SOCKET=" + silentSock}), "--role", role, "--verbose")
	took := time.Since(start)
	if !strings.Contains(stderr, "gave no answer within 1s") || took > 5*time.Second {
		t.Errorf("a silent socket: %s\n%s", took, stderr)
	}
	t.Logf("a silent socket: the run succeeded after %s", took.Round(time.Millisecond))

	// SIGTERM stops the agent and removes its socket.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("the agent after SIGTERM: %v\n%s", err, log)
	}
	if _, err := os.Lstat(w.sock); !os.IsNotExist(err) {
		t.Errorf("the socket is still there after SIGTERM: %v", err)
	}

	// Killed between two commands: the next still works, and a new agent
	// replaces the stale socket.
	cmd, log = w.startAgent(t, w.env)
	w.creds(t, w.env, "--role", role)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if _, err := os.Lstat(w.sock); err != nil {
		t.Fatalf("SIGKILL left no stale socket to test with: %v", err)
	}
	w.creds(t, w.env, "--role", role)
	w.startAgent(t, w.env)
	w.creds(t, w.env, "--role", role)
}

// TestAgentWritesNothing runs the agent under strace through an exchange,
// a served run and SIGTERM: nothing is created but its socket directory
// and socket.
func TestAgentWritesNothing(t *testing.T) {
	w := newAgentWorld(t)
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace not installed")
	}
	logFile := filepath.Join(t.TempDir(), "strace.log")
	cmd, log := w.startAgent(t, w.env, strace, "-f", "-qq", "-o", logFile, "-e", "trace=%file,%desc")
	for range 3 {
		w.creds(t, w.env, "--role", role)
	}
	if n := w.exchanges(); n != 1 {
		t.Errorf("3 runs under an agent in strace made %d exchanges", n)
	}
	if err := syscall.Kill(tracee(t, cmd.Process.Pid), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	socketLines := 0
	for _, line := range strings.Split(string(b), "\n") {
		// The socket's directory (made 0700) and the socket (removed at
		// the stop) are the agent's only files.
		if strings.Contains(line, `"`+filepath.Dir(w.sock)+`"`) || strings.Contains(line, `"`+w.sock+`"`) {
			socketLines++
			continue
		}
		kept = append(kept, line)
	}
	if socketLines == 0 {
		t.Errorf("strace saw nothing of the socket:\n%s", b)
	}
	checkTrace(t, "the agent", strings.Join(kept, "\n"))
	if entries, _ := os.ReadDir(w.home); len(entries) > 0 {
		t.Errorf("HOME is no longer empty: %v", entries)
	}
	if entries, _ := os.ReadDir(filepath.Dir(w.sock)); len(entries) > 0 {
		t.Errorf("the socket directory holds %v after the stop", entries)
	}
}

// TestAgentAWSCLIv2 runs AWS CLI v2 (Debian's, or E2E_AWS_V2) through the
// same kind of profile: what it passes the credential process must not
// differ from one command to the next, or every command would be a new
// entry. 10 commands, one exchange.
func TestAgentAWSCLIv2(t *testing.T) {
	w := newAgentWorld(t)
	aws := awsV2(t)
	config := fmt.Sprintf("[profile gcp]\ncredential_process = %s --role %s --session-name %s\nregion = us-east-1\n", w.bin, role, session)
	cfg := filepath.Join(w.home, "config")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	env := slices.Concat(w.env, []string{"AWS_CONFIG_FILE=" + cfg})
	w.startAgent(t, env)
	for range 10 {
		// v2 before 2.13 reads no endpoint variable: --endpoint-url.
		cmd := exec.Command(aws, "--profile", "gcp", "sts", "get-caller-identity", "--output", "json", "--endpoint-url", w.srv.STSURL)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil || callerARN(t, string(out)) != wantARN {
			t.Fatalf("aws v2: %v\n%s", err, out)
		}
	}
	if n := w.exchanges(); n != 1 {
		t.Errorf("10 AWS CLI v2 commands with an agent made %d exchanges, want 1", n)
	}
}
