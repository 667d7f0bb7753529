package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
)

// TestSandboxImpersonate runs the --impersonate example the sandbox
// prints, as a user would paste it, with the sandbox's exports: it gets
// credentials for the role that trusts the impersonated account. Each ADC
// file it lists works the same way, and they are gone once it stops.
func TestSandboxImpersonate(t *testing.T) {
	sb := start(t, "--for", "2m")
	endpoint := sb.env["GCP_AWS_CRED_IAM_CREDENTIALS_ENDPOINT"]
	if !strings.HasPrefix(endpoint, "http://127.0.0.1:") {
		t.Fatalf("GCP_AWS_CRED_IAM_CREDENTIALS_ENDPOINT=%q, want the fake on loopback:\n%s", endpoint, sb.stdout)
	}
	_, example, ok := strings.Cut(sb.stdout, "# Try, from a \"laptop\" (a user login):\n#   ")
	example, _, _ = strings.Cut(example, "\n")
	if !ok || !strings.Contains(example, "--impersonate "+fakes.TargetEmail) || !strings.Contains(example, fakes.ImpersonatedRole) {
		t.Fatalf("no --impersonate example in:\n%s", sb.stdout)
	}
	exports := []string{"GCP_AWS_CRED_IAM_CREDENTIALS_ENDPOINT=" + endpoint, "GCE_METADATA_HOST=" + sb.env["GCE_METADATA_HOST"]}
	out, errOut, code := credentialProcess(t, example, exports...)
	if code != 0 || errOut != "" || !strings.Contains(out, `"AccountId":"`+fakes.SandboxAccount+`"`) {
		t.Fatalf("the example: exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}

	var files []string
	for _, l := range strings.Split(sb.stdout, "\n") {
		if f := strings.TrimPrefix(l, "#   "); strings.HasSuffix(f, ".json") && filepath.IsAbs(f) {
			files = append(files, f)
		}
	}
	if len(files) != len(fakes.ADCKinds) {
		t.Fatalf("ADC files listed: %v, want one per kind", files)
	}
	line := "gcp-aws-cred --impersonate " + fakes.TargetEmail + " --role " + fakes.ImpersonatedRole + " --sts-endpoint " + sb.env["AWS_ENDPOINT_URL_STS"]
	for _, f := range files {
		if out, errOut, code := credentialProcess(t, line, append(exports, "GOOGLE_APPLICATION_CREDENTIALS="+f)...); code != 0 || out == "" {
			t.Errorf("with %s: exit %d, stderr:\n%s", filepath.Base(f), code, errOut)
		}
	}

	if err := sb.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sb.wait(t, 10*time.Second)
	if _, err := os.Stat(filepath.Dir(files[0])); !os.IsNotExist(err) {
		t.Errorf("the ADC directory %s is still there after the sandbox stopped (%v)", filepath.Dir(files[0]), err)
	}
}
