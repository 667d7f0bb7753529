package child

import (
	"os/exec"
	"syscall"
)

// stopWithParent asks the kernel to send the command SIGTERM when this
// process dies, however it dies (SIGKILL, the OOM killer): exec --serve's
// command would otherwise keep running against an endpoint that no longer
// answers. SIGTERM rather than SIGKILL gives it the graceful stop a
// forwarded SIGTERM would (terraform then writes its state and releases
// its lock, with the credentials its SDK still caches).
//
// The kernel ties the signal to the thread that started the command, not
// to the process. The Go runtime ends a thread only when a goroutine
// locked to it exits without unlocking, which nothing in this program does.
func stopWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
}
