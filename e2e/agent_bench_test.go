package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/client"
)

// loadItems is how many confirmed items the agent holds in BenchmarkAgentMatchLoad.
const loadItems = 10_000

// BenchmarkAgentMatchLoad measures an agent process holding a copy of 10,000
// confirmed random PDQ items under load: clients goroutines in this process, each
// with keep-alive connections, send one-hash POST /v1/match queries as fast as
// the agent answers. It reports requests per second and p50 and p99 latency.
func BenchmarkAgentMatchLoad(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	store := filepath.Join(dir, "central.db")
	p := bootstrap(b, store)
	central := startServer(b, "central", store)
	ag := startAgent(b, "agent", central.URL, p.consumer, filepath.Join(dir, "agent.db"))

	// Register the items in batches and confirm them, several decisions at once.
	r := rand.New(rand.NewPCG(13, 13))
	items := randomPhotos(r, "load", loadItems)
	police, eval := central.client(b, p.police), central.client(b, p.evaluator)
	var ids []int64
	for batch := range slices.Chunk(items, 1000) {
		regs, err := police.CreateItems(ctx, batch)
		if err != nil {
			b.Fatalf("register: %v", err)
		}
		for _, reg := range regs.Results {
			ids = append(ids, reg.Item.ID)
		}
	}
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 16 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(ids)); i = next.Add(1) - 1 {
				if _, err := eval.Decide(ctx, ids[i], dnadb.DecisionConfirm); err != nil {
					b.Errorf("confirm item %d: %v", ids[i], err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	waitHealth(b, ag, "copy of the items", func(h api.AgentHealth) bool {
		return h.Entries == loadItems+dnadb.MarkersPerConsumer
	})

	// Queries: half hit an item exactly, half are random and miss.
	queries := make([]string, 1024)
	for i := range queries {
		if i%2 == 0 {
			queries[i] = items[r.IntN(len(items))].Signals[0].Value
		} else {
			queries[i] = randomPhotos(r, "miss", 1)[0].Signals[0].Value
		}
	}

	for _, clients := range []int{4, 16, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
				MaxIdleConns: clients, MaxIdleConnsPerHost: clients}}
			defer hc.CloseIdleConnections()
			c, err := client.New(ag.URL, hc)
			if err != nil {
				b.Fatal(err)
			}
			lat := make([]time.Duration, b.N)
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range clients {
				wg.Go(func() {
					for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
						req := api.MatchRequest{Queries: []api.MatchQuery{
							{Hash: queries[i%int64(len(queries))]}}}
						t0 := time.Now()
						if _, err := c.Match(ctx, req); err != nil {
							b.Errorf("match: %v", err)
							return
						}
						lat[i] = time.Since(t0)
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			slices.Sort(lat)
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
			b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
			b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
		})
	}
}
