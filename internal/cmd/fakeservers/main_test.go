package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/testbin"
)

var (
	fakeservers string // this command, built
	gcpAWSCred  string // the project's binary, built
)

func TestMain(m *testing.M) {
	code, err := buildAndRun(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

func buildAndRun(m *testing.M) (int, error) {
	if runtime.GOOS == "windows" {
		return m.Run(), nil // the signal and shell tests below are for POSIX systems
	}
	dir, err := os.MkdirTemp("", "fakeservers-test-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	fakeservers = filepath.Join(dir, "fakeservers")
	if out, err := exec.Command("go", "build", "-o", fakeservers, ".").CombinedOutput(); err != nil {
		return 0, fmt.Errorf("go build: %v\n%s", err, out)
	}
	bin, cleanup, err := testbin.Build()
	if err != nil {
		return 0, err
	}
	defer cleanup()
	gcpAWSCred = bin
	return m.Run(), nil
}

// sandbox is one fakeservers process, started as a script would start it
// in the background: stdin /dev/null, stdout read until its last line.
type sandbox struct {
	cmd    *exec.Cmd
	stdout string            // all it printed
	env    map[string]string // its export lines
	stderr *strings.Builder
	exited chan error
}

func start(t *testing.T, args ...string) *sandbox {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the sandbox's signal handling and shell output are for POSIX systems")
	}
	cmd := exec.Command(fakeservers, args...) // Stdin nil: /dev/null
	// Its own temporary directory, to see that it leaves nothing there.
	tmp := t.TempDir()
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	sb := &sandbox{cmd: cmd, env: map[string]string{}, stderr: &strings.Builder{}, exited: make(chan error, 1)}
	cmd.Stderr = sb.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Stopped as a user stops it, so it removes what it made (issue
		// 23 item 16: killed, it left its ADC directory on every run).
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-sb.exited:
		case <-time.After(10 * time.Second):
			t.Errorf("fakeservers still running 10s after SIGTERM")
			_ = cmd.Process.Kill()
			<-sb.exited
		}
		if left, _ := os.ReadDir(tmp); len(left) > 0 {
			t.Errorf("fakeservers left %s in its temporary directory", left[0].Name())
		}
	})
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		sb.exited <- cmd.Wait()
	}()
	var all strings.Builder
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("fakeservers stopped before its last line:\n%s\nstderr: %s", all.String(), sb.stderr)
			}
			all.WriteString(l + "\n")
			if k, v, ok := strings.Cut(strings.TrimPrefix(l, "export "), "="); ok && strings.HasPrefix(l, "export ") {
				sb.env[k] = v
			}
			if strings.HasPrefix(l, "# Stop it with Ctrl-C, or: kill ") {
				sb.stdout = all.String()
				go func() { // keep draining, should it print more
					for range lines {
					}
				}()
				return sb
			}
		case <-deadline:
			t.Fatalf("no complete output from fakeservers in 30s:\n%s", all.String())
		}
	}
}

// wait returns the exit status once the process has ended, failing after d.
func (sb *sandbox) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case err := <-sb.exited:
		sb.exited <- err // for the cleanup
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(d):
		t.Fatalf("fakeservers still running after %s", d)
		return -1
	}
}

// credentialProcess runs the profile's credential_process line through sh,
// as aws-sdk-go-v2 does, in an environment with only what the sandbox
// exported for gcp-aws-cred, and extra.
func credentialProcess(t *testing.T, line string, extra ...string) (stdout, stderr string, code int) {
	t.Helper()
	line = strings.Replace(line, "gcp-aws-cred ", gcpAWSCred+" ", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", line)
	// XDG_RUNTIME_DIR: the default agent socket in an empty directory, so
	// that an agent the developer runs does not answer for the sandbox.
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "XDG_RUNTIME_DIR=" + t.TempDir()}, extra...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

// TestSandboxWalkthrough is docs/sandbox.md's walkthrough without the AWS CLI
// (e2e runs it with the CLI): the printed profile works, each role shows
// what it is for, and the sandbox outlives a closed stdin, then stops on
// SIGTERM and removes its config file.
func TestSandboxWalkthrough(t *testing.T) {
	config := filepath.Join(t.TempDir(), "sandbox.config")
	sb := start(t, "--for", "2m", "--config", config)

	for _, k := range []string{"GCE_METADATA_HOST", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE"} {
		if sb.env[k] == "" {
			t.Errorf("no export of %s in:\n%s", k, sb.stdout)
		}
	}
	if sb.env["AWS_CONFIG_FILE"] != config {
		t.Errorf("AWS_CONFIG_FILE=%s, want %s", sb.env["AWS_CONFIG_FILE"], config)
	}
	for _, role := range []string{fakes.AllowedRole, fakes.DeniedRole, fakes.OneHourRole, fakes.ChainedRole, fakes.ExternalIDRole} {
		if !strings.Contains(sb.stdout, role) {
			t.Errorf("the output does not name role %s", role)
		}
	}
	// The output is a shell script: sourcing it sets the variables.
	script := filepath.Join(t.TempDir(), "sandbox.env")
	if err := os.WriteFile(script, []byte(sb.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := exec.Command("sh", "-c", `. "$1" && printf '%s %s' "$GCE_METADATA_HOST" "$AWS_ENDPOINT_URL_STS"`, "sh", script).Output()
	if want := sb.env["GCE_METADATA_HOST"] + " " + sb.env["AWS_ENDPOINT_URL_STS"]; err != nil || string(got) != want {
		t.Errorf("sourced: %q (%v), want %q", got, err, want)
	}

	ini, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(config); fi.Mode().Perm() != 0o600 {
		t.Errorf("config mode %v, want 0600", fi.Mode().Perm())
	}
	wantLine := "credential_process = gcp-aws-cred --role " + fakes.AllowedRole + " --sts-endpoint " + sb.env["AWS_ENDPOINT_URL_STS"]
	if want := "[profile sandbox]\n" + wantLine + "\nregion = us-east-1\n"; string(ini) != want {
		t.Errorf("config file:\n%s\nwant:\n%s", ini, want)
	}
	if !strings.Contains(sb.stdout, "#   "+wantLine+"\n") {
		t.Errorf("the output does not show the profile:\n%s", sb.stdout)
	}

	// Stdin is /dev/null: the sandbox must not have stopped at its end.
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-sb.exited:
		sb.exited <- err
		t.Fatalf("fakeservers stopped by itself (%v); stderr: %s", err, sb.stderr)
	default:
	}

	// The profile's command, with only GCE_METADATA_HOST from the sandbox:
	// --sts-endpoint on the line is enough to reach the fake STS.
	process := strings.TrimPrefix(wantLine, "credential_process = ")
	mdHost := "GCE_METADATA_HOST=" + sb.env["GCE_METADATA_HOST"]
	out, errOut, code := credentialProcess(t, process, mdHost)
	if code != 0 || errOut != "" {
		t.Fatalf("credential_process: exit %d, stderr %s", code, errOut)
	}
	var doc struct{ AccessKeyId, SecretAccessKey, SessionToken string }
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("credential_process printed %q: %v", out, err)
	}
	// The fake STS knows whose keys they are, as the AWS CLI will ask.
	client := sts.New(sts.Options{
		BaseEndpoint: aws.String(sb.env["AWS_ENDPOINT_URL_STS"]), Region: "us-east-1",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: doc.AccessKeyId, SecretAccessKey: doc.SecretAccessKey, SessionToken: doc.SessionToken}, nil
		}),
	})
	id, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity with the sandbox's keys: %v", err)
	}
	if got, want := aws.ToString(id.Arn), "arn:aws:sts::123456789012:assumed-role/aws-allow-gcp-access/"+fakes.DefaultInstanceName; got != want {
		t.Errorf("caller ARN %q, want %q", got, want)
	}

	for _, tc := range []struct{ args, want string }{
		{"--role " + fakes.DeniedRole, "(AccessDenied"},
		{"--role " + fakes.OneHourRole + " --duration 2h", "(ValidationError: The requested DurationSeconds exceeds the MaxSessionDuration set for this role.)"},
	} {
		line := "gcp-aws-cred " + tc.args + " --sts-endpoint " + sb.env["AWS_ENDPOINT_URL_STS"]
		out, errOut, code := credentialProcess(t, line, mdHost)
		if code == 0 || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, stdout %q, stderr:\n%s\nwant it to carry %q", tc.args, code, out, errOut, tc.want)
		}
	}
	if _, errOut, code := credentialProcess(t, "gcp-aws-cred --role "+fakes.OneHourRole+" --duration 1h --sts-endpoint "+sb.env["AWS_ENDPOINT_URL_STS"], mdHost); code != 0 {
		t.Errorf("one-hour-max for 1h: exit %d: %s", code, errOut)
	}

	// The chained roles, as docs/sandbox.md chains them: one hop, two with
	// the external ID, and the refusals without it and to a role that does
	// not trust the one before.
	chain := "gcp-aws-cred --role " + fakes.AllowedRole + " --sts-endpoint " + sb.env["AWS_ENDPOINT_URL_STS"] + " --chain-role " + fakes.ChainedRole
	for _, tc := range []struct{ args, want string }{
		{"", ""},
		{" --chain-role " + fakes.ExternalIDRole + " --external-id " + fakes.SandboxExternalID, ""},
		{" --chain-role " + fakes.ExternalIDRole, "error: hop 3 of 3 (--chain-role " + fakes.ExternalIDRole + "): STS refused"},
	} {
		out, errOut, code := credentialProcess(t, chain+tc.args, mdHost)
		switch {
		case tc.want == "" && (code != 0 || !strings.Contains(out, `"AccessKeyId"`)):
			t.Errorf("chain%s: exit %d, stderr:\n%s", tc.args, code, errOut)
		case tc.want != "" && (code == 0 || out != "" || !strings.Contains(errOut, tc.want)):
			t.Errorf("chain%s: exit %d, stdout %q, stderr:\n%s\nwant it to carry %q", tc.args, code, out, errOut, tc.want)
		}
	}
	if out, errOut, code := credentialProcess(t, "gcp-aws-cred --role "+fakes.ChainedRole+" --sts-endpoint "+sb.env["AWS_ENDPOINT_URL_STS"], mdHost); code == 0 || out != "" || !strings.Contains(errOut, "(AccessDenied") {
		t.Errorf("%s by web identity: exit %d, stdout %q, stderr:\n%s; want AccessDenied: it trusts only role sessions", fakes.ChainedRole, code, out, errOut)
	}

	// console against the sandbox's sign-in federation endpoint, as the
	// output and docs/sandbox.md show it: the link it prints logs in there.
	signin := sb.env["SANDBOX_FEDERATION_ENDPOINT"]
	if !strings.HasPrefix(signin, "http://127.0.0.1:") {
		t.Fatalf("SANDBOX_FEDERATION_ENDPOINT=%q, want a loopback URL", signin)
	}
	consoleLine := "gcp-aws-cred console --role " + fakes.AllowedRole + " --stdout --federation-endpoint " + signin
	if !strings.Contains(sb.stdout, "#   "+consoleLine+"\n") && !strings.Contains(sb.stdout, `--federation-endpoint "$SANDBOX_FEDERATION_ENDPOINT"`) {
		t.Errorf("the output does not show the console line:\n%s", sb.stdout)
	}
	out, errOut, code = credentialProcess(t, consoleLine+" --sts-endpoint "+sb.env["AWS_ENDPOINT_URL_STS"], mdHost)
	link := strings.TrimSpace(out)
	if code != 0 || errOut != "" || !strings.HasPrefix(link, signin+"?Action=login&") {
		t.Fatalf("console: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := "https://us-east-1.console.aws.amazon.com/console/home?region=us-east-1"; resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
		t.Errorf("the sign-in link answers %d to %q, want 302 to %s", resp.StatusCode, resp.Header.Get("Location"), want)
	}

	if err := sb.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := sb.wait(t, 10*time.Second); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0; stderr: %s", code, sb.stderr)
	}
	if _, err := os.Stat(config); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the config file outlived the sandbox: %v", err)
	}
	if _, err := net.DialTimeout("tcp", sb.env["GCE_METADATA_HOST"], time.Second); err == nil {
		t.Error("the metadata server still accepts connections after the sandbox stopped")
	}
}

func TestSandboxStopsAfterFor(t *testing.T) {
	sb := start(t, "--for", "1s")
	if code := sb.wait(t, 15*time.Second); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	if got, want := sb.stderr.String(), "fakeservers: stopped after 1s (--for)\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	if sb.env["AWS_CONFIG_FILE"] != "" {
		t.Error("AWS_CONFIG_FILE exported without --config")
	}
	if !strings.Contains(sb.stdout, "#   [profile sandbox]\n") || !strings.Contains(sb.stdout, "# The metadata server of a Compute Engine VM named \"demo-vm\".") {
		t.Errorf("output:\n%s", sb.stdout)
	}
}

func identity(t *testing.T, host, format string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+host+"/computeMetadata/v1/instance/service-accounts/default/identity?audience=sts.amazonaws.com&format="+format, nil)
	req.Header.Set("Metadata-Flavor", "Google")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestSandboxGKE(t *testing.T) {
	sb := start(t, "--mode", "gke", "--refuse-for", "1s", "--no-flavor", "--moto", "http://127.0.0.1:5000")
	host := sb.env["GCE_METADATA_HOST"]
	if _, err := net.DialTimeout("tcp", host, time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial at start: %v, want connection refused", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", host, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still refused after 10s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, body := identity(t, host, "full")
	if resp.StatusCode != 400 || body != fakes.GKEFullFormatError+"\n" || resp.Header.Get("Metadata-Flavor") != "" {
		t.Errorf("format=full: %d %q, Metadata-Flavor %q", resp.StatusCode, body, resp.Header.Get("Metadata-Flavor"))
	}
	if resp, _ := identity(t, host, "standard"); resp.StatusCode != 200 {
		t.Errorf("format=standard: %d", resp.StatusCode)
	}
	if sb.env["AWS_ENDPOINT_URL"] != "http://127.0.0.1:5000" {
		t.Errorf("AWS_ENDPOINT_URL=%s, want the moto URL", sb.env["AWS_ENDPOINT_URL"])
	}
	want := "# The metadata server of a GKE pod: format=full answered 400, no instance claim; connections refused for the first 1s; no Metadata-Flavor header in its responses.\n"
	if !strings.Contains(sb.stdout, want) {
		t.Errorf("output lacks %q:\n%s", want, sb.stdout)
	}
}

func TestSandboxCloudRun(t *testing.T) {
	sb := start(t, "--mode", "cloudrun")
	resp, tok := identity(t, sb.env["GCE_METADATA_HOST"], "full")
	if resp.StatusCode != 200 || resp.Header.Get("Metadata-Flavor") != "Google" {
		t.Fatalf("format=full: %d %q", resp.StatusCode, tok)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	payload, _ := base64URL(parts[1])
	if !strings.Contains(payload, `"email":"`+fakes.DefaultEmail+`"`) || strings.Contains(payload, "compute_engine") {
		t.Errorf("Cloud Run claims: %s", payload)
	}
	// A refused connection needs no wait in this mode.
	if c, err := net.DialTimeout("tcp", sb.env["GCE_METADATA_HOST"], time.Second); err != nil {
		t.Errorf("dial: %v", err)
	} else {
		c.Close()
	}
}

func TestBadFlags(t *testing.T) {
	existing := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(existing, []byte("[default]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--mode", "eks"}, 2, "fakeservers: --mode \"eks\": want gce, gke or cloudrun\n"},
		{[]string{"--mode", "cloudrun", "--instance", "vm"}, 2, "fakeservers: --instance is for --mode gce: on cloudrun the token names no instance\n"},
		{[]string{"--for", "0s"}, 2, "fakeservers: --for 0s: want a positive duration\n"},
		{[]string{"--moto", "127.0.0.1:5000"}, 2, "fakeservers: --moto \"127.0.0.1:5000\": want the server's URL, such as http://127.0.0.1:5000\n"},
		{[]string{"serve"}, 2, "fakeservers: unexpected argument \"serve\"\n"},
		{[]string{"--config", existing}, 1, "fakeservers: --config " + existing + ": the file exists; give a new file's name (it is removed when the sandbox stops, so it must not be a config you keep)\n"},
	} {
		var out, errb strings.Builder
		if code := run(tc.args, &out, &errb); code != tc.code || errb.String() != tc.want || out.String() != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d, stderr %q", tc.args, code, out.String(), errb.String(), tc.code, tc.want)
		}
	}
	if b, _ := os.ReadFile(existing); string(b) != "[default]\n" {
		t.Errorf("an existing config was changed: %q", b)
	}
}

func base64URL(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return string(b), err
}

// fakeAWS puts on PATH an aws command that prints version line out, as
// `aws --version` does.
func fakeAWS(t *testing.T, out string) string {
	dir := t.TempDir()
	script := "#!/bin/sh\necho '" + out + "'\n"
	if err := os.WriteFile(filepath.Join(dir, "aws"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return filepath.Join(dir, "aws")
}

// TestOldAWSCLIv2: an AWS CLI v2 before 2.13 (Debian's 2.9) ignores
// AWS_ENDPOINT_URL*, so the sandbox prints the exact commands that give
// it the endpoints, in its script and on stderr; a newer CLI, or v1, gets
// the general note only.
func TestOldAWSCLIv2(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("a shell script as aws")
	}
	path := fakeAWS(t, "aws-cli/2.9.19 Python/3.11.2 Linux/6.1.0-18-amd64 source/x86_64.debian.12 prompt/off")
	var out, errb strings.Builder
	if code := run([]string{"--for", "50ms"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{
		"# Your AWS CLI (" + path + ", aws-cli/2.9.19) is v2 before 2.13: it ignores AWS_ENDPOINT_URL_STS\n",
		"#   aws --profile sandbox sts get-caller-identity --endpoint-url \"$AWS_ENDPOINT_URL_STS\"\n",
		"#   aws --profile sandbox s3 ls --endpoint-url \"$AWS_ENDPOINT_URL\"\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.HasPrefix(errb.String(), "fakeservers: warning: Your AWS CLI ("+path+", aws-cli/2.9.19) is v2 before 2.13") ||
		!strings.Contains(errb.String(), "fakeservers:   aws --profile sandbox sts get-caller-identity --endpoint-url \"$AWS_ENDPOINT_URL_STS\"\n") {
		t.Errorf("stderr:\n%s", errb.String())
	}

	for _, version := range []string{"aws-cli/2.13.0 Python/3.11.6 Linux/6.1 exe/x86_64", "aws-cli/2.27.50 Python/3.13.4", "aws-cli/1.45.11 Python/3.11.7 Linux/6.18 botocore/1.43.11", "command not found"} {
		fakeAWS(t, version)
		out.Reset()
		errb.Reset()
		if code := run([]string{"--for", "50ms"}, &out, &errb); code != 0 {
			t.Fatalf("%s: exit %d: %s", version, code, errb.String())
		}
		if strings.Contains(out.String(), "Your AWS CLI") || strings.Contains(errb.String(), "warning") {
			t.Errorf("%s: warned:\n%s\n%s", version, out.String(), errb.String())
		}
		if !strings.Contains(out.String(), "before 2.13 ignores these variables: give it --endpoint-url \"$AWS_ENDPOINT_URL_STS\"") {
			t.Errorf("%s: the general note is missing:\n%s", version, out.String())
		}
	}
}

// TestHelpDefaultsOnce: each flag's default shows once in --help.
func TestHelpDefaultsOnce(t *testing.T) {
	var out, errb strings.Builder
	if code := run([]string{"--help"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, l := range strings.Split(errb.String(), "\n") {
		if strings.Count(l, "(default") > 1 {
			t.Errorf("a default twice: %q", l)
		}
	}
	if !strings.Contains(errb.String(), "(default 3s with --mode gke, else 0)\n") {
		t.Errorf("--refuse-for's default:\n%s", errb.String())
	}
}
