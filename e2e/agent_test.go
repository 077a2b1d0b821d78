package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/client"
)

// syncTimeout bounds how long an agent may take to catch up with the centre.
const syncTimeout = 30 * time.Second

// startAgent starts "dnadb agent" on a free loopback port, following serverURL
// with the consumer token secret and keeping its copy in store, and waits until
// it answers /healthz. The agent is stopped when tb ends.
func startAgent(tb testing.TB, name, serverURL, secret, store string,
	extra ...string) *server {
	tb.Helper()
	for attempt := 1; ; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		args := append([]string{"agent", "--addr", addr, "--server", serverURL,
			"--token", secret, "--store", store, "--max-backoff", "400ms"}, extra...)
		s, err := startProc(name, addr, args)
		if err == nil {
			cleanupProc(tb, s)
			return s
		}
		if attempt < startAttempts && strings.Contains(err.Error(), "address already in use") {
			continue
		}
		tb.Fatalf("start agent %s: %v", name, err)
	}
}

// restart stops a server or agent with an interrupt and starts it again with the
// same arguments, on the same address.
func restart(tb testing.TB, s *server) *server {
	tb.Helper()
	s.stop(tb)
	n, err := startProc(s.name, s.addr, s.args)
	if err != nil {
		tb.Fatalf("restart %s: %v", s.name, err)
	}
	cleanupProc(tb, n)
	return n
}

// cleanupProc stops s when tb ends and shows its output if tb failed.
func cleanupProc(tb testing.TB, s *server) {
	tb.Cleanup(func() {
		s.stop(tb)
		if tb.Failed() {
			tb.Logf("%s output:\n%s", s.name, s.output)
		}
	})
}

// agentHealth reads an agent's /healthz.
func agentHealth(tb testing.TB, s *server) api.AgentHealth {
	tb.Helper()
	resp, err := http.Get(s.URL + "/healthz")
	if err != nil {
		tb.Fatalf("agent healthz: %v", err)
	}
	defer resp.Body.Close()
	var h api.AgentHealth
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		tb.Fatalf("agent healthz: %v", err)
	}
	return h
}

// waitHealth polls an agent's /healthz until ok accepts it.
func waitHealth(tb testing.TB, s *server, what string,
	ok func(api.AgentHealth) bool) api.AgentHealth {
	tb.Helper()
	deadline := time.Now().Add(syncTimeout)
	for {
		h := agentHealth(tb, s)
		if ok(h) {
			return h
		}
		if time.Now().After(deadline) {
			tb.Fatalf("agent: no %s within %s; last /healthz: %+v", what, syncTimeout, h)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// randomPhotos returns n items, each with a random PDQ hash of quality 90; random
// hashes lie about 128 bits apart, so none matches another.
func randomPhotos(r *rand.Rand, tag string, n int) []dnadb.NewItem {
	items := make([]dnadb.NewItem, n)
	for i := range items {
		var h dnadb.Hash256
		for k := range h {
			h[k] = byte(r.Uint32())
		}
		items[i] = dnadb.NewItem{
			Category:  dnadb.CategoryIllegalFilming,
			Reference: fmt.Sprintf("%s-%d", tag, i),
			Signals:   []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: h.String(), Quality: 90}},
		}
	}
	return items
}

// matchAll matches hashes through c, a batch at a time, and returns the matches
// of each.
func matchAll(tb testing.TB, c *client.Client, hashes []string) [][]dnadb.Match {
	tb.Helper()
	var out [][]dnadb.Match
	for len(hashes) > 0 {
		n := min(len(hashes), 1000)
		req := api.MatchRequest{}
		for _, h := range hashes[:n] {
			req.Queries = append(req.Queries, api.MatchQuery{Hash: h})
		}
		resp, err := c.Match(context.Background(), req)
		if err != nil {
			tb.Fatalf("match through the agent: %v", err)
		}
		for _, r := range resp.Results {
			out = append(out, r.Matches)
		}
		hashes = hashes[n:]
	}
	return out
}

// TestAgentFollowsFeed confirms 1,000 items in bursts while the agent is
// restarted twice and the central server once, withdraws some, and checks that
// the agent's copy ends equal to the central distributable set.
func TestAgentFollowsFeed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store := filepath.Join(dir, "central.db")
	p := bootstrap(t, store)
	central := startServer(t, "central", store)
	ag := startAgent(t, "agent", central.URL, p.consumer, filepath.Join(dir, "agent.db"),
		"--wait", "5s")
	police := central.client(t, p.police)
	eval := central.client(t, p.evaluator)
	agentClient, err := client.New(ag.URL, &http.Client{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}

	// Register and decide in bursts: most confirmed, a few rejected, which never
	// reach the feed. Midway through bursts 1 and 3 the agent restarts, through
	// burst 2 the central server; in burst 4 some earlier items are withdrawn.
	const bursts, confirms, rejects = 5, 200, 10
	r := rand.New(rand.NewPCG(5, 2))
	hashOf := map[int64]string{}
	confirmed := map[int64]bool{}
	var gone []int64
	var late *server
	for b := range bursts {
		items := randomPhotos(r, fmt.Sprintf("burst%d", b), confirms+rejects)
		regs, err := police.CreateItems(ctx, items)
		if err != nil {
			t.Fatalf("burst %d: register: %v", b, err)
		}
		for i, reg := range regs.Results {
			if i == confirms/2 {
				switch b {
				case 1, 3:
					ag = restart(t, ag)
				case 2:
					central = restart(t, central)
				}
			}
			id := reg.Item.ID
			hashOf[id] = items[i].Signals[0].Value
			d := dnadb.DecisionConfirm
			if i >= confirms {
				d = dnadb.DecisionReject
			}
			if _, err := eval.Decide(ctx, id, d); err != nil {
				t.Fatalf("burst %d: decide item %d: %v", b, id, err)
			}
			if d == dnadb.DecisionConfirm {
				confirmed[id] = true
			} else {
				gone = append(gone, id)
			}
		}
		if b == 0 {
			// A second agent starts late, from a snapshot that holds burst 0.
			late = startAgent(t, "late-agent", central.URL, p.consumer,
				filepath.Join(dir, "late.db"), "--wait", "5s")
		}
		if b == 4 {
			n := 0
			for id := range confirmed {
				if n == 30 {
					break
				}
				if _, err := eval.Decide(ctx, id, dnadb.DecisionWithdraw); err != nil {
					t.Fatalf("withdraw item %d: %v", id, err)
				}
				delete(confirmed, id)
				gone = append(gone, id)
				n++
			}
		}
	}

	// Read the central distributable set, then wait for the agent to reach it.
	central2 := central.client(t, p.consumer)
	want := map[int64]bool{}
	cursor, err := central2.Snapshot(ctx, func(it dnadb.FeedItem) error {
		want[it.ItemID] = true
		return nil
	})
	if err != nil {
		t.Fatalf("central snapshot: %v", err)
	}
	// The consumer's copy also holds its leak-tracing markers.
	if got, want := len(want), len(confirmed)+dnadb.MarkersPerConsumer; got != want {
		t.Fatalf("central distributable set has %d items, want %d (with %d markers)", got,
			want, dnadb.MarkersPerConsumer)
	}
	for id := range confirmed {
		if !want[id] {
			t.Fatalf("confirmed item %d is not in the central distributable set", id)
		}
	}
	for _, a := range []*server{ag, late} {
		h := waitHealth(t, a, "catch-up", func(h api.AgentHealth) bool {
			return h.Cursor == cursor
		})
		if h.Entries != len(want) || h.IndexSize != len(want) {
			t.Errorf("%s /healthz entries=%d index_size=%d, want %d", a.name, h.Entries,
				h.IndexSize, len(want))
		}
		if h.Status != "ok" || h.StopReason != "" {
			t.Errorf("%s /healthz status=%q stop_reason=%q, want ok and none", a.name,
				h.Status, h.StopReason)
		}
	}
	if out := late.output.String(); !strings.Contains(out, fmt.Sprintf(
		`"snapshot loaded" entries=%d`, 200+dnadb.MarkersPerConsumer)) {
		t.Errorf("late agent did not load a snapshot of burst 0:\n%s", out)
	}

	// Every confirmed hash matches its own item through the agent, and only it;
	// no withdrawn or rejected hash matches anything.
	var ids []int64
	var hashes []string
	for id := range confirmed {
		ids = append(ids, id)
		hashes = append(hashes, hashOf[id])
	}
	for i, ms := range matchAll(t, agentClient, hashes) {
		if len(ms) != 1 || ms[0].ItemID != ids[i] || ms[0].Distance != 0 {
			t.Errorf("agent match of item %d's hash = %+v, want the item at distance 0",
				ids[i], ms)
		}
	}
	hashes = hashes[:0]
	for _, id := range gone {
		hashes = append(hashes, hashOf[id])
	}
	for i, ms := range matchAll(t, agentClient, hashes) {
		if len(ms) != 0 {
			t.Errorf("agent match of withdrawn or rejected item %d = %+v, want none",
				gone[i], ms)
		}
	}
}

// TestAgentOutageAndRevokedToken checks that the agent keeps matching while the
// central server is down, with /healthz showing its growing staleness, and that a
// revoked token stops its syncing with the reason on /healthz.
func TestAgentOutageAndRevokedToken(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store := filepath.Join(dir, "central.db")
	p := bootstrap(t, store)
	central := startServer(t, "central", store)
	ag := startAgent(t, "agent", central.URL, p.consumer, filepath.Join(dir, "agent.db"),
		"--wait", "1s")
	eval := central.client(t, p.evaluator)
	agentClient, err := client.New(ag.URL, &http.Client{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}

	// Confirm a few items and wait for the agent to hold them.
	items := randomPhotos(rand.New(rand.NewPCG(7, 7)), "outage", 5)
	regs, err := central.client(t, p.police).CreateItems(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	var hashes []string
	for i, reg := range regs.Results {
		if _, err := eval.Decide(ctx, reg.Item.ID, dnadb.DecisionConfirm); err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, items[i].Signals[0].Value)
	}
	waitHealth(t, ag, "copy of 5 items and the markers", func(h api.AgentHealth) bool {
		return h.Entries == len(items)+dnadb.MarkersPerConsumer
	})
	matchesAll := func(when string) {
		t.Helper()
		for i, ms := range matchAll(t, agentClient, hashes) {
			if len(ms) != 1 || ms[0].ItemID != regs.Results[i].Item.ID {
				t.Errorf("%s: agent match of item %d = %+v, want the item", when,
					regs.Results[i].Item.ID, ms)
			}
		}
	}

	// Take the central server down: the agent goes on matching, ever staler.
	central.stop(t)
	h1 := waitHealth(t, ag, "stale status", func(h api.AgentHealth) bool {
		return h.Status == "stale" && h.StalenessSeconds >= 1.5
	})
	time.Sleep(time.Second)
	h2 := agentHealth(t, ag)
	if h2.StalenessSeconds <= h1.StalenessSeconds || h2.Status != "stale" ||
		h2.LastError == "" {
		t.Errorf("agent /healthz during outage: %+v then %+v; want growing staleness, "+
			"status stale and the last error", h1, h2)
	}
	matchesAll("during the outage")

	// Bring it back: the agent catches up.
	central = restart(t, central)
	waitHealth(t, ag, "recovery", func(h api.AgentHealth) bool {
		return h.Status == "ok" && h.StalenessSeconds < 1.5 && h.LastError == ""
	})

	// Revoke the agent's token: syncing stops, /healthz says why, matching goes on.
	who, err := central.client(t, p.consumer).WhoAmI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := central.client(t, p.admin).RevokeToken(ctx, who.Token.ID); err != nil {
		t.Fatal(err)
	}
	h := waitHealth(t, ag, "stop", func(h api.AgentHealth) bool {
		return h.Status == "stopped"
	})
	if !strings.Contains(h.StopReason, "token") {
		t.Errorf("agent /healthz stop_reason = %q, want it to name the token", h.StopReason)
	}
	matchesAll("after the token was revoked")
	if out := ag.output.String(); !strings.Contains(out, "level=ERROR msg=\"sync stopped") {
		t.Errorf("agent log has no error line for the stop:\n%s", out)
	}
}

// BenchmarkAgentPropagation measures how long a confirmation at the centre takes
// to reach the agent's match answers: for each of 1,000 items (whatever b.N), the
// time from sending the decision until the agent's POST /v1/match names the item.
// It reports p50 and p99 in milliseconds.
func BenchmarkAgentPropagation(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	store := filepath.Join(dir, "central.db")
	p := bootstrap(b, store)
	central := startServer(b, "central", store)
	ag := startAgent(b, "agent", central.URL, p.consumer, filepath.Join(dir, "agent.db"))
	eval := central.client(b, p.evaluator)
	agentClient, err := client.New(ag.URL, &http.Client{Timeout: 10 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(9, 9))
	for round := 0; b.Loop(); round++ {
		items := randomPhotos(r, fmt.Sprintf("latency%d", round), 1000)
		regs, err := central.client(b, p.police).CreateItems(ctx, items)
		if err != nil {
			b.Fatal(err)
		}
		var lat []time.Duration
		for i, reg := range regs.Results {
			if _, err := eval.Decide(ctx, reg.Item.ID, dnadb.DecisionConfirm); err != nil {
				b.Fatal(err)
			}
			// The decision's answer comes after its commit; time from the send.
			start := time.Now()
			for {
				ms := matchAll(b, agentClient, []string{items[i].Signals[0].Value})
				if len(ms[0]) == 1 {
					break
				}
				if time.Since(start) > syncTimeout {
					b.Fatalf("item %d did not reach the agent within %s", reg.Item.ID,
						syncTimeout)
				}
				time.Sleep(time.Millisecond)
			}
			lat = append(lat, time.Since(start))
		}
		slices.Sort(lat)
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
		b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
		b.ReportMetric(0, "ns/op")
	}
}

// TestAgentForwardsSightings reports sightings through the agent: the same batch
// twice, and more while the central server is down and the agent restarts. Once
// the centre is back, its circulation counts each report once.
func TestAgentForwardsSightings(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store := filepath.Join(dir, "central.db")
	p := bootstrap(t, store)
	central := startServer(t, "central", store)
	ag := startAgent(t, "agent", central.URL, p.consumer, filepath.Join(dir, "agent.db"),
		"--wait", "1s")
	eval := central.client(t, p.evaluator)

	// Confirm two items.
	items := randomPhotos(rand.New(rand.NewPCG(9, 9)), "sighting", 2)
	regs, err := central.client(t, p.police).CreateItems(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, reg := range regs.Results {
		if _, err := eval.Decide(ctx, reg.Item.ID, dnadb.DecisionConfirm); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, reg.Item.ID)
	}
	reports := func(tag string, item int64, n int) []dnadb.NewSighting {
		out := make([]dnadb.NewSighting, n)
		for i := range out {
			out[i] = dnadb.NewSighting{ReportID: fmt.Sprintf("%s-%d", tag, i), ItemID: item,
				Where:  fmt.Sprintf("https://video.example/%s/%d", tag, i),
				SeenAt: time.Now(), Action: dnadb.SightingBlocked}
		}
		return out
	}
	report := func(ag *server, ns []dnadb.NewSighting) {
		t.Helper()
		c, err := client.New(ag.URL, &http.Client{Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ReportSightings(ctx, ns); err != nil {
			t.Fatalf("report sightings through the agent: %v", err)
		}
	}
	first, second := reports("a", ids[0], 3), reports("b", ids[1], 2)

	// Report the same batch twice; the agent sends it on.
	report(ag, first)
	report(ag, first)
	waitHealth(t, ag, "empty sighting queue", func(h api.AgentHealth) bool {
		return h.QueuedSightings == 0 && h.SightingsError == ""
	})

	// Take the centre down: the agent keeps queueing, across its own restart.
	central.stop(t)
	report(ag, second)
	report(ag, first)
	waitHealth(t, ag, "failing sender", func(h api.AgentHealth) bool {
		return h.SightingsError != ""
	})
	ag = restart(t, ag)
	if h := agentHealth(t, ag); h.QueuedSightings == 0 {
		t.Errorf("agent /healthz after restart during the outage: %+v, want reports queued",
			h)
	}

	// Bring the centre back: the queue drains.
	central = restart(t, central)
	waitHealth(t, ag, "drained sighting queue", func(h api.AgentHealth) bool {
		return h.QueuedSightings == 0 && h.SightingsError == ""
	})

	// The centre counts each report once.
	page, err := central.client(t, p.evaluator).Circulation(ctx,
		dnadb.CirculationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]int64{}
	for _, c := range page.Circulation {
		got[c.ItemID] += c.Sightings
	}
	want := map[int64]int64{ids[0]: 3, ids[1]: 2}
	for id, n := range want {
		if got[id] != n {
			t.Errorf("circulation of item %d = %d sightings, want %d", id, got[id], n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("circulation = %+v, want only items %v", page.Circulation, ids)
	}
}
