package agent

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dnadb/dnadb"
)

func pdqSignal(h string) []dnadb.Signal {
	return []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: h, Quality: 90}}
}

const (
	hashA = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
	hashB = "0000000000000000000000000000000000000000000000000000000000000001"
)

// items reads every item of s.
func items(t *testing.T, s *Store) []dnadb.FeedItem {
	t.Helper()
	var out []dnadb.FeedItem
	if err := s.Each(context.Background(), func(it dnadb.FeedItem) error {
		out = append(out, it)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStoreApplyAndReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "agent.db")
	s, err := OpenStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.UnixMilli(1_700_000_000_000)

	// A snapshot of one item, then a page that adds one, replaces it and removes
	// the first, and a page that removes an item the copy never held.
	if _, err := s.Replace(ctx, func(add func(dnadb.FeedItem) error) (string, error) {
		return "c1", add(dnadb.FeedItem{ItemID: 1, Category: dnadb.CategoryIllegalFilming,
			Signals: pdqSignal(hashA)})
	}, at); err != nil {
		t.Fatal(err)
	}
	page := []dnadb.FeedEntry{
		{Op: dnadb.FeedAdd, ItemID: 2, Category: dnadb.CategoryIllegalFilming,
			Signals: pdqSignal(hashA)},
		{Op: dnadb.FeedAdd, ItemID: 2, Category: dnadb.CategoryIllegalFilming,
			Signals: pdqSignal(hashB)},
		{Op: dnadb.FeedRemove, ItemID: 1},
	}
	if n, err := s.Apply(ctx, page, "c2", at); err != nil || n != 1 {
		t.Fatalf("Apply = %d, %v, want 1, nil", n, err)
	}
	if _, err := s.Apply(ctx, []dnadb.FeedEntry{{Op: dnadb.FeedRemove, ItemID: 9}}, "c3",
		at); err != nil {
		t.Fatal(err)
	}

	// A page with a bad entry changes nothing, cursor included.
	bad := []dnadb.FeedEntry{{Op: dnadb.FeedRemove, ItemID: 2}, {Op: "move", ItemID: 3}}
	if _, err := s.Apply(ctx, bad, "c4", at); err == nil {
		t.Fatal("Apply of a bad page succeeded")
	}
	s.Close()

	// Reopened, the copy stands where the last good page left it.
	s, err = OpenStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(State{Cursor: "c3", SyncedAt: at, Entries: 1}, st); diff != "" {
		t.Errorf("State after reopen (-want +got):\n%s", diff)
	}
	want := []dnadb.FeedItem{{ItemID: 2, Category: dnadb.CategoryIllegalFilming,
		Signals: pdqSignal(hashB)}}
	if diff := cmp.Diff(want, items(t, s)); diff != "" {
		t.Errorf("items after reopen (-want +got):\n%s", diff)
	}
}

func TestStoreReplaceCutShort(t *testing.T) {
	ctx := context.Background()
	s, err := OpenStore(ctx, filepath.Join(t.TempDir(), "agent.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.UnixMilli(1_700_000_000_000)
	if _, err := s.Apply(ctx, []dnadb.FeedEntry{{Op: dnadb.FeedAdd, ItemID: 1,
		Category: dnadb.CategoryIllegalFilming, Signals: pdqSignal(hashA)}}, "c1",
		at); err != nil {
		t.Fatal(err)
	}

	// A snapshot that fails midway leaves the copy and its cursor as they were.
	broken := errors.New("connection reset")
	_, err = s.Replace(ctx, func(add func(dnadb.FeedItem) error) (string, error) {
		if err := add(dnadb.FeedItem{ItemID: 5, Category: dnadb.CategoryIllegalFilming,
			Signals: pdqSignal(hashB)}); err != nil {
			return "", err
		}
		return "", broken
	}, at.Add(time.Hour))
	if !errors.Is(err, broken) {
		t.Fatalf("Replace = %v, want %v", err, broken)
	}
	st, err := s.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(State{Cursor: "c1", SyncedAt: at, Entries: 1}, st); diff != "" {
		t.Errorf("State after a failed snapshot (-want +got):\n%s", diff)
	}
}

func TestBackoff(t *testing.T) {
	lo, hi := 100*time.Millisecond, 2*time.Second
	for _, tc := range []struct {
		n      int
		lo, hi time.Duration
	}{
		{1, 50 * time.Millisecond, 100 * time.Millisecond},
		{3, 200 * time.Millisecond, 400 * time.Millisecond},
		{10, time.Second, 2 * time.Second},
		{1000, time.Second, 2 * time.Second},
	} {
		for range 50 {
			if d := backoff(lo, hi, tc.n); d < tc.lo || d > tc.hi {
				t.Fatalf("backoff(%s, %s, %d) = %s, want within %s..%s", lo, hi, tc.n, d,
					tc.lo, tc.hi)
			}
		}
	}
}
