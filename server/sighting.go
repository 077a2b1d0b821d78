package server

import (
	"net/http"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
)

// reportSightings stores a batch of sighting reports as the caller's organisation.
// Reports sent before under the same report id are counted once.
func (s *Server) reportSightings(w http.ResponseWriter, r *http.Request) error {
	var req api.SightingsRequest
	if err := readJSON(w, r, DefaultMaxBodyBytes, &req); err != nil {
		return err
	}
	limit := min(s.cfg.MaxBatch, dnadb.MaxSightings)
	switch {
	case len(req.Sightings) == 0:
		return dnadb.Errorf(dnadb.ErrInvalid, "sightings: empty; send at least one")
	case len(req.Sightings) > limit:
		return dnadb.Errorf(dnadb.ErrTooLarge, "sightings: %d in one request, limit %d",
			len(req.Sightings), limit)
	}
	accepted, duplicates, err := s.store.ReportSightings(r.Context(), req.Sightings)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.SightingsResponse{Accepted: accepted,
		Duplicates: duplicates})
	return nil
}

// circulation answers the counts of sightings per item and platform, a page of
// items at a time: of every item for an evaluator, of its own items for a
// contributor.
func (s *Server) circulation(w http.ResponseWriter, r *http.Request) error {
	item, err := queryInt(r, "item", 0)
	if err != nil {
		return err
	}
	after, limit, err := queryPage(r)
	if err != nil {
		return err
	}
	f := dnadb.CirculationFilter{ItemID: item, Platform: r.URL.Query().Get("platform"),
		After: after, Limit: int(limit)}
	rows, err := s.store.Circulation(r.Context(), f)
	if err != nil {
		return err
	}

	// The page is full when it holds limit items; the next begins after the last.
	page := api.CirculationPage{Circulation: rows}
	var items int
	for i, c := range rows {
		if i == 0 || c.ItemID != rows[i-1].ItemID {
			items++
		}
	}
	if items == f.Limit {
		page.NextAfter = rows[len(rows)-1].ItemID
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}
