package ops

import (
	"strconv"
)

// AgentStatus is what doctor learned of the credential agent: whether one
// answered at Socket (PID), and whether it holds an entry for the
// credential process with the same inputs.
type AgentStatus struct {
	Socket    string
	Supported bool
	PID       int
	// Asked is whether the agent said if it holds an entry; Held is its
	// answer.
	Asked, Held bool
	// Why no agent answered.
	Why string
}

// AddAgent appends the agent step: ok when an agent answered, skipped when
// none did (the credential process then exchanges itself, which is no
// fault). It never changes whether the chain works.
func (r *Report) AddAgent(a AgentStatus) {
	s := r.step("agent")
	s.fact("socket", a.Socket)
	// Every key always, empty when it does not apply, so scripts find
	// the same keys whether an agent answered or not.
	answered, pid, entry, text, why := "no", "", "", "", a.Why
	switch {
	case !a.Supported:
		why = "peer credentials are not available on this platform"
	case a.PID != 0:
		answered, pid = "yes", strconv.Itoa(a.PID)
		entry, text = "unknown", "unknown"
		if a.Asked {
			entry, text = "no", "no (the next run exchanges in the agent and keeps the result)"
			if a.Held {
				entry, text = "yes", "yes"
			}
		}
	}
	if answered == "no" {
		s.Status = "skipped"
	}
	s.fact("answered", answered)
	s.fact("pid", pid)
	s.factAs("entry", "entry for these inputs", entry, text)
	s.fact("why", why)
}
