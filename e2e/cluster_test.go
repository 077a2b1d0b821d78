package e2e

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/client"
	"github.com/dnadb/dnadb/internal/corpus"
	"github.com/dnadb/dnadb/internal/pgtest"
	"github.com/dnadb/dnadb/matcher"
)

// Propagation limits between two servers on one store.
const (
	// maxPropagation is how soon a decision made through one server must show in
	// the other's matches, counted from the decision's answer.
	maxPropagation = time.Second
	// pollLimit is how long a test keeps polling, past maxPropagation, so that a
	// slow propagation is measured rather than only reported as late.
	pollLimit = 5 * time.Second
	// clusterItems is how many photos the propagation check is repeated for.
	clusterItems = 20
)

// photo is one corpus photo as "dnadb hash" printed it.
type photo struct {
	path    string
	hash    dnadb.Hash256
	quality int
	profile dnadb.Profile
}

// signal returns the photo's PDQ signal, as a contributor would send it.
func (p photo) signal() dnadb.Signal {
	return dnadb.Signal{Type: dnadb.SignalPDQ, Value: p.hash.String(), Quality: p.quality,
		Profile: p.profile}
}

// distinctPhotos hashes the corpus photos with the binary and returns up to n of
// them, in path order, that are strong enough to register and that no other photo
// returned is within the match threshold of, so each becomes an item of its own.
func distinctPhotos(t *testing.T, n int) []photo {
	t.Helper()
	dir := corpus.Path(t, "pdq", "images")
	r := runBin(t, nil, "hash", "--format", "tsv", dir)
	if r.code != 0 && r.code != 1 {
		t.Fatalf("dnadb hash %s: exit %d\n%s", dir, r.code, r.stderr)
	}
	var out []photo
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n")[1:] {
		f := strings.Split(line, "\t")
		if len(f) < 4 {
			t.Fatalf("dnadb hash: short line %q", line)
		}
		h, err := dnadb.ParseHash256(f[1])
		if err != nil {
			t.Fatalf("dnadb hash: line %q: %v", line, err)
		}
		q, err := strconv.Atoi(f[2])
		if err != nil {
			t.Fatalf("dnadb hash: line %q: %v", line, err)
		}
		p := photo{path: f[0], hash: h, quality: q, profile: dnadb.Profile(f[3])}
		if q < 50 || slices.ContainsFunc(out, func(o photo) bool {
			return o.hash.Distance(h) <= matcher.DefaultThreshold
		}) {
			continue
		}
		if out = append(out, p); len(out) == n {
			break
		}
	}
	if len(out) < 2 {
		t.Fatalf("only %d distinct photos in %s", len(out), dir)
	}
	return out
}

// matches reports whether c's server matches hash to item id.
func matches(t *testing.T, c *client.Client, hash dnadb.Hash256, id int64) bool {
	t.Helper()
	resp, err := c.Match(context.Background(), api.MatchRequest{
		Queries: []api.MatchQuery{{Hash: hash.String()}},
	})
	if err != nil {
		t.Fatalf("match %s: %v", hash, err)
	}
	if len(resp.Results) != 1 {
		t.Fatalf("match %s: %d results, want 1", hash, len(resp.Results))
	}
	return slices.ContainsFunc(resp.Results[0].Matches, func(m dnadb.Match) bool {
		return m.ItemID == id
	})
}

// awaitMatch polls c's server until whether it matches hash to item id is want,
// and returns how long after since that was first seen. It fails t if that does
// not happen within pollLimit.
func awaitMatch(t *testing.T, c *client.Client, hash dnadb.Hash256, id int64, want bool,
	since time.Time) time.Duration {
	t.Helper()
	for {
		got := matches(t, c, hash, id)
		delay := time.Since(since)
		if got == want {
			return delay
		}
		if delay > pollLimit {
			t.Fatalf("item %d: match = %t for %s, want %t", id, got, delay, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestTwoServersOnePostgres runs two servers on one PostgreSQL store and checks
// that what is registered and decided through one reaches the other: a
// registration is known to both at once (a second organisation's registration of
// the same photo through the other server is a duplicate of the same item), and a
// confirmation or withdrawal shows in the other server's matches within a second.
func TestTwoServersOnePostgres(t *testing.T) {
	photos := distinctPhotos(t, clusterItems)
	dsn := pgtest.DSN(t)
	p := bootstrap(t, dsn)
	a := startServer(t, "A", dsn)
	b := startServer(t, "B", dsn)
	ctx := context.Background()

	aPolice, bSupport := a.client(t, p.police), b.client(t, p.support)
	aEval, bEval := a.client(t, p.evaluator), b.client(t, p.evaluator)
	aFilter, bFilter := a.client(t, p.consumer), b.client(t, p.consumer)

	var maxConfirm, maxWithdraw time.Duration
	for i, ph := range photos {
		// Register through A as the police: a new, pending item.
		reg, err := aPolice.CreateItem(ctx, dnadb.NewItem{
			Category:  dnadb.CategoryIllegalFilming,
			Reference: "PX-" + strconv.Itoa(i),
			Signals:   []dnadb.Signal{ph.signal()},
		})
		if err != nil {
			t.Fatalf("%s: register through A: %v", ph.path, err)
		}
		id := reg.Item.ID
		if reg.Duplicate {
			t.Fatalf("%s: first registration through A is a duplicate of item %d", ph.path, id)
		}

		// Register it again through B as the support centre: the same item, as a
		// duplicate, though B never saw the first registration.
		dup, err := bSupport.CreateItem(ctx, dnadb.NewItem{
			Category:  dnadb.CategoryIllegalFilming,
			Reference: "SY-" + strconv.Itoa(i),
			Signals:   []dnadb.Signal{ph.signal()},
		})
		if err != nil {
			t.Fatalf("%s: register through B: %v", ph.path, err)
		}
		if !dup.Duplicate || dup.Item.ID != id {
			t.Errorf("%s: registration through B = item %d duplicate %t, want item %d "+
				"duplicate true", ph.path, dup.Item.ID, dup.Duplicate, id)
		}

		// A pending item matches nowhere.
		if matches(t, bFilter, ph.hash, id) {
			t.Errorf("item %d: B matches it while pending", id)
		}

		// Confirm through A: A matches at once, B within maxPropagation.
		if _, err := aEval.Decide(ctx, id, dnadb.DecisionConfirm); err != nil {
			t.Fatalf("item %d: confirm through A: %v", id, err)
		}
		confirmed := time.Now()
		if !matches(t, aFilter, ph.hash, id) {
			t.Errorf("item %d: A does not match it right after confirming it", id)
		}
		d := awaitMatch(t, bFilter, ph.hash, id, true, confirmed)
		if d > maxPropagation {
			t.Errorf("item %d: B matched it %s after A confirmed it, want within %s", id, d,
				maxPropagation)
		}
		maxConfirm = max(maxConfirm, d)
		if i == 0 {
			t.Logf("item %d (%s): confirmed through A, matched by B after %s", id, ph.path, d)
		}

		// Withdraw through B: B stops matching at once, A within maxPropagation.
		if _, err := bEval.Decide(ctx, id, dnadb.DecisionWithdraw); err != nil {
			t.Fatalf("item %d: withdraw through B: %v", id, err)
		}
		withdrawn := time.Now()
		if matches(t, bFilter, ph.hash, id) {
			t.Errorf("item %d: B still matches it right after withdrawing it", id)
		}
		d = awaitMatch(t, aFilter, ph.hash, id, false, withdrawn)
		if d > maxPropagation {
			t.Errorf("item %d: A stopped matching it %s after B withdrew it, want within %s",
				id, d, maxPropagation)
		}
		maxWithdraw = max(maxWithdraw, d)
		if i == 0 {
			t.Logf("item %d: withdrawn through B, unmatched by A after %s", id, d)
		}
	}
	t.Logf("%d items: max delay confirm A->B %s, withdraw B->A %s", len(photos),
		maxConfirm, maxWithdraw)
}
