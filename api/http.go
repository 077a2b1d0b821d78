package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/dnadb/dnadb"
)

// WriteJSON writes v as an indented JSON response with the given status.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// ReadJSON decodes a JSON request body into v, refusing unknown fields, trailing
// data and bodies over limit bytes, with errors of the dnadb kinds that name the
// problem.
func ReadJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return dnadb.Errorf(dnadb.ErrTooLarge, "request body is over %d bytes", limit)
		}
		if errors.Is(err, io.EOF) {
			return dnadb.Errorf(dnadb.ErrInvalid, "request body is empty; want JSON")
		}
		return dnadb.Errorf(dnadb.ErrInvalid, "request body: %v", err)
	}
	if dec.More() {
		return dnadb.Errorf(dnadb.ErrInvalid, "request body: data after the JSON value")
	}
	return nil
}
