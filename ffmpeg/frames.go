package ffmpeg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dnadb/dnadb"
)

// Options control Frames. The zero value delivers every frame at its native size,
// with the default limits.
type Options struct {
	// Every selects the frames whose number is a multiple of Every: frames 0,
	// Every, 2*Every and so on, counted in decode output order as the vPDQ
	// reference counts them. The others are decoded, which later frames need,
	// but not converted or delivered. Zero or one selects every frame.
	Every int
	// Size, if positive, scales each frame to Size x Size pixels, not keeping the
	// aspect ratio, with libswscale's area filter (the reference's -s N). Zero
	// keeps the stream's size.
	Size int
	// MaxPixels caps the stream's width*height, checked from the probe before
	// anything is decoded; zero means DefaultMaxPixels.
	MaxPixels int64
	// Timeout bounds the whole call, probe included; zero means DefaultTimeout.
	Timeout time.Duration
	// Threads is the number of decoding threads; zero lets ffmpeg choose.
	Threads int
	// NoSIMD runs ffmpeg with -cpuflags 0, on its plain C code paths. Decoding
	// takes about twice as long, but the colour conversion no longer depends on
	// the host's CPU. At native size it then reproduces bit for bit the
	// ThreatExchange repository's sample hashes made on such a path (13 of the
	// corpus's 14; test-padded-dimensions, regenerated in 2026, matches the
	// default path instead). By default the frames are those the reference C++
	// hasher gets when built against the same FFmpeg on the same machine.
	NoSIMD bool
	// Select, if not nil, is called with the stream's Info before any frame is
	// decoded, and returns the interval to use instead of Every (under 1 means
	// 1): the vPDQ interval, for one, depends on the frame rate. An error from it
	// ends Frames and is returned as it is.
	Select func(Info) (int, error)
	// Info, if not nil, is what Probe returned for the same path, which saves
	// probing it again.
	Info *Info
}

// Frame is one decoded frame, in packed RGB24.
type Frame struct {
	// Number is the frame's 0-based position in decode output order.
	Number int
	// Width and Height are the frame's size in pixels: the stream's, or
	// Options.Size.
	Width, Height int
	// Pix holds 3*Width*Height bytes, R, G, B for each pixel, row after row with
	// no padding. It is valid only until the callback returns.
	Pix []byte
}

// Frames decodes the video stream of the file at path and calls fn with each
// selected frame, in order. Every frame goes through libswscale as the vPDQ
// reference sends it: to RGB24 with the area filter (SWS_AREA), with the
// reference's default colour conversion, BT.601 coefficients and limited range
// (full range for the JPEG and grey pixel formats), whatever the stream's colour
// tags say. Rotation metadata is ignored, as the reference ignores it.
//
// Frames returns the stream's Info. If fn returns an error, Frames stops ffmpeg
// and returns that error as it is. As the reference stops at the first packet the
// decoder refuses, a decoding error fails the call with dnadb.ErrInvalid, even
// if ffmpeg carried on past it; so does a stream that yields no frame
// (ErrNoFrames). Other errors are as the package documentation lists.
//
// ffmpeg starts while ffprobe runs and waits for its filter graph, which is
// written to it on a pipe once the probe is in: starting a process linked to
// FFmpeg's libraries takes about 0.1 s, as long as the probe itself.
func Frames(ctx context.Context, path string, opts Options, fn func(Frame) error) (Info, error) {
	name := filepath.Base(path)
	if err := checkOptions(name, opts); err != nil {
		return Info{}, err
	}
	input, err := checkInput(path)
	if err != nil {
		return Info{}, err
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := withLimit(ctx, timeout)
	defer cancel()

	// Start ffmpeg, which reads its filter graph from descriptor 3 before it opens
	// the input.
	graphR, graphW, err := os.Pipe()
	if err != nil {
		return Info{}, fmt.Errorf("decode %q: %w", name, err)
	}
	defer graphW.Close()
	p := &process{tool: "ffmpeg", verb: "decode", name: name, input: input,
		extra: []*os.File{graphR}}
	err = p.start(ctx, decodeArgs(input, opts))
	graphR.Close()
	if err != nil {
		return Info{}, err
	}

	// Meanwhile, probe the stream and plan the decoding; on failure ffmpeg goes
	// without a graph, before it has read anything.
	info, every, err := plan(ctx, path, opts)
	if err != nil {
		graphW.Close()
		p.wait(true)
		return info, err
	}
	w, h := info.Width, info.Height
	if opts.Size > 0 {
		w, h = opts.Size, opts.Size
	}
	io.WriteString(graphW, filterGraph(info, every, w, h)) // a failure shows as ffmpeg's
	graphW.Close()

	// Read whole frames until ffmpeg closes its output.
	buf := make([]byte, 3*w*h)
	n := 0
	var readErr, fnErr error
	for {
		if _, readErr = io.ReadFull(p.stdout, buf); readErr != nil {
			break
		}
		if fnErr = fn(Frame{Number: n * every, Width: w, Height: h, Pix: buf}); fnErr != nil {
			break
		}
		n++
	}

	// Wait for ffmpeg and say how the run went.
	if err := p.wait(fnErr != nil); err != nil {
		return info, err
	}
	switch {
	case fnErr != nil:
		return info, fnErr
	case errors.Is(readErr, io.ErrUnexpectedEOF):
		return info, dnadb.Errorf(dnadb.ErrInvalid, "decode %q: ffmpeg ended within frame %d",
			name, n*every)
	case readErr != io.EOF:
		return info, fmt.Errorf("decode %q: read ffmpeg output: %w", name, readErr)
	}
	if stderr := p.cleanStderr(); strings.Contains(stderr, "Error while decoding stream") {
		return info, dnadb.Errorf(dnadb.ErrInvalid, "decode %q: %w", name,
			&Error{Tool: "ffmpeg", Stderr: stderr, Err: errors.New("decoding error")})
	}
	if n == 0 {
		return info, dnadb.Errorf(dnadb.ErrInvalid, "decode %q: %w", name, ErrNoFrames)
	}
	return info, nil
}

// plan returns the stream's Info, probed unless opts has it, and the interval of
// the frames to deliver, after checking the stream against the limits.
func plan(ctx context.Context, path string, opts Options) (Info, int, error) {
	name := filepath.Base(path)
	var info Info
	if opts.Info != nil {
		info = *opts.Info
	} else {
		var err error
		if info, err = Probe(ctx, path); err != nil {
			return Info{}, 0, err
		}
	}

	// The pixel limit, on the stream and on the frames asked for.
	limit := opts.MaxPixels
	if limit <= 0 {
		limit = DefaultMaxPixels
	}
	if info.Pixels() > limit {
		return info, 0, dnadb.Errorf(dnadb.ErrTooLarge,
			"decode %q: video is %dx%d, %d pixels, over the limit of %d",
			name, info.Width, info.Height, info.Pixels(), limit)
	}
	if opts.Size > 0 && int64(opts.Size)*int64(opts.Size) > limit {
		return info, 0, dnadb.Errorf(dnadb.ErrTooLarge,
			"decode %q: frame size %dx%d is over the limit of %d pixels",
			name, opts.Size, opts.Size, limit)
	}

	// The interval.
	every := opts.Every
	if opts.Select != nil {
		var err error
		if every, err = opts.Select(info); err != nil {
			return info, 0, err
		}
	}
	return info, max(every, 1), nil
}

// checkOptions reports options that make no sense.
func checkOptions(name string, opts Options) error {
	switch {
	case opts.Every < 0:
		return dnadb.Errorf(dnadb.ErrInvalid, "decode %q: frame interval %d is negative",
			name, opts.Every)
	case opts.Size < 0:
		return dnadb.Errorf(dnadb.ErrInvalid, "decode %q: frame size %d is negative",
			name, opts.Size)
	case opts.Threads < 0:
		return dnadb.Errorf(dnadb.ErrInvalid, "decode %q: thread count %d is negative",
			name, opts.Threads)
	}
	return nil
}

// decodeArgs returns ffmpeg's arguments to run the filter graph it reads from
// descriptor 3 on the input and write its output, raw RGB24 frames, to standard
// output.
func decodeArgs(input string, opts Options) []string {
	var args []string
	if opts.NoSIMD {
		args = append(args, "-cpuflags", "0")
	}
	args = append(args, "-nostdin", "-nostats", "-filter_complex_script", "pipe:3")
	if opts.Threads > 0 {
		args = append(args, "-threads", strconv.Itoa(opts.Threads))
	}
	// The probe checked the first picture size; the decoder's own limit refuses a
	// stream that grows past it later. Decoders count coded sizes, rounded up to
	// whole macroblocks or coding units, hence the margin of a half.
	limit := opts.MaxPixels
	if limit <= 0 {
		limit = DefaultMaxPixels
	}
	args = append(args, "-max_pixels", strconv.FormatInt(limit+limit/2, 10))
	return append(args, "-noautorotate", "-format_whitelist", Formats, "-i", input,
		"-map", "[v]", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24",
		"pipe:1")
}

// filterGraph returns the filter graph, from the stream to the output [v]: select
// first, so that the frames it drops are never converted, then one libswscale
// pass to w x h RGB24.
//
// The scale filter would otherwise take the colour matrix and range from each
// frame's tags, where the reference, which calls sws_getContext and never
// sws_setColorspaceDetails, gets libswscale's defaults: BT.601, and limited range
// except for the pixel formats that libswscale's handle_jpeg marks as full range
// (yuvj*, gray*, ya*). So both are set explicitly.
func filterGraph(info Info, every, w, h int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[0:%d]", info.Stream)
	if every > 1 {
		fmt.Fprintf(&b, `select='not(mod(n\,%d))',`, every)
	}
	rng := "tv"
	if f := info.PixelFormat; strings.HasPrefix(f, "yuvj") || strings.HasPrefix(f, "gray") ||
		strings.HasPrefix(f, "ya") {
		rng = "pc"
	}
	fmt.Fprintf(&b, "scale=%d:%d:flags=area:in_color_matrix=bt601:in_range=%s,format=rgb24[v]",
		w, h, rng)
	return b.String()
}
