package dnadb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// The signal types of a video item, beside SignalPDQ for photos.
const (
	// SignalVPDQ is Meta's vPDQ video fingerprint in the reference's text form:
	// one line per hashed frame, "frameNumber,quality,pdqHex,timestamp", with the
	// timestamp in seconds to three decimals, as vpdq-hash-video writes it.
	SignalVPDQ SignalType = "vpdq"
	// SignalMD5 and SignalSHA256 are digests of the file's bytes, in lowercase
	// hex: they find exact copies, which filters and hash lists often exchange.
	SignalMD5    SignalType = "md5"
	SignalSHA256 SignalType = "sha256"
)

// MaxVPDQFrames caps the frames of one vPDQ signal: four hours at one hash a
// second, or some nine minutes of every frame at 25 fps.
const MaxVPDQFrames = 14400

// VideoFrame is the fingerprint of one hashed frame of a video.
type VideoFrame struct {
	// Number is the frame's 0-based position in decode output order.
	Number int
	// Quality is the frame's PDQ quality, 0 to 100.
	Quality int
	Hash    Hash256
	// Timestamp is Number divided by the stream's average frame rate, in seconds,
	// computed in float32 as the reference does.
	Timestamp float64
}

// ParseVPDQ parses a vPDQ signal value in the reference's text form, as ReadVPDQ
// does, and fails with ErrInvalid if it holds no frame and with ErrTooLarge over
// MaxVPDQFrames frames.
func ParseVPDQ(value string) ([]VideoFrame, error) {
	frames, err := ReadVPDQ(strings.NewReader(value), MaxVPDQFrames)
	if err != nil {
		return nil, err
	}
	if len(frames) == 0 {
		return nil, Errorf(ErrInvalid, "vpdq: no frames")
	}
	return frames, nil
}

// maxVPDQLine caps one line of the text form; a real line is about 80 bytes.
const maxVPDQLine = 4 << 10

// ReadVPDQ reads frames in the text form of the reference's vpdq-hash-video and of
// its sample-hashes, up to max frames (zero means no limit). Blank lines, such as a
// final newline, and carriage returns are ignored. Each line must have exactly
// four fields: a frame number (0 or more, each greater than the line before's), a
// quality from 0 to 100, 64 hex digits and a timestamp of 0 seconds or more.
// Anything else fails with ErrInvalid naming the line and the field, and more than
// max frames with ErrTooLarge. An input without frames gives an empty slice.
func ReadVPDQ(r io.Reader, max int) ([]VideoFrame, error) {
	var frames []VideoFrame
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), maxVPDQLine)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		if max > 0 && len(frames) == max {
			return nil, Errorf(ErrTooLarge, "vpdq: over %d frames", max)
		}
		f, err := parseVPDQLine(text)
		if err != nil {
			return nil, Errorf(ErrInvalid, "vpdq: text line %d: %w", line, err)
		}
		if n := len(frames); n > 0 && f.Number <= frames[n-1].Number {
			return nil, Errorf(ErrInvalid,
				"vpdq: text line %d: frame number %d does not follow %d",
				line, f.Number, frames[n-1].Number)
		}
		frames = append(frames, f)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, Errorf(ErrInvalid, "vpdq: text line %d: over %d bytes", line+1,
				maxVPDQLine)
		}
		return nil, fmt.Errorf("vpdq: read text: %w", err)
	}
	return frames, nil
}

// parseVPDQLine parses "frameNumber,quality,pdqHex,timestamp".
func parseVPDQLine(text string) (VideoFrame, error) {
	var f VideoFrame
	fields := strings.Split(text, ",")
	if len(fields) != 4 {
		return f, fmt.Errorf("%d fields, want 4 (frameNumber,quality,hash,timestamp)",
			len(fields))
	}
	var err error
	if f.Number, err = strconv.Atoi(fields[0]); err != nil || f.Number < 0 {
		return f, fmt.Errorf("field 1, frame number %q: not a whole number", fields[0])
	}
	if f.Quality, err = strconv.Atoi(fields[1]); err != nil || f.Quality < 0 ||
		f.Quality > 100 {
		return f, fmt.Errorf("field 2, quality %q: not a whole number from 0 to 100",
			fields[1])
	}
	if f.Hash, err = ParseHash256(fields[2]); err != nil {
		return f, fmt.Errorf("field 3, %w", err)
	}
	f.Timestamp, err = strconv.ParseFloat(fields[3], 64)
	if err != nil || !(f.Timestamp >= 0) || math.IsInf(f.Timestamp, 0) {
		return f, fmt.Errorf("field 4, timestamp %q: not a time of 0 seconds or more",
			fields[3])
	}
	return f, nil
}

// FormatVPDQ writes frames in the reference's text form, one line each.
func FormatVPDQ(frames []VideoFrame) string {
	var b strings.Builder
	for _, f := range frames {
		fmt.Fprintf(&b, "%d,%d,%s,%.3f\n", f.Number, f.Quality, f.Hash, f.Timestamp)
	}
	return b.String()
}

// parseHexDigest checks a hex digest of n bytes and returns it in lowercase.
func parseHexDigest(t SignalType, s string, n int) (string, error) {
	if len(s) != 2*n {
		return "", Errorf(ErrInvalid, "%s %q: want %d hex characters, got %d", t,
			abbreviate(s), 2*n, len(s))
	}
	for i, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return "", Errorf(ErrInvalid, "%s: character %d (%q) is not hex", t, i+1, c)
		}
	}
	return strings.ToLower(s), nil
}
