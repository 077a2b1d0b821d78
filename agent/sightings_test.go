package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/client"
)

// fakeCentre is a central server's POST /v1/sightings that fails its first
// attempts: the first with 503 before storing anything, the second with 500
// after storing the batch, as when the answer is lost.
type fakeCentre struct {
	mu       sync.Mutex
	attempts int
	seen     map[string]int // report id to times counted
	refuse   bool
}

func (c *fakeCentre) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.URL.Path != "/v1/sightings" || r.Header.Get("Authorization") != "Bearer tok" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if c.refuse {
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(api.ErrorBody{Error: api.ErrorDetail{
			Code: "unauthenticated", Message: "token revoked"}})
		return
	}
	c.attempts++
	if c.attempts == 1 {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	var req api.SightingsRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var resp api.SightingsResponse
	for _, s := range req.Sightings {
		if c.seen[s.ReportID] > 0 {
			resp.Duplicates++
			continue
		}
		c.seen[s.ReportID]++
		resp.Accepted++
	}
	if c.attempts == 2 {
		http.Error(w, "answer lost", http.StatusInternalServerError)
		return
	}
	json.NewEncoder(w).Encode(resp)
}

func testReports(tag string, n int) []dnadb.NewSighting {
	out := make([]dnadb.NewSighting, n)
	for i := range out {
		out[i] = dnadb.NewSighting{ReportID: fmt.Sprintf("%s-%d", tag, i), ItemID: 7,
			Where: "https://example.com/v/" + tag, SeenAt: time.Now(),
			Action: dnadb.SightingBlocked}
	}
	return out
}

func TestSendSightingsRetries(t *testing.T) {
	ctx := context.Background()
	centre := &fakeCentre{seen: map[string]int{}}
	srv := httptest.NewServer(centre)
	defer srv.Close()
	c, err := client.New(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	c = c.WithToken("tok")
	path := filepath.Join(t.TempDir(), "agent.db")
	s, err := OpenStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Client: c, Store: s, MinBackoff: time.Millisecond,
		MaxBackoff: 5 * time.Millisecond}
	a, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}

	// Queue 1,500 reports, some of them twice, and reopen: the queue is kept.
	reps := testReports("r", 1500)
	if _, err := a.QueueSightings(ctx, reps[:1000]); err != nil {
		t.Fatal(err)
	}
	if _, err := a.QueueSightings(ctx, reps[900:]); err != nil {
		t.Fatal(err)
	}
	if _, err := a.QueueSightings(ctx, []dnadb.NewSighting{{ReportID: "x"}}); err == nil ||
		!strings.Contains(err.Error(), "sightings[0]") {
		t.Errorf("QueueSightings(malformed) = %v, want an error naming sightings[0]", err)
	}
	s.Close()
	if s, err = OpenStore(ctx, path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cfg.Store = s
	if a, err = New(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if got, want := a.Health().QueuedSightings, 1500; got != want {
		t.Fatalf("queued sightings after reopening = %d, want %d", got, want)
	}

	// Send: the first attempts fail, yet every report reaches the centre once.
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.SendSightings(runCtx)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for a.Health().QueuedSightings > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if h := a.Health(); h.QueuedSightings != 0 || h.SightingsError != "" {
		t.Fatalf("agent health after sending = %+v, want an empty queue and no error", h)
	}
	centre.mu.Lock()
	if got, want := len(centre.seen), len(reps); got != want {
		t.Errorf("centre holds %d reports, want %d", got, want)
	}
	for id, n := range centre.seen {
		if n != 1 {
			t.Errorf("centre counted report %q %d times, want once", id, n)
		}
	}
	if centre.attempts < 4 {
		t.Errorf("centre saw %d attempts, want at least 4 (two failures, two batches)",
			centre.attempts)
	}
	centre.refuse = true
	centre.mu.Unlock()

	// A refused token stops sending, and the reports stay queued.
	if _, err := a.QueueSightings(ctx, testReports("late", 3)); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		a.SendSightings(ctx)
	}()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("SendSightings went on after the token was refused")
	}
	h := a.Health()
	if h.QueuedSightings != 3 || !strings.Contains(h.SightingsError, "token") {
		t.Errorf("agent health after refusal = %+v, want 3 queued and a token error", h)
	}
}
