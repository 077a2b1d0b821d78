package server

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/access"
	"github.com/dnadb/dnadb/matcher"
	"github.com/dnadb/dnadb/pdq"
)

// markerLister is a store that keeps leak-tracing markers, as sqlstore does.
type markerLister interface {
	LeakMarkers(ctx context.Context) ([]dnadb.LeakMarker, error)
}

// markerTTL is how long the server keeps its copy of the markers.
const markerTTL = 5 * time.Second

// markers caches the consumers' leak-tracing markers by organisation.
type markers struct {
	mu    sync.Mutex
	at    time.Time
	byOrg map[int64][]dnadb.LeakMarker
}

// matchAs matches q as the caller of the request would have it: the confirmed items,
// and, for a consumer, its own leak-tracing markers too, which are items like any
// other in its copy. Were they not matched here, a consumer could find its
// markers by asking the centre about each item it holds.
func (s *Server) matchAs(ctx context.Context, q matcher.Query, threshold int) []dnadb.Match {
	out := s.matcher.Match(q, threshold)
	p, ok := dnadb.PrincipalFrom(ctx)
	if !ok || !access.Allows(p.Token.Roles, access.ReadFeed) {
		return out
	}
	own := s.ownMarkers(ctx, p.Org.ID)
	if len(own) == 0 {
		return out
	}

	hashes := []dnadb.Hash256{q.Hash}
	if q.Dihedral != nil {
		hashes = q.Dihedral[:]
	}
	for _, m := range own {
		h, ok := m.PDQ()
		if !ok {
			continue
		}
		best := dnadb.Match{Distance: threshold + 1}
		for v, qh := range hashes {
			if d := qh.Distance(h); d < best.Distance {
				best = dnadb.Match{ItemID: m.ItemID, Category: m.Category, Distance: d,
					Variant: pdq.Variant(v).String()}
			}
		}
		if best.Distance <= threshold {
			out = append(out, best)
		}
	}
	slices.SortFunc(out, func(a, b dnadb.Match) int {
		if a.Distance != b.Distance {
			return a.Distance - b.Distance
		}
		return cmp.Compare(a.ItemID, b.ItemID)
	})
	return out
}

// ownMarkers returns org's markers, from a copy at most markerTTL old.
func (s *Server) ownMarkers(ctx context.Context, org int64) []dnadb.LeakMarker {
	ml, ok := s.raw.(markerLister)
	if !ok {
		return nil
	}
	s.markers.mu.Lock()
	defer s.markers.mu.Unlock()
	if time.Since(s.markers.at) > markerTTL {
		all, err := ml.LeakMarkers(ctx)
		if err != nil {
			s.log.Error("read leak markers", "err", err)
			return s.markers.byOrg[org]
		}
		byOrg := map[int64][]dnadb.LeakMarker{}
		for _, m := range all {
			byOrg[m.OrgID] = append(byOrg[m.OrgID], m)
		}
		s.markers.byOrg, s.markers.at = byOrg, time.Now()
	}
	return s.markers.byOrg[org]
}
