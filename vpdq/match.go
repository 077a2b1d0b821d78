package vpdq

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/dnadb/dnadb"
)

// Defaults of MatchOptions and SegmentOptions: python-threatexchange's
// VPDQ_DISTANCE_THRESHOLD and VPDQ_QUALITY_THRESHOLD, which are also the tolerances
// the C++ reference's regression test passes to its matchers.
const (
	// DefaultDistance is the Hamming distance within which two frames match.
	DefaultDistance = 31
	// DefaultQualityFloor is the lowest PDQ quality of a frame that takes part in
	// matching.
	DefaultQualityFloor = 50
)

// Semantics selects which reference implementation's matching rules Compare follows.
// The two references disagree on three small points; see PyTX and CPP.
type Semantics int

const (
	// PyTX follows python-threatexchange's match_VPDQ_hash_brute: frames with an
	// identical hash are de-duplicated, keeping the first occurrence, before frames
	// below the quality floor are dropped; two frames match when their distance is
	// at most the tolerance (<=). It is the zero value.
	PyTX Semantics = iota
	// CPP follows the C++ matchTwoHashBrute (the match-hashes-brute CLI): there is no
	// de-duplication, and two frames match when their distance is strictly less than
	// the tolerance (<).
	CPP
)

// String returns "pytx", "cpp", or the number of an unknown value.
func (s Semantics) String() string {
	switch s {
	case PyTX:
		return "pytx"
	case CPP:
		return "cpp"
	}
	return fmt.Sprintf("Semantics(%d)", int(s))
}

// MatchOptions configures Compare.
type MatchOptions struct {
	// Distance is the Hamming distance tolerance; zero means DefaultDistance. How it
	// bounds a match (<= or <) depends on Semantics.
	Distance int
	// QualityFloor drops frames whose quality is below it; zero means
	// DefaultQualityFloor. A negative value keeps every frame.
	QualityFloor int
	// Semantics selects the reference whose rules apply; the zero value is PyTX.
	// Values other than PyTX and CPP behave as PyTX.
	Semantics Semantics
}

// withDefaults returns o with its zero fields replaced by defaults.
func (o MatchOptions) withDefaults() MatchOptions {
	if o.Distance == 0 {
		o.Distance = DefaultDistance
	}
	if o.QualityFloor == 0 {
		o.QualityFloor = DefaultQualityFloor
	}
	return o
}

// Result is the outcome of Compare.
type Result struct {
	// QueryPercent is the share of counted query frames that match at least one
	// counted compared frame, 0 to 100.
	QueryPercent float64
	// ComparedPercent is the share of counted compared frames that match at least
	// one counted query frame, 0 to 100.
	ComparedPercent float64

	// QueryFrames and ComparedFrames are the frames counted on each side: those that
	// pass the quality floor and, under PyTX, de-duplication.
	QueryFrames, ComparedFrames int
	// QueryMatched and ComparedMatched are the counted frames that matched.
	QueryMatched, ComparedMatched int
}

// Compare matches two videos as bags of frame hashes, ignoring order and timestamps,
// as vPDQ's brute-force matchers do:
//
//  1. Drop frames whose quality is below opts.QualityFloor (under PyTX, after
//     de-duplicating identical hashes, keeping the first occurrence).
//  2. QueryPercent is 100 times the number of remaining query frames that lie
//     within opts.Distance of some remaining compared frame, divided by the number
//     of remaining query frames; ComparedPercent is the same the other way round.
//
// The percentages keep full float64 precision, computed as the references compute
// them (count*100/total); the C++ CLI prints them with %0.2f. When either side has
// no frame left after step 1, both percentages are 0, as in the C++ reference;
// python-threatexchange would divide by zero there. The caller decides what counts
// as a match: python-threatexchange requires QueryPercent >= 80 and
// ComparedPercent >= 0.
func Compare(query, compared []Frame, opts MatchOptions) Result {
	opts = opts.withDefaults()
	dedupe := opts.Semantics != CPP
	limit := opts.Distance // largest distance that matches
	if opts.Semantics == CPP {
		limit--
	}

	// Reduce each side to its distinct hashes, each with the number of counted
	// frames that hold it: whether a frame matches depends only on its hash.
	q := prepareSide(query, opts.QualityFloor, dedupe)
	c := prepareSide(compared, opts.QualityFloor, dedupe)
	r := Result{QueryFrames: q.frames, ComparedFrames: c.frames}
	if q.frames == 0 || c.frames == 0 {
		return r
	}

	// Compare every pair of distinct hashes once, skipping pairs whose two hashes
	// are both known to match already.
	qMatched := make([]bool, len(q.hashes))
	cMatched := make([]bool, len(c.hashes))
	for i, qh := range q.hashes {
		for j, ch := range c.hashes {
			if qMatched[i] && cMatched[j] {
				continue
			}
			if qh.distance(ch) <= limit {
				qMatched[i], cMatched[j] = true, true
			}
		}
	}

	// Count matched frames with their multiplicity.
	for i, ok := range qMatched {
		if ok {
			r.QueryMatched += q.counts[i]
		}
	}
	for j, ok := range cMatched {
		if ok {
			r.ComparedMatched += c.counts[j]
		}
	}
	r.QueryPercent = float64(r.QueryMatched) * 100 / float64(r.QueryFrames)
	r.ComparedPercent = float64(r.ComparedMatched) * 100 / float64(r.ComparedFrames)
	return r
}

// matchSide is one video reduced for Compare.
type matchSide struct {
	hashes []bits256 // distinct hashes of counted frames, in order of first appearance
	counts []int     // counted frames holding each hash
	frames int       // counted frames
}

// prepareSide keeps the frames of at least quality floor, after de-duplicating
// identical hashes first when dedupe is set, and groups them by hash.
func prepareSide(frames []Frame, floor int, dedupe bool) matchSide {
	var s matchSide
	index := make(map[dnadb.Hash256]int)
	var seen map[dnadb.Hash256]bool
	if dedupe {
		seen = make(map[dnadb.Hash256]bool)
	}
	for _, f := range frames {
		if dedupe {
			if seen[f.Hash] {
				continue
			}
			seen[f.Hash] = true
		}
		if f.Quality < floor {
			continue
		}
		s.frames++
		if i, ok := index[f.Hash]; ok {
			s.counts[i]++
			continue
		}
		index[f.Hash] = len(s.hashes)
		s.hashes = append(s.hashes, pack256(f.Hash))
		s.counts = append(s.counts, 1)
	}
	return s
}

// bits256 is a Hash256 as four words, for fast distances.
type bits256 [4]uint64

// pack256 converts h to words.
func pack256(h dnadb.Hash256) bits256 {
	return bits256{
		binary.BigEndian.Uint64(h[0:8]),
		binary.BigEndian.Uint64(h[8:16]),
		binary.BigEndian.Uint64(h[16:24]),
		binary.BigEndian.Uint64(h[24:32]),
	}
}

// distance returns the Hamming distance between a and b.
func (a bits256) distance(b bits256) int {
	return bits.OnesCount64(a[0]^b[0]) + bits.OnesCount64(a[1]^b[1]) +
		bits.OnesCount64(a[2]^b[2]) + bits.OnesCount64(a[3]^b[3])
}
