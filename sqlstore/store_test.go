package sqlstore

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/internal/pgtest"
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

// TestReopen checks that a store keeps its organisations and items across a close
// and an open, and that migrations run once. Each backend is opened the second
// time by another spelling of its dsn.
func TestReopen(t *testing.T) {
	backends := []struct {
		name string
		dsn  func(testing.TB) string
	}{
		{"sqlite", func(tb testing.TB) string { return filepath.Join(tb.TempDir(), "dnadb.db") }},
		{"postgres", pgtest.DSN},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.dsn(t)
			s, err := Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateOrg(ctx, "police", dnadb.OrgPolice); err != nil {
				t.Fatal(err)
			}
			it, err := s.CreateItem(ctx, policeItem('a'))
			if err != nil {
				t.Fatal(err)
			}
			s.Close()

			s, err = Open(ctx, reopenDSN(dsn))
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
			if _, err := s.CreateOrg(ctx, "police", dnadb.OrgPolice); !errors.Is(err,
				dnadb.ErrConflict) {
				t.Errorf("CreateOrg(police) after reopening: error = %v, want ErrConflict", err)
			}
		})
	}
}

// reopenDSN spells dsn another way that names the same store: "sqlite:PATH" for a
// path, "postgresql://" for "postgres://".
func reopenDSN(dsn string) string {
	if rest, ok := strings.CutPrefix(dsn, "postgres://"); ok {
		return "postgresql://" + rest
	}
	return "sqlite:" + dsn
}

func hashOf(c byte) string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return string(b)
}
