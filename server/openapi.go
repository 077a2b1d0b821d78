package server

import (
	_ "embed"
	"net/http"
)

// openapiSpec is the OpenAPI 3 description of the API. TestOpenAPI keeps it true:
// every route the server registers is described, and every described route exists.
//
//go:embed openapi.json
var openapiSpec []byte

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openapiSpec)
	return nil
}
