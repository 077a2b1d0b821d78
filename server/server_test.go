package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/client"
	"github.com/dnadb/dnadb/internal/corpus"
	"github.com/dnadb/dnadb/server"
	"github.com/dnadb/dnadb/sqlstore"
)

// env is a real server on a real SQLite file, reached over loopback HTTP.
type env struct {
	url    string
	client *client.Client
	store  *sqlstore.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "dnadb.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv, err := server.New(ctx, st, server.Config{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	c, err := client.New(hs.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &env{url: hs.URL, client: c, store: st}
}

// post sends a file's bytes to path and decodes the JSON answer into out. It
// returns the status code and, for an error answer, the error body.
func (e *env) post(t *testing.T, path string, body []byte, out any) (int, api.ErrorBody) {
	t.Helper()
	resp, err := http.Post(e.url+path, "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var eb api.ErrorBody
	if resp.StatusCode >= 300 {
		if err := json.Unmarshal(data, &eb); err != nil {
			t.Fatalf("POST %s: %s: error body %q is not JSON: %v", path, resp.Status, data, err)
		}
		return resp.StatusCode, eb
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("POST %s: decode %q: %v", path, data, err)
	}
	return resp.StatusCode, eb
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// matchFile uploads a photo to the matcher and returns its matches.
func (e *env) matchFile(t *testing.T, path string, dihedral bool) []dnadb.Match {
	t.Helper()
	var resp api.MatchResponse
	code, eb := e.post(t, fmt.Sprintf("/v1/match/upload?dihedral=%t", dihedral),
		readFile(t, path), &resp)
	if code != http.StatusOK {
		t.Fatalf("match %s: %d %+v", path, code, eb)
	}
	return resp.Results[0].Matches
}

func (e *env) upload(t *testing.T, path string) dnadb.Item {
	t.Helper()
	var it dnadb.Item
	code, eb := e.post(t, "/v1/items/upload?category=illegal_filming&source=police&reference=c1",
		readFile(t, path), &it)
	if code != http.StatusCreated {
		t.Fatalf("upload %s: %d %+v", path, code, eb)
	}
	return it
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, filepath.Join(dir, e.Name()))
	}
	sort.Strings(out)
	return out
}

// TestBridgeEndToEnd registers the corpus's original bridge photo, confirms it, and
// checks what matches it: every edited copy, every rotation and flip when dihedral
// matching is asked, and none of the unrelated photos.
func TestBridgeEndToEnd(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	orig := corpus.Path(t, "pdq", "images", "bridge-mods", "aaa-orig.jpg")
	mods := files(t, corpus.Path(t, "pdq", "images", "bridge-mods"))
	dih := files(t, corpus.Path(t, "pdq", "images", "dih"))
	others := files(t, corpus.Path(t, "pdq", "images", "labelme-subset"))

	// Register through the upload path: the server hashes and forgets the photo.
	it := e.upload(t, orig)
	if it.Status != dnadb.StatusPending || len(it.Signals) != 1 {
		t.Fatalf("registered item = %+v, want one pending signal", it)
	}

	// A pending item never matches.
	if got := e.matchFile(t, orig, true); len(got) != 0 {
		t.Fatalf("pending item matched: %+v", got)
	}

	// Confirm; the answer comes after the index holds it.
	if _, err := e.client.Decide(ctx, it.ID, dnadb.DecisionConfirm, "evaluator"); err != nil {
		t.Fatal(err)
	}

	for _, f := range mods {
		got := e.matchFile(t, f, false)
		if len(got) != 1 || got[0].ItemID != it.ID || got[0].Variant != "original" {
			t.Errorf("match %s = %+v, want item %d as original", filepath.Base(f), got, it.ID)
		}
	}

	// Each transformed file must match through the variant that undoes its
	// transform, according to the reference's own dihedral hashes.
	_, rows := corpus.TSV(t, "pdq", "dihedral_fullres.tsv")
	ref := map[string]map[string]string{}
	for _, r := range rows {
		ref[r["file"]] = r
	}
	registered := mustHash(t, ref["images/bridge-mods/aaa-orig.jpg"]["original"])
	for _, f := range dih {
		got := e.matchFile(t, f, true)
		name := "images/dih/" + filepath.Base(f)
		if len(got) != 1 || got[0].ItemID != it.ID {
			t.Errorf("dihedral match %s = %+v, want item %d", name, got, it.ID)
			continue
		}
		v := got[0].Variant
		if d := mustHash(t, ref[name][v]).Distance(registered); d > 31 {
			t.Errorf("%s matched as %s, but the reference %s hash is %d bits from the original",
				name, v, v, d)
		}
	}

	// Unrelated photos match nothing, even with every rotation and flip.
	for _, f := range others {
		var resp api.MatchResponse
		code, eb := e.post(t, "/v1/match/upload?dihedral=true", readFile(t, f), &resp)
		switch {
		case code == http.StatusUnprocessableEntity && eb.Error.Code == "low_quality":
			// The quality-3 and -4 photos are refused as too weak to match.
		case code != http.StatusOK:
			t.Errorf("match %s: %d %+v", f, code, eb)
		case len(resp.Results[0].Matches) != 0:
			t.Errorf("unrelated %s matched: %+v", filepath.Base(f), resp.Results[0].Matches)
		}
	}
}

func mustHash(t *testing.T, s string) dnadb.Hash256 {
	t.Helper()
	h, err := dnadb.ParseHash256(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestOnlyConfirmedMatch walks an item through every status and matches it by hash
// at each step, with a second pending copy and a rejected copy present throughout.
func TestOnlyConfirmedMatch(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	_, rows := corpus.TSV(t, "pdq", "expected_fullres.tsv")
	hash := rows[0]["hash"]

	reg := func() dnadb.Item {
		it, err := e.client.CreateItem(ctx, dnadb.NewItem{
			Category: dnadb.CategoryCSAM, Source: "support",
			Signals: []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: hash, Quality: 100}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return it
	}
	a, pending, rejected := reg(), reg(), reg()
	if _, err := e.client.Decide(ctx, rejected.ID, dnadb.DecisionReject, "ev"); err != nil {
		t.Fatal(err)
	}
	_ = pending

	matched := func() []int64 {
		t.Helper()
		resp, err := e.client.Match(ctx, api.MatchRequest{Queries: []api.MatchQuery{{Hash: hash}}})
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, m := range resp.Results[0].Matches {
			ids = append(ids, m.ItemID)
			if m.Distance != 0 || m.Category != dnadb.CategoryCSAM {
				t.Errorf("match = %+v, want distance 0 and category csam", m)
			}
		}
		return ids
	}
	steps := []struct {
		d    dnadb.Decision
		want []int64
	}{
		{"", nil},
		{dnadb.DecisionConfirm, []int64{a.ID}},
		{dnadb.DecisionReject, nil},
		{dnadb.DecisionWithdraw, nil},
	}
	for _, s := range steps {
		if s.d != "" {
			if _, err := e.client.Decide(ctx, a.ID, s.d, "ev"); err != nil {
				t.Fatal(err)
			}
		}
		if got := matched(); !slices.Equal(got, s.want) {
			t.Errorf("after %q: matched %v, want %v", s.d, got, s.want)
		}
	}
}

// TestBadInput sends broken photos and hashes: each gets a clear error with the
// right status, and nothing is stored.
func TestBadInput(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	jpeg := readFile(t, corpus.Path(t, "pdq", "images", "bridge-mods", "aaa-orig.jpg"))

	photos := []struct {
		name     string
		body     []byte
		status   int
		contains string
	}{
		{"truncated jpeg", jpeg[:len(jpeg)/2], http.StatusBadRequest, "uploaded photo"},
		{"huge png header", hugePNG(), http.StatusRequestEntityTooLarge, "100000x100000"},
		{"text named jpg", []byte("this is not a photo\n"), http.StatusUnsupportedMediaType,
			"uploaded photo"},
		{"empty", nil, http.StatusBadRequest, "empty"},
	}
	for _, p := range photos {
		for _, path := range []string{
			"/v1/items/upload?category=csam&source=police", "/v1/match/upload",
		} {
			code, eb := e.post(t, path, p.body, nil)
			if code != p.status || !strings.Contains(eb.Error.Message, p.contains) {
				t.Errorf("%s to %s: %d %+v, want %d with %q", p.name, path, code, eb, p.status,
					p.contains)
			}
		}
	}

	hashes := []string{"", "abc", strings.Repeat("g", 64), strings.Repeat("a", 65)}
	for _, h := range hashes {
		_, err := e.client.CreateItem(ctx, dnadb.NewItem{
			Category: dnadb.CategoryCSAM, Source: "police",
			Signals: []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: h, Quality: 100}},
		})
		if !errors.Is(err, dnadb.ErrInvalid) || !strings.Contains(err.Error(), "signals[0]") {
			t.Errorf("register hash %q: error = %v, want invalid naming signals[0]", h, err)
		}
		_, err = e.client.Match(ctx, api.MatchRequest{Queries: []api.MatchQuery{{Hash: h}}})
		if !errors.Is(err, dnadb.ErrInvalid) || !strings.Contains(err.Error(), "queries[0]") {
			t.Errorf("match hash %q: error = %v, want invalid naming queries[0]", h, err)
		}
	}

	// A weak hash is refused, not stored.
	_, err := e.client.CreateItem(ctx, dnadb.NewItem{
		Category: dnadb.CategoryCSAM, Source: "police",
		Signals: []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: strings.Repeat("a", 64),
			Quality: 49}},
	})
	if !errors.Is(err, dnadb.ErrLowQuality) {
		t.Errorf("register quality 49: error = %v, want low quality", err)
	}

	list, err := e.client.Items(ctx, dnadb.ItemFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 0 {
		t.Errorf("after bad input, %d items stored, want 0", len(list.Items))
	}
	changes, err := e.store.Changes(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 0 {
		t.Errorf("after bad input, %d changes logged, want 0", len(changes))
	}
}
