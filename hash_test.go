package dnadb

import (
	"errors"
	"strings"
	"testing"
)

func TestParseHash256(t *testing.T) {
	good := "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
	h, err := ParseHash256(good)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.String(); got != good {
		t.Errorf("String() = %s, want %s", got, good)
	}
	// The last hex digit, 2, holds bits 3..0: only bit 1 is set.
	for k, want := range []bool{false, true, false, false} {
		if got := h.Bit(k); got != want {
			t.Errorf("Bit(%d) = %t, want %t", k, got, want)
		}
	}
	// The first hex digit, f, holds bits 255..252.
	if !h.Bit(255) || !h.Bit(252) {
		t.Errorf("Bit(255), Bit(252) = %t, %t, want true", h.Bit(255), h.Bit(252))
	}
	if upper, err := ParseHash256(strings.ToUpper(good)); err != nil || upper != h {
		t.Errorf("ParseHash256(upper) = %v, %v, want the same hash", upper, err)
	}

	bad := map[string]string{
		"":                            "got 0",
		good[:63]:                     "got 63",
		good + "0":                    "got 65",
		"x" + good[1:]:                "character 1",
		good[:10] + " " + good[11:]:   "character 11",
		good[:63] + "\u00e9"[:1]:      "not hex",
		strings.Repeat("0x", 32):      "character 2",
		strings.Repeat("a", 1000):     "got 1000",
		good[:32] + "-" + good[33:64]: "character 33",
	}
	for in, want := range bad {
		_, err := ParseHash256(in)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseHash256(%q) error = %v, want invalid mentioning %q", in, err, want)
		}
	}
}

func TestDistance(t *testing.T) {
	var a, b Hash256
	if d := a.Distance(b); d != 0 {
		t.Errorf("Distance(zero, zero) = %d, want 0", d)
	}
	for _, k := range []int{0, 7, 8, 100, 255} {
		b.SetBit(k)
	}
	if d := a.Distance(b); d != 5 {
		t.Errorf("Distance = %d, want 5", d)
	}
	for i := range b {
		b[i] = 0xff
	}
	if d := a.Distance(b); d != 256 {
		t.Errorf("Distance(zero, ones) = %d, want 256", d)
	}
}

func FuzzParseHash256(f *testing.F) {
	f.Add("f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22")
	f.Add("")
	f.Add(strings.Repeat("G", 64))
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHash256(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		if got := h.String(); got != strings.ToLower(s) {
			t.Fatalf("round trip %q -> %q", s, got)
		}
	})
}

func TestErrorKinds(t *testing.T) {
	inner := Errorf(ErrTooLarge, "photo %q: %dx%d over %d pixels", "a.png", 10, 10, 50)
	outer := Errorf(KindOf(inner), "upload: %w", inner)
	if !errors.Is(outer, ErrTooLarge) || KindOf(outer) != ErrTooLarge {
		t.Errorf("KindOf(%v) = %v, want ErrTooLarge", outer, KindOf(outer))
	}
	if got, want := outer.Error(), `upload: photo "a.png": 10x10 over 50 pixels`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if KindOf(errors.New("plain")) != nil {
		t.Errorf("KindOf(plain error) is not nil")
	}
}

func TestDecisionAllowed(t *testing.T) {
	cases := []struct {
		d    Decision
		from Status
		want bool
	}{
		{DecisionConfirm, StatusPending, true},
		{DecisionConfirm, StatusRejected, false},
		{DecisionConfirm, StatusConfirmed, false},
		{DecisionReject, StatusPending, true},
		{DecisionReject, StatusConfirmed, true},
		{DecisionReject, StatusWithdrawn, false},
		{DecisionWithdraw, StatusConfirmed, true},
		{DecisionWithdraw, StatusRejected, true},
		{DecisionWithdraw, StatusWithdrawn, false},
		{"approve", StatusPending, false},
	}
	for _, c := range cases {
		if got := c.d.Allowed(c.from); got != c.want {
			t.Errorf("%s.Allowed(%s) = %t, want %t", c.d, c.from, got, c.want)
		}
	}
}
