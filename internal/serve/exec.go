package serve

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fail"
)

// ExecConfig is `exec --serve`.
type ExecConfig struct {
	// Config is the server's; Listen and Token are chosen by Exec.
	Config
	// Region, when not empty, is set as AWS_REGION and AWS_DEFAULT_REGION
	// in the command's environment unless it has one already.
	Region string
	// Argv is the command and its arguments.
	Argv []string
	// Environ is the environment the command's is derived from; nil means
	// os.Environ().
	Environ []string
	// Stdin, Stdout and Stderr are the command's; nil means this process's.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// hidden is everything an SDK would read before the container provider,
// or instead of our endpoint and token, in its default credential chain:
// static keys, a profile (which may hold keys or a credential_process),
// web identity, the ECS relative URI (which wins over the full URI in
// every SDK), and a token file (which Go v2 and botocore read in
// preference to AWS_CONTAINER_AUTHORIZATION_TOKEN).
var hidden = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
	"AWS_CREDENTIAL_EXPIRATION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", URIEnv, TokenEnv, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
}

// childEnv is environ without the hidden variables, with the endpoint and
// token, and with the region when given and not set already.
func childEnv(environ []string, url, token, region string) []string {
	drop := make(map[string]bool, len(hidden))
	for _, k := range hidden {
		drop[k] = true
	}
	env := make([]string, 0, len(environ)+4)
	hasRegion := false
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		// Windows names are case-insensitive; elsewhere no SDK reads a
		// lower-case variant, so dropping one costs nothing.
		k = strings.ToUpper(k)
		if drop[k] {
			continue
		}
		if k == "AWS_REGION" || k == "AWS_DEFAULT_REGION" {
			hasRegion = true
		}
		env = append(env, kv)
	}
	env = append(env, URIEnv+"="+url, TokenEnv+"="+token)
	if region != "" && !hasRegion {
		env = append(env, "AWS_REGION="+region, "AWS_DEFAULT_REGION="+region)
	}
	return env
}

// Exec is `exec --serve`: it starts a server on an ephemeral loopback port
// with a fresh random token, runs the command with the server's endpoint
// and token in its environment, and stays its parent: it forwards signals
// to it, stops the server when it exits, and returns its exit status as
// fail.Exit (128 + the signal's number when a signal killed it).
func Exec(ctx context.Context, ec ExecConfig) error {
	if len(ec.Argv) == 0 {
		return fail.Errorf(nil, "exec --serve needs a command to run").
			Hint("gcp-aws-cred exec --serve --role ARN -- terraform apply")
	}
	// Look the command up first: a typo should not cost an STS call.
	path, err := exec.LookPath(ec.Argv[0])
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return fail.Errorf(err, "command %q not found in PATH", ec.Argv[0]).
			Hint("check the spelling, or give the command's full path")
	case err != nil:
		return fail.Errorf(err, "cannot run %q: %v", ec.Argv[0], errors.Unwrap(err)).
			Hint("check that the file exists and is executable")
	}
	tok, _, err := ResolveToken(func(string) string { return "" }, "")
	if err != nil {
		return err
	}
	cfg := ec.Config
	cfg.Listen, cfg.Token = "127.0.0.1:0", tok
	srv, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer shutdown(srv)

	environ := ec.Environ
	if environ == nil {
		environ = os.Environ()
	}
	cmd := exec.Command(path, ec.Argv[1:]...)
	cmd.Args[0] = ec.Argv[0]
	cmd.Env = childEnv(environ, srv.URL(), tok.Reveal(), ec.Region)
	// An *os.File goes to the child as it is, with no copying goroutine.
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if ec.Stdin != nil {
		cmd.Stdin = ec.Stdin
	}
	if ec.Stdout != nil {
		cmd.Stdout = ec.Stdout
	}
	if ec.Stderr != nil {
		cmd.Stderr = ec.Stderr
	}
	code, err := runChild(cmd)
	if err != nil {
		return fail.Errorf(err, "cannot run %s: %v", path, errors.Unwrap(err)).
			Hint("check that the file is an executable for this system, and that its #! interpreter exists")
	}
	if code != 0 {
		return fail.Exit(code)
	}
	return nil
}
