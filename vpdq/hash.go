package vpdq

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/ffmpeg"
	"github.com/dnadb/dnadb/pdq"
)

// DefaultSecondsPerHash is the sampling interval of the reference library's
// hashVideoFile and of python-threatexchange's hash_file_compact: one frame a
// second.
const DefaultSecondsPerHash = 1.0

// bufferBudget caps the bytes of decoded frames waiting to be hashed.
const bufferBudget = 256 << 20

// HashOptions control Hash. The zero value hashes every frame at its native size,
// as the reference command line does by default (-r 0).
type HashOptions struct {
	// SecondsPerHash is the sampling interval. As in the reference, a frame is
	// hashed when its number is a multiple of int(SecondsPerHash*fps), the frame
	// rate being the stream's average one, and an interval under one frame
	// becomes one frame. Zero hashes every frame; DefaultSecondsPerHash is the
	// reference library's and python-threatexchange's default. Sampling counts
	// frames, not presentation times, so a variable-frame-rate video is sampled
	// unevenly, as by the reference.
	SecondsPerHash float64
	// Downscale, if positive, scales frames to Downscale x Downscale pixels before
	// hashing, not keeping the aspect ratio (the reference's -s N). It must then
	// be at least pdq.MinDim. Zero hashes frames at their native size.
	Downscale int
	// MaxPixels caps the video's width*height; zero means ffmpeg.DefaultMaxPixels.
	MaxPixels int64
	// Timeout bounds the whole call; zero means ffmpeg.DefaultTimeout.
	Timeout time.Duration
	// NoSIMD runs ffmpeg on its plain C code paths: see ffmpeg.Options.NoSIMD.
	NoSIMD bool
	// Workers is the number of frames hashed at once; zero means GOMAXPROCS.
	Workers int
}

// Video is the vPDQ fingerprint of a video file with the parameters it came from.
type Video struct {
	// Frames holds one entry per hashed frame, in frame order, including
	// low-quality frames: matching drops those, not hashing.
	Frames []Frame
	// FPS is the average frame rate the timestamps and the sampling interval are
	// computed from.
	FPS float64
	// Width and Height are the video stream's size in pixels, before any
	// Downscale.
	Width, Height int
	// Duration is the stream's duration in seconds; zero if unknown.
	Duration float64
	// FrameCount is the number of frames the container declares; when it declares
	// none and every frame was hashed, the number hashed; otherwise zero.
	FrameCount int
}

// Hash computes the vPDQ fingerprint of the video file at path, as the reference
// vpdq-hash-video does: ffmpeg decodes the first video stream, the selected
// frames are converted to RGB24 by libswscale with the reference's scaler and
// colour defaults (see ffmpeg.Frames), each is hashed with PDQ at its full
// converted size (pdq.HashRGB, no 512 squash), and its timestamp is
// float32(number)/float32(fps). Animated GIFs and other short loops are videos
// like any other; a loop is decoded once.
//
// It fails with dnadb.ErrInvalid for bad options, a video without a frame rate,
// frames smaller than pdq.MinDim, and the corrupt, truncated or empty inputs
// ffmpeg.Frames refuses; with dnadb.ErrUnsupported for a file without a video
// stream; with dnadb.ErrTooLarge over MaxPixels; with an error wrapping
// ffmpeg.ErrNotInstalled without ffmpeg; and with a context error when ctx ends
// or the time limit passes.
func Hash(ctx context.Context, path string, opts HashOptions) (Video, error) {
	name := filepath.Base(path)
	if err := opts.check(); err != nil {
		return Video{}, fmt.Errorf("vpdq: hash %q: %w", name, err)
	}

	// Decode the frames the reference would select, and hash them on a few
	// goroutines as they come.
	var hs *hashers
	var every int
	info, err := ffmpeg.Frames(ctx, path, ffmpeg.Options{
		Size:      opts.Downscale,
		MaxPixels: opts.MaxPixels,
		Timeout:   opts.Timeout,
		NoSIMD:    opts.NoSIMD,
		Select: func(info ffmpeg.Info) (int, error) {
			var w, h int
			var err error
			if every, w, h, err = opts.plan(name, info); err != nil {
				return 0, err
			}
			hs = newHashers(opts.Workers, 3*w*h, float32(info.FPS))
			return every, nil
		},
	}, func(f ffmpeg.Frame) error { return hs.add(f) })
	var frames []Frame
	if hs != nil {
		var hashErr error
		frames, hashErr = hs.finish()
		if err == nil {
			err = hashErr
		}
	}
	if err != nil {
		return Video{}, fmt.Errorf("vpdq: %w", err)
	}

	// Put the frames in order.
	slices.SortFunc(frames, func(a, b Frame) int { return cmp.Compare(a.Number, b.Number) })
	v := Video{
		Frames:     frames,
		FPS:        info.FPS,
		Width:      info.Width,
		Height:     info.Height,
		Duration:   info.Duration,
		FrameCount: info.Frames,
	}
	if v.FrameCount == 0 && every == 1 {
		v.FrameCount = len(frames)
	}
	return v, nil
}

// check reports options that make no sense.
func (o HashOptions) check() error {
	switch s := o.SecondsPerHash; {
	case math.IsNaN(s) || math.IsInf(s, 0) || s < 0:
		return dnadb.Errorf(dnadb.ErrInvalid, "seconds per hash %v is neither 0 nor positive", s)
	case o.Downscale < 0 || o.Downscale > 0 && o.Downscale < pdq.MinDim:
		return dnadb.Errorf(dnadb.ErrInvalid, "downscale size %d is neither 0 nor at least %d",
			o.Downscale, pdq.MinDim)
	case o.MaxPixels < 0:
		return dnadb.Errorf(dnadb.ErrInvalid, "pixel limit %d is negative", o.MaxPixels)
	case o.Timeout < 0:
		return dnadb.Errorf(dnadb.ErrInvalid, "timeout %v is negative", o.Timeout)
	case o.Workers < 0:
		return dnadb.Errorf(dnadb.ErrInvalid, "worker count %d is negative", o.Workers)
	}
	return nil
}

// plan checks that the stream can be hashed and returns the sampling interval in
// frames and the size of the frames to hash.
func (o HashOptions) plan(name string, info ffmpeg.Info) (every, w, h int, err error) {
	if info.FPS <= 0 {
		return 0, 0, 0, dnadb.Errorf(dnadb.ErrInvalid, "hash %q: no frame rate", name)
	}
	w, h = info.Width, info.Height
	if o.Downscale > 0 {
		w, h = o.Downscale, o.Downscale
	}
	if w < pdq.MinDim || h < pdq.MinDim {
		return 0, 0, 0, dnadb.Errorf(dnadb.ErrInvalid,
			"hash %q: frames of %dx%d are under the %dx%d minimum",
			name, w, h, pdq.MinDim, pdq.MinDim)
	}
	return frameMod(o.SecondsPerHash, info.FPS), w, h, nil
}

// frameMod returns the reference's sampling interval in frames:
// (int)(secondsPerHash * fps) computed in double, raised to 1 if under 1. An
// interval past the int32 range (where the reference's cast is undefined) keeps
// frame 0 only.
func frameMod(secondsPerHash, fps float64) int {
	m := secondsPerHash * fps
	switch {
	case m < 1:
		return 1
	case m >= math.MaxInt32:
		return math.MaxInt32
	}
	return int(m)
}

// hashers hashes frames from ffmpeg.Frames on worker goroutines, into copies of
// the frames taken from a bounded set of buffers.
type hashers struct {
	fps  float32
	work chan job
	free chan []byte
	wg   sync.WaitGroup

	mu     sync.Mutex
	frames []Frame
	err    error
}

// job is one frame waiting to be hashed.
type job struct {
	number, width, height int
	pix                   []byte
}

// newHashers starts the workers for frames of frameBytes bytes: as many as asked
// (GOMAXPROCS for zero), but no more than bufferBudget lets wait in memory.
func newHashers(workers, frameBytes int, fps float32) *hashers {
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	nbuf := max(1, min(2*workers, bufferBudget/max(frameBytes, 1)))
	workers = min(workers, nbuf)

	hs := &hashers{fps: fps, work: make(chan job, nbuf), free: make(chan []byte, nbuf)}
	for range nbuf {
		hs.free <- nil // allocated on first use
	}
	for range workers {
		hs.wg.Go(hs.run)
	}
	return hs
}

// add queues a copy of f for hashing; it fails once a hash has failed.
func (hs *hashers) add(f ffmpeg.Frame) error {
	hs.mu.Lock()
	err := hs.err
	hs.mu.Unlock()
	if err != nil {
		return err
	}

	buf := <-hs.free
	if cap(buf) < len(f.Pix) {
		buf = make([]byte, len(f.Pix))
	}
	buf = buf[:len(f.Pix)]
	copy(buf, f.Pix)
	hs.work <- job{number: f.Number, width: f.Width, height: f.Height, pix: buf}
	return nil
}

// run hashes queued frames until the queue closes.
func (hs *hashers) run() {
	for j := range hs.work {
		r, err := pdq.HashRGB(j.pix, j.width, j.height, 3*j.width)
		hs.free <- j.pix

		hs.mu.Lock()
		if err != nil && hs.err == nil {
			hs.err = fmt.Errorf("hash frame %d: %w", j.number, err)
		}
		hs.frames = append(hs.frames, Frame{
			Number:    j.number,
			Quality:   r.Quality,
			Hash:      r.Hash,
			Timestamp: float64(float32(j.number) / hs.fps),
		})
		hs.mu.Unlock()
	}
}

// finish waits for the queued frames and returns them, in no particular order.
func (hs *hashers) finish() ([]Frame, error) {
	close(hs.work)
	hs.wg.Wait()
	return hs.frames, hs.err
}
