package agent

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/client"
	"github.com/dnadb/dnadb/internal/corpus"
)

// TestMatchVideo gives the agent's copy a video item with the reference's sample
// hashes of a corpus video, then matches through the agent's POST /v1/match/video:
// the same hashes find it with a segment over the whole video, another video's
// hashes find nothing, and a malformed request is refused.
func TestMatchVideo(t *testing.T) {
	ctx := context.Background()
	read := func(name string) string {
		b, err := os.ReadFile(corpus.Path(t, "vpdq", "sample-hashes", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	pattern, doorknob := read("pattern-hd-no-bar.txt"), read("doorknob-hd-no-bar.txt")

	s, err := OpenStore(ctx, filepath.Join(t.TempDir(), "agent.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Apply(ctx, []dnadb.FeedEntry{{Op: dnadb.FeedAdd, ItemID: 9,
		Category: dnadb.CategoryCSAM,
		Signals:  []dnadb.Signal{{Type: dnadb.SignalVPDQ, Value: pattern, Quality: 100}}}},
		"c1", time.Now()); err != nil {
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

	post := func(body any) (int, api.VideoMatchResponse) {
		b, _ := json.Marshal(body)
		req := httptest.NewRequest("POST", "/v1/match/video", strings.NewReader(string(b)))
		w := httptest.NewRecorder()
		a.Handler("").ServeHTTP(w, req)
		var resp api.VideoMatchResponse
		json.Unmarshal(w.Body.Bytes(), &resp)
		return w.Code, resp
	}
	code, resp := post(api.VideoMatchRequest{VPDQ: pattern})
	if code != 200 || len(resp.Matches) != 1 || resp.Matches[0].ItemID != 9 ||
		resp.Matches[0].QueryPercent != 100 || len(resp.Matches[0].Segments) != 1 ||
		resp.Matches[0].Segments[0].QueryEnd < 6 {
		t.Errorf("match of the item's own hashes = %d %+v, want item 9 at 100%% in one "+
			"segment over the video", code, resp)
	}
	if code, resp = post(api.VideoMatchRequest{VPDQ: doorknob}); code != 200 ||
		len(resp.Matches) != 0 {
		t.Errorf("match of another video = %d %+v, want none", code, resp)
	}
	for _, bad := range []api.VideoMatchRequest{{}, {VPDQ: "0,1,zz,0"},
		{VPDQ: pattern, Semantics: "java"}} {
		if code, _ := post(bad); code != 400 {
			t.Errorf("match %+.30v = %d, want 400", bad, code)
		}
	}
}
