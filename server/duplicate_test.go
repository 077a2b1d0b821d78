package server_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/client"
	"github.com/dnadb/dnadb/internal/pgtest"
	"github.com/dnadb/dnadb/server"
	"github.com/dnadb/dnadb/sqlstore"
)

// TestConcurrentDuplicates has two agencies register the same photos at the same
// moment, through one server on SQLite and through two servers on one PostgreSQL
// database: each photo must become exactly one item, with both agencies as its
// sources.
func TestConcurrentDuplicates(t *testing.T) {
	for _, bc := range []struct {
		name    string
		dsn     func(t *testing.T) string
		servers int
	}{
		{"sqlite", func(t *testing.T) string {
			return filepath.Join(t.TempDir(), "dnadb.db")
		}, 1},
		{"postgres", func(t *testing.T) string { return pgtest.DSN(t) }, 2},
	} {
		t.Run(bc.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := bc.dsn(t)
			e := newEnvStore(t, dsn, server.Config{Rate: -1})

			// A second server on the same database, as another process would be.
			urls := []string{e.url}
			for range bc.servers - 1 {
				st, err := sqlstore.Open(ctx, dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				srv, err := server.New(ctx, st, server.Config{Rate: -1})
				if err != nil {
					t.Fatal(err)
				}
				hs := httptest.NewServer(srv.Handler())
				t.Cleanup(hs.Close)
				urls = append(urls, hs.URL)
			}

			const photos, rounds = 5, 4
			var wg sync.WaitGroup
			errs := make(chan error, photos*rounds*2)
			for p := range photos {
				for r := range rounds {
					for k, who := range []string{"police", "support"} {
						url := urls[(k+r)%len(urls)]
						wg.Go(func() {
							c, _ := client.New(url, nil)
							_, err := c.WithToken(e.secrets[who]).CreateItem(ctx, dnadb.NewItem{
								Category:  dnadb.CategoryIllegalFilming,
								Reference: fmt.Sprintf("%s-%d-%d", who, p, r),
								Signals: []dnadb.Signal{{Type: dnadb.SignalPDQ,
									Value: farHash(100 + p), Quality: 90}},
							})
							if err != nil {
								errs <- err
							}
						})
					}
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}

			items, err := e.store.Items(ctx, dnadb.ItemFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != photos {
				t.Fatalf("%d items for %d photos registered concurrently, want %d",
					len(items), photos, photos)
			}
			for _, it := range items {
				if len(it.Sources) != 2 || it.Sources[0].Org == it.Sources[1].Org {
					t.Errorf("item %d sources = %+v, want the two agencies once each", it.ID,
						it.Sources)
				}
			}
		})
	}
}
