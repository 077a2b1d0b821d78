package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
)

// writeError writes err as an error response. Internal errors are logged in full
// and reach the client only as a generic message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code, body := s.errorBody(r, err)
	writeJSON(w, code, body)
}

// errorBody returns the status and body that answer err, logging an internal
// error in full.
func (s *Server) errorBody(r *http.Request, err error) (int, api.ErrorBody) {
	// A caller that went away is not a fault of ours: its answer is never read.
	if r.Context().Err() != nil && errors.Is(err, r.Context().Err()) {
		err = dnadb.Errorf(dnadb.ErrInvalid, "request ended by the caller: %w", err)
	}
	code, name := api.ErrorStatus(err)
	body := api.ErrorBody{Error: api.ErrorDetail{Code: name, Message: err.Error()}}
	if code == http.StatusInternalServerError {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		body.Error.Message = "internal error; the server log has the details"
	}
	return code, body
}

// queryInt parses an optional integer query parameter.
func queryInt(r *http.Request, name string, def int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, dnadb.Errorf(dnadb.ErrInvalid, "parameter %s=%q is not a whole number",
			name, v)
	}
	return n, nil
}

// queryPage parses the after and limit parameters of a listing: after a
// position, zero by default, and 1 to dnadb.MaxPageSize entries, DefaultPageSize
// by default.
func queryPage(r *http.Request) (after, limit int64, err error) {
	if after, err = queryInt(r, "after", 0); err != nil {
		return 0, 0, err
	}
	limit, err = queryLimit(r)
	return after, limit, err
}

// queryLimit parses the limit parameter of a listing, as queryPage does.
func queryLimit(r *http.Request) (int64, error) {
	limit, err := queryInt(r, "limit", dnadb.DefaultPageSize)
	if err != nil {
		return 0, err
	}
	if limit == 0 || limit > dnadb.MaxPageSize {
		return 0, dnadb.Errorf(dnadb.ErrInvalid, "parameter limit=%d is outside 1..%d", limit,
			dnadb.MaxPageSize)
	}
	return limit, nil
}

// queryBool parses an optional boolean query parameter.
func queryBool(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, dnadb.Errorf(dnadb.ErrInvalid, "parameter %s=%q is not true or false",
			name, v)
	}
	return b, nil
}

// statusRecorder remembers the status a handler wrote, for the access log.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

// recoverPanic turns a handler panic into a logged 500, so no panic reaches a user.
func (s *Server) recoverPanic(w http.ResponseWriter, r *http.Request) {
	if v := recover(); v != nil {
		if v == http.ErrAbortHandler {
			panic(v)
		}
		s.log.Error("handler panic", "method", r.Method, "path", r.URL.Path,
			"panic", fmt.Sprint(v))
		s.writeError(w, r, fmt.Errorf("panic: %v", v))
	}
}

// logRequest is the access log line of one request.
func (s *Server) logRequest(r *http.Request, code int, elapsed any) {
	attrs := []slog.Attr{
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", code), slog.Any("elapsed", elapsed),
		slog.String("request_id", dnadb.RequestIDFrom(r.Context())),
	}
	if p, ok := dnadb.PrincipalFrom(r.Context()); ok {
		attrs = append(attrs, slog.String("actor", p.Actor()))
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
}

// writeJSON and readJSON are the API's own, under short names.
func writeJSON(w http.ResponseWriter, code int, v any) { api.WriteJSON(w, code, v) }

func readJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	return api.ReadJSON(w, r, limit, v)
}
