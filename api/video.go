package api

import "github.com/dnadb/dnadb"

// VideoMatchRequest is the body of POST /v1/match/video: one video, fingerprinted
// by the caller.
type VideoMatchRequest struct {
	// Ref is the caller's own label for the video, echoed in the answer.
	Ref string `json:"ref,omitempty"`
	// VPDQ is the video's vPDQ signal in the reference text form, one line per
	// frame: "frameNumber,quality,pdqHex,timestamp".
	VPDQ string `json:"vpdq,omitempty"`
	// MD5 and SHA256 are the file's digests in hex, if known: they find exact
	// copies even when no frame can be compared.
	MD5    string `json:"md5,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	// Semantics selects whose percentages are reported: "pytx" (the default,
	// python-threatexchange: <= threshold, identical hashes counted once) or
	// "cpp" (the C++ reference: < threshold, no de-duplication).
	Semantics string `json:"semantics,omitempty"`
	// Threshold lowers the largest frame distance that counts as a match; zero
	// means the server's.
	Threshold int `json:"threshold,omitempty"`
}

// VideoMatchResponse answers POST /v1/match/video and /v1/match/video/upload.
type VideoMatchResponse struct {
	Ref       string `json:"ref,omitempty"`
	Threshold int    `json:"threshold"`
	Semantics string `json:"semantics"`
	// Frames is the number of query frames that could take part (of at least the
	// quality floor).
	Frames  int          `json:"frames"`
	Matches []VideoMatch `json:"matches"`
}

// VideoMatch is a confirmed video item the query matched: as a whole, in
// segments, or as an exact copy of the file.
type VideoMatch struct {
	ItemID   int64          `json:"item_id"`
	Category dnadb.Category `json:"category"`
	// QueryPercent is the share of the query's frames that match the item's, and
	// ComparedPercent the share of the item's frames that match the query's.
	QueryPercent    float64 `json:"query_percent"`
	ComparedPercent float64 `json:"compared_percent"`
	// Segments are where the two match, as time ranges in both.
	Segments []Segment `json:"segments"`
	// Exact is true when the query's file digest equals the item's.
	Exact bool `json:"exact,omitempty"`
}

// Segment is a stretch of the query matching a stretch of the item, in seconds.
type Segment struct {
	QueryStart float64 `json:"query_start"`
	QueryEnd   float64 `json:"query_end"`
	ItemStart  float64 `json:"item_start"`
	ItemEnd    float64 `json:"item_end"`
	// Frames is the number of matched query frames in the segment.
	Frames       int     `json:"frames"`
	MeanDistance float64 `json:"mean_distance"`
}
