package agent

import (
	"bytes"
	"crypto/subtle"
	"io"
	"net/http"
	"strconv"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/fingerprint"
	"github.com/dnadb/dnadb/imagefile"
	"github.com/dnadb/dnadb/matcher"
)

// Handler returns the agent's HTTP API: POST /v1/match, POST /v1/match/upload,
// POST /v1/match/video and POST /v1/sightings, with the central server's bodies and error format, and GET
// /healthz. When token is not empty, the other routes want it as a bearer token;
// /healthz never does.
func (a *Agent) Handler(token string) http.Handler {
	mux := http.NewServeMux()
	route := func(pattern string, auth bool, h func(http.ResponseWriter, *http.Request) error) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if auth && token != "" && !bearer(r, token) {
				a.writeError(w, r, dnadb.Errorf(dnadb.ErrUnauthenticated,
					"this agent wants its API token as a bearer token"))
				return
			}
			if err := h(w, r); err != nil {
				a.writeError(w, r, err)
			}
		})
	}
	route("GET /healthz", false, a.health)
	route("POST /v1/match", true, a.match)
	route("POST /v1/match/upload", true, a.matchUpload)
	route("POST /v1/match/video", true, a.matchVideo)
	route("POST /v1/sightings", true, a.sightings)
	route("/", false, func(w http.ResponseWriter, r *http.Request) error {
		return dnadb.Errorf(dnadb.ErrNotFound, "no route %s %s on this agent", r.Method,
			r.URL.Path)
	})
	return mux
}

// bearer reports whether r carries token as its bearer token.
func bearer(r *http.Request, token string) bool {
	got, ok := bytes.CutPrefix([]byte(r.Header.Get("Authorization")), []byte("Bearer "))
	return ok && subtle.ConstantTimeCompare(got, []byte(token)) == 1
}

func (a *Agent) health(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, a.Health())
	return nil
}

// sightings queues sighting reports for the central server, with the body of
// its POST /v1/sightings, and answers 202 at once.
func (a *Agent) sightings(w http.ResponseWriter, r *http.Request) error {
	var req api.SightingsRequest
	if err := readJSON(w, r, DefaultMaxBodyBytes, &req); err != nil {
		return err
	}
	n, err := a.QueueSightings(r.Context(), req.Sightings)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, api.SightingsQueued{Queued: len(req.Sightings),
		Pending: n})
	return nil
}

// match matches a batch of PDQ hashes, as the central server's POST /v1/match.
func (a *Agent) match(w http.ResponseWriter, r *http.Request) error {
	var req api.MatchRequest
	if err := readJSON(w, r, DefaultMaxBodyBytes, &req); err != nil {
		return err
	}
	threshold, err := a.threshold(req.Threshold)
	if err != nil {
		return err
	}
	if len(req.Queries) == 0 {
		return dnadb.Errorf(dnadb.ErrInvalid, "queries: empty; send at least one hash")
	}
	if len(req.Queries) > a.cfg.MaxBatch {
		return dnadb.Errorf(dnadb.ErrTooLarge, "queries: %d in one request, limit %d",
			len(req.Queries), a.cfg.MaxBatch)
	}

	// Parse every query before matching any, so a bad one fails the whole batch.
	queries := make([]matcher.Query, len(req.Queries))
	for i, mq := range req.Queries {
		q, err := a.parseQuery(mq)
		if err != nil {
			return dnadb.Errorf(dnadb.KindOf(err), "queries[%d]: %w", i, err)
		}
		queries[i] = q
	}

	m := a.index.Load()
	resp := api.MatchResponse{Threshold: threshold, Results: make([]api.MatchResult, len(queries))}
	for i, q := range queries {
		resp.Results[i] = api.MatchResult{
			Ref:     req.Queries[i].Ref,
			Hash:    q.Hash.String(),
			Quality: req.Queries[i].Quality,
			Matches: m.Match(q, threshold),
		}
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// matchVideo matches a video by its signals, as the central server's POST
// /v1/match/video: the filter hashes the video itself (dnadb hash, or the vpdq
// package) and sends only its frames and digests.
func (a *Agent) matchVideo(w http.ResponseWriter, r *http.Request) error {
	var req api.VideoMatchRequest
	if err := readJSON(w, r, DefaultMaxBodyBytes, &req); err != nil {
		return err
	}
	threshold, err := a.threshold(req.Threshold)
	if err != nil {
		return err
	}
	sem, name, err := matcher.ParseSemantics(req.Semantics)
	if err != nil {
		return err
	}
	q, err := matcher.ParseVideoRequest(req)
	if err != nil {
		return err
	}
	opts := matcher.VideoOptions{Distance: threshold, QualityFloor: max(a.cfg.QualityFloor, -1),
		Semantics: sem}
	writeJSON(w, http.StatusOK, a.index.Load().VideoAnswer(q, req.Ref, name, opts))
	return nil
}

// matchUpload hashes the photo in the request body, discards it and matches the
// hash, as the central server's POST /v1/match/upload: query parameters
// dihedral, profile, threshold and ref.
func (a *Agent) matchUpload(w http.ResponseWriter, r *http.Request) error {
	t, err := queryInt(r, "threshold")
	if err != nil {
		return err
	}
	threshold, err := a.threshold(int(min(t, 1<<20)))
	if err != nil {
		return err
	}
	dihedral := false
	if v := r.URL.Query().Get("dihedral"); v != "" {
		if dihedral, err = strconv.ParseBool(v); err != nil {
			return dnadb.Errorf(dnadb.ErrInvalid,
				"parameter dihedral=%q is not true or false", v)
		}
	}

	// Hash the photo, read whole up to the decoder's byte limit.
	limit := a.cfg.Decoder.MaxBytes
	if limit <= 0 {
		limit = imagefile.DefaultMaxBytes
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return dnadb.Errorf(dnadb.ErrInvalid, "uploaded photo: %w", err)
	}
	h := fingerprint.Hasher{Decoder: a.cfg.Decoder,
		Profile: dnadb.Profile(r.URL.Query().Get("profile")), Dihedral: dihedral}
	photo, err := h.Hash("uploaded photo", bytes.NewReader(body))
	if err != nil {
		return err
	}
	if err := a.checkQuality("uploaded photo", photo.Quality); err != nil {
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
			Matches: a.index.Load().Match(q, threshold),
		}},
	})
	return nil
}

// writeError answers err with the central server's error body. Internal errors
// are logged in full and reach the caller only as a generic message.
func (a *Agent) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code, name := api.ErrorStatus(err)
	body := api.ErrorBody{Error: api.ErrorDetail{Code: name, Message: err.Error()}}
	if code == http.StatusInternalServerError {
		a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		body.Error.Message = "internal error; the agent log has the details"
	}
	writeJSON(w, code, body)
}

// queryInt parses an optional whole-number query parameter; absent is zero.
func queryInt(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, dnadb.Errorf(dnadb.ErrInvalid, "parameter %s=%q is not a whole number",
			name, v)
	}
	return n, nil
}

// threshold resolves a request's threshold against the agent's own.
func (a *Agent) threshold(req int) (int, error) { return matcher.Threshold(req, a.cfg.Threshold) }

// checkQuality refuses a hash under the agent's quality floor.
func (a *Agent) checkQuality(what string, q int) error {
	return matcher.CheckQuality(what, q, a.cfg.QualityFloor)
}

// parseQuery checks one hash query against the agent's quality floor.
func (a *Agent) parseQuery(mq api.MatchQuery) (matcher.Query, error) {
	return matcher.ParseQuery(mq, a.cfg.QualityFloor)
}

// writeJSON and readJSON are the API's own, under short names.
func writeJSON(w http.ResponseWriter, code int, v any) { api.WriteJSON(w, code, v) }

func readJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	return api.ReadJSON(w, r, limit, v)
}
