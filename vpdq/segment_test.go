package vpdq

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dnadb/dnadb"
)

// timeSpan is an expected segment: query and compared time ranges in seconds.
type timeSpan struct{ qs, qe, cs, ce float64 }

func (s timeSpan) String() string {
	return fmt.Sprintf("q %.3f–%.3f c %.3f–%.3f", s.qs, s.qe, s.cs, s.ce)
}

// spanOf returns the time ranges of s.
func spanOf(s Segment) timeSpan {
	return timeSpan{s.QueryStart, s.QueryEnd, s.ComparedStart, s.ComparedEnd}
}

// checkSpans fails unless got holds one segment per wanted span, in order, with
// every bound within tol seconds.
func checkSpans(tb testing.TB, got []Segment, want []timeSpan, tol float64) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Errorf("Segments() = %v, want %v", spansOf(got), want)
		return
	}
	for i, w := range want {
		g := spanOf(got[i])
		if math.Abs(g.qs-w.qs) > tol || math.Abs(g.qe-w.qe) > tol ||
			math.Abs(g.cs-w.cs) > tol || math.Abs(g.ce-w.ce) > tol {
			tb.Errorf("Segments()[%d] = %v, want %v (±%gs)", i, g, w, tol)
		}
		if got[i].Frames <= 0 || got[i].MeanDistance < 0 || got[i].MeanDistance > DefaultDistance {
			tb.Errorf("Segments()[%d] frames=%d mean_distance=%g, want frames>0 and distance in [0,%d]",
				i, got[i].Frames, got[i].MeanDistance, DefaultDistance)
		}
	}
}

// spansOf returns the time ranges of segs.
func spansOf(segs []Segment) []timeSpan {
	out := make([]timeSpan, len(segs))
	for i, s := range segs {
		out[i] = spanOf(s)
	}
	return out
}

// trimmed returns frames a to b of v (by position), renumbered from 0 and re-timed
// to start at start seconds, keeping their spacing: a trimmed copy.
func trimmed(v []Frame, a, b int, start float64) []Frame {
	out := make([]Frame, 0, b-a+1)
	for i := a; i <= b; i++ {
		f := v[i]
		f.Number = i - a
		f.Timestamp = start + v[i].Timestamp - v[a].Timestamp
		out = append(out, f)
	}
	return out
}

// everyNth returns every nth frame of v, renumbered, keeping timestamps: the same
// video sampled at a lower rate.
func everyNth(v []Frame, n int) []Frame {
	var out []Frame
	for i := 0; i < len(v); i += n {
		f := v[i]
		f.Number = len(out)
		out = append(out, f)
	}
	return out
}

// compile joins videos, re-timing each to start one frame period (period seconds)
// after the previous one ends.
func compile(period float64, parts ...[]Frame) []Frame {
	var out []Frame
	start := 0.0
	for _, p := range parts {
		for _, f := range p {
			f.Number = len(out)
			f.Timestamp = start + f.Timestamp - p[0].Timestamp
			out = append(out, f)
		}
		start = out[len(out)-1].Timestamp + period
	}
	return out
}

// TestSegmentsSampleHashes locates trimmed, re-sampled and re-encoded copies built
// from the corpus's sample hashes.
func TestSegmentsSampleHashes(t *testing.T) {
	pattern := readSampleHashes(t, "pattern-longer-no-bar.txt")
	chair := readSampleHashes(t, "chair-orig-22-sd-bar.txt")
	grey := readSampleHashes(t, "chair-22-sd-grey-bar.txt")
	doorknob := readSampleHashes(t, "doorknob-hd-no-bar.txt")
	const fps = 30.0

	tests := []struct {
		name            string
		query, compared []Frame
		want            []timeSpan
	}{
		{
			name:     "trimmed from the middle",
			query:    trimmed(pattern, 60, 180, 0),
			compared: pattern,
			want:     []timeSpan{{0, 4, 2, 6}},
		},
		{
			name:     "trimmed and delayed",
			query:    trimmed(pattern, 60, 180, 12),
			compared: pattern,
			want:     []timeSpan{{12, 16, 2, 6}},
		},
		{
			name:     "query contains compared",
			query:    pattern,
			compared: trimmed(pattern, 60, 180, 0),
			want:     []timeSpan{{2, 6, 0, 4}},
		},
		{
			name:     "chair trimmed",
			query:    trimmed(chair, 150, 500, 0),
			compared: chair,
			want:     []timeSpan{{0, 350 / fps, 5, 500 / fps}},
		},
		{
			name:     "half frame rate",
			query:    everyNth(trimmed(pattern, 60, 180, 0), 2),
			compared: pattern,
			want:     []timeSpan{{0, 4, 2, 6}},
		},
		{
			name:     "chair half frame rate",
			query:    everyNth(trimmed(chair, 150, 500, 0), 2),
			compared: chair,
			want:     []timeSpan{{0, 350 / fps, 5, 500 / fps}},
		},
		{
			name:     "chair at one hash per second against every frame",
			query:    everyNth(trimmed(chair, 90, 600, 0), 30),
			compared: chair,
			want:     []timeSpan{{0, 17, 3, 20}},
		},
		{
			name:     "chair every frame against one hash per second",
			query:    trimmed(chair, 90, 600, 0),
			compared: everyNth(chair, 30),
			want:     []timeSpan{{0, 17, 3, 20}},
		},
		{
			name:     "re-encoded variant trimmed",
			query:    trimmed(grey, 150, 500, 0),
			compared: chair,
			want:     []timeSpan{{0, 350 / fps, 5, 500 / fps}},
		},
		{name: "unrelated", query: pattern, compared: chair},
		{name: "unrelated reversed", query: chair, compared: pattern},
		{name: "unrelated doorknob", query: doorknob, compared: trimmed(chair, 0, 300, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkSpans(t, Segments(tc.query, tc.compared, SegmentOptions{}), tc.want, 0.5)
		})
	}
}

// TestSegmentsCompilation locates each piece of a query made of pieces of two
// videos, against each video.
func TestSegmentsCompilation(t *testing.T) {
	pattern := readSampleHashes(t, "pattern-longer-no-bar.txt")
	chair := readSampleHashes(t, "chair-orig-22-sd-bar.txt")
	const fps = 30.0
	const p = 1 / fps

	// pattern 1–5 s, then chair 3.333–13.333 s, then pattern 5.5–7.5 s.
	query := compile(p, trimmed(pattern, 30, 150, 0), trimmed(chair, 100, 400, 0), trimmed(pattern, 165, 225, 0))
	chairStart := 4 + p
	lastStart := chairStart + 10 + p

	t.Run("against pattern", func(t *testing.T) {
		checkSpans(t, Segments(query, pattern, SegmentOptions{}), []timeSpan{
			{0, 4, 1, 5},
			{lastStart, lastStart + 2, 5.5, 7.5},
		}, 0.5)
	})
	t.Run("against chair", func(t *testing.T) {
		checkSpans(t, Segments(query, chair, SegmentOptions{}), []timeSpan{
			{chairStart, chairStart + 10, 100 / fps, 400 / fps},
		}, 0.5)
	})
	t.Run("two pieces of chair out of order", func(t *testing.T) {
		q := compile(p, trimmed(chair, 400, 600, 0), trimmed(chair, 30, 250, 0))
		second := 200/fps + p
		checkSpans(t, Segments(q, chair, SegmentOptions{}), []timeSpan{
			{0, 200 / fps, 400 / fps, 600 / fps},
			{second, second + 220/fps, 1, 250 / fps},
		}, 0.5)
	})
	t.Run("compared is a compilation", func(t *testing.T) {
		compared := compile(p, trimmed(chair, 0, 300, 0), trimmed(pattern, 0, 234, 0))
		start := 10 + p
		checkSpans(t, Segments(trimmed(pattern, 60, 180, 0), compared, SegmentOptions{}), []timeSpan{
			{0, 4, start + 2, start + 6},
		}, 0.5)
	})
}

// TestSegmentsEmpty checks that empty or unusable inputs give no segment.
func TestSegmentsEmpty(t *testing.T) {
	v := randomMaster(rand.New(rand.NewPCG(1, 2)), 10)
	low := make([]Frame, len(v))
	for i, f := range v {
		f.Quality = 10
		low[i] = f
	}
	tests := []struct {
		name            string
		query, compared []Frame
	}{
		{"both empty", nil, nil},
		{"empty query", nil, v},
		{"empty compared", v, nil},
		{"low quality query", low, v},
		{"one frame", v[:1], v},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Segments(tc.query, tc.compared, SegmentOptions{}); len(got) != 0 {
				t.Errorf("Segments() = %v, want none", spansOf(got))
			}
		})
	}
	if got := Segments(low, v, SegmentOptions{QualityFloor: -1}); len(got) != 1 {
		t.Errorf("Segments(quality floor -1) = %v, want one segment", spansOf(got))
	}
}

// masterFPS is the frame rate of the synthetic source videos.
const masterFPS = 30.0

// randomMaster returns a synthetic source video of the given length at masterFPS.
// It is made of scenes of 1 to 5 seconds; each scene starts from a random hash and
// flips 2 random bits per frame, so neighbouring frames match and distant ones do
// not, as in real video. One scene in seven is a still of 1 to 2 seconds (one hash
// repeated).
func randomMaster(r *rand.Rand, seconds float64) []Frame {
	n := int(seconds * masterFPS)
	frames := make([]Frame, n)
	var h dnadb.Hash256
	left, flips := 0, 0
	for i := range n {
		if left == 0 {
			for k := range h {
				h[k] = byte(r.UintN(256))
			}
			left, flips = int((1+4*r.Float64())*masterFPS), 2
			if r.IntN(7) == 0 {
				left, flips = int((1+r.Float64())*masterFPS), 0
			}
		} else {
			flipRandomBits(r, &h, flips)
		}
		left--
		frames[i] = Frame{Number: i, Quality: 100, Hash: h, Timestamp: float64(i) / masterFPS}
	}
	return frames
}

// flipRandomBits flips n random bits of h (the same bit may flip twice).
func flipRandomBits(r *rand.Rand, h *dnadb.Hash256, n int) {
	for range n {
		k := r.IntN(256)
		h[31-k/8] ^= 1 << (k % 8)
	}
}

// samplePiece takes a piece of master from source time from, lasting length
// seconds, sampled at fps and re-timed to start at start. With noise, each frame
// gets up to noise flipped bits, like a re-encode, and one in thirty a low
// quality. It returns the frames, the times relative to start of the first and
// last frame of usable quality, and how many there are.
func samplePiece(r *rand.Rand, master []Frame, from, length, fps, start float64, noise int) (
	frames []Frame, first, last float64, usable int) {
	for k := 0; float64(k)/fps <= length+1e-9; k++ {
		dt := float64(k) / fps
		i := int(math.Round((from + dt) * masterFPS))
		if i >= len(master) {
			break
		}
		f := master[i]
		if noise > 0 {
			flipRandomBits(r, &f.Hash, r.IntN(noise+1))
			if r.IntN(30) == 0 {
				f.Quality = 20 // a frame the copy spoilt
			}
		}
		f.Number = len(frames)
		f.Timestamp = start + dt
		frames = append(frames, f)
		if f.Quality >= DefaultQualityFloor {
			if usable == 0 {
				first = dt
			}
			last = dt
			usable++
		}
	}
	return frames, first, last, usable
}

// TestSegmentsRandomCompilations builds compilations of random pieces of two
// synthetic videos at assorted frame rates, and checks that every piece of the
// compared video, and nothing else, is found at the right place.
func TestSegmentsRandomCompilations(t *testing.T) {
	rates := []float64{30, 29.97, 25, 24, 15, 10, 1}
	for trial := range 300 {
		t.Run(fmt.Sprint(trial), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(trial), 94))
			x := randomMaster(r, 90)
			y := randomMaster(r, 60)
			qfps := rates[r.IntN(len(rates))]
			cfps := rates[r.IntN(len(rates))]
			if qfps < 5 && cfps < 5 {
				cfps = 30 // both at one hash per second rarely sample the same instants
			}
			compared, _, _, _ := samplePiece(r, x, 0, 89, cfps, 0, 0)

			// Cut 2 to 5 pieces, from x or y, with disjoint source ranges of x.
			var query []Frame
			var want []timeSpan
			var used [][2]float64
			start := 0.0
			for range 2 + r.IntN(4) {
				length := 3 + 9*r.Float64()
				fromX := r.IntN(3) > 0
				src, maxFrom := y, 60-length-1
				if fromX {
					src, maxFrom = x, 89-length-1
				}
				from := r.Float64() * maxFrom
				for try := 0; fromX && overlapsAny(used, from-3, from+length+3); try++ {
					if try == 100 { // no room left in x
						src, fromX = y, false
						from = r.Float64() * (60 - length - 1)
						break
					}
					from = r.Float64() * maxFrom
				}
				piece, first, last, usable := samplePiece(r, src, from, length, qfps, start, 3)
				query = append(query, piece...)
				if fromX {
					used = append(used, [2]float64{from, from + length})
					// At one hash per second, spoilt frames may leave too little.
					if usable >= DefaultMinFrames && last-first >= DefaultMinDuration {
						want = append(want, timeSpan{start + first, start + last, from + first, from + last})
					}
				}
				start = piece[len(piece)-1].Timestamp + 1/qfps
			}

			got := Segments(query, compared, SegmentOptions{})
			tol := 0.5 + 1/min(qfps, cfps) // a sample may be lost at each end
			checkSpans(t, got, want, tol)
			if t.Failed() {
				t.Logf("query %g fps, compared %g fps", qfps, cfps)
			}
		})
	}
}

// overlapsAny reports whether [a, b) overlaps one of the used ranges.
func overlapsAny(used [][2]float64, a, b float64) bool {
	for _, u := range used {
		if a < u[1] && u[0] < b {
			return true
		}
	}
	return false
}

// TestSegmentsStaticScene checks that runs of identical hashes, which match at many
// offsets, neither blow up nor create spurious segments.
func TestSegmentsStaticScene(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	var h dnadb.Hash256
	for k := range h {
		h[k] = byte(r.UintN(256))
	}
	static := func(n int, start float64) []Frame {
		out := make([]Frame, n)
		for i := range out {
			out[i] = Frame{Number: i, Quality: 100, Hash: h, Timestamp: start + float64(i)/masterFPS}
		}
		return out
	}

	for _, tc := range []struct {
		name            string
		query, compared []Frame
	}{
		{"same length", static(300, 0), static(300, 0)},
		{"query longer", static(300, 0), static(150, 0)},
		{"compared longer", static(300, 0), static(600, 0)},
		{"compared later", static(300, 0), static(300, 40)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Segments(tc.query, tc.compared, SegmentOptions{})
			if len(got) > 1 {
				t.Fatalf("Segments() = %v, want at most one segment", spansOf(got))
			}
			for _, s := range got {
				q, c := tc.query, tc.compared
				if s.QueryStart < q[0].Timestamp || s.QueryEnd > q[len(q)-1].Timestamp ||
					s.ComparedStart < c[0].Timestamp || s.ComparedEnd > c[len(c)-1].Timestamp {
					t.Errorf("Segments() = %v, outside the videos", spansOf(got))
				}
			}
		})
	}

	t.Run("inside moving scenes", func(t *testing.T) {
		// A 10 s still between moving scenes, in a copy trimmed by 2 s at each end.
		master := randomMaster(r, 30)
		for i := 10 * int(masterFPS); i < 20*int(masterFPS); i++ {
			master[i].Hash = h
		}
		query, _, last, _ := samplePiece(r, master, 2, 26, masterFPS, 0, 0)
		checkSpans(t, Segments(query, master, SegmentOptions{}), []timeSpan{{0, last, 2, 2 + last}}, 0.5)
	})

	t.Run("long still is fast", func(t *testing.T) {
		begin := time.Now()
		got := Segments(static(1500, 0), static(1500, 0), SegmentOptions{})
		if len(got) > 1 {
			t.Errorf("Segments() = %v, want at most one segment", spansOf(got))
		}
		if d := time.Since(begin); d > 5*time.Second {
			t.Errorf("Segments() of a 50 s still took %v, want under 5s", d)
		}
	})
}

// BenchmarkSegments locates a trimmed re-encoded chair clip.
func BenchmarkSegments(b *testing.B) {
	q := trimmed(readSampleHashes(b, "chair-22-sd-grey-bar.txt"), 150, 500, 0)
	c := readSampleHashes(b, "chair-orig-22-sd-bar.txt")
	for b.Loop() {
		Segments(q, c, SegmentOptions{})
	}
}
