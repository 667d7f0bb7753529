package serve

import (
	"net"
	"os"
	"runtime"
	"strconv"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
)

// listenFDsStart is the first descriptor systemd passes (SD_LISTEN_FDS_START).
const listenFDsStart = 3

// Activated returns the socket systemd passed to this process under socket
// activation (sd_listen_fds(3): LISTEN_PID names this process and
// LISTEN_FDS counts the descriptors from 3), or nil when there is none.
// With a .socket unit, systemd holds the port from boot, across restarts of
// the server, so no other local process can take it in between. Exactly
// one socket is expected; it must be a TCP socket on loopback, which Start
// checks. The variables are removed so that no child process takes the
// socket for its own.
func Activated(getenv func(string) string) (net.Listener, error) {
	pid, fds := getenv("LISTEN_PID"), getenv("LISTEN_FDS")
	if runtime.GOOS == "windows" || pid == "" || fds == "" || pid != strconv.Itoa(os.Getpid()) {
		return nil, nil
	}
	for _, k := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		_ = os.Unsetenv(k)
	}
	if fds != "1" {
		return nil, explain.Errorf(nil, "systemd passed %s sockets (LISTEN_FDS); serve takes exactly one", fds).
			Hint("give the .socket unit a single ListenStream=127.0.0.1:PORT line")
	}
	f := os.NewFile(listenFDsStart, "systemd-socket")
	defer f.Close()
	if ok, err := listening(f.Fd()); err != nil || !ok {
		why := "is not listening: it is connected (what Accept=yes passes) or bound but not listening"
		if err != nil {
			why = "is not a socket: " + err.Error()
		}
		return nil, explain.Errorf(err, "the descriptor systemd passed (LISTEN_FDS) %s", why).
			Hint("the .socket unit needs ListenStream=127.0.0.1:PORT and Accept=no (the default): serve accepts the connections itself")
	}
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, explain.Errorf(err, "the socket systemd passed is not a listening TCP socket: %v", err).
			Hint("the .socket unit needs ListenStream=127.0.0.1:PORT (a stream socket), not ListenDatagram or Accept=yes")
	}
	return ln, nil
}
