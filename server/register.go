package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/matcher"
)

// createItem registers an item with signals the source computed itself, the normal
// path: the media never leaves the source.
func (s *Server) createItem(w http.ResponseWriter, r *http.Request) error {
	var n dnadb.NewItem
	if err := readJSON(w, r, DefaultMaxBodyBytes, &n); err != nil {
		return err
	}
	reg, err := s.register(r.Context(), n)
	if err != nil {
		return err
	}
	writeJSON(w, registrationStatus(reg), reg)
	return nil
}

// createBatch registers many items in one request. Every item is checked before
// any is stored, so that a malformed one fails the batch and stores nothing. Items
// of known material, or repeating an earlier item of the batch, are linked as
// further sources; the new ones are stored together in one transaction.
func (s *Server) createBatch(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var req api.BatchRequest
	if err := readJSON(w, r, 8*DefaultMaxBodyBytes, &req); err != nil {
		return err
	}
	switch {
	case len(req.Items) == 0:
		return dnadb.Errorf(dnadb.ErrInvalid, "items: empty; send at least one")
	case len(req.Items) > s.cfg.MaxBatch:
		return dnadb.Errorf(dnadb.ErrTooLarge, "items: %d in one request, limit %d",
			len(req.Items), s.cfg.MaxBatch)
	}
	for i, n := range req.Items {
		if err := s.checkNew(n); err != nil {
			return dnadb.Errorf(dnadb.KindOf(err), "items[%d]: %w", i, err)
		}
	}

	// Sort the batch into known material and new items; an item that repeats a
	// new one before it in the batch is new only once.
	if err := s.known.Sync(ctx); err != nil {
		return err
	}
	resp := api.BatchResponse{Results: make([]api.Registration, len(req.Items))}
	var fresh []dnadb.NewItem
	var freshAt []int        // index in the batch of each fresh item
	repeats := map[int]int{} // batch index -> index of the fresh item it repeats
	for i, n := range req.Items {
		if hit, ok := s.knownMatch(n); ok {
			reg, err := s.linkKnown(ctx, hit, n.Reference)
			if err != nil {
				return fmt.Errorf("items[%d] (earlier known items are linked): %w", i, err)
			}
			resp.Results[i] = reg
			continue
		}
		if j, d, ok := repeatOf(n, fresh, s.cfg.Threshold); ok {
			repeats[i] = j
			resp.Results[i] = api.Registration{Duplicate: true, Distance: d}
			continue
		}
		fresh = append(fresh, n)
		freshAt = append(freshAt, i)
	}

	// Store the new items in one transaction, then answer the repeats with them.
	if len(fresh) > 0 {
		items, err := s.store.CreateItems(ctx, fresh)
		if err != nil {
			return err
		}
		for k, it := range items {
			resp.Results[freshAt[k]] = api.Registration{Item: it}
		}
		for i, j := range repeats {
			resp.Results[i].Item = items[j]
		}
		if err := s.known.Sync(ctx); err != nil {
			s.log.Error("index sync after registration", "items", len(items), "err", err)
		}
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// repeatOf reports whether a PDQ signal of n lies within threshold of one of the
// items in batch, and which one.
func repeatOf(n dnadb.NewItem, batch []dnadb.NewItem, threshold int) (int, int, bool) {
	for j, b := range batch {
		for _, sa := range n.Signals {
			ha, err := dnadb.ParseHash256(sa.Value)
			if sa.Type != dnadb.SignalPDQ || err != nil {
				continue
			}
			for _, sb := range b.Signals {
				hb, err := dnadb.ParseHash256(sb.Value)
				if sb.Type != dnadb.SignalPDQ || err != nil {
					continue
				}
				if d := ha.Distance(hb); d <= threshold {
					return j, d, true
				}
			}
		}
	}
	return 0, 0, false
}

// uploadItem registers an item from a photo in the request body. The server hashes
// the photo and discards it; only the signal is stored. The item's description is
// in the query: category, reference and profile.
func (s *Server) uploadItem(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	n := dnadb.NewItem{
		Category:  dnadb.Category(q.Get("category")),
		Reference: q.Get("reference"),
	}
	// Check the description before reading the photo, so a bad request costs nothing.
	n.Signals = []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: zeroHash, Quality: 100}}
	if err := s.checkNew(n); err != nil {
		return err
	}

	photo, err := s.hashBody(r, false)
	if err != nil {
		return err
	}
	if err := s.checkQuality("uploaded photo", photo.Quality); err != nil {
		return err
	}
	n.Signals = []dnadb.Signal{photo.Signal()}
	reg, err := s.register(r.Context(), n)
	if err != nil {
		return err
	}
	writeJSON(w, registrationStatus(reg), reg)
	return nil
}

// checkNew checks a registration without storing it.
func (s *Server) checkNew(n dnadb.NewItem) error {
	n.Source = "-"
	if _, err := n.Normalize(); err != nil {
		return err
	}
	for i, sg := range n.Signals {
		if sg.Type == dnadb.SignalPDQ {
			if err := s.checkQuality(signalName(i), sg.Quality); err != nil {
				return err
			}
		}
	}
	return nil
}

// register stores a registration, or links it to the known item that one of its
// PDQ signals matches, so that filters never see the same material twice. Known
// items are those pending or confirmed; rejected and withdrawn ones may be
// registered anew.
func (s *Server) register(ctx context.Context, n dnadb.NewItem) (api.Registration, error) {
	if err := s.checkNew(n); err != nil {
		return api.Registration{}, err
	}

	// Bring the index of known items up to date, so that a registration made a
	// moment ago through this or another server is found.
	if err := s.known.Sync(ctx); err != nil {
		return api.Registration{}, err
	}
	if hit, ok := s.knownMatch(n); ok {
		return s.linkKnown(ctx, hit, n.Reference)
	}

	it, err := s.store.CreateItem(ctx, n)
	if err != nil {
		return api.Registration{}, err
	}
	if err := s.known.Sync(ctx); err != nil {
		s.log.Error("index sync after registration", "item", it.ID, "err", err)
	}
	return api.Registration{Item: it}, nil
}

// linkKnown links a registration to the known item it matched, as a further
// source. A caller that registered the material before is shown its item.
func (s *Server) linkKnown(ctx context.Context, hit dnadb.Match,
	ref string) (api.Registration, error) {
	it, err := s.store.AddSource(ctx, hit.ItemID, "", ref)
	if errors.Is(err, dnadb.ErrConflict) {
		it, err = s.store.Item(ctx, hit.ItemID)
	}
	if err != nil {
		return api.Registration{}, err
	}
	return api.Registration{Item: it, Duplicate: true, Distance: hit.Distance}, nil
}

// knownMatch returns the closest known item that a PDQ signal of n matches.
func (s *Server) knownMatch(n dnadb.NewItem) (dnadb.Match, bool) {
	var best dnadb.Match
	found := false
	for _, sg := range n.Signals {
		if sg.Type != dnadb.SignalPDQ {
			continue
		}
		h, err := dnadb.ParseHash256(sg.Value)
		if err != nil {
			continue
		}
		for _, m := range s.known.Match(matcher.Query{Hash: h}, s.cfg.Threshold) {
			if !found || m.Distance < best.Distance {
				best, found = m, true
			}
		}
	}
	return best, found
}

// registrationStatus is 201 for a new item and 200 for a known one.
func registrationStatus(reg api.Registration) int {
	if reg.Duplicate {
		return http.StatusOK
	}
	return http.StatusCreated
}
