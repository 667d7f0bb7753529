package serve

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/activation"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
	"github.com/gcp-aws-cred/gcp-aws-cred/output"
)

// shutdownGrace is how long requests in flight get to finish once a
// signal arrives; the process exits within 2 seconds of it.
const shutdownGrace = 1500 * time.Millisecond

// RunConfig is the serve command.
type RunConfig struct {
	Config
	// TokenFile is --auth-token-file, read when TokenEnv is not set.
	TokenFile string
	// Region, when not empty, is printed as AWS_REGION and
	// AWS_DEFAULT_REGION with the endpoint's variables: clients find no
	// region otherwise (botocore reads only AWS_DEFAULT_REGION).
	Region string
	// Output is the format of the variables printed once the server is
	// ready: output.Env (the default), EnvNoExport, Fish, PowerShell or
	// WindowsCmd.
	Output output.Format
	// Stdout receives the variables, in one write.
	Stdout io.Writer
	// Getenv reads serve's own environment; nil means os.Getenv.
	Getenv func(string) string
}

// stopSignals end serve with a drain: SIGHUP too, since a closing terminal
// sends it and should stop serve as cleanly as Ctrl+C does.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// Run is `gcp-aws-cred serve`: it starts the server, prints the variables
// a client needs, and serves until SIGINT, SIGTERM or SIGHUP, then stops
// within 2 seconds and returns nil. A signal handler is installed here and
// only here, so the credential process never pays for one.
func Run(ctx context.Context, rc RunConfig) error {
	rc.Output = cmp.Or(rc.Output, output.Env)
	if _, err := output.EncodeVars(rc.Output, nil); err != nil {
		return explain.Errorf(nil, "serve cannot print its variables as --output %s", rc.Output).
			Hint("use env (the default), env-no-export, fish, powershell or windows-cmd")
	}
	getenv := rc.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	log := cmp.Or(rc.Logger, discard)
	tok, from, err := ResolveToken(getenv, rc.TokenFile)
	if err != nil {
		return err
	}
	rc.Token = tok
	if from == TokenFromEnv && rc.Getenv == nil {
		// The token is held now; the variable would pass it on to every
		// process serve starts: an executable credential source, or the
		// helpers that process runs. Those need no token of ours.
		_ = os.Unsetenv(TokenEnv)
	}
	switch {
	case from == TokenFromEnv && rc.TokenFile != "":
		log.Warn(fmt.Sprintf("using the token from %s; --auth-token-file %s is ignored", TokenEnv, rc.TokenFile), keyEvent, "token_source")
	case from == TokenFromFile:
		// The token is worth the credentials it opens.
		if fi, err := os.Stat(rc.TokenFile); err == nil && runtime.GOOS != "windows" && fi.Mode().Perm()&0o044 != 0 {
			log.Warn(fmt.Sprintf("--auth-token-file %s can be read by other users (mode %04o): whoever reads the token can fetch the credentials; chmod 600 it", rc.TokenFile, fi.Mode().Perm()),
				keyEvent, "token_file_exposed")
		}
	}
	if rc.Listener == nil {
		ln, err := activation.Listener(getenv, activation.Unit{
			Taker: "serve", Name: "the .socket unit", Listen: "ListenStream=127.0.0.1:PORT", Kind: "TCP"})
		if err != nil {
			return err
		}
		if ln != nil {
			rc.Listener = ln
			log.Info("listening on the socket systemd passed, "+ln.Addr().String()+"; --listen is not used", keyEvent, "socket_activation")
		}
	}

	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	sigs := make(chan os.Signal, 1)
	// A stop signal the caller ignored stays ignored: catching SIGHUP would
	// undo `nohup gcp-aws-cred serve &`, and the terminal closing would stop
	// serve. (One Notify per signal: one with none would catch them all.)
	for _, s := range stopSignals {
		if !signal.Ignored(s) {
			signal.Notify(sigs, s)
		}
	}
	defer signal.Stop(sigs)
	go func() {
		select {
		case got := <-sigs:
			stop(errors.New("received " + got.String()))
		case <-ctx.Done():
		}
	}()

	srv, err := Start(ctx, rc.Config)
	if err != nil {
		return err
	}
	vars := []output.Var{{Name: URIEnv, Value: srv.URL()}}
	if from == TokenFromGenerator {
		vars = append(vars, output.Var{Name: TokenEnv, Value: tok.Reveal()})
	}
	if e := srv.IMDSEndpoint(); e != "" {
		vars = append(vars, output.Var{Name: IMDSEndpointEnv, Value: e})
	}
	if rc.Region != "" {
		vars = append(vars, output.Var{Name: "AWS_REGION", Value: rc.Region}, output.Var{Name: "AWS_DEFAULT_REGION", Value: rc.Region})
	}
	b, err := output.EncodeVars(rc.Output, vars)
	if err == nil && rc.Stdout != nil {
		_, err = rc.Stdout.Write(b)
	}
	if err != nil {
		shutdown(srv)
		return explain.Errorf(err, "cannot print the variables for clients: %v", err).
			Hint("without them no client can find the server; check that stdout is writable")
	}

	select {
	case <-ctx.Done():
	case err := <-srv.Failed():
		shutdown(srv)
		return explain.Errorf(err, "stopped serving: %v", err).
			Hint("the listening socket failed; with socket activation, check the .socket unit (ListenStream=127.0.0.1:PORT, Accept=no)")
	}
	reason := "the context ended"
	if cause := context.Cause(ctx); cause != ctx.Err() {
		reason = cause.Error() // a signal's
	}
	log.Info("stopping: "+reason, keyEvent, "stop")
	shutdown(srv)
	return nil
}

// shutdown stops srv within shutdownGrace.
func shutdown(srv *Server) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	_ = srv.Shutdown(ctx)
}

// Check asks the server listening at listen for its health, for exec
// probes: kubelet's httpGet probes connect to the pod's IP, which a
// loopback-only server does not listen on. It returns nil when the server
// holds credentials that may be served.
func Check(ctx context.Context, listen string, timeout time.Duration) error {
	addr, err := ListenAddr(listen)
	if err != nil {
		return err
	}
	if addr.Port() == 0 {
		return explain.Errorf(nil, "--listen %s names no port to check", listen).
			Hint("give the server a fixed port, such as --listen 127.0.0.1:9911, and the same --listen to the check")
	}
	ctx, cancel := context.WithTimeout(ctx, clampTimeout(timeout))
	defer cancel()
	url := "http://" + addr.String() + HealthPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	// No proxy: the request is for this machine's loopback. No redirect
	// either: serve never sends one, so whatever does is not serve.
	client := &http.Client{Transport: &http.Transport{},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return explain.Errorf(err, "no server answers at %s: %s", url, explain.Cause(err)).
			Hint("start it with: gcp-aws-cred serve --role ARN --listen " + addr.String())
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return explain.Errorf(nil, "the server at %s holds no credentials it may serve (HTTP %d)", url, resp.StatusCode).
			Hint("its log (stderr) says why the last refresh failed")
	}
	return nil
}
