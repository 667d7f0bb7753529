// Package activation takes the listening socket systemd passes under
// socket activation (sd_listen_fds(3)), for serve and the agent: systemd
// holds it from boot or login, across restarts, so no other local process
// can take it in between.
package activation

import (
	"net"
	"os"
	"runtime"
	"strconv"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
)

// listenFDsStart is the first descriptor systemd passes (SD_LISTEN_FDS_START).
const listenFDsStart = 3

// Unit is what the service's .socket unit must say, for the hints.
type Unit struct {
	Taker  string // who takes the socket: "serve", "the agent"
	Name   string // the unit as a hint names it: "the .socket unit"
	Listen string // its one line: "ListenStream=127.0.0.1:PORT"
	Kind   string // the socket it must be: "TCP"
}

// Listener returns the one listening socket systemd passed to this process
// (LISTEN_PID, LISTEN_FDS), or nil when there is none; the caller checks its
// kind. The variables are removed so that no child takes it for its own.
func Listener(getenv func(string) string, u Unit) (net.Listener, error) {
	pid, fds := getenv("LISTEN_PID"), getenv("LISTEN_FDS")
	if runtime.GOOS == "windows" || pid == "" || fds == "" || pid != strconv.Itoa(os.Getpid()) {
		return nil, nil
	}
	for _, k := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		_ = os.Unsetenv(k)
	}
	if fds != "1" {
		return nil, explain.Errorf(nil, "systemd passed %s sockets (LISTEN_FDS); %s takes exactly one", fds, u.Taker).
			Hint("give " + u.Name + " a single " + u.Listen + " line")
	}
	f := os.NewFile(listenFDsStart, "systemd-socket")
	defer f.Close()
	if ok, err := listening(f.Fd()); err != nil || !ok {
		why := "is not listening: it is connected (what Accept=yes passes) or bound but not listening"
		if err != nil {
			why = "is not a socket: " + err.Error()
		}
		return nil, explain.Errorf(err, "the descriptor systemd passed (LISTEN_FDS) %s", why).
			Hint(u.Name + " needs " + u.Listen + " and Accept=no (the default): " + u.Taker + " accepts the connections itself")
	}
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, explain.Errorf(err, "the socket systemd passed is not a listening %s socket: %v", u.Kind, err).
			Hint(u.Name + " needs " + u.Listen + " (a stream socket), not ListenDatagram or Accept=yes")
	}
	return ln, nil
}
