package dnadb

import (
	"context"
	"slices"
	"strings"
	"time"
)

// OrgKind is what an organisation is in the regime: who operates, who registers,
// who filters.
type OrgKind string

// The kinds of organisation.
const (
	// OrgCentre is the commission that operates the database and evaluates.
	OrgCentre OrgKind = "centre"
	// OrgPolice registers what its tracking system finds.
	OrgPolice OrgKind = "police"
	// OrgSupport is the victims' support centre, registering deletion requests.
	OrgSupport OrgKind = "support"
	// OrgRegulator registers what its monitoring finds and tests filters.
	OrgRegulator OrgKind = "regulator"
	// OrgVendor is a filtering company, which only consumes.
	OrgVendor OrgKind = "vendor"
	// OrgPlatform is a service that receives orders and filters uploads.
	OrgPlatform OrgKind = "platform"
)

// OrgKinds lists every kind of organisation, in a stable order.
var OrgKinds = []OrgKind{OrgCentre, OrgPolice, OrgSupport, OrgRegulator, OrgVendor, OrgPlatform}

// Valid reports whether k is one of OrgKinds.
func (k OrgKind) Valid() bool { return slices.Contains(OrgKinds, k) }

// Org is an organisation that holds tokens.
type Org struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Kind      OrgKind   `json:"kind"`
	CreatedAt time.Time `json:"created_at"`
}

// Role is a set of permissions a token carries.
type Role string

// The roles. Which actions each allows is the access package's table.
const (
	// RoleAdmin manages organisations and tokens; centre only.
	RoleAdmin Role = "admin"
	// RoleEvaluator decides items; centre only.
	RoleEvaluator Role = "evaluator"
	// RoleContributor registers items and sees its own organisation's items in full.
	RoleContributor Role = "contributor"
	// RoleConsumer matches and reads the feed; it sees only what a filter needs.
	RoleConsumer Role = "consumer"
	// RoleAuditor reads statistics and the audit trail.
	RoleAuditor Role = "auditor"
)

// Roles lists every role, in a stable order.
var Roles = []Role{RoleAdmin, RoleEvaluator, RoleContributor, RoleConsumer, RoleAuditor}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// ParseRoles parses a comma-separated list of roles, refusing unknown and repeated
// ones and an empty list.
func ParseRoles(s string) ([]Role, error) {
	var out []Role
	for _, f := range strings.Split(s, ",") {
		r := Role(strings.TrimSpace(f))
		switch {
		case r == "":
			continue
		case !r.Valid():
			return nil, Errorf(ErrInvalid, "role %q is not one of %v", r, Roles)
		case slices.Contains(out, r):
			return nil, Errorf(ErrInvalid, "role %q is given twice", r)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, Errorf(ErrInvalid, "no roles given; want some of %v", Roles)
	}
	return out, nil
}

// JoinRoles writes roles as the comma-separated list ParseRoles reads.
func JoinRoles(roles []Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

// Token is an access token. Its secret is shown once, when it is created, and
// stored only as a hash.
type Token struct {
	ID      int64  `json:"id"`
	OrgID   int64  `json:"org_id"`
	OrgName string `json:"org"`
	// Name is a label for people, such as "filter-prod" or "evaluator-7".
	Name      string    `json:"name"`
	Roles     []Role    `json:"roles"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is when the token stops working; zero means never.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// RevokedAt is when the token was revoked; zero while it is not.
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// Has reports whether the token carries role r.
func (t Token) Has(r Role) bool { return slices.Contains(t.Roles, r) }

// NewToken is a token to create.
type NewToken struct {
	OrgID int64  `json:"org_id"`
	Name  string `json:"name"`
	Roles []Role `json:"roles"`
	// ExpiresAt is when the token stops working; zero means never.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Principal is who makes a request: a token and its organisation.
type Principal struct {
	Org   Org
	Token Token
}

// Actor names the principal in the change log and on decisions: the
// organisation's name and the token's, as "org/token".
func (p Principal) Actor() string { return p.Org.Name + "/" + p.Token.Name }

// Source is one organisation's registration of an item: the first source
// registered it, further sources sent the same material again.
type Source struct {
	Org string `json:"org"`
	// Reference is the source's own case reference, opaque to dnadb.
	Reference string    `json:"reference,omitempty"`
	AddedAt   time.Time `json:"added_at"`
	// WithdrawnAt is when the source withdrew its registration; zero while it
	// stands.
	WithdrawnAt time.Time `json:"withdrawn_at,omitzero"`
}

// Outcome says how an audited act ended.
type Outcome string

// The outcomes of an audited act.
const (
	OutcomeOK     Outcome = "ok"
	OutcomeDenied Outcome = "denied"
	OutcomeFailed Outcome = "failed"
)

// AuditEntry is one entry of the tamper-evident audit trail. Each entry's Hash
// covers its content and the previous entry's hash, so that altering, inserting or
// removing an entry breaks the chain from there on.
type AuditEntry struct {
	Seq       int64     `json:"seq"`
	At        time.Time `json:"at"`
	OrgID     int64     `json:"org_id"`
	TokenID   int64     `json:"token_id"`
	Action    string    `json:"action"`
	Target    string    `json:"target"`
	RequestID string    `json:"request_id"`
	Outcome   Outcome   `json:"outcome"`
	// PrevHash and Hash are hex SHA-256 digests.
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// AuditRecord is what an act contributes to the trail; the store adds the time,
// the sequence number and the chain.
type AuditRecord struct {
	OrgID     int64
	TokenID   int64
	Action    string
	Target    string
	RequestID string
	Outcome   Outcome
}

type ctxKey int

const (
	principalKey ctxKey = iota
	requestIDKey
)

// WithPrincipal returns a context that carries p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey, p)
}

// PrincipalFrom returns the principal ctx carries, and false if none.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey).(Principal)
	return p, ok
}

// WithRequestID returns a context that carries a request id for the audit trail.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// RequestIDFrom returns the request id ctx carries, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// AuditFor returns the audit record of an act by the principal in ctx, if any.
func AuditFor(ctx context.Context, action, target string, o Outcome) AuditRecord {
	rec := AuditRecord{Action: action, Target: target, Outcome: o,
		RequestID: RequestIDFrom(ctx)}
	if p, ok := PrincipalFrom(ctx); ok {
		rec.OrgID, rec.TokenID = p.Org.ID, p.Token.ID
	}
	return rec
}

// MayHold reports whether an organisation of kind k may hold a token with role r:
// only the centre administers and evaluates, filters consume, and the agencies that
// find material contribute it.
func (k OrgKind) MayHold(r Role) bool {
	switch r {
	case RoleAdmin, RoleEvaluator:
		return k == OrgCentre
	case RoleContributor:
		return k == OrgCentre || k == OrgPolice || k == OrgSupport || k == OrgRegulator
	case RoleConsumer:
		return k == OrgVendor || k == OrgPlatform || k == OrgRegulator || k == OrgCentre
	case RoleAuditor:
		// The trail names who registered what, which the agencies may not learn of
		// each other; only the centre reads it.
		return k == OrgCentre
	}
	return false
}
