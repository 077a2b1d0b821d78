// Package dnadb is the vocabulary that every other dnadb package speaks: the hash,
// the signal, the item and its status, the change log, the kinds of error, and the
// interfaces of the registry store and the matching index.
//
// Implementations live in packages named for what they are: pdq computes PDQ hashes,
// imagefile decodes images under limits, hamming indexes hashes by Hamming distance,
// sqlstore keeps the registry in SQL, server serves it over HTTP, and client talks to it.
package dnadb

import (
	"context"
	"time"
)

// Category is the kind of material an item is.
type Category string

// The categories an item may have.
const (
	CategoryIllegalFilming Category = "illegal_filming"
	CategoryCSAM           Category = "csam"
	CategorySynthetic      Category = "synthetic"
	CategoryOther          Category = "other"
)

// Categories lists every valid category, in a stable order.
var Categories = []Category{
	CategoryIllegalFilming, CategoryCSAM, CategorySynthetic, CategoryOther,
}

// Valid reports whether c is one of Categories.
func (c Category) Valid() bool {
	for _, v := range Categories {
		if c == v {
			return true
		}
	}
	return false
}

// Status is where an item stands in evaluation. Only confirmed items are matched.
type Status string

// The statuses an item may have.
const (
	StatusPending   Status = "pending"
	StatusConfirmed Status = "confirmed"
	StatusRejected  Status = "rejected"
	StatusWithdrawn Status = "withdrawn"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusConfirmed, StatusRejected, StatusWithdrawn:
		return true
	}
	return false
}

// Decision is what an evaluator or a source decides about an item.
type Decision string

// The decisions that move an item out of pending or out of distribution.
const (
	DecisionConfirm  Decision = "confirm"
	DecisionReject   Decision = "reject"
	DecisionWithdraw Decision = "withdraw"
)

// Status returns the status a decision leads to, and false for an unknown decision.
func (d Decision) Status() (Status, bool) {
	switch d {
	case DecisionConfirm:
		return StatusConfirmed, true
	case DecisionReject:
		return StatusRejected, true
	case DecisionWithdraw:
		return StatusWithdrawn, true
	}
	return "", false
}

// Allowed reports whether an item in status from may take decision d. A pending item
// may be confirmed or rejected; a confirmed item may be rejected on review; any item
// not already withdrawn may be withdrawn by its source. A decision that leaves the
// status unchanged is not allowed, so that the change log records only real changes.
func (d Decision) Allowed(from Status) bool {
	switch d {
	case DecisionConfirm:
		return from == StatusPending
	case DecisionReject:
		return from == StatusPending || from == StatusConfirmed
	case DecisionWithdraw:
		return from != StatusWithdrawn
	}
	return false
}

// SignalType names the algorithm that produced a signal's value.
type SignalType string

// SignalPDQ is Meta's 256-bit PDQ photo hash, written as 64 lowercase hex characters.
const SignalPDQ SignalType = "pdq"

// SignalTypes lists every signal type a store accepts.
var SignalTypes = []SignalType{SignalPDQ, SignalVPDQ, SignalMD5, SignalSHA256}

// Profile names how the pixels were prepared before hashing. Hashes made under
// different profiles of the same image may differ by a few bits.
type Profile string

// The PDQ hashing profiles.
const (
	// ProfileFull hashes the decoded pixels at native size, as python-threatexchange,
	// HMA and the Java port do. It is the default.
	ProfileFull Profile = "full"
	// ProfileCLI512 first squashes an image over 512 px on either side to 512x512 by
	// nearest neighbour, as the reference C++ pdq-photo-hasher does.
	ProfileCLI512 Profile = "cli512"
)

// Valid reports whether p is a known profile.
func (p Profile) Valid() bool { return p == ProfileFull || p == ProfileCLI512 }

// Signal is one fingerprint of an item.
type Signal struct {
	// Type is the algorithm, such as SignalPDQ.
	Type SignalType `json:"type"`
	// Value is the fingerprint in the type's text form.
	Value string `json:"value"`
	// Quality is the hasher's own quality score, 0 to 100.
	Quality int `json:"quality"`
	// Profile is how the pixels were prepared; empty means ProfileFull.
	Profile Profile `json:"profile,omitempty"`
}

// Item is one piece of material known to the registry, with its fingerprints.
type Item struct {
	ID int64 `json:"id"`
	// Category is empty only in the view of known material for a further source.
	Category Category `json:"category,omitempty"`
	// Sources are the organisations that registered the item, the first one
	// first. A view for a consumer or another organisation leaves out the sources
	// it may not see.
	Sources   []Source  `json:"sources,omitempty"`
	Status    Status    `json:"status"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	// DecidedBy is who made the last decision; empty while the item is pending.
	DecidedBy string `json:"decided_by,omitempty"`
	// DecidedAt is when the last decision was made; zero while pending.
	DecidedAt time.Time `json:"decided_at,omitzero"`
	// Signals are the item's fingerprints; a view of known material for a further
	// source leaves them out.
	Signals []Signal `json:"signals,omitempty"`
}

// NewItem is what a source registers: the item's description and its signals.
type NewItem struct {
	Category Category `json:"category"`
	// Source is the name of the registering organisation. Over the API it is the
	// organisation of the caller's token, never a field of the request.
	Source    string   `json:"-"`
	Reference string   `json:"reference,omitempty"`
	Signals   []Signal `json:"signals"`
}

// ChangeKind says what happened to an item.
type ChangeKind string

// The kinds of change recorded in the change log.
const (
	ChangeCreated ChangeKind = "created"
	ChangeDecided ChangeKind = "decided"
	// ChangeSourced means a further organisation registered the item again.
	ChangeSourced ChangeKind = "sourced"
)

// Change is one entry of the ordered change log. Seq increases with every change.
type Change struct {
	Seq    int64      `json:"seq"`
	ItemID int64      `json:"item_id"`
	Kind   ChangeKind `json:"kind"`
	// Status is the item's status after the change.
	Status Status    `json:"status"`
	Actor  string    `json:"actor"`
	At     time.Time `json:"at"`
}

// ItemFilter selects items from a listing. Zero fields select everything.
type ItemFilter struct {
	Status   Status
	Category Category
	// Source selects items that this organisation registered, first or again.
	Source string
	// After returns only items with an id greater than After, for keyset paging.
	After int64
	// Limit caps the number of items returned; zero means DefaultPageSize.
	Limit int
}

// DefaultPageSize and MaxPageSize bound one page of a listing.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// IndexedSignal is a signal of an item, as loaded into a matching index.
type IndexedSignal struct {
	ItemID   int64
	Category Category
	Status   Status
	Signal   Signal
}

// Store keeps the registry. Every method is safe for concurrent use, and every write
// is one transaction: it happens entirely, with its change log entry and its audit
// entry, or not at all. Writes are audited on behalf of the principal in ctx
// (WithPrincipal); without one they are recorded as the operator's.
type Store interface {
	Directory
	AuditLog

	// CreateItem stores a pending item with its signals. It fails with ErrInvalid if
	// the item or a signal is malformed or the source is not a known organisation.
	CreateItem(ctx context.Context, it NewItem) (Item, error)
	// Register stores registrations in one transaction: all of them or, if one
	// fails, none. Under the store's write lock, after every earlier write has
	// committed, it calls known (if not nil) for each registration with the items
	// this call has created so far; if known names an item, the registration is
	// linked to it as a further source (nothing is added if the organisation
	// already stands as one), else it becomes a new item. Each result says which.
	Register(ctx context.Context, items []NewItem, known KnownFunc) ([]Registered, error)
	// AddSource links a further registration of item id by org, with the org's own
	// reference. It fails with ErrNotFound for an unknown item, ErrInvalid for an
	// unknown org and ErrConflict if the org is already a standing source.
	AddSource(ctx context.Context, id int64, org, reference string) (Item, error)
	// WithdrawSource withdraws org's registration of item id. When no other source
	// stands, the item itself is withdrawn, as Decide with DecisionWithdraw does. It
	// fails with ErrNotFound if org is not a standing source of the item.
	WithdrawSource(ctx context.Context, id int64, org string) (Item, error)
	// Item returns one item with its signals, or ErrNotFound.
	Item(ctx context.Context, id int64) (Item, error)
	// Items lists items matching f in ascending id order, with their signals.
	Items(ctx context.Context, f ItemFilter) ([]Item, error)
	// Decide applies d to item id on behalf of actor. It fails with ErrNotFound for an
	// unknown item and ErrConflict when d is not allowed from the item's status.
	Decide(ctx context.Context, id int64, d Decision, actor string) (Item, error)
	// Changes returns up to limit change log entries with Seq greater than after,
	// in ascending order.
	Changes(ctx context.Context, after int64, limit int) ([]Change, error)
	// IndexedSignals returns every signal of type t that belongs to an item in one
	// of the statuses st, and the sequence number of the last change they reflect.
	IndexedSignals(ctx context.Context, t SignalType, st ...Status) ([]IndexedSignal, int64,
		error)
	// Feed returns up to limit entries of the consumer feed, derived from the change
	// log entries with Seq greater than after, all read from one snapshot: a
	// FeedAdd for each confirmation of an item that is still confirmed, and a
	// FeedRemove for each change that moves an item out of confirmed. A
	// confirmation whose item has since left confirmed is skipped, since its removal
	// follows. The page reads only committed changes, and since changes commit in
	// seq order, its Seq never passes a change that is yet to commit. A zero limit
	// means DefaultPageSize. A page may hold fewer entries than limit when it
	// reaches MaxFeedScan changes or MaxFeedBytes of signals; More then says so. It
	// fails with ErrInvalid for a limit outside 0..MaxPageSize, a negative after,
	// and an after beyond the last change, which no page of this store's feed ever
	// returned. For a consumer principal in ctx, the page also carries its
	// organisation's leak markers (see LeakMarker) as adds, counted in the limit.
	Feed(ctx context.Context, after int64, limit int) (FeedPage, error)
	// Distributable calls fn with every confirmed item, in ascending id order, with
	// its category and all its signals, read from one snapshot, and returns the
	// sequence number of the last change that snapshot reflects: the feed read after
	// it holds exactly what changed since. It stops at the first error fn returns
	// and returns that error. For a consumer principal in ctx it also holds the
	// organisation's leak markers, in id order among the items.
	Distributable(ctx context.Context, fn func(FeedItem) error) (int64, error)
	// ReportSightings stores sighting reports in one transaction: all of them or,
	// if one fails, none. A report whose reporter and report id were stored before,
	// or earlier in the same call, is counted as a duplicate and not stored again.
	// It returns how many were stored and how many were duplicates. It fails with
	// ErrInvalid naming the report, as sightings[3], for a malformed report, an
	// unknown reporter, and an item that is unknown or was never confirmed, and
	// with ErrConflict for a report id used before with other content.
	ReportSightings(ctx context.Context, ns []NewSighting) (accepted, duplicates int,
		err error)
	// Circulation counts the sightings of the items f selects, per item and per
	// platform, in ascending item and platform order. It fails with ErrInvalid for
	// a limit outside 0..MaxPageSize.
	Circulation(ctx context.Context, f CirculationFilter) ([]Circulation, error)
	// Stats counts the items by status and category.
	Stats(ctx context.Context) (Stats, error)
	// Close releases the store's resources.
	Close() error
}

// Stats counts the registry's items.
type Stats struct {
	Items      int64              `json:"items"`
	ByStatus   map[Status]int64   `json:"by_status"`
	ByCategory map[Category]int64 `json:"by_category"`
	// Sources counts standing registrations by kind of organisation; an item
	// registered by two agencies counts for both.
	Sources map[OrgKind]int64 `json:"sources"`
}

// KnownFunc reports whether a registration is of material already registered:
// an item of the store, or one of the items created earlier in the same call.
type KnownFunc func(ctx context.Context, n NewItem, created []Item) (id int64, ok bool,
	err error)

// Registered is the outcome of one registration.
type Registered struct {
	Item Item
	// Duplicate is true when the registration was linked to a known item.
	Duplicate bool
}

// Directory keeps the organisations and their tokens.
type Directory interface {
	// CreateOrg adds an organisation. It fails with ErrInvalid for a bad name or
	// kind and ErrConflict if the name is taken.
	CreateOrg(ctx context.Context, name string, kind OrgKind) (Org, error)
	// Orgs lists every organisation in id order.
	Orgs(ctx context.Context) ([]Org, error)
	// Org returns one organisation, or ErrNotFound.
	Org(ctx context.Context, id int64) (Org, error)
	// CreateToken adds a token and returns it with its secret, which is not stored
	// and cannot be shown again. It fails with ErrNotFound for an unknown org and
	// ErrInvalid for a role the org's kind may not hold.
	CreateToken(ctx context.Context, t NewToken) (Token, string, error)
	// Tokens lists the tokens of an organisation, or of all when org is zero.
	Tokens(ctx context.Context, org int64) ([]Token, error)
	// RevokeToken revokes a token at once. It fails with ErrNotFound for an unknown
	// token and ErrConflict if it is already revoked.
	RevokeToken(ctx context.Context, id int64) (Token, error)
	// Authenticate returns the principal a secret belongs to. It fails with
	// ErrUnauthenticated for an unknown, expired or revoked token.
	Authenticate(ctx context.Context, secret string) (Principal, error)
}

// AuditLog keeps the tamper-evident audit trail.
type AuditLog interface {
	// Audit appends an entry to the trail in a transaction of its own.
	Audit(ctx context.Context, rec AuditRecord) error
	// AuditEntries returns up to limit entries with Seq greater than after, in
	// order.
	AuditEntries(ctx context.Context, after int64, limit int) ([]AuditEntry, error)
	// AuditHead returns the sequence number and hash of the last entry appended, as
	// the store records them apart from the trail; zero and AuditGenesis when empty.
	AuditHead(ctx context.Context) (int64, string, error)
}

// Match is a confirmed item that a query matched.
type Match struct {
	ItemID   int64    `json:"item_id"`
	Category Category `json:"category"`
	// Distance is the Hamming distance between the query and the item's closest
	// signal.
	Distance int `json:"distance"`
	// Variant names the dihedral variant of the query that matched: "original" when
	// the photo matched as it is, else "rotate90", "flipx" and so on.
	Variant string `json:"variant"`
}
