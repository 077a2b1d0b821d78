package matcher

import (
	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/pdq"
)

// Threshold resolves a request's threshold against the largest one allowed, own:
// zero means own, and a request may lower it but never raise it.
func Threshold(req, own int) (int, error) {
	switch {
	case req == 0:
		return own, nil
	case req < 0 || req > own:
		return 0, dnadb.Errorf(dnadb.ErrInvalid, "threshold %d is outside 1..%d", req, own)
	}
	return req, nil
}

// CheckQuality refuses a hash of quality q under floor; what names it in the error.
func CheckQuality(what string, q, floor int) error {
	if q < floor {
		return dnadb.Errorf(dnadb.ErrLowQuality,
			"%s: quality %d is under the floor %d; a hash this weak matches unrelated photos",
			what, q, floor)
	}
	return nil
}

// ParseQuery checks one hash query of a match request against the quality floor
// and returns it as a Query.
func ParseQuery(mq api.MatchQuery, floor int) (Query, error) {
	var q Query
	h, err := dnadb.ParseHash256(mq.Hash)
	if err != nil {
		return q, err
	}
	q.Hash = h
	if mq.Quality != nil {
		if v := *mq.Quality; v < 0 || v > 100 {
			return q, dnadb.Errorf(dnadb.ErrInvalid, "quality %d is outside 0..100", v)
		}
		if err := CheckQuality("hash", *mq.Quality, floor); err != nil {
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
