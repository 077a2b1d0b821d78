package server_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/internal/pgtest"
	"github.com/dnadb/dnadb/matcher"
	"github.com/dnadb/dnadb/server"
	"github.com/dnadb/dnadb/sqlstore"
)

// randomItems returns n registrations with one random PDQ hash each. Random hashes
// lie some 128 bits apart, so none is taken for a duplicate of another.
func randomItems(r *rand.Rand, n int) []dnadb.NewItem {
	items := make([]dnadb.NewItem, n)
	for i := range items {
		var h dnadb.Hash256
		for k := range h {
			h[k] = byte(r.Uint32())
		}
		items[i] = dnadb.NewItem{
			Category:  dnadb.CategoryIllegalFilming,
			Reference: fmt.Sprintf("case-%d", i),
			Signals:   []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: h.String(), Quality: 90}},
		}
	}
	return items
}

// BenchmarkRegister measures registration throughput through HTTP on each store:
// the batch API against one request per item, as the baseline in the same run.
// The metric is items/s.
func BenchmarkRegister(b *testing.B) {
	stores := []struct {
		name string
		dsn  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return filepath.Join(b.TempDir(), "dnadb.db") }},
		{"postgres", func(b *testing.B) string { return pgtest.DSN(b) }},
	}
	const perOp = 100
	for _, st := range stores {
		for _, mode := range []string{"single", "batch"} {
			b.Run(st.name+"/"+mode, func(b *testing.B) {
				e := newEnvStore(b, st.dsn(b), server.Config{Rate: -1})
				c := e.as("police")
				ctx := context.Background()
				r := rand.New(rand.NewPCG(1, 2))
				n := 0
				for b.Loop() {
					items := randomItems(r, perOp)
					if mode == "batch" {
						if _, err := c.CreateItems(ctx, items); err != nil {
							b.Fatal(err)
						}
					} else {
						for _, it := range items {
							if _, err := c.CreateItem(ctx, it); err != nil {
								b.Fatal(err)
							}
						}
					}
					n += perOp
				}
				b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "items/s")
			})
		}
	}
}

// BenchmarkMatchLatency measures one hash matched through HTTP against an index
// of confirmed items, and the same match made in process as the baseline: what
// HTTP, JSON and authentication add. It reports the p50 and p99 latency.
func BenchmarkMatchLatency(b *testing.B) {
	const indexed = 10000
	ctx := context.Background()
	dsn := filepath.Join(b.TempDir(), "dnadb.db")

	// Fill the store directly, as confirmed items, then start the server on it.
	st, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.CreateOrg(ctx, "loader", dnadb.OrgPolice); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	items := randomItems(r, indexed)
	for _, n := range items {
		n.Source = "loader"
		it, err := st.CreateItem(ctx, n)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.Decide(ctx, it.ID, dnadb.DecisionConfirm, "loader"); err != nil {
			b.Fatal(err)
		}
	}
	st.Close()

	e := newEnvStore(b, dsn, server.Config{Rate: -1})
	queries := make([]dnadb.Hash256, 256)
	for i := range queries {
		// Half hit a stored hash a few bits off, half hit nothing.
		h, _ := dnadb.ParseHash256(items[r.IntN(indexed)].Signals[0].Value)
		if i%2 == 0 {
			for range 8 {
				h[r.IntN(32)] ^= 1 << r.IntN(8)
			}
		} else {
			h = dnadb.Hash256{}
			for k := range h {
				h[k] = byte(r.Uint32())
			}
		}
		queries[i] = h
	}

	b.Run("http", func(b *testing.B) {
		c := e.as("consumer")
		var lat []time.Duration
		i := 0
		for b.Loop() {
			q := api.MatchRequest{Queries: []api.MatchQuery{{Hash: queries[i%256].String()}}}
			start := time.Now()
			if _, err := c.Match(ctx, q); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
			i++
		}
		reportLatency(b, lat)
	})
	b.Run("in-process", func(b *testing.B) {
		m, err := matcher.New(ctx, e.store, matcher.Config{})
		if err != nil {
			b.Fatal(err)
		}
		var lat []time.Duration
		i := 0
		for b.Loop() {
			start := time.Now()
			m.Match(matcher.Query{Hash: queries[i%256]}, matcher.DefaultThreshold)
			lat = append(lat, time.Since(start))
			i++
		}
		reportLatency(b, lat)
	})
}

// reportLatency reports the median and 99th percentile of lat in microseconds.
func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}
