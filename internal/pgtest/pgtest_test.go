package pgtest

import (
	"database/sql"
	"net/url"
	"testing"
)

// TestDSN checks that a DSN's connections land in a schema of their own, and that
// the schema is gone once the test that asked for it has ended.
func TestDSN(t *testing.T) {
	var schema string
	t.Run("use", func(t *testing.T) {
		dsn := DSN(t)
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		schema = u.Query().Get("search_path")

		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(`CREATE TABLE t (x BIGINT)`); err != nil {
			t.Fatal(err)
		}
		var got string
		err = db.QueryRow(`SELECT table_schema FROM information_schema.tables
			WHERE table_name = 't' AND table_schema = current_schema()`).Scan(&got)
		if err != nil {
			t.Fatal(err)
		}
		if got != schema {
			t.Errorf("table created in schema %q, want %q", got, schema)
		}

		if other := DSN(t); other == dsn {
			t.Errorf("DSN twice = %s, want two schemas", dsn)
		}
	})
	if schema == "" {
		t.Skip("no schema was created")
	}

	db, err := sql.Open("pgx", DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	err = db.QueryRow(`SELECT count(*) FROM information_schema.schemata
		WHERE schema_name = $1`, schema).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("schema %s still exists after its test ended", schema)
	}
}

// TestUnreachable checks that a server that does not answer skips the test.
func TestUnreachable(t *testing.T) {
	t.Setenv(Env, "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=1")
	t.Setenv("DNADB_REQUIRE_TOOLS", "")
	skipped := false
	t.Run("skip", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		DSN(t)
	})
	if !skipped {
		t.Error("DSN with an unreachable server did not skip the test")
	}
}
