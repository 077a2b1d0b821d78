// Package ffmpeg runs the ffmpeg and ffprobe binaries: it is the only place in dnadb
// that does. Probe reads a file's video stream parameters and Frames streams the
// stream's decoded frames as RGB24, as libswscale converts them for Meta's vPDQ
// reference hasher.
//
// # Isolation
//
// ffmpeg parses hostile input, so every run is hedged:
//   - it runs with a deadline (DefaultTimeout unless told otherwise), in its own
//     process group, and the whole group is killed when the deadline passes or the
//     caller's context ends; the process is always waited for, and on Linux it is
//     also killed if dnadb dies;
//   - it reads no standard input (-nostdin), may open only local files and pipes
//     (-protocol_whitelist file,pipe), and only the container formats in Formats
//     (-format_whitelist), which keeps playlists, image sequences and network
//     sources out; the input is named by its absolute path with a file: prefix,
//     and the filter graph comes on a pipe of its own, never from the input;
//   - what it prints on standard error is kept up to MaxStderr bytes (the tail),
//     and ffprobe's report up to maxProbeOutput.
//
// # Errors
//
// Every error names the file (by base name) and wraps one dnadb kind, or a
// context error:
//   - ErrNotInstalled (no kind): ffmpeg or ffprobe is not on the PATH;
//   - dnadb.ErrNotFound: the file does not exist;
//   - dnadb.ErrInvalid: bad options, or a file that is corrupt, truncated or not a
//     media file, that ffmpeg failed to decode (an *Error carries its standard
//     error), or whose video stream yields no frame (ErrNoFrames);
//   - dnadb.ErrUnsupported: a container not in Formats, a file without a video
//     stream (ErrNoVideo), or a stream of unknown size;
//   - dnadb.ErrTooLarge: a frame over the pixel limit, found from the probe
//     before anything is decoded;
//   - context.DeadlineExceeded or context.Canceled, without a kind, when the run
//     was stopped by its deadline or by the caller.
package ffmpeg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/dnadb/dnadb"
)

// Defaults for the zero values of Options.
const (
	// DefaultTimeout bounds one Frames call, probe included.
	DefaultTimeout = 10 * time.Minute
	// DefaultProbeTimeout bounds one Probe call.
	DefaultProbeTimeout = time.Minute
	// DefaultMaxPixels caps width*height of a video stream: 100 megapixels, as
	// imagefile.DefaultMaxPixels caps a still image.
	DefaultMaxPixels = 100_000_000
)

// MaxStderr is how much of a tool's standard error is kept: the last MaxStderr
// bytes. Error messages quote the last few lines of it.
const MaxStderr = 64 << 10

// maxProbeOutput caps ffprobe's JSON report.
const maxProbeOutput = 4 << 20

// Formats lists the demuxers ffmpeg may pick for an input, by ffmpeg's names: MP4
// and QuickTime (mov), Matroska and WebM, AVI, ASF (WMV), FLV, MPEG program and
// transport streams, raw MPEG, H.264 and HEVC streams, Ogg, RealMedia, DV, MXF, IVF
// and YUV4MPEG, and animated GIF and PNG.
const Formats = "mov,matroska,webm,avi,asf,flv,mpeg,mpegts,mpegvideo,m4v,h264,hevc," +
	"ogg,rm,dv,mxf,ivf,yuv4mpegpipe,gif,apng"

// Errors a caller may want to tell apart from other failures of the same kind.
var (
	// ErrNotInstalled means the ffmpeg or ffprobe binary is not on the PATH. It has
	// no dnadb kind: it is the server's fault, not the input's.
	ErrNotInstalled = errors.New("ffmpeg: not installed")
	// ErrNoVideo means the file has no video stream. It comes with
	// dnadb.ErrUnsupported.
	ErrNoVideo = errors.New("no video stream")
	// ErrNoFrames means the video stream yielded no frame. It comes with
	// dnadb.ErrInvalid.
	ErrNoFrames = errors.New("no frames decoded")
)

// Error describes a run of ffmpeg or ffprobe that failed. The errors of this
// package wrap it, with a dnadb kind, when the tool itself reported the failure.
type Error struct {
	// Tool is "ffmpeg" or "ffprobe".
	Tool string
	// Stderr is the tail of what the tool printed, with the file's path replaced
	// by its base name and ffmpeg's object addresses removed.
	Stderr string
	// Err is the cause: the exit status, usually.
	Err error
}

// Error returns the tool, the cause and the last lines of its standard error.
func (e *Error) Error() string {
	msg := e.Tool + ": " + e.Err.Error()
	if s := lastLines(e.Stderr, 4, 600); s != "" {
		msg += ": " + s
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Available reports whether both ffmpeg and ffprobe are installed, with an error
// wrapping ErrNotInstalled if not. The binaries are looked up once per process.
func Available() error {
	if _, err := toolPath("ffprobe"); err != nil {
		return err
	}
	_, err := toolPath("ffmpeg")
	return err
}

// lookups finds each tool on the PATH once. Tests replace it.
var lookups = map[string]func() (string, error){
	"ffmpeg":  sync.OnceValues(func() (string, error) { return exec.LookPath("ffmpeg") }),
	"ffprobe": sync.OnceValues(func() (string, error) { return exec.LookPath("ffprobe") }),
}

// toolPath returns the path of tool, or an error wrapping ErrNotInstalled.
func toolPath(tool string) (string, error) {
	path, err := lookups[tool]()
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrNotInstalled, tool, err)
	}
	return path, nil
}

// commonArgs start every command line: no banner, only errors logged, and only
// local files and pipes. Standard input is /dev/null, and ffmpeg is also told not
// to read it (-nostdin, which ffprobe does not know).
var commonArgs = []string{"-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file,pipe"}

// process is one running ffmpeg or ffprobe.
type process struct {
	tool    string
	verb    string        // "probe" or "decode", for messages
	name    string        // the file's base name, for messages
	input   string        // the file as given to the tool
	timeout time.Duration // a time limit of the run's own; none if zero
	extra   []*os.File    // descriptors 3 and on of the process
	cmd     *exec.Cmd
	stdout  io.ReadCloser
	stderr  *tailBuffer
	ctx     context.Context
	cancel  context.CancelFunc
}

// start runs tool with args under the caller's ctx and, if p.timeout is
// positive, a time limit. The caller reads p.stdout, then always calls p.wait.
func (p *process) start(ctx context.Context, args []string) error {
	path, err := toolPath(p.tool)
	if err != nil {
		return err
	}

	// The context, whose end kills the whole process group.
	p.ctx, p.cancel = withLimit(ctx, p.timeout)
	args = append(append([]string(nil), commonArgs...), args...)
	p.cmd = exec.CommandContext(p.ctx, path, args...)
	p.stderr = &tailBuffer{max: MaxStderr}
	p.cmd.Stderr = p.stderr
	p.cmd.ExtraFiles = p.extra
	p.cmd.WaitDelay = 5 * time.Second
	isolate(p.cmd)

	// Standard output is read by the caller as it comes.
	if p.stdout, err = p.cmd.StdoutPipe(); err != nil {
		p.cancel()
		return fmt.Errorf("%s %q: %s: %w", p.verb, p.name, p.tool, err)
	}
	if err := p.cmd.Start(); err != nil {
		p.cancel()
		return fmt.Errorf("%s %q: start %s: %w", p.verb, p.name, p.tool, err)
	}
	return nil
}

// wait waits for the process and returns how the run ended: nil, a context error,
// or an *Error with the tool's standard error, classified by kind. With abandon,
// it first kills the process group and then reports nothing: the caller stopped
// early and has its own error.
func (p *process) wait(abandon bool) error {
	if abandon {
		p.cancel()
	}
	err := p.cmd.Wait()
	ctxErr := p.ctx.Err()
	p.cancel()

	switch {
	case abandon || err == nil:
		return nil
	case ctxErr != nil:
		return p.stopped(ctxErr)
	}
	return p.classify(err)
}

// stopped returns the error of a run cut short by a time limit or by the caller.
func (p *process) stopped(ctxErr error) error {
	var lim limitError
	if errors.As(context.Cause(p.ctx), &lim) {
		return fmt.Errorf("%s %q: %s timed out after %v: %w", p.verb, p.name, p.tool,
			time.Duration(lim), ctxErr)
	}
	return fmt.Errorf("%s %q: %s stopped: %w", p.verb, p.name, p.tool, ctxErr)
}

// limitError is the cause of a context ended by one of this package's time
// limits.
type limitError time.Duration

func (e limitError) Error() string { return "time limit " + time.Duration(e).String() }

// withLimit returns ctx with a time limit of d, if d is positive, whose end has a
// limitError for cause.
func withLimit(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, d, limitError(d))
}

// classify turns a failed run into an error of the right kind.
func (p *process) classify(err error) error {
	e := &Error{Tool: p.tool, Stderr: p.cleanStderr(), Err: err}
	if m := refusedRE.FindStringSubmatch(e.Stderr); m != nil {
		return dnadb.Errorf(dnadb.ErrUnsupported, "%s %q: container format %q not accepted: %w",
			p.verb, p.name, m[1], e)
	}
	return dnadb.Errorf(dnadb.ErrInvalid, "%s %q: %w", p.verb, p.name, e)
}

// addressRE matches the object addresses ffmpeg puts in its log prefixes.
var addressRE = regexp.MustCompile(` @ 0x[0-9a-f]+\]`)

// refusedRE matches the message of a demuxer refused by -format_whitelist (once
// cleanStderr has shortened it).
var refusedRE = regexp.MustCompile(`\[([^\]]+)\] Format not on whitelist`)

// cleanStderr returns the kept standard error without object addresses and with
// the input's path replaced by its base name.
func (p *process) cleanStderr() string {
	s := p.stderr.String()
	s = addressRE.ReplaceAllString(s, "]")
	s = strings.ReplaceAll(s, "'"+Formats+"'", "(Formats)")
	if p.input != "" {
		s = strings.ReplaceAll(s, p.input, p.name)
		s = strings.ReplaceAll(s, strings.TrimPrefix(p.input, "file:"), p.name)
	}
	return strings.TrimSpace(s)
}

// lastLines returns at most n lines and max bytes from the end of s, joined by "; ".
func lastLines(s string, n, max int) string {
	s = strings.TrimSpace(s)
	if len(s) > max {
		s = "..." + s[len(s)-max:]
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.Join(lines, "; ")
}

// inputArg returns the argument that names path to ffmpeg: its absolute path with
// the file: prefix, so that no name is taken for an option or another protocol.
func inputArg(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("ffmpeg: %q: %w", filepath.Base(path), err)
	}
	return "file:" + abs, nil
}

// tailBuffer is an io.Writer that keeps the last max bytes written to it.
type tailBuffer struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	dropped bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()

	n := len(p)
	if len(p) >= t.max {
		p = p[len(p)-t.max:]
		t.buf = t.buf[:0]
		t.dropped = true
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.dropped = true
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

// String returns the kept bytes, starting at a line boundary if some were dropped.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()

	b := t.buf
	if t.dropped {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}
