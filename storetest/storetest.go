// Package storetest is the conformance suite that every dnadb.Store implementation
// must pass. A backend's test calls Run with a function that opens a fresh, empty
// store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dnadb/dnadb"
)

// Opener opens a fresh, empty store for one subtest and arranges its cleanup.
type Opener func(t *testing.T) dnadb.Store

// Run runs every conformance test against the stores that open returns.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, dnadb.Store)
	}{
		{"CreateAndRead", testCreateAndRead},
		{"Normalize", testNormalize},
		{"InvalidNothingStored", testInvalidNothingStored},
		{"Decide", testDecide},
		{"List", testList},
		{"Changes", testChanges},
		{"ConfirmedSignals", testConfirmedSignals},
		{"Feed", testFeed},
		{"Distributable", testDistributable},
		{"FeedBytes", testFeedBytes},
		{"ConcurrentDecide", testConcurrentDecide},
		{"Sources", testSources},
		{"Orgs", testOrgs},
		{"Tokens", testTokens},
		{"AuditChain", testAuditChain},
		{"Stats", testStats},
		{"SightingsOnce", testSightingsOnce},
		{"Circulation", testCirculation},
		{"SightingsInvalid", testSightingsInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			for _, o := range []struct {
				name string
				kind dnadb.OrgKind
			}{{"police", dnadb.OrgPolice}, {"support", dnadb.OrgSupport},
				{"regulator", dnadb.OrgRegulator}} {
				if _, err := s.CreateOrg(context.Background(), o.name, o.kind); err != nil {
					t.Fatal(err)
				}
			}
			tt.fn(t, s)
		})
	}
}

const (
	hashA = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
	hashB = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22"
)

func newItem(source string, hashes ...string) dnadb.NewItem {
	n := dnadb.NewItem{
		Category:  dnadb.CategoryIllegalFilming,
		Source:    source,
		Reference: "case-" + source,
	}
	for _, h := range hashes {
		n.Signals = append(n.Signals, dnadb.Signal{Type: dnadb.SignalPDQ, Value: h, Quality: 100})
	}
	return n
}

func mustCreate(t *testing.T, s dnadb.Store, n dnadb.NewItem) dnadb.Item {
	t.Helper()
	it, err := s.CreateItem(context.Background(), n)
	if err != nil {
		t.Fatalf("CreateItem: %v", err)
	}
	return it
}

func testCreateAndRead(t *testing.T, s dnadb.Store) {
	ctx := context.Background()
	created := mustCreate(t, s, newItem("police", hashA, hashB))
	if created.ID == 0 || created.Status != dnadb.StatusPending {
		t.Fatalf("created = id %d status %s, want id != 0 status pending", created.ID,
			created.Status)
	}
	if created.CreatedAt.IsZero() || !created.DecidedAt.IsZero() || created.DecidedBy != "" {
		t.Errorf("created times = %v/%v by %q, want created set and no decision",
			created.CreatedAt, created.DecidedAt, created.DecidedBy)
	}

	got, err := s.Item(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(created, got); diff != "" {
		t.Errorf("Item differs from CreateItem's result (-created +got):\n%s", diff)
	}
	want := []dnadb.Signal{
		{Type: dnadb.SignalPDQ, Value: hashA, Quality: 100, Profile: dnadb.ProfileFull},
		{Type: dnadb.SignalPDQ, Value: hashB, Quality: 100, Profile: dnadb.ProfileFull},
	}
	if diff := cmp.Diff(want, got.Signals); diff != "" {
		t.Errorf("signals (-want +got):\n%s", diff)
	}

	_, err = s.Item(ctx, created.ID+1000)
	if !errors.Is(err, dnadb.ErrNotFound) {
		t.Errorf("Item(unknown) error = %v, want ErrNotFound", err)
	}
}

func testNormalize(t *testing.T, s dnadb.Store) {
	n := newItem("police", "F8F8F0CEE0F4A84F06370A22038F63F0B36E2ED596621E1D33E6B39C4E9C9B22")
	n.Signals[0].Profile = dnadb.ProfileCLI512
	it := mustCreate(t, s, n)
	if got, want := it.Signals[0].Value, hashA; got != want {
		t.Errorf("stored value = %s, want lowercase %s", got, want)
	}
	if got, want := it.Signals[0].Profile, dnadb.ProfileCLI512; got != want {
		t.Errorf("stored profile = %s, want %s", got, want)
	}
}

func testInvalidNothingStored(t *testing.T, s dnadb.Store) {
	ctx := context.Background()
	bad := map[string]dnadb.NewItem{
		"malformed hash": newItem("police", hashA, "zz"+hashA[2:]),
		"short hash":     newItem("police", hashA[:63]),
		"no signals":     newItem("police"),
		"unknown category": func() dnadb.NewItem {
			n := newItem("police", hashA)
			n.Category = "x"
			return n
		}(),
		"no source": newItem("", hashA),
		"NUL in reference": func() dnadb.NewItem {
			n := newItem("police", hashA)
			n.Reference = "a\x00b"
			return n
		}(),
		"unknown source": newItem("nobody", hashA),
		"bad quality": func() dnadb.NewItem {
			n := newItem("police", hashA)
			n.Signals[0].Quality = 101
			return n
		}(),
	}
	for name, n := range bad {
		_, err := s.CreateItem(ctx, n)
		if !errors.Is(err, dnadb.ErrInvalid) {
			t.Errorf("%s: CreateItem error = %v, want ErrInvalid", name, err)
		}
	}
	items, err := s.Items(ctx, dnadb.ItemFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 0 {
		t.Errorf("after invalid registrations, %d items stored, want 0", len(items))
	}
	changes, err := s.Changes(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 0 {
		t.Errorf("after invalid registrations, %d changes logged, want 0", len(changes))
	}
}

func testDecide(t *testing.T, s dnadb.Store) {
	ctx := context.Background()
	it := mustCreate(t, s, newItem("police", hashA))

	steps := []struct {
		d      dnadb.Decision
		want   dnadb.Status
		errIs  error
		reason string
	}{
		{dnadb.DecisionConfirm, dnadb.StatusConfirmed, nil, "pending item is confirmed"},
		{dnadb.DecisionConfirm, "", dnadb.ErrConflict, "confirmed twice"},
		{dnadb.DecisionReject, dnadb.StatusRejected, nil, "rejected on review"},
		{dnadb.DecisionConfirm, "", dnadb.ErrConflict, "rejected cannot be confirmed"},
		{dnadb.DecisionWithdraw, dnadb.StatusWithdrawn, nil, "source withdraws"},
		{dnadb.DecisionWithdraw, "", dnadb.ErrConflict, "withdrawn twice"},
		{"approve", "", dnadb.ErrInvalid, "unknown decision"},
	}
	for _, st := range steps {
		got, err := s.Decide(ctx, it.ID, st.d, "evaluator-1")
		if st.errIs != nil {
			if !errors.Is(err, st.errIs) {
				t.Errorf("%s: Decide(%s) error = %v, want %v", st.reason, st.d, err, st.errIs)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: Decide(%s): %v", st.reason, st.d, err)
		}
		if got.Status != st.want || got.DecidedBy != "evaluator-1" || got.DecidedAt.IsZero() {
			t.Errorf("%s: Decide(%s) = %s by %q at %v, want %s by evaluator-1",
				st.reason, st.d, got.Status, got.DecidedBy, got.DecidedAt, st.want)
		}
	}

	_, err := s.Decide(ctx, it.ID+1000, dnadb.DecisionConfirm, "e")
	if !errors.Is(err, dnadb.ErrNotFound) {
		t.Errorf("Decide(unknown) error = %v, want ErrNotFound", err)
	}
	_, err = s.Decide(ctx, it.ID, dnadb.DecisionWithdraw, "")
	if !errors.Is(err, dnadb.ErrInvalid) {
		t.Errorf("Decide without actor error = %v, want ErrInvalid", err)
	}
}

func testList(t *testing.T, s dnadb.Store) {
	ctx := context.Background()
	var ids []int64
	for i := range 7 {
		src := "police"
		if i%2 == 1 {
			src = "support"
		}
		ids = append(ids, mustCreate(t, s, newItem(src, hashA)).ID)
	}
	if _, err := s.Decide(ctx, ids[2], dnadb.DecisionConfirm, "e"); err != nil {
		t.Fatal(err)
	}

	list := func(f dnadb.ItemFilter) []int64 {
		t.Helper()
		items, err := s.Items(ctx, f)
		if err != nil {
			t.Fatalf("Items(%+v): %v", f, err)
		}
		var out []int64
		for _, it := range items {
			if len(it.Signals) != 1 {
				t.Errorf("item %d listed with %d signals, want 1", it.ID, len(it.Signals))
			}
			out = append(out, it.ID)
		}
		return out
	}
	cases := []struct {
		name string
		f    dnadb.ItemFilter
		want []int64
	}{
		{"all", dnadb.ItemFilter{}, ids},
		{"by source", dnadb.ItemFilter{Source: "support"}, []int64{ids[1], ids[3], ids[5]}},
		{"by status", dnadb.ItemFilter{Status: dnadb.StatusConfirmed}, []int64{ids[2]}},
		{"pending police", dnadb.ItemFilter{Status: dnadb.StatusPending, Source: "police"},
			[]int64{ids[0], ids[4], ids[6]}},
		{"first page", dnadb.ItemFilter{Limit: 3}, ids[:3]},
		{"second page", dnadb.ItemFilter{Limit: 3, After: ids[2]}, ids[3:6]},
		{"by category", dnadb.ItemFilter{Category: dnadb.CategoryCSAM}, nil},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, list(c.f)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}

	for _, f := range []dnadb.ItemFilter{
		{Status: "done"}, {Category: "x"}, {Limit: dnadb.MaxPageSize + 1},
	} {
		if _, err := s.Items(ctx, f); !errors.Is(err, dnadb.ErrInvalid) {
			t.Errorf("Items(%+v) error = %v, want ErrInvalid", f, err)
		}
	}
}

func testChanges(t *testing.T, s dnadb.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, newItem("police", hashA))
	b := mustCreate(t, s, newItem("support", hashB))
	if _, err := s.Decide(ctx, a.ID, dnadb.DecisionConfirm, "e1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Decide(ctx, a.ID, dnadb.DecisionWithdraw, "police"); err != nil {
		t.Fatal(err)
	}

	all, err := s.Changes(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Item   int64
		Kind   dnadb.ChangeKind
		Status dnadb.Status
		Actor  string
	}
	var got []entry
	for i, c := range all {
		got = append(got, entry{c.ItemID, c.Kind, c.Status, c.Actor})
		if i > 0 && c.Seq <= all[i-1].Seq {
			t.Errorf("change %d seq %d not above previous %d", i, c.Seq, all[i-1].Seq)
		}
	}
	want := []entry{
		{a.ID, dnadb.ChangeCreated, dnadb.StatusPending, "police"},
		{b.ID, dnadb.ChangeCreated, dnadb.StatusPending, "support"},
		{a.ID, dnadb.ChangeDecided, dnadb.StatusConfirmed, "e1"},
		{a.ID, dnadb.ChangeDecided, dnadb.StatusWithdrawn, "police"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("changes (-want +got):\n%s", diff)
	}

	rest, err := s.Changes(ctx, all[1].Seq, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 1 || rest[0].Seq != all[2].Seq {
		t.Errorf("Changes(after %d, limit 1) = %+v, want seq %d", all[1].Seq, rest, all[2].Seq)
	}
}

func testConfirmedSignals(t *testing.T, s dnadb.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, newItem("police", hashA, hashB))
	b := mustCreate(t, s, newItem("police", hashB))
	c := mustCreate(t, s, newItem("police", hashA))
	for _, d := range []struct {
		id int64
		d  dnadb.Decision
	}{{a.ID, dnadb.DecisionConfirm}, {b.ID, dnadb.DecisionReject}} {
		if _, err := s.Decide(ctx, d.id, d.d, "e"); err != nil {
			t.Fatal(err)
		}
	}
	_ = c

	sigs, seq, err := s.IndexedSignals(ctx, dnadb.SignalPDQ, dnadb.StatusConfirmed)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, is := range sigs {
		got = append(got, fmt.Sprintf("%d:%s", is.ItemID, is.Signal.Value))
	}
	want := []string{fmt.Sprintf("%d:%s", a.ID, hashA), fmt.Sprintf("%d:%s", a.ID, hashB)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("confirmed signals (-want +got):\n%s", diff)
	}
	all, _ := s.Changes(ctx, 0, 0)
	if last := all[len(all)-1].Seq; seq != last {
		t.Errorf("ConfirmedSignals seq = %d, want last change %d", seq, last)
	}
}

// testConcurrentDecide has several evaluators decide the same item at once: exactly
// one may succeed, and the log must hold exactly one decision.
func testConcurrentDecide(t *testing.T, s dnadb.Store) {
	ctx := context.Background()
	it := mustCreate(t, s, newItem("police", hashA))

	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.Decide(ctx, it.ID, dnadb.DecisionConfirm, fmt.Sprintf("e%d", i))
		})
	}
	wg.Wait()

	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, dnadb.ErrConflict):
			t.Errorf("concurrent Decide error = %v, want nil or ErrConflict", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent confirmations succeeded, want 1", ok)
	}
	changes, _ := s.Changes(ctx, 0, 0)
	if got, want := len(changes), 2; got != want {
		t.Errorf("log holds %d changes, want %d (created + one decision)", got, want)
	}
}
