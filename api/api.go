// Package api defines the JSON bodies of dnadb's HTTP API, version 1, shared by the
// server and the client.
package api

import "github.com/dnadb/dnadb"

// ItemList is the body of GET /v1/items.
type ItemList struct {
	Items []dnadb.Item `json:"items"`
	// NextAfter is the value of the after parameter that fetches the next page; zero
	// when this page is the last.
	NextAfter int64 `json:"next_after,omitempty"`
}

// Decision is the body of POST /v1/items/{id}/decision.
type Decision struct {
	Decision dnadb.Decision `json:"decision"`
	// Actor is who decides, recorded with the item and in the change log.
	Actor string `json:"actor"`
}

// MatchQuery is one photo to match, given by its PDQ hash.
type MatchQuery struct {
	// Ref is the caller's own label for the query, echoed in the result.
	Ref string `json:"ref,omitempty"`
	// Hash is the photo's PDQ hash, 64 hex characters.
	Hash string `json:"hash"`
	// Quality is the photo's PDQ quality, if known; a known quality under the
	// server's floor is refused.
	Quality *int `json:"quality,omitempty"`
	// Dihedral, if given, holds the hashes of the eight dihedral variants in the
	// order original, rotate90, rotate180, rotate270, flipx, flipy, flipplus1,
	// flipminus1; they are then matched too.
	Dihedral []string `json:"dihedral,omitempty"`
}

// MatchRequest is the body of POST /v1/match.
type MatchRequest struct {
	Queries []MatchQuery `json:"queries"`
	// Threshold lowers the largest distance that counts as a match; zero or absent
	// means the server's threshold, which cannot be raised.
	Threshold int `json:"threshold,omitempty"`
}

// MatchResult is the answer for one query.
type MatchResult struct {
	Ref     string        `json:"ref,omitempty"`
	Hash    string        `json:"hash"`
	Quality *int          `json:"quality,omitempty"`
	Matches []dnadb.Match `json:"matches"`
}

// MatchResponse is the body answering POST /v1/match and POST /v1/match/upload.
type MatchResponse struct {
	Threshold int           `json:"threshold"`
	Results   []MatchResult `json:"results"`
}

// Health is the body of GET /healthz.
type Health struct {
	Status string `json:"status"`
	// IndexSize is the number of hashes the matcher holds.
	IndexSize int `json:"index_size"`
	// Seq is the last change log entry the index reflects.
	Seq int64 `json:"seq"`
}
