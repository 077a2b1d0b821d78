package e2e

import (
	"os/exec"
	"syscall"
)

// setParentDeath has the kernel kill the child if the test binary dies first, such
// as on a test timeout, so that no server outlives its test.
func setParentDeath(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
