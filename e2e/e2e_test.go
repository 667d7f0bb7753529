package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/testbin"
)

const (
	account = "123456789012"
	role    = "arn:aws:iam::" + account + ":role/e2e-role"
	session = "e2e-session"
	wantARN = "arn:aws:sts::" + account + ":assumed-role/e2e-role/" + session
)

// world is one end-to-end setup: the binary, the fakes, moto, a HOME.
type world struct {
	bin  string
	home string
	env  []string
	md   *httptest.Server
}

func requireTools(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end tests skipped in -short mode")
	}
	var missing []string
	if _, err := exec.LookPath("aws"); err != nil {
		missing = append(missing, "the AWS CLI (aws)")
	}
	if err := exec.Command(python(), "-c", "import boto3, moto.server, flask").Run(); err != nil {
		missing = append(missing, "python3 with boto3 and moto[server]")
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("missing %s: pip install awscli boto3 \"moto[server]\"", strings.Join(missing, " and "))
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing tool is a failure, not a skip)")
	}
	t.Skip(msg)
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startMoto runs moto's server on a free loopback port until the test ends;
// Pdeathsig stops it even if the test binary dies first.
func startMoto(t *testing.T) string {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command(python(), "-m", "moto.server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.SysProcAttr = orphanProof()
	logFile, err := os.Create(filepath.Join(t.TempDir(), "moto.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		killGroup(cmd.Process)
		_ = cmd.Wait()
		logFile.Close()
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url + "/moto-api/"); err == nil {
			resp.Body.Close()
			return url
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, _ := os.ReadFile(logFile.Name())
	t.Fatalf("moto did not start on %s:\n%s", url, log)
	return ""
}

var binPath string

// python is the interpreter that has boto3 and moto: $E2E_PYTHON, else
// python3 from PATH.
func python() string {
	if p := os.Getenv("E2E_PYTHON"); p != "" {
		return p
	}
	return "python3"
}

func TestMain(m *testing.M) {
	bin, cleanup, err := testbin.Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = bin
	code := m.Run()
	cleanup()
	os.Exit(code)
}

func setup(t *testing.T) *world {
	testbin.StatSources()
	requireTools(t)
	md, err := fakes.NewMetadata()
	if err != nil {
		t.Fatal(err)
	}
	mdSrv := httptest.NewServer(md)
	t.Cleanup(mdSrv.Close)
	moto := startMoto(t)

	home := t.TempDir()
	config := fmt.Sprintf("[profile gcp]\ncredential_process = %s --role %s --session-name %s\nregion = us-east-1\n", binPath, role, session)
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".aws", "config"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(cleanEnv(home),
		"GCE_METADATA_HOST="+strings.TrimPrefix(mdSrv.URL, "http://"),
		"AWS_ENDPOINT_URL_STS="+moto,
		"AWS_ENDPOINT_URL="+moto,
		"AWS_DEFAULT_REGION=us-east-1",
	)
	return &world{bin: binPath, home: home, env: env, md: mdSrv}
}

// cleanEnv is this process's environment without AWS keys, profile or
// endpoints from the machine running the tests, nor its HOME: only what a
// workload on Google Cloud would have, with home as HOME.
func cleanEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || k == "HOME" || k == "GCE_METADATA_HOST" || k == "BOTO_CONFIG" ||
			k == "XDG_RUNTIME_DIR" || k == "GCP_AWS_CRED_AGENT_SOCKET" || k == "GCP_AWS_CRED_NO_AGENT" {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"HOME="+home,
		// The default agent socket in a directory that does not exist: a
		// credential agent the developer runs (at the default socket every
		// process of the user shares) must not answer the tests' credential
		// processes. agent_test.go sets its own.
		"XDG_RUNTIME_DIR="+filepath.Join(home, "no-agent"),
		"AWS_EC2_METADATA_DISABLED=true", // nothing may reach for 169.254.169.254 but us
		"NO_PROXY=127.0.0.1,localhost",   // a proxy in the environment must not sit between the CLI and loopback servers
		"no_proxy=127.0.0.1,localhost",
		"PYTHONDONTWRITEBYTECODE=1",
	)
}

func (w *world) run(t *testing.T, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = w.env
	cmd.Dir = w.home
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

func (w *world) mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, errOut, err := w.run(t, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func callerARN(t *testing.T, out string) string {
	t.Helper()
	var id struct{ Arn, Account string }
	if err := json.Unmarshal([]byte(out), &id); err != nil {
		t.Fatalf("get-caller-identity output %q: %v", out, err)
	}
	if id.Account != account {
		t.Errorf("Account %q, want %s", id.Account, account)
	}
	return id.Arn
}

// filesUnder lists every file and directory below dir, relative to it.
func filesUnder(t *testing.T, dir string) []string {
	var all []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			all = append(all, rel)
		}
		return nil
	})
	sort.Strings(all)
	return all
}

// TestCLIAndBoto3 is the classic walkthrough, then boto3, then --output env
// with eval, and finally checks HOME holds only the config file.
func TestCLIAndBoto3(t *testing.T) {
	w := setup(t)

	out := w.mustRun(t, "aws", "--profile", "gcp", "sts", "get-caller-identity", "--output", "json")
	if arn := callerARN(t, out); arn != wantARN {
		t.Errorf("aws sts get-caller-identity: Arn %q, want %q", arn, wantARN)
	}

	w.mustRun(t, "aws", "--profile", "gcp", "s3", "mb", "s3://gcp-aws-cred-e2e")
	if out := w.mustRun(t, "aws", "--profile", "gcp", "s3", "ls"); !strings.Contains(out, "gcp-aws-cred-e2e") {
		t.Errorf("aws s3 ls does not list the bucket: %q", out)
	}

	out = w.mustRun(t, python(), "-c", `import boto3; print(boto3.Session(profile_name="gcp").client("sts").get_caller_identity()["Arn"])`)
	if got := strings.TrimSpace(out); got != wantARN {
		t.Errorf("boto3: Arn %q, want %q", got, wantARN)
	}

	script := fmt.Sprintf(`eval "$(%s --role %s --session-name %s --output env)" && aws sts get-caller-identity --output json`, w.bin, role, session)
	out = w.mustRun(t, "sh", "-c", script)
	if arn := callerARN(t, out); arn != wantARN {
		t.Errorf("eval --output env, then aws: Arn %q, want %q", arn, wantARN)
	}

	if got, want := filesUnder(t, w.home), []string{".aws", ".aws/config"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("HOME holds %v, want only %v: no credentials file, no cache", got, want)
	}
}

// TestCLIShowsOurError stops the metadata server and checks the AWS CLI
// fails with gcp-aws-cred's own message intact in its error text.
func TestCLIShowsOurError(t *testing.T) {
	w := setup(t)
	w.md.Close()
	out, errOut, err := w.run(t, "aws", "--profile", "gcp", "sts", "get-caller-identity")
	if err == nil {
		t.Fatalf("aws succeeded without a metadata server: %s", out)
	}
	for _, want := range []string{
		"gcp-aws-cred: error: cannot reach the metadata server at " + strings.TrimPrefix(w.md.URL, "http://") + ": connection refused",
		"gcp-aws-cred: hint: to use another metadata server (an emulator, a test fake), set GCE_METADATA_HOST=host:port",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("the AWS CLI's error does not carry %q:\n%s", want, errOut)
		}
	}
	if files := filesUnder(t, w.home); len(files) != 2 {
		t.Errorf("HOME holds %v", files)
	}
}
