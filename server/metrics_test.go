package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
)

// TestMetrics checks that /metrics counts requests by route pattern and status,
// and reports the index size and the change-log position of the match index.
func TestMetrics(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	reg, err := e.client.CreateItem(ctx, dnadb.NewItem{
		Category: dnadb.CategoryCSAM,
		Signals:  []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: farHash(1), Quality: 90}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.confirm(t, reg.Item.ID)
	for range 3 {
		if _, err := e.as("consumer").Match(ctx, api.MatchRequest{
			Queries: []api.MatchQuery{{Hash: farHash(1)}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.as("consumer").Item(ctx, reg.Item.ID); err == nil {
		t.Fatal("consumer read an item")
	}

	resp, err := http.Get(e.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`dnadb_http_requests_total{code="200",route="POST /v1/match"} 3`,
		`dnadb_http_requests_total{code="201",route="POST /v1/items"} 1`,
		`dnadb_http_requests_total{code="403",route="GET /v1/items/{id}"} 1`,
		`dnadb_http_request_duration_seconds_count{route="POST /v1/match"} 3`,
		"dnadb_index_size 1\n",
		"dnadb_changelog_lag 0\n",
		"dnadb_changelog_applied_seq 2\n",
		"go_goroutines ",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
