package e2e

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
)

// Role chaining end to end: the AWS CLI (v1 and v2) and boto3 run
// gcp-aws-cred with --chain-role through credential_process, against
// moto's STS (whose AssumeRole is the real SDK's call, signed with the
// first role's keys) and then against the fake STS, which checks the
// signature, the trust of the second role in the first, and the external
// ID, so a denied hop shows its message through the CLI.

const (
	secondRole = "arn:aws:iam::" + account + ":role/e2e-second"
	wantSecond = "arn:aws:sts::" + account + ":assumed-role/e2e-second/" + session
)

// chainProfile adds the profile name to w's config: credential_process
// with --role, then --chain-role and any extra flags.
func (w *world) chainProfile(t *testing.T, name string, extra ...string) {
	t.Helper()
	line := fmt.Sprintf("%s --role %s --chain-role %s --session-name %s %s", w.bin, role, secondRole, session, strings.Join(extra, " "))
	f, err := os.OpenFile(filepath.Join(w.home, ".aws", "config"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "\n[profile %s]\ncredential_process = %s\nregion = us-east-1\n", name, strings.TrimSpace(line)); err != nil {
		t.Fatal(err)
	}
}

// TestChainCLIAndBoto3: get-caller-identity names the second role, for the
// AWS CLI v1 and v2, boto3, and a command under exec --serve; the first
// role's session signs the AssumeRole; nothing is cached under HOME.
func TestChainCLIAndBoto3(t *testing.T) {
	w := setup(t)
	counter := countSTS(t, w.motoURL())
	w.env = setEnv(w.env, "AWS_ENDPOINT_URL_STS", counter.URL)
	w.chainProfile(t, "chain", "--external-id", "e2e-external")

	out := w.mustRun(t, "aws", "--profile", "chain", "sts", "get-caller-identity", "--output", "json")
	if arn := callerARN(t, out); arn != wantSecond {
		t.Errorf("aws sts get-caller-identity through the chain: Arn %q, want %q", arn, wantSecond)
	}
	if got := counter.calls("AssumeRoleWithWebIdentity"); got != 1 {
		t.Errorf("STS saw %d AssumeRoleWithWebIdentity calls, want 1 (%s)", got, counter)
	}
	if got := counter.calls("AssumeRole"); got != 1 {
		t.Errorf("STS saw %d AssumeRole calls, want 1 (%s)", got, counter)
	}

	out = w.mustRun(t, python(), "-c", `import boto3; print(boto3.Session(profile_name="chain").client("sts").get_caller_identity()["Arn"])`)
	if got := strings.TrimSpace(out); got != wantSecond {
		t.Errorf("boto3 through the chain: Arn %q, want %q", got, wantSecond)
	}

	// exec --serve refreshes the whole chain; the command sees the second
	// role.
	script := `set -e
echo "uri=$AWS_CONTAINER_CREDENTIALS_FULL_URI"
aws sts get-caller-identity --query Arn --output text`
	out, errOut, err := w.run(t, w.bin, "exec", "--serve", "--role", role, "--chain-role", secondRole, "--session-name", session, "--", "sh", "-c", script)
	if err != nil {
		t.Fatalf("exec --serve --chain-role: %v\nstdout: %s\nstderr: %s", err, out, errOut)
	}
	if !strings.Contains(out, "\n"+wantSecond+"\n") {
		t.Errorf("under exec --serve, get-caller-identity did not name %s:\n%s", wantSecond, out)
	}
	checkClosed(t, serverAddr(t, out))

	t.Run("AWS CLI v2", func(t *testing.T) {
		v2 := awsV2(t)
		out := w.mustRun(t, v2, "--profile", "chain", "--endpoint-url", w.motoURL(), "sts", "get-caller-identity", "--output", "json")
		if arn := callerARN(t, out); arn != wantSecond {
			t.Errorf("aws v2 sts get-caller-identity through the chain: Arn %q, want %q", arn, wantSecond)
		}
	})

	if got, want := filesUnder(t, w.home), []string{".aws", ".aws/config"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("HOME holds %v, want only %v: no credentials file, no cache", got, want)
	}
}

// TestChainRefusals: through the AWS CLI, a denied hop names itself and
// prints the trust statement, and a --duration over an hour is refused
// before any call. The fake STS stands in for AWS here: moto admits every
// AssumeRole.
func TestChainRefusals(t *testing.T) {
	w := setup(t)
	srv, err := fakes.StartWith(fakes.Options{Roles: map[string]fakes.Role{
		role:       {MaxSessionDuration: 12 * time.Hour},
		secondRole: {MaxSessionDuration: 12 * time.Hour, AssumedBy: []string{role}, ExternalID: "the-right-id"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	w.env = setEnv(setEnv(w.env, "AWS_ENDPOINT_URL_STS", srv.STSURL), "GCE_METADATA_HOST", srv.MetadataHost)
	w.chainProfile(t, "wrong", "--external-id", "a-wrong-id")

	out, errOut, err := w.run(t, "aws", "--profile", "wrong", "sts", "get-caller-identity")
	if err == nil {
		t.Fatalf("aws succeeded through a denied hop: %s", out)
	}
	t.Logf("the AWS CLI through a denied hop:\n%s", errOut)
	for _, want := range []string{
		"gcp-aws-cred: error: hop 2 of 2 (--chain-role " + secondRole + "): STS refused to let a session of " + role + " assume it (AccessDenied: User: arn:aws:sts::" + account + ":assumed-role/e2e-role/" + session + " is not authorized to perform: sts:AssumeRole on resource: " + secondRole + ")",
		"gcp-aws-cred: hint: the trust policy of " + secondRole + " must admit " + role + "; add this statement to it",
		`"AWS": "` + role + `"`,
		`"sts:ExternalId": "a-wrong-id"`,
		"gcp-aws-cred: hint: the external ID sent was --external-id a-wrong-id",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("the AWS CLI's error does not carry %q:\n%s", want, errOut)
		}
	}
	for _, s := range srv.STS.Issued() {
		if strings.Contains(errOut, s) {
			t.Errorf("the AWS CLI's error holds a secret the STS issued")
		}
	}

	// With the right ID the same chain works, signed and checked by the fake.
	w.chainProfile(t, "chain", "--external-id", "the-right-id")
	out = w.mustRun(t, "aws", "--profile", "chain", "sts", "get-caller-identity", "--output", "json")
	if arn := callerARN(t, out); arn != wantSecond {
		t.Errorf("with the right external ID: Arn %q, want %q", arn, wantSecond)
	}

	// A chained session over an hour: refused before any call.
	before := len(srv.STS.Received())
	_, errOut, err = w.run(t, w.bin, "--role", role, "--chain-role", secondRole, "--duration", "4h")
	if err == nil || !strings.Contains(errOut, "gcp-aws-cred: error: --duration 4h is longer than a chained session may last: STS limits sessions made with --chain-role to 1h") {
		t.Errorf("--duration 4h with --chain-role: err %v, stderr:\n%s", err, errOut)
	}
	if n := len(srv.STS.Received()) - before; n != 0 {
		t.Errorf("STS got %d requests for a refused duration", n)
	}
}

// TestConsoleLinkThroughChain: console --stdout against the fake
// federation endpoint gives a link for the chained role's keys, and the
// sign-in token is in no stderr line, --verbose included.
func TestConsoleLinkThroughChain(t *testing.T) {
	w := setup(t)
	srv, err := fakes.StartWith(fakes.Options{Roles: map[string]fakes.Role{
		role:       {MaxSessionDuration: 12 * time.Hour},
		secondRole: {MaxSessionDuration: 12 * time.Hour, AssumedBy: []string{role}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	fed := &fakes.Federation{STS: srv.STS}
	fedSrv := httptest.NewServer(fed)
	t.Cleanup(fedSrv.Close)
	w.env = setEnv(setEnv(w.env, "AWS_ENDPOINT_URL_STS", srv.STSURL), "GCE_METADATA_HOST", srv.MetadataHost)
	out, errOut, err := w.run(t, w.bin, "console", "--stdout", "--verbose", "--role", role, "--chain-role", secondRole, "--federation-endpoint", fedSrv.URL+"/federation")
	if err != nil {
		t.Fatalf("console: %v\n%s", err, errOut)
	}
	toks := fed.Tokens()
	if len(toks) != 1 || !strings.Contains(out, "SigninToken="+toks[0]) || !strings.HasPrefix(out, fedSrv.URL+"/federation?Action=login&") {
		t.Errorf("stdout is not a login link with the issued token: %d bytes", len(out))
	}
	if strings.Contains(errOut, toks[0]) || strings.Contains(errOut, toks[0][:40]) || strings.Contains(errOut, "SigninToken") {
		t.Errorf("stderr holds the sign-in token:\n%s", errOut)
	}
	if !strings.Contains(errOut, "hop 2 (AssumeRole "+secondRole+")") {
		t.Errorf("the --verbose trace does not show the hop:\n%s", errOut)
	}
}
