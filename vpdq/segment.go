package vpdq

import (
	"cmp"
	"math"
	"slices"
	"sort"
)

// Defaults of SegmentOptions. The reference has no segment search; these values are
// ours.
const (
	// DefaultMaxGap is the longest stretch of query time, in seconds, without a
	// matched frame that a segment bridges. The effective default is at least three
	// sampling periods of the more sparsely sampled video.
	DefaultMaxGap = 2.0
	// DefaultMinDuration is the shortest segment reported, in seconds of query
	// time.
	DefaultMinDuration = 1.0
	// DefaultMinFrames is the fewest matched query frames a segment may have.
	DefaultMinFrames = 3
	// DefaultOffsetTolerance is how far, in seconds, a frame pair's time offset may
	// lie from a segment's offset. The effective default is at least 0.6 sampling
	// periods of the more sparsely sampled video, because a frame of the densely
	// sampled side matches the nearest sample of the other, up to half a period
	// away.
	DefaultOffsetTolerance = 0.3
)

// ambiguousDensity is the vote per aligned frame, at a run's offset, below which
// the run is taken to be made of frames that match over a long stretch of the
// compared video (a scene static in both), so that its offset is a guess.
const ambiguousDensity = 0.5

// minSupport is the least total offset-specific evidence, in frames, of a run.
const minSupport = 1.0

// minFill is the least share of the query frames within a run's span that match
// anywhere which the run must align. Sparse runs are frames stolen from a segment
// at a nearby offset.
const minFill = 0.5

// peakShare is the share of its peak vote (see segmenter.peak) that a query frame
// must give an offset to be aligned at it. A frame that matches much better at
// another offset belongs to another segment, though nearby frames of that segment
// still match it within the tolerance.
const peakShare = 0.5

// SegmentOptions configures Segments. Every zero field means its default.
type SegmentOptions struct {
	// Distance is the Hamming distance within which two frames match (<=, as in
	// python-threatexchange); zero means DefaultDistance.
	Distance int
	// QualityFloor drops frames whose quality is below it; zero means
	// DefaultQualityFloor. A negative value keeps every frame.
	QualityFloor int
	// MaxGap is the longest gap, in seconds of query time, between two matched
	// frames of one segment. Zero or negative means the larger of DefaultMaxGap and
	// three sampling periods of the more sparsely sampled video.
	MaxGap float64
	// MinDuration is the shortest segment, in seconds of query time, from its first
	// matched frame to its last. Zero means DefaultMinDuration; a negative value
	// means no minimum.
	MinDuration float64
	// MinFrames is the fewest matched query frames of a segment. Zero means
	// DefaultMinFrames; a negative value means one.
	MinFrames int
	// OffsetTolerance is how far, in seconds, the offset of a frame pair may be
	// from its segment's offset. Zero or negative means the larger of
	// DefaultOffsetTolerance and 0.6 sampling periods of the more sparsely sampled
	// video.
	OffsetTolerance float64
}

// Segment is a stretch of the query that matches a stretch of the compared video.
// Times are the frames' timestamps in seconds: a segment runs from the timestamp of
// its first matched frame to that of its last, so it does not include the duration
// of the last frame.
type Segment struct {
	QueryStart, QueryEnd       float64
	ComparedStart, ComparedEnd float64
	// Frames is the number of matched query frames.
	Frames int
	// MeanDistance is the mean Hamming distance between each matched query frame
	// and the compared frame it was aligned with.
	MeanDistance float64
}

// Segments locates where two videos match, as time ranges in both, which the
// reference's bag-of-frames matching cannot do. It finds, for example, that query
// 12.0–41.0 s matches the compared video at 3.0–32.0 s, and it finds one segment per
// piece when the query is a compilation. It relies only on timestamps, so the two
// videos may be sampled differently: every frame against one hash per second, or at
// different frame rates.
//
// Matching frames of a shared segment lie on a line tc = tq + offset. Segments:
//
//  1. Drops frames below the quality floor, and sorts each video by timestamp.
//  2. Finds every pair of a query frame and a compared frame within Distance.
//  3. Votes on offsets tc − tq in bins of half the offset tolerance. Each query
//     frame has one vote, split between its matches in proportion to the square
//     of how far within Distance each lies, so that the frame it was taken from
//     outweighs its neighbours, and so that a frame of a static scene, which
//     matches many compared frames alike, counts little at any one offset.
//  4. Repeatedly takes the offset bin with the most votes summed over about ± the
//     tolerance, while that is at least one frame's worth. It refines the offset
//     to the vote-weighted median, over the query frames, of the offset of each
//     frame's closest match near the bin. It then walks the query frames in time
//     order, keeping those with a match within the tolerance of the offset and at
//     least half of the vote they give their best offset (a frame that matches
//     much better elsewhere belongs to another segment); each is aligned with its
//     closest such match. Kept frames form a run while the gaps between them are
//     at most MaxGap; a run ends at a frame already in a segment. A run becomes
//     a segment if it spans MinDuration, has MinFrames frames, aligns at least
//     half of the frames in its span that match anywhere, and holds at least one
//     frame's worth of votes. Its frames are then claimed, so that no other
//     offset can reuse them, and their votes withdrawn. A bin that yields no
//     segment is not taken again.
//  5. Runs step 4 twice: first refusing runs of static frames (those whose votes
//     at the offset average under half a frame's worth), then, once every clear
//     run has claimed its frames, accepting them. A static scene thus joins the
//     moving scenes around it instead of making segments at the many offsets at
//     which it fits.
//  6. Merges segments adjacent in both videos (gaps of at most MaxGap) whose
//     offsets differ by at most twice the tolerance (slow drift) or either of
//     which is made of static frames.
//
// The result is sorted by QueryStart, and is empty when either video has no frame
// left after step 1 or nothing matches. Segment bounds are accurate to about the
// tolerance, plus a sampling period where a video has one hash per second. Step 2
// costs the product of the numbers of distinct hashes of the two videos; the
// registry narrows candidates with its own index first.
//
// BUG(segments): a scene that is static in both videos and not joined to moving
// scenes fits at many offsets; Segments reports it once, at an offset it picks
// among them. A query that repeats a piece of the compared video gets one segment
// per repetition, but a compared video that holds the query's piece twice is
// located at one copy only.
func Segments(query, compared []Frame, opts SegmentOptions) []Segment {
	// Keep the frames that can match, in time order.
	floor := opts.QualityFloor
	if floor == 0 {
		floor = DefaultQualityFloor
	}
	q := timeline(query, floor)
	c := timeline(compared, floor)
	if len(q) == 0 || len(c) == 0 {
		return nil
	}

	// Resolve the defaults that depend on how the videos were sampled.
	s := &segmenter{q: q, c: c}
	s.resolve(opts, max(samplingPeriod(query), samplingPeriod(compared)))

	// Find the matching pairs and vote on their offsets.
	s.findMatches()
	s.width = s.tol / 2
	s.bins = make(map[int64]float64)
	s.tried = make(map[int64]bool)
	for i := range s.q {
		s.vote(i, 1)
	}

	// Grow runs along the strongest offset left, until no offset has a frame's
	// worth of votes. Claimed frames withdraw their votes; a bin whose offset
	// yields no segment is not tried again. The first pass accepts only runs whose
	// frames vote clearly for their offset; the second also accepts runs of static
	// frames, which fit many offsets, once every clear run has claimed its frames.
	var found []run
	for _, strict := range []bool{true, false} {
		s.strict = strict
		clear(s.tried)
		for s.free > 0 {
			bin, score := s.best()
			if score < minSupport {
				break
			}
			var got []run
			if o, ok := s.refine((float64(bin) + 0.5) * s.width); ok {
				got = s.runs(o)
			}
			if len(got) == 0 {
				s.tried[bin] = true
			}
			found = append(found, got...)
		}
	}

	// Join pieces of one segment that the greedy pass split.
	return s.merge(found)
}

// timed is a frame reduced for Segments.
type timed struct {
	t float64
	h bits256
}

// timeline keeps the frames of at least quality floor with a finite timestamp,
// sorted by timestamp.
func timeline(frames []Frame, floor int) []timed {
	out := make([]timed, 0, len(frames))
	for _, f := range frames {
		if f.Quality < floor || math.IsNaN(f.Timestamp) || math.IsInf(f.Timestamp, 0) {
			continue
		}
		out = append(out, timed{f.Timestamp, pack256(f.Hash)})
	}
	slices.SortStableFunc(out, func(a, b timed) int { return cmp.Compare(a.t, b.t) })
	return out
}

// samplingPeriod returns the median positive step between consecutive timestamps of
// frames, or 0 if there is none.
func samplingPeriod(frames []Frame) float64 {
	ts := make([]float64, 0, len(frames))
	for _, f := range frames {
		if !math.IsNaN(f.Timestamp) && !math.IsInf(f.Timestamp, 0) {
			ts = append(ts, f.Timestamp)
		}
	}
	slices.Sort(ts)
	var steps []float64
	for i := 1; i < len(ts); i++ {
		if d := ts[i] - ts[i-1]; d > 0 {
			steps = append(steps, d)
		}
	}
	if len(steps) == 0 {
		return 0
	}
	slices.Sort(steps)
	return steps[len(steps)/2]
}

// pair is a compared frame that matches a query frame.
type pair struct {
	c    int32 // index into segmenter.c
	dist int32
}

// segmenter holds the state of one Segments call.
type segmenter struct {
	q, c []timed

	// Effective options.
	distance                 int
	tol, maxGap, minDuration float64
	minFrames                int

	// matches[i] lists the compared frames that match query frame i, in time order.
	// Query frames with the same hash share one slice.
	matches [][]pair
	// norm[i] scales the closeness of query frame i's matches so that they sum to
	// one vote.
	norm []float64
	// peak[i] is query frame i's vote within the tolerance of its closest match:
	// the most that any one offset can expect of it, unless it is static.
	peak []float64

	// Offset votes of the unclaimed query frames, in bins of width.
	width float64
	bins  map[int64]float64
	tried map[int64]bool // bins that yielded no segment

	strict  bool   // whether runs of static frames are refused
	claimed []bool // query frames already in a segment
	free    int    // unclaimed query frames with matches
}

// resolve sets the effective options from opts, given the sampling period of the
// more sparsely sampled video.
func (s *segmenter) resolve(opts SegmentOptions, period float64) {
	s.distance = opts.Distance
	if s.distance == 0 {
		s.distance = DefaultDistance
	}
	s.tol = opts.OffsetTolerance
	if s.tol <= 0 {
		s.tol = max(DefaultOffsetTolerance, 0.6*period)
	}
	s.maxGap = opts.MaxGap
	if s.maxGap <= 0 {
		s.maxGap = max(DefaultMaxGap, 3*period)
	}
	s.minDuration = opts.MinDuration
	switch {
	case s.minDuration == 0:
		s.minDuration = DefaultMinDuration
	case s.minDuration < 0:
		s.minDuration = 0
	}
	s.minFrames = opts.MinFrames
	switch {
	case s.minFrames == 0:
		s.minFrames = DefaultMinFrames
	case s.minFrames < 0:
		s.minFrames = 1
	}
}

// findMatches fills matches and norm, comparing each distinct query hash with each
// distinct compared hash once.
func (s *segmenter) findMatches() {
	// Group the compared frames by hash.
	var hashes []bits256
	var members [][]int32
	index := make(map[bits256]int)
	for j, f := range s.c {
		k, ok := index[f.h]
		if !ok {
			k = len(hashes)
			index[f.h] = k
			hashes = append(hashes, f.h)
			members = append(members, nil)
		}
		members[k] = append(members[k], int32(j))
	}

	// Match each distinct query hash; frames sharing a hash share the list.
	s.matches = make([][]pair, len(s.q))
	s.norm = make([]float64, len(s.q))
	s.peak = make([]float64, len(s.q))
	s.claimed = make([]bool, len(s.q))
	lists := make(map[bits256][]pair)
	for i, f := range s.q {
		list, ok := lists[f.h]
		if !ok {
			for k, h := range hashes {
				if d := f.h.distance(h); d <= s.distance {
					for _, j := range members[k] {
						list = append(list, pair{j, int32(d)})
					}
				}
			}
			slices.SortFunc(list, func(a, b pair) int { return cmp.Compare(a.c, b.c) })
			lists[f.h] = list
		}
		s.matches[i] = list
		if len(list) == 0 {
			continue
		}
		var sum float64
		for _, p := range list {
			sum += s.closeness(p)
		}
		s.norm[i] = 1 / sum
		s.free++

		// Measure the frame's vote around its closest match (the first, on a tie).
		closest := list[0]
		for _, p := range list {
			if p.dist < closest.dist {
				closest = p
			}
		}
		s.peak[i] = s.votesIn(i, s.window(i, s.c[closest.c].t-f.t))
	}
}

// closeness is the unnormalised vote of a matching pair: the square of how far
// within the distance it lies, so that the frame a query frame was taken from
// outweighs its neighbours, which also match but less closely.
func (s *segmenter) closeness(p pair) float64 {
	x := float64(s.distance+1-int(p.dist)) / float64(s.distance+1)
	return x * x
}

// weight is query frame i's vote for pair p.
func (s *segmenter) weight(i int, p pair) float64 { return s.closeness(p) * s.norm[i] }

// vote adds (sign 1) or removes (sign -1) query frame i's votes.
func (s *segmenter) vote(i int, sign float64) {
	for _, p := range s.matches[i] {
		s.bins[int64(math.Floor((s.c[p.c].t-s.q[i].t)/s.width))] += sign * s.weight(i, p)
	}
}

// score sums the votes within two bins of bin k, about ± the tolerance.
func (s *segmenter) score(k int64) float64 {
	var sum float64
	for d := int64(-2); d <= 2; d++ {
		sum += s.bins[k+d]
	}
	return sum
}

// best returns the untried bin with the highest score (the lowest such bin on a
// tie) and its score, or a score of 0 if there is none.
func (s *segmenter) best() (int64, float64) {
	var bin int64
	top := 0.0
	for k := range s.bins {
		if s.tried[k] {
			continue
		}
		if v := s.score(k); v > top || v == top && top > 0 && k < bin {
			bin, top = k, v
		}
	}
	return bin, top
}

// window returns the span of matches of query frame i whose offset lies within the
// tolerance of o.
func (s *segmenter) window(i int, o float64) []pair {
	ms := s.matches[i]
	lo, hi := s.q[i].t+o-s.tol, s.q[i].t+o+s.tol
	a := sort.Search(len(ms), func(k int) bool { return s.c[ms[k].c].t >= lo })
	b := a
	for b < len(ms) && s.c[ms[b].c].t <= hi {
		b++
	}
	return ms[a:b]
}

// refine returns a better offset near center: the median, over unclaimed query
// frames with matches within the tolerance of center, of the offset of each one's
// closest such match, weighted by the frame's votes there. It returns false if no
// frame has such a match. Taking one offset per frame, rather than every pair's,
// keeps the estimate sharp when two segments lie at nearby offsets.
func (s *segmenter) refine(center float64) (float64, bool) {
	type vote struct{ offset, weight float64 }
	var votes []vote
	var total float64
	for i := range s.q {
		if s.claimed[i] {
			continue
		}
		win := s.window(i, center)
		if len(win) == 0 {
			continue
		}
		_, offset, w := s.closestIn(i, win, center)
		if w < peakShare*s.peak[i] {
			continue
		}
		votes = append(votes, vote{offset, w})
		total += w
	}
	if len(votes) == 0 {
		return 0, false
	}
	slices.SortFunc(votes, func(a, b vote) int { return cmp.Compare(a.offset, b.offset) })
	var sum float64
	for _, v := range votes {
		sum += v.weight
		if sum >= total/2 {
			return v.offset, true
		}
	}
	return votes[len(votes)-1].offset, true
}

// votesIn returns query frame i's total vote for the pairs in win.
func (s *segmenter) votesIn(i int, win []pair) float64 {
	var sum float64
	for _, p := range win {
		sum += s.weight(i, p)
	}
	return sum
}

// closestIn returns the closest match of query frame i among win, breaking ties
// by nearness to offset o, with its offset and the frame's total vote in win.
func (s *segmenter) closestIn(i int, win []pair, o float64) (best pair, offset, votes float64) {
	best = win[0]
	offset = s.c[best.c].t - s.q[i].t
	for _, p := range win {
		votes += s.weight(i, p)
		off := s.c[p.c].t - s.q[i].t
		if p.dist < best.dist || p.dist == best.dist && math.Abs(off-o) < math.Abs(offset-o) {
			best, offset = p, off
		}
	}
	return best, offset, votes
}

// run is a segment being built, with what merging needs to know.
type run struct {
	Segment
	offset  float64
	support float64 // the run's frames' votes within the tolerance of offset
	dsum    int     // sum of distances of the aligned pairs
	first   int     // index of the first matched query frame
	last    int     // index of the last matched query frame
}

// ambiguous reports whether the run is made of frames that match over a long
// stretch of the compared video, so that its offset is a guess.
func (r *run) ambiguous() bool { return r.support < ambiguousDensity*float64(r.Frames) }

// runs walks the unclaimed query frames along offset o, returns the runs that
// qualify as segments, and claims their frames.
func (s *segmenter) runs(o float64) []run {
	var out []run
	var cur *run
	flush := func() {
		if cur == nil {
			return
		}
		r := cur
		cur = nil
		if r.Frames < s.minFrames || r.QueryEnd-r.QueryStart < s.minDuration-1e-9 ||
			r.support < minSupport {
			return
		}
		matching := 0 // frames of the span that match anywhere
		for i := r.first; i <= r.last; i++ {
			if len(s.matches[i]) > 0 {
				matching++
			}
		}
		if float64(r.Frames) < minFill*float64(matching) || s.strict && r.ambiguous() {
			return
		}
		for i := r.first; i <= r.last; i++ {
			if !s.claimed[i] && len(s.matches[i]) > 0 {
				s.vote(i, -1)
				s.free--
			}
			s.claimed[i] = true
		}
		r.MeanDistance = float64(r.dsum) / float64(r.Frames)
		out = append(out, *r)
	}

	for i, f := range s.q {
		if s.claimed[i] {
			flush()
			continue
		}
		win := s.window(i, o)
		if len(win) == 0 {
			continue
		}

		// Align the frame with its closest match near the offset, unless the frame
		// matches far more closely elsewhere: then it belongs to another offset.
		best, _, votes := s.closestIn(i, win, o)
		if votes < peakShare*s.peak[i] {
			continue
		}
		tc := s.c[best.c].t

		// Extend the current run, or start one after a long gap.
		if cur != nil && f.t-cur.QueryEnd > s.maxGap {
			flush()
		}
		if cur == nil {
			cur = &run{offset: o, first: i}
			cur.QueryStart, cur.ComparedStart, cur.ComparedEnd = f.t, tc, tc
		}
		cur.last = i
		cur.QueryEnd = f.t
		cur.ComparedStart = min(cur.ComparedStart, tc)
		cur.ComparedEnd = max(cur.ComparedEnd, tc)
		cur.Frames++
		cur.dsum += int(best.dist)
		cur.support += votes
	}
	flush()
	return out
}

// merge joins runs adjacent in both videos whose offsets are close or ambiguous,
// and returns the segments sorted by query start.
func (s *segmenter) merge(runs []run) []Segment {
	slices.SortFunc(runs, func(a, b run) int {
		if c := cmp.Compare(a.QueryStart, b.QueryStart); c != 0 {
			return c
		}
		return cmp.Compare(a.ComparedStart, b.ComparedStart)
	})

	var merged []run
	for _, r := range runs {
		if n := len(merged); n > 0 {
			last := &merged[n-1]
			queryGap := r.QueryStart - last.QueryEnd
			comparedGap := max(r.ComparedStart-last.ComparedEnd, last.ComparedStart-r.ComparedEnd)
			near := math.Abs(r.offset-last.offset) <= 2*s.tol
			if queryGap <= s.maxGap && comparedGap <= s.maxGap &&
				(near || last.ambiguous() || r.ambiguous()) {
				if r.support > last.support {
					last.offset = r.offset
				}
				last.QueryEnd = max(last.QueryEnd, r.QueryEnd)
				last.ComparedStart = min(last.ComparedStart, r.ComparedStart)
				last.ComparedEnd = max(last.ComparedEnd, r.ComparedEnd)
				last.Frames += r.Frames
				last.dsum += r.dsum
				last.support += r.support
				continue
			}
		}
		merged = append(merged, r)
	}

	out := make([]Segment, len(merged))
	for i, r := range merged {
		r.MeanDistance = float64(r.dsum) / float64(r.Frames)
		out[i] = r.Segment
	}
	return out
}
