package api

import (
	"encoding/base64"
	"encoding/binary"

	"github.com/dnadb/dnadb"
)

// FeedPage is the body of GET /v1/feed.
type FeedPage struct {
	// Entries are the changes to the distributable set, in order; empty when
	// nothing changed before the wait ended.
	Entries []dnadb.FeedEntry `json:"entries"`
	// Cursor is the cursor parameter that continues after this page.
	Cursor string `json:"cursor"`
	// More is true when the page was cut short, so that the next one can be asked
	// for at once, without a wait.
	More bool `json:"more"`
}

// SnapshotEnd is the last line of GET /v1/feed/snapshot: the cursor the feed
// continues from and the number of item lines before it. A stream that ends
// without it is incomplete.
type SnapshotEnd struct {
	Cursor string `json:"cursor"`
	Items  int64  `json:"items"`
}

// cursorVersion is the first byte of every cursor this version writes.
const cursorVersion = 1

// cursorLen is the length of a decoded cursor: the version and a big-endian seq.
const cursorLen = 1 + 8

// FormatCursor writes the feed position after change seq as an opaque cursor:
// base64url, without padding, of a version byte and the seq.
func FormatCursor(seq int64) string {
	var b [cursorLen]byte
	b[0] = cursorVersion
	binary.BigEndian.PutUint64(b[1:], uint64(seq))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ParseCursor reads a cursor that FormatCursor wrote and returns its seq. The
// empty cursor is the start of the feed, seq zero. Anything else fails with
// ErrInvalid.
func ParseCursor(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	if len(s) != base64.RawURLEncoding.EncodedLen(cursorLen) {
		return 0, dnadb.Errorf(dnadb.ErrInvalid, "cursor %q is not one this server wrote", s)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != cursorLen {
		return 0, dnadb.Errorf(dnadb.ErrInvalid, "cursor %q is not one this server wrote", s)
	}
	if b[0] != cursorVersion {
		return 0, dnadb.Errorf(dnadb.ErrInvalid, "cursor %q is of version %d, want %d", s,
			b[0], cursorVersion)
	}
	seq := binary.BigEndian.Uint64(b[1:])
	if seq > 1<<63-1 {
		return 0, dnadb.Errorf(dnadb.ErrInvalid, "cursor %q is out of range", s)
	}
	return int64(seq), nil
}
