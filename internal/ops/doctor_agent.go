package ops

import (
	"strconv"
)

func init() { titles["agent"] = "credential agent" }

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
	switch {
	case !a.Supported:
		s.Status = "skipped"
		s.fact("answered", "no")
		s.factAs("why", "why", "peer credentials are not available on this platform", "")
		return
	case a.PID == 0:
		s.Status = "skipped"
		s.fact("answered", "no")
		s.fact("why", a.Why)
		return
	}
	s.fact("answered", "yes")
	s.fact("pid", strconv.Itoa(a.PID))
	held := "unknown"
	if a.Asked {
		held = "no (the next run exchanges in the agent and keeps the result)"
		if a.Held {
			held = "yes"
		}
	}
	s.factAs("entry", "entry for these inputs", map[bool]string{true: "yes", false: "no"}[a.Held], held)
}
