package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/client"
	"github.com/dnadb/dnadb/internal/pgtest"
)

// writeLockKey is the advisory lock that the PostgreSQL store's write
// transactions take (sqlstore's writeLockKey, "dnadb" in ASCII).
const writeLockKey int64 = 0x646e616462

// writerLog is what one writer goroutine registered and decided.
type writerLog struct {
	hashOf    map[int64]string
	confirmed map[int64]bool
	gone      []int64
}

// writeBursts registers and decides items through one server in bursts, as
// TestAgentFollowsFeed does: most confirmed, a few rejected, and in the last
// burst some earlier confirmations withdrawn. It reports failures with tb.Errorf
// and returns early, since it runs beside other goroutines.
func writeBursts(tb testing.TB, s *server, contributor, evaluator, tag string,
	seed uint64) writerLog {
	ctx := context.Background()
	reg, eval := s.client(tb, contributor), s.client(tb, evaluator)
	const bursts, confirms, rejects, withdraws = 4, 100, 5, 15
	r := rand.New(rand.NewPCG(seed, 11))
	w := writerLog{hashOf: map[int64]string{}, confirmed: map[int64]bool{}}
	for b := range bursts {
		items := randomPhotos(r, fmt.Sprintf("%s-burst%d", tag, b), confirms+rejects)
		regs, err := reg.CreateItems(ctx, items)
		if err != nil {
			tb.Errorf("%s burst %d: register: %v", tag, b, err)
			return w
		}
		for i, res := range regs.Results {
			id := res.Item.ID
			w.hashOf[id] = items[i].Signals[0].Value
			d := dnadb.DecisionConfirm
			if i >= confirms {
				d = dnadb.DecisionReject
			}
			if _, err := eval.Decide(ctx, id, d); err != nil {
				tb.Errorf("%s burst %d: decide item %d: %v", tag, b, id, err)
				return w
			}
			if d == dnadb.DecisionConfirm {
				w.confirmed[id] = true
			} else {
				w.gone = append(w.gone, id)
			}
		}
		// Give the other writer room to interleave its burst with this one.
		time.Sleep(time.Duration(r.IntN(100)) * time.Millisecond)
	}
	n := 0
	for id := range w.confirmed {
		if n == withdraws {
			break
		}
		if _, err := eval.Decide(ctx, id, dnadb.DecisionWithdraw); err != nil {
			tb.Errorf("%s: withdraw item %d: %v", tag, id, err)
			return w
		}
		delete(w.confirmed, id)
		w.gone = append(w.gone, id)
		n++
	}
	return w
}

// holdWriteLock, until stop is closed, now and then opens a write transaction on
// db that takes the store's advisory lock and holds it for about 200 ms before
// committing, so that the servers' writers queue behind it and commit in bursts.
func holdWriteLock(tb testing.TB, db *sql.DB, stop <-chan struct{}) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 3))
	for {
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(100+r.IntN(200)) * time.Millisecond):
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			tb.Errorf("slow writer: begin: %v", err)
			return
		}
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`,
			writeLockKey); err != nil {
			tx.Rollback()
			tb.Errorf("slow writer: lock: %v", err)
			return
		}
		time.Sleep(200 * time.Millisecond)
		if err := tx.Commit(); err != nil {
			tb.Errorf("slow writer: commit: %v", err)
			return
		}
	}
}

// TestAgentPostgresTwoWriters runs two central servers on one PostgreSQL store
// and registers and decides items through both at once, while a third connection
// now and then holds the store's write lock, and checks that an agent following
// server A ends with a copy equal to the central distributable set.
func TestAgentPostgresTwoWriters(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dsn := pgtest.DSN(t)
	p := bootstrap(t, dsn)
	a := startServer(t, "A", dsn)
	b := startServer(t, "B", dsn)
	ag := startAgent(t, "agent", a.URL, p.consumer, filepath.Join(dir, "agent.db"),
		"--wait", "5s")
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()

	// Write through both servers at once, the slow writer beside them; midway the
	// agent restarts.
	stop := make(chan struct{})
	var slow sync.WaitGroup
	slow.Go(func() { holdWriteLock(t, raw, stop) })
	var wg sync.WaitGroup
	var logA, logB writerLog
	wg.Go(func() { logA = writeBursts(t, a, p.police, p.evaluator, "A", 1) })
	wg.Go(func() { logB = writeBursts(t, b, p.support, p.evaluator, "B", 2) })
	time.Sleep(time.Second)
	ag = restart(t, ag)
	wg.Wait()
	close(stop)
	slow.Wait()
	if t.Failed() {
		t.FailNow()
	}
	hashOf := map[int64]string{}
	confirmed := map[int64]bool{}
	var gone []int64
	for _, w := range []writerLog{logA, logB} {
		for id, h := range w.hashOf {
			hashOf[id] = h
		}
		for id := range w.confirmed {
			confirmed[id] = true
		}
		gone = append(gone, w.gone...)
	}

	// Read the central distributable set through B, then wait for the agent to
	// reach it: its cursor names A's feed, so compare the sets, not the cursors.
	want := map[int64]bool{}
	_, err = b.client(t, p.consumer).Snapshot(ctx, func(it dnadb.FeedItem) error {
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
	h := waitHealth(t, ag, "catch-up", func(h api.AgentHealth) bool {
		return h.Entries == len(want)
	})
	// Let a late change, if one were wrongly pending, show before comparing.
	time.Sleep(500 * time.Millisecond)
	h = agentHealth(t, ag)
	if h.Entries != len(want) || h.IndexSize != len(want) {
		t.Errorf("agent /healthz entries=%d index_size=%d, want %d", h.Entries,
			h.IndexSize, len(want))
	}
	if h.Status != "ok" || h.StopReason != "" {
		t.Errorf("agent /healthz status=%q stop_reason=%q, want ok and none", h.Status,
			h.StopReason)
	}

	// Every confirmed hash matches its own item through the agent, and only it;
	// no withdrawn or rejected hash matches anything.
	agentClient, err := client.New(ag.URL, &http.Client{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
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
