package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
)

// MaxFeedWait caps the wait parameter of GET /v1/feed; a longer wait is cut to it.
// It is well under the client's default timeout and any proxy's idle timeout.
const MaxFeedWait = 55 * time.Second

// broadcast wakes every waiter at once: wait returns a channel that the next
// notify closes. A waiter takes the channel before it reads the store, so that a
// change committed between its read and its wait still wakes it.
type broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

func newBroadcast() *broadcast { return &broadcast{ch: make(chan struct{})} }

// wait returns the channel that the next notify closes.
func (b *broadcast) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ch
}

// notify wakes everyone waiting.
func (b *broadcast) notify() {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.ch)
	b.ch = make(chan struct{})
}

// feed answers GET /v1/feed: the changes to the distributable set after the
// cursor, a page at a time. With wait, when nothing is newer it waits for a change
// to commit, woken by the confirmed-items index, which follows the change log
// (every SyncInterval, and at once after a decision made through this server).
//
// The cursor it returns is the seq of the last change the store read, and the
// store reads only committed changes, which commit in seq order (see
// dnadb.Store.Feed): a change that commits late has a seq above every cursor
// handed out before it, so no consumer skips it.
func (s *Server) feed(w http.ResponseWriter, r *http.Request) error {
	// Read the parameters: where to start, how many entries, how long to wait.
	after, err := api.ParseCursor(r.URL.Query().Get("cursor"))
	if err != nil {
		return dnadb.Errorf(dnadb.ErrInvalid, "parameter %w", err)
	}
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	wait, err := queryWait(r)
	if err != nil {
		return err
	}

	// Read a page; while it is empty and the wait lasts, wait for a change and read
	// again. A page of changes that no entry shows moves the cursor on all the same.
	ctx := r.Context()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	deadline := time.Now().Add(wait)
	for {
		woken := s.changed.wait()
		page, err := s.store.Feed(ctx, after, int(limit))
		if err != nil {
			if dnadb.KindOf(err) == dnadb.ErrInvalid {
				return dnadb.Errorf(dnadb.ErrInvalid, "parameter cursor: %w", err)
			}
			return err
		}
		if len(page.Entries) > 0 || page.More || !time.Now().Before(deadline) {
			// A token revoked while the request waited gets nothing of what came
			// meanwhile: look it up again before answering.
			if err := s.stillValid(r); err != nil {
				return err
			}
			w.Header().Set("Cache-Control", "no-store")
			writeJSON(w, http.StatusOK, api.FeedPage{
				Entries: page.Entries,
				Cursor:  api.FormatCursor(page.Seq),
				More:    page.More,
			})
			return nil
		}
		after = page.Seq

		select {
		case <-woken:
		case <-timer.C:
			// Read once more, then answer whatever the page holds.
		case <-s.stopping:
			// The server is shutting down: answer now rather than hold it up.
			deadline = time.Now()
		case <-ctx.Done():
			// The consumer went away; there is nobody to answer.
			return nil
		}
	}
}

// queryWait parses the wait parameter, a Go duration such as "30s", capped at
// MaxFeedWait; absent means no wait.
func queryWait(r *http.Request) (time.Duration, error) {
	v := r.URL.Query().Get("wait")
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, dnadb.Errorf(dnadb.ErrInvalid,
			"parameter wait=%q is not a duration such as 30s", v)
	}
	return min(d, MaxFeedWait), nil
}

// feedSnapshot answers GET /v1/feed/snapshot: the distributable set as NDJSON, one
// item a line, then a last line with the cursor that continues the feed from the
// same snapshot. The status goes out with the first line, so a failure after it
// ends the stream with an error line in place of the cursor.
func (s *Server) feedSnapshot(w http.ResponseWriter, r *http.Request) error {
	enc := json.NewEncoder(w)
	started := false
	start := func() {
		if !started {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusOK)
			started = true
		}
	}

	// Stream the set, then the cursor.
	var n int64
	seq, err := s.store.Distributable(r.Context(), func(it dnadb.FeedItem) error {
		start()
		n++
		return enc.Encode(it)
	})
	switch {
	case err != nil && !started:
		return err
	case err != nil && r.Context().Err() != nil:
		// The consumer went away.
		return nil
	case err != nil:
		_, body := s.errorBody(r, err)
		enc.Encode(body)
		return nil
	}
	start()
	enc.Encode(api.SnapshotEnd{Cursor: api.FormatCursor(seq), Items: n})
	s.log.Info("feed snapshot", "items", n, "seq", seq)
	return nil
}

// stillValid checks again the bearer token a request was admitted with, for an
// answer that goes out long after the check.
func (s *Server) stillValid(r *http.Request) error {
	secret, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	_, err := s.raw.Authenticate(r.Context(), strings.TrimSpace(secret))
	return err
}
