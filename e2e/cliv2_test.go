package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// awsV2 is AWS CLI v2: $E2E_AWS_V2, else Debian's awscli package at
// /usr/bin/aws, which sits next to v1 (pip's aws, first on PATH). Without
// it the test skips and says what to install, except under CI=true.
func awsV2(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end tests skipped in -short mode")
	}
	bin := os.Getenv("E2E_AWS_V2")
	if bin == "" {
		bin = "/usr/bin/aws"
	}
	out, err := exec.Command(bin, "--version").Output()
	if err == nil && strings.HasPrefix(string(out), "aws-cli/2.") {
		return bin
	}
	msg := "missing AWS CLI v2 at " + bin + " (apt-get install awscli, or set E2E_AWS_V2)"
	if err == nil {
		msg = bin + " is not AWS CLI v2: " + strings.TrimSpace(string(out))
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing tool is a failure, not a skip)")
	}
	t.Skip(msg)
	return ""
}

// motoURL is where setup pointed the AWS tools. AWS CLI v2 before 2.13
// (Debian's is 2.9) ignores AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_STS, so
// its own calls take --endpoint-url; gcp-aws-cred, which it runs, still
// reads the variable.
func (w *world) motoURL() string {
	for _, kv := range w.env {
		if v, ok := strings.CutPrefix(kv, "AWS_ENDPOINT_URL="); ok {
			return v
		}
	}
	return ""
}

// TestCLIv2 runs AWS CLI v2 through credential_process: STS and S3 at moto,
// HOME holding only the config afterwards (v2 caches assumed roles under
// ~/.aws/cli/cache, but not what a credential process returns); then, with
// the metadata server stopped, v2 fails and its message carries
// gcp-aws-cred's error and hint lines as they are.
func TestCLIv2(t *testing.T) {
	v2 := awsV2(t)
	w := setup(t)
	moto := w.motoURL()

	out := w.mustRun(t, v2, "--profile", "gcp", "--endpoint-url", moto, "sts", "get-caller-identity", "--output", "json")
	if arn := callerARN(t, out); arn != wantARN {
		t.Errorf("aws v2 sts get-caller-identity: Arn %q, want %q", arn, wantARN)
	}
	w.mustRun(t, v2, "--profile", "gcp", "--endpoint-url", moto, "s3", "mb", "s3://gcp-aws-cred-e2e-v2")
	if out := w.mustRun(t, v2, "--profile", "gcp", "--endpoint-url", moto, "s3", "ls"); !strings.Contains(out, "gcp-aws-cred-e2e-v2") {
		t.Errorf("aws v2 s3 ls does not list the bucket: %q", out)
	}
	if got, want := filesUnder(t, w.home), []string{".aws", ".aws/config"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("HOME holds %v, want only %v: no credentials file, no cache", got, want)
	}

	w.md.Close()
	out, errOut, err := w.run(t, v2, "--profile", "gcp", "--endpoint-url", moto, "sts", "get-caller-identity")
	if err == nil {
		t.Fatalf("aws v2 succeeded without a metadata server: %s", out)
	}
	if out != "" {
		t.Errorf("stdout %q, want nothing", out)
	}
	host := strings.TrimPrefix(w.md.URL, "http://")
	// v2 puts the credential process's stderr after its own words.
	prefix := "Error when retrieving credentials from custom-process: gcp-aws-cred: error: "
	i := strings.Index(errOut, prefix)
	if i < 0 {
		t.Fatalf("the AWS CLI v2 error does not carry ours after %q:\n%s", prefix, errOut)
	}
	first, rest, _ := strings.Cut(errOut[i+len(prefix):], "\n")
	if !strings.Contains(first, "metadata server at "+host) {
		t.Errorf("our error line %q does not name the metadata server %s", first, host)
	}
	if !strings.HasPrefix(rest, "gcp-aws-cred: hint: ") {
		t.Errorf("no hint line after our error:\n%s", errOut)
	}
	if files := filesUnder(t, w.home); len(files) != 2 {
		t.Errorf("HOME holds %v", files)
	}
}
