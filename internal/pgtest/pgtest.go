// Package pgtest gives tests a PostgreSQL database of their own: a fresh schema in
// the test server, dropped when the test ends.
//
// The server is the one DNADB_TEST_POSTGRES names, or DefaultDSN. When it does not
// answer, tests skip with a message saying so; with DNADB_REQUIRE_TOOLS=1, as in CI,
// they fail instead.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// Env names the environment variable that holds the test server's DSN.
const Env = "DNADB_TEST_POSTGRES"

// DefaultDSN is the test server used when Env is not set: the local PostgreSQL with
// trust authentication, as .ci/run starts it.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// connectTimeout bounds how long DSN waits for the server before it gives up.
const connectTimeout = 5 * time.Second

// DSN creates a schema with a random name in the test server and returns a DSN
// whose connections use it as their search_path, so that every table a test
// creates lands in it. The schema is dropped, with everything in it, when tb ends.
func DSN(tb testing.TB) string {
	tb.Helper()
	server := os.Getenv(Env)
	if server == "" {
		server = DefaultDSN
	}
	u, err := url.Parse(server)
	if err != nil {
		tb.Fatalf("pgtest: %s: %v", Env, err)
	}

	// Connect to the server, skipping the test if it is not there.
	db, err := sql.Open("pgx", server)
	if err != nil {
		tb.Fatalf("pgtest: open %s: %v", u.Redacted(), err)
	}
	tb.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		msg := fmt.Sprintf("PostgreSQL not reachable at %s (%v); set %s or start it",
			u.Redacted(), err, Env)
		if os.Getenv("DNADB_REQUIRE_TOOLS") == "1" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}

	// Create the schema and drop it at the end. The name is random, so tests in
	// parallel, and runs that crashed before cleaning up, never collide.
	b := make([]byte, 8)
	rand.Read(b)
	schema := "dnadb_test_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("pgtest: create schema %s: %v", schema, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("pgtest: drop schema %s: %v", schema, err)
		}
	})

	// pgx sends query parameters it does not know as run-time parameters, so
	// search_path is set on every connection opened from the DSN.
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
