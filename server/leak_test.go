package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/client"
	"github.com/dnadb/dnadb/internal/cli"
	"github.com/dnadb/dnadb/internal/pgtest"
	"github.com/dnadb/dnadb/server"
	"github.com/dnadb/dnadb/sqlstore"
)

// snapshotLines takes a snapshot as c and returns its item lines as a consumer
// would keep them.
func snapshotLines(t testing.TB, c *client.Client) []string {
	t.Helper()
	var lines []string
	_, err := c.Snapshot(context.Background(), func(it dnadb.FeedItem) error {
		b, err := json.Marshal(it)
		lines = append(lines, string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

// leakCheck runs dnadb leak-check on lines and returns what it printed.
func leakCheck(t testing.TB, dsn string, lines []string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "found.txt")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := cli.Run(context.Background(), []string{"leak-check", file, "--store", dsn},
		&out, &errOut); err != nil {
		t.Fatalf("leak-check: %v\n%s", err, errOut.String())
	}
	return out.String()
}

// TestLeakTracing gives two consumers their copies of the set, then finds which
// one a copy found elsewhere came from, however it was cut down, shuffled or
// lightly corrupted.
func TestLeakTracing(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		testLeakTracing(t, filepath.Join(t.TempDir(), "dnadb.db"))
	})
	t.Run("postgres", func(t *testing.T) { testLeakTracing(t, pgtest.DSN(t)) })
}

func testLeakTracing(t *testing.T, dsn string) {
	ctx := context.Background()
	e := newEnvStore(t, dsn, server.Config{Rate: -1})
	e.store.SetLeakMarkers(0)

	// A second consumer organisation beside the fixture's filterco-v2.
	ob, err := e.store.CreateOrg(ctx, "filterco-b", dnadb.OrgVendor)
	if err != nil {
		t.Fatal(err)
	}
	_, secretB, err := e.store.CreateToken(ctx, dnadb.NewToken{OrgID: ob.ID, Name: "b",
		Roles: []dnadb.Role{dnadb.RoleConsumer}})
	if err != nil {
		t.Fatal(err)
	}
	ca, cb := e.as("consumer"), e.client.WithToken(secretB)

	// Confirm some material; keep its hashes, the real ones.
	var real []string
	for n := range 30 {
		it := e.register(t, "police", 9000+n)
		e.confirm(t, it.ID)
		real = append(real, it.Signals[0].Value)
	}

	// Each consumer takes a snapshot, and its markers are made.
	linesA, linesB := snapshotLines(t, ca), snapshotLines(t, cb)
	markers, err := e.store.LeakMarkers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byOrg := map[int64][]dnadb.LeakMarker{}
	for _, m := range markers {
		byOrg[m.OrgID] = append(byOrg[m.OrgID], m)
	}
	oa := e.orgOf(t, "filterco-v2")
	if got, want := len(byOrg[oa]), dnadb.MarkersPerConsumer; got != want {
		t.Fatalf("consumer A has %d markers, want %d", got, want)
	}
	if got, want := len(byOrg[ob.ID]), dnadb.MarkersPerConsumer; got != want {
		t.Fatalf("consumer B has %d markers, want %d", got, want)
	}
	if got, want := len(linesA), len(real)+dnadb.MarkersPerConsumer; got != want {
		t.Fatalf("snapshot of A has %d items, want %d", got, want)
	}

	// Markers are far from every real hash and from each other.
	for i, m := range markers {
		h, _ := m.PDQ()
		for _, v := range real {
			r, _ := dnadb.ParseHash256(v)
			if d := h.Distance(r); d < dnadb.MinMarkerDistance {
				t.Errorf("marker %d is %d bits from real hash %s", m.ItemID, d, v)
			}
		}
		for _, o := range markers[i+1:] {
			oh, _ := o.PDQ()
			if d := h.Distance(oh); d < dnadb.MinMarkerDistance {
				t.Errorf("markers %d and %d are %d bits apart", m.ItemID, o.ItemID, d)
			}
		}
	}

	// The centre matches A's markers for A, as it would real items of A's copy,
	// so that asking it about each item does not give them away; never for B.
	for _, m := range byOrg[oa] {
		h, _ := m.PDQ()
		q := api.MatchRequest{Queries: []api.MatchQuery{{Hash: h.String()}}}
		got, err := ca.Match(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if ms := got.Results[0].Matches; len(ms) != 1 || ms[0].ItemID != m.ItemID ||
			ms[0].Distance != 0 || ms[0].Category != m.Category {
			t.Errorf("A matching its marker %d at the centre: %+v, want it at distance 0",
				m.ItemID, ms)
		}
		if got, err = cb.Match(ctx, q); err != nil || len(got.Results[0].Matches) != 0 {
			t.Errorf("B matching A's marker %d: %+v, %v; want no match", m.ItemID, got, err)
		}
	}

	// A sighting of its own marker is taken from A like any other; from B, a
	// sighting of A's marker is refused as of an unknown item.
	mA := byOrg[oa][0]
	sight := []dnadb.NewSighting{{ReportID: "leak-1", ItemID: mA.ItemID,
		Where: "https://example.test/x", SeenAt: time.Now(), Action: dnadb.SightingBlocked}}
	if _, err := ca.ReportSightings(ctx, sight); err != nil {
		t.Errorf("A reporting a sighting of its marker: %v, want it taken", err)
	}
	if _, err := cb.ReportSightings(ctx, sight); err == nil {
		t.Errorf("B reporting a sighting of A's marker was taken, want it refused")
	}

	// A's markers never reach B, in the snapshot or the feed.
	feedB, _ := feedAll(t, cb)
	feedA, _ := feedAll(t, ca)
	copyB := strings.Join(linesB, "\n") + feedB
	for _, m := range byOrg[oa] {
		h, _ := m.PDQ()
		if strings.Contains(copyB, h.String()) {
			t.Errorf("B's copy holds A's marker %d", m.ItemID)
		}
		if !strings.Contains(feedA, h.String()) {
			t.Errorf("A's feed lacks its marker %d", m.ItemID)
		}
	}

	// Cut A's copy down in several ways: each still names A.
	r := rand.New(rand.NewPCG(5, 5))
	shuffled := slices.Clone(linesA)
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	var corrupt []string
	for _, l := range linesA {
		var it dnadb.FeedItem
		json.Unmarshal([]byte(l), &it)
		h, _ := dnadb.ParseHash256(it.Signals[0].Value)
		for k := range 5 {
			h[(k*7)%32] ^= 1 << k
		}
		corrupt = append(corrupt, h.String())
	}
	var onlyMarkers []string
	for _, l := range linesA {
		if !slices.ContainsFunc(real, func(v string) bool { return strings.Contains(l, v) }) {
			onlyMarkers = append(onlyMarkers, l)
		}
	}
	cases := []struct {
		name  string
		lines []string
		want  string
	}{
		{"A whole", linesA, "leaked by filterco-v2"},
		{"A shuffled, half kept", shuffled[:len(shuffled)/2], "leaked by filterco-v2"},
		{"A a third kept", shuffled[len(shuffled)*2/3:], "leaked by filterco-v2"},
		{"A real entries removed", onlyMarkers, "leaked by filterco-v2 (org"},
		{"A hashes corrupted by 5 bits", corrupt, "leaked by filterco-v2"},
		{"A feed page", []string{feedA}, "leaked by filterco-v2"},
		{"B whole", linesB, "leaked by filterco-b"},
		{"B feed", []string{feedB}, "leaked by filterco-b"},
		{"real hashes only", real, "none:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := leakCheck(t, dsn, c.lines)
			if !strings.HasPrefix(out, c.want) || strings.Count(out, "\n") != 1 {
				t.Errorf("leak-check = %q, want one line starting %q", out, c.want)
			}
		})
	}

	// A restarted server, on a freshly opened store, hands A the same markers.
	st2, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	srv2, err := server.New(ctx, st2, server.Config{Rate: -1})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv2.Handler())
	defer hs.Close()
	c2, err := client.New(hs.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := snapshotLines(t, c2.WithToken(e.secrets["consumer"])); !slices.Equal(got,
		linesA) {
		t.Errorf("after a restart A's snapshot =\n%s\nwant\n%s", strings.Join(got, "\n"),
			strings.Join(linesA, "\n"))
	}
}

// feedAll reads c's feed from the start and returns its entries as JSON.
func feedAll(t testing.TB, c *client.Client) (string, string) {
	t.Helper()
	var all []dnadb.FeedEntry
	cursor := ""
	for {
		p, err := c.Feed(context.Background(), cursor, 7, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Entries) > 7 {
			t.Fatalf("feed page has %d entries, over its limit of 7", len(p.Entries))
		}
		all = append(all, p.Entries...)
		cursor = p.Cursor
		if !p.More {
			break
		}
	}
	b, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), cursor
}

// orgOf returns the id of the fixture's organisation name.
func (e *env) orgOf(t testing.TB, name string) int64 {
	t.Helper()
	orgs, err := e.store.Orgs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range orgs {
		if o.Name == name {
			return o.ID
		}
	}
	t.Fatalf("no org %q", name)
	return 0
}
