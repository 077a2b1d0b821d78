package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dnadb/dnadb"
)

// testSources registers an item, has a second organisation register it again, and
// withdraws the two registrations one after the other.
func testSources(t *testing.T, s dnadb.Store) {
	ctx := context.Background()
	it := mustCreate(t, s, newItem("police", hashA))
	if got, want := sourceOrgs(it), "police:case-police"; got != want {
		t.Fatalf("new item sources = %s, want %s", got, want)
	}

	// A further source is linked, once.
	it, err := s.AddSource(ctx, it.ID, "support", "SC-7")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sourceOrgs(it), "police:case-police support:SC-7"; got != want {
		t.Errorf("after AddSource, sources = %s, want %s", got, want)
	}
	if _, err := s.AddSource(ctx, it.ID, "support", "again"); !errors.Is(err, dnadb.ErrConflict) {
		t.Errorf("AddSource twice: error = %v, want ErrConflict", err)
	}
	if _, err := s.AddSource(ctx, it.ID, "nobody", ""); !errors.Is(err, dnadb.ErrInvalid) {
		t.Errorf("AddSource(unknown org): error = %v, want ErrInvalid", err)
	}
	if _, err := s.AddSource(ctx, it.ID+99, "support", ""); !errors.Is(err, dnadb.ErrNotFound) {
		t.Errorf("AddSource(unknown item): error = %v, want ErrNotFound", err)
	}

	// Listing by source finds the item under either organisation.
	for _, org := range []string{"police", "support"} {
		items, err := s.Items(ctx, dnadb.ItemFilter{Source: org})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 1 || items[0].ID != it.ID {
			t.Errorf("Items(source %s) = %d items, want item %d", org, len(items), it.ID)
		}
	}

	// Confirm, then withdraw one registration: the item stands on the other.
	if _, err := s.Decide(ctx, it.ID, dnadb.DecisionConfirm, "centre/e1"); err != nil {
		t.Fatal(err)
	}
	it, err = s.WithdrawSource(ctx, it.ID, "police")
	if err != nil {
		t.Fatal(err)
	}
	if it.Status != dnadb.StatusConfirmed || it.Sources[0].WithdrawnAt.IsZero() {
		t.Errorf("after one withdrawal: status %s, police withdrawn at %v; want confirmed, set",
			it.Status, it.Sources[0].WithdrawnAt)
	}
	if _, err := s.WithdrawSource(ctx, it.ID, "police"); !errors.Is(err, dnadb.ErrNotFound) {
		t.Errorf("WithdrawSource twice: error = %v, want ErrNotFound", err)
	}

	// The last standing source takes the item with it.
	it, err = s.WithdrawSource(ctx, it.ID, "support")
	if err != nil {
		t.Fatal(err)
	}
	if it.Status != dnadb.StatusWithdrawn || it.DecidedBy != "support" {
		t.Errorf("after last withdrawal: %s by %q, want withdrawn by support", it.Status,
			it.DecidedBy)
	}

	// A rejected item stays rejected when its last source withdraws.
	rej := mustCreate(t, s, newItem("regulator", hashB))
	if _, err := s.Decide(ctx, rej.ID, dnadb.DecisionReject, "centre/e1"); err != nil {
		t.Fatal(err)
	}
	rej, err = s.WithdrawSource(ctx, rej.ID, "regulator")
	if err != nil {
		t.Fatal(err)
	}
	if rej.Status != dnadb.StatusRejected || rej.DecidedBy != "centre/e1" {
		t.Errorf("rejected item after its source withdrew: %s by %q, want rejected by centre/e1",
			rej.Status, rej.DecidedBy)
	}

	changes, err := s.Changes(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	changes = slices.DeleteFunc(changes, func(c dnadb.Change) bool { return c.ItemID != it.ID })
	var kinds []string
	for _, c := range changes {
		kinds = append(kinds, fmt.Sprintf("%s:%s", c.Kind, c.Status))
	}
	want := []string{"created:pending", "sourced:pending", "decided:confirmed",
		"decided:withdrawn"}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
}

func sourceOrgs(it dnadb.Item) string {
	var parts []string
	for _, src := range it.Sources {
		parts = append(parts, src.Org+":"+src.Reference)
	}
	return strings.Join(parts, " ")
}

func testOrgs(t *testing.T, s dnadb.Store) {
	ctx := context.Background()
	o, err := s.CreateOrg(ctx, "kcsc", dnadb.OrgCentre)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Org(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(o, got); diff != "" {
		t.Errorf("Org differs from CreateOrg's result (-created +got):\n%s", diff)
	}
	orgs, err := s.Orgs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(orgs); n != 4 || orgs[3].Name != "kcsc" {
		t.Errorf("Orgs = %d, last %+v; want 4, the last kcsc", n, orgs[n-1])
	}

	bad := []struct {
		name string
		kind dnadb.OrgKind
		want error
	}{
		{"kcsc", dnadb.OrgCentre, dnadb.ErrConflict},
		{"", dnadb.OrgPolice, dnadb.ErrInvalid},
		{"Upper Case", dnadb.OrgPolice, dnadb.ErrInvalid},
		{"x/y", dnadb.OrgPolice, dnadb.ErrInvalid},
		{"fine", "ministry", dnadb.ErrInvalid},
		{"second-centre", dnadb.OrgCentre, dnadb.ErrConflict},
	}
	for _, b := range bad {
		if _, err := s.CreateOrg(ctx, b.name, b.kind); !errors.Is(err, b.want) {
			t.Errorf("CreateOrg(%q, %q) error = %v, want %v", b.name, b.kind, err, b.want)
		}
	}
	if _, err := s.Org(ctx, 9999); !errors.Is(err, dnadb.ErrNotFound) {
		t.Errorf("Org(9999) error = %v, want ErrNotFound", err)
	}
}

func testTokens(t *testing.T, s dnadb.Store) {
	ctx := context.Background()
	centre, err := s.CreateOrg(ctx, "kcsc", dnadb.OrgCentre)
	if err != nil {
		t.Fatal(err)
	}
	vendor, err := s.CreateOrg(ctx, "filterco", dnadb.OrgVendor)
	if err != nil {
		t.Fatal(err)
	}

	tok, secret, err := s.CreateToken(ctx, dnadb.NewToken{OrgID: centre.ID, Name: "eval-7",
		Roles: []dnadb.Role{dnadb.RoleEvaluator, dnadb.RoleAuditor}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Authenticate(ctx, secret)
	if err != nil {
		t.Fatalf("Authenticate(new secret): %v", err)
	}
	if p.Org.Name != "kcsc" || p.Token.ID != tok.ID || !p.Token.Has(dnadb.RoleAuditor) {
		t.Errorf("Authenticate = %s token %d %v, want kcsc token %d with auditor",
			p.Org.Name, p.Token.ID, p.Token.Roles, tok.ID)
	}
	if got, want := p.Actor(), "kcsc/eval-7"; got != want {
		t.Errorf("Actor() = %q, want %q", got, want)
	}

	// A secret is not a stored value: a near miss and garbage fail alike.
	last := "A"
	if strings.HasSuffix(secret, last) {
		last = "B"
	}
	for _, bad := range []string{secret[:len(secret)-1] + last, "", "Bearer " + secret,
		"dnadb_" + strings.ToUpper(strings.TrimPrefix(secret, "dnadb_"))} {
		if _, err := s.Authenticate(ctx, bad); !errors.Is(err, dnadb.ErrUnauthenticated) {
			t.Errorf("Authenticate(%.12q...) error = %v, want ErrUnauthenticated", bad, err)
		}
	}

	// Roles are bound to the kind of organisation.
	_, _, err = s.CreateToken(ctx, dnadb.NewToken{OrgID: vendor.ID, Name: "x",
		Roles: []dnadb.Role{dnadb.RoleEvaluator}})
	if !errors.Is(err, dnadb.ErrInvalid) {
		t.Errorf("evaluator token for a vendor: error = %v, want ErrInvalid", err)
	}
	for _, name := range []string{"ev\x1b[2Jroot", "a\x00b", "two\nlines", "a/b", ""} {
		_, _, err = s.CreateToken(ctx, dnadb.NewToken{OrgID: vendor.ID, Name: name,
			Roles: []dnadb.Role{dnadb.RoleConsumer}})
		if !errors.Is(err, dnadb.ErrInvalid) {
			t.Errorf("token named %q: error = %v, want ErrInvalid", name, err)
		}
	}
	_, _, err = s.CreateToken(ctx, dnadb.NewToken{OrgID: 9999, Name: "x",
		Roles: []dnadb.Role{dnadb.RoleConsumer}})
	if !errors.Is(err, dnadb.ErrNotFound) {
		t.Errorf("token for unknown org: error = %v, want ErrNotFound", err)
	}

	// Revocation takes effect at once and only once.
	consumer, csecret, err := s.CreateToken(ctx, dnadb.NewToken{OrgID: vendor.ID,
		Name: "prod", Roles: []dnadb.Role{dnadb.RoleConsumer}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeToken(ctx, consumer.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, csecret); !errors.Is(err, dnadb.ErrUnauthenticated) {
		t.Errorf("revoked token: Authenticate error = %v, want ErrUnauthenticated", err)
	}
	if _, err := s.RevokeToken(ctx, consumer.ID); !errors.Is(err, dnadb.ErrConflict) {
		t.Errorf("RevokeToken twice: error = %v, want ErrConflict", err)
	}
	if _, err := s.RevokeToken(ctx, 9999); !errors.Is(err, dnadb.ErrNotFound) {
		t.Errorf("RevokeToken(9999) error = %v, want ErrNotFound", err)
	}

	// An expired token fails; one in the past cannot be made.
	_, _, err = s.CreateToken(ctx, dnadb.NewToken{OrgID: vendor.ID, Name: "old",
		Roles: []dnadb.Role{dnadb.RoleConsumer}, ExpiresAt: time.Now().Add(-time.Hour)})
	if !errors.Is(err, dnadb.ErrInvalid) {
		t.Errorf("token expiring in the past: error = %v, want ErrInvalid", err)
	}
	_, esecret, err := s.CreateToken(ctx, dnadb.NewToken{OrgID: vendor.ID, Name: "brief",
		Roles: []dnadb.Role{dnadb.RoleConsumer}, ExpiresAt: time.Now().Add(300 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, esecret); err != nil {
		t.Errorf("token before expiry: %v", err)
	}
	time.Sleep(400 * time.Millisecond)
	if _, err := s.Authenticate(ctx, esecret); !errors.Is(err, dnadb.ErrUnauthenticated) {
		t.Errorf("token after expiry: error = %v, want ErrUnauthenticated", err)
	}

	tokens, err := s.Tokens(ctx, vendor.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(tokens) != 2 || tokens[0].RevokedAt.IsZero() || tokens[0].OrgName != "filterco" {
		t.Errorf("Tokens(vendor) = %+v, want 2, the first revoked", tokens)
	}
	all, err := s.Tokens(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Errorf("Tokens(all) = %d tokens, want 3", len(all))
	}
}

// testAuditChain checks that writes are audited in order, that every entry chains
// to the one before, and that the head follows the last entry.
func testAuditChain(t *testing.T, s dnadb.Store) {
	ctx := context.Background()
	centre, err := s.CreateOrg(ctx, "kcsc", dnadb.OrgCentre)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := s.CreateToken(ctx, dnadb.NewToken{OrgID: centre.ID, Name: "e",
		Roles: []dnadb.Role{dnadb.RoleEvaluator}})
	if err != nil {
		t.Fatal(err)
	}
	pctx := dnadb.WithRequestID(dnadb.WithPrincipal(ctx, dnadb.Principal{Org: centre,
		Token: tok}), "req-1")
	it := mustCreate(t, s, newItem("police", hashA))
	if _, err := s.Decide(pctx, it.ID, dnadb.DecisionConfirm, "kcsc/e"); err != nil {
		t.Fatal(err)
	}
	// A failed write leaves no entry.
	if _, err := s.Decide(pctx, it.ID, dnadb.DecisionConfirm, "kcsc/e"); err == nil {
		t.Fatal("second confirmation succeeded")
	}
	err = s.Audit(pctx, dnadb.AuditRecord{OrgID: centre.ID, TokenID: tok.ID,
		Action: "item.read", Target: "item:1", RequestID: "req-2", Outcome: dnadb.OutcomeOK})
	if err != nil {
		t.Fatal(err)
	}

	entries, err := s.AuditEntries(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, e := range entries {
		acts = append(acts, e.Action)
	}
	// Three orgs made by Run, then kcsc, its token, the item, the decision, the read.
	want := []string{"org.create", "org.create", "org.create", "org.create", "token.create",
		"item.create", "item.confirm", "item.read"}
	if diff := cmp.Diff(want, acts); diff != "" {
		t.Fatalf("audited acts (-want +got):\n%s", diff)
	}
	dec := entries[6]
	if dec.OrgID != centre.ID || dec.TokenID != tok.ID || dec.RequestID != "req-1" ||
		dec.Target != fmt.Sprintf("item:%d", it.ID) || dec.Outcome != dnadb.OutcomeOK {
		t.Errorf("decision entry = %+v, want kcsc token %d, req-1, item:%d, ok", dec, tok.ID,
			it.ID)
	}
	if entries[0].PrevHash != dnadb.AuditGenesis {
		t.Errorf("first entry's prev = %s, want the genesis", entries[0].PrevHash)
	}
	for i, e := range entries {
		if e.Seq != int64(i+1) {
			t.Errorf("entry %d has seq %d, want %d", i, e.Seq, i+1)
		}
		if e.Hash != e.ComputeHash() {
			t.Errorf("entry %d hash does not match its content", e.Seq)
		}
		if i > 0 && e.PrevHash != entries[i-1].Hash {
			t.Errorf("entry %d does not chain to entry %d", e.Seq, entries[i-1].Seq)
		}
	}
	seq, hash, err := s.AuditHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := entries[len(entries)-1]
	if seq != last.Seq || hash != last.Hash {
		t.Errorf("AuditHead = %d %s, want the last entry %d %s", seq, hash, last.Seq, last.Hash)
	}
	n, err := dnadb.VerifyAudit(ctx, s, nil)
	if err != nil || n != int64(len(entries)) {
		t.Errorf("VerifyAudit = %d, %v; want %d, nil", n, err, len(entries))
	}
	page, err := s.AuditEntries(ctx, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 3 || page[0].Seq != 3 {
		t.Errorf("AuditEntries(after 2, limit 3) = %d entries from %d, want 3 from 3",
			len(page), page[0].Seq)
	}
}

func testStats(t *testing.T, s dnadb.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, newItem("police", hashA))
	mustCreate(t, s, newItem("support", hashB))
	c := newItem("regulator", hashB)
	c.Category = dnadb.CategoryCSAM
	mustCreate(t, s, c)
	if _, err := s.AddSource(ctx, a.ID, "support", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Decide(ctx, a.ID, dnadb.DecisionConfirm, "e"); err != nil {
		t.Fatal(err)
	}

	got, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := dnadb.Stats{
		Items:    3,
		ByStatus: map[dnadb.Status]int64{dnadb.StatusPending: 2, dnadb.StatusConfirmed: 1},
		ByCategory: map[dnadb.Category]int64{dnadb.CategoryIllegalFilming: 2,
			dnadb.CategoryCSAM: 1},
		Sources: map[dnadb.OrgKind]int64{dnadb.OrgPolice: 1, dnadb.OrgSupport: 2,
			dnadb.OrgRegulator: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
}
