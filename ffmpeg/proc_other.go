//go:build !linux

package ffmpeg

import "os/exec"

// isolate leaves cmd as it is: outside Linux, Cancel kills the process alone.
//
// BUG(ffmpeg): Outside Linux, a process that ffmpeg started itself would survive a
// timeout. ffmpeg and ffprobe start none.
func isolate(cmd *exec.Cmd) {}
