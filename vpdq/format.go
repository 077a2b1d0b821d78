package vpdq

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/dnadb/dnadb"
)

// WriteText writes frames in the text format of the reference's vpdq-hash-video
// and of its sample-hashes: one line "frameNumber,quality,pdqHex,timestamp" per
// frame, with the timestamp in seconds printed with three decimals (%.3f), as
// dnadb.FormatVPDQ writes a registry signal.
func WriteText(w io.Writer, frames []Frame) error {
	if _, err := io.WriteString(w, dnadb.FormatVPDQ(frames)); err != nil {
		return fmt.Errorf("vpdq: write text: %w", err)
	}
	return nil
}

// ReadText reads frames in the text format WriteText writes, with the rules of
// dnadb.ReadVPDQ and no limit on their number.
func ReadText(r io.Reader) ([]Frame, error) { return dnadb.ReadVPDQ(r, 0) }

// parseQuality parses a PDQ quality, 0 to 100.
func parseQuality(s string) (int, error) {
	q, err := strconv.Atoi(s)
	if err != nil || q < 0 || q > 100 {
		return 0, fmt.Errorf("quality %q: not a whole number from 0 to 100", s)
	}
	return q, nil
}

// parseTimestamp parses a finite time of 0 seconds or more.
func parseTimestamp(s string) (float64, error) {
	t, err := strconv.ParseFloat(s, 64)
	if err != nil || !(t >= 0) || math.IsInf(t, 0) {
		return 0, fmt.Errorf("timestamp %q: not a time of 0 seconds or more", s)
	}
	return t, nil
}

// MarshalPyTX encodes frames as python-threatexchange's vpdq signal string: a JSON
// array of "pdqHex,quality,timestamp" strings, written as Python's json.dumps
// writes it (items separated by ", "), the timestamp formatted as Python's
// format(t, '.3') (see formatPyG3). Frame numbers are not part of the form.
//
// Like pytx's assert_valid, it fails with dnadb.ErrInvalid for a quality outside
// 0 to 100 or a negative or non-finite timestamp.
func MarshalPyTX(frames []Frame) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, f := range frames {
		if f.Quality < 0 || f.Quality > 100 {
			return nil, dnadb.Errorf(dnadb.ErrInvalid, "vpdq: frame %d: quality %d not in 0..100",
				f.Number, f.Quality)
		}
		if !(f.Timestamp >= 0) || math.IsInf(f.Timestamp, 0) {
			return nil, dnadb.Errorf(dnadb.ErrInvalid, "vpdq: frame %d: timestamp %v is invalid",
				f.Number, f.Timestamp)
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `"%s,%d,%s"`, f.Hash, f.Quality, formatPyG3(f.Timestamp))
	}
	b.WriteByte(']')
	return b.Bytes(), nil
}

// UnmarshalPyTX decodes python-threatexchange's vpdq signal string: a JSON array
// of "pdqHex,quality,timestamp" strings. As pytx's json_to_vpdq, empty input means
// no frames. pytx keeps no frame numbers, so each frame's Number is its position
// in the array. It fails with dnadb.ErrInvalid, naming the entry and the field,
// for anything but such an array of valid entries.
func UnmarshalPyTX(data []byte) ([]Frame, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return []Frame{}, nil
	}
	var items []string
	if err := json.Unmarshal(data, &items); err != nil {
		return nil, dnadb.Errorf(dnadb.ErrInvalid,
			"vpdq: pytx signal: not a JSON array of strings: %v", err)
	}
	frames := make([]Frame, 0, len(items))
	for i, item := range items {
		f, err := parsePyTXItem(item)
		if err != nil {
			return nil, dnadb.Errorf(dnadb.ErrInvalid, "vpdq: pytx signal entry %d: %w", i, err)
		}
		f.Number = i
		frames = append(frames, f)
	}
	return frames, nil
}

// parsePyTXItem parses "pdqHex,quality,timestamp".
func parsePyTXItem(item string) (Frame, error) {
	var f Frame
	fields := strings.Split(item, ",")
	if len(fields) != 3 {
		return f, fmt.Errorf("%d fields, want 3 (hash,quality,timestamp)", len(fields))
	}
	var err error
	if f.Hash, err = dnadb.ParseHash256(fields[0]); err != nil {
		return f, fmt.Errorf("field 1, %w", err)
	}
	if f.Quality, err = parseQuality(fields[1]); err != nil {
		return f, fmt.Errorf("field 2, %w", err)
	}
	if f.Timestamp, err = parseTimestamp(fields[2]); err != nil {
		return f, fmt.Errorf("field 3, %w", err)
	}
	return f, nil
}

// formatPyG3 formats x as Python's format(x, '.3'): the format spec with a
// precision and no type, which CPython implements as 'g' with the "add .0" flag
// (Python/pystrtod.c). That means three significant digits, correctly rounded;
// the exponent form when the decimal exponent after rounding is under -4 or at
// least 2 (one less than 'g”s usual 3, because of the flag); trailing zeros
// dropped; and ".0" added to a fixed-form number without a fraction. Examples:
// 0.0, 0.5, 12.3, 99.9, 1e+02 (for 99.95 and 100.0), 1.23e+03, 0.0001, 1e-05.
func formatPyG3(x float64) string {
	switch {
	case math.IsNaN(x):
		return "nan"
	case math.IsInf(x, 1):
		return "inf"
	case math.IsInf(x, -1):
		return "-inf"
	}

	// Three correctly rounded significant digits and the exponent.
	e := strconv.FormatFloat(x, 'e', 2, 64) // [-]d.dde±XX
	sign := ""
	if e[0] == '-' {
		sign, e = "-", e[1:]
	}
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	digits := strings.TrimRight(mant[:1]+mant[2:], "0")
	if digits == "" { // zero
		return sign + "0.0"
	}

	// The exponent form: d[.dd]e±XX, with at least two exponent digits.
	if exp < -4 || exp >= 2 {
		s := digits[:1]
		if len(digits) > 1 {
			s += "." + digits[1:]
		}
		esign := "+"
		if exp < 0 {
			esign, exp = "-", -exp
		}
		return fmt.Sprintf("%s%se%s%02d", sign, s, esign, exp)
	}

	// The fixed form, with at least one digit after the point.
	var intPart, frac string
	if exp >= 0 {
		for len(digits) < exp+1 {
			digits += "0"
		}
		intPart, frac = digits[:exp+1], digits[exp+1:]
	} else {
		intPart, frac = "0", strings.Repeat("0", -exp-1)+digits
	}
	if frac == "" {
		frac = "0"
	}
	return sign + intPart + "." + frac
}
