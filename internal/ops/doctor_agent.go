package ops

import (
	"context"
	"os"
	"strconv"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/agent"
)

// AddAgent appends the agent step: whether an agent answers where the
// credential process would ask, and holds an entry for it run with args.
// None answering is no fault (the process then exchanges itself): the step
// is skipped, and never changes whether the chain works.
func (r *Report) AddAgent(ctx context.Context, args []string) {
	socket := agent.Socket("", os.Getenv)
	s := r.step("agent")
	s.fact("socket", socket)
	// Every key always, empty when it does not apply, so scripts find
	// the same keys whether an agent answered or not.
	answered, pid, entry, text, why := "no", "", "", "", "peer credentials are not available on this platform"
	if agent.Supported {
		why = ""
		if n, err := agent.Ping(ctx, socket); err != nil {
			why = err.Error()
		} else {
			answered, pid, entry, text = "yes", strconv.Itoa(n), "unknown", "unknown"
			if req, err := agent.NewRequest(args, os.Environ(), nil); err == nil {
				if held, err := agent.Peek(ctx, socket, req); err == nil {
					entry, text = "no", "no (the next run exchanges in the agent and keeps the result)"
					if held {
						entry, text = "yes", "yes"
					}
				}
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
