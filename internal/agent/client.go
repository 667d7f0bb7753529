package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/clean"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/regfile"
	"github.com/gcp-aws-cred/gcp-aws-cred/token"
)

// ignoredEnv are variables left out of a request, so out of the key and of
// the pipeline's environment: the agent's own, and those a shell or
// terminal changes between commands, which the pipeline never reads. Any
// other variable is in the key: callers that differ in one never get each
// other's credentials.
var ignoredEnv = map[string]bool{
	EnvSocket: true, EnvNoAgent: true,
	"_": true, "PWD": true, "OLDPWD": true, "SHLVL": true, "COLUMNS": true, "LINES": true,
	"TERM": true, "COLORTERM": true, "TERM_PROGRAM": true, "TERM_PROGRAM_VERSION": true, "TERM_SESSION_ID": true,
	"WINDOWID": true, "VTE_VERSION": true, "ITERM_SESSION_ID": true, "TMUX": true, "TMUX_PANE": true, "STY": true,
	"SSH_TTY": true, "SSH_CONNECTION": true, "SSH_CLIENT": true, "SSH_AUTH_SOCK": true, "SSH_AGENT_PID": true,
	"PS1": true, "PS2": true, "PS3": true, "PS4": true, "PROMPT_COMMAND": true, "LS_COLORS": true, "LSCOLORS": true,
	"DISPLAY": true, "WAYLAND_DISPLAY": true, "XAUTHORITY": true, "DBUS_SESSION_BUS_ADDRESS": true,
	"INVOCATION_ID": true, "JOURNAL_STREAM": true, "OTEL_TRACE_ID": true, "GPG_TTY": true,
	// What the AWS CLI adds for its own process (botocore's data path, v2's
	// s2n setting), and pyenv's shim (the directory it ran in): each would
	// make every directory, or the CLI against a direct run, an entry.
	"AWS_DATA_PATH": true, "S2N_DONT_MLOCK": true, "PYENV_DIR": true,
}

// pathEnv hold paths the pipeline reads; when one of them (or --ca-bundle)
// is relative, the working directory is part of the request.
var pathEnv = []string{"AWS_CA_BUNDLE", "GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG", "SSL_CERT_FILE", "SSL_CERT_DIR", "HOME", "XDG_CONFIG_HOME", "APPDATA"}

// NewRequest is the request of a credential process run with args (as the
// user wrote them, without the program name) and environ (os.Environ());
// paths are the flag values that name files (--ca-bundle).
func NewRequest(args, environ, paths []string) (*Request, error) {
	if len(args) > 0 && args[0] == "get" {
		args = args[1:]
	}
	r := &Request{V: 1, Op: opGet, Args: slices.Clone(args)}
	vars := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || ignoredEnv[k] {
			continue
		}
		if _, dup := vars[k]; dup {
			// A name twice (execve allows it): os.Getenv, so a direct run,
			// sees the first; the child's environment keeps the last of
			// the sorted list. Only the first is sent, so both agree and
			// the two orders are two keys.
			continue
		}
		r.Env = append(r.Env, kv)
		vars[k] = v
	}
	slices.Sort(r.Env)
	for _, k := range pathEnv {
		paths = append(paths, filepath.SplitList(vars[k])...)
	}
	for _, p := range paths {
		if p != "" && !filepath.IsAbs(p) {
			dir, err := os.Getwd()
			if err != nil {
				return nil, fmt.Errorf("a relative path (%s) and no working directory: %v", p, err)
			}
			r.Dir = dir
			break
		}
	}
	r.Host, _ = os.Hostname()
	// JSON carries only UTF-8: other bytes would reach the agent's child
	// changed, and two callers' inputs could share a key.
	for _, v := range slices.Concat(r.Args, r.Env, []string{r.Dir}) {
		if !utf8.ValidString(v) {
			return nil, errors.New("an argument, variable or directory is not UTF-8")
		}
	}
	// A credential source program runs with the whole environment and the
	// working directory, more than the key holds.
	if vars[token.AllowExecutables] == "1" {
		return nil, fmt.Errorf("%s=1: a credential source program reads more than the agent's key holds", token.AllowExecutables)
	}
	r.ADC = adcFingerprint(vars, r.Dir)
	return r, nil
}

// adcNow is the fingerprint of r's ADC file as it is now.
func (r *Request) adcNow() string {
	vars := map[string]string{}
	for _, kv := range r.Env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	return adcFingerprint(vars, r.Dir)
}

// adcFingerprint hashes the Application Default Credentials file the
// pipeline would read (GOOGLE_APPLICATION_CREDENTIALS, else gcloud's
// well-known file), or why it cannot be read. `gcloud auth
// application-default login` as another account rewrites the same path:
// without the contents in the key, the new account would get the keys of
// the previous one.
func adcFingerprint(vars map[string]string, dir string) string {
	p := vars["GOOGLE_APPLICATION_CREDENTIALS"]
	if p == "" {
		home := vars["HOME"]
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		p = filepath.Join(home, ".config", "gcloud", "application_default_credentials.json")
	}
	if !filepath.IsAbs(p) && dir != "" {
		p = filepath.Join(dir, p)
	}
	b, err := regfile.Read(p, token.MaxADCFile, time.Now().Add(FirstAnswer))
	h := sha256.New()
	if err != nil {
		// The pipeline reports the failure; a file that appears later makes
		// another entry.
		fmt.Fprintf(h, "error: %v", err)
	} else {
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Answer is what the agent gave: credentials, or the failure of the
// exchange it made with the caller's inputs.
type Answer struct {
	Creds awscred.Credentials
	// Fresh: this request's exchange made them (else from memory).
	Fresh bool
	// Err is the exchange's failure, as a direct run reports it, with its
	// hints and exit status.
	Err error
	// Trace is the --verbose trace the failed exchange wrote.
	Trace string
}

// Conn is a connection to an agent of this user, for one request.
type Conn struct {
	uc     *net.UnixConn
	socket string
}

// Dial connects to the agent at socket and checks that it runs as this
// user. With no agent it fails at once: one connect, no waiting.
func Dial(ctx context.Context, socket string) (*Conn, error) {
	if !Supported {
		return nil, fmt.Errorf("no agent on this platform")
	}
	c, err := (&net.Dialer{}).DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, fmt.Errorf("no agent at %s (%v)", socket, errors.Unwrap(err))
	}
	uc := c.(*net.UnixConn)
	// A socket another user planted at the path could answer credentials
	// of its choosing: only our own user's agent is believed.
	if uid, err := peerUID(uc); err != nil || uid != os.Getuid() {
		uc.Close()
		return nil, fmt.Errorf("the socket %s is served by user %d, not by you (user %d): not asked", socket, uid, os.Getuid())
	}
	return &Conn{uc: uc, socket: socket}, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.uc.Close() }

// Ask asks the agent for credentials for req. An error means no usable
// answer (silence, a refusal, nonsense): the caller exchanges itself. A
// failed exchange is Answer.Err.
func (c *Conn) Ask(ctx context.Context, req *Request) (*Answer, error) {
	socket := c.socket
	a, err := c.roundTrip(ctx, req)
	if err != nil {
		return nil, err
	}
	switch a.Status {
	case stOK:
		cr := a.creds()
		if cr.AccessKeyID == "" || cr.SecretAccessKey.Reveal() == "" || !cr.Expiration.After(time.Now()) {
			return nil, fmt.Errorf("the agent at %s answered credentials that are incomplete or expired", socket)
		}
		return &Answer{Creds: cr, Fresh: a.Fresh}, nil
	case stFailed:
		if a.Exit <= 0 || !strings.HasPrefix(a.Stderr, "gcp-aws-cred: error: ") && !strings.Contains(a.Stderr, "\ngcp-aws-cred: error: ") {
			return nil, fmt.Errorf("the agent at %s answered a failure without a message", socket)
		}
		trace, _, _ := strings.Cut(a.Stderr, "gcp-aws-cred: error: ")
		return &Answer{Err: (&Failure{Exit: a.Exit, Stderr: a.Stderr}).Err(), Trace: trace}, nil
	}
	return nil, fmt.Errorf("the agent at %s answered %q, not an answer", socket, clean.Line(a.Status))
}

// roundTrip dials the agent at socket and sends req.
func roundTrip(ctx context.Context, socket string, req *Request) (*answer, error) {
	c, err := Dial(ctx, socket)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.roundTrip(ctx, req)
}

// roundTrip sends req and returns the final answer line, or an error for
// a refusal. After "pending" it waits up to two thirds of the caller's
// time left, so a direct exchange still fits after it.
func (c *Conn) roundTrip(ctx context.Context, req *Request) (*answer, error) {
	socket, uc := c.socket, c.uc
	b, err := json.Marshal(req)
	if err != nil || len(b) >= MaxRequest {
		return nil, fmt.Errorf("the request would be %d bytes, more than the agent reads (%d)", len(b), MaxRequest)
	}
	deadline := time.Now().Add(FirstAnswer)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = uc.SetDeadline(deadline)
	if _, err := uc.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("cannot send the request to the agent at %s: %v", socket, err)
	}
	dec := json.NewDecoder(io.LimitReader(uc, maxAnswer))
	var a answer
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("the agent at %s gave no answer within %s: %v", socket, FirstAnswer, err)
	}
	if a.Status == stPending {
		wait := 20 * time.Second
		if d, ok := ctx.Deadline(); ok {
			wait = time.Until(d) * 2 / 3
		}
		_ = uc.SetDeadline(time.Now().Add(wait))
		a = answer{}
		if err := dec.Decode(&a); err != nil {
			return nil, fmt.Errorf("the agent at %s was exchanging but gave no answer within %s: %v", socket, wait.Round(time.Millisecond), err)
		}
	}
	if a.Status == stRefused {
		return nil, fmt.Errorf("the agent at %s refused: %s", socket, clean.Line(a.Reason))
	}
	return &a, nil
}

// Err turns a direct run's stderr back into the error it printed, so the
// caller prints the same lines and exits with the same status.
func (f *Failure) Err() error {
	var msg, hints []string
	for _, line := range strings.Split(strings.TrimRight(f.Stderr, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "gcp-aws-cred: error: "):
			msg = append(msg, strings.TrimPrefix(line, "gcp-aws-cred: error: "))
		case strings.HasPrefix(line, "gcp-aws-cred: hint: "):
			hints = append(hints, strings.TrimPrefix(line, "gcp-aws-cred: hint: "))
		case len(hints) > 0 && strings.HasPrefix(line, "    "):
			hints[len(hints)-1] += "\n" + strings.TrimPrefix(line, "    ")
		case len(hints) == 0 && len(msg) > 0:
			msg = append(msg, line)
		}
	}
	return explain.Errorf(exitStatus(f.Exit), "%s", strings.Join(msg, "\n")).Hint(hints...)
}

// exitStatus is a direct run's exit status; unlike explain.Exit, the
// message above it is printed.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// ExitCode is the status to exit with.
func (e exitStatus) ExitCode() int { return int(e) }

// Ping asks whether an agent of this user answers at socket.
func Ping(ctx context.Context, socket string) (pid int, err error) {
	a, err := roundTrip(ctx, socket, &Request{V: 1, Op: opPing})
	if err != nil {
		return 0, err
	}
	if a.Status != stOK || a.PID <= 0 {
		return 0, fmt.Errorf("the agent at %s answered %q to a ping", socket, clean.Line(a.Status))
	}
	return a.PID, nil
}

// Peek asks whether the agent at socket holds servable credentials for
// req's inputs.
func Peek(ctx context.Context, socket string, req *Request) (bool, error) {
	r := *req
	r.Op = opPeek
	a, err := roundTrip(ctx, socket, &r)
	if err != nil {
		return false, err
	}
	switch a.Status {
	case stHeld:
		return true, nil
	case stNone:
		return false, nil
	}
	return false, fmt.Errorf("the agent at %s answered %q", socket, clean.Line(a.Status))
}
