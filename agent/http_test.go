package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/client"
)

// newTestAgent returns an agent whose copy holds item 7 with hashA, and that
// follows no reachable server.
func newTestAgent(t *testing.T) *Agent {
	t.Helper()
	ctx := context.Background()
	s, err := OpenStore(ctx, filepath.Join(t.TempDir(), "agent.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Apply(ctx, []dnadb.FeedEntry{{Op: dnadb.FeedAdd, ItemID: 7,
		Category: dnadb.CategoryIllegalFilming, Signals: pdqSignal(hashA)}}, "c1",
		time.Now()); err != nil {
		t.Fatal(err)
	}
	c, err := client.New("http://127.0.0.1:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(ctx, Config{Client: c, Store: s})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestHandler(t *testing.T) {
	a := newTestAgent(t)
	for _, tc := range []struct {
		name, method, path, body, token string
		code                            int
		want                            string // a substring of the body
	}{
		{"match", "POST", "/v1/match", `{"queries":[{"hash":"` + hashA + `"}]}`, "",
			200, `"item_id": 7`},
		{"no match", "POST", "/v1/match", `{"queries":[{"hash":"` + hashB + `"}]}`, "",
			200, `"matches": []`},
		{"bad hash", "POST", "/v1/match", `{"queries":[{"hash":"zz"}]}`, "",
			400, `"code": "invalid"`},
		{"low quality", "POST", "/v1/match",
			`{"queries":[{"hash":"` + hashA + `","quality":10}]}`, "", 422, `"low_quality"`},
		{"threshold above the agent's", "POST", "/v1/match",
			`{"threshold":40,"queries":[{"hash":"` + hashA + `"}]}`, "", 400, `"invalid"`},
		{"no route", "GET", "/v1/items", "", "", 404, `"not_found"`},
		{"token wanted", "POST", "/v1/match", `{"queries":[{"hash":"` + hashA + `"}]}`,
			"s3cret", 401, `"unauthenticated"`},
		{"healthz without token", "GET", "/healthz", "", "s3cret", 200, `"entries": 1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			w := httptest.NewRecorder()
			a.Handler(tc.token).ServeHTTP(w, req)
			if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.want) {
				t.Errorf("%s %s = %d %s, want %d with %s", tc.method, tc.path, w.Code,
					w.Body, tc.code, tc.want)
			}
		})
	}

	// The right token is let through.
	req := httptest.NewRequest("POST", "/v1/match",
		strings.NewReader(`{"queries":[{"hash":"`+hashA+`"}]}`))
	req.Header.Set("Authorization", "Bearer s3cret")
	w := httptest.NewRecorder()
	a.Handler("s3cret").ServeHTTP(w, req)
	var resp api.MatchResponse
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || w.Code != http.StatusOK ||
		len(resp.Results[0].Matches) != 1 {
		t.Errorf("match with the token = %d %s, want one match", w.Code, w.Body)
	}
}
