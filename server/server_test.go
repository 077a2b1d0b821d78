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

// env is a real server on a real SQLite file, reached over loopback HTTP, with
// one organisation and token for each part in the regime.
type env struct {
	url   string
	srv   *server.Server
	store *sqlstore.Store
	// secrets holds a token secret for each principal of the fixture.
	secrets map[string]string
	// client is the police contributor's client; clients has one per principal.
	client  *client.Client
	clients map[string]*client.Client
}

// The fixture's principals: the organisation, its kind and the token's roles.
var principals = []struct {
	name, org string
	kind      dnadb.OrgKind
	roles     []dnadb.Role
}{
	{"admin", "kcsc", dnadb.OrgCentre, []dnadb.Role{dnadb.RoleAdmin}},
	{"evaluator", "kcsc", dnadb.OrgCentre, []dnadb.Role{dnadb.RoleEvaluator}},
	{"auditor", "kcsc", dnadb.OrgCentre, []dnadb.Role{dnadb.RoleAuditor}},
	{"police", "seoul-police-x9", dnadb.OrgPolice, []dnadb.Role{dnadb.RoleContributor}},
	{"support", "dsc-support-q4", dnadb.OrgSupport, []dnadb.Role{dnadb.RoleContributor}},
	{"consumer", "filterco-v2", dnadb.OrgVendor, []dnadb.Role{dnadb.RoleConsumer}},
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvConfig(t, server.Config{Rate: -1})
}

// newEnvConfig is newEnv with a server configuration of the test's own.
func newEnvConfig(t testing.TB, cfg server.Config) *env {
	t.Helper()
	return newEnvStore(t, filepath.Join(t.TempDir(), "dnadb.db"), cfg)
}

// newEnvStore is newEnvConfig on the store dsn names.
func newEnvStore(t testing.TB, dsn string, cfg server.Config) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// The consumer's copy is compared with the distributable set: no markers,
	// save in the leak tests, which turn them back on.
	st.SetLeakMarkers(-1)

	e := &env{store: st, secrets: map[string]string{}, clients: map[string]*client.Client{}}
	orgs := map[string]int64{}
	for _, p := range principals {
		if _, ok := orgs[p.org]; !ok {
			o, err := st.CreateOrg(ctx, p.org, p.kind)
			if err != nil {
				t.Fatal(err)
			}
			orgs[p.org] = o.ID
		}
		_, secret, err := st.CreateToken(ctx, dnadb.NewToken{OrgID: orgs[p.org],
			Name: p.name, Roles: p.roles})
		if err != nil {
			t.Fatal(err)
		}
		e.secrets[p.name] = secret
	}

	srv, err := server.New(ctx, st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e.url, e.srv = hs.URL, srv
	c, err := client.New(hs.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, secret := range e.secrets {
		e.clients[name] = c.WithToken(secret)
	}
	e.client = e.clients["police"]
	return e
}

// as returns the client of one of the fixture's principals.
func (e *env) as(name string) *client.Client { return e.clients[name] }

// confirm confirms an item as the evaluator.
func (e *env) confirm(t testing.TB, id int64) {
	t.Helper()
	if _, err := e.as("evaluator").Decide(context.Background(), id,
		dnadb.DecisionConfirm); err != nil {
		t.Fatal(err)
	}
}

// post sends a file's bytes to path and decodes the JSON answer into out. It
// returns the status code and, for an error answer, the error body.
func (e *env) post(t *testing.T, path string, body []byte, out any) (int, api.ErrorBody) {
	t.Helper()
	return e.postAs(t, "police", path, body, out)
}

// postAs is post with the token of principal who.
func (e *env) postAs(t *testing.T, who, path string, body []byte,
	out any) (int, api.ErrorBody) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Authorization", "Bearer "+e.secrets[who])
	resp, err := http.DefaultClient.Do(req)
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
	code, eb := e.postAs(t, "consumer", fmt.Sprintf("/v1/match/upload?dihedral=%t", dihedral),
		readFile(t, path), &resp)
	if code != http.StatusOK {
		t.Fatalf("match %s: %d %+v", path, code, eb)
	}
	return resp.Results[0].Matches
}

func (e *env) upload(t *testing.T, path string) dnadb.Item {
	t.Helper()
	var reg api.Registration
	code, eb := e.post(t, "/v1/items/upload?category=illegal_filming&reference=c1",
		readFile(t, path), &reg)
	if code != http.StatusCreated {
		t.Fatalf("upload %s: %d %+v", path, code, eb)
	}
	return reg.Item
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
	e.confirm(t, it.ID)

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
		code, eb := e.postAs(t, "consumer", "/v1/match/upload?dihedral=true", readFile(t, f),
			&resp)
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
// at each step. Once it is rejected, the same material may be registered anew, and
// the new pending item does not match either until it is confirmed.
func TestOnlyConfirmedMatch(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	_, rows := corpus.TSV(t, "pdq", "expected_fullres.tsv")
	hash := rows[0]["hash"]

	reg := func(who string) api.Registration {
		t.Helper()
		r, err := e.as(who).CreateItem(ctx, dnadb.NewItem{
			Category: dnadb.CategoryCSAM,
			Signals:  []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: hash, Quality: 100}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	matched := func() []int64 {
		t.Helper()
		resp, err := e.as("consumer").Match(ctx,
			api.MatchRequest{Queries: []api.MatchQuery{{Hash: hash}}})
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
	decide := func(id int64, d dnadb.Decision) {
		t.Helper()
		if _, err := e.as("evaluator").Decide(ctx, id, d); err != nil {
			t.Fatal(err)
		}
	}

	a := reg("support").Item
	if got := matched(); got != nil {
		t.Errorf("pending: matched %v, want nothing", got)
	}
	decide(a.ID, dnadb.DecisionConfirm)
	if got := matched(); !slices.Equal(got, []int64{a.ID}) {
		t.Errorf("confirmed: matched %v, want [%d]", got, a.ID)
	}
	decide(a.ID, dnadb.DecisionReject)
	if got := matched(); got != nil {
		t.Errorf("rejected: matched %v, want nothing", got)
	}

	b := reg("police")
	if b.Duplicate || b.Item.ID == a.ID {
		t.Fatalf("registration after rejection = %+v, want a new item", b)
	}
	if got := matched(); got != nil {
		t.Errorf("new pending copy: matched %v, want nothing", got)
	}
	decide(b.Item.ID, dnadb.DecisionConfirm)
	decide(b.Item.ID, dnadb.DecisionWithdraw)
	if got := matched(); got != nil {
		t.Errorf("withdrawn: matched %v, want nothing", got)
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
			"/v1/items/upload?category=csam", "/v1/match/upload",
		} {
			who := "police"
			if strings.HasPrefix(path, "/v1/match") {
				who = "consumer"
			}
			code, eb := e.postAs(t, who, path, p.body, nil)
			if code != p.status || !strings.Contains(eb.Error.Message, p.contains) {
				t.Errorf("%s to %s: %d %+v, want %d with %q", p.name, path, code, eb, p.status,
					p.contains)
			}
		}
	}

	hashes := []string{"", "abc", strings.Repeat("g", 64), strings.Repeat("a", 65)}
	for _, h := range hashes {
		_, err := e.client.CreateItem(ctx, dnadb.NewItem{
			Category: dnadb.CategoryCSAM,
			Signals:  []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: h, Quality: 100}},
		})
		if !errors.Is(err, dnadb.ErrInvalid) || !strings.Contains(err.Error(), "signals[0]") {
			t.Errorf("register hash %q: error = %v, want invalid naming signals[0]", h, err)
		}
		_, err = e.as("consumer").Match(ctx,
			api.MatchRequest{Queries: []api.MatchQuery{{Hash: h}}})
		if !errors.Is(err, dnadb.ErrInvalid) || !strings.Contains(err.Error(), "queries[0]") {
			t.Errorf("match hash %q: error = %v, want invalid naming queries[0]", h, err)
		}
	}

	// A weak hash is refused, not stored.
	_, err := e.client.CreateItem(ctx, dnadb.NewItem{
		Category: dnadb.CategoryCSAM,
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
