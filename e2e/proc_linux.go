package e2e

import (
	"os"
	"syscall"
)

// orphanProof puts moto in its own process group and has the kernel kill it
// if the test binary dies first, so it always stops by itself.
func orphanProof() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}

// killGroup stops moto and the workers it may have forked.
func killGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
