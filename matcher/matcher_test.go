package matcher

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/internal/corpus"
	"github.com/dnadb/dnadb/pdq"
	"github.com/dnadb/dnadb/sqlstore"
)

// dihedralRow reads the reference's dihedral hashes of one corpus file.
func dihedralRow(t *testing.T, file string) [pdq.NumVariants]dnadb.Hash256 {
	t.Helper()
	_, rows := corpus.TSV(t, "pdq", "dihedral_fullres.tsv")
	for _, r := range rows {
		if r["file"] != file {
			continue
		}
		var out [pdq.NumVariants]dnadb.Hash256
		for v := range pdq.NumVariants {
			h, err := dnadb.ParseHash256(r[pdq.Variant(v).String()])
			if err != nil {
				t.Fatal(err)
			}
			out[v] = h
		}
		return out
	}
	t.Fatalf("no dihedral row for %s", file)
	return [pdq.NumVariants]dnadb.Hash256{}
}

// TestFollowsStore changes the store behind a matcher's back, as another server
// process would, and checks that Sync brings the index along.
func TestFollowsStore(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "dnadb.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, o := range []string{"police", "regulator"} {
		if _, err := st.CreateOrg(ctx, o, dnadb.OrgPolice); err != nil {
			t.Fatal(err)
		}
	}
	orig := dihedralRow(t, "images/dih/bridge-1-original.jpg")
	rot90 := dihedralRow(t, "images/dih/bridge-2-rotate-90.jpg")

	it, err := st.CreateItem(ctx, dnadb.NewItem{
		Category: dnadb.CategoryCSAM, Source: "police",
		Signals: []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: orig[0].String(), Quality: 100}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Decide(ctx, it.ID, dnadb.DecisionConfirm, "e"); err != nil {
		t.Fatal(err)
	}

	// A matcher built now loads the confirmed item.
	m, err := New(ctx, st, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Match(Query{Hash: orig[0]}, DefaultThreshold); len(got) != 1 ||
		got[0].Distance != 0 || got[0].Variant != "original" {
		t.Fatalf("Match(original) = %+v, want the item at distance 0", got)
	}

	// The rotated photo matches only through its rotate270 variant, which undoes the
	// rotation.
	if got := m.Match(Query{Hash: rot90[0]}, DefaultThreshold); len(got) != 0 {
		t.Errorf("Match(rotated, no dihedral) = %+v, want none", got)
	}
	got := m.Match(Query{Hash: rot90[0], Dihedral: &rot90}, DefaultThreshold)
	if len(got) != 1 || got[0].Variant != "rotate270" ||
		got[0].Distance != rot90[pdq.Rotate270].Distance(orig[0]) {
		t.Errorf("Match(rotated, dihedral) = %+v, want rotate270 at distance %d", got,
			rot90[pdq.Rotate270].Distance(orig[0]))
	}

	// Withdraw in the store; the matcher sees it after Sync, not before.
	if _, err := st.Decide(ctx, it.ID, dnadb.DecisionWithdraw, "police"); err != nil {
		t.Fatal(err)
	}
	if got := m.Match(Query{Hash: orig[0]}, DefaultThreshold); len(got) != 1 {
		t.Fatalf("before Sync, Match = %+v, want the stale entry", got)
	}
	if err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := m.Match(Query{Hash: orig[0]}, DefaultThreshold); len(got) != 0 {
		t.Errorf("after withdraw and Sync, Match = %+v, want none", got)
	}
	if m.Len() != 0 {
		t.Errorf("index holds %d entries after withdrawal, want 0", m.Len())
	}

	// Run picks up a confirmation on its own.
	it2, err := st.CreateItem(ctx, dnadb.NewItem{
		Category: dnadb.CategoryOther, Source: "regulator",
		Signals: []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: orig[0].String(), Quality: 100}},
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go m.Run(runCtx, 10*time.Millisecond)
	if _, err := st.Decide(ctx, it2.ID, dnadb.DecisionConfirm, "e"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(m.Match(Query{Hash: orig[0]}, DefaultThreshold)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not apply the confirmation within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := m.Match(Query{Hash: orig[0]}, DefaultThreshold); got[0].ItemID != it2.ID ||
		got[0].Category != dnadb.CategoryOther {
		t.Errorf("Match = %+v, want item %d, category other", got, it2.ID)
	}
}

func TestDetachedPutRemove(t *testing.T) {
	m := NewDetached(Config{})
	h := dnadb.Hash256{1, 2, 3}
	sig := []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: h.String(), Quality: 90}}
	m.Put(4, dnadb.CategoryIllegalFilming, sig)
	m.Put(4, dnadb.CategoryIllegalFilming, sig) // again: replaces, does not double
	if got := m.Match(Query{Hash: h}, DefaultThreshold); len(got) != 1 || got[0].ItemID != 4 ||
		m.Len() != 1 {
		t.Fatalf("Match after Put = %+v (len %d), want item 4 once", got, m.Len())
	}
	m.Remove(4)
	m.Remove(5) // never held: no error
	if got := m.Match(Query{Hash: h}, DefaultThreshold); len(got) != 0 || m.Len() != 0 {
		t.Fatalf("Match after Remove = %+v, want none", got)
	}
}
