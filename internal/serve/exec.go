package serve

import (
	"cmp"
	"context"
	"os"
	"os/exec"
	"slices"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/child"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
)

// ExecConfig is `exec --serve`.
type ExecConfig struct {
	// Config is the server's; Listen and Token are chosen by Exec. With
	// IMDS the command gets AWS_EC2_METADATA_SERVICE_ENDPOINT too.
	Config
	// Region, when not empty, is set as AWS_REGION and AWS_DEFAULT_REGION
	// in the command's environment unless it has a non-empty one already;
	// one that is set but empty is replaced.
	Region string
	// Argv is the command and its arguments.
	Argv []string
	// Environ is the environment the command's is derived from; nil means
	// os.Environ().
	Environ []string
	// Stdin, Stdout and Stderr are the command's; nil means this process's.
	// They are files, handed to the command as they are: no goroutine of
	// ours copies its output.
	Stdin, Stdout, Stderr *os.File
}

// hidden is everything an SDK would read before the container provider,
// or instead of our endpoint and token, in its default credential chain:
// static keys (including AWS_ACCESS_KEY and AWS_SECRET_KEY, which
// aws-sdk-go-v2's config.EnvConfig, aws-sdk-go and the Java SDK v1 read
// when the usual names are unset), a profile (which may hold keys or a
// credential_process), web identity, the ECS relative URI (which wins over the full URI in
// every SDK), and a token file (which Go v2 and botocore read in
// preference to AWS_CONTAINER_AUTHORIZATION_TOKEN).
var hidden = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
	"AWS_CREDENTIAL_EXPIRATION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", URIEnv, TokenEnv, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
}

// childEnv is environ without the hidden variables, with the endpoint and
// token, with the IMDS endpoint when imds is not empty (its variables the
// parent had removed: a disabled IMDS, or another endpoint), and with the
// region when given and not set already.
func childEnv(environ []string, url, token, imds, region string) []string {
	hide, set := hidden, []string{URIEnv + "=" + url, TokenEnv + "=" + token}
	if imds != "" {
		hide = append(slices.Clip(hidden), IMDSEndpointEnv, "AWS_EC2_METADATA_DISABLED", "AWS_EC2_METADATA_V1_DISABLED")
		set = append(set, IMDSEndpointEnv+"="+imds)
	}
	return child.Env(environ, hide, set, region)
}

// Exec is `exec --serve`: it starts a server on an ephemeral loopback port
// with a fresh random token, runs the command with the server's endpoint
// and token in its environment, and stays its parent: it forwards signals
// to it, stops the server when it exits, and returns its exit status as
// explain.Exit (128 + the signal's number when a signal killed it; see
// child.Run). When this process dies the command is sent SIGTERM on Linux.
func Exec(ctx context.Context, ec ExecConfig) error {
	if len(ec.Argv) == 0 {
		return explain.Errorf(nil, "exec --serve needs a command to run").
			Hint("gcp-aws-cred exec --serve --role ARN -- terraform apply")
	}
	// Look the command up first: a typo should not cost an STS call.
	path, err := child.Look(ec.Argv[0])
	if err != nil {
		return err
	}
	tok := newToken()
	cfg := ec.Config
	cfg.Listen, cfg.Token = "127.0.0.1:0", tok
	srv, err := Start(ctx, cfg)
	if err != nil {
		return err
	}

	environ := ec.Environ
	if environ == nil {
		environ = os.Environ()
	}
	// cmp.Or keeps a nil *os.File from reaching exec.Cmd as a non-nil
	// io.Reader or io.Writer.
	cmd := &exec.Cmd{
		Path:   path,
		Args:   ec.Argv,
		Env:    childEnv(environ, srv.URL(), tok.Reveal(), srv.IMDSEndpoint(), ec.Region),
		Stdin:  cmp.Or(ec.Stdin, os.Stdin),
		Stdout: cmp.Or(ec.Stdout, os.Stdout),
		Stderr: cmp.Or(ec.Stderr, os.Stderr),
	}
	return child.Run(cmd, func() { shutdown(srv) })
}
