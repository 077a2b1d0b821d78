package hamming

import (
	"math/bits"
	"runtime"
	"slices"
	"sync"
)

// The MIH layout: the 256 bits are cut into numTables substrings of subBits bits.
// Substring t is bits 16*(t%4) to 16*(t%4)+15 of word t/4.
//
// TODO(speed): 16-bit substrings suit about a million entries (some 15 per bucket).
// Norouzi et al. suggest 256/log2(n) substrings; at ten million, 13 of about 20 bits
// would check fewer candidates.
const (
	numTables  = 16
	subBits    = 16
	numBuckets = 1 << subBits
)

// Cost model, relative to scanning one slot (about 3.5 ns on the 2-core AMD EPYC it was
// measured on). A bucket lookup and a candidate check each touch memory at random,
// and cost 30 to 120 ns depending on how much of the index the caches hold. The
// figures below lean towards the scan, so that where the estimate errs, the search
// costs at most a little more than scanning. A search picks the cheaper estimate.
const (
	costScan  = 1.0  // scan one slot
	costCount = 4.0  // read one bucket's size while making a plan
	costProbe = 12.0 // look up one bucket
	costCand  = 40.0 // check one slot of a bucket
)

// minIndexed is the number of entries below which the MIH tables are not built: a
// scan of so few costs less than keeping the tables.
const minIndexed = 4096

// multiIndex holds one table per substring. Table t lists, for each substring value
// b, the slots whose substring t equals b: pos[t][start[t][b]:start[t][b+1]], in
// ascending order. It covers the slots [0, n) that were live when it was built.
type multiIndex struct {
	n     int
	start [numTables][]int32
	pos   [numTables][]int32
}

// sub returns substring t of w.
func sub(w *words, t int) uint16 { return uint16(w[t/4] >> (subBits * (t % 4))) }

// masks lists every substring mask in order of its number of set bits, so that the
// masks within distance r are masks[:ballSize[r+1]].
var masks, ballSize = sortedMasks()

// sortedMasks returns every 16-bit mask sorted by popcount, and for each r+1 (r from
// -1 to 16) how many masks have at most r bits set.
func sortedMasks() ([]uint16, [subBits + 2]int) {
	ms := make([]uint16, numBuckets)
	for i := range ms {
		ms[i] = uint16(i)
	}
	slices.SortStableFunc(ms, func(a, b uint16) int {
		return bits.OnesCount16(a) - bits.OnesCount16(b)
	})
	var size [subBits + 2]int
	for _, m := range ms {
		for r := bits.OnesCount16(m); r <= subBits; r++ {
			size[r+1]++
		}
	}
	return ms, size
}

// buildMultiIndex builds the tables over the live slots of hashes, one table per
// goroutine, up to GOMAXPROCS at a time.
func buildMultiIndex(hashes []words, dead []bool) *multiIndex {
	m := &multiIndex{n: len(hashes)}
	live := 0
	for _, d := range dead {
		if !d {
			live++
		}
	}

	var wg sync.WaitGroup
	tables := make(chan int, numTables)
	for t := range numTables {
		tables <- t
	}
	close(tables)
	for range min(runtime.GOMAXPROCS(0), numTables) {
		wg.Go(func() {
			next := make([]int32, numBuckets)
			for t := range tables {
				m.start[t], m.pos[t] = buildTable(hashes, dead, live, t, next)
			}
		})
	}
	wg.Wait()
	return m
}

// buildTable sorts the live slots by substring t with a counting sort. next is
// scratch space of numBuckets.
func buildTable(hashes []words, dead []bool, live, t int, next []int32) (start, pos []int32) {
	// Count the slots in each bucket, then turn the counts into bucket starts.
	start = make([]int32, numBuckets+1)
	for s := range hashes {
		if !dead[s] {
			start[int(sub(&hashes[s], t))+1]++
		}
	}
	for b := range numBuckets {
		start[b+1] += start[b]
	}

	// Place each slot at the next free position of its bucket.
	copy(next, start[:numBuckets])
	pos = make([]int32, live)
	for s := range hashes {
		if dead[s] {
			continue
		}
		b := sub(&hashes[s], t)
		pos[next[b]] = int32(s)
		next[b]++
	}
	return start, pos
}

// plan says how far around the query's substring to probe each table. It rests on
// the pigeonhole principle generalised to unequal radii: if radius[t] >= -1 and
// sum(radius[t]+1) >= d+1, a hash within distance d of the query is within radius[t]
// of it in some substring t, since otherwise it would differ in at least
// sum(radius[t]+1) > d bits. A radius of -1 means the table is not probed.
type plan struct {
	radius     [numTables]int
	probes     int // buckets to look up
	candidates int // slots in those buckets
}

// evenSplit returns the smallest radius and how many tables get one more, so that
// the radii add up to d+1-numTables, as evenly as possible.
func evenSplit(d int) (base, extra int) {
	units := d + 1
	return units/numTables - 1, units % numTables
}

// probesFor returns how many buckets an even plan for radius d looks up.
func probesFor(d int) int {
	base, extra := evenSplit(d)
	return (numTables-extra)*ballSize[base+1] + extra*ballSize[base+2]
}

// countsFor returns how many buckets plan counts to make a plan for radius d.
func countsFor(d int) int {
	base, extra := evenSplit(d)
	if extra == 0 {
		return numTables * ballSize[base+1]
	}
	return numTables * ballSize[base+2]
}

// worthIndexing reports whether the MIH tables could pay off for searches of radius
// d among n entries: making a plan and looking up its buckets, before checking a
// single candidate, must cost under half a scan. A plan that then turns out dearer
// than a scan has cost at most a quarter of one.
func worthIndexing(d, n int) bool {
	cost := float64(countsFor(d))*costCount + float64(probesFor(d))*costProbe
	return n >= minIndexed && cost < float64(n)*costScan/2
}

// plan returns the plan for radius d around q. The tables that get the larger radius
// are those whose extra shell of buckets holds the fewest slots.
func (m *multiIndex) plan(q words, d int) plan {
	base, extra := evenSplit(d)

	// Count the slots within base and in the shell at base+1, table by table.
	var inner, shell [numTables]int
	for t := range numTables {
		key := sub(&q, t)
		inner[t] = m.count(t, key, 0, ballSize[base+1])
		if extra > 0 {
			shell[t] = m.count(t, key, ballSize[base+1], ballSize[base+2])
		}
	}

	// Give the larger radius to the tables with the smallest shells.
	var order [numTables]int
	for t := range order {
		order[t] = t
	}
	slices.SortStableFunc(order[:], func(a, b int) int { return shell[a] - shell[b] })

	var p plan
	for i, t := range order {
		p.radius[t] = base
		p.candidates += inner[t]
		if i < extra {
			p.radius[t]++
			p.candidates += shell[t]
		}
		if p.radius[t] >= 0 {
			p.probes += ballSize[p.radius[t]+1]
		}
	}
	return p
}

// count returns how many slots table t holds in the buckets key^masks[lo:hi].
func (m *multiIndex) count(t int, key uint16, lo, hi int) int {
	start := m.start[t]
	n := 0
	for _, mask := range masks[lo:hi] {
		b := int(key ^ mask)
		n += int(start[b+1] - start[b])
	}
	return n
}

// cheaperThanScan reports whether following p is estimated to cost less than
// scanning n slots.
func (p *plan) cheaperThanScan(n int) bool {
	return float64(p.probes)*costProbe+float64(p.candidates)*costCand < float64(n)*costScan
}

// probe appends the live slots of the tables within d of q, following p. A slot may
// lie in the probed buckets of several tables; it is reported only from the first.
func (x *Index) probe(q words, d int, p *plan, hits []Hit) []Hit {
	m := x.mih
	for t := range numTables {
		r := p.radius[t]
		if r < 0 {
			continue
		}
		key := sub(&q, t)
		start, pos := m.start[t], m.pos[t]
		for _, mask := range masks[:ballSize[r+1]] {
			b := int(key ^ mask)
			for _, s := range pos[start[b]:start[b+1]] {
				h := &x.hashes[s]
				n := bits.OnesCount64(h[0]^q[0]) + bits.OnesCount64(h[1]^q[1]) +
					bits.OnesCount64(h[2]^q[2]) + bits.OnesCount64(h[3]^q[3])
				if n > d || x.dead[s] || foundBefore(h, &q, t, p) {
					continue
				}
				hits = append(hits, x.hit(int(s), n))
			}
		}
	}
	return hits
}

// foundBefore reports whether a table probed before table t holds h in a bucket
// that p probes.
func foundBefore(h, q *words, t int, p *plan) bool {
	for u := range t {
		r := p.radius[u]
		if r >= 0 && bits.OnesCount16(sub(h, u)^sub(q, u)) <= r {
			return true
		}
	}
	return false
}
