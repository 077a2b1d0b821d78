package api

import (
	"errors"
	"math"
	"testing"

	"github.com/dnadb/dnadb"
)

func TestCursorRoundTrip(t *testing.T) {
	for _, seq := range []int64{0, 1, 255, 256, 1 << 40, math.MaxInt64} {
		c := FormatCursor(seq)
		got, err := ParseCursor(c)
		if err != nil || got != seq {
			t.Errorf("ParseCursor(FormatCursor(%d) = %q) = %d, %v; want %d, nil", seq, c, got,
				err, seq)
		}
	}
	if got, err := ParseCursor(""); got != 0 || err != nil {
		t.Errorf("ParseCursor(\"\") = %d, %v; want 0, nil", got, err)
	}
}

func TestCursorMalformed(t *testing.T) {
	valid := FormatCursor(42)
	cases := map[string]string{
		"garbage":      "not-a-cursor",
		"short":        valid[:len(valid)-1],
		"long":         valid + "A",
		"padding":      valid[:len(valid)-1] + "=",
		"standard b64": "AQAAAAAAAAAq/+==",
		"version 0":    "AAAAAAAAAAAq",
		"version 2":    "AgAAAAAAAAAq",
		"negative":     "Af__________",
		"space":        " " + valid[1:],
	}
	for name, c := range cases {
		if _, err := ParseCursor(c); !errors.Is(err, dnadb.ErrInvalid) {
			t.Errorf("%s: ParseCursor(%q) error = %v, want ErrInvalid", name, c, err)
		}
	}
}

// FuzzParseCursor checks that any text either fails as invalid input or is a
// cursor that FormatCursor writes exactly so.
func FuzzParseCursor(f *testing.F) {
	for _, s := range []string{"", FormatCursor(0), FormatCursor(7), FormatCursor(math.MaxInt64),
		"AgAAAAAAAAAq", "Af__________", "=", "AQAAAAAAAAAq=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		seq, err := ParseCursor(s)
		if err != nil {
			if !errors.Is(err, dnadb.ErrInvalid) {
				t.Fatalf("ParseCursor(%q) error = %v, want ErrInvalid", s, err)
			}
			return
		}
		if seq < 0 {
			t.Fatalf("ParseCursor(%q) = %d, want a seq >= 0", s, seq)
		}
		if s != "" && FormatCursor(seq) != s {
			t.Fatalf("ParseCursor(%q) = %d, but FormatCursor(%d) = %q", s, seq, seq,
				FormatCursor(seq))
		}
	})
}
