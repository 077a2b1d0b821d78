package fingerprint

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/ffmpeg"
	"github.com/dnadb/dnadb/vpdq"
)

// Media is what a file holds, as far as fingerprinting goes.
type Media int

// The kinds of media.
const (
	// MediaPhoto is a still image, fingerprinted with PDQ.
	MediaPhoto Media = iota
	// MediaVideo is a video, an animated GIF or another moving loop, fingerprinted
	// with vPDQ and file digests.
	MediaVideo
)

// Kind tells whether the file at path is a photo or a video, by its content: a
// format the image decoder knows is a photo, unless it is a GIF of more than one
// frame; any other file in which ffprobe finds a video stream is a video. All else
// is a photo, so that the photo decoder's error (corrupt, or a format it does not
// know) is the one reported.
func (h Hasher) Kind(ctx context.Context, path string) Media {
	f, err := os.Open(path)
	if err != nil {
		return MediaPhoto // the photo path reports it
	}
	defer f.Close()

	cfg, err := h.Decoder.DecodeConfig(path, bufio.NewReader(f))
	switch {
	case errors.Is(err, dnadb.ErrUnsupported):
		if _, err := ffmpeg.Probe(ctx, path); err == nil {
			return MediaVideo
		}
		return MediaPhoto
	case err != nil || cfg.Format != "gif":
		return MediaPhoto
	}

	// A GIF is a video when it has more frames than one.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return MediaPhoto
	}
	if frames, err := gifFrames(f); err != nil || frames < 2 {
		return MediaPhoto
	}
	return MediaVideo
}

// gifFrames counts the image descriptors of a GIF by walking its blocks, without
// decoding a pixel, so that a small file claiming huge frames costs nothing here.
// It stops at two, which is all Kind needs to know.
func gifFrames(r io.Reader) (int, error) {
	br := bufio.NewReader(r)
	head := make([]byte, 13)
	if _, err := io.ReadFull(br, head); err != nil {
		return 0, err
	}
	if head[10]&0x80 != 0 { // global colour table
		if _, err := br.Discard(3 << (head[10]&7 + 1)); err != nil {
			return 0, err
		}
	}
	frames := 0
	for frames < 2 {
		b, err := br.ReadByte()
		if err != nil {
			return frames, err
		}
		switch b {
		case 0x21: // extension: label, then sub-blocks
			if _, err := br.ReadByte(); err != nil {
				return frames, err
			}
		case 0x2c: // image descriptor, local colour table, LZW minimum, sub-blocks
			frames++
			desc := make([]byte, 9)
			if _, err := io.ReadFull(br, desc); err != nil {
				return frames, err
			}
			if desc[8]&0x80 != 0 {
				if _, err := br.Discard(3 << (desc[8]&7 + 1)); err != nil {
					return frames, err
				}
			}
			if _, err := br.ReadByte(); err != nil {
				return frames, err
			}
		case 0x3b: // trailer
			return frames, nil
		default:
			return frames, fmt.Errorf("gif: unknown block 0x%02x", b)
		}
		if err := skipSubBlocks(br); err != nil {
			return frames, err
		}
	}
	return frames, nil
}

// skipSubBlocks skips GIF data sub-blocks up to the empty one that ends them.
func skipSubBlocks(br *bufio.Reader) error {
	for {
		n, err := br.ReadByte()
		if err != nil || n == 0 {
			return err
		}
		if _, err := br.Discard(int(n)); err != nil {
			return err
		}
	}
}

// Video is the fingerprint of one video: its vPDQ frames and file digests.
type Video struct {
	vpdq.Video
	MD5    string
	SHA256 string
}

// Signals returns the video's signals: vPDQ, MD5 and SHA-256. The vPDQ signal's
// quality is the median quality of its frames.
func (v Video) Signals() []dnadb.Signal {
	return []dnadb.Signal{
		{Type: dnadb.SignalVPDQ, Value: dnadb.FormatVPDQ(v.Frames),
			Quality: medianQuality(v.Frames)},
		{Type: dnadb.SignalMD5, Value: v.MD5, Quality: 100},
		{Type: dnadb.SignalSHA256, Value: v.SHA256, Quality: 100},
	}
}

// Usable fails with ErrLowQuality when no frame of the video reaches quality
// floor: such a video could match nothing. The name identifies it in the error.
func (v Video) Usable(name string, floor int) error {
	for _, f := range v.Frames {
		if f.Quality >= floor {
			return nil
		}
	}
	return dnadb.Errorf(dnadb.ErrLowQuality,
		"%s: none of its %d hashed frames reaches quality %d", name, len(v.Frames), floor)
}

// medianQuality returns the median of the frames' qualities, 0 for none.
func medianQuality(frames []dnadb.VideoFrame) int {
	if len(frames) == 0 {
		return 0
	}
	var counts [101]int
	for _, f := range frames {
		counts[min(max(f.Quality, 0), 100)]++
	}
	half, seen := int(math.Ceil(float64(len(frames))/2)), 0
	for q, n := range counts {
		if seen += n; seen >= half {
			return q
		}
	}
	return 100
}

// HashVideo fingerprints the video at path: vPDQ frames under opts, and the file's
// MD5 and SHA-256.
func HashVideo(ctx context.Context, path string, opts vpdq.HashOptions) (Video, error) {
	v, err := vpdq.Hash(ctx, path, opts)
	if err != nil {
		return Video{}, err
	}
	md5hex, sha, err := vpdq.Digests(path)
	if err != nil {
		return Video{}, fmt.Errorf("%s: %w", path, err)
	}
	return Video{Video: v, MD5: md5hex, SHA256: sha}, nil
}
