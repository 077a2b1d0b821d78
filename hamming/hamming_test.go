package hamming

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/internal/corpus"
)

// radii are the search radii every comparison with brute force covers.
var radii = []int{0, 1, 8, 31, 32, 64, 128, 256}

// strategies are the ways an index can search; every test body runs under each.
var strategies = []struct {
	name string
	s    strategy
}{
	{"auto", auto},
	{"linear", linearOnly},
	{"mih", mihOnly},
}

// model is the reference: a plain set of entries searched by comparing the query
// with each one through dnadb.Hash256.Distance.
type model map[Entry]bool

// all returns every entry as a hit for q, sorted as Index.Search sorts them. The hits
// within d are a prefix of it, since the order starts with the distance.
func (m model) all(q dnadb.Hash256) []Hit {
	hits := make([]Hit, 0, len(m))
	for e := range m {
		hits = append(hits, Hit{Entry: e, Distance: q.Distance(e.Hash)})
	}
	sortHits(hits)
	return hits
}

// newIndex returns an index that searches with s, holding entries.
func newIndex(s strategy, entries []Entry) *Index {
	x := New()
	x.strategy = s
	for _, e := range entries {
		x.Add(e)
	}
	return x
}

// randomHash returns a uniformly random hash.
func randomHash(rng *rand.Rand) dnadb.Hash256 {
	var h dnadb.Hash256
	for i := range h {
		h[i] = byte(rng.Uint32())
	}
	return h
}

// perturb returns h with n distinct random bits flipped.
func perturb(rng *rand.Rand, h dnadb.Hash256, n int) dnadb.Hash256 {
	for _, k := range rng.Perm(256)[:n] {
		h[31-k/8] ^= 1 << (k % 8)
	}
	return h
}

// checkSearches compares x with m for every query and radius.
func checkSearches(t *testing.T, x *Index, m model, queries []dnadb.Hash256, radii []int) {
	t.Helper()
	for i, q := range queries {
		all := m.all(q)
		for _, d := range radii {
			n, _ := slices.BinarySearchFunc(all, d+1, func(h Hit, d int) int {
				return h.Distance - d
			})
			got, want := x.Search(q, d), all[:n]
			if slices.Equal(got, want) {
				continue // cmp.Diff is slow on thousands of hits
			}
			diff := cmp.Diff(want, got, cmpopts.EquateEmpty())
			t.Fatalf("Search(query %d %v, %d): %d hits, want %d (-want +got):\n%s",
				i, q, d, len(got), len(want), diff)
		}
	}
}

// randomData returns n uniformly random entries, about one item in five holding two
// hashes, and queries of which half are random and half lie near an entry.
func randomData(rng *rand.Rand, n, nq int) ([]Entry, []dnadb.Hash256) {
	entries := make([]Entry, n)
	for i := range entries {
		entries[i] = Entry{Hash: randomHash(rng), ItemID: int64(rng.IntN(n * 4 / 5))}
	}
	queries := make([]dnadb.Hash256, nq)
	for i := range queries {
		if i%2 == 0 {
			queries[i] = randomHash(rng)
		} else {
			queries[i] = perturb(rng, entries[rng.IntN(n)].Hash, rng.IntN(40))
		}
	}
	return entries, queries
}

// clusteredData returns centres*copies entries, each a centre with 0 to 40 bits
// flipped, and nq queries made the same way from the same centres.
func clusteredData(rng *rand.Rand, centres, copies, nq int) ([]Entry, []dnadb.Hash256) {
	cs := make([]dnadb.Hash256, centres)
	for i := range cs {
		cs[i] = randomHash(rng)
	}
	var entries []Entry
	for i, c := range cs {
		for j := range copies {
			h := perturb(rng, c, rng.IntN(41))
			entries = append(entries, Entry{Hash: h, ItemID: int64(i*copies + j)})
		}
	}
	queries := make([]dnadb.Hash256, nq)
	for i := range queries {
		queries[i] = perturb(rng, cs[rng.IntN(centres)], rng.IntN(41))
	}
	return entries, queries
}

func TestSearchMatchesBruteForce(t *testing.T) {
	type dataset struct {
		name    string
		entries []Entry
		queries []dnadb.Hash256
	}
	nq := 200
	if raceEnabled {
		nq = 30
	}
	rng := rand.New(rand.NewPCG(1, 2))
	random := dataset{name: "random"}
	random.entries, random.queries = randomData(rng, 10000, nq)
	clustered := dataset{name: "clustered"}
	clustered.entries, clustered.queries = clusteredData(rng, 100, 50, nq)

	for _, data := range []dataset{random, clustered} {
		m := model{}
		for _, e := range data.entries {
			m[e] = true
		}

		for _, st := range strategies {
			t.Run(data.name+"/"+st.name, func(t *testing.T) {
				t.Parallel()
				x := newIndex(st.s, data.entries)
				if got, want := x.Len(), len(m); got != want {
					t.Fatalf("Len() = %d, want %d", got, want)
				}
				checkSearches(t, x, m, data.queries, radii)
			})
		}
	}
}

// TestAutoUsesIndex checks that the cost model picks the tables where they pay off,
// so that the comparisons with brute force under "auto" exercise them.
func TestAutoUsesIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	entries, queries := randomData(rng, 10000, 10)
	x := newIndex(auto, entries)
	x.Search(queries[0], 31)
	if x.mih == nil {
		t.Fatalf("after Search(q, 31) among %d entries, no MIH tables", len(entries))
	}

	for _, tt := range []struct {
		d    int
		want bool
	}{
		{0, true},
		{8, true},
		{31, true},
		{64, false},
		{128, false},
	} {
		p := x.mih.plan(toWords(queries[0]), tt.d)
		if got := p.cheaperThanScan(x.mih.n); got != tt.want {
			t.Errorf("plan(q, %d).cheaperThanScan(%d) = %v, want %v (plan %+v)",
				tt.d, x.mih.n, got, tt.want, p)
		}
	}
}

// TestPlanPigeonhole checks the condition that makes a plan exact, for every radius.
func TestPlanPigeonhole(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	entries, queries := clusteredData(rng, 10, 20, 1)
	x := newIndex(mihOnly, entries)
	x.Search(queries[0], 0)

	for d := range MaxDistance {
		p := x.mih.plan(toWords(queries[0]), d)
		units := 0
		for _, r := range p.radius {
			if r < -1 || r >= subBits {
				t.Fatalf("plan(q, %d): radius %d out of range (plan %+v)", d, r, p)
			}
			units += r + 1
		}
		if units < d+1 {
			t.Errorf("plan(q, %d): radii+1 add up to %d, want at least %d", d, units, d+1)
		}
		if got, want := p.probes, probesFor(d); got != want {
			t.Errorf("plan(q, %d).probes = %d, want %d", d, got, want)
		}
	}
}

func TestSearchRadiusBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	entries, _ := randomData(rng, 100, 0)
	q := entries[0].Hash
	for _, st := range strategies {
		x := newIndex(st.s, entries)
		for _, tt := range []struct {
			d    int
			want int
		}{
			{-1, 0},
			{-100, 0},
			{0, 1},
			{256, len(entries)},
			{1000, len(entries)},
		} {
			if got := len(x.Search(q, tt.d)); got != tt.want {
				t.Errorf("%s: len(Search(q, %d)) = %d, want %d", st.name, tt.d, got, tt.want)
			}
		}
	}
}

func TestEmptyIndex(t *testing.T) {
	for _, st := range strategies {
		x := newIndex(st.s, nil)
		if got := x.Search(dnadb.Hash256{}, 256); len(got) != 0 {
			t.Errorf("%s: Search on empty index = %v, want none", st.name, got)
		}
		if got := x.RemoveItem(1); got != 0 {
			t.Errorf("%s: RemoveItem(1) on empty index = %d, want 0", st.name, got)
		}
		if got := x.Len(); got != 0 {
			t.Errorf("%s: Len() = %d, want 0", st.name, got)
		}
	}
}

func TestAddDuplicate(t *testing.T) {
	h1, h2 := dnadb.Hash256{1}, dnadb.Hash256{2}
	for _, st := range strategies {
		x := newIndex(st.s, []Entry{
			{h1, 10}, {h1, 10}, {h2, 10}, {h1, 11}, {h2, 10}, {h1, 10},
		})
		if got, want := x.Len(), 3; got != want {
			t.Errorf("%s: Len() = %d, want %d", st.name, got, want)
		}
		want := []Hit{{Entry{h1, 10}, 0}, {Entry{h1, 11}, 0}, {Entry{h2, 10}, 2}}
		if diff := cmp.Diff(want, x.Search(h1, 2)); diff != "" {
			t.Errorf("%s: Search(h1, 2) (-want +got):\n%s", st.name, diff)
		}

		// A removed entry can be added again.
		if got, want := x.RemoveItem(10), 2; got != want {
			t.Errorf("%s: RemoveItem(10) = %d, want %d", st.name, got, want)
		}
		x.Add(Entry{h2, 10})
		want = []Hit{{Entry{h1, 11}, 0}, {Entry{h2, 10}, 2}}
		if diff := cmp.Diff(want, x.Search(h1, 2)); diff != "" {
			t.Errorf("%s: Search(h1, 2) after re-add (-want +got):\n%s", st.name, diff)
		}
	}
}

func TestRemoveItem(t *testing.T) {
	h := dnadb.Hash256{0xff}
	for _, st := range strategies {
		x := newIndex(st.s, []Entry{{h, 1}, {h, 2}, {dnadb.Hash256{0xfe}, 2}, {h, 3}})
		for _, tt := range []struct {
			item int64
			want int
			len  int
		}{
			{99, 0, 4}, // unknown item
			{2, 2, 2},
			{2, 0, 2}, // already removed
			{1, 1, 1},
			{-5, 0, 1},
			{3, 1, 0},
		} {
			if got := x.RemoveItem(tt.item); got != tt.want {
				t.Errorf("%s: RemoveItem(%d) = %d, want %d", st.name, tt.item, got, tt.want)
			}
			if got := x.Len(); got != tt.len {
				t.Errorf("%s: after RemoveItem(%d), Len() = %d, want %d",
					st.name, tt.item, got, tt.len)
			}
		}
		if got := x.Search(h, 256); len(got) != 0 {
			t.Errorf("%s: Search after removing all = %v, want none", st.name, got)
		}
	}
}

// TestAddRemoveInterleaved mixes adds, duplicate adds and removals of known and unknown
// items, and compares with the model after every batch. Long runs of removals make
// the index compact, and runs of adds grow the tail past the rebuild threshold.
func TestAddRemoveInterleaved(t *testing.T) {
	for _, st := range strategies {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(9, 10))
			pool, queries := clusteredData(rng, 40, 200, 10)
			x, m := newIndex(st.s, nil), model{}
			batches := 6
			if raceEnabled {
				batches = 2
			}

			// Each phase has a share of adds; the rest are removals.
			for phase, addShare := range []float64{0.9, 0.8, 0.1, 0.95, 0.05, 0.6} {
				for batch := range batches {
					for range 500 {
						step(t, rng, x, m, pool, addShare)
					}
					if got, want := x.Len(), len(m); got != want {
						t.Fatalf("phase %d batch %d: Len() = %d, want %d",
							phase, batch, got, want)
					}
					checkSearches(t, x, m, queries, []int{0, 31, 64})
				}
			}
		})
	}
}

// step makes one random change to both x and m.
func step(t *testing.T, rng *rand.Rand, x *Index, m model, pool []Entry, addShare float64) {
	t.Helper()
	switch r := rng.Float64(); {
	case r < addShare:
		// Add an entry of the pool, under its own item or a few shared ones; some
		// are duplicates.
		e := pool[rng.IntN(len(pool))]
		if rng.IntN(4) == 0 {
			e.ItemID = int64(rng.IntN(50))
		}
		x.Add(e)
		m[e] = true
	case r < addShare+(1-addShare)*0.9:
		// Remove an item that may or may not be present.
		item := int64(rng.IntN(len(pool)))
		want := 0
		for e := range m {
			if e.ItemID == item {
				delete(m, e)
				want++
			}
		}
		if got := x.RemoveItem(item); got != want {
			t.Fatalf("RemoveItem(%d) = %d, want %d", item, got, want)
		}
	default:
		// Remove an item that never existed.
		if got := x.RemoveItem(-1 - rng.Int64N(1000)); got != 0 {
			t.Fatalf("RemoveItem(unknown) = %d, want 0", got)
		}
	}
}

// TestCompact checks that removing most entries compacts the slots and keeps
// searches right.
func TestCompact(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	entries, queries := randomData(rng, 8000, 20)
	for _, st := range strategies {
		x, m := newIndex(st.s, entries), model{}
		for _, e := range entries {
			m[e] = true
		}
		for e := range m {
			if e.ItemID%8 != 0 {
				x.RemoveItem(e.ItemID)
				delete(m, e)
			}
		}
		if got, want := x.Len(), len(m); got != want {
			t.Fatalf("%s: Len() = %d, want %d", st.name, got, want)
		}
		if got, limit := len(x.hashes), 2*len(m)+minCompactDead; got > limit {
			t.Errorf("%s: %d slots for %d entries, want at most %d",
				st.name, got, len(m), limit)
		}
		checkSearches(t, x, m, queries, []int{0, 31, 256})
	}
}

// TestConcurrent searches while a writer adds and removes, for the race detector,
// then compares the final state with the model.
func TestConcurrent(t *testing.T) {
	for _, st := range strategies {
		t.Run(st.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(13, 14))
			pool, queries := clusteredData(rng, 20, 300, 40)
			x, m := newIndex(st.s, pool[:3000]), model{}
			for _, e := range pool[:3000] {
				m[e] = true
			}

			// Readers check what holds whatever the writer does: hits within the
			// radius, sorted, and SearchMany agreeing in length with its queries.
			var wg sync.WaitGroup
			done := make(chan struct{})
			errs := make(chan error, 4)
			for r := range 3 {
				wg.Go(func() {
					for i := 0; ; i++ {
						select {
						case <-done:
							return
						default:
						}
						if err := checkInvariants(x, queries, r+i); err != nil {
							errs <- err
							return
						}
					}
				})
			}

			for range 4000 {
				step(t, rng, x, m, pool, 0.6)
			}
			close(done)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			checkSearches(t, x, m, queries, []int{0, 31, 64})
		})
	}
}

// checkInvariants runs one search or SearchMany and checks its hits.
func checkInvariants(x *Index, queries []dnadb.Hash256, i int) error {
	const d = 40
	q := queries[i%len(queries)]
	results := [][]Hit{x.Search(q, d)}
	qs := []dnadb.Hash256{q}
	if i%5 == 0 {
		qs = queries
		results = x.SearchMany(qs, d)
	}
	if len(results) != len(qs) {
		return fmt.Errorf("SearchMany(%d queries) = %d results", len(qs), len(results))
	}
	for j, hits := range results {
		for _, h := range hits {
			if n := qs[j].Distance(h.Hash); n != h.Distance || n > d {
				return fmt.Errorf("Search(%v, %d) hit %v at distance %d, want %d",
					qs[j], d, h.Hash, h.Distance, n)
			}
		}
		if !slices.IsSortedFunc(hits, compareHits) {
			return fmt.Errorf("Search(%v, %d) not sorted: %v", qs[j], d, hits)
		}
	}
	return nil
}

func TestSearchMany(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	entries, queries := clusteredData(rng, 50, 100, 100)
	for _, st := range strategies {
		x := newIndex(st.s, entries)
		got := x.SearchMany(queries, 31)
		if len(got) != len(queries) {
			t.Fatalf("%s: SearchMany(%d queries) = %d results", st.name, len(queries), len(got))
		}
		for i, q := range queries {
			if diff := cmp.Diff(x.Search(q, 31), got[i]); diff != "" {
				t.Errorf("%s: SearchMany query %d differs from Search (-Search +Many):\n%s",
					st.name, i, diff)
			}
		}
	}
}

// TestPDQCorpus indexes the reference PDQ hashes of the corpus, one item per image,
// and searches each within 31, the usual PDQ match threshold.
func TestPDQCorpus(t *testing.T) {
	_, rows := corpus.TSV(t, "pdq", "expected.tsv")
	if len(rows) == 0 {
		t.Fatal("expected.tsv has no rows")
	}
	m := model{}
	var queries []dnadb.Hash256
	for i, row := range rows {
		h, err := dnadb.ParseHash256(row["hash"])
		if err != nil {
			t.Fatalf("row %d (%s): %v", i+1, row["file"], err)
		}
		m[Entry{Hash: h, ItemID: int64(i)}] = true
		queries = append(queries, h)
	}
	var entries []Entry
	for e := range m {
		entries = append(entries, e)
	}

	for _, st := range strategies {
		t.Run(st.name, func(t *testing.T) {
			x := newIndex(st.s, entries)
			checkSearches(t, x, m, queries, []int{31})

			// The images include edits of one photo; each query must find itself,
			// and some must find others.
			found := 0
			for _, q := range queries {
				found += len(x.Search(q, 31))
			}
			if found <= len(queries) {
				t.Errorf("%d hits for %d queries within 31, want some near duplicates",
					found, len(queries))
			}
		})
	}
}
