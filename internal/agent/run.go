package agent

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/activation"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
)

// RunConfig is the agent command's configuration.
type RunConfig struct {
	// Socket is where to listen (Socket resolves it); ignored when systemd
	// passes a socket.
	Socket string
	Check  func(args []string) error
	Logger *slog.Logger
}

// Run listens and answers until SIGINT or SIGTERM, then drains the requests
// under way and removes the socket if it created it.
func Run(rc RunConfig) error {
	if !Supported {
		return explain.Errorf(nil, "the agent cannot run on %s: it answers only its own user, and this platform gives no way to tell who is at the other end of its socket", runtime.GOOS).
			Hint("on Windows, use gcp-aws-cred exec --serve or serve for many commands, or the credential process alone")
	}
	self, err := os.Executable()
	if err != nil {
		return explain.Errorf(err, "cannot find the gcp-aws-cred binary to run exchanges with: %v", err)
	}
	ln, created, err := Listen(rc.Socket, os.Getenv)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	where := rc.Socket
	if !created {
		where = "the socket systemd passed (" + ln.Addr().String() + ")"
	}
	rc.Logger.Info("listening at "+where, "event", "start", "socket", ln.Addr().String())
	srv := NewServer(Config{Check: rc.Check, Exchange: SelfExchange(self), Logger: rc.Logger})
	err = srv.Serve(ctx, ln)
	_ = ln.Close() // removes the socket if this process created it
	rc.Logger.Info("stopped", "event", "stop")
	return err
}

// systemdUnit is the agent's .socket unit, for hints.
var systemdUnit = activation.Unit{Taker: "the agent", Name: "gcp-aws-cred-agent.socket",
	Listen: "ListenStream=%t/gcp-aws-cred/agent.sock", Kind: "Unix"}

// Listen takes the socket systemd passes, else binds socket (its directory
// checked first), replacing a stale one but not a live one. created says
// whether the agent made the socket, and so removes it when it stops.
func Listen(socket string, getenv func(string) string) (ln *net.UnixListener, created bool, err error) {
	l, err := activation.Listener(getenv, systemdUnit)
	if err != nil {
		return nil, false, err
	}
	if l != nil {
		ul, ok := l.(*net.UnixListener)
		if !ok {
			l.Close()
			return nil, false, explain.Errorf(nil, "the socket systemd passed is %s, not a Unix socket", l.Addr()).
				Hint("gcp-aws-cred-agent.socket needs ListenStream=%t/gcp-aws-cred/agent.sock (a path), not an address and port")
		}
		// systemd made it and removes it.
		ul.SetUnlinkOnClose(false)
		return ul, false, nil
	}
	if err := prepareDir(filepath.Dir(socket)); err != nil {
		return nil, false, explain.Errorf(err, "%v", err).
			Hint("the agent keeps its socket in a directory only you can write: remove or fix it, or choose another with --socket or " + EnvSocket)
	}
	if fi, err := os.Lstat(socket); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, false, explain.Errorf(nil, "%s exists and is not a socket", socket).
				Hint("remove it, or choose another path with --socket")
		}
		if c, err := net.Dial("unix", socket); err == nil {
			c.Close()
			return nil, false, explain.Errorf(nil, "an agent already answers at %s", socket).
				Hint("stop it first (systemctl --user stop gcp-aws-cred-agent.socket gcp-aws-cred-agent.service, or kill it), or run this one with another --socket")
		}
		// Nothing behind it: left by an agent that was killed.
		if err := os.Remove(socket); err != nil {
			return nil, false, explain.Errorf(err, "cannot replace the stale socket %s: %v", socket, err)
		}
	}
	ln, err = net.ListenUnix("unix", &net.UnixAddr{Name: socket, Net: "unix"})
	if err != nil {
		return nil, false, explain.Errorf(err, "cannot listen at %s: %v", socket, errors.Unwrap(err))
	}
	// The directory is 0700 already; 0600 on the socket too, as ssh-agent.
	if err := os.Chmod(socket, 0o600); err != nil {
		ln.Close()
		return nil, false, explain.Errorf(err, "cannot make %s private: %v", socket, err)
	}
	return ln, true, nil
}

// Check asks whether an agent of this user answers at socket: nil if so.
func Check(ctx context.Context, socket string) error {
	if _, err := Ping(ctx, socket); err != nil {
		// Ping's errors name the socket and what it found there already.
		return explain.Errorf(err, "%v", err).
			Hint("start one with: gcp-aws-cred agent (or systemctl --user enable --now gcp-aws-cred-agent.socket)")
	}
	return nil
}
