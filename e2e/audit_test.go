package e2e

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/internal/pgtest"
)

// backend is a kind of store the binary can run on.
type backend struct {
	name string
	// store returns a fresh, empty store, as --store takes it.
	store func(t *testing.T) string
	// driver is the database/sql driver that opens the store for tampering.
	driver string
}

var backends = []backend{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "dnadb.db") },
		"sqlite"},
	{"postgres", func(t *testing.T) string { return pgtest.DSN(t) }, "pgx"},
}

// fakeHash returns a well-formed PDQ hash made from s, for items whose photo does
// not matter.
func fakeHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// makeHistory gives a fresh store an audit trail as real use writes it: the admin
// commands set organisations and tokens up, then a server registers items, decides
// them, reads them, and refuses a consumer's registration.
func makeHistory(t *testing.T, store string) {
	t.Helper()
	p := bootstrap(t, store)
	srv := startServer(t, "history", store)
	police := srv.client(t, p.police)
	eval := srv.client(t, p.evaluator)
	filter := srv.client(t, p.consumer)
	ctx := context.Background()

	var ids []int64
	for i := range 3 {
		reg, err := police.CreateItem(ctx, dnadb.NewItem{
			Category:  dnadb.CategoryIllegalFilming,
			Reference: "CASE-" + strconv.Itoa(i),
			Signals: []dnadb.Signal{{Type: dnadb.SignalPDQ,
				Value: fakeHash("photo " + strconv.Itoa(i)), Quality: 100}},
		})
		if err != nil {
			t.Fatalf("register item %d: %v", i, err)
		}
		ids = append(ids, reg.Item.ID)
	}
	for i, d := range []dnadb.Decision{dnadb.DecisionConfirm, dnadb.DecisionConfirm,
		dnadb.DecisionReject} {
		if _, err := eval.Decide(ctx, ids[i], d); err != nil {
			t.Fatalf("%s item %d: %v", d, ids[i], err)
		}
	}
	if _, err := police.Item(ctx, ids[0]); err != nil {
		t.Fatalf("read item %d: %v", ids[0], err)
	}
	if _, err := eval.Items(ctx, dnadb.ItemFilter{Status: dnadb.StatusConfirmed}); err != nil {
		t.Fatalf("list items: %v", err)
	}
	if _, err := filter.Match(ctx, api.MatchRequest{
		Queries: []api.MatchQuery{{Hash: fakeHash("photo 0")}}}); err != nil {
		t.Fatalf("match: %v", err)
	}
	_, err := filter.CreateItem(ctx, dnadb.NewItem{Category: dnadb.CategoryOther,
		Signals: []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: fakeHash("x"), Quality: 100}}})
	if err == nil {
		t.Fatal("a consumer registered an item")
	}

	// Stop the server, so the trail is still while it is verified and tampered with.
	srv.stop(t)
}

// okLine is what "dnadb audit verify" prints for an intact trail.
var okLine = regexp.MustCompile(`^ok: (\d+) entries, head (\d+):[0-9a-f]{64}\n`)

// verifyOK runs "dnadb audit verify" on store, requires it to pass, and returns the
// number of entries it checked.
func verifyOK(t *testing.T, store string) int64 {
	t.Helper()
	out := mustRun(t, nil, "audit", "verify", "--store", store)
	m := okLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("audit verify = %q, want \"ok: N entries, head N:HASH\"", out)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	if m[1] != m[2] {
		t.Errorf("audit verify = %q: entries and head differ", out)
	}
	return n
}

// entry reads audit entry seq directly from the database.
func entry(t *testing.T, db *sql.DB, seq int64) dnadb.AuditEntry {
	t.Helper()
	var e dnadb.AuditEntry
	var at int64
	err := db.QueryRow(`SELECT seq, at, org_id, token_id, action, target, request_id,
		outcome, prev_hash, hash FROM audit WHERE seq = $1`, seq).Scan(&e.Seq, &at,
		&e.OrgID, &e.TokenID, &e.Action, &e.Target, &e.RequestID, &e.Outcome, &e.PrevHash,
		&e.Hash)
	if err != nil {
		t.Fatalf("read audit entry %d: %v", seq, err)
	}
	e.At = time.UnixMicro(at).UTC()
	return e
}

// mustExec runs one tampering statement, which must change exactly one row.
func mustExec(t *testing.T, db *sql.DB, query string, args ...any) {
	t.Helper()
	res, err := db.Exec(query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("%s: %d rows affected (%v), want 1", query, n, err)
	}
}

// insert writes e into the trail as it stands, with no head update.
func insert(t *testing.T, db *sql.DB, e dnadb.AuditEntry) {
	t.Helper()
	mustExec(t, db, `INSERT INTO audit (seq, at, org_id, token_id, action, target, request_id,
		outcome, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		e.Seq, e.At.UnixMicro(), e.OrgID, e.TokenID, e.Action, e.Target, e.RequestID,
		e.Outcome, e.PrevHash, e.Hash)
}

// forged returns an entry an attacker would append after last: chained to it, with
// content that reads like the real trail's.
func forged(last dnadb.AuditEntry) dnadb.AuditEntry {
	return dnadb.AuditEntry{
		Seq: last.Seq + 1, At: last.At.Add(time.Second), OrgID: last.OrgID,
		TokenID: last.TokenID, Action: "item.read", Target: "item/1",
		RequestID: "0123456789abcdef", Outcome: dnadb.OutcomeOK, PrevHash: last.Hash,
	}
}

// A tampering is one attack on a stored trail and the break verify must report.
type tampering struct {
	name string
	// tamper changes the trail in db, whose last entry is last, and returns the
	// sequence number verify must name.
	tamper func(t *testing.T, db *sql.DB, last int64) int64
	// problem is what verify must say of that entry; empty means any problem.
	problem string
}

var tamperings = []tampering{
	{"edit-entry-3", func(t *testing.T, db *sql.DB, _ int64) int64 {
		mustExec(t, db, `UPDATE audit SET target = target || '-edited' WHERE seq = 3`)
		return 3
	}, "altered"},
	{"edit-outcome-3", func(t *testing.T, db *sql.DB, _ int64) int64 {
		mustExec(t, db, `UPDATE audit SET outcome = CASE outcome WHEN 'ok' THEN 'denied'
			ELSE 'ok' END WHERE seq = 3`)
		return 3
	}, "altered"},
	{"delete-entry-4", func(t *testing.T, db *sql.DB, _ int64) int64 {
		mustExec(t, db, `DELETE FROM audit WHERE seq = 4`)
		return 4
	}, "removed"},
	{"insert-after-last", func(t *testing.T, db *sql.DB, last int64) int64 {
		e := forged(entry(t, db, last))
		e.Hash = e.ComputeHash()
		insert(t, db, e)
		return e.Seq
	}, "inserted"},
	{"insert-after-last-made-up-hash", func(t *testing.T, db *sql.DB, last int64) int64 {
		e := forged(entry(t, db, last))
		e.Hash = fakeHash("forged")
		insert(t, db, e)
		return e.Seq
	}, "inserted"},
	{"delete-last", func(t *testing.T, db *sql.DB, last int64) int64 {
		mustExec(t, db, `DELETE FROM audit WHERE seq = $1`, last)
		return last
	}, "removed"},
	{"edit-entry-3-and-rehash", func(t *testing.T, db *sql.DB, _ int64) int64 {
		// An attacker who knows the scheme makes entry 3 consistent with itself;
		// entry 4 still holds its old hash.
		e := entry(t, db, 3)
		e.Outcome = dnadb.OutcomeDenied
		if entry(t, db, 3).Outcome == dnadb.OutcomeDenied {
			e.Outcome = dnadb.OutcomeOK
		}
		e.Hash = e.ComputeHash()
		mustExec(t, db, `UPDATE audit SET outcome = $1, hash = $2 WHERE seq = 3`, e.Outcome,
			e.Hash)
		return 4
	}, ""},
}

// TestAuditVerifyDetectsTampering builds a real audit trail with the binary, checks
// that "dnadb audit verify" passes it, then tampers with fresh copies of it directly
// in the database, each in its own way, and checks that verify fails naming the
// entry where the chain breaks and how.
func TestAuditVerifyDetectsTampering(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			for _, tc := range tamperings {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()

					// A fresh history, verified intact.
					store := be.store(t)
					makeHistory(t, store)
					last := verifyOK(t, store)
					if last < 6 {
						t.Fatalf("history has %d audit entries, want at least 6", last)
					}

					// Tamper, then verify.
					db, err := sql.Open(be.driver, store)
					if err != nil {
						t.Fatal(err)
					}
					defer db.Close()
					seq := tc.tamper(t, db, last)
					db.Close()

					r := runBin(t, nil, "audit", "verify", "--store", store)
					want := fmt.Sprintf("audit entry %d: %s", seq, tc.problem)
					if r.code != 1 || !strings.HasPrefix(r.stdout, "BROKEN") ||
						!strings.Contains(r.stdout, want) {
						t.Errorf("audit verify after %s: exit %d, stdout %q, stderr %q; "+
							"want exit 1 and %q", tc.name, r.code, r.stdout, r.stderr, want)
					}
					t.Logf("%s", strings.TrimSpace(r.stdout))
				})
			}
		})
	}
}

// TestAuditVerifyWhileServing runs "dnadb audit verify" again and again while a
// server appends to the trail as fast as clients read items: a trail that grows
// during the walk is intact, and verify must say so every time.
func TestAuditVerifyWhileServing(t *testing.T) {
	const runs = 20
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			store := be.store(t)
			p := bootstrap(t, store)
			srv := startServer(t, "busy", store)
			police := srv.client(t, p.police)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			reg, err := police.CreateItem(ctx, dnadb.NewItem{Category: dnadb.CategoryOther,
				Signals: []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: fakeHash("busy"),
					Quality: 100}}})
			if err != nil {
				t.Fatal(err)
			}

			// Every item read is audited, so readers keep the trail growing.
			var wg sync.WaitGroup
			defer wg.Wait()
			defer cancel()
			for range 8 {
				wg.Go(func() {
					for ctx.Err() == nil {
						police.Item(ctx, reg.Item.ID)
					}
				})
			}

			for i := range runs {
				r := runBin(t, nil, "audit", "verify", "--store", store)
				if r.code != 0 || !okLine.MatchString(r.stdout) {
					t.Errorf("audit verify run %d of %d on a busy store: exit %d, stdout %q, "+
						"stderr %q; want ok", i+1, runs, r.code, r.stdout, r.stderr)
				}
			}
		})
	}
}
