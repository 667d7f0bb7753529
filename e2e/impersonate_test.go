//go:build unix

package e2e

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
)

// writeADC writes an ADC file of kind for the Google fake g into dir, with
// the subject token file an external_account file reads, and returns its
// path.
func writeADC(t *testing.T, g *fakes.Google, kind, dir string) string {
	t.Helper()
	subject := filepath.Join(dir, "subject-token")
	if err := os.WriteFile(subject, []byte(fakes.SubjectToken), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := g.ADCFile(kind, subject)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, kind+".json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestImpersonateCLIAndBoto3 runs the AWS CLI and boto3 through a
// credential_process line with --impersonate, off Google Cloud: for each
// ADC file a laptop or CI has (a user login, a service account key, a
// Workload Identity Federation configuration with a file-sourced subject
// token), the CLI and boto3 get the role, the ID token comes from
// generateIdToken (the metadata server mints none), and neither HOME nor
// the ADC directory gains a file. Then exec --serve does the same for a
// script of aws commands with one exchange.
func TestImpersonateCLIAndBoto3(t *testing.T) {
	w := setup(t)
	// Off Google Cloud: the metadata server is the one fake that must not
	// be asked for an ID token; the Google fake signs with its key, which
	// is what a real STS would check against Google's.
	md, err := fakes.NewMetadata()
	if err != nil {
		t.Fatal(err)
	}
	mdSrv := httptest.NewServer(md)
	t.Cleanup(mdSrv.Close)
	g, err := fakes.StartGoogle(md.Key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	adcDir := t.TempDir()
	const profile = "[profile imp]\ncredential_process = %s --impersonate %s --role %s --session-name %s\nregion = us-east-1\n"
	config := fmt.Sprintf(profile, w.bin, fakes.TargetEmail, role, session)
	if err := os.WriteFile(filepath.Join(w.home, ".aws", "config"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	base := setEnv(w.env, "GCP_AWS_CRED_IAM_CREDENTIALS_ENDPOINT", g.URL)
	base = setEnv(base, "GCE_METADATA_HOST", strings.TrimPrefix(mdSrv.URL, "http://"))
	minted := 0
	for _, kind := range []string{fakes.AuthorizedUser, fakes.ServiceAccountKey, fakes.ExternalAccount} {
		t.Run(kind, func(t *testing.T) {
			w.env = setEnv(base, "GOOGLE_APPLICATION_CREDENTIALS", writeADC(t, g, kind, adcDir))
			out := w.mustRun(t, "aws", "--profile", "imp", "sts", "get-caller-identity", "--output", "json")
			if arn := callerARN(t, out); arn != wantARN {
				t.Errorf("aws sts get-caller-identity: Arn %q, want %q", arn, wantARN)
			}
			out = w.mustRun(t, python(), "-c", `import boto3; print(boto3.Session(profile_name="imp").client("sts").get_caller_identity()["Arn"])`)
			if got := strings.TrimSpace(out); got != wantARN {
				t.Errorf("boto3: Arn %q, want %q", got, wantARN)
			}
			if n := g.IDTokens() - minted; n != 2 {
				t.Errorf("generateIdToken minted %d tokens for the CLI and boto3, want 2", n)
			}
			minted = g.IDTokens()
		})
	}

	t.Run("exec --serve", func(t *testing.T) {
		w.env = setEnv(base, "GOOGLE_APPLICATION_CREDENTIALS", writeADC(t, g, fakes.ServiceAccountKey, adcDir))
		const script = `set -e
aws sts get-caller-identity --query Arn --output text
aws s3 mb s3://imp-e2e
aws s3 ls
aws sts get-caller-identity --query Arn --output text
`
		out, errOut, err := w.run(t, w.bin, "exec", "--serve", "--impersonate", fakes.TargetEmail, "--role", role, "--session-name", session, "--", "sh", "-c", script)
		if err != nil {
			t.Fatalf("exec --serve --impersonate: %v\nstdout: %s\nstderr: %s", err, out, errOut)
		}
		if n := strings.Count(out, wantARN); n != 2 {
			t.Errorf("get-caller-identity printed %s %d times, want 2:\n%s", wantARN, n, out)
		}
		if !strings.Contains(out, "imp-e2e") {
			t.Errorf("aws s3 ls does not list the bucket:\n%s", out)
		}
		if n := g.IDTokens() - minted; n != 1 {
			t.Errorf("four aws commands under exec --serve minted %d ID tokens, want 1", n)
		}
	})

	if n := len(md.Minted()); n != 0 {
		t.Errorf("the metadata server minted %d ID tokens; with --impersonate it must mint none", n)
	}
	if got, want := filesUnder(t, w.home), []string{".aws", ".aws/config"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("HOME holds %v, want only %v: no token cache", got, want)
	}
	if got := filesUnder(t, adcDir); len(got) != 4 {
		t.Errorf("the ADC directory holds %v, want the three files and the subject token only", got)
	}
}
