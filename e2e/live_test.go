package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnadb/dnadb"
)

func TestAuditVerifyLive(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			store := be.store(t)
			p := bootstrap(t, store)
			srv := startServer(t, "live", store)
			police := srv.client(t, p.police)
			ctx, cancel := context.WithCancel(context.Background())
			reg, err := police.CreateItem(ctx, dnadb.NewItem{Category: dnadb.CategoryOther,
				Signals: []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: fakeHash("a"), Quality: 100}}})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for ctx.Err() == nil {
						police.Item(ctx, reg.Item.ID)
					}
				})
			}
			bad := 0
			for i := range 40 {
				r := runBin(t, nil, "audit", "verify", "--store", store)
				if r.code != 0 {
					bad++
					t.Logf("run %d: exit %d %s %s", i, r.code, strings.TrimSpace(r.stdout), r.stderr)
				}
			}
			cancel()
			wg.Wait()
			_ = time.Second
			t.Logf("%d of 40 failed", bad)
		})
	}
}
