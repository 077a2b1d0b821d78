package dnadb

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// AuditGenesis is the PrevHash of the first audit entry.
var AuditGenesis = strings.Repeat("0", 64)

// ComputeHash returns the hash that e must carry in a trail without a key:
// SHA-256 over its sequence number, time, actor, act and outcome and the previous
// entry's hash, each field written as text and ended by a newline, so that no two
// different entries share an input.
func (e AuditEntry) ComputeHash() string { return e.Seal(nil) }

// Seal returns the hash that e must carry in a trail kept with key: HMAC-SHA256
// keyed with key over the same text as ComputeHash, or ComputeHash itself when key
// is empty. Someone who can write to the database but does not hold the key can
// then not forge an entry, nor rewrite the chain after one.
func (e AuditEntry) Seal(key []byte) string {
	var b strings.Builder
	for _, f := range []string{
		strconv.FormatInt(e.Seq, 10),
		strconv.FormatInt(e.At.UnixMicro(), 10),
		strconv.FormatInt(e.OrgID, 10),
		strconv.FormatInt(e.TokenID, 10),
		strconv.Quote(e.Action),
		strconv.Quote(e.Target),
		strconv.Quote(e.RequestID),
		strconv.Quote(string(e.Outcome)),
		e.PrevHash,
	} {
		b.WriteString(f)
		b.WriteByte('\n')
	}
	if len(key) == 0 {
		sum := sha256.Sum256([]byte(b.String()))
		return hex.EncodeToString(sum[:])
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(b.String()))
	return hex.EncodeToString(mac.Sum(nil))
}

// MinAuditKey is the shortest audit key accepted, in bytes.
const MinAuditKey = 32

// CheckAuditKey refuses a key too short to resist guessing.
func CheckAuditKey(key []byte) error {
	if len(key) > 0 && len(key) < MinAuditKey {
		return Errorf(ErrInvalid, "audit key is %d bytes; want at least %d", len(key),
			MinAuditKey)
	}
	return nil
}

// ChainError names the first audit entry where the chain breaks.
type ChainError struct {
	// Seq is the sequence number of the first entry found wrong.
	Seq int64
	// Problem says what is wrong: "altered", "inserted", "removed".
	Problem string
	// Detail says how it was seen.
	Detail string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("audit entry %d: %s: %s", e.Seq, e.Problem, e.Detail)
}

// VerifyAudit walks the whole trail in order and checks that sequence numbers run
// from 1 without a gap, that every entry's hash is its Seal under key, and that
// each entry's PrevHash is the hash of the entry before it. It returns the number
// of good entries before the first bad one, and a *ChainError naming the first
// entry that was altered, inserted or removed. The trail may grow while it is
// walked: entries appended meanwhile are checked too, or left for the next walk.
//
// Without a key, someone who can write to the database and knows the scheme can
// rewrite the trail from some entry on and recompute every hash after it. Record
// the head that verification reports somewhere else and check it later with
// VerifyAnchor, or keep the trail with a key.
func VerifyAudit(ctx context.Context, log AuditLog, key []byte) (int64, error) {
	prev := AuditEntry{Hash: AuditGenesis}
	var n int64
	for {
		page, err := log.AuditEntries(ctx, prev.Seq, MaxPageSize)
		if err != nil {
			return n, fmt.Errorf("verify audit: %w", err)
		}
		if len(page) == 0 {
			// An entry and the head move in one transaction, so every entry up to
			// a head read now is visible to a read after it: a head past the end
			// means the trail grew meanwhile, unless a second look finds nothing.
			seq, hash, err := log.AuditHead(ctx)
			if err != nil {
				return n, fmt.Errorf("verify audit: %w", err)
			}
			if seq > prev.Seq {
				if page, err = log.AuditEntries(ctx, prev.Seq, MaxPageSize); err != nil {
					return n, fmt.Errorf("verify audit: %w", err)
				}
			}
			if len(page) == 0 {
				if err := checkHead(prev, seq, hash); err != nil {
					return err.Seq - 1, err
				}
				return n, nil
			}
		}
		for _, e := range page {
			if err := checkLink(prev, e, key); err != nil {
				// The head is read after e, so a real entry is never past it: one
				// that is was added behind the store's back, whatever its hash.
				seq, _, herr := log.AuditHead(ctx)
				if herr == nil && e.Seq > seq {
					return n, &ChainError{Seq: e.Seq, Problem: "inserted",
						Detail: fmt.Sprintf("it is past the head, entry %d", seq)}
				}
				return n, err
			}
			prev = e
			n++
		}
	}
}

// checkHead checks the last entry against the head the store keeps beside the
// trail, read after it, which catches entries removed from or added at the end.
func checkHead(last AuditEntry, seq int64, hash string) *ChainError {
	switch {
	case last.Seq < seq:
		return &ChainError{Seq: last.Seq + 1, Problem: "removed",
			Detail: fmt.Sprintf("the trail ends at %d but its head is entry %d", last.Seq, seq)}
	case last.Seq > seq:
		return &ChainError{Seq: seq + 1, Problem: "inserted",
			Detail: fmt.Sprintf("entries after the head, entry %d", seq)}
	case last.Hash != hash && seq > 0:
		return &ChainError{Seq: seq, Problem: "altered",
			Detail: "the last entry's hash is not the head's"}
	}
	return nil
}

// checkLink checks entry e against the entry before it.
func checkLink(prev, e AuditEntry, key []byte) error {
	selfOK := hmac.Equal([]byte(e.Seal(key)), []byte(e.Hash))
	linked := e.PrevHash == prev.Hash
	switch {
	case e.Seq > prev.Seq+1:
		return &ChainError{Seq: prev.Seq + 1, Problem: "removed",
			Detail: fmt.Sprintf("entries %d to %d are missing", prev.Seq+1, e.Seq-1)}
	case !selfOK && linked:
		return &ChainError{Seq: e.Seq, Problem: "altered",
			Detail: "its content does not match its hash"}
	case !selfOK:
		return &ChainError{Seq: e.Seq, Problem: "inserted",
			Detail: "it neither matches its hash nor links to the entry before it"}
	case !linked:
		return &ChainError{Seq: e.Seq, Problem: "inserted",
			Detail: fmt.Sprintf("its hash is consistent but it does not link to entry %d: "+
				"either it was inserted or entry %d was altered and its hash recomputed",
				prev.Seq, prev.Seq)}
	}
	return nil
}

// VerifyAnchor checks that the trail still holds entry seq with the hash recorded
// for it earlier, outside the database: a trail rewritten from before seq on,
// however carefully, does not. It fails with a *ChainError.
func VerifyAnchor(ctx context.Context, log AuditLog, seq int64, hash string) error {
	page, err := log.AuditEntries(ctx, seq-1, 1)
	if err != nil {
		return fmt.Errorf("verify anchor: %w", err)
	}
	if len(page) == 0 || page[0].Seq != seq {
		return &ChainError{Seq: seq, Problem: "removed",
			Detail: "the anchored entry is not in the trail"}
	}
	if page[0].Hash != hash {
		return &ChainError{Seq: seq, Problem: "altered",
			Detail: "its hash is not the one anchored; the trail was rewritten from here or before"}
	}
	return nil
}
