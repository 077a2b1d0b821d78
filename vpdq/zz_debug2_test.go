package vpdq

import "testing"

func dumpAround(t *testing.T, query, compared []Frame, qFrom, qTo float64) {
	for _, c := range compared {
		if c.Timestamp > 25 && c.Timestamp < 60 {
			t.Logf("c %.3f q=%d", c.Timestamp, c.Quality)
		}
	}
	for _, q := range query {
		if q.Timestamp < qFrom || q.Timestamp > qTo {
			continue
		}
		best, bt := 999, 0.0
		for _, c := range compared {
			if d := q.Hash.Distance(c.Hash); d < best {
				best, bt = d, c.Timestamp
			}
		}
		t.Logf("q %.3f qual=%d best %d at %.3f", q.Timestamp, q.Quality, best, bt)
	}
}
