package dnadb

import "time"

// A filter that blocks, flags or removes an upload of confirmed material reports a
// sighting of it, so that the police and the centre see where material circulates.
// Reports carry an id of the reporter's choosing, so that a report sent again after
// a lost answer is counted once.

// SightingAction is what a filter did with the material it saw.
type SightingAction string

// The actions a sighting may report.
const (
	SightingBlocked SightingAction = "blocked"
	SightingFlagged SightingAction = "flagged"
	SightingRemoved SightingAction = "removed"
)

// SightingActions lists every sighting action, in a stable order.
var SightingActions = []SightingAction{SightingBlocked, SightingFlagged, SightingRemoved}

// Valid reports whether a is one of SightingActions.
func (a SightingAction) Valid() bool {
	return a == SightingBlocked || a == SightingFlagged || a == SightingRemoved
}

// Limits on one sighting report.
const (
	MaxReportIDLen = 100
	MaxPlatformLen = 200
	MaxWhereLen    = 2000
	// MaxSightings caps the reports of one call to ReportSightings.
	MaxSightings = 1000
)

// NewSighting is one report of confirmed material seen on a service.
type NewSighting struct {
	// ReportID is the reporter's own id of the report, opaque to dnadb. A report
	// with an id the reporter used before is the same report sent again.
	ReportID string `json:"report_id"`
	ItemID   int64  `json:"item_id"`
	// Platform names the service or the owner of the content location, when it
	// is not the reporting organisation itself; empty means the reporter.
	Platform string `json:"platform,omitempty"`
	// Where is the URL or the platform's own id of the content.
	Where string `json:"where"`
	// SeenAt is when the material was seen.
	SeenAt time.Time      `json:"seen_at"`
	Action SightingAction `json:"action"`
	// Reporter is the name of the reporting organisation. Over the API it is the
	// organisation of the caller's token, never a field of the request.
	Reporter string `json:"-"`
}

// Normalize checks a sighting report and returns it with its time in UTC to the
// microsecond, as stored. It fails with ErrInvalid naming the field at fault.
func (n NewSighting) Normalize() (NewSighting, error) {
	switch {
	case n.ReportID == "":
		return n, Errorf(ErrInvalid, "report_id is missing")
	case len(n.ReportID) > MaxReportIDLen:
		return n, Errorf(ErrInvalid, "report_id is %d bytes, limit %d", len(n.ReportID),
			MaxReportIDLen)
	case n.ItemID <= 0:
		return n, Errorf(ErrInvalid, "item_id %d is not an item id", n.ItemID)
	case len(n.Platform) > MaxPlatformLen:
		return n, Errorf(ErrInvalid, "platform is %d bytes, limit %d", len(n.Platform),
			MaxPlatformLen)
	case n.Where == "":
		return n, Errorf(ErrInvalid, "where is missing")
	case len(n.Where) > MaxWhereLen:
		return n, Errorf(ErrInvalid, "where is %d bytes, limit %d", len(n.Where), MaxWhereLen)
	case n.SeenAt.IsZero():
		return n, Errorf(ErrInvalid, "seen_at is missing")
	case !n.Action.Valid():
		return n, Errorf(ErrInvalid, "action %q is not one of %v", n.Action, SightingActions)
	}
	for _, f := range []struct{ name, text string }{
		{"report_id", n.ReportID}, {"platform", n.Platform}, {"where", n.Where},
	} {
		if err := CheckText(f.name, f.text); err != nil {
			return n, err
		}
	}
	n.SeenAt = n.SeenAt.UTC().Truncate(time.Microsecond)
	return n, nil
}

// Circulation counts the sightings of one item on one platform.
type Circulation struct {
	ItemID   int64  `json:"item_id"`
	Platform string `json:"platform"`
	// Sightings counts every report; Blocked, Flagged and Removed count them by
	// action.
	Sightings int64 `json:"sightings"`
	Blocked   int64 `json:"blocked"`
	Flagged   int64 `json:"flagged"`
	Removed   int64 `json:"removed"`
	// FirstSeen and LastSeen are the earliest and the latest time seen reported.
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// CirculationFilter selects the circulation of items. Zero fields select
// everything.
type CirculationFilter struct {
	ItemID   int64
	Platform string
	// Source selects items that this organisation registered, first or again.
	Source string
	// After returns only items with an id greater than After, for keyset paging.
	After int64
	// Limit caps the number of items, not rows, returned; zero means
	// DefaultPageSize.
	Limit int
}
