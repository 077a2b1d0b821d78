// Package access holds dnadb's permission rules, as one table from roles to
// actions, and enforces them in one place: Store, a decorator around dnadb.Store
// that checks every call against the principal in its context, hides what the
// principal may not see, and writes the audit trail of reads and refusals.
package access

import (
	"context"
	"slices"

	"github.com/dnadb/dnadb"
)

// Action is something a principal may be allowed to do.
type Action string

// The actions. Each route of the API and each method of Store needs one.
const (
	// ManageOrgs is creating and listing organisations and their tokens.
	ManageOrgs Action = "orgs.manage"
	// Register is registering items, and registering known items again.
	Register Action = "items.register"
	// ReadOwn is reading the items the principal's organisation registered.
	ReadOwn Action = "items.read_own"
	// ReadAll is reading every item with every source.
	ReadAll Action = "items.read_all"
	// Decide is confirming, rejecting and withdrawing any item.
	Decide Action = "items.decide"
	// WithdrawOwn is withdrawing the organisation's own registration of an item.
	WithdrawOwn Action = "items.withdraw_own"
	// Match is matching hashes and photos against confirmed items.
	Match Action = "match"
	// ReadFeed is following the feed of distributable signals and reading its
	// snapshot: what a filter needs to match on its own machines.
	ReadFeed Action = "feed.read"
	// ReportSighting is reporting where a filter saw confirmed material.
	ReportSighting Action = "sightings.report"
	// ReadCirculation is reading the counts of sightings per item and platform: of
	// every item with ReadAll, else of the items the organisation registered.
	ReadCirculation Action = "circulation.read"
	// ReadAudit is paging through the audit trail.
	ReadAudit Action = "audit.read"
	// ReadStats is reading counts of items by status, category and source kind.
	ReadStats Action = "stats.read"
	// Authenticated is what any valid token may do, such as asking who it is.
	Authenticated Action = "authenticated"
)

// Permissions is the permission table: the actions each role allows. A token may
// do what any of its roles allows. The README shows the same table.
var Permissions = map[dnadb.Role][]Action{
	dnadb.RoleAdmin:       {ManageOrgs, ReadAudit, ReadStats},
	dnadb.RoleEvaluator:   {ReadAll, Decide, Match, ReadCirculation, ReadStats},
	dnadb.RoleContributor: {Register, ReadOwn, WithdrawOwn, ReadCirculation},
	dnadb.RoleConsumer:    {Match, ReadFeed, ReportSighting},
	dnadb.RoleAuditor:     {ReadAudit, ReadStats},
}

// Actions lists every action, in the order of the table's columns.
var Actions = []Action{
	ManageOrgs, Register, ReadOwn, ReadAll, Decide, WithdrawOwn, Match, ReadFeed,
	ReportSighting, ReadCirculation, ReadAudit, ReadStats,
}

// Allows reports whether a token with roles may do a.
func Allows(roles []dnadb.Role, a Action) bool {
	if a == Authenticated {
		return len(roles) > 0
	}
	for _, r := range roles {
		if slices.Contains(Permissions[r], a) {
			return true
		}
	}
	return false
}

// Check returns the principal in ctx if it may do any of the actions, an error of
// kind ErrUnauthenticated if ctx carries none, and one of kind ErrPermission if it
// may do none of them.
func Check(ctx context.Context, actions ...Action) (dnadb.Principal, error) {
	p, ok := dnadb.PrincipalFrom(ctx)
	if !ok {
		return p, dnadb.Errorf(dnadb.ErrUnauthenticated, "no token: send Authorization: Bearer")
	}
	for _, a := range actions {
		if Allows(p.Token.Roles, a) {
			return p, nil
		}
	}
	return p, dnadb.Errorf(dnadb.ErrPermission, "token %s (roles %s) may not %s",
		p.Actor(), dnadb.JoinRoles(p.Token.Roles), describe(actions))
}

// describe names what a set of actions is for in a refusal.
func describe(actions []Action) string {
	if len(actions) == 0 {
		return "do this"
	}
	s := string(actions[0])
	for _, a := range actions[1:] {
		s += " or " + string(a)
	}
	return s
}
