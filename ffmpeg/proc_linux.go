package ffmpeg

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// isolate makes cmd the leader of a process group of its own, which Cancel kills
// as a whole, and has the kernel kill it if dnadb dies first (strictly, if the
// thread that started it ends, which the Go runtime does not do to a thread
// that no goroutine has locked).
func isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error {
		// A negative pid names the process group.
		err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return err
	}
}
