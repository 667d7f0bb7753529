package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/testbin"
)

// TestWritesNoFile runs the built binary, and each operator command, with
// empty HOME and TMPDIR and checks they stay empty; under strace it also
// checks that the credential process opens no file for writing and
// creates, renames or removes none anywhere. It needs a real process of
// the real binary, not the test binary standing in for it.
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
