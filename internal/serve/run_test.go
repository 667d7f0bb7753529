package serve

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
	"github.com/gcp-aws-cred/gcp-aws-cred/output"
)

// runServe runs Run until its variables are printed, then stops it, and
// returns what it printed and logged.
func runServe(t *testing.T, rc RunConfig) (string, string, error) {
	t.Helper()
	f := newFakeFetch(time.Hour)
	stdout, log := &syncBuffer{}, &syncBuffer{}
	rc.Fetch, rc.Role, rc.Logger, rc.Stdout = f.fetch, testRole, NewLogger(log, LogPlain, false), stdout
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, rc) }()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		select {
		case err := <-done:
			return stdout.String(), log.String(), err
		default:
		}
		if stdout.String() != "" {
			break
		}
	}
	cancel()
	err := <-done
	return stdout.String(), log.String(), err
}

func TestRunPrintsVariables(t *testing.T) {
	noEnv := func(string) string { return "" }
	withEnv := func(k string) string {
		if k == TokenEnv {
			return testToken
		}
		return ""
	}
	for _, c := range []struct {
		format output.Format
		getenv func(string) string
		want   []string
	}{
		{output.Env, noEnv, []string{"export " + URIEnv + "=http://127.0.0.1:", "/credentials\nexport " + TokenEnv + "="}},
		{output.EnvNoExport, noEnv, []string{"\n" + TokenEnv + "=", URIEnv + "=http://127.0.0.1:"}},
		{output.Fish, noEnv, []string{"set -gx " + URIEnv + ` "http://127.0.0.1:`, "set -gx " + TokenEnv + ` "`}},
		{output.PowerShell, noEnv, []string{"$Env:" + URIEnv + `="http://127.0.0.1:`, "\r\n$Env:" + TokenEnv + `="`}},
		{output.WindowsCmd, noEnv, []string{"set " + URIEnv + "=http://127.0.0.1:", "\r\nset " + TokenEnv + "="}},
		// A token from the environment is the caller's: not printed.
		{output.Env, withEnv, []string{"export " + URIEnv + "=http://127.0.0.1:"}},
	} {
		out, log, err := runServe(t, RunConfig{Output: c.format, Getenv: c.getenv})
		if err != nil {
			t.Fatalf("%s: %v", c.format, err)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: stdout %q lacks %q", c.format, out, w)
			}
		}
		if n := strings.Count(out, "\n"); n != len(c.want) {
			t.Errorf("%s: %d lines printed, want %d:\n%s", c.format, n, len(c.want), out)
		}
		for _, l := range strings.Split(out, "\n") {
			if i := strings.Index(l, TokenEnv); i >= 0 {
				tok := strings.Trim(l[i+len(TokenEnv)+1:], "\"\r ")
				if len(tok) != 43 || strings.Contains(log, tok) {
					t.Errorf("%s: token %q printed; in the log: %v", c.format, tok, strings.Contains(log, tok))
				}
			}
		}
		if strings.Contains(log, testToken) {
			t.Errorf("%s: the log holds the token", c.format)
		}
		if !strings.Contains(log, "stopping: the context ended") {
			t.Errorf("%s: log %s", c.format, log)
		}
	}
}

func TestRunRefusesProcessFormat(t *testing.T) {
	_, _, err := runServe(t, RunConfig{Output: output.Process})
	if err == nil || !strings.Contains(err.Error(), "serve cannot print its variables as --output process") {
		t.Errorf("%v", err)
	}
}

func TestRunWarnsWhenTokenFileIgnored(t *testing.T) {
	_, log, err := runServe(t, RunConfig{TokenFile: "/nonexistent", Getenv: func(k string) string {
		if k == TokenEnv {
			return testToken
		}
		return ""
	}})
	if err != nil || !strings.Contains(log, "warning: using the token from "+TokenEnv+"; --auth-token-file /nonexistent is ignored") {
		t.Errorf("%v\n%s", err, log)
	}
}

func TestRunFailsBeforeListening(t *testing.T) {
	f := newFakeFetch(time.Hour)
	f.failAlways(stsError(t, "AccessDenied", "Not authorized"))
	out := &syncBuffer{}
	err := Run(context.Background(), RunConfig{Config: Config{Fetch: f.fetch, Role: testRole}, Stdout: out, Getenv: func(string) string { return "" }})
	if err == nil || !strings.Contains(err.Error(), "STS refused") || out.String() != "" {
		t.Errorf("%v, printed %q", err, out)
	}
}

// TestRunPrintsRegion: with --region, clients get AWS_REGION and
// AWS_DEFAULT_REGION with the endpoint, in every format: botocore reads
// only the second, and without either the AWS CLI asks for a region.
func TestRunPrintsRegion(t *testing.T) {
	for format, want := range map[output.Format][]string{
		output.Env:         {"export AWS_REGION=eu-west-3\n", "export AWS_DEFAULT_REGION=eu-west-3\n"},
		output.EnvNoExport: {"\nAWS_REGION=eu-west-3\n", "AWS_DEFAULT_REGION=eu-west-3\n"},
		output.Fish:        {`set -gx AWS_REGION "eu-west-3"`, `set -gx AWS_DEFAULT_REGION "eu-west-3"`},
		output.PowerShell:  {`$Env:AWS_REGION="eu-west-3"`, `$Env:AWS_DEFAULT_REGION="eu-west-3"`},
		output.WindowsCmd:  {"set AWS_REGION=eu-west-3\r\n", "set AWS_DEFAULT_REGION=eu-west-3\r\n"},
	} {
		out, _, err := runServe(t, RunConfig{Output: format, Region: "eu-west-3", Getenv: func(string) string { return "" }})
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: stdout %q lacks %q", format, out, w)
			}
		}
		if n := strings.Count(out, "\n"); n != 4 {
			t.Errorf("%s: %d lines, want 4:\n%s", format, n, out)
		}
	}
	if out, _, _ := runServe(t, RunConfig{Getenv: func(string) string { return "" }}); strings.Contains(out, "REGION") {
		t.Errorf("a region printed without --region:\n%s", out)
	}
}

// TestVerboseTraceInLogFormat: the --verbose trace of serve's exchanges
// comes out in the log's format, JSON lines for --log-format json.
func TestVerboseTraceInLogFormat(t *testing.T) {
	log := &syncBuffer{}
	rc := RunConfig{Getenv: func(string) string { return "" }}
	rc.Logger = NewLogger(log, LogJSON, false)
	tr := transport.NewTracer(TraceWriter(rc.Logger))
	f := newFakeFetch(time.Hour)
	rc.Fetch = func(ctx context.Context) (awscred.Credentials, error) {
		tr.Printf("STS: POST https://sts.example/ \x1b[2J%s", testToken)
		return f.fetch(ctx)
	}
	_ = secret.New(testToken) // a secret this process holds, as serve holds its token
	stdout := &syncBuffer{}
	rc.Stdout = stdout
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, rc) }()
	for end := time.Now().Add(5 * time.Second); stdout.String() == "" && time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var trace map[string]any
	for _, l := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %s", l)
		}
		if m["event"] == "trace" {
			trace = m
		}
	}
	if trace == nil || trace["level"] != "debug" || !strings.Contains(trace["msg"].(string), "STS: POST https://sts.example/") {
		t.Errorf("no trace line in:\n%s", log)
	}
	if strings.Contains(log.String(), testToken) || strings.Contains(log.String(), "\x1b") {
		t.Errorf("the trace was not cleaned:\n%s", log)
	}
}

// brokenListener is a loopback listener whose Accept fails for good after
// the first call, as a socket closed under the server would.
type brokenListener struct{ net.Listener }

func (l brokenListener) Accept() (net.Conn, error) {
	return nil, errors.New("accept: the socket broke")
}

// TestRunServeErrorIsFatal: an error from http.Server.Serve was dropped,
// and serve went on running, answering nothing. It now ends Run with the
// error, so the process exits non-zero and its manager restarts it.
func TestRunServeErrorIsFatal(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f := newFakeFetch(time.Hour)
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), RunConfig{
			Config: Config{Fetch: f.fetch, Role: testRole, Listener: brokenListener{ln}, Logger: NewLogger(io.Discard, LogPlain, false)},
			Stdout: io.Discard, Getenv: func(string) string { return "" },
		})
	}()
	select {
	case err := <-done:
		if err == nil || err.Error() != "stopped serving: accept: the socket broke" || len(explain.Hints(err)) != 1 {
			t.Errorf("Run returned %v, hints %q", err, explain.Hints(err))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run still running after Serve failed")
	}
}

// TestTokenFromEnvironmentNotInherited: with the token in serve's
// environment, an executable credential source (which x/oauth2 runs with
// serve's environment) received it too. Once read, it is removed from the
// process environment, before the first exchange.
func TestTokenFromEnvironmentNotInherited(t *testing.T) {
	t.Setenv(TokenEnv, testToken)
	f := newFakeFetch(time.Hour)
	var seen []string
	fetch := func(ctx context.Context) (awscred.Credentials, error) {
		out, err := exec.CommandContext(ctx, "sh", "-c", `printf %s "${`+TokenEnv+`-unset}"`).Output()
		if err != nil {
			return awscred.Credentials{}, err
		}
		seen = append(seen, string(out))
		return f.fetch(ctx)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stdout := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, RunConfig{Config: Config{Fetch: fetch, Role: testRole, Logger: NewLogger(io.Discard, LogPlain, false)}, Stdout: stdout})
	}()
	for end := time.Now().Add(5 * time.Second); stdout.String() == "" && time.Now().Before(end); {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != "unset" {
		t.Errorf("the credential source's process saw %s=%q", TokenEnv, seen)
	}
	if strings.Contains(stdout.String(), testToken) {
		t.Error("the token from the environment was printed")
	}
}
