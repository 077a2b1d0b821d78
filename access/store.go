package access

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dnadb/dnadb"
)

// Store is a dnadb.Store that enforces the permission table on every call, on
// behalf of the principal in the call's context. Contributors see only their own
// organisation's items and sources; every read of an item's sources and every
// refusal is written to the audit trail. The inner store is never reachable
// through it.
type Store struct {
	inner dnadb.Store
}

var _ dnadb.Store = (*Store)(nil)

// New returns a Store guarding inner.
func New(inner dnadb.Store) *Store { return &Store{inner: inner} }

// check is Check that also records a refusal in the audit trail.
func (s *Store) check(ctx context.Context, what, target string,
	actions ...Action) (dnadb.Principal, error) {
	p, err := Check(ctx, actions...)
	if errors.Is(err, dnadb.ErrPermission) {
		s.inner.Audit(ctx, dnadb.AuditFor(ctx, what, target, dnadb.OutcomeDenied))
	}
	return p, err
}

// failed records an act that was allowed but did not succeed, such as a decision
// that conflicts with the item's status. Failures of our own making are not the
// caller's acts and are left to the server log.
func (s *Store) failed(ctx context.Context, what, target string, err error) error {
	if k := dnadb.KindOf(err); k != nil {
		s.inner.Audit(ctx, dnadb.AuditFor(ctx, what, target, dnadb.OutcomeFailed))
	}
	return err
}

// CreateItem registers an item as the caller's organisation.
func (s *Store) CreateItem(ctx context.Context, n dnadb.NewItem) (dnadb.Item, error) {
	p, err := s.check(ctx, "item.create", "", Register)
	if err != nil {
		return dnadb.Item{}, err
	}
	n.Source = p.Org.Name
	it, err := s.inner.CreateItem(ctx, n)
	if err != nil {
		return it, s.failed(ctx, "item.create", "", err)
	}
	return View(p, it), nil
}

// Register registers items as the caller's organisation.
func (s *Store) Register(ctx context.Context, ns []dnadb.NewItem,
	known dnadb.KnownFunc) ([]dnadb.Registered, error) {
	p, err := s.check(ctx, "item.create", "", Register)
	if err != nil {
		return nil, err
	}
	own := make([]dnadb.NewItem, len(ns))
	for i, n := range ns {
		n.Source = p.Org.Name
		own[i] = n
	}
	regs, err := s.inner.Register(ctx, own, known)
	if err != nil {
		return nil, s.failed(ctx, "item.create", "", err)
	}
	for i := range regs {
		regs[i].Item = View(p, regs[i].Item)
		if regs[i].Duplicate {
			regs[i].Item = Known(regs[i].Item)
		}
	}
	return regs, nil
}

// Known is what a contributor learns when it registers material that is already
// known: the item's id and status and its own source, nothing of the registration
// that came first, not even its category or fingerprints.
func Known(it dnadb.Item) dnadb.Item {
	return dnadb.Item{ID: it.ID, Status: it.Status, Sources: it.Sources}
}

// AddSource registers a known item again as the caller's organisation; org is
// ignored.
func (s *Store) AddSource(ctx context.Context, id int64, _, ref string) (dnadb.Item, error) {
	target := target(id)
	p, err := s.check(ctx, "item.source", target, Register)
	if err != nil {
		return dnadb.Item{}, err
	}
	it, err := s.inner.AddSource(ctx, id, p.Org.Name, ref)
	if err != nil {
		return it, s.failed(ctx, "item.source", target, err)
	}
	return View(p, it), nil
}

// WithdrawSource withdraws the caller's organisation's registration; org is
// ignored.
func (s *Store) WithdrawSource(ctx context.Context, id int64, _ string) (dnadb.Item, error) {
	target := target(id)
	p, err := s.check(ctx, "item.source.withdraw", target, WithdrawOwn)
	if err != nil {
		return dnadb.Item{}, err
	}
	// An item the caller may not see is not found, as in Item, so that trying to
	// withdraw it does not disclose that it exists.
	if _, err := s.visible(ctx, p, id); err != nil {
		return dnadb.Item{}, s.failed(ctx, "item.source.withdraw", target, err)
	}
	it, err := s.inner.WithdrawSource(ctx, id, p.Org.Name)
	if err != nil {
		return it, s.failed(ctx, "item.source.withdraw", target, err)
	}
	return View(p, it), nil
}

// visible returns item id if p may see it, and reports it not found otherwise, so
// that its existence is not disclosed.
func (s *Store) visible(ctx context.Context, p dnadb.Principal, id int64) (dnadb.Item, error) {
	it, err := s.inner.Item(ctx, id)
	if err == nil && !Sees(p, it) {
		err = dnadb.Errorf(dnadb.ErrNotFound, "item %d not found", id)
	}
	return it, err
}

// Item returns one item as the caller may see it. An item the caller may not see
// is reported as not found, so that its existence is not disclosed.
func (s *Store) Item(ctx context.Context, id int64) (dnadb.Item, error) {
	target := target(id)
	p, err := s.check(ctx, "item.read", target, ReadAll, ReadOwn)
	if err != nil {
		return dnadb.Item{}, err
	}
	it, err := s.visible(ctx, p, id)
	if err != nil {
		return dnadb.Item{}, s.failed(ctx, "item.read", target, err)
	}

	// Reading an item discloses its sources and references: audit it.
	if err := s.inner.Audit(ctx, dnadb.AuditFor(ctx, "item.read", target,
		dnadb.OutcomeOK)); err != nil {
		return dnadb.Item{}, fmt.Errorf("item %d: %w", id, err)
	}
	return View(p, it), nil
}

// Items lists items as the caller may see them: a contributor's own organisation's
// only, whatever source the filter names.
func (s *Store) Items(ctx context.Context, f dnadb.ItemFilter) ([]dnadb.Item, error) {
	p, err := s.check(ctx, "item.list", "", ReadAll, ReadOwn)
	if err != nil {
		return nil, err
	}
	if !Allows(p.Token.Roles, ReadAll) {
		if f.Source != "" && f.Source != p.Org.Name {
			return []dnadb.Item{}, nil
		}
		f.Source = p.Org.Name
	}
	items, err := s.inner.Items(ctx, f)
	if err != nil {
		return nil, err
	}
	if err := s.inner.Audit(ctx, dnadb.AuditFor(ctx, "item.list", listTarget(f),
		dnadb.OutcomeOK)); err != nil {
		return nil, fmt.Errorf("list items: %w", err)
	}
	for i := range items {
		items[i] = View(p, items[i])
	}
	return items, nil
}

// Decide applies a decision as the caller. An evaluator may take any decision; a
// contributor may only withdraw, which withdraws its own registration and the item
// with its last source. The actor argument is ignored: the actor is the caller.
func (s *Store) Decide(ctx context.Context, id int64, d dnadb.Decision,
	_ string) (dnadb.Item, error) {
	target := target(id)
	if _, ok := d.Status(); !ok {
		return dnadb.Item{}, dnadb.Errorf(dnadb.ErrInvalid,
			"decision %q is not confirm, reject or withdraw", d)
	}
	actions := []Action{Decide}
	if d == dnadb.DecisionWithdraw {
		actions = append(actions, WithdrawOwn)
	}
	p, err := s.check(ctx, "item."+string(d), target, actions...)
	if err != nil {
		return dnadb.Item{}, err
	}
	if !Allows(p.Token.Roles, Decide) {
		return s.WithdrawSource(ctx, id, "")
	}
	it, err := s.inner.Decide(ctx, id, d, p.Actor())
	if err != nil {
		return it, s.failed(ctx, "item."+string(d), target, err)
	}
	return View(p, it), nil
}

// Changes returns the change log to evaluators, with every actor.
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]dnadb.Change, error) {
	if _, err := s.check(ctx, "changes.read", "", ReadAll); err != nil {
		return nil, err
	}
	return s.inner.Changes(ctx, after, limit)
}

// IndexedSignals returns signals to evaluators, who may read every item.
func (s *Store) IndexedSignals(ctx context.Context, t dnadb.SignalType,
	st ...dnadb.Status) ([]dnadb.IndexedSignal, int64, error) {
	if _, err := s.check(ctx, "signals.read", "", ReadAll); err != nil {
		return nil, 0, err
	}
	return s.inner.IndexedSignals(ctx, t, st...)
}

// Feed returns a page of the consumer feed, for consumers. Its entries hold item
// ids, categories and signals only, so there is nothing to hide from them; pages
// are not audited, since a filter asks for one every few seconds.
func (s *Store) Feed(ctx context.Context, after int64, limit int) (dnadb.FeedPage, error) {
	if _, err := s.check(ctx, "feed.read", "", ReadFeed); err != nil {
		return dnadb.FeedPage{}, err
	}
	return s.inner.Feed(ctx, after, limit)
}

// Distributable streams the distributable set, for consumers. Taking a whole copy
// of the set is audited.
func (s *Store) Distributable(ctx context.Context, fn func(dnadb.FeedItem) error) (int64,
	error) {
	if _, err := s.check(ctx, "feed.snapshot", "", ReadFeed); err != nil {
		return 0, err
	}
	if err := s.inner.Audit(ctx, dnadb.AuditFor(ctx, "feed.snapshot", "",
		dnadb.OutcomeOK)); err != nil {
		return 0, fmt.Errorf("feed snapshot: %w", err)
	}
	return s.inner.Distributable(ctx, fn)
}

// ReportSightings stores sighting reports as the caller's organisation, for
// consumers. The reports are audited with the store's write.
func (s *Store) ReportSightings(ctx context.Context, ns []dnadb.NewSighting) (int, int,
	error) {
	p, err := s.check(ctx, "sighting.report", "", ReportSighting)
	if err != nil {
		return 0, 0, err
	}
	own := make([]dnadb.NewSighting, len(ns))
	for i, n := range ns {
		n.Reporter = p.Org.Name
		own[i] = n
	}
	accepted, duplicates, err := s.inner.ReportSightings(ctx, own)
	if err != nil {
		return 0, 0, s.failed(ctx, "sighting.report", "", err)
	}
	return accepted, duplicates, nil
}

// Circulation counts sightings: of every item for evaluators, and for anyone else
// of the items its organisation registered only, whatever source the filter
// names, so that a contributor never learns of another organisation's items.
func (s *Store) Circulation(ctx context.Context, f dnadb.CirculationFilter) (
	[]dnadb.Circulation, error) {
	p, err := s.check(ctx, "circulation.read", "", ReadCirculation)
	if err != nil {
		return nil, err
	}
	if !Allows(p.Token.Roles, ReadAll) {
		if f.Source != "" && f.Source != p.Org.Name {
			return []dnadb.Circulation{}, nil
		}
		f.Source = p.Org.Name
	}
	out, err := s.inner.Circulation(ctx, f)
	if err != nil {
		return nil, s.failed(ctx, "circulation.read", "", err)
	}
	target := fmt.Sprintf("circulation?item=%d&platform=%s&source=%s&after=%d", f.ItemID,
		f.Platform, f.Source, f.After)
	if err := s.inner.Audit(ctx, dnadb.AuditFor(ctx, "circulation.read", target,
		dnadb.OutcomeOK)); err != nil {
		return nil, fmt.Errorf("circulation: %w", err)
	}
	return out, nil
}

// CreateOrg adds an organisation, for admins.
func (s *Store) CreateOrg(ctx context.Context, name string, kind dnadb.OrgKind) (dnadb.Org,
	error) {
	if _, err := s.check(ctx, "org.create", "", ManageOrgs); err != nil {
		return dnadb.Org{}, err
	}
	o, err := s.inner.CreateOrg(ctx, name, kind)
	if err != nil {
		return o, s.failed(ctx, "org.create", "", err)
	}
	return o, nil
}

// Orgs lists organisations, for admins.
func (s *Store) Orgs(ctx context.Context) ([]dnadb.Org, error) {
	if _, err := s.check(ctx, "org.list", "", ManageOrgs); err != nil {
		return nil, err
	}
	return s.inner.Orgs(ctx)
}

// Org returns one organisation, for admins.
func (s *Store) Org(ctx context.Context, id int64) (dnadb.Org, error) {
	if _, err := s.check(ctx, "org.read", "", ManageOrgs); err != nil {
		return dnadb.Org{}, err
	}
	return s.inner.Org(ctx, id)
}

// CreateToken adds a token, for admins.
func (s *Store) CreateToken(ctx context.Context, t dnadb.NewToken) (dnadb.Token, string,
	error) {
	if _, err := s.check(ctx, "token.create", "", ManageOrgs); err != nil {
		return dnadb.Token{}, "", err
	}
	tok, secret, err := s.inner.CreateToken(ctx, t)
	if err != nil {
		return tok, "", s.failed(ctx, "token.create", "", err)
	}
	return tok, secret, nil
}

// Tokens lists tokens, for admins.
func (s *Store) Tokens(ctx context.Context, org int64) ([]dnadb.Token, error) {
	if _, err := s.check(ctx, "token.list", "", ManageOrgs); err != nil {
		return nil, err
	}
	return s.inner.Tokens(ctx, org)
}

// RevokeToken revokes a token, for admins.
func (s *Store) RevokeToken(ctx context.Context, id int64) (dnadb.Token, error) {
	if _, err := s.check(ctx, "token.revoke", "", ManageOrgs); err != nil {
		return dnadb.Token{}, err
	}
	t, err := s.inner.RevokeToken(ctx, id)
	if err != nil {
		return t, s.failed(ctx, "token.revoke", "", err)
	}
	return t, nil
}

// Authenticate needs no principal: it is how one is found.
func (s *Store) Authenticate(ctx context.Context, secret string) (dnadb.Principal, error) {
	return s.inner.Authenticate(ctx, secret)
}

// Audit appends to the trail; any caller's acts may be recorded.
func (s *Store) Audit(ctx context.Context, rec dnadb.AuditRecord) error {
	return s.inner.Audit(ctx, rec)
}

// AuditEntries pages through the trail, for auditors and admins.
func (s *Store) AuditEntries(ctx context.Context, after int64,
	limit int) ([]dnadb.AuditEntry, error) {
	if _, err := s.check(ctx, "audit.read", "", ReadAudit); err != nil {
		return nil, err
	}
	return s.inner.AuditEntries(ctx, after, limit)
}

// AuditHead returns the trail's head, for auditors and admins.
func (s *Store) AuditHead(ctx context.Context) (int64, string, error) {
	if _, err := s.check(ctx, "audit.read", "", ReadAudit); err != nil {
		return 0, "", err
	}
	return s.inner.AuditHead(ctx)
}

// Close closes the inner store.
func (s *Store) Close() error { return s.inner.Close() }

// Sees reports whether p may see item it at all: evaluators see every item,
// contributors those their organisation registered.
func Sees(p dnadb.Principal, it dnadb.Item) bool {
	if Allows(p.Token.Roles, ReadAll) {
		return true
	}
	if !Allows(p.Token.Roles, ReadOwn) {
		return false
	}
	for _, src := range it.Sources {
		if src.Org == p.Org.Name {
			return true
		}
	}
	return false
}

// View returns item it as p may see it. Evaluators see it whole. Anyone else sees
// only its own organisation's sources and references, and who decided only when
// that was its own organisation: it learns that others know the material, never
// who they are.
func View(p dnadb.Principal, it dnadb.Item) dnadb.Item {
	if Allows(p.Token.Roles, ReadAll) {
		return it
	}
	own := []dnadb.Source{}
	for _, src := range it.Sources {
		if src.Org == p.Org.Name {
			own = append(own, src)
		}
	}
	it.Sources = own
	if !strings.HasPrefix(it.DecidedBy, p.Org.Name+"/") && it.DecidedBy != p.Org.Name {
		it.DecidedBy = ""
	}
	return it
}

func target(id int64) string { return fmt.Sprintf("item:%d", id) }

// listTarget describes a listing's filter for the audit trail.
func listTarget(f dnadb.ItemFilter) string {
	return fmt.Sprintf("items?status=%s&category=%s&source=%s&after=%d", f.Status,
		f.Category, f.Source, f.After)
}

// Stats counts the items, for auditors, admins and evaluators.
func (s *Store) Stats(ctx context.Context) (dnadb.Stats, error) {
	if _, err := s.check(ctx, "stats.read", "", ReadStats); err != nil {
		return dnadb.Stats{}, err
	}
	return s.inner.Stats(ctx)
}
