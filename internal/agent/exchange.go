package agent

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/output"
)

// Failure is an exchange that failed as a direct run would: its exit
// status and what it wrote to stderr (the error line and its hints).
type Failure struct {
	Exit   int
	Stderr string
}

// Error is the stderr text.
func (f *Failure) Error() string { return f.Stderr }

// maxExchange bounds one exchange, whatever --timeout says: the Go SDK
// gives a credential process one minute, and the caller waits no longer
// than its own --timeout.
const maxExchange = 2 * time.Minute

// maxOutput bounds what the agent keeps of a child's stdout and stderr.
const maxOutput = 64 << 10

// SelfExchange runs the credential pipeline as a direct run would: this
// binary as the plain credential process ("get", the caller's arguments,
// --output process), with the caller's environment, in the caller's
// directory (or /), with the agent switched off. A child process sees
// exactly the caller's environment, as the agent's own process cannot: Go
// reads SSL_CERT_FILE and SSL_CERT_DIR once per process, and libraries read
// their variables from the process environment. Config.Check has refused
// any arguments that are not a credential process run.
func SelfExchange(self string) func(context.Context, *Request) (awscred.Credentials, error) {
	return func(ctx context.Context, r *Request) (awscred.Credentials, error) {
		ctx, cancel := context.WithTimeout(ctx, maxExchange)
		defer cancel()
		argv := append(append([]string{"get"}, r.Args...), "--output", "process")
		cmd := exec.CommandContext(ctx, self, argv...)
		cmd.Env = append(append([]string(nil), r.Env...), EnvNoAgent+"=1")
		cmd.Dir = cmp.Or(r.Dir, "/")
		var stdout, stderr limited
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.WaitDelay = time.Second
		err := cmd.Run()
		if ee, ok := errors.AsType[*exec.ExitError](err); ok && ee.ExitCode() > 0 {
			return awscred.Credentials{}, &Failure{Exit: ee.ExitCode(), Stderr: stderr.String()}
		}
		if err != nil {
			return awscred.Credentials{}, fmt.Errorf("running the credential process: %v", err)
		}
		creds, err := parseDocument(stdout.Bytes())
		// The key holds the ADC file as the caller saw it. A login as
		// another account since (a refresh runs long after) would store
		// that account's keys under this key: they are not kept.
		if err == nil && r.adcNow() != r.ADC {
			return awscred.Credentials{}, &Failure{Exit: 1, Stderr: "gcp-aws-cred: error: the Application Default Credentials file changed while the agent exchanged with it\ngcp-aws-cred: hint: run the command again\n"}
		}
		return creds, err
	}
}

// parseDocument reads the credential_process document a child printed.
func parseDocument(b []byte) (awscred.Credentials, error) {
	var doc output.Document
	if json.Unmarshal(b, &doc) == nil && doc.Version == 1 && doc.AccessKeyID != "" {
		if exp, err := time.Parse(time.RFC3339, doc.Expiration); err == nil {
			return awscred.Credentials{AccessKeyID: doc.AccessKeyID, SecretAccessKey: secret.New(doc.SecretAccessKey),
				SessionToken: secret.New(doc.SessionToken), Expiration: exp, AccountID: doc.AccountID}, nil
		}
	}
	return awscred.Credentials{}, errors.New("the credential process printed no credential document")
}

// limited keeps the first maxOutput bytes written to it, so a child cannot
// fill the agent's memory.
type limited struct{ bytes.Buffer }

func (l *limited) Write(p []byte) (int, error) {
	if room := maxOutput - l.Len(); room > 0 {
		l.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
