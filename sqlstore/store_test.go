package sqlstore

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/storetest"
)

func openSQLite(t *testing.T) dnadb.Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "dnadb.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { storetest.Run(t, openSQLite) })
	t.Run("postgres", func(t *testing.T) { storetest.Run(t, openPostgres) })
}

// TestReopen checks that a store file keeps its items across a close and an open,
// and that migrations run once.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "dnadb.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	it, err := s.CreateItem(ctx, dnadb.NewItem{
		Category: dnadb.CategoryCSAM, Source: "police",
		Signals: []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: hashOf('a'), Quality: 90}},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Item(ctx, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Category != dnadb.CategoryCSAM || got.Signals[0].Value != hashOf('a') {
		t.Errorf("reopened item = %+v, want the stored one", got)
	}
}

func hashOf(c byte) string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return string(b)
}
