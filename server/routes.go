package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/access"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/fingerprint"
	"github.com/dnadb/dnadb/imagefile"
	"github.com/dnadb/dnadb/matcher"
)

// route is one endpoint: its pattern, the actions that allow it (any one of them
// will do; none means the route is public), and its handler.
type route struct {
	pattern string
	actions []access.Action
	handler func(http.ResponseWriter, *http.Request) error
}

// table lists every endpoint and what it needs. It is the only place where a route
// is tied to a permission.
func (s *Server) table() []route {
	a := func(actions ...access.Action) []access.Action { return actions }
	return []route{
		{"GET /healthz", nil, s.health},
		{"GET /openapi.json", nil, s.openapi},
		{"GET /metrics", nil, s.serveMetrics},
		{"GET /v1/whoami", a(access.Authenticated), s.whoami},
		{"POST /v1/items", a(access.Register), s.createItem},
		{"POST /v1/items/batch", a(access.Register), s.createBatch},
		{"POST /v1/items/upload", a(access.Register), s.uploadItem},
		{"GET /v1/items", a(access.ReadAll, access.ReadOwn), s.listItems},
		{"GET /v1/items/{id}", a(access.ReadAll, access.ReadOwn), s.getItem},
		{"POST /v1/items/{id}/decision", a(access.Decide, access.WithdrawOwn), s.decide},
		{"POST /v1/match", a(access.Match), s.match},
		{"POST /v1/match/upload", a(access.Match), s.matchUpload},
		{"POST /v1/match/video", a(access.Match), s.matchVideo},
		{"POST /v1/match/video/upload", a(access.Match), s.matchVideoUpload},
		{"GET /v1/feed", a(access.ReadFeed), s.feed},
		{"GET /v1/feed/snapshot", a(access.ReadFeed), s.feedSnapshot},
		{"POST /v1/sightings", a(access.ReportSighting), s.reportSightings},
		{"GET /v1/circulation", a(access.ReadCirculation), s.circulation},
		{"GET /v1/orgs", a(access.ManageOrgs), s.listOrgs},
		{"POST /v1/orgs", a(access.ManageOrgs), s.createOrg},
		{"GET /v1/orgs/{id}/tokens", a(access.ManageOrgs), s.listTokens},
		{"POST /v1/orgs/{id}/tokens", a(access.ManageOrgs), s.createToken},
		{"POST /v1/tokens/{id}/revoke", a(access.ManageOrgs), s.revokeToken},
		{"GET /v1/audit", a(access.ReadAudit), s.auditPage},
		{"GET /v1/stats", a(access.ReadStats), s.stats},
	}
}

// Patterns returns the pattern of every route the server serves, such as
// "POST /v1/match".
func (s *Server) Patterns() []string {
	out := make([]string, len(s.routes))
	for i, rt := range s.routes {
		out[i] = rt.pattern
	}
	return out
}

// mux registers every route behind the request pipeline: a request id, the access
// log and metrics, panic recovery, authentication, the rate limit and the route's
// permission check. Handlers return an error, which one function turns into the
// response.
func (s *Server) mux() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes {
		mux.HandleFunc(rt.pattern, func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
			r = r.WithContext(dnadb.WithRequestID(r.Context(), requestID(r)))
			rec.Header().Set("X-Request-Id", dnadb.RequestIDFrom(r.Context()))
			defer func() {
				elapsed := time.Since(start)
				s.metrics.observe(rt.pattern, rec.code, elapsed)
				s.logRequest(r, rec.code, elapsed)
			}()
			defer s.recoverPanic(rec, r)

			// A query string that does not parse is refused, rather than read with
			// its broken parameters silently dropped.
			if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
				s.writeError(rec, r, dnadb.Errorf(dnadb.ErrInvalid, "query string: %v", err))
				return
			}
			if rt.actions != nil {
				ctx, err := s.admit(rec, r, rt)
				if err != nil {
					s.writeError(rec, r, err)
					return
				}
				r = r.WithContext(ctx)
			}
			if err := rt.handler(rec, r); err != nil {
				s.writeError(rec, r, err)
			}
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, pattern := mux.Handler(r); pattern == "" {
			w.Header().Set("X-Request-Id", requestID(r))
			s.noRoute(w, r, h)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// admit authenticates a request's bearer token, applies the token's rate limit and
// checks the route's permission, returning a context that carries the principal.
// A refusal is written to the audit trail.
func (s *Server) admit(w http.ResponseWriter, r *http.Request,
	rt route) (context.Context, error) {
	ctx := r.Context()
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || secret == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="dnadb"`)
		return ctx, s.stray(w, r, dnadb.Errorf(dnadb.ErrUnauthenticated,
			"%s needs a token: send Authorization: Bearer TOKEN", r.URL.Path))
	}
	p, err := s.raw.Authenticate(ctx, strings.TrimSpace(secret))
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="dnadb", error="invalid_token"`)
		if dnadb.KindOf(err) == dnadb.ErrUnauthenticated {
			err = s.stray(w, r, err)
		}
		return ctx, err
	}
	ctx = dnadb.WithPrincipal(ctx, p)

	if wait, ok := s.limits.allow(p.Token.ID); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return ctx, dnadb.Errorf(dnadb.ErrRateLimited,
			"token %s is over its limit of %g requests a second; retry in %s",
			p.Actor(), s.cfg.Rate, wait.Round(time.Millisecond))
	}

	if _, err := access.Check(ctx, rt.actions...); err != nil {
		rec := dnadb.AuditFor(ctx, "request", rt.pattern, dnadb.OutcomeDenied)
		if aerr := s.raw.Audit(ctx, rec); aerr != nil {
			return ctx, aerr
		}
		return ctx, err
	}
	return ctx, nil
}

// stray handles a request refused for want of a valid token. Such refusals are
// not written to the audit trail, where anyone could flood it; they are logged,
// counted, and limited per client address, so that guessing tokens is slow.
func (s *Server) stray(w http.ResponseWriter, r *http.Request, refusal error) error {
	addr, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		addr = r.RemoteAddr
	}
	s.log.Warn("refused without a valid token", "addr", addr, "path", r.URL.Path,
		"request_id", dnadb.RequestIDFrom(r.Context()), "err", refusal)
	if wait, ok := s.strays.allow(addr); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return dnadb.Errorf(dnadb.ErrRateLimited,
			"too many requests without a valid token from %s; retry in %s", addr,
			wait.Round(time.Millisecond))
	}
	return refusal
}

// requestID returns the caller's X-Request-Id if it is sensible, else a new one.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 64 &&
		!strings.ContainsFunc(id, func(c rune) bool { return c < '!' || c > '~' }) {
		return id
	}
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// noRoute answers a request that matches no route with a JSON error body, keeping
// the status the mux chose (404, or 405 with its Allow header).
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request, h http.Handler) {
	probe := &headerProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	for _, k := range []string{"Allow", "Location"} {
		if v := probe.header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	code := probe.code
	if code == 0 {
		code = http.StatusNotFound
	}
	msg := fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path)
	if loc := probe.header.Get("Location"); loc != "" {
		msg = fmt.Sprintf("%s is not a clean path; see %s", r.URL.Path, loc)
	}
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
		Status:       "ok",
		IndexSize:    s.matcher.Len(),
		Seq:          s.matcher.Seq(),
		Threshold:    s.cfg.Threshold,
		QualityFloor: max(s.cfg.QualityFloor, 0),
	})
	return nil
}

func (s *Server) getItem(w http.ResponseWriter, r *http.Request) error {
	id, err := pathInt(r, "item")
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
	after, limit, err := queryPage(r)
	if err != nil {
		return err
	}
	f := dnadb.ItemFilter{
		Status:   dnadb.Status(q.Get("status")),
		Category: dnadb.Category(q.Get("category")),
		Source:   q.Get("source"),
		After:    after,
		Limit:    int(limit),
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
	id, err := pathInt(r, "item")
	if err != nil {
		return err
	}
	var d api.Decision
	if err := readJSON(w, r, DefaultMaxBodyBytes, &d); err != nil {
		return err
	}
	it, err := s.store.Decide(r.Context(), id, d.Decision, "")
	if err != nil {
		return err
	}
	for _, m := range []*matcher.Matcher{s.matcher, s.known} {
		if err := m.Sync(r.Context()); err != nil {
			// The decision is stored; the background sync will retry the index.
			s.log.Error("index sync after decision", "item", id, "err", err)
		}
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
			Matches: s.matchAs(r.Context(), q, threshold),
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
			Matches: s.matchAs(r.Context(), q, threshold),
		}},
	})
	return nil
}

// hashBody fingerprints the photo in the request body under the profile the query
// names.
func (s *Server) hashBody(r *http.Request, dihedral bool) (fingerprint.Photo, error) {
	profile := dnadb.Profile(r.URL.Query().Get("profile"))

	// Read the whole photo first, up to the decoder's byte limit, so that a slow
	// sender holds no decode slot while its bytes trickle in.
	limit := s.cfg.Decoder.MaxBytes
	if limit <= 0 {
		limit = imagefile.DefaultMaxBytes
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return fingerprint.Photo{}, dnadb.Errorf(dnadb.ErrInvalid, "uploaded photo: %w", err)
	}

	// Wait for a decode slot, so that a burst of large photos cannot exhaust
	// memory; a caller that gives up waiting frees its place in the queue.
	release, err := slot(r.Context(), s.decodes, "uploaded photo")
	if err != nil {
		return fingerprint.Photo{}, err
	}
	defer release()

	// The decoder checks the byte limit again and reports it.
	return s.hasher(profile, dihedral).Hash("uploaded photo", bytes.NewReader(body))
}

// zeroHash is a well-formed placeholder signal value.
const zeroHash = "0000000000000000000000000000000000000000000000000000000000000000"

func signalName(i int) string { return "signals[" + strconv.Itoa(i) + "]" }

// threshold resolves a request's threshold against the server's own.
func (s *Server) threshold(req int) (int, error) { return matcher.Threshold(req, s.cfg.Threshold) }

// parseQuery checks one hash query against the server's quality floor.
func (s *Server) parseQuery(mq api.MatchQuery) (matcher.Query, error) {
	return matcher.ParseQuery(mq, s.cfg.QualityFloor)
}
