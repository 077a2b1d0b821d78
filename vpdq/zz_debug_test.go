package vpdq

import "testing"

func init() {
	debugSegments = func(t *testing.T, query, compared []Frame) {
		q := timeline(query, 50)
		c := timeline(compared, 50)
		s := &segmenter{q: q, c: c}
		s.resolve(SegmentOptions{}, max(samplingPeriod(query), samplingPeriod(compared)))
		s.findMatches()
		s.width = s.tol / 2
		s.bins = make(map[int64]float64)
		s.tried = make(map[int64]bool)
		for i := range s.q {
			s.vote(i, 1)
		}
		t.Logf("tol=%g gap=%g", s.tol, s.maxGap)
		for s.free > 0 {
			bin, score := s.best()
			if score < minSupport {
				break
			}
			var got []run
			o, ok := s.refine((float64(bin) + 0.5) * s.width)
			if ok {
				got = s.runs(o)
			}
			t.Logf("bin %.3f score %.2f refined %.3f runs=%d", float64(bin)*s.width, score, o, len(got))
			for _, r := range got {
				t.Logf("   %v frames=%d support=%.2f offset=%.3f", spanOf(r.Segment), r.Frames, r.support, r.offset)
			}
			if len(got) == 0 {
				s.tried[bin] = true
			}
		}
	}
}
