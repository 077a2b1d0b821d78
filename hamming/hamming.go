// Package hamming indexes 256-bit hashes in memory and finds every stored hash within
// a Hamming distance of a query. Searches are exact: they return the same set as
// comparing the query with every entry.
//
// An Index keeps its hashes in one flat slice, so a search can always fall back to a
// linear scan. For small radii it also keeps a multi-index hashing (MIH) layer, after
// Norouzi, Punjani and Fleet, "Fast Search in Hamming Space with Multi-Index Hashing"
// (CVPR 2012): the 256 bits are cut into 16 substrings of 16 bits, and each substring
// has a table from its value to the entries that hold it. By the pigeonhole principle a
// hash within distance d of the query differs from it, in at least one substring, by
// little enough that probing each table around the query's substring finds it. Every
// search estimates the cost of both ways from the sizes of the buckets it would visit
// and takes the cheaper one, so it is never much slower than a scan.
package hamming

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sync"

	"github.com/dnadb/dnadb"
)

// MaxDistance is the largest Hamming distance between two hashes. A search with a
// radius of MaxDistance or more returns every entry.
const MaxDistance = 256

// Entry is one indexed hash and the item it belongs to.
type Entry struct {
	Hash   dnadb.Hash256
	ItemID int64
}

// Hit is an entry found by a search, with its distance to the query.
type Hit struct {
	Entry
	Distance int
}

// Index is an in-memory set of entries searchable by Hamming distance. The zero value
// is not usable; call New. An Index is safe for concurrent use: searches run in
// parallel with each other and wait for a writer.
//
// Entries live in slots. Removal marks slots dead; dead slots are compacted away once
// they make up a large share. The MIH tables cover the slots that existed when they
// were last built; slots added since (the tail) are scanned linearly, and the tables
// are rebuilt when the tail grows too long.
type Index struct {
	mu sync.RWMutex

	hashes []words           // hash of each slot
	items  []int64           // item of each slot
	dead   []bool            // whether the slot was removed
	ndead  int               // number of dead slots
	byItem map[int64][]int32 // live slots of each item

	mih *multiIndex // nil until a search needs it; covers slots [0, mih.n)

	// strategy forces a search method, for tests. The zero value chooses by cost.
	strategy strategy
}

// strategy says how an Index searches.
type strategy int

const (
	auto       strategy = iota // choose by estimated cost
	linearOnly                 // always scan
	mihOnly                    // always use the MIH tables, whatever the radius or size
)

// Thresholds of index maintenance.
const (
	// minCompactDead is how many dead slots a writer tolerates before it compacts.
	minCompactDead = 1024
	// minTail is how long the unindexed tail may grow, whatever the index size.
	minTail = 512
	// tailShare is the largest share (1/tailShare) of slots left in the tail.
	tailShare = 16
	// deadShare is the share (1/deadShare) of dead slots that makes a rebuild compact.
	deadShare = 4
)

// maxSlots bounds the number of slots, which are numbered by int32.
const maxSlots = math.MaxInt32

// New returns an empty index.
func New() *Index {
	return &Index{byItem: make(map[int64][]int32)}
}

// Add adds an entry. Adding an entry that is already present, the same hash for the
// same item, does nothing.
func (x *Index) Add(e Entry) {
	w := toWords(e.Hash)

	x.mu.Lock()
	defer x.mu.Unlock()

	// Keep one copy of each (hash, item) pair.
	slots := x.byItem[e.ItemID]
	for _, s := range slots {
		if x.hashes[s] == w {
			return
		}
	}

	if len(x.hashes) >= maxSlots {
		x.compact()
		if len(x.hashes) >= maxSlots {
			panic(fmt.Sprintf("hamming: more than %d entries", maxSlots))
		}
	}
	x.byItem[e.ItemID] = append(slots, int32(len(x.hashes)))
	x.hashes = append(x.hashes, w)
	x.items = append(x.items, e.ItemID)
	x.dead = append(x.dead, false)
}

// RemoveItem removes every entry of the item and returns how many there were. An
// unknown item removes nothing and returns 0.
func (x *Index) RemoveItem(itemID int64) int {
	x.mu.Lock()
	defer x.mu.Unlock()

	slots, ok := x.byItem[itemID]
	if !ok {
		return 0
	}
	for _, s := range slots {
		x.dead[s] = true
	}
	delete(x.byItem, itemID)
	x.ndead += len(slots)

	// Reclaim the space once most slots are dead, even if nobody searches.
	if x.ndead >= minCompactDead && x.ndead > len(x.hashes)/2 {
		x.compact()
	}
	return len(slots)
}

// Len returns the number of entries.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.hashes) - x.ndead
}

// Search returns every entry within Hamming distance maxDist of q, sorted by distance,
// then item id, then hash. A negative maxDist finds nothing; MaxDistance or more finds
// every entry.
func (x *Index) Search(q dnadb.Hash256, maxDist int) []Hit {
	if maxDist < 0 {
		return nil
	}
	d := min(maxDist, MaxDistance)
	qw := toWords(q)

	// Bring the MIH tables up to date first if this search would use them.
	x.mu.RLock()
	if x.needsRebuild(d) {
		x.mu.RUnlock()
		x.mu.Lock()
		if x.needsRebuild(d) {
			x.rebuild()
		}
		x.mu.Unlock()
		x.mu.RLock()
	}
	defer x.mu.RUnlock()

	hits := x.search(qw, d)
	sortHits(hits)
	return hits
}

// SearchMany runs Search for each query, in parallel on up to GOMAXPROCS goroutines,
// and returns the hits of qs[i] in element i. Each query sees the index as it was
// when that query ran; writes made during the call may be seen by some queries only.
func (x *Index) SearchMany(qs []dnadb.Hash256, maxDist int) [][]Hit {
	out := make([][]Hit, len(qs))
	workers := min(runtime.GOMAXPROCS(0), len(qs))
	if workers <= 1 {
		for i, q := range qs {
			out[i] = x.Search(q, maxDist)
		}
		return out
	}

	// Hand out queries in small batches so that uneven queries balance out.
	const batch = 16
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		next int
	)
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				lo := next
				next += batch
				mu.Unlock()
				if lo >= len(qs) {
					return
				}
				for i := lo; i < min(lo+batch, len(qs)); i++ {
					out[i] = x.Search(qs[i], maxDist)
				}
			}
		})
	}
	wg.Wait()
	return out
}

// search finds the hits within d (0 to MaxDistance) of q, unsorted. The caller holds
// at least the read lock.
func (x *Index) search(q words, d int) []Hit {
	var hits []Hit
	switch {
	case x.mih == nil || x.strategy == linearOnly || d >= MaxDistance:
		return x.scan(q, d, 0, len(x.hashes), hits)
	case x.strategy == auto && !worthIndexing(d, x.mih.n):
		return x.scan(q, d, 0, len(x.hashes), hits)
	}

	// Compare the cost of probing the tables with the cost of scanning what they cover;
	// the tail is scanned either way.
	p := x.mih.plan(q, d)
	if x.strategy == auto && !p.cheaperThanScan(x.mih.n) {
		return x.scan(q, d, 0, len(x.hashes), hits)
	}
	hits = x.probe(q, d, &p, hits)
	return x.scan(q, d, x.mih.n, len(x.hashes), hits)
}

// scan appends the live slots in [from, to) within d of q. It adds up the first two
// words and skips the slot if they already differ in more than d bits.
func (x *Index) scan(q words, d, from, to int, hits []Hit) []Hit {
	hs := x.hashes[from:to]
	for i := range hs {
		h := &hs[i]
		n := bits.OnesCount64(h[0]^q[0]) + bits.OnesCount64(h[1]^q[1])
		if n > d {
			continue
		}
		n += bits.OnesCount64(h[2]^q[2]) + bits.OnesCount64(h[3]^q[3])
		if n > d || x.dead[from+i] {
			continue
		}
		hits = append(hits, x.hit(from+i, n))
	}
	return hits
}

// hit returns slot s as a hit at distance n.
func (x *Index) hit(s, n int) Hit {
	return Hit{Entry: Entry{Hash: x.hashes[s].hash(), ItemID: x.items[s]}, Distance: n}
}

// needsRebuild reports whether the MIH tables are missing or stale and a search with
// radius d would use them. The caller holds at least the read lock.
func (x *Index) needsRebuild(d int) bool {
	n := len(x.hashes)
	switch {
	case x.strategy == linearOnly || d >= MaxDistance:
		return false
	case x.strategy == auto && !worthIndexing(d, n-x.ndead):
		return false
	case x.mih == nil:
		return n > 0
	}
	tail := n - x.mih.n
	return tail > max(minTail, n/tailShare) || x.ndead > n/deadShare ||
		x.strategy == mihOnly && tail > 0
}

// rebuild compacts the slots if many are dead and builds the MIH tables over all of
// them. The caller holds the write lock.
//
// TODO(speed): build the tables beside the live ones and swap them in, so that
// searches do not wait for a rebuild (about 0.5 s for a million entries on 2 cores).
func (x *Index) rebuild() {
	if x.ndead > len(x.hashes)/deadShare {
		x.compact()
	}
	x.mih = buildMultiIndex(x.hashes, x.dead)
}

// compact drops the dead slots and renumbers the live ones. It discards the MIH
// tables, which the next search that needs them rebuilds. The caller holds the write
// lock.
func (x *Index) compact() {
	// Move each live slot down to its new number, remembering the mapping.
	renumber := make([]int32, len(x.hashes))
	n := 0
	for s := range x.hashes {
		if x.dead[s] {
			continue
		}
		renumber[s] = int32(n)
		x.hashes[n] = x.hashes[s]
		x.items[n] = x.items[s]
		x.dead[n] = false
		n++
	}

	// Shrink the slices, giving memory back when they were mostly dead.
	x.hashes = shrink(x.hashes[:n])
	x.items = shrink(x.items[:n])
	x.dead = shrink(x.dead[:n])
	x.ndead = 0

	for _, slots := range x.byItem {
		for i, s := range slots {
			slots[i] = renumber[s]
		}
	}
	x.mih = nil
}

// shrink returns s, copied into a smaller array if it uses less than half of its own.
func shrink[T any](s []T) []T {
	if len(s) >= cap(s)/2 {
		return s
	}
	return slices.Clone(s)
}

// sortHits sorts hits by distance, then item id, then hash.
func sortHits(hits []Hit) { slices.SortFunc(hits, compareHits) }

// compareHits orders hits by distance, then item id, then hash.
func compareHits(a, b Hit) int {
	if c := cmp.Compare(a.Distance, b.Distance); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ItemID, b.ItemID); c != 0 {
		return c
	}
	return bytes.Compare(a.Hash[:], b.Hash[:])
}

// words is a hash as four 64-bit words, word 0 holding the first 8 bytes. Only the
// count of differing bits matters, so the order within a word is free.
type words [4]uint64

// toWords converts a hash to words.
func toWords(h dnadb.Hash256) words {
	var w words
	for i := range w {
		w[i] = binary.BigEndian.Uint64(h[8*i:])
	}
	return w
}

// hash converts words back to a hash.
func (w words) hash() dnadb.Hash256 {
	var h dnadb.Hash256
	for i := range w {
		binary.BigEndian.PutUint64(h[8*i:], w[i])
	}
	return h
}
