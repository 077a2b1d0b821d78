package ffmpeg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dnadb/dnadb"
)

// Info describes the video stream of a file, as ffprobe reports it.
type Info struct {
	// Stream is the index of the stream in the file: the first video stream that
	// is not an attached picture (cover art).
	Stream int
	// Width and Height are the stream's coded picture size, in pixels.
	Width, Height int
	// FPS is the stream's average frame rate (avg_frame_rate), or, when that is
	// unknown, its base rate (r_frame_rate), as the vPDQ reference takes it. It is
	// zero if both are unknown.
	FPS float64
	// Codec is ffmpeg's name of the stream's codec, such as "h264".
	Codec string
	// PixelFormat is the decoder's pixel format, such as "yuv420p"; it may be empty.
	PixelFormat string
	// Format is ffmpeg's name of the container format, such as
	// "mov,mp4,m4a,3gp,3g2,mj2".
	Format string
	// Duration is the stream's duration in seconds, or the file's when the
	// stream's is unknown; zero if neither is known.
	Duration float64
	// Frames is the number of frames the container declares for the stream
	// (nb_frames); zero if it declares none. It is not checked against the
	// frames that decode.
	Frames int
}

// Pixels returns Width*Height.
func (i Info) Pixels() int64 { return int64(i.Width) * int64(i.Height) }

// probeReport is the part of ffprobe's JSON report that Probe reads.
type probeReport struct {
	Streams []struct {
		Index        int    `json:"index"`
		CodecType    string `json:"codec_type"`
		CodecName    string `json:"codec_name"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		PixFmt       string `json:"pix_fmt"`
		AvgFrameRate string `json:"avg_frame_rate"`
		RFrameRate   string `json:"r_frame_rate"`
		Duration     string `json:"duration"`
		NbFrames     string `json:"nb_frames"`
		Disposition  struct {
			AttachedPic int `json:"attached_pic"`
		} `json:"disposition"`
	} `json:"streams"`
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
	} `json:"format"`
}

// Probe returns the parameters of the first video stream of the file at path, from
// `ffprobe -show_streams -show_format`. It runs for at most DefaultProbeTimeout.
// Errors are as the package documentation lists; ErrNoVideo comes with
// dnadb.ErrUnsupported.
func Probe(ctx context.Context, path string) (Info, error) {
	name := filepath.Base(path)
	input, err := checkInput(path)
	if err != nil {
		return Info{}, err
	}

	// Run ffprobe and keep its report, up to a cap.
	p := &process{tool: "ffprobe", verb: "probe", name: name, input: input,
		timeout: DefaultProbeTimeout}
	args := []string{"-format_whitelist", Formats, "-print_format", "json",
		"-show_streams", "-show_format", input}
	if err := p.start(ctx, args); err != nil {
		return Info{}, err
	}
	var out bytes.Buffer
	_, readErr := io.Copy(&out, io.LimitReader(p.stdout, maxProbeOutput+1))
	tooLong := out.Len() > maxProbeOutput
	if err := p.wait(readErr != nil || tooLong); err != nil {
		return Info{}, err
	}
	if readErr != nil {
		return Info{}, fmt.Errorf("probe %q: read ffprobe output: %w", name, readErr)
	}
	if tooLong {
		return Info{}, dnadb.Errorf(dnadb.ErrInvalid, "probe %q: ffprobe report over %d bytes",
			name, maxProbeOutput)
	}

	// Pick the stream.
	var rep probeReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		return Info{}, fmt.Errorf("probe %q: parse ffprobe report: %w", name, err)
	}
	return infoOf(name, &rep)
}

// checkInput checks that path names a regular file and returns its argument for
// ffmpeg.
func checkInput(path string) (string, error) {
	name := filepath.Base(path)
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", dnadb.Errorf(dnadb.ErrNotFound, "video %q: no such file", name)
	case err != nil:
		return "", fmt.Errorf("video %q: %w", name, err)
	case !st.Mode().IsRegular():
		return "", dnadb.Errorf(dnadb.ErrInvalid, "video %q: not a regular file", name)
	}
	return inputArg(path)
}

// infoOf picks the first video stream of rep that is not an attached picture.
func infoOf(name string, rep *probeReport) (Info, error) {
	for _, s := range rep.Streams {
		if s.CodecType != "video" || s.Disposition.AttachedPic != 0 {
			continue
		}
		info := Info{
			Stream:      s.Index,
			Width:       s.Width,
			Height:      s.Height,
			Codec:       s.CodecName,
			PixelFormat: s.PixFmt,
			Format:      rep.Format.FormatName,
			FPS:         parseRate(s.AvgFrameRate),
			Duration:    parseSeconds(s.Duration),
		}
		if info.FPS == 0 {
			info.FPS = parseRate(s.RFrameRate)
		}
		if info.Duration == 0 {
			info.Duration = parseSeconds(rep.Format.Duration)
		}
		if n, err := strconv.Atoi(s.NbFrames); err == nil && n > 0 {
			info.Frames = n
		}
		if info.Width <= 0 || info.Height <= 0 {
			return Info{}, dnadb.Errorf(dnadb.ErrUnsupported,
				"probe %q: video stream %d (%s) has no known picture size",
				name, s.Index, s.CodecName)
		}
		return info, nil
	}
	return Info{}, dnadb.Errorf(dnadb.ErrUnsupported, "probe %q: %w", name, ErrNoVideo)
}

// parseRate parses ffprobe's "num/den" rate, as a double the way the reference
// divides it; "0/0", an empty or a malformed rate give 0.
func parseRate(s string) float64 {
	num, den, ok := strings.Cut(s, "/")
	if !ok {
		return 0
	}
	n, err1 := strconv.ParseInt(num, 10, 64)
	d, err2 := strconv.ParseInt(den, 10, 64)
	if err1 != nil || err2 != nil || n <= 0 || d <= 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// parseSeconds parses ffprobe's duration; "N/A", negative or malformed give 0.
func parseSeconds(s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v >= 0) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
