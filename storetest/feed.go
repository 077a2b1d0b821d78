package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dnadb/dnadb"
)

// pdq is the signal a stored PDQ hash of quality 100 comes back as.
func pdq(h string) dnadb.Signal {
	return dnadb.Signal{Type: dnadb.SignalPDQ, Value: h, Quality: 100,
		Profile: dnadb.ProfileFull}
}

// lastSeq returns the seq of the last change in the log.
func lastSeq(t *testing.T, s dnadb.Store) int64 {
	t.Helper()
	var last int64
	for {
		page, err := s.Changes(context.Background(), last, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return last
		}
		last = page[len(page)-1].Seq
	}
}

func decide(t *testing.T, s dnadb.Store, id int64, d dnadb.Decision) {
	t.Helper()
	if _, err := s.Decide(context.Background(), id, d, "centre/e1"); err != nil {
		t.Fatalf("Decide(%d, %s): %v", id, d, err)
	}
}

// testFeed walks items through registration, decisions and further sources, and
// reads the feed after each step: only confirmations and the removals of
// confirmed items appear, each once, with nothing but ids, categories and signals.
func testFeed(t *testing.T, s dnadb.Store) {
	ctx := context.Background()
	read := func(after int64, limit int) dnadb.FeedPage {
		t.Helper()
		p, err := s.Feed(ctx, after, limit)
		if err != nil {
			t.Fatalf("Feed(%d, %d): %v", after, limit, err)
		}
		return p
	}
	step := func(name string, after int64, want []dnadb.FeedEntry) int64 {
		t.Helper()
		p := read(after, 0)
		if diff := cmp.Diff(want, p.Entries); diff != "" {
			t.Errorf("%s: Feed(%d) entries (-want +got):\n%s", name, after, diff)
		}
		if last := lastSeq(t, s); p.Seq != last || p.More {
			t.Errorf("%s: Feed(%d) = seq %d more %t, want seq %d, no more", name, after,
				p.Seq, p.More, last)
		}
		return p.Seq
	}
	add := func(id int64, sigs ...dnadb.Signal) dnadb.FeedEntry {
		return dnadb.FeedEntry{Op: dnadb.FeedAdd, ItemID: id,
			Category: dnadb.CategoryIllegalFilming, Signals: sigs}
	}
	remove := func(id int64) dnadb.FeedEntry {
		return dnadb.FeedEntry{Op: dnadb.FeedRemove, ItemID: id}
	}

	// An empty log is an empty feed at zero.
	cur := step("empty", 0, []dnadb.FeedEntry{})
	if cur != 0 {
		t.Fatalf("empty feed at seq %d, want 0", cur)
	}

	// Registrations show nothing, but move the cursor.
	a := mustCreate(t, s, newItem("police", hashA, hashB))
	b := mustCreate(t, s, newItem("support", hashB))
	c := mustCreate(t, s, newItem("regulator", hashA))
	cur = step("registered", cur, []dnadb.FeedEntry{})

	// A confirmation adds the item with every signal; a rejection while pending
	// shows nothing.
	decide(t, s, a.ID, dnadb.DecisionConfirm)
	decide(t, s, b.ID, dnadb.DecisionReject)
	cur = step("decided", cur, []dnadb.FeedEntry{add(a.ID, pdq(hashA), pdq(hashB))})

	// A further source shows nothing.
	decide(t, s, c.ID, dnadb.DecisionConfirm)
	if _, err := s.AddSource(ctx, a.ID, "support", "SC-1"); err != nil {
		t.Fatal(err)
	}
	cur = step("sourced", cur, []dnadb.FeedEntry{add(c.ID, pdq(hashA))})

	// Withdrawing or rejecting a confirmed item removes it, once: withdrawing it
	// after its rejection removes nothing more.
	if _, err := s.WithdrawSource(ctx, c.ID, "regulator"); err != nil {
		t.Fatal(err)
	}
	decide(t, s, a.ID, dnadb.DecisionReject)
	decide(t, s, a.ID, dnadb.DecisionWithdraw)
	decide(t, s, b.ID, dnadb.DecisionWithdraw)
	step("removed", cur, []dnadb.FeedEntry{remove(c.ID), remove(a.ID)})

	// From the start, the confirmations of items no longer confirmed are left out,
	// and their removals remain.
	step("from the start", 0, []dnadb.FeedEntry{remove(c.ID), remove(a.ID)})

	// Paging by limit: a full page ends at its last entry, and says that more
	// changes follow.
	var got []dnadb.FeedEntry
	var pages int
	for after, more := int64(0), true; more; pages++ {
		p := read(after, 1)
		if len(p.Entries) > 1 || p.Seq < after {
			t.Fatalf("Feed(%d, 1) = %+v", after, p)
		}
		got = append(got, p.Entries...)
		after, more = p.Seq, p.More
	}
	if want := []dnadb.FeedEntry{remove(c.ID), remove(a.ID)}; !cmp.Equal(want, got) {
		t.Errorf("paged feed = %+v, want %+v", got, want)
	}
	// The second page ends at a's removal, before the changes that remove
	// nothing, which a third, empty page crosses.
	if pages != 3 {
		t.Errorf("paged feed took %d pages of 1, want 3", pages)
	}

	// Out of range.
	last := lastSeq(t, s)
	for _, c := range []struct {
		after int64
		limit int
	}{{last + 1, 0}, {-1, 0}, {0, dnadb.MaxPageSize + 1}, {0, -1}} {
		if _, err := s.Feed(ctx, c.after, c.limit); !errors.Is(err, dnadb.ErrInvalid) {
			t.Errorf("Feed(%d, %d) error = %v, want ErrInvalid", c.after, c.limit, err)
		}
	}
}

// testDistributable reads the distributable set after confirmations, a rejection
// and a withdrawal, checks that the feed after its seq adds and removes exactly
// what changed since, and that an error from fn ends the read.
func testDistributable(t *testing.T, s dnadb.Store) {
	ctx := context.Background()
	snapshot := func() ([]dnadb.FeedItem, int64) {
		t.Helper()
		var items []dnadb.FeedItem
		seq, err := s.Distributable(ctx, func(it dnadb.FeedItem) error {
			items = append(items, it)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return items, seq
	}

	items, seq := snapshot()
	if len(items) != 0 || seq != 0 {
		t.Errorf("empty store: Distributable = %d items at seq %d, want none at 0",
			len(items), seq)
	}

	a := mustCreate(t, s, newItem("police", hashA, hashB))
	b := mustCreate(t, s, newItem("support", hashB))
	c := mustCreate(t, s, newItem("regulator", hashA))
	d := mustCreate(t, s, newItem("police", hashB))
	decide(t, s, a.ID, dnadb.DecisionConfirm)
	decide(t, s, b.ID, dnadb.DecisionConfirm)
	decide(t, s, c.ID, dnadb.DecisionConfirm)
	decide(t, s, b.ID, dnadb.DecisionReject)
	if _, err := s.WithdrawSource(ctx, c.ID, "regulator"); err != nil {
		t.Fatal(err)
	}

	items, seq = snapshot()
	cat := dnadb.CategoryIllegalFilming
	want := []dnadb.FeedItem{{ItemID: a.ID, Category: cat, Signals: []dnadb.Signal{
		pdq(hashA), pdq(hashB)}}}
	if diff := cmp.Diff(want, items); diff != "" {
		t.Errorf("Distributable (-want +got):\n%s", diff)
	}
	if last := lastSeq(t, s); seq != last {
		t.Errorf("Distributable seq = %d, want the last change, %d", seq, last)
	}

	// The feed after the snapshot holds what changed since, nothing before.
	decide(t, s, d.ID, dnadb.DecisionConfirm)
	decide(t, s, a.ID, dnadb.DecisionWithdraw)
	p, err := s.Feed(ctx, seq, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantFeed := []dnadb.FeedEntry{
		{Op: dnadb.FeedAdd, ItemID: d.ID, Category: cat, Signals: []dnadb.Signal{pdq(hashB)}},
		{Op: dnadb.FeedRemove, ItemID: a.ID},
	}
	if diff := cmp.Diff(wantFeed, p.Entries); diff != "" {
		t.Errorf("Feed after the snapshot (-want +got):\n%s", diff)
	}

	// An error from fn ends the read and comes back as it is.
	e := mustCreate(t, s, newItem("police", hashA))
	decide(t, s, e.ID, dnadb.DecisionConfirm)
	stop := errors.New("stop")
	var calls int
	_, err = s.Distributable(ctx, func(dnadb.FeedItem) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Distributable with a failing fn: %d calls, error %v; want 1 call, %v",
			calls, err, stop)
	}
}

// testFeedBytes confirms video items whose vPDQ signals are a megabyte each: a
// page of the feed ends before MaxFeedBytes, says more follow, and the next page
// goes on from the first item it left out.
func testFeedBytes(t *testing.T, s dnadb.Store) {
	ctx := context.Background()
	frames := make([]dnadb.VideoFrame, dnadb.MaxVPDQFrames)
	for i := range frames {
		frames[i] = dnadb.VideoFrame{Number: i, Quality: 100, Timestamp: float64(i)}
		frames[i].Hash[0], frames[i].Hash[1] = byte(i), byte(i>>8)
	}
	value := dnadb.FormatVPDQ(frames)
	const n = 9
	if n*len(value) <= dnadb.MaxFeedBytes {
		t.Fatalf("%d signals of %d bytes fit in one page", n, len(value))
	}
	var ids []int64
	for range n {
		it := mustCreate(t, s, dnadb.NewItem{Category: dnadb.CategoryCSAM, Source: "police",
			Signals: []dnadb.Signal{{Type: dnadb.SignalVPDQ, Value: value, Quality: 100}}})
		decide(t, s, it.ID, dnadb.DecisionConfirm)
		ids = append(ids, it.ID)
	}

	var got []int64
	var pages []int
	for after, more := int64(0), true; more; {
		p, err := s.Feed(ctx, after, 0)
		if err != nil {
			t.Fatal(err)
		}
		var size int
		for _, e := range p.Entries {
			got = append(got, e.ItemID)
			if len(e.Signals) != 1 || e.Signals[0].Value != value {
				t.Errorf("item %d: entry without its vPDQ signal", e.ItemID)
			}
			size += len(value)
		}
		if len(p.Entries) > 1 && size > dnadb.MaxFeedBytes {
			t.Errorf("page of %d entries holds %d bytes of signals, over %d", len(p.Entries),
				size, dnadb.MaxFeedBytes)
		}
		pages = append(pages, len(p.Entries))
		after, more = p.Seq, p.More
	}
	if diff := cmp.Diff(ids, got); diff != "" {
		t.Errorf("items the feed adds (-want +got):\n%s", diff)
	}
	if len(pages) < 2 {
		t.Errorf("feed took pages of %v, want more than one", pages)
	}
	t.Logf("pages of %v entries of %d bytes", pages, len(value))
}
