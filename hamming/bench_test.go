package hamming

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/dnadb/dnadb"
)

// benchSizes are the index sizes of the benchmarks.
var benchSizes = []int{100_000, 1_000_000}

// benchRadius is the usual PDQ match threshold.
const benchRadius = 31

// benchData holds, per size, uniformly random hashes shared by the benchmarks so
// that each is made once per run.
var benchData = struct {
	sync.Mutex
	hashes  map[int][]dnadb.Hash256
	queries []dnadb.Hash256
}{hashes: map[int][]dnadb.Hash256{}}

// benchHashes returns n random hashes and 1024 queries, half random and half
// within 0 to 30 bits of a stored hash.
func benchHashes(n int) ([]dnadb.Hash256, []dnadb.Hash256) {
	benchData.Lock()
	defer benchData.Unlock()
	if hs, ok := benchData.hashes[n]; ok {
		return hs, benchData.queries
	}

	rng := rand.New(rand.NewPCG(uint64(n), 17))
	hs := make([]dnadb.Hash256, n)
	for i := range hs {
		hs[i] = randomHash(rng)
	}
	qs := make([]dnadb.Hash256, 1024)
	for i := range qs {
		qs[i] = randomHash(rng)
		if i%2 == 1 {
			qs[i] = perturb(rng, hs[rng.IntN(n)], rng.IntN(31))
		}
	}
	benchData.hashes[n] = hs
	benchData.queries = qs
	return hs, qs
}

// benchIndex returns an index of n random hashes searching with s, with its MIH
// tables built.
func benchIndex(b *testing.B, n int, s strategy) (*Index, []dnadb.Hash256) {
	b.Helper()
	hs, qs := benchHashes(n)
	x := New()
	x.strategy = s
	for i, h := range hs {
		x.Add(Entry{Hash: h, ItemID: int64(i)})
	}
	x.Search(qs[0], benchRadius)
	return x, qs
}

// BenchmarkSearch measures Search at radius 31 with the strategy chosen by cost,
// and with the linear scan forced.
func BenchmarkSearch(b *testing.B) {
	for _, n := range benchSizes {
		for _, st := range strategies[:2] {
			b.Run(fmt.Sprintf("n=%d/%s", n, st.name), func(b *testing.B) {
				x, qs := benchIndex(b, n, st.s)
				i := 0
				for b.Loop() {
					x.Search(qs[i%len(qs)], benchRadius)
					i++
				}
			})
		}
	}
}

// BenchmarkSearchRadius compares Search, with the strategy chosen by cost, with the
// linear scan over 100k entries at radii around the point where the scan wins.
func BenchmarkSearchRadius(b *testing.B) {
	for _, d := range []int{0, 8, 24, 31, 36, 40, 44, 48, 64, 128} {
		for _, st := range strategies[:2] {
			b.Run(fmt.Sprintf("d=%d/%s", d, st.name), func(b *testing.B) {
				x, qs := benchIndex(b, 100_000, st.s)
				i := 0
				for b.Loop() {
					x.Search(qs[i%len(qs)], d)
					i++
				}
			})
		}
	}
}

// BenchmarkLinearScan is the baseline: a plain loop over the hashes calling
// dnadb.Hash256.Distance.
func BenchmarkLinearScan(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			hs, qs := benchHashes(n)
			i := 0
			var hits []int
			for b.Loop() {
				q := qs[i%len(qs)]
				hits = hits[:0]
				for j, h := range hs {
					if q.Distance(h) <= benchRadius {
						hits = append(hits, j)
					}
				}
				i++
			}
		})
	}
}

// BenchmarkSearchMany measures 1024 queries at radius 31, fanned out over the cores.
func BenchmarkSearchMany(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			x, qs := benchIndex(b, n, auto)
			for b.Loop() {
				x.SearchMany(qs, benchRadius)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(qs)),
				"ns/query")
		})
	}
}

// BenchmarkBuild measures adding n entries and building the MIH tables.
func BenchmarkBuild(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			hs, qs := benchHashes(n)
			for b.Loop() {
				x := New()
				for i, h := range hs {
					x.Add(Entry{Hash: h, ItemID: int64(i)})
				}
				x.Search(qs[0], benchRadius)
			}
		})
	}
}
