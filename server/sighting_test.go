package server_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
)

// sightingEnv registers and confirms an item of the police and one of the
// support centre, and returns their ids.
func sightingEnv(t *testing.T) (e *env, police, support int64) {
	t.Helper()
	e = newEnv(t)
	p := newProbes(t, e)
	for _, who := range []string{"police", "support"} {
		reg, err := e.as(who).CreateItem(context.Background(), p.fresh(who))
		if err != nil {
			t.Fatal(err)
		}
		e.confirm(t, reg.Item.ID)
		if who == "police" {
			police = reg.Item.ID
		} else {
			support = reg.Item.ID
		}
	}
	return e, police, support
}

var seenAt = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func sighting(id string, item int64, action dnadb.SightingAction,
	minutes int) dnadb.NewSighting {
	return dnadb.NewSighting{ReportID: id, ItemID: item, Platform: "tube.example",
		Where: "https://tube.example/v/" + id, Action: action,
		SeenAt: seenAt.Add(time.Duration(minutes) * time.Minute)}
}

// TestSightingsCountedOnce sends a batch twice and a batch that overlaps it, and
// checks the answers and the circulation the evaluator reads.
func TestSightingsCountedOnce(t *testing.T) {
	ctx := context.Background()
	e, police, support := sightingEnv(t)
	send := func(name string, batch []dnadb.NewSighting, accepted, duplicates int) {
		t.Helper()
		got, err := e.as("consumer").ReportSightings(ctx, batch)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := (api.SightingsResponse{Accepted: accepted,
			Duplicates: duplicates}); got != want {
			t.Errorf("%s: answer %+v, want %+v", name, got, want)
		}
	}
	batch := []dnadb.NewSighting{
		sighting("s1", police, dnadb.SightingBlocked, 0),
		sighting("s2", police, dnadb.SightingRemoved, 10),
		sighting("s3", support, dnadb.SightingFlagged, 5),
	}
	send("first", batch, 3, 0)
	send("again", batch, 0, 3)
	send("overlapping", append(batch[1:], sighting("s4", police, dnadb.SightingBlocked,
		-5)), 1, 2)

	page, err := e.as("evaluator").Circulation(ctx, dnadb.CirculationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	want := []dnadb.Circulation{
		{ItemID: police, Platform: "tube.example", Sightings: 3, Blocked: 2, Removed: 1,
			FirstSeen: seenAt.Add(-5 * time.Minute), LastSeen: seenAt.Add(10 * time.Minute)},
		{ItemID: support, Platform: "tube.example", Sightings: 1, Flagged: 1,
			FirstSeen: seenAt.Add(5 * time.Minute), LastSeen: seenAt.Add(5 * time.Minute)},
	}
	if diff := cmp.Diff(want, page.Circulation); diff != "" {
		t.Errorf("evaluator's circulation (-want +got):\n%s", diff)
	}

	// Each batch is in the audit trail as the consumer's.
	entries, err := e.store.AuditEntries(ctx, 0, dnadb.MaxPageSize)
	if err != nil {
		t.Fatal(err)
	}
	var reports []string
	for _, a := range entries {
		if a.Action == "sighting.report" && a.Outcome == dnadb.OutcomeOK {
			reports = append(reports, a.Target)
		}
	}
	wantReports := []string{"sightings:accepted=3,duplicates=0",
		"sightings:accepted=0,duplicates=3", "sightings:accepted=1,duplicates=2"}
	if !slices.Equal(reports, wantReports) {
		t.Errorf("audited reports %q, want %q", reports, wantReports)
	}
}

// TestCirculationOwnItems checks that a contributor sees the circulation of its own
// organisation's items and never of another's, whatever it asks for.
func TestCirculationOwnItems(t *testing.T) {
	ctx := context.Background()
	e, police, support := sightingEnv(t)
	_, err := e.as("consumer").ReportSightings(ctx, []dnadb.NewSighting{
		sighting("a", police, dnadb.SightingBlocked, 0),
		sighting("b", support, dnadb.SightingBlocked, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	items := func(who, query string) []int64 {
		t.Helper()
		var page api.CirculationPage
		decode(t, who+" reads circulation"+query, e.send(t, e.secrets[who], "GET",
			"/v1/circulation"+query, nil), &page)
		ids := []int64{}
		for _, c := range page.Circulation {
			ids = append(ids, c.ItemID)
		}
		return ids
	}
	for _, tt := range []struct {
		who, query string
		want       []int64
	}{
		{"evaluator", "", []int64{police, support}},
		{"police", "", []int64{police}},
		{"support", "", []int64{support}},
		{"police", fmt.Sprintf("?item=%d", support), []int64{}},
		{"support", fmt.Sprintf("?item=%d", police), []int64{}},
		{"support", "?platform=tube.example", []int64{support}},
	} {
		if got := items(tt.who, tt.query); !slices.Equal(got, tt.want) {
			t.Errorf("%s: circulation%s items %v, want %v", tt.who, tt.query, got, tt.want)
		}
	}
}

// TestSightingsRefused sends bad reports, each after a good one, and checks that
// the batch is refused and nothing of it stored.
func TestSightingsRefused(t *testing.T) {
	ctx := context.Background()
	e, police, _ := sightingEnv(t)
	if _, err := e.as("consumer").ReportSightings(ctx, []dnadb.NewSighting{
		sighting("kept", police, dnadb.SightingBlocked, 0)}); err != nil {
		t.Fatal(err)
	}
	bad := func(f func(*dnadb.NewSighting)) dnadb.NewSighting {
		s := sighting("bad", police, dnadb.SightingBlocked, 0)
		f(&s)
		return s
	}
	for _, tt := range []struct {
		name string
		bad  dnadb.NewSighting
		code int
	}{
		{"unknown item", bad(func(s *dnadb.NewSighting) { s.ItemID = 999999 }), 400},
		{"bad action", bad(func(s *dnadb.NewSighting) { s.Action = "deleted" }), 400},
		{"where too long", bad(func(s *dnadb.NewSighting) {
			s.Where = strings.Repeat("w", dnadb.MaxWhereLen+1)
		}), 400},
		{"control in where", bad(func(s *dnadb.NewSighting) { s.Where = "a\x1b[2Jb" }), 400},
		{"control in report id", bad(func(s *dnadb.NewSighting) { s.ReportID = "x\ny" }), 400},
		{"kept with other content", bad(func(s *dnadb.NewSighting) {
			s.ReportID, s.Action = "kept", dnadb.SightingRemoved
		}), 409},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := api.SightingsRequest{Sightings: []dnadb.NewSighting{
				sighting("good", police, dnadb.SightingBlocked, 0), tt.bad}}
			r := e.send(t, e.secrets["consumer"], "POST", "/v1/sightings", jsonBody(t, req))
			if r.code != tt.code || !strings.Contains(string(r.body), "sightings[1]") {
				t.Errorf("POST /v1/sightings = %d %s, want %d naming sightings[1]", r.code,
					r.body, tt.code)
			}
			page, err := e.as("evaluator").Circulation(ctx, dnadb.CirculationFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Circulation) != 1 || page.Circulation[0].Sightings != 1 {
				t.Errorf("after a refused batch, circulation %+v, want the one kept report",
					page.Circulation)
			}
		})
	}

	// An empty batch and one over the limit are refused too.
	for _, c := range []struct {
		n    int
		code int
	}{{0, http.StatusBadRequest}, {dnadb.MaxSightings + 1, http.StatusRequestEntityTooLarge}} {
		batch := make([]dnadb.NewSighting, c.n)
		for i := range batch {
			batch[i] = sighting(fmt.Sprint("n", i), police, dnadb.SightingBlocked, 0)
		}
		r := e.send(t, e.secrets["consumer"], "POST", "/v1/sightings",
			jsonBody(t, api.SightingsRequest{Sightings: batch}))
		if r.code != c.code {
			t.Errorf("POST /v1/sightings with %d reports = %d %s, want %d", c.n, r.code,
				r.body, c.code)
		}
	}
}
