package dnadb

import (
	"encoding/hex"
	"math/bits"
)

// Hash256 is a 256-bit perceptual hash such as PDQ, stored big-endian: byte 0 holds
// bits 255..248 and byte 31 holds bits 7..0. This is the byte order of the hash's hex
// text, so for PDQ, bit k (least significant first) is DCT coefficient k = 16*row+col.
type Hash256 [32]byte

// HashHexLen is the length of a Hash256 in hex text.
const HashHexLen = 64

// ParseHash256 parses 64 hex characters, in either case. Anything else fails with
// ErrInvalid and a message that says what is wrong.
func ParseHash256(s string) (Hash256, error) {
	var h Hash256
	if len(s) != HashHexLen {
		return h, Errorf(ErrInvalid, "hash %q: want %d hex characters, got %d",
			abbreviate(s), HashHexLen, len(s))
	}
	for i, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return h, Errorf(ErrInvalid, "hash %q: character %d (%q) is not hex",
				abbreviate(s), i+1, c)
		}
	}
	hex.Decode(h[:], []byte(s))
	return h, nil
}

// String returns the hash as 64 lowercase hex characters.
func (h Hash256) String() string { return hex.EncodeToString(h[:]) }

// Bit reports whether bit k (0 = least significant) is set.
func (h Hash256) Bit(k int) bool { return h[31-k/8]>>(k%8)&1 == 1 }

// SetBit sets bit k (0 = least significant).
func (h *Hash256) SetBit(k int) { h[31-k/8] |= 1 << (k % 8) }

// Distance returns the Hamming distance between h and o, 0 to 256.
func (h Hash256) Distance(o Hash256) int {
	n := 0
	for i := range h {
		n += bits.OnesCount8(h[i] ^ o[i])
	}
	return n
}

// MarshalText encodes the hash as lowercase hex.
func (h Hash256) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText parses hex text with ParseHash256.
func (h *Hash256) UnmarshalText(b []byte) error {
	v, err := ParseHash256(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// abbreviate shortens s for an error message.
func abbreviate(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
