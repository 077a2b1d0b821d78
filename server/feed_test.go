package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/client"
	"github.com/dnadb/dnadb/internal/pgtest"
	"github.com/dnadb/dnadb/server"
)

// register registers fresh material as contributor who and returns the item.
func (e *env) register(t testing.TB, who string, n int) dnadb.Item {
	t.Helper()
	reg, err := e.as(who).CreateItem(context.Background(), dnadb.NewItem{
		Category:  dnadb.CategoryCSAM,
		Reference: "REF-" + who + "-" + fmt.Sprint(n),
		Signals:   []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: farHash(n), Quality: 90}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if reg.Duplicate {
		t.Fatalf("registration %d is a duplicate of item %d", n, reg.Item.ID)
	}
	return reg.Item
}

// decideAs takes decision d on item id as principal who.
func (e *env) decideAs(t testing.TB, who string, id int64, d dnadb.Decision) {
	t.Helper()
	if _, err := e.as(who).Decide(context.Background(), id, d); err != nil {
		t.Fatalf("%s %s item %d: %v", who, d, id, err)
	}
}

// readFeed reads the feed as the consumer from cursor to its end, a page of limit
// at a time, and returns the entries and the cursor to continue from.
func (e *env) readFeed(t testing.TB, cursor string, limit int) ([]dnadb.FeedEntry, string) {
	t.Helper()
	var out []dnadb.FeedEntry
	for {
		p, err := e.as("consumer").Feed(context.Background(), cursor, limit, 0)
		if err != nil {
			t.Fatalf("feed after %q: %v", cursor, err)
		}
		if limit > 0 && len(p.Entries) > limit {
			t.Fatalf("feed page of limit %d has %d entries", limit, len(p.Entries))
		}
		out = append(out, p.Entries...)
		cursor = p.Cursor
		if !p.More {
			return out, cursor
		}
	}
}

func adds(ids ...int64) []string {
	var out []string
	for _, id := range ids {
		out = append(out, fmt.Sprintf("add %d", id))
	}
	return out
}

func removes(ids ...int64) []string {
	var out []string
	for _, id := range ids {
		out = append(out, fmt.Sprintf("remove %d", id))
	}
	return out
}

// ops writes entries as "add ID" and "remove ID".
func ops(entries []dnadb.FeedEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, fmt.Sprintf("%s %d", e.Op, e.ItemID))
	}
	return out
}

// TestFeedPaging confirms items and reads the feed in pages of two: every
// confirmation once, in order, each with its category and signal, every cursor
// continuing where the page before ended, and the last one where nothing is new.
func TestFeedPaging(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	var ids []int64
	for i := range 5 {
		it := e.register(t, "police", i)
		e.confirm(t, it.ID)
		ids = append(ids, it.ID)
	}

	var got []dnadb.FeedEntry
	var pages []int
	cursor := ""
	for {
		p, err := e.as("consumer").Feed(ctx, cursor, 2, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := api.ParseCursor(p.Cursor); err != nil || p.Cursor == "" {
			t.Fatalf("page cursor %q: %v", p.Cursor, err)
		}
		got = append(got, p.Entries...)
		pages = append(pages, len(p.Entries))
		cursor = p.Cursor
		if !p.More {
			break
		}
	}
	if diff := cmp.Diff(adds(ids...), ops(got)); diff != "" {
		t.Errorf("feed (-want +got):\n%s", diff)
	}
	if want := []int{2, 2, 1}; !slices.Equal(pages, want) {
		t.Errorf("page sizes = %v, want %v", pages, want)
	}
	for i, en := range got {
		want := []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: farHash(i), Quality: 90,
			Profile: dnadb.ProfileFull}}
		if en.Category != dnadb.CategoryCSAM || !slices.Equal(en.Signals, want) {
			t.Errorf("entry %d = %+v, want category csam and signal %+v", i, en, want)
		}
	}

	// The last cursor is where nothing is new; it stays as it is.
	p, err := e.as("consumer").Feed(ctx, cursor, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Entries) != 0 || p.Cursor != cursor || p.More {
		t.Errorf("feed after the end = %+v, want empty at cursor %q", p, cursor)
	}

	// A registration moves the cursor on without an entry; a cursor of the
	// middle of the feed gives the rest.
	e.register(t, "support", 99)
	p, err = e.as("consumer").Feed(ctx, cursor, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Entries) != 0 || p.Cursor == cursor {
		t.Errorf("feed after a registration = %+v, want empty past cursor %q", p, cursor)
	}
	first, err := e.as("consumer").Feed(ctx, "", 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	rest, _ := e.readFeed(t, first.Cursor, 0)
	if diff := cmp.Diff(adds(ids[3:]...), ops(rest)); diff != "" {
		t.Errorf("feed after the first page (-want +got):\n%s", diff)
	}
}

// TestFeedBadParameters checks that a malformed cursor, limit or wait is refused
// with 400 naming it.
func TestFeedBadParameters(t *testing.T) {
	e := newEnv(t)
	e.confirm(t, e.register(t, "police", 1).ID)
	cases := []struct{ query, names string }{
		{"cursor=garbage", "cursor"},
		{"cursor=" + api.FormatCursor(1)[1:], "cursor"},
		{"cursor=AgAAAAAAAAAB", "cursor"},
		{"cursor=" + url.QueryEscape(api.FormatCursor(1)+"="), "cursor"},
		{"cursor=" + api.FormatCursor(1<<40), "cursor"},
		{"limit=0", "limit"},
		{"limit=1001", "limit"},
		{"limit=-1", "limit"},
		{"wait=soon", "wait"},
		{"wait=-1s", "wait"},
		{"wait=10", "wait"},
	}
	for _, c := range cases {
		r := e.send(t, e.secrets["consumer"], "GET", "/v1/feed?"+c.query, nil)
		var eb api.ErrorBody
		json.Unmarshal(r.body, &eb)
		if r.code != http.StatusBadRequest || eb.Error.Code != "invalid" ||
			!strings.Contains(eb.Error.Message, c.names) {
			t.Errorf("GET /v1/feed?%s = %d %s, want 400 invalid naming %s", c.query, r.code,
				r.body, c.names)
		}
	}
}

// TestFeedLongPoll waits on the feed while a confirmation arrives, which must
// answer at once, and while nothing does, which must answer empty when the wait
// ends.
func TestFeedLongPoll(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	_, cursor := e.readFeed(t, "", 0)
	it := e.register(t, "police", 1)

	// A confirmation during the wait answers it promptly.
	type result struct {
		page    api.FeedPage
		err     error
		elapsed time.Duration
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		p, err := e.as("consumer").Feed(ctx, cursor, 0, 20*time.Second)
		done <- result{p, err, time.Since(start)}
	}()
	time.Sleep(300 * time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("the wait ended before anything was confirmed: %+v", r)
	default:
	}
	confirmed := time.Now()
	e.confirm(t, it.ID)
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the wait did not end 10 s after a confirmation")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got, want := ops(r.page.Entries), adds(it.ID); !slices.Equal(got, want) {
		t.Errorf("long poll = %v, want %v", got, want)
	}
	if lag := time.Since(confirmed); lag > time.Second {
		t.Errorf("long poll answered %s after the confirmation, want under 1s", lag)
	}

	// With nothing new, it answers empty, with the same cursor, when the wait ends.
	start = time.Now()
	p, err := e.as("consumer").Feed(ctx, r.page.Cursor, 0, 400*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	if len(p.Entries) != 0 || p.Cursor != r.page.Cursor {
		t.Errorf("idle long poll = %+v, want empty at %q", p, r.page.Cursor)
	}
	if elapsed < 400*time.Millisecond || elapsed > 5*time.Second {
		t.Errorf("idle long poll took %s, want the 400ms wait", elapsed)
	}

	// Changes that show nothing do not end the wait early, but move the cursor.
	start = time.Now()
	go func() {
		time.Sleep(100 * time.Millisecond)
		if _, err := e.as("support").CreateItem(ctx, dnadb.NewItem{
			Category: dnadb.CategoryCSAM,
			Signals:  []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: farHash(2), Quality: 90}},
		}); err != nil {
			t.Error(err)
		}
	}()
	p, err = e.as("consumer").Feed(ctx, r.page.Cursor, 0, 600*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); len(p.Entries) != 0 || elapsed < 600*time.Millisecond {
		t.Errorf("long poll over a registration = %+v after %s, want empty after 600ms",
			p, elapsed)
	}
	if p.Cursor == r.page.Cursor {
		t.Errorf("long poll over a registration kept cursor %q, want it past it", p.Cursor)
	}
}

// TestFeedLongPollShutdown checks that a server shutting down ends its long polls
// at once rather than waiting for them.
func TestFeedLongPollShutdown(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- e.srv.Serve(ctx, ln) }()
	c, err := client.New("http://"+ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c = c.WithToken(e.secrets["consumer"])

	polled := make(chan error, 1)
	go func() {
		_, err := c.Feed(context.Background(), "", 0, 50*time.Second)
		polled <- err
	}()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if err := <-polled; err != nil {
		t.Errorf("long poll during shutdown: %v", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("shutdown took %s with a long poll open, want it ended at once", elapsed)
	}
}

// TestFeedLongPollOtherServer long-polls one server while a confirmation is made
// through another on the same store: the change-log follower of the first wakes
// the wait within its poll interval.
func TestFeedLongPollOtherServer(t *testing.T) {
	e := newEnv(t)
	_, cursor := e.readFeed(t, "", 0)
	it := e.register(t, "police", 1)

	// A second server on the same store, serving with its follower running.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	other, err := server.New(ctx, e.store, server.Config{Rate: -1,
		SyncInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- other.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	c, err := client.New("http://"+ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c = c.WithToken(e.secrets["consumer"])

	done := make(chan api.FeedPage, 1)
	go func() {
		p, err := c.Feed(context.Background(), cursor, 0, 20*time.Second)
		if err != nil {
			t.Error(err)
		}
		done <- p
	}()
	time.Sleep(300 * time.Millisecond)
	confirmed := time.Now()
	e.confirm(t, it.ID)
	select {
	case p := <-done:
		if got, want := ops(p.Entries), adds(it.ID); !slices.Equal(got, want) {
			t.Errorf("long poll on the other server = %v, want %v", got, want)
		}
		if lag := time.Since(confirmed); lag > 2*time.Second {
			t.Errorf("long poll on the other server answered %s after the confirmation", lag)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the wait on the other server did not end 10 s after a confirmation")
	}
}

// TestFeedRemovals confirms items and takes them out of distribution in each way
// there is, and registers items that never reach it: the feed removes exactly the
// confirmed ones, and never names the others.
func TestFeedRemovals(t *testing.T) {
	e := newEnv(t)
	a := e.register(t, "police", 1)
	b := e.register(t, "police", 2)
	c := e.register(t, "support", 3)
	pending := e.register(t, "police", 4)
	rejected := e.register(t, "support", 5)
	for _, it := range []dnadb.Item{a, b, c} {
		e.confirm(t, it.ID)
	}
	e.decideAs(t, "evaluator", rejected.ID, dnadb.DecisionReject)
	entries, cursor := e.readFeed(t, "", 0)
	if diff := cmp.Diff(adds(a.ID, b.ID, c.ID), ops(entries)); diff != "" {
		t.Fatalf("feed after confirmations (-want +got):\n%s", diff)
	}

	// Rejected on review, withdrawn by the centre, withdrawn by its only source.
	e.decideAs(t, "evaluator", a.ID, dnadb.DecisionReject)
	e.decideAs(t, "evaluator", b.ID, dnadb.DecisionWithdraw)
	e.decideAs(t, "support", c.ID, dnadb.DecisionWithdraw)
	// A rejected item withdrawn again is removed once only; the pending and the
	// rejected-while-pending ones withdrawn show nothing.
	e.decideAs(t, "police", a.ID, dnadb.DecisionWithdraw)
	e.decideAs(t, "police", pending.ID, dnadb.DecisionWithdraw)
	e.decideAs(t, "support", rejected.ID, dnadb.DecisionWithdraw)

	entries, _ = e.readFeed(t, cursor, 0)
	if diff := cmp.Diff(removes(a.ID, b.ID, c.ID), ops(entries)); diff != "" {
		t.Errorf("feed after removals (-want +got):\n%s", diff)
	}
	for _, en := range entries {
		if en.Category != "" || en.Signals != nil {
			t.Errorf("removal %+v carries more than the item id", en)
		}
	}

	// From the start, the confirmations of what is gone are left out.
	entries, _ = e.readFeed(t, "", 1)
	if diff := cmp.Diff(removes(a.ID, b.ID, c.ID), ops(entries)); diff != "" {
		t.Errorf("feed from the start (-want +got):\n%s", diff)
	}
}

// TestFeedShowsOnlyConsumerFields registers the same material as two agencies,
// confirms it, and reads the feed and the snapshot as the consumer: no answer
// names an organisation, a reference or a decider, and the entries have only the
// fields a filter needs.
func TestFeedShowsOnlyConsumerFields(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	a := e.register(t, "police", 1)
	n := dnadb.NewItem{Category: dnadb.CategoryCSAM, Reference: "REF-support-again",
		Signals: mustItem(t, e, a.ID).Signals}
	if reg, err := e.as("support").CreateItem(ctx, n); err != nil || !reg.Duplicate {
		t.Fatalf("support registers item %d again: %+v, %v", a.ID, reg, err)
	}
	b := e.register(t, "support", 2)
	e.confirm(t, a.ID)
	e.confirm(t, b.ID)
	e.decideAs(t, "support", b.ID, dnadb.DecisionWithdraw)

	bodies := map[string][]byte{}
	for _, path := range []string{"/v1/feed", "/v1/feed?limit=1", "/v1/feed/snapshot"} {
		r := e.send(t, e.secrets["consumer"], "GET", path, nil)
		if r.code != http.StatusOK {
			t.Fatalf("GET %s = %d %s", path, r.code, r.body)
		}
		bodies[path] = r.body
	}
	forbidden := []string{"seoul-police-x9", "dsc-support-q4", "kcsc", "REF-",
		"evaluator", "reference", "sources", "decided", "actor", "status"}
	for path, body := range bodies {
		for _, w := range forbidden {
			if strings.Contains(string(body), w) {
				t.Errorf("GET %s as consumer contains %q:\n%s", path, w, body)
			}
		}
	}

	// The fields of every entry and line, by name.
	var page struct {
		Entries []map[string]json.RawMessage `json:"entries"`
	}
	if err := json.Unmarshal(bodies["/v1/feed"], &page); err != nil {
		t.Fatal(err)
	}
	allowed := []string{"op", "item_id", "category", "signals"}
	for _, en := range page.Entries {
		for k := range en {
			if !slices.Contains(allowed, k) {
				t.Errorf("feed entry has field %q, want only %v", k, allowed)
			}
		}
	}
	lines := strings.Split(strings.TrimSpace(string(bodies["/v1/feed/snapshot"])), "\n")
	for i, l := range lines[:len(lines)-1] {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("snapshot line %d: %v", i+1, err)
		}
		if got, want := slices.Sorted(maps.Keys(m)),
			[]string{"category", "item_id", "signals"}; !slices.Equal(got, want) {
			t.Errorf("snapshot line %d has fields %v, want %v", i+1, got, want)
		}
	}
}

// consumerCopy is what a filter keeps: the distributable set by item id.
type consumerCopy map[int64][]dnadb.Signal

// apply applies feed entries to the copy, failing on one that does not fit it.
func (c consumerCopy) apply(t testing.TB, entries []dnadb.FeedEntry) {
	t.Helper()
	for _, en := range entries {
		switch en.Op {
		case dnadb.FeedAdd:
			if _, ok := c[en.ItemID]; ok {
				t.Errorf("feed adds item %d, which the copy holds already", en.ItemID)
			}
			c[en.ItemID] = en.Signals
		case dnadb.FeedRemove:
			delete(c, en.ItemID)
		default:
			t.Errorf("feed entry %+v has an unknown op", en)
		}
	}
}

// snapshot loads the consumer's copy from the snapshot and returns its cursor.
func (e *env) snapshot(t testing.TB) (consumerCopy, string) {
	t.Helper()
	c, cursor, err := takeSnapshot(e.as("consumer"))
	if err != nil {
		t.Fatal(err)
	}
	return c, cursor
}

// takeSnapshot loads a copy from the snapshot c reads and returns its cursor.
func takeSnapshot(c *client.Client) (consumerCopy, string, error) {
	cp := consumerCopy{}
	cursor, err := c.Snapshot(context.Background(), func(it dnadb.FeedItem) error {
		if _, ok := cp[it.ItemID]; ok {
			return fmt.Errorf("item %d twice in the snapshot", it.ItemID)
		}
		cp[it.ItemID] = it.Signals
		return nil
	})
	return cp, cursor, err
}

// distributable returns the confirmed items and their signals, as the store holds
// them.
func (e *env) distributable(t testing.TB) consumerCopy {
	t.Helper()
	c := consumerCopy{}
	for after := int64(0); ; {
		items, err := e.store.Items(context.Background(), dnadb.ItemFilter{
			Status: dnadb.StatusConfirmed, After: after, Limit: dnadb.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) == 0 {
			return c
		}
		for _, it := range items {
			c[it.ID] = it.Signals
		}
		after = items[len(items)-1].ID
	}
}

// TestFeedSnapshotThenFeed takes a snapshot, makes further confirmations and
// withdrawals, and follows the feed from the snapshot's cursor: the copy ends
// exactly the distributable set.
func TestFeedSnapshotThenFeed(t *testing.T) {
	e := newEnv(t)
	var items []dnadb.Item
	for i := range 8 {
		items = append(items, e.register(t, "police", i))
	}
	for _, it := range items[:5] {
		e.confirm(t, it.ID)
	}
	e.decideAs(t, "evaluator", items[0].ID, dnadb.DecisionReject)

	c, cursor := e.snapshot(t)
	if diff := cmp.Diff(e.distributable(t), c); diff != "" {
		t.Errorf("snapshot (-distributable +copy):\n%s", diff)
	}

	e.confirm(t, items[5].ID)
	e.confirm(t, items[6].ID)
	e.decideAs(t, "police", items[1].ID, dnadb.DecisionWithdraw)
	e.decideAs(t, "evaluator", items[5].ID, dnadb.DecisionReject)
	e.register(t, "support", 100)

	entries, _ := e.readFeed(t, cursor, 2)
	c.apply(t, entries)
	want := e.distributable(t)
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("snapshot + feed (-distributable +copy):\n%s", diff)
	}
	if len(want) != 4 {
		t.Errorf("distributable set holds %d items, want 4", len(want))
	}
}

// TestFeedPostgresConcurrentWriters runs two writers against PostgreSQL, each
// registering, confirming and withdrawing items, while one consumer takes a
// snapshot and follows the feed from it in small pages and another takes snapshot
// after snapshot. When the writers are done, the follower's copy and every
// snapshot brought up to date by the feed from its own cursor are exactly the
// distributable set, with no item added twice.
func TestFeedPostgresConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	e := newEnvStore(t, pgtest.DSN(t), server.Config{Rate: -1})
	const perWriter = 40
	var n atomic.Int64
	writer := func(who string) error {
		for i := range perWriter {
			k := int(n.Add(1))
			reg, err := e.as(who).CreateItem(ctx, dnadb.NewItem{
				Category: dnadb.CategoryCSAM, Reference: fmt.Sprintf("REF-%s-%d", who, k),
				Signals: []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: farHash(k),
					Quality: 90}},
			})
			switch {
			case err != nil:
				return err
			case i%5 == 4:
				continue // left pending
			}
			id := reg.Item.ID
			if _, err := e.as("evaluator").Decide(ctx, id, dnadb.DecisionConfirm); err != nil {
				return err
			}
			if i%3 == 0 {
				if _, err := e.as(who).Decide(ctx, id, dnadb.DecisionWithdraw); err != nil {
					return err
				}
			}
		}
		return nil
	}

	// Start the writers.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for w, who := range []string{"police", "support"} {
		wg.Go(func() { errs[w] = writer(who) })
	}
	for deadline := time.Now().Add(30 * time.Second); n.Load() < 4; {
		if time.Now().After(deadline) {
			t.Fatal("writers made no progress")
		}
		time.Sleep(time.Millisecond)
	}

	// Beside them, the follower: a snapshot, then the feed in pages of 7.
	stop := make(chan struct{})
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	type snap struct {
		copy   consumerCopy
		cursor string
	}
	var follower snap
	var entries []dnadb.FeedEntry
	followed := make(chan error, 1)
	go func() {
		var err error
		follower.copy, follower.cursor, err = takeSnapshot(e.as("consumer"))
		for err == nil && !stopped() {
			var p api.FeedPage
			if p, err = e.as("consumer").Feed(ctx, follower.cursor, 7, 0); err == nil {
				entries = append(entries, p.Entries...)
				follower.cursor = p.Cursor
			}
		}
		followed <- err
	}()

	// And snapshot after snapshot.
	var snaps []snap
	snapped := make(chan error, 1)
	go func() {
		for !stopped() {
			c, cursor, err := takeSnapshot(e.as("consumer"))
			if err != nil {
				snapped <- err
				return
			}
			snaps = append(snaps, snap{c, cursor})
		}
		snapped <- nil
	}()

	// Let the writers finish, then the readers.
	wg.Wait()
	close(stop)
	for w, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", w, err)
		}
	}
	if err := <-followed; err != nil {
		t.Fatalf("follower: %v", err)
	}
	if err := <-snapped; err != nil {
		t.Fatalf("snapshots: %v", err)
	}

	// Bring every copy up to date from its cursor and compare.
	want := e.distributable(t)
	rest, _ := e.readFeed(t, follower.cursor, 0)
	follower.copy.apply(t, append(entries, rest...))
	if diff := cmp.Diff(want, follower.copy); diff != "" {
		t.Errorf("follower: snapshot + feed (-distributable +copy):\n%s", diff)
	}
	for i, s := range snaps {
		rest, _ := e.readFeed(t, s.cursor, 0)
		s.copy.apply(t, rest)
		if diff := cmp.Diff(want, s.copy); diff != "" {
			t.Errorf("snapshot %d + feed (-distributable +copy):\n%s", i, diff)
		}
	}
	t.Logf("follower read %d entries; %d snapshots; %d distributable at the end",
		len(entries)+len(rest), len(snaps), len(want))
}
