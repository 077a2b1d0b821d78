package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/access"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/ffmpeg/ffmpegtest"
	"github.com/dnadb/dnadb/server"
)

// routeActions states the permission rule of every route independently of the
// server's own table: the actions that allow it, any one of them. A route with
// none is public.
var routeActions = map[string][]access.Action{
	"GET /healthz":                 nil,
	"GET /openapi.json":            nil,
	"GET /metrics":                 nil,
	"GET /v1/whoami":               {access.Authenticated},
	"POST /v1/items":               {access.Register},
	"POST /v1/items/batch":         {access.Register},
	"POST /v1/items/upload":        {access.Register},
	"GET /v1/items":                {access.ReadAll, access.ReadOwn},
	"GET /v1/items/{id}":           {access.ReadAll, access.ReadOwn},
	"POST /v1/items/{id}/decision": {access.Decide, access.WithdrawOwn},
	"POST /v1/match":               {access.Match},
	"POST /v1/match/upload":        {access.Match},
	"POST /v1/match/video":         {access.Match},
	"POST /v1/match/video/upload":  {access.Match},
	"GET /v1/feed":                 {access.ReadFeed},
	"GET /v1/feed/snapshot":        {access.ReadFeed},
	"POST /v1/sightings":           {access.ReportSighting},
	"GET /v1/circulation":          {access.ReadCirculation},
	"GET /v1/orgs":                 {access.ManageOrgs},
	"POST /v1/orgs":                {access.ManageOrgs},
	"GET /v1/orgs/{id}/tokens":     {access.ManageOrgs},
	"POST /v1/orgs/{id}/tokens":    {access.ManageOrgs},
	"POST /v1/tokens/{id}/revoke":  {access.ManageOrgs},
	"GET /v1/audit":                {access.ReadAudit},
	"GET /v1/stats":                {access.ReadStats},
}

// allowed reports whether a token with roles may call the route pattern, by
// routeActions and the access package's table.
func allowed(roles []dnadb.Role, pattern string) bool {
	actions := routeActions[pattern]
	if len(actions) == 0 {
		return true
	}
	return slices.ContainsFunc(actions, func(a access.Action) bool {
		return access.Allows(roles, a)
	})
}

// newServerEnv is newEnvConfig that also returns the server, so that a test can
// read the routes it serves.
func newServerEnv(t *testing.T, cfg server.Config) (*env, *server.Server) {
	t.Helper()
	e := newEnvConfig(t, cfg)
	return e, e.srv
}

// reply is an HTTP answer, read whole.
type reply struct {
	code   int
	header http.Header
	body   []byte
}

// errorCode returns the code of an error body, or "" if the body is not one.
func (r reply) errorCode() string {
	var eb api.ErrorBody
	if json.Unmarshal(r.body, &eb) != nil {
		return ""
	}
	return eb.Error.Code
}

// send sends one request with secret as its bearer token, none when secret is
// empty, and reads the answer. header holds further header names and values, in
// pairs.
func (e *env) send(t testing.TB, secret, method, path string, body []byte,
	header ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case body == nil:
	case json.Valid(body):
		req.Header.Set("Content-Type", "application/json")
	default:
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read answer: %v", method, path, err)
	}
	return reply{code: resp.StatusCode, header: resp.Header, body: data}
}

// decode decodes a successful answer's JSON body into out.
func decode(t testing.TB, what string, r reply, out any) {
	t.Helper()
	if r.code >= 300 {
		t.Fatalf("%s = %d %s, want success", what, r.code, r.body)
	}
	if err := json.Unmarshal(r.body, out); err != nil {
		t.Fatalf("%s: decode %s: %v", what, r.body, err)
	}
}

func jsonBody(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func orgID(t testing.TB, e *env, name string) int64 {
	t.Helper()
	orgs, err := e.store.Orgs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range orgs {
		if o.Name == name {
			return o.ID
		}
	}
	t.Fatalf("no organisation %q in the fixture", name)
	return 0
}

// probe is a request to one route: the method is the route's.
type probe struct {
	path string
	body []byte
}

// probes makes, for each route and principal, a well-formed request that only the
// permission table can refuse. Requests that change the registry make what they
// change first, so that each can succeed whatever came before it.
type probes struct {
	e *env
	// item is an item that both contributors registered, and hash its signal.
	item int64
	hash string
	// policeRef and supportRef are the contributors' references in what probes
	// register.
	policeRef, supportRef string
	// vendor is the consumer's organisation, whose tokens the admin probes manage.
	vendor int64
	// n counts fresh hashes, photos and names.
	n int
}

func newProbes(t testing.TB, e *env) *probes {
	return &probes{e: e, policeRef: "probe-police", supportRef: "probe-support",
		vendor: orgID(t, e, "filterco-v2")}
}

func (p *probes) next() int {
	p.n++
	return 1000 + p.n
}

// ref is the reference principal who registers with.
func (p *probes) ref(who string) string {
	switch who {
	case "police":
		return p.policeRef
	case "support":
		return p.supportRef
	}
	return "probe-" + who
}

// fresh returns a registration of material no other probe registered.
func (p *probes) fresh(who string) dnadb.NewItem {
	return dnadb.NewItem{
		Category:  dnadb.CategoryCSAM,
		Reference: p.ref(who),
		Signals: []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: farHash(p.next()),
			Quality: 90}},
	}
}

// shared registers fresh material as the police and again as the support centre,
// directly in the store, and returns the item's id.
func (p *probes) shared(t testing.TB) int64 {
	t.Helper()
	ctx := context.Background()
	n := p.fresh("police")
	n.Source = "seoul-police-x9"
	it, err := p.e.store.CreateItem(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.e.store.AddSource(ctx, it.ID, "dsc-support-q4", p.supportRef); err != nil {
		t.Fatal(err)
	}
	return it.ID
}

// photo returns a PNG of random grey blocks, different at every call.
func (p *probes) photo(t testing.TB) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(p.next()), 11))
	const size, block = 256, 16
	img := image.NewGray(image.Rect(0, 0, size, size))
	for by := 0; by < size; by += block {
		for bx := 0; bx < size; bx += block {
			c := color.Gray{Y: uint8(r.IntN(256))}
			for y := by; y < by+block; y++ {
				for x := bx; x < bx+block; x++ {
					img.SetGray(x, y, c)
				}
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// templates returns the request template of every route, by pattern.
func (p *probes) templates() map[string]func(t testing.TB, who string) probe {
	ctx := context.Background()
	get := func(path string) func(testing.TB, string) probe {
		return func(testing.TB, string) probe { return probe{path: path} }
	}
	return map[string]func(t testing.TB, who string) probe{
		"GET /healthz":      get("/healthz"),
		"GET /openapi.json": get("/openapi.json"),
		"GET /metrics":      get("/metrics"),
		"GET /v1/whoami":    get("/v1/whoami"),
		"POST /v1/items": func(t testing.TB, who string) probe {
			return probe{"/v1/items", jsonBody(t, p.fresh(who))}
		},
		"POST /v1/items/batch": func(t testing.TB, who string) probe {
			items := []dnadb.NewItem{p.fresh(who), p.fresh(who)}
			return probe{"/v1/items/batch", jsonBody(t, api.BatchRequest{Items: items})}
		},
		"POST /v1/items/upload": func(t testing.TB, who string) probe {
			path := "/v1/items/upload?category=csam&reference=" + url.QueryEscape(p.ref(who))
			return probe{path, p.photo(t)}
		},
		"GET /v1/items": get("/v1/items"),
		"GET /v1/items/{id}": func(testing.TB, string) probe {
			return probe{path: fmt.Sprintf("/v1/items/%d", p.item)}
		},
		// Withdrawing is a decision both an evaluator and a source may take.
		"POST /v1/items/{id}/decision": func(t testing.TB, _ string) probe {
			return probe{fmt.Sprintf("/v1/items/%d/decision", p.shared(t)),
				jsonBody(t, api.Decision{Decision: dnadb.DecisionWithdraw})}
		},
		"POST /v1/match": func(t testing.TB, _ string) probe {
			req := api.MatchRequest{Queries: []api.MatchQuery{{Ref: "q", Hash: p.hash}}}
			return probe{"/v1/match", jsonBody(t, req)}
		},
		"POST /v1/match/upload": func(t testing.TB, _ string) probe {
			return probe{"/v1/match/upload?dihedral=true", p.photo(t)}
		},
		"POST /v1/match/video": func(t testing.TB, _ string) probe {
			req := api.VideoMatchRequest{Ref: "v", VPDQ: "0,100," + p.hash + ",0.000\n"}
			return probe{"/v1/match/video", jsonBody(t, req)}
		},
		"POST /v1/match/video/upload": func(t testing.TB, _ string) probe {
			return probe{"/v1/match/video/upload", p.video(t)}
		},
		"GET /v1/feed":          get("/v1/feed?limit=10"),
		"GET /v1/feed/snapshot": get("/v1/feed/snapshot"),
		"POST /v1/sightings": func(t testing.TB, _ string) probe {
			n := dnadb.NewSighting{ReportID: fmt.Sprintf("probe-%d", p.next()),
				ItemID: p.item, Where: "https://tube.example/v/1",
				SeenAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
				Action: dnadb.SightingBlocked}
			req := api.SightingsRequest{Sightings: []dnadb.NewSighting{n}}
			return probe{"/v1/sightings", jsonBody(t, req)}
		},
		"GET /v1/circulation": get("/v1/circulation"),
		"GET /v1/orgs":        get("/v1/orgs"),
		"POST /v1/orgs": func(t testing.TB, _ string) probe {
			name := fmt.Sprintf("probe-org-%d", p.next())
			n := api.NewOrg{Name: name, Kind: dnadb.OrgVendor}
			return probe{"/v1/orgs", jsonBody(t, n)}
		},
		"GET /v1/orgs/{id}/tokens": func(testing.TB, string) probe {
			return probe{path: fmt.Sprintf("/v1/orgs/%d/tokens", p.vendor)}
		},
		"POST /v1/orgs/{id}/tokens": func(t testing.TB, _ string) probe {
			n := api.NewToken{Name: fmt.Sprintf("probe-token-%d", p.next()),
				Roles: []dnadb.Role{dnadb.RoleConsumer}}
			return probe{fmt.Sprintf("/v1/orgs/%d/tokens", p.vendor), jsonBody(t, n)}
		},
		"POST /v1/tokens/{id}/revoke": func(t testing.TB, _ string) probe {
			tok, _, err := p.e.store.CreateToken(ctx, dnadb.NewToken{OrgID: p.vendor,
				Name:  fmt.Sprintf("probe-token-%d", p.next()),
				Roles: []dnadb.Role{dnadb.RoleConsumer}})
			if err != nil {
				t.Fatal(err)
			}
			return probe{fmt.Sprintf("/v1/tokens/%d/revoke", tok.ID), []byte("{}")}
		},
		"GET /v1/audit": get("/v1/audit"),
		"GET /v1/stats": get("/v1/stats"),
	}
}

// checkCoverage fails the test unless the templates and routeActions name exactly
// the routes srv serves, so that a new route cannot escape the permission tests.
func checkCoverage(t *testing.T, srv *server.Server,
	templates map[string]func(testing.TB, string) probe) {
	t.Helper()
	patterns := srv.Patterns()
	for _, pat := range patterns {
		if _, ok := templates[pat]; !ok {
			t.Errorf("route %q has no request template in access_test.go", pat)
		}
		if _, ok := routeActions[pat]; !ok {
			t.Errorf("route %q is missing from routeActions in access_test.go", pat)
		}
	}
	for pat := range templates {
		if !slices.Contains(patterns, pat) {
			t.Errorf("access_test.go has a template for %q, which the server does not serve",
				pat)
		}
	}
	for pat := range routeActions {
		if !slices.Contains(patterns, pat) {
			t.Errorf("routeActions names %q, which the server does not serve", pat)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// TestPermissionTable calls every route as every principal of the fixture, and
// with no token and a revoked one, and checks that the server admits exactly whom
// the permission table allows.
func TestPermissionTable(t *testing.T) {
	ctx := context.Background()
	e, srv := newServerEnv(t, server.Config{Rate: -1})
	p := newProbes(t, e)
	templates := p.templates()
	checkCoverage(t, srv, templates)

	// The item the read and match probes ask for is confirmed, so matches find it.
	p.item = p.shared(t)
	p.hash = mustItem(t, e, p.item).Signals[0].Value
	e.confirm(t, p.item)

	// Every route as every principal: a success if allowed, else exactly 403.
	var n int
	for _, pat := range srv.Patterns() {
		method, _, _ := strings.Cut(pat, " ")
		for _, pr := range principals {
			n++
			t.Run(pat+" as "+pr.name, func(t *testing.T) {
				rq := templates[pat](t, pr.name)
				r := e.send(t, e.secrets[pr.name], method, rq.path, rq.body)
				if allowed(pr.roles, pat) {
					if r.code >= 300 {
						t.Errorf("%s %s as %s = %d %s, want success", method, rq.path, pr.name,
							r.code, r.body)
					}
					return
				}
				if r.code != http.StatusForbidden || r.errorCode() != "forbidden" {
					t.Errorf("%s %s as %s = %d %s, want 403 forbidden", method, rq.path,
						pr.name, r.code, r.body)
				}
			})
		}
	}
	t.Logf("%d routes x %d principals = %d requests", len(srv.Patterns()),
		len(principals), n)

	// A token the admin creates works, and once revoked it is refused everywhere.
	created, err := e.as("admin").CreateToken(ctx, orgID(t, e, "kcsc"),
		api.NewToken{Name: "soon-revoked", Roles: []dnadb.Role{dnadb.RoleEvaluator}})
	if err != nil {
		t.Fatal(err)
	}
	if r := e.send(t, created.Secret, "GET", "/v1/whoami", nil); r.code != http.StatusOK {
		t.Fatalf("whoami with a new token = %d %s, want 200", r.code, r.body)
	}
	if _, err := e.as("admin").RevokeToken(ctx, created.Token.ID); err != nil {
		t.Fatal(err)
	}

	for _, pat := range srv.Patterns() {
		method, path, _ := strings.Cut(pat, " ")
		rq := templates[pat](t, "")
		if !strings.HasPrefix(path, "/v1/") {
			// Public routes answer anyone.
			if r := e.send(t, "", method, rq.path, rq.body); r.code != http.StatusOK {
				t.Errorf("%s %s without a token = %d %s, want 200", method, rq.path, r.code,
					r.body)
			}
			continue
		}
		for _, c := range []struct{ name, secret string }{
			{"without a token", ""},
			{"with a revoked token", created.Secret},
		} {
			r := e.send(t, c.secret, method, rq.path, rq.body)
			if r.code != http.StatusUnauthorized || r.errorCode() != "unauthenticated" {
				t.Errorf("%s %s %s = %d %s, want 401 unauthenticated", method, rq.path,
					c.name, r.code, r.body)
			}
			if r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s %s: no WWW-Authenticate header", method, rq.path, c.name)
			}
		}
	}
}

// mustItem reads an item as the evaluator, who sees it whole.
func mustItem(t testing.TB, e *env, id int64) dnadb.Item {
	t.Helper()
	it, err := e.as("evaluator").Item(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// seen is one answer a principal got, for the leak checks.
type seen struct {
	who, what string
	body      []byte
}

// TestNoLeaks registers the same material as the police and the support centre,
// then calls every route as the support centre and a filtering company, and checks
// that neither learns who else registered it nor under what reference.
func TestNoLeaks(t *testing.T) {
	const (
		policeOrg, supportOrg = "seoul-police-x9", "dsc-support-q4"
		policeRef, supportRef = "REF-POLICE-7f3a", "REF-SUPPORT-91bc"
	)
	e, srv := newServerEnv(t, server.Config{Rate: -1})
	p := newProbes(t, e)
	p.policeRef, p.supportRef = policeRef, supportRef
	templates := p.templates()
	checkCoverage(t, srv, templates)

	var answers []seen
	call := func(who, method, path string, body []byte) reply {
		t.Helper()
		r := e.send(t, e.secrets[who], method, path, body)
		answers = append(answers, seen{who, method + " " + path, r.body})
		return r
	}
	register := func(who string, n dnadb.NewItem) (api.Registration, int) {
		t.Helper()
		var reg api.Registration
		r := call(who, "POST", "/v1/items", jsonBody(t, n))
		decode(t, "register as "+who, r, &reg)
		return reg, r.code
	}

	// The police register an item; the support centre registers the same hash
	// again, and learns only that it is known.
	n := p.fresh("police")
	first, code := register("police", n)
	if code != http.StatusCreated || first.Duplicate {
		t.Fatalf("police registration = %d %+v, want 201, not a duplicate", code, first)
	}
	n.Reference = supportRef
	again, code := register("support", n)
	if code != http.StatusOK || !again.Duplicate || again.Item.ID != first.Item.ID {
		t.Fatalf("support registration = %d %+v, want 200, a duplicate of item %d", code,
			again, first.Item.ID)
	}
	a := first.Item.ID
	e.confirm(t, a)
	p.item, p.hash = a, n.Signals[0].Value

	// A second item only the police registered.
	policeOnly, _ := register("police", p.fresh("police"))
	b := policeOnly.Item.ID

	// The support centre sees its own source and reference of the shared item only,
	// and not who decided it.
	var it dnadb.Item
	r := call("support", "GET", fmt.Sprintf("/v1/items/%d", a), nil)
	decode(t, "support reads its item", r, &it)
	want := []dnadb.Source{{Org: supportOrg, Reference: supportRef}}
	if got := stripTimes(it.Sources); !slices.Equal(got, want) || it.DecidedBy != "" {
		t.Errorf("support's view of item %d: sources %+v, decided by %q; want %+v, nobody",
			a, got, it.DecidedBy, want)
	}

	// It lists only the items it is a source of, whatever source it asks for.
	var list api.ItemList
	decode(t, "support lists items", call("support", "GET", "/v1/items", nil), &list)
	if got := itemIDs(list.Items); !slices.Equal(got, []int64{a}) {
		t.Errorf("support lists items %v, want [%d]", got, a)
	}
	decode(t, "support lists police items", call("support", "GET",
		"/v1/items?source="+policeOrg, nil), &list)
	if len(list.Items) != 0 {
		t.Errorf("support lists police items %v, want none", itemIDs(list.Items))
	}

	// The police-only item does not exist for it: reading or withdrawing it answers
	// as for an item that was never registered.
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/items/%d"},
		{"POST", "/v1/items/%d/decision"},
	} {
		body := jsonBody(t, api.Decision{Decision: dnadb.DecisionWithdraw})
		if c.method == "GET" {
			body = nil
		}
		hidden := call("support", c.method, fmt.Sprintf(c.path, b), body)
		const none = 999999
		absent := call("support", c.method, fmt.Sprintf(c.path, none), body)
		if hidden.code != http.StatusNotFound || hidden.errorCode() != "not_found" {
			t.Errorf("%s %s as support = %d %s, want 404 not_found", c.method,
				fmt.Sprintf(c.path, b), hidden.code, hidden.body)
		}
		same := strings.ReplaceAll(string(absent.body), strconv.Itoa(none),
			strconv.FormatInt(b, 10))
		if hidden.code != absent.code || string(hidden.body) != same {
			t.Errorf("%s %s as support tells a hidden item from none:\n%s\nversus\n%s",
				c.method, c.path, hidden.body, absent.body)
		}
	}

	// The evaluator sees both sources with their references.
	want = []dnadb.Source{{Org: policeOrg, Reference: policeRef},
		{Org: supportOrg, Reference: supportRef}}
	if got := stripTimes(mustItem(t, e, a).Sources); !slices.Equal(got, want) {
		t.Errorf("evaluator's view of item %d: sources %+v, want %+v", a, got, want)
	}

	// Every route, allowed or not, as the support centre and the filtering company.
	for _, pat := range srv.Patterns() {
		method, _, _ := strings.Cut(pat, " ")
		for _, who := range []string{"support", "consumer"} {
			rq := templates[pat](t, who)
			r := call(who, method, rq.path, rq.body)
			if ok := allowed(roles(who), pat); ok && r.code >= 300 ||
				!ok && r.code != http.StatusForbidden {
				t.Errorf("%s %s as %s = %d %s, want allowed=%t", method, rq.path, who, r.code,
					r.body, ok)
			}
		}
	}

	// The filtering company matches the confirmed item by id and category alone.
	var resp api.MatchResponse
	decode(t, "consumer matches", call("consumer", "POST", "/v1/match",
		jsonBody(t, api.MatchRequest{Queries: []api.MatchQuery{{Hash: p.hash}}})), &resp)
	if m := resp.Results[0].Matches; len(m) != 1 || m[0].ItemID != a {
		t.Errorf("consumer's match of item %d's hash = %+v, want item %d", a, m, a)
	}

	// Registering the police-only material makes the support centre a source, and
	// still shows it nothing of the police.
	n = dnadb.NewItem{Category: dnadb.CategoryCSAM, Reference: supportRef,
		Signals: mustItem(t, e, b).Signals}
	for i := range n.Signals {
		n.Signals[i].Quality = 90
	}
	if reg, _ := register("support", n); !reg.Duplicate || reg.Item.ID != b {
		t.Errorf("support registers item %d's material: %+v, want a duplicate of it", b, reg)
	}

	// Nothing either of them was told names the police or its reference, and the
	// filtering company learns nothing of the support centre either.
	forbidden := map[string][]string{
		"support":  {policeOrg, policeRef},
		"consumer": {policeOrg, policeRef, supportOrg, supportRef},
	}
	var checked int
	for _, s := range answers {
		words, ok := forbidden[s.who]
		if !ok {
			continue
		}
		checked++
		for _, w := range words {
			if bytes.Contains(s.body, []byte(w)) {
				t.Errorf("%s as %s: answer contains %q:\n%s", s.what, s.who, w, s.body)
			}
		}
	}
	t.Logf("%d answers to support and consumer checked", checked)
}

// roles returns the roles of one of the fixture's principals.
func roles(who string) []dnadb.Role {
	for _, p := range principals {
		if p.name == who {
			return p.roles
		}
	}
	return nil
}

// stripTimes returns sources with their times zeroed, for comparison.
func stripTimes(sources []dnadb.Source) []dnadb.Source {
	out := make([]dnadb.Source, len(sources))
	for i, s := range sources {
		out[i] = dnadb.Source{Org: s.Org, Reference: s.Reference}
	}
	return out
}

func itemIDs(items []dnadb.Item) []int64 {
	ids := []int64{}
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	return ids
}

// TestDeniedIsAudited checks that a refused request and a contributor's read of an
// item are in the audit trail the auditor reads.
func TestDeniedIsAudited(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	p := newProbes(t, e)
	reg, err := e.as("police").CreateItem(ctx, p.fresh("police"))
	if err != nil {
		t.Fatal(err)
	}
	id := reg.Item.ID

	// A filtering company tries to confirm the item; the police read it.
	r := e.send(t, e.secrets["consumer"], "POST", fmt.Sprintf("/v1/items/%d/decision", id),
		jsonBody(t, api.Decision{Decision: dnadb.DecisionConfirm}),
		"X-Request-Id", "denied-decision")
	if r.code != http.StatusForbidden {
		t.Fatalf("consumer confirms item %d = %d %s, want 403", id, r.code, r.body)
	}
	r = e.send(t, e.secrets["police"], "GET", fmt.Sprintf("/v1/items/%d", id), nil,
		"X-Request-Id", "police-read")
	if r.code != http.StatusOK {
		t.Fatalf("police read item %d = %d %s, want 200", id, r.code, r.body)
	}

	// The auditor pages through the whole trail.
	var entries []dnadb.AuditEntry
	for after := int64(0); ; {
		page, err := e.as("auditor").Audit(ctx, after, 10)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, page.Entries...)
		if page.NextAfter == 0 {
			break
		}
		after = page.NextAfter
	}
	if _, err := dnadb.VerifyAudit(ctx, e.store, nil); err != nil {
		t.Errorf("audit chain: %v", err)
	}

	tokenID := func(who string) int64 {
		w, err := e.as(who).WhoAmI(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return w.Token.ID
	}
	consumer, police := tokenID("consumer"), tokenID("police")
	has := func(match func(dnadb.AuditEntry) bool) bool {
		return slices.ContainsFunc(entries, match)
	}
	if !has(func(a dnadb.AuditEntry) bool {
		return a.RequestID == "denied-decision" && a.TokenID == consumer &&
			a.Outcome == dnadb.OutcomeDenied
	}) {
		t.Errorf("no denied entry for the consumer's decision in %d entries: %+v",
			len(entries), entries)
	}
	if !has(func(a dnadb.AuditEntry) bool {
		return a.RequestID == "police-read" && a.TokenID == police &&
			a.Action == "item.read" && a.Target == fmt.Sprintf("item:%d", id) &&
			a.Outcome == dnadb.OutcomeOK
	}) {
		t.Errorf("no item.read entry for the police's read of item %d in %d entries: %+v",
			id, len(entries), entries)
	}
}

// TestRateLimit checks that a token over its burst is refused with a time to wait,
// and that other tokens are not.
func TestRateLimit(t *testing.T) {
	e, _ := newServerEnv(t, server.Config{Rate: 1, Burst: 2})
	for i := 1; i <= 3; i++ {
		r := e.send(t, e.secrets["police"], "GET", "/v1/whoami", nil)
		if i <= 2 {
			if r.code != http.StatusOK {
				t.Fatalf("request %d = %d %s, want 200", i, r.code, r.body)
			}
			continue
		}
		if r.code != http.StatusTooManyRequests || r.errorCode() != "rate_limited" {
			t.Fatalf("request %d = %d %s, want 429 rate_limited", i, r.code, r.body)
		}
		retry := r.header.Get("Retry-After")
		if s, err := strconv.Atoi(retry); err != nil || s <= 0 {
			t.Errorf("request %d: Retry-After %q, want a positive integer", i, retry)
		}
	}

	// Another token has its own bucket.
	r := e.send(t, e.secrets["evaluator"], "GET", "/v1/whoami", nil)
	if r.code != http.StatusOK {
		t.Errorf("another token = %d %s, want 200", r.code, r.body)
	}
}

// probeVideo is a two-second test pattern made once per test binary.
var probeVideo struct {
	once sync.Once
	data []byte
}

// video returns a small real video, made with ffmpeg.
func (p *probes) video(t testing.TB) []byte {
	t.Helper()
	probeVideo.once.Do(func() {
		path := ffmpegtest.Make(t, "probe.mp4", "-f", "lavfi", "-i",
			"testsrc=size=160x120:rate=10", "-t", "2", "-pix_fmt", "yuv420p")
		probeVideo.data, _ = os.ReadFile(path)
	})
	if len(probeVideo.data) == 0 {
		t.Fatal("no probe video")
	}
	return probeVideo.data
}
