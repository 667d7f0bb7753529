package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
)

// startFakes points this process, and so its children, at fresh fakes.
func startFakes(t *testing.T) *fakes.Servers {
	t.Helper()
	srv, err := fakes.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	t.Setenv("GCE_METADATA_HOST", srv.MetadataHost)
	t.Setenv("AWS_ENDPOINT_URL_STS", srv.STSURL)
	return srv
}

// TestProcessCredsContract has the Go SDK's own credential_process consumer
// run the binary, as `credential_process = gcp-aws-cred --role …` makes it
// do, and checks it gets keys that expire, with the account (issue 2).
func TestProcessCredsContract(t *testing.T) {
	srv := startFakes(t)
	bin := filepath.Join(binDir, "gcp-aws-cred")
	p := processcreds.NewProvider(bin + " --role arn:aws:iam::123456789012:role/aws-allow-gcp-access --duration 2h")
	creds, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !creds.CanExpire {
		t.Error("CanExpire is false: the SDK would never refresh")
	}
	if d := time.Until(creds.Expires); d < 119*time.Minute || d > 2*time.Hour {
		t.Errorf("Expires in %s, want 2h", d)
	}
	if creds.AccountID != "123456789012" {
		t.Errorf("AccountID %q", creds.AccountID)
	}
	issued := strings.Join(srv.STS.Issued(), "\n")
	if !strings.HasPrefix(creds.AccessKeyID, "ASIA") || !strings.Contains(issued, creds.SecretAccessKey) || !strings.Contains(issued, creds.SessionToken) {
		t.Errorf("the SDK did not get the keys STS issued")
	}

	// A failure reaches the SDK as an error that carries our message, and
	// not a byte of stdout: there is none.
	srv.StopMetadata()
	_, err = processcreds.NewProvider(bin + " --role arn:aws:iam::123456789012:role/r --timeout 2s").Retrieve(context.Background())
	if err == nil {
		t.Fatal("no error with the metadata server stopped")
	}
}

// TestWritesNoFile runs the binary, and each operator command, with empty
// HOME and TMPDIR and checks they stay empty; under strace it also checks
// that the credential process opens no file for writing and creates,
// renames or removes none anywhere (issues 2 and 4).
func TestWritesNoFile(t *testing.T) {
	startFakes(t)
	home, tmp := t.TempDir(), t.TempDir()
	bin := filepath.Join(binDir, "gcp-aws-cred")
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
	} {
		run(bin, args...)
	}
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
	logFile := filepath.Join(t.TempDir(), "strace.log")
	run(strace, "-f", "-qq", "-o", logFile, "-e", "trace=%file,%desc", bin, "--role", "arn:aws:iam::123456789012:role/r")
	log, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	writing := regexp.MustCompile(`^\d+\s+(open|openat|openat2|creat|mkdir|mkdirat|rename|renameat2?|unlink|unlinkat|link|linkat|symlink|symlinkat|truncate|ftruncate|memfd_create)\(`)
	writeFlags := regexp.MustCompile(`O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND`)
	var opened int
	for _, line := range strings.Split(string(log), "\n") {
		// The binary is called from ~/.aws/config; reading it could recurse.
		if strings.Contains(line, "/.aws/") {
			t.Errorf("looks at the AWS config: %s", line)
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
		t.Errorf("writes to the file system: %s", line)
	}
	if opened == 0 {
		t.Errorf("strace saw no open at all; the trace is not working:\n%s", log)
	}
}
