//go:build !linux

package e2e

import (
	"os"
	"syscall"
)

func orphanProof() *syscall.SysProcAttr { return nil }

func killGroup(p *os.Process) { _ = p.Kill() }
