package dnadb

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
)

// Leak tracing: every consumer organisation's feed and snapshot carry a few marker
// items of its own, PDQ signals that match no real content. A copy of the set
// found elsewhere names the consumer it came from by the markers it holds.

// Limits of leak tracing.
const (
	// MarkersPerConsumer is how many marker items each consumer organisation
	// receives.
	MarkersPerConsumer = 4
	// MinMarkerDistance is the least Hamming distance between a marker and every
	// other PDQ hash the store held when the marker was made: real signals and the
	// markers of every organisation. It is one more than PDQ's usual match
	// threshold of 31 bits, so no matcher that uses that threshold matches a marker.
	MinMarkerDistance = 32
	// LeakDistance is the greatest distance at which a hash found elsewhere counts
	// as a marker, so that a copy survives light corruption.
	LeakDistance = 8
)

// LeakMarker is a marker item of one consumer organisation. Only the centre ever
// sees it as such; the consumer sees an item like any other.
type LeakMarker struct {
	OrgID int64
	// Index is the derivation counter the marker's signal was made from.
	Index int
	// ItemID is a real item id, taken from the sequence of the store's items and
	// never used by an item.
	ItemID int64
	// Seq is the change after which the marker joined the consumer's set: the
	// feed carries it in the page that covers Seq, a snapshot at or after Seq
	// holds it.
	Seq      int64
	Category Category
	// Signals hold one PDQ signal and, when the items it was modelled on had them,
	// digests made up to look like theirs.
	Signals []Signal
}

// PDQ returns the marker's PDQ hash.
func (m LeakMarker) PDQ() (Hash256, bool) {
	for _, sg := range m.Signals {
		if sg.Type == SignalPDQ {
			h, err := ParseHash256(sg.Value)
			return h, err == nil
		}
	}
	return Hash256{}, false
}

// MarkerBytes returns the pseudo-random bytes of one part of marker index i of
// organisation org: HMAC-SHA256 under key of "dnadb-marker|org|i|part". The same
// key gives the same bytes on every run.
func MarkerBytes(key []byte, org int64, i int, part string) [32]byte {
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "dnadb-marker|%d|%d|%s", org, i, part)
	var b [32]byte
	copy(b[:], mac.Sum(nil))
	return b
}

// MarkerHash returns the PDQ hash and quality (70 to 100) of marker index i of
// organisation org under key.
func MarkerHash(key []byte, org int64, i int) (Hash256, int) {
	h := Hash256(MarkerBytes(key, org, i, "pdq"))
	q := MarkerBytes(key, org, i, "quality")
	return h, 70 + int(binary.BigEndian.Uint16(q[:2])%31)
}

// MarkerDigest returns a made-up digest of n bytes, as hex, for marker index i of
// organisation org: it stands in for the MD5 or SHA-256 that real items carry.
func MarkerDigest(key []byte, org int64, i int, t SignalType, n int) string {
	b := MarkerBytes(key, org, i, string(t))
	return hex.EncodeToString(b[:n])
}

// hexHash finds 64-hex-digit runs not part of a longer run.
var hexHash = regexp.MustCompile(`[0-9a-fA-F]{64,}`)

// ScanHashes reads every 256-bit hash in r: each run of exactly 64 hex digits, so
// that a plain list, NDJSON snapshot lines and feed pages all read alike. Longer
// hex runs (such as vPDQ values) are skipped.
func ScanHashes(r io.Reader) ([]Hash256, error) {
	var out []Hash256
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		for _, m := range hexHash.FindAllString(sc.Text(), -1) {
			if len(m) != 64 {
				continue
			}
			h, err := ParseHash256(m)
			if err != nil {
				continue
			}
			out = append(out, h)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("scan hashes: %w", err)
	}
	return out, nil
}

// LeakFinding is a consumer organisation whose markers a copy holds.
type LeakFinding struct {
	OrgID int64
	// Found is how many of its markers were found, of Markers.
	Found, Markers int
}

func (f LeakFinding) String() string {
	return "org=" + strconv.FormatInt(f.OrgID, 10) + " markers=" +
		strconv.Itoa(f.Found) + "/" + strconv.Itoa(f.Markers)
}

// TraceLeak returns the organisations whose markers appear among hashes, each
// marker counting when some hash is within LeakDistance of it, most markers first
// (then by org id). It returns none for a copy that holds no marker.
func TraceLeak(markers []LeakMarker, hashes []Hash256) []LeakFinding {
	byOrg := map[int64]*LeakFinding{}
	for _, m := range markers {
		f := byOrg[m.OrgID]
		if f == nil {
			f = &LeakFinding{OrgID: m.OrgID}
			byOrg[m.OrgID] = f
		}
		f.Markers++
		mh, ok := m.PDQ()
		if !ok {
			continue
		}
		for _, h := range hashes {
			if mh.Distance(h) <= LeakDistance {
				f.Found++
				break
			}
		}
	}
	var out []LeakFinding
	for _, f := range byOrg {
		if f.Found > 0 {
			out = append(out, *f)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Found != out[j].Found {
			return out[i].Found > out[j].Found
		}
		return out[i].OrgID < out[j].OrgID
	})
	return out
}
