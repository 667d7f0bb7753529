//go:build !unix

package serve

import (
	"errors"
	"os"
	"os/signal"
)

// runChild runs the command to its end, calls after (which stops the
// server), and returns its exit code. The console delivers Ctrl+C to every
// process attached to it, the command included, so this one only has to
// survive it, until the server has stopped.
func runChild(path string, argv []string, attr *os.ProcAttr, after func()) (int, error) {
	signal.Ignore(os.Interrupt)
	defer signal.Reset(os.Interrupt)
	defer after()
	p, err := os.StartProcess(path, argv, attr)
	if err != nil {
		return 0, err
	}
	state, err := p.Wait()
	if state == nil {
		return 0, errors.Join(errors.New("lost track of the command"), err)
	}
	return state.ExitCode(), nil
}
