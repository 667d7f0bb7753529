package serve

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"slices"
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
	// They are files, handed to the command as they are: no goroutine of
	// ours copies its output.
	Stdin, Stdout, Stderr *os.File
}

// hidden is everything an SDK would read before the container provider,
// or instead of our endpoint and token, in its default credential chain:
// static keys (including AWS_ACCESS_KEY and AWS_SECRET_KEY, which
// aws-sdk-go-v2's config.EnvConfig, aws-sdk-go and the Java SDK v1 read
// when the usual names are unset), a profile (which may hold keys or a
// credential_process),
// web identity, the ECS relative URI (which wins over the full URI in
// every SDK), and a token file (which Go v2 and botocore read in
// preference to AWS_CONTAINER_AUTHORIZATION_TOKEN).
var hidden = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
	"AWS_CREDENTIAL_EXPIRATION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", URIEnv, TokenEnv, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
}

// childEnv is environ without the hidden variables, with the endpoint and
// token, and with the region when given and not set already. A variable
// set twice keeps its last value, as os/exec would have it: os.StartProcess
// passes duplicates on, and programs disagree on which one they read.
func childEnv(environ []string, url, token, region string) []string {
	drop := make(map[string]bool, len(hidden))
	for _, k := range hidden {
		drop[k] = true
	}
	seen := make(map[string]bool, len(environ))
	env := make([]string, 0, len(environ)+4)
	hasRegion := false
	for i := len(environ) - 1; i >= 0; i-- {
		kv := environ[i]
		k, _, _ := strings.Cut(kv, "=")
		// Windows names are case-insensitive; elsewhere no SDK reads a
		// lower-case variant, so dropping one costs nothing.
		upper := strings.ToUpper(k)
		if runtime.GOOS == "windows" {
			k = upper
		}
		if drop[upper] || seen[k] {
			continue
		}
		seen[k] = true
		if upper == "AWS_REGION" || upper == "AWS_DEFAULT_REGION" {
			hasRegion = true
		}
		env = append(env, kv)
	}
	slices.Reverse(env)
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
		return fail.Errorf(err, "cannot run %q: %v", ec.Argv[0], cause(err)).
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

	environ := ec.Environ
	if environ == nil {
		environ = os.Environ()
	}
	files := []*os.File{os.Stdin, os.Stdout, os.Stderr}
	for i, f := range []*os.File{ec.Stdin, ec.Stdout, ec.Stderr} {
		if f != nil {
			files[i] = f
		}
	}
	// os.StartProcess rather than os/exec, whose Cmd adds 30 KB to a binary
	// that has little room left.
	code, err := runChild(path, ec.Argv, &os.ProcAttr{
		Env:   childEnv(environ, srv.URL(), tok.Reveal(), ec.Region),
		Files: files,
	}, func() { shutdown(srv) })
	if err != nil {
		return fail.Errorf(err, "cannot run %s: %v", path, cause(err)).
			Hint("check that the file is an executable for this system, and that its #! interpreter exists")
	}
	if code != 0 {
		return fail.Exit(code)
	}
	return nil
}

// cause is what an error from looking up or starting a command says
// without the operation and path around it ("permission denied").
func cause(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}
