// Package ffmpegtest helps tests that need the ffmpeg and ffprobe binaries: it
// skips them when the tools are missing, as internal/corpus does when the corpus
// is, and makes media fixtures with ffmpeg.
package ffmpegtest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Require skips the test when ffmpeg or ffprobe is not on the PATH, where package
// ffmpeg looks for them (it does not import that package, so that its own tests
// can use this one). With
// DNADB_REQUIRE_TOOLS=1, as in CI, it fails the test instead.
func Require(tb testing.TB) {
	tb.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			msg := tool + " not installed: " + err.Error()
			if os.Getenv("DNADB_REQUIRE_TOOLS") == "1" {
				tb.Fatal(msg)
			}
			tb.Skip(msg)
		}
	}
}

// Make runs ffmpeg with args, followed by the path of a new file called name in a
// temporary directory, and returns that path. It fails the test if ffmpeg fails
// or takes over a minute. For example, a second of silence:
//
//	Make(t, "audio.m4a", "-f", "lavfi", "-i", "anullsrc", "-t", "1")
func Make(tb testing.TB, name string, args ...string) string {
	tb.Helper()
	Require(tb)
	out := filepath.Join(tb.TempDir(), name)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	args = append([]string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y"}, args...)
	cmd := exec.CommandContext(ctx, "ffmpeg", append(args, out)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("ffmpeg %q: %v: %s", args, err, stderr.Bytes())
	}
	return out
}
