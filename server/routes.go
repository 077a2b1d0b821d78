package server

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/fingerprint"
	"github.com/dnadb/dnadb/matcher"
	"github.com/dnadb/dnadb/pdq"
)

// routes registers every endpoint. Handlers return an error, which one function
// turns into the response.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, h func(http.ResponseWriter, *http.Request) error) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
			defer func() { s.logRequest(r, rec.code, time.Since(start)) }()
			defer s.recoverPanic(rec, r)
			if err := h(rec, r); err != nil {
				s.writeError(rec, r, err)
			}
		})
	}

	handle("GET /healthz", s.health)
	handle("POST /v1/items", s.createItem)
	handle("POST /v1/items/upload", s.uploadItem)
	handle("GET /v1/items", s.listItems)
	handle("GET /v1/items/{id}", s.getItem)
	handle("POST /v1/items/{id}/decision", s.decide)
	handle("POST /v1/match", s.match)
	handle("POST /v1/match/upload", s.matchUpload)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, pattern := mux.Handler(r); pattern == "" {
			s.noRoute(w, r, h)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// noRoute answers a request that matches no route with a JSON error body, keeping
// the status the mux chose (404, or 405 with its Allow header).
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request, h http.Handler) {
	probe := &headerProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if allow := probe.header.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	code := probe.code
	if code == 0 {
		code = http.StatusNotFound
	}
	msg := fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path)
	if code == http.StatusMethodNotAllowed {
		msg = fmt.Sprintf("%s does not allow %s; allowed: %s", r.URL.Path, r.Method,
			probe.header.Get("Allow"))
	}
	writeJSON(w, code, api.ErrorBody{Error: api.ErrorDetail{Code: codeFor(code), Message: msg}})
}

func codeFor(status int) string {
	if status == http.StatusMethodNotAllowed {
		return "method_not_allowed"
	}
	return "not_found"
}

// headerProbe records the status and headers a handler writes and drops the body.
type headerProbe struct {
	header http.Header
	code   int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(code int)        { p.code = code }

func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, api.Health{
		Status:    "ok",
		IndexSize: s.matcher.Len(),
		Seq:       s.matcher.Seq(),
	})
	return nil
}

// createItem registers an item with signals the source computed itself, the normal
// path: the media never leaves the source.
func (s *Server) createItem(w http.ResponseWriter, r *http.Request) error {
	var n dnadb.NewItem
	if err := readJSON(w, r, DefaultMaxBodyBytes, &n); err != nil {
		return err
	}
	for i, sg := range n.Signals {
		if sg.Type == dnadb.SignalPDQ {
			if err := s.checkQuality(signalName(i), sg.Quality); err != nil {
				return err
			}
		}
	}
	it, err := s.store.CreateItem(r.Context(), n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, it)
	return nil
}

// uploadItem registers an item from a photo in the request body. The server hashes
// the photo and discards it; only the signal is stored. The item's description is
// in the query: category, source, reference and profile.
func (s *Server) uploadItem(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	n := dnadb.NewItem{
		Category:  dnadb.Category(q.Get("category")),
		Source:    q.Get("source"),
		Reference: q.Get("reference"),
	}
	// Check the description before reading the photo, so a bad request costs nothing.
	n.Signals = []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: zeroHash, Quality: 100}}
	if _, err := n.Normalize(); err != nil {
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
	it, err := s.store.CreateItem(r.Context(), n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, it)
	return nil
}

func (s *Server) getItem(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	it, err := s.store.Item(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, it)
	return nil
}

// listItems lists items by status, category and source, a page at a time.
func (s *Server) listItems(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	after, err := queryInt(r, "after", 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", dnadb.DefaultPageSize)
	if err != nil {
		return err
	}
	f := dnadb.ItemFilter{
		Status:   dnadb.Status(q.Get("status")),
		Category: dnadb.Category(q.Get("category")),
		Source:   q.Get("source"),
		After:    after,
		Limit:    int(min(limit, dnadb.MaxPageSize+1)),
	}
	items, err := s.store.Items(r.Context(), f)
	if err != nil {
		return err
	}

	list := api.ItemList{Items: items}
	if list.Items == nil {
		list.Items = []dnadb.Item{}
	}
	if len(items) > 0 && len(items) == f.Limit {
		list.NextAfter = items[len(items)-1].ID
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

// decide applies a decision and brings the match index up to date before
// answering, so that a confirmed item matches as soon as the evaluator sees "ok".
func (s *Server) decide(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var d api.Decision
	if err := readJSON(w, r, DefaultMaxBodyBytes, &d); err != nil {
		return err
	}
	it, err := s.store.Decide(r.Context(), id, d.Decision, d.Actor)
	if err != nil {
		return err
	}
	if err := s.matcher.Sync(r.Context()); err != nil {
		// The decision is stored; the background sync will retry the index.
		s.log.Error("index sync after decision", "item", id, "err", err)
	}
	writeJSON(w, http.StatusOK, it)
	return nil
}

// match matches a batch of PDQ hashes.
func (s *Server) match(w http.ResponseWriter, r *http.Request) error {
	var req api.MatchRequest
	if err := readJSON(w, r, DefaultMaxBodyBytes, &req); err != nil {
		return err
	}
	threshold, err := s.threshold(req.Threshold)
	if err != nil {
		return err
	}
	if len(req.Queries) == 0 {
		return dnadb.Errorf(dnadb.ErrInvalid, "queries: empty; send at least one hash")
	}
	if len(req.Queries) > s.cfg.MaxBatch {
		return dnadb.Errorf(dnadb.ErrTooLarge, "queries: %d in one request, limit %d",
			len(req.Queries), s.cfg.MaxBatch)
	}

	// Parse every query before matching any, so a bad one fails the whole batch
	// with a message that names it.
	queries := make([]matcher.Query, len(req.Queries))
	for i, mq := range req.Queries {
		q, err := s.parseQuery(mq)
		if err != nil {
			return dnadb.Errorf(dnadb.KindOf(err), "queries[%d]: %w", i, err)
		}
		queries[i] = q
	}

	resp := api.MatchResponse{Threshold: threshold, Results: make([]api.MatchResult, len(queries))}
	for i, q := range queries {
		resp.Results[i] = api.MatchResult{
			Ref:     req.Queries[i].Ref,
			Hash:    q.Hash.String(),
			Quality: req.Queries[i].Quality,
			Matches: s.matcher.Match(q, threshold),
		}
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// matchUpload matches a photo in the request body, which the server hashes and
// discards. Query parameters: dihedral (true to match rotations and flips too),
// profile and threshold.
func (s *Server) matchUpload(w http.ResponseWriter, r *http.Request) error {
	t, err := queryInt(r, "threshold", 0)
	if err != nil {
		return err
	}
	threshold, err := s.threshold(int(min(t, 1<<20)))
	if err != nil {
		return err
	}
	dihedral, err := queryBool(r, "dihedral")
	if err != nil {
		return err
	}

	photo, err := s.hashBody(r, dihedral)
	if err != nil {
		return err
	}
	if err := s.checkQuality("uploaded photo", photo.Quality); err != nil {
		return err
	}
	quality := photo.Quality
	q := matcher.Query{Hash: photo.Hash, Dihedral: photo.Dihedral}
	writeJSON(w, http.StatusOK, api.MatchResponse{
		Threshold: threshold,
		Results: []api.MatchResult{{
			Ref:     r.URL.Query().Get("ref"),
			Hash:    photo.Hash.String(),
			Quality: &quality,
			Matches: s.matcher.Match(q, threshold),
		}},
	})
	return nil
}

// hashBody fingerprints the photo in the request body under the profile the query
// names.
func (s *Server) hashBody(r *http.Request, dihedral bool) (fingerprint.Photo, error) {
	profile := dnadb.Profile(r.URL.Query().Get("profile"))
	// The decoder stops reading at its own byte limit and reports it.
	return s.hasher(profile, dihedral).Hash("uploaded photo", r.Body)
}

// threshold resolves a request's threshold: zero means the server's own, and a
// request may lower it but never raise it.
func (s *Server) threshold(req int) (int, error) {
	switch {
	case req == 0:
		return s.cfg.Threshold, nil
	case req < 0 || req > s.cfg.Threshold:
		return 0, dnadb.Errorf(dnadb.ErrInvalid, "threshold %d is outside 1..%d", req,
			s.cfg.Threshold)
	}
	return req, nil
}

// parseQuery checks one hash query.
func (s *Server) parseQuery(mq api.MatchQuery) (matcher.Query, error) {
	var q matcher.Query
	h, err := dnadb.ParseHash256(mq.Hash)
	if err != nil {
		return q, err
	}
	q.Hash = h
	if mq.Quality != nil {
		if err := s.checkQuality("hash", *mq.Quality); err != nil {
			return q, err
		}
	}
	if mq.Dihedral == nil {
		return q, nil
	}
	if len(mq.Dihedral) != pdq.NumVariants {
		return q, dnadb.Errorf(dnadb.ErrInvalid, "dihedral: %d hashes, want %d",
			len(mq.Dihedral), pdq.NumVariants)
	}
	var d [pdq.NumVariants]dnadb.Hash256
	for i, v := range mq.Dihedral {
		if d[i], err = dnadb.ParseHash256(v); err != nil {
			return q, dnadb.Errorf(dnadb.ErrInvalid, "dihedral[%d]: %w", i, err)
		}
	}
	if d[0] != h {
		return q, dnadb.Errorf(dnadb.ErrInvalid, "dihedral[0] must equal hash")
	}
	q.Dihedral = &d
	return q, nil
}

// zeroHash is a well-formed placeholder signal value.
const zeroHash = "0000000000000000000000000000000000000000000000000000000000000000"

func signalName(i int) string { return "signals[" + strconv.Itoa(i) + "]" }
