// Package agent is the process a filtering company runs beside its upload
// pipeline. It keeps its own SQLite copy of the distributable set, bootstrapped
// from the central server's feed snapshot and kept current by following the feed,
// holds it in an in-memory match index, and serves the central server's PDQ match
// API on its own address, so that uploads are matched in the company's own data
// centre and never leave it.
//
// Each page of the feed is applied in one transaction with the cursor after it,
// so a restart resumes exactly where the copy stands. While the central server
// cannot be reached the agent keeps matching on what it has and retries with
// capped, jittered exponential backoff; when the server refuses its token it
// stops syncing for good, says why on /healthz, and keeps matching.
//
// Sighting reports from the company's filter are queued in the same SQLite file
// and forwarded to the central server in batches, with the same backoff; a report
// leaves the queue only once the centre accepted it.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/client"
	"github.com/dnadb/dnadb/imagefile"
	"github.com/dnadb/dnadb/matcher"
)

// Defaults of Config.
const (
	DefaultAddr         = "127.0.0.1:8081"
	DefaultWait         = 30 * time.Second
	DefaultPageSize     = 500
	DefaultMinBackoff   = 250 * time.Millisecond
	DefaultMaxBackoff   = 30 * time.Second
	DefaultQualityFloor = 50
	DefaultMaxBatch     = 1000
	DefaultMaxBodyBytes = 8 << 20
)

// Config configures an Agent. Zero fields take the defaults named beside them.
type Config struct {
	// Client reaches the central server with a consumer token. Required.
	Client *client.Client
	// Store is the agent's own copy. Required.
	Store *Store
	// Wait is how long one feed request long-polls; zero means DefaultWait.
	Wait time.Duration
	// Poll is the pause after a feed page that brought nothing new; zero means
	// none, since the long poll already waits.
	Poll time.Duration
	// PageSize is the limit of one feed page; zero means DefaultPageSize.
	PageSize int
	// MinBackoff and MaxBackoff bound the pause after a failed sync, which doubles
	// with each failure in a row; zero means DefaultMinBackoff and
	// DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// Threshold is the largest PDQ distance that matches; zero means
	// matcher.DefaultThreshold.
	Threshold int
	// QualityFloor is the lowest PDQ quality matched; zero means
	// DefaultQualityFloor, negative means none.
	QualityFloor int
	// MaxBatch caps the queries of one match request; zero means DefaultMaxBatch.
	MaxBatch int
	// Decoder limits uploaded photos; its zero fields take imagefile's defaults.
	Decoder imagefile.Decoder
	// Logger receives the agent's logs; nil discards them.
	Logger *slog.Logger
}

// Agent follows the feed into its store and index and serves matches. It is safe
// for concurrent use.
type Agent struct {
	cfg   Config
	log   *slog.Logger
	store *Store
	// index is replaced whole after a snapshot, and updated in place after a page.
	index atomic.Pointer[matcher.Matcher]

	mu         sync.Mutex
	state      State
	lastErr    string
	stopReason string
	failing    bool

	// The sighting queue: its length, the sender's last error, and a wake-up for
	// the sender when reports arrive.
	sightMu  sync.Mutex
	queued   int
	sightErr string
	wake     chan struct{}
}

// New opens an agent over its store and loads the match index from it.
func New(ctx context.Context, cfg Config) (*Agent, error) {
	if cfg.Client == nil || cfg.Store == nil {
		return nil, errors.New("agent: Client and Store are required")
	}
	if cfg.Wait <= 0 {
		cfg.Wait = DefaultWait
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.MinBackoff)
	if cfg.Threshold == 0 {
		cfg.Threshold = matcher.DefaultThreshold
	}
	if cfg.QualityFloor == 0 {
		cfg.QualityFloor = DefaultQualityFloor
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Agent{cfg: cfg, log: cfg.Logger, store: cfg.Store, wake: make(chan struct{}, 1)}

	// Read where the copy stands and index it.
	st, err := a.store.State(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.reload(ctx); err != nil {
		return nil, err
	}
	a.state = st
	if a.queued, err = a.store.QueuedSightings(ctx); err != nil {
		return nil, err
	}
	a.log.Info("copy loaded", "queued_sightings", a.queued, "entries", st.Entries, "index_size", a.index.Load().Len(),
		"cursor", st.Cursor, "synced_at", st.SyncedAt)
	return a, nil
}

// reload builds a fresh index from the store and puts it in place.
func (a *Agent) reload(ctx context.Context) error {
	m := matcher.NewDetached(matcher.Config{Logger: a.log})
	err := a.store.Each(ctx, func(it dnadb.FeedItem) error {
		m.Put(it.ItemID, it.Category, it.Signals)
		return nil
	})
	if err != nil {
		return fmt.Errorf("load index: %w", err)
	}
	a.index.Store(m)
	return nil
}

// Run syncs until ctx ends or the central server refuses the token, and returns
// nil in both cases: an agent whose syncing stopped keeps serving matches.
func (a *Agent) Run(ctx context.Context) error {
	failures := 0
	for ctx.Err() == nil {
		// Sync one step: a snapshot when the copy has no cursor, else a feed page.
		fresh, err := a.step(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil:
			if failures > 0 {
				a.log.Info("sync resumed", "after_failures", failures)
			}
			failures = 0
			a.setFailing(nil)
			if !fresh && a.cfg.Poll > 0 {
				sleep(ctx, a.cfg.Poll)
			}
			continue
		case isRefused(err):
			// The token is revoked, expired or lacks the consumer role: retrying
			// cannot help, and hammering the server would not either.
			a.stop(err)
			return nil
		}

		// Any other failure is retried after a pause that doubles each time.
		failures++
		a.setFailing(err)
		d := backoff(a.cfg.MinBackoff, a.cfg.MaxBackoff, failures)
		a.log.Error("sync", "err", err, "failures", failures, "retry_in", d)
		sleep(ctx, d)
	}
	return nil
}

// step makes one sync request and applies what it brings. fresh reports that the
// copy changed.
func (a *Agent) step(ctx context.Context) (fresh bool, err error) {
	a.mu.Lock()
	cursor := a.state.Cursor
	a.mu.Unlock()

	if cursor == "" {
		// Bootstrap: the whole set in one transaction, then a fresh index.
		start := time.Now()
		n, err := a.store.Replace(ctx, func(add func(dnadb.FeedItem) error) (string, error) {
			return a.cfg.Client.Snapshot(ctx, add)
		}, time.Now())
		if err != nil {
			return false, err
		}
		if err := a.reload(ctx); err != nil {
			return false, err
		}
		st, err := a.store.State(ctx)
		if err != nil {
			return false, err
		}
		a.setState(st)
		a.log.Info("snapshot loaded", "entries", n, "cursor", st.Cursor,
			"elapsed", time.Since(start))
		return true, nil
	}

	// Follow: one page, applied with its cursor, then to the index.
	page, err := a.cfg.Client.Feed(ctx, cursor, a.cfg.PageSize, a.cfg.Wait)
	if err != nil {
		return false, err
	}
	now := time.Now()
	if len(page.Entries) == 0 && page.Cursor == cursor {
		if err := a.store.Touch(ctx, now); err != nil {
			return false, err
		}
		a.mu.Lock()
		a.state.SyncedAt = now
		a.mu.Unlock()
		return false, nil
	}
	n, err := a.store.Apply(ctx, page.Entries, page.Cursor, now)
	if err != nil {
		return false, err
	}
	m := a.index.Load()
	for _, e := range page.Entries {
		switch e.Op {
		case dnadb.FeedAdd:
			m.Put(e.ItemID, e.Category, e.Signals)
		case dnadb.FeedRemove:
			m.Remove(e.ItemID)
		}
	}
	a.setState(State{Cursor: page.Cursor, SyncedAt: now, Entries: n})
	if len(page.Entries) > 0 {
		a.log.Info("feed page applied", "changes", len(page.Entries), "entries", n,
			"cursor", page.Cursor)
	}
	return len(page.Entries) > 0, nil
}

// isRefused reports whether err is the central server refusing the agent's token.
func isRefused(err error) bool {
	return errors.Is(err, dnadb.ErrUnauthenticated) || errors.Is(err, dnadb.ErrPermission)
}

// stop records why syncing stopped for good.
func (a *Agent) stop(err error) {
	reason := fmt.Sprintf("the central server refused the token: %v", err)
	a.mu.Lock()
	a.stopReason = reason
	a.lastErr = err.Error()
	a.mu.Unlock()
	a.log.Error("sync stopped; matching goes on with the copy as it stands",
		"reason", reason)
}

func (a *Agent) setState(st State) {
	a.mu.Lock()
	a.state = st
	a.mu.Unlock()
}

func (a *Agent) setFailing(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failing = err != nil
	a.lastErr = ""
	if err != nil {
		a.lastErr = err.Error()
	}
}

// Health reports how current the copy is.
func (a *Agent) Health() api.AgentHealth {
	a.mu.Lock()
	defer a.mu.Unlock()
	h := api.AgentHealth{
		Status:           "ok",
		Cursor:           a.state.Cursor,
		Entries:          a.state.Entries,
		IndexSize:        a.index.Load().Len(),
		LastSync:         a.state.SyncedAt,
		StalenessSeconds: -1,
		LastError:        a.lastErr,
		StopReason:       a.stopReason,
		Threshold:        a.cfg.Threshold,
		QualityFloor:     max(a.cfg.QualityFloor, 0),
	}
	a.sightMu.Lock()
	h.QueuedSightings, h.SightingsError = a.queued, a.sightErr
	a.sightMu.Unlock()
	if !h.LastSync.IsZero() {
		h.StalenessSeconds = time.Since(h.LastSync).Seconds()
	}
	switch {
	case a.stopReason != "":
		h.Status = "stopped"
	case a.failing:
		h.Status = "stale"
	}
	return h
}

// backoff returns the pause after the nth failure in a row: lo doubled n-1 times,
// capped at hi, with "equal jitter": a random pause between half and all of it.
func backoff(lo, hi time.Duration, n int) time.Duration {
	d := hi
	if n-1 < 32 {
		d = min(hi, lo<<(n-1))
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Serve syncs in the background and serves the agent's API on ln until ctx ends,
// then shuts the listener down gracefully. token is as for Handler.
func (a *Agent) Serve(ctx context.Context, ln net.Listener, token string) error {
	hs := &http.Server{Handler: a.Handler(token), ReadHeaderTimeout: 10 * time.Second}

	// Sync and send sightings beside the listener; both end with ctx.
	syncCtx, stopSync := context.WithCancel(ctx)
	var bg sync.WaitGroup
	bg.Go(func() { a.Run(syncCtx) })
	bg.Go(func() { a.SendSightings(syncCtx) })
	defer func() {
		stopSync()
		bg.Wait()
	}()

	// Serve until ctx ends or the listener fails.
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		a.log.Error("listener", "err", err)
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	a.log.Info("agent stopped")
	return nil
}
