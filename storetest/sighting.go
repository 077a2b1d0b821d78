package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dnadb/dnadb"
)

// sightingFixture makes a filtering company and three items: a, confirmed, of the
// police; b, confirmed then rejected, of the support centre; and pending, never
// confirmed.
func sightingFixture(t *testing.T, s dnadb.Store) (a, b, pending int64) {
	t.Helper()
	if _, err := s.CreateOrg(context.Background(), "filterco", dnadb.OrgVendor); err != nil {
		t.Fatal(err)
	}
	a = mustCreate(t, s, newItem("police", hashA)).ID
	b = mustCreate(t, s, newItem("support", hashB)).ID
	pending = mustCreate(t, s, newItem("police", farHash(7))).ID
	decide(t, s, a, dnadb.DecisionConfirm)
	decide(t, s, b, dnadb.DecisionConfirm)
	decide(t, s, b, dnadb.DecisionReject)
	return a, b, pending
}

// farHash returns a PDQ hash far from hashA and hashB, different for each n.
func farHash(n int) string { return fmt.Sprintf("%064x", n) }

// seen0 is when the fixture's sightings were seen, give or take.
var seen0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// report is a report by filterco of item, seen minutes after seen0.
func report(id string, item int64, action dnadb.SightingAction,
	minutes int) dnadb.NewSighting {
	return dnadb.NewSighting{ReportID: id, ItemID: item, Reporter: "filterco",
		Where:  "https://example.com/v/" + id,
		SeenAt: seen0.Add(time.Duration(minutes) * time.Minute), Action: action}
}

// circulation reads the whole circulation of f.
func circulation(t *testing.T, s dnadb.Store, f dnadb.CirculationFilter) []dnadb.Circulation {
	t.Helper()
	c, err := s.Circulation(context.Background(), f)
	if err != nil {
		t.Fatalf("Circulation(%+v): %v", f, err)
	}
	return c
}

// testSightingsOnce sends reports again, alone and in batches that overlap earlier
// ones, and checks that each is counted once.
func testSightingsOnce(t *testing.T, s dnadb.Store) {
	ctx := context.Background()
	a, b, _ := sightingFixture(t, s)
	send := func(name string, batch []dnadb.NewSighting, accepted, duplicates int) {
		t.Helper()
		gotA, gotD, err := s.ReportSightings(ctx, batch)
		if err != nil {
			t.Fatalf("%s: ReportSightings: %v", name, err)
		}
		if gotA != accepted || gotD != duplicates {
			t.Errorf("%s: ReportSightings = %d accepted, %d duplicates; want %d, %d", name,
				gotA, gotD, accepted, duplicates)
		}
	}
	first := []dnadb.NewSighting{
		report("r1", a, dnadb.SightingBlocked, 0),
		report("r2", a, dnadb.SightingBlocked, 5),
		report("r3", b, dnadb.SightingRemoved, 1),
	}
	send("first batch", first, 3, 0)
	send("same batch again", first, 0, 3)
	send("overlapping batch", []dnadb.NewSighting{first[1], report("r4", a,
		dnadb.SightingFlagged, 9), first[2]}, 1, 2)
	send("twice in one batch", []dnadb.NewSighting{report("r5", a, dnadb.SightingBlocked, 2),
		report("r5", a, dnadb.SightingBlocked, 2)}, 1, 1)

	// The same id as another reporter is another report.
	other := report("r1", a, dnadb.SightingBlocked, 0)
	other.Reporter = "regulator"
	send("another reporter's r1", []dnadb.NewSighting{other}, 1, 0)

	// An id sent before with other content is a conflict, and the batch stores
	// nothing.
	before := circulation(t, s, dnadb.CirculationFilter{})
	changed := report("r2", a, dnadb.SightingRemoved, 5)
	_, _, err := s.ReportSightings(ctx, []dnadb.NewSighting{report("r6", a,
		dnadb.SightingBlocked, 3), changed})
	if !errors.Is(err, dnadb.ErrConflict) || !strings.Contains(err.Error(), "sightings[1]") {
		t.Errorf("ReportSightings(changed r2) error = %v, want ErrConflict naming sightings[1]",
			err)
	}
	if diff := cmp.Diff(before, circulation(t, s, dnadb.CirculationFilter{})); diff != "" {
		t.Errorf("a conflicting batch changed the circulation (-before +after):\n%s", diff)
	}

	want := []dnadb.Circulation{
		{ItemID: a, Platform: "filterco", Sightings: 4, Blocked: 3, Flagged: 1,
			FirstSeen: seen0, LastSeen: seen0.Add(9 * time.Minute)},
		{ItemID: a, Platform: "regulator", Sightings: 1, Blocked: 1,
			FirstSeen: seen0, LastSeen: seen0},
		{ItemID: b, Platform: "filterco", Sightings: 1, Removed: 1,
			FirstSeen: seen0.Add(time.Minute), LastSeen: seen0.Add(time.Minute)},
	}
	if diff := cmp.Diff(want, before); diff != "" {
		t.Errorf("circulation (-want +got):\n%s", diff)
	}
}

// testCirculation checks the counts, the named platforms and the filters.
func testCirculation(t *testing.T, s dnadb.Store) {
	ctx := context.Background()
	a, b, _ := sightingFixture(t, s)
	site := func(r dnadb.NewSighting, platform string) dnadb.NewSighting {
		r.Platform = platform
		return r
	}
	batch := []dnadb.NewSighting{
		site(report("x1", a, dnadb.SightingBlocked, 30), "tube.example"),
		site(report("x2", a, dnadb.SightingRemoved, -10), "tube.example"),
		site(report("x3", a, dnadb.SightingFlagged, 20), "tube.example"),
		report("x4", a, dnadb.SightingBlocked, 0),
		site(report("x5", b, dnadb.SightingBlocked, 7), "tube.example"),
	}
	if n, d, err := s.ReportSightings(ctx, batch); err != nil || n != 5 || d != 0 {
		t.Fatalf("ReportSightings = %d, %d, %v; want 5, 0, nil", n, d, err)
	}
	if c := circulation(t, s, dnadb.CirculationFilter{}); len(c) != 3 {
		t.Fatalf("circulation has %d rows, want 3: %+v", len(c), c)
	}

	tube := dnadb.Circulation{ItemID: a, Platform: "tube.example", Sightings: 3,
		Blocked: 1, Flagged: 1, Removed: 1, FirstSeen: seen0.Add(-10 * time.Minute),
		LastSeen: seen0.Add(30 * time.Minute)}
	own := dnadb.Circulation{ItemID: a, Platform: "filterco", Sightings: 1, Blocked: 1,
		FirstSeen: seen0, LastSeen: seen0}
	tubeB := dnadb.Circulation{ItemID: b, Platform: "tube.example", Sightings: 1,
		Blocked: 1, FirstSeen: seen0.Add(7 * time.Minute), LastSeen: seen0.Add(7 * time.Minute)}
	for _, tt := range []struct {
		name string
		f    dnadb.CirculationFilter
		want []dnadb.Circulation
	}{
		{"item", dnadb.CirculationFilter{ItemID: a}, []dnadb.Circulation{own, tube}},
		{"platform", dnadb.CirculationFilter{Platform: "tube.example"},
			[]dnadb.Circulation{tube, tubeB}},
		{"item and platform", dnadb.CirculationFilter{ItemID: b, Platform: "tube.example"},
			[]dnadb.Circulation{tubeB}},
		{"police items", dnadb.CirculationFilter{Source: "police"},
			[]dnadb.Circulation{own, tube}},
		{"support items", dnadb.CirculationFilter{Source: "support"},
			[]dnadb.Circulation{tubeB}},
		{"regulator items", dnadb.CirculationFilter{Source: "regulator"},
			[]dnadb.Circulation{}},
		{"first page", dnadb.CirculationFilter{Limit: 1}, []dnadb.Circulation{own, tube}},
		{"second page", dnadb.CirculationFilter{After: a, Limit: 1},
			[]dnadb.Circulation{tubeB}},
		{"unknown item", dnadb.CirculationFilter{ItemID: 99999}, []dnadb.Circulation{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, circulation(t, s, tt.f)); diff != "" {
				t.Errorf("Circulation(%+v) (-want +got):\n%s", tt.f, diff)
			}
		})
	}
	tooMany := dnadb.CirculationFilter{Limit: dnadb.MaxPageSize + 1}
	if _, err := s.Circulation(ctx, tooMany); !errors.Is(err, dnadb.ErrInvalid) {
		t.Errorf("Circulation(limit %d) error = %v, want ErrInvalid", dnadb.MaxPageSize+1, err)
	}
}

// testSightingsInvalid sends malformed batches, each with a good report first, and
// checks that each fails with ErrInvalid naming the bad report and stores nothing.
func testSightingsInvalid(t *testing.T, s dnadb.Store) {
	ctx := context.Background()
	a, _, pending := sightingFixture(t, s)
	with := func(f func(*dnadb.NewSighting)) dnadb.NewSighting {
		r := report("bad", a, dnadb.SightingBlocked, 0)
		f(&r)
		return r
	}
	for _, tt := range []struct {
		name string
		bad  dnadb.NewSighting
	}{
		{"unknown item", with(func(r *dnadb.NewSighting) { r.ItemID = 99999 })},
		{"never confirmed", with(func(r *dnadb.NewSighting) { r.ItemID = pending })},
		{"bad action", with(func(r *dnadb.NewSighting) { r.Action = "deleted" })},
		{"no action", with(func(r *dnadb.NewSighting) { r.Action = "" })},
		{"where too long", with(func(r *dnadb.NewSighting) {
			r.Where = "https://x/" + strings.Repeat("a", dnadb.MaxWhereLen)
		})},
		{"no where", with(func(r *dnadb.NewSighting) { r.Where = "" })},
		{"control in where", with(func(r *dnadb.NewSighting) { r.Where = "https://x/\x1b[2J" })},
		{"control in report id", with(func(r *dnadb.NewSighting) { r.ReportID = "r\n1" })},
		{"report id too long", with(func(r *dnadb.NewSighting) {
			r.ReportID = strings.Repeat("r", dnadb.MaxReportIDLen+1)
		})},
		{"no report id", with(func(r *dnadb.NewSighting) { r.ReportID = "" })},
		{"control in platform", with(func(r *dnadb.NewSighting) { r.Platform = "a\x00b" })},
		{"no time", with(func(r *dnadb.NewSighting) { r.SeenAt = time.Time{} })},
		{"unknown reporter", with(func(r *dnadb.NewSighting) { r.Reporter = "nobody" })},
	} {
		t.Run(tt.name, func(t *testing.T) {
			batch := []dnadb.NewSighting{report("good", a, dnadb.SightingBlocked, 0), tt.bad}
			_, _, err := s.ReportSightings(ctx, batch)
			if !errors.Is(err, dnadb.ErrInvalid) || !strings.Contains(err.Error(),
				"sightings[1]") {
				t.Errorf("ReportSightings error = %v, want ErrInvalid naming sightings[1]", err)
			}
			if c := circulation(t, s, dnadb.CirculationFilter{}); len(c) != 0 {
				t.Errorf("a failed batch stored sightings: %+v", c)
			}
		})
	}
	if _, _, err := s.ReportSightings(ctx, nil); !errors.Is(err, dnadb.ErrInvalid) {
		t.Errorf("ReportSightings(nil) error = %v, want ErrInvalid", err)
	}
}
