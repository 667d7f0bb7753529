package child

import (
	"os/exec"
	"syscall"
)

// stopWithParent asks the kernel to send the command SIGTERM when this
// process dies, however (SIGKILL, the OOM killer): exec --serve's command
// would otherwise run on against an endpoint that no longer answers.
// SIGTERM, not SIGKILL, lets it stop gracefully (terraform writes its state
// and releases its lock). The kernel ties the signal to the starting
// thread, which Go ends only when a locked goroutine exits without
// unlocking, as nothing here does.
func stopWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
}
