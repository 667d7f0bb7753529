//go:build unix

package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/testbin"
)

// TestWritesNoFile runs the built binary, and each operator command, with
// empty HOME and TMPDIR and checks they stay empty; under strace it also
// checks that the credential process, exec, exec --serve and a serve that
// answers a request and is stopped by SIGTERM open no file for writing and
// create, rename or remove none anywhere; nor does --impersonate with each
// kind of ADC file, which it only reads. It needs a real process of the
// real binary, not the test binary standing in for it.
func TestWritesNoFile(t *testing.T) {
	testbin.StatSources()
	srv, err := fakes.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	t.Setenv("GCE_METADATA_HOST", srv.MetadataHost)
	t.Setenv("AWS_ENDPOINT_URL_STS", srv.STSURL)
	home, tmp := t.TempDir(), t.TempDir()
	bin := binPath
	run := func(name string, args ...string) string {
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), "HOME="+home, "TMPDIR="+tmp, "XDG_CACHE_HOME=", "XDG_CONFIG_HOME=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		return string(out)
	}
	role := "arn:aws:iam::123456789012:role/r"
	for _, args := range [][]string{
		{"--role", role}, {"--role", role, "--output", "env"},
		{"trust-policy"}, {"token"}, {"doctor", "--role", role},
		{"exec", "--role", role, "--", "true"},
		{"exec", "--serve", "--role", role, "--", "true"},
	} {
		run(bin, args...)
	}
	// --impersonate reads the ADC file (and an external_account's subject
	// token) and writes nothing: no token cache, no refreshed file.
	adcDir := t.TempDir()
	t.Setenv("GCP_AWS_CRED_IAM_CREDENTIALS_ENDPOINT", srv.Google.URL)
	impersonate := []string{"--impersonate", fakes.TargetEmail, "--role", role}
	adcFiles := map[string]string{}
	for _, kind := range []string{fakes.AuthorizedUser, fakes.ServiceAccountKey, fakes.ExternalAccount} {
		adcFiles[kind] = writeADC(t, srv.Google, kind, adcDir)
		t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", adcFiles[kind])
		run(bin, impersonate...)
	}
	run(bin, append([]string{"doctor"}, impersonate...)...)
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	adcBefore := filesUnder(t, adcDir)
	env := append(os.Environ(), "HOME="+home, "TMPDIR="+tmp, "XDG_CACHE_HOME=", "XDG_CONFIG_HOME=")
	runServe(t, env, bin, "serve", "--role", role)
	for _, dir := range []string{home, tmp} {
		if entries, _ := os.ReadDir(dir); len(entries) > 0 {
			t.Errorf("%s is no longer empty: %v", dir, entries)
		}
	}

	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace not installed; checked HOME and TMPDIR only")
	}
	if out, err := exec.Command(strace, "-f", "-o", os.DevNull, "true").CombinedOutput(); err != nil {
		t.Skipf("strace cannot trace here (%v: %s); checked HOME and TMPDIR only", err, out)
	}
	traced := func(args ...string) string {
		logFile := filepath.Join(t.TempDir(), "strace.log")
		run(strace, append([]string{"-f", "-qq", "-o", logFile, "-e", "trace=%file,%desc"}, args...)...)
		log, err := os.ReadFile(logFile)
		if err != nil {
			t.Fatal(err)
		}
		return string(log)
	}
	checkTrace(t, "the credential process", traced(bin, "--role", role))
	checkTrace(t, "exec", traced(bin, "exec", "--role", role, "--", "true"))
	checkTrace(t, "exec --serve", traced(bin, "exec", "--serve", "--role", role, "--", "true"))
	logFile := filepath.Join(t.TempDir(), "strace.log")
	runServe(t, env, strace, "-f", "-qq", "-o", logFile, "-e", "trace=%file,%desc", bin, "serve", "--role", role)
	log, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	checkTrace(t, "serve", string(log))
	for kind, file := range adcFiles {
		t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", file)
		checkTrace(t, "--impersonate with "+kind, traced(append([]string{bin}, impersonate...)...))
	}
	if got := filesUnder(t, adcDir); strings.Join(got, ",") != strings.Join(adcBefore, ",") {
		t.Errorf("the ADC directory changed from %v to %v", adcBefore, got)
	}
}

// runServe starts serve (argv, possibly under strace), fetches
// credentials from it once, and stops it with SIGTERM.
func runServe(t *testing.T, env []string, argv ...string) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	vars := map[string]string{}
	sc := bufio.NewScanner(stdout)
	for len(vars) < 2 && sc.Scan() {
		k, v, _ := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
		vars[k] = v
	}
	req, _ := http.NewRequest("GET", vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"], nil)
	req.Header.Set("Authorization", vars["AWS_CONTAINER_AUTHORIZATION_TOKEN"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("serve printed %v: %v\n%s", vars, err, stderr.String())
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("serve answered %d", resp.StatusCode)
	}
	// Under strace the server is strace's child: find it by its port.
	pid := cmd.Process.Pid
	if filepath.Base(argv[0]) == "strace" {
		pid = tracee(t, cmd.Process.Pid)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v\n%s", err, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
}

// tracee is the one child process of pid.
func tracee(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	f := strings.Fields(string(b))
	if err != nil || len(f) != 1 {
		t.Fatalf("children of strace: %q %v", b, err)
	}
	child, _ := strconv.Atoi(f[0])
	return child
}

// checkTrace fails on any system call in an strace log that writes to the
// file system, and on any look at the AWS config.
func checkTrace(t *testing.T, what, log string) {
	t.Helper()
	writing := regexp.MustCompile(`^\d+\s+(open|openat|openat2|creat|mkdir|mkdirat|rename|renameat2?|unlink|unlinkat|link|linkat|symlink|symlinkat|truncate|ftruncate|memfd_create)\(`)
	writeFlags := regexp.MustCompile(`O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND`)
	var opened int
	for _, line := range strings.Split(log, "\n") {
		// The binary is called from ~/.aws/config; reading it could recurse.
		if strings.Contains(line, "/.aws/") {
			t.Errorf("%s looks at the AWS config: %s", what, line)
		}
		m := writing.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if strings.HasPrefix(m[1], "open") {
			opened++
			if !writeFlags.MatchString(line) || strings.Contains(line, `"/dev/null"`) {
				continue
			}
		}
		t.Errorf("%s writes to the file system: %s", what, line)
	}
	if opened == 0 {
		t.Errorf("strace saw no open at all in %s; the trace is not working:\n%s", what, log)
	}
}
