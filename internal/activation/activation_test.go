package activation

import (
	"os"
	"strconv"
	"testing"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
)

// TestListener: no socket unless LISTEN_PID names this process; more than
// one socket is refused with the taker's words and its unit's hint. (The
// descriptor checks are run by serve's TestSocketActivation*, in a child
// process that has a descriptor 3 to pass.)
func TestListener(t *testing.T) {
	u := Unit{Taker: "the agent", Name: "gcp-aws-cred-agent.socket", Listen: "ListenStream=%t/gcp-aws-cred/agent.sock", Kind: "Unix"}
	env := func(pid, fds string) func(string) string {
		return func(k string) string { return map[string]string{"LISTEN_PID": pid, "LISTEN_FDS": fds}[k] }
	}
	if ln, err := Listener(env("1", "1"), u); ln != nil || err != nil {
		t.Errorf("another process's sockets: %v %v", ln, err)
	}
	_, err := Listener(env(strconv.Itoa(os.Getpid()), "2"), u)
	e, ok := err.(*explain.Error)
	if !ok || e.Msg != "systemd passed 2 sockets (LISTEN_FDS); the agent takes exactly one" ||
		len(e.Hints) != 1 || e.Hints[0] != "give gcp-aws-cred-agent.socket a single ListenStream=%t/gcp-aws-cred/agent.sock line" {
		t.Errorf("two sockets: %#v", err)
	}
}
