// Package api defines the JSON bodies of dnadb's HTTP API, version 1, shared by the
// server and the client.
package api

import (
	"time"

	"github.com/dnadb/dnadb"
)

// ItemList is the body of GET /v1/items.
type ItemList struct {
	Items []dnadb.Item `json:"items"`
	// NextAfter is the value of the after parameter that fetches the next page; zero
	// when this page is the last.
	NextAfter int64 `json:"next_after,omitempty"`
}

// Decision is the body of POST /v1/items/{id}/decision. Who decides is the
// caller's token, recorded as "org/token".
type Decision struct {
	Decision dnadb.Decision `json:"decision"`
}

// Registration is the answer to a registration. When the material is already
// known, the registration is linked to the known item as a further source and
// Duplicate is true.
type Registration struct {
	// Item is the new item or, for a duplicate, the known item's id and status
	// and the caller's own source, nothing more.
	Item      dnadb.Item `json:"item"`
	Duplicate bool       `json:"duplicate"`
}

// BatchRequest is the body of POST /v1/items/batch.
type BatchRequest struct {
	Items []dnadb.NewItem `json:"items"`
}

// BatchResponse answers POST /v1/items/batch, one registration per item, in order.
type BatchResponse struct {
	Results []Registration `json:"results"`
}

// NewOrg is the body of POST /v1/orgs.
type NewOrg struct {
	Name string        `json:"name"`
	Kind dnadb.OrgKind `json:"kind"`
}

// OrgList is the body of GET /v1/orgs.
type OrgList struct {
	Orgs []dnadb.Org `json:"orgs"`
}

// NewToken is the body of POST /v1/orgs/{id}/tokens.
type NewToken struct {
	Name  string       `json:"name"`
	Roles []dnadb.Role `json:"roles"`
	// ExpiresAt is when the token stops working; absent means never.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// CreatedToken answers POST /v1/orgs/{id}/tokens. Secret is shown this once.
type CreatedToken struct {
	Token  dnadb.Token `json:"token"`
	Secret string      `json:"secret"`
}

// TokenList is the body of GET /v1/orgs/{id}/tokens.
type TokenList struct {
	Tokens []dnadb.Token `json:"tokens"`
}

// AuditPage is the body of GET /v1/audit.
type AuditPage struct {
	Entries []dnadb.AuditEntry `json:"entries"`
	// NextAfter fetches the next page; zero when this page is the last.
	NextAfter int64 `json:"next_after,omitempty"`
}

// WhoAmI is the body of GET /v1/whoami: the caller's organisation and token.
type WhoAmI struct {
	Org   dnadb.Org   `json:"org"`
	Token dnadb.Token `json:"token"`
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
	// Threshold and QualityFloor are the server's match threshold and the lowest
	// quality it stores or matches, so that clients can drop weak photos first.
	Threshold    int `json:"threshold"`
	QualityFloor int `json:"quality_floor"`
}

// SightingsRequest is the body of POST /v1/sightings.
type SightingsRequest struct {
	Sightings []dnadb.NewSighting `json:"sightings"`
}

// SightingsResponse answers POST /v1/sightings: how many reports were stored, and
// how many had been stored before under the same report id and were not counted
// again.
type SightingsResponse struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
}

// CirculationPage is the body of GET /v1/circulation.
type CirculationPage struct {
	Circulation []dnadb.Circulation `json:"circulation"`
	// NextAfter is the value of the after parameter that fetches the next page;
	// zero when this page is the last.
	NextAfter int64 `json:"next_after,omitempty"`
}
