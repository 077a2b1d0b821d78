package matcher

import (
	"cmp"
	"slices"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/hamming"
	"github.com/dnadb/dnadb/vpdq"
)

// videos is the matcher's video side: the frames of each video item, an index of
// their distinct hashes, and the file digests of every item that has them. Its
// maps are guarded by the Matcher's catMu; the index guards itself.
type videos struct {
	frames  map[int64][]dnadb.VideoFrame
	fidx    *hamming.Index
	digests map[string]int64   // "type:hex" to item
	byItem  map[int64][]string // digest keys of each item
}

func newVideos() videos {
	return videos{
		frames:  map[int64][]dnadb.VideoFrame{},
		fidx:    hamming.New(),
		digests: map[string]int64{},
		byItem:  map[int64][]string{},
	}
}

// addVideo indexes the frames of a video item, each distinct hash once. The
// caller holds catMu.
func (v *videos) addVideo(id int64, frames []dnadb.VideoFrame) {
	v.frames[id] = append(v.frames[id], frames...)
	seen := map[dnadb.Hash256]bool{}
	for _, f := range frames {
		if !seen[f.Hash] {
			seen[f.Hash] = true
			v.fidx.Add(hamming.Entry{Hash: f.Hash, ItemID: id})
		}
	}
}

// addDigest indexes an exact file digest. The caller holds catMu.
func (v *videos) addDigest(id int64, t dnadb.SignalType, value string) {
	key := string(t) + ":" + value
	v.digests[key] = id
	v.byItem[id] = append(v.byItem[id], key)
}

// removeVideo drops an item's frames and digests. The caller holds catMu.
func (v *videos) removeVideo(id int64) {
	if _, ok := v.frames[id]; ok {
		v.fidx.RemoveItem(id)
		delete(v.frames, id)
	}
	for _, key := range v.byItem[id] {
		if v.digests[key] == id {
			delete(v.digests, key)
		}
	}
	delete(v.byItem, id)
}

// VideoQuery is one video to match: its frames, and its file digests if known.
type VideoQuery struct {
	Frames []dnadb.VideoFrame
	MD5    string
	SHA256 string
}

// VideoOptions configures MatchVideo. Zero fields take the defaults named beside
// them.
type VideoOptions struct {
	// Distance and QualityFloor are as in vpdq.MatchOptions: zero means 31 and 50.
	Distance     int
	QualityFloor int
	// Semantics selects the reference whose percentages are reported; the zero
	// value is python-threatexchange's.
	Semantics vpdq.Semantics
	// MinQueryPercent is the share of the query's frames that must match for the
	// whole query to count as a copy of an item, as python-threatexchange's rule;
	// zero means DefaultMinQueryPercent.
	MinQueryPercent float64
}

// DefaultMinQueryPercent is python-threatexchange's VPDQ match threshold.
const DefaultMinQueryPercent = 80

// VideoMatch is a video item that a query matched: as a whole (QueryPercent of its
// frames matched), in one or more segments, or as an exact copy of the file.
type VideoMatch struct {
	ItemID          int64
	Category        dnadb.Category
	QueryPercent    float64
	ComparedPercent float64
	Segments        []vpdq.Segment
	// Exact is true when a file digest of the query equals one of the item's.
	Exact bool
}

// MatchVideo returns the video items the query matches, best first. Candidates are
// the items that hold a frame within Distance of a query frame; each is then
// compared frame by frame, and reported if the query matches it as a whole (at
// least MinQueryPercent), in at least one segment, or by file digest.
func (m *Matcher) MatchVideo(q VideoQuery, o VideoOptions) []VideoMatch {
	if o.Distance == 0 {
		o.Distance = vpdq.DefaultDistance
	}
	if o.QualityFloor == 0 {
		o.QualityFloor = vpdq.DefaultQualityFloor
	}
	if o.MinQueryPercent == 0 {
		o.MinQueryPercent = DefaultMinQueryPercent
	}

	// Find the candidates: items holding a frame near a query frame that can match,
	// and items with the same file.
	candidates := map[int64]bool{}
	seen := map[dnadb.Hash256]bool{}
	for _, f := range q.Frames {
		if f.Quality < o.QualityFloor || seen[f.Hash] {
			continue
		}
		seen[f.Hash] = true
		for _, hit := range m.fidx.Search(f.Hash, o.Distance) {
			candidates[hit.ItemID] = true
		}
	}
	m.catMu.RLock()
	exact := map[int64]bool{}
	for _, d := range []struct {
		t     dnadb.SignalType
		value string
	}{{dnadb.SignalMD5, q.MD5}, {dnadb.SignalSHA256, q.SHA256}} {
		if id, ok := m.digests[string(d.t)+":"+d.value]; ok && d.value != "" {
			exact[id], candidates[id] = true, true
		}
	}
	stored := map[int64][]dnadb.VideoFrame{}
	for id := range candidates {
		stored[id] = m.frames[id]
	}
	m.catMu.RUnlock()

	// Compare each candidate with the query.
	mo := vpdq.MatchOptions{Distance: o.Distance, QualityFloor: o.QualityFloor,
		Semantics: o.Semantics}
	so := vpdq.SegmentOptions{Distance: o.Distance, QualityFloor: o.QualityFloor}
	var out []VideoMatch
	for id := range candidates {
		vm := VideoMatch{ItemID: id, Exact: exact[id]}
		if frames := stored[id]; len(frames) > 0 && len(q.Frames) > 0 {
			r := vpdq.Compare(q.Frames, frames, mo)
			vm.QueryPercent, vm.ComparedPercent = r.QueryPercent, r.ComparedPercent
			vm.Segments = vpdq.Segments(q.Frames, frames, so)
		}
		if vm.Exact || vm.QueryPercent >= o.MinQueryPercent || len(vm.Segments) > 0 {
			out = append(out, vm)
		}
	}

	m.catMu.RLock()
	for i := range out {
		out[i].Category = m.categories[out[i].ItemID]
	}
	m.catMu.RUnlock()
	slices.SortFunc(out, func(a, b VideoMatch) int {
		if c := cmp.Compare(b.QueryPercent, a.QueryPercent); c != 0 {
			return c
		}
		return cmp.Compare(a.ItemID, b.ItemID)
	})
	return out
}

// VideoFrames returns the number of distinct frame hashes the index holds.
func (m *Matcher) VideoFrames() int { return m.fidx.Len() }
