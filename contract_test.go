package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cli"
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
// run the command, as `credential_process = gcp-aws-cred --role …` makes it
// do, and checks it gets keys that expire, with the account.
func TestProcessCredsContract(t *testing.T) {
	srv := startFakes(t)
	bin, err := exec.LookPath(cli.Name) // the test binary as gcp-aws-cred, from TestMain
	if err != nil {
		t.Fatal(err)
	}
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

	// A failure reaches the SDK as an error (the exit status: the SDK
	// passes our stderr through to the person, it does not carry it), with
	// not a byte on stdout, and our message on stderr.
	srv.StopMetadata()
	var stdout, stderr bytes.Buffer
	_, err = processcreds.NewProviderCommand(processcreds.NewCommandBuilderFunc(func(ctx context.Context) (*exec.Cmd, error) {
		cmd := exec.CommandContext(ctx, bin, "--role", "arn:aws:iam::123456789012:role/r", "--timeout", "2s")
		cmd.Stdout, cmd.Stderr = &stdout, &stderr // the SDK adds its own reader of stdout
		return cmd, nil
	})).Retrieve(context.Background())
	if err == nil {
		t.Fatal("no error with the metadata server stopped")
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout on failure: %q", stdout.String())
	}
	if !strings.HasPrefix(stderr.String(), "gcp-aws-cred: error: ") || !strings.Contains(stderr.String(), "metadata server") {
		t.Errorf("stderr on failure: %q", stderr.String())
	}
}

// countingWriter counts Write calls.
type countingWriter struct {
	strings.Builder
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) { w.writes++; return w.Builder.Write(p) }

// TestDocumentIsOneWrite runs the command in process for every format: the
// document reaches stdout in a single write, so a reader never sees half of
// it, and stderr stays silent.
func TestDocumentIsOneWrite(t *testing.T) {
	startFakes(t)
	for _, f := range []string{"process", "env", "env-no-export", "fish", "powershell", "windows-cmd"} {
		var stdout, stderr countingWriter
		if code := run([]string{"--role", "arn:aws:iam::123456789012:role/r", "--output", f}, &stdout, &stderr); code != 0 {
			t.Fatalf("%s: exit %d: %s", f, code, stderr.String())
		}
		if stdout.writes != 1 || stderr.writes != 0 {
			t.Errorf("%s: %d writes to stdout, %d to stderr; want 1 and 0", f, stdout.writes, stderr.writes)
		}
	}
}
