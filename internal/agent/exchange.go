package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
)

// Failure is an exchange that failed as a direct run would: its exit
// status and what it wrote to stderr (the error line and its hints).
type Failure struct {
	Exit   int
	Stderr string
}

// Error is the stderr text.
func (f *Failure) Error() string { return f.Stderr }

// maxExchange bounds one exchange in the agent, whatever --timeout says:
// the Go SDK gives a credential process one minute, the agent's caller
// waits no longer than its own --timeout.
const maxExchange = 2 * time.Minute

// maxOutput bounds what the agent keeps of a child's stdout and stderr.
const maxOutput = 64 << 10

// SelfExchange runs the credential pipeline as a direct run would: this
// very binary, as the plain credential process ("get", the caller's
// arguments, --output process), with the caller's environment, in the
// caller's directory (or /), and the agent switched off so it cannot ask
// itself. A child process, rather than the pipeline in the agent's own
// process, is what makes the run see exactly the caller's environment:
// Go reads SSL_CERT_FILE and SSL_CERT_DIR once per process, and several
// libraries read their variables from the process environment.
//
// Only this command line is ever run: the agent's Check has refused any
// request whose arguments are not a credential process run.
func SelfExchange(self string) func(context.Context, *Request) (awscred.Credentials, error) {
	return func(ctx context.Context, r *Request) (awscred.Credentials, error) {
		ctx, cancel := context.WithTimeout(ctx, maxExchange)
		defer cancel()
		argv := append(append([]string{"get"}, r.Args...), "--output", "process")
		cmd := exec.CommandContext(ctx, self, argv...)
		cmd.Env = append(append([]string(nil), r.Env...), EnvNoAgent+"=1")
		cmd.Dir = r.Dir
		if cmd.Dir == "" {
			cmd.Dir = "/"
		}
		var stdout, stderr bytes.Buffer
		cmd.Stdout = &limited{b: &stdout}
		cmd.Stderr = &limited{b: &stderr}
		cmd.WaitDelay = time.Second
		err := cmd.Run()
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) && ee.ExitCode() > 0 {
			return awscred.Credentials{}, &Failure{Exit: ee.ExitCode(), Stderr: stderr.String()}
		}
		if err != nil {
			return awscred.Credentials{}, fmt.Errorf("running the credential process: %v", err)
		}
		return parseDocument(stdout.Bytes())
	}
}

// Self is the path of the running binary, for SelfExchange.
func Self() (string, error) { return os.Executable() }

// parseDocument reads the credential_process document a child printed.
func parseDocument(b []byte) (awscred.Credentials, error) {
	var doc struct {
		Version         int
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string
		SessionToken    string
		Expiration      time.Time
		AccountID       string `json:"AccountId"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.Version != 1 || doc.AccessKeyID == "" || doc.Expiration.IsZero() {
		return awscred.Credentials{}, errors.New("the credential process printed no credential document")
	}
	return awscred.Credentials{AccessKeyID: doc.AccessKeyID, SecretAccessKey: secret.New(doc.SecretAccessKey),
		SessionToken: secret.New(doc.SessionToken), Expiration: doc.Expiration, AccountID: doc.AccountID}, nil
}

// limited keeps the first maxOutput bytes written to it and drops the rest,
// so a child cannot fill the agent's memory.
type limited struct{ b *bytes.Buffer }

func (l *limited) Write(p []byte) (int, error) {
	if room := maxOutput - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
