// Package matcher answers "which confirmed items does this photo match?". It keeps
// the PDQ hashes of confirmed items (or of items in other statuses, for duplicate
// detection) in an exact Hamming index, loads them from the store at start, and
// follows the store's change log so that every registration, confirmation,
// rejection and withdrawal reaches the index.
package matcher

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/hamming"
	"github.com/dnadb/dnadb/pdq"
)

// DefaultThreshold is the largest Hamming distance that counts as a PDQ match, as
// recommended by Meta's PDQ documentation and used by python-threatexchange.
const DefaultThreshold = 31

// DefaultSyncInterval is how often Run polls the change log when nothing wakes it.
const DefaultSyncInterval = 200 * time.Millisecond

// Query is one photo to match: its PDQ hash and, when dihedral matching is wanted,
// the hashes of its eight dihedral variants (index 0 is the original).
type Query struct {
	Hash     dnadb.Hash256
	Dihedral *[pdq.NumVariants]dnadb.Hash256
}

// Matcher is an index of the items in some statuses, confirmed ones by default,
// kept current from the change log. It is safe for concurrent use.
type Matcher struct {
	store    dnadb.Store
	log      *slog.Logger
	idx      *hamming.Index
	statuses []dnadb.Status
	notify   func(seq int64)

	// mu guards seq and serialises Sync.
	mu  sync.Mutex
	seq int64

	// catMu guards categories and the video side's maps, which searches read
	// while Sync writes.
	catMu      sync.RWMutex
	categories map[int64]dnadb.Category
	videos
}

// Config configures a Matcher. Zero fields take the defaults named beside them.
type Config struct {
	// Statuses are the item statuses whose signals are indexed; nil means only
	// confirmed items, which is what filters match against. Duplicate detection
	// indexes pending items too.
	Statuses []dnadb.Status
	// Logger receives the matcher's logs; nil discards them.
	Logger *slog.Logger
	// Notify, if not nil, is called at the end of a Sync that applied changes, with
	// the seq of the last one, so that others can follow the log without polling it
	// themselves. It is called with Sync's lock held and must not block.
	Notify func(seq int64)
}

// New loads the PDQ signals of every item in the configured statuses from store.
func New(ctx context.Context, store dnadb.Store, cfg Config) (*Matcher, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Statuses == nil {
		cfg.Statuses = []dnadb.Status{dnadb.StatusConfirmed}
	}
	start := time.Now()
	m := &Matcher{
		store:      store,
		log:        cfg.Logger,
		idx:        hamming.New(),
		statuses:   cfg.Statuses,
		notify:     cfg.Notify,
		categories: map[int64]dnadb.Category{},
		videos:     newVideos(),
	}

	// Load each type of signal. Each read reflects the log up to its own seq; the
	// index goes on from the lowest, and changes it sees again are applied again,
	// which leaves the index as it was.
	m.seq = -1
	for _, t := range dnadb.SignalTypes {
		sigs, seq, err := store.IndexedSignals(ctx, t, cfg.Statuses...)
		if err != nil {
			return nil, fmt.Errorf("load index: %w", err)
		}
		if m.seq < 0 || seq < m.seq {
			m.seq = seq
		}
		for _, s := range sigs {
			if err := m.add(s.ItemID, s.Category, s.Signal); err != nil {
				m.log.Error("skip stored signal", "item", s.ItemID, "type", t, "err", err)
			}
		}
	}
	m.log.Info("index loaded", "entries", m.idx.Len(), "video_frames", m.fidx.Len(),
		"items", len(m.categories), "seq", m.seq, "statuses", cfg.Statuses,
		"elapsed", time.Since(start))
	return m, nil
}

// add indexes one signal of an item.
func (m *Matcher) add(id int64, c dnadb.Category, s dnadb.Signal) error {
	switch s.Type {
	case dnadb.SignalPDQ:
		h, err := dnadb.ParseHash256(s.Value)
		if err != nil {
			return err
		}
		m.catMu.Lock()
		m.categories[id] = c
		m.catMu.Unlock()
		m.idx.Add(hamming.Entry{Hash: h, ItemID: id})
	case dnadb.SignalVPDQ:
		frames, err := dnadb.ParseVPDQ(s.Value)
		if err != nil {
			return err
		}
		m.catMu.Lock()
		m.categories[id] = c
		m.addVideo(id, frames)
		m.catMu.Unlock()
	case dnadb.SignalMD5, dnadb.SignalSHA256:
		m.catMu.Lock()
		m.categories[id] = c
		m.addDigest(id, s.Type, s.Value)
		m.catMu.Unlock()
	}
	return nil
}

// Len returns the number of hashes in the index.
func (m *Matcher) Len() int { return m.idx.Len() }

// Seq returns the sequence number of the last change the index reflects.
func (m *Matcher) Seq() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seq
}

// Sync applies every change logged since the last one applied. A confirmation adds
// the item's signals; any other decision removes them.
func (m *Matcher) Sync(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.notify != nil {
		from := m.seq
		defer func() {
			if m.seq > from {
				m.notify(m.seq)
			}
		}()
	}

	for {
		changes, err := m.store.Changes(ctx, m.seq, dnadb.MaxPageSize)
		if err != nil {
			return fmt.Errorf("sync index: %w", err)
		}
		if len(changes) == 0 {
			return nil
		}
		for _, c := range changes {
			if err := m.apply(ctx, c); err != nil {
				return fmt.Errorf("sync index: change %d: %w", c.Seq, err)
			}
			m.seq = c.Seq
		}
	}
}

// apply brings the index in line with one change.
func (m *Matcher) apply(ctx context.Context, c dnadb.Change) error {
	switch c.Kind {
	case dnadb.ChangeCreated, dnadb.ChangeDecided:
	default:
		return nil
	}

	// Whatever the change, drop what the index holds for the item; if its new
	// status is indexed, add its signals back as they are stored now.
	m.idx.RemoveItem(c.ItemID)
	m.catMu.Lock()
	delete(m.categories, c.ItemID)
	m.removeVideo(c.ItemID)
	m.catMu.Unlock()
	if !slices.Contains(m.statuses, c.Status) {
		return nil
	}
	it, err := m.store.Item(ctx, c.ItemID)
	if err != nil {
		return err
	}
	if it.Status != c.Status {
		// A later change has moved it on; that change will be applied next.
		return nil
	}
	for _, s := range it.Signals {
		if err := m.add(it.ID, it.Category, s); err != nil {
			m.log.Error("skip stored signal", "item", it.ID, "err", err)
		}
	}
	return nil
}

// Run syncs the index every interval until ctx ends, logging failures.
func (m *Matcher) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultSyncInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.Sync(ctx); err != nil && ctx.Err() == nil {
				m.log.Error("index sync", "err", err)
			}
		}
	}
}

// Match returns the confirmed items within threshold of q, best first. With
// dihedral variants, an item matched by several variants is reported once, with the
// variant at the smallest distance (the original wins a tie).
func (m *Matcher) Match(q Query, threshold int) []dnadb.Match {
	hashes := []dnadb.Hash256{q.Hash}
	if q.Dihedral != nil {
		hashes = q.Dihedral[:]
	}

	best := map[int64]dnadb.Match{}
	for v, h := range hashes {
		for _, hit := range m.idx.Search(h, threshold) {
			prev, seen := best[hit.ItemID]
			if seen && prev.Distance <= hit.Distance {
				continue
			}
			best[hit.ItemID] = dnadb.Match{
				ItemID:   hit.ItemID,
				Distance: hit.Distance,
				Variant:  pdq.Variant(v).String(),
			}
		}
	}

	out := make([]dnadb.Match, 0, len(best))
	m.catMu.RLock()
	for _, mt := range best {
		mt.Category = m.categories[mt.ItemID]
		out = append(out, mt)
	}
	m.catMu.RUnlock()
	slices.SortFunc(out, func(a, b dnadb.Match) int {
		if a.Distance != b.Distance {
			return a.Distance - b.Distance
		}
		return cmp.Compare(a.ItemID, b.ItemID)
	})
	return out
}

// NewDetached returns an empty Matcher that follows no store: its owner keeps it
// current with Put and Remove, as the agent does from the consumer feed. Sync and
// Run must not be called on it. Only cfg.Logger is used.
func NewDetached(cfg Config) *Matcher {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Matcher{
		log:        cfg.Logger,
		idx:        hamming.New(),
		statuses:   []dnadb.Status{dnadb.StatusConfirmed},
		categories: map[int64]dnadb.Category{},
		videos:     newVideos(),
	}
}

// Put indexes an item's signals in place of whatever the index held for it. A
// signal that does not parse is logged and skipped.
func (m *Matcher) Put(id int64, c dnadb.Category, sigs []dnadb.Signal) {
	m.Remove(id)
	for _, s := range sigs {
		if err := m.add(id, c, s); err != nil {
			m.log.Error("skip signal", "item", id, "type", s.Type, "err", err)
		}
	}
}

// Remove drops every signal of an item from the index; an item it does not hold
// is no error.
func (m *Matcher) Remove(id int64) {
	m.idx.RemoveItem(id)
	m.catMu.Lock()
	delete(m.categories, id)
	m.removeVideo(id)
	m.catMu.Unlock()
}
