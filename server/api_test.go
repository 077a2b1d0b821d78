package server_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/server"
)

// hugePNG returns a PNG signature and an IHDR chunk claiming 100000x100000 pixels,
// with a correct CRC and no image data.
func hugePNG() []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 100000)
	binary.BigEndian.PutUint32(ihdr[4:], 100000)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

const testHash = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"

// TestRoutes checks status codes and error bodies across the API.
func TestRoutes(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	it, err := e.client.CreateItem(ctx, dnadb.NewItem{
		Category: dnadb.CategoryOther, Reference: "r-1",
		Signals: []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: testHash, Quality: 90}},
	})
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"GET", "/v1/items/1?as=nobody", "", 401, "unauthenticated"},
		{"GET", "/v1/items/1?as=consumer", "", 403, "forbidden"},
		{"GET", "/healthz", "", 200, ""},
		{"GET", "/v1/items/1", "", 200, ""},
		{"GET", "/v1/items/999", "", 404, "not_found"},
		{"GET", "/v1/items/abc", "", 400, "invalid"},
		{"GET", "/v1/items?status=bogus", "", 400, "invalid"},
		{"GET", "/v1/items?limit=x", "", 400, "invalid"},
		{"GET", "/v1/items?limit=5000", "", 400, "invalid"},
		{"GET", "/v1/nothing", "", 404, "not_found"},
		{"DELETE", "/v1/items/1", "", 405, "method_not_allowed"},
		{"POST", "/v1/items", `{"category":"csam"`, 400, "invalid"},
		{"POST", "/v1/items", `{"category":"csam","bogus":1}`, 400, "invalid"},
		{"POST", "/v1/items", ``, 400, "invalid"},
		{"POST", "/v1/items", `{"category":"csam","signals":[{"type":"tmk",` +
			`"value":"x","quality":100}]}`, 415, "unsupported"},
		{"POST", "/v1/items/1/decision", `{"decision":"approve"}`, 400, "invalid"},
		{"POST", "/v1/items/1/decision", `{"decision":"withdraw"}`, 200, ""},
		{"POST", "/v1/items/1/decision", `{"decision":"confirm"}`, 409, "conflict"},
		{"POST", "/v1/items/7/decision", `{"decision":"confirm"}`, 404, "not_found"},
		{"POST", "/v1/match", `{"queries":[]}`, 400, "invalid"},
		{"POST", "/v1/match", `{"queries":[{"hash":"` + testHash + `"}],"threshold":40}`,
			400, "invalid"},
		{"POST", "/v1/match", `{"queries":[{"hash":"` + testHash + `","quality":10}]}`,
			422, "low_quality"},
		{"POST", "/v1/match", `{"queries":[{"hash":"` + testHash + `","dihedral":["` +
			testHash + `"]}]}`, 400, "invalid"},
		{"POST", "/v1/match", `{"queries":[{"hash":"` + testHash + `"}]}`, 200, ""},
		{"POST", "/v1/items/upload?category=bogus", "x", 400, "invalid"},
		{"POST", "/v1/match/upload?dihedral=maybe", "x", 400, "invalid"},
	}
	_ = it
	for _, c := range cases {
		// Each request goes as the principal the route is for, unless the case
		// names another in its as= parameter.
		who := "evaluator"
		switch {
		case strings.Contains(c.path, "as="):
			who = c.path[strings.Index(c.path, "as=")+3:]
		case strings.HasPrefix(c.path, "/v1/match"):
			who = "consumer"
		case c.method == "POST" && strings.HasPrefix(c.path, "/v1/items") &&
			!strings.Contains(c.path, "decision"):
			who = "police"
		}
		req, _ := http.NewRequest(c.method, e.url+c.path, strings.NewReader(c.body))
		if secret, ok := e.secrets[who]; ok {
			req.Header.Set("Authorization", "Bearer "+secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s %s = %d %s, want %d", c.method, c.path, resp.StatusCode, data, c.status)
			continue
		}
		if c.code == "" {
			continue
		}
		var eb api.ErrorBody
		if err := json.Unmarshal(data, &eb); err != nil || eb.Error.Code != c.code ||
			eb.Error.Message == "" {
			t.Errorf("%s %s body = %s, want error code %q and a message", c.method, c.path,
				data, c.code)
		}
	}
}

// TestListPages pages through items by status and source.
func TestListPages(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	var ids []int64
	for i := range 5 {
		src := []string{"police", "support"}[i%2]
		reg, err := e.as(src).CreateItem(ctx, dnadb.NewItem{
			Category: dnadb.CategoryIllegalFilming,
			Signals: []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: farHash(i),
				Quality: 90}},
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, reg.Item.ID)
	}

	var got []int64
	f := dnadb.ItemFilter{Source: "seoul-police-x9", Limit: 2}
	for page := 0; ; page++ {
		l, err := e.as("evaluator").Items(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range l.Items {
			got = append(got, it.ID)
		}
		if l.NextAfter == 0 || page > 5 {
			break
		}
		f.After = l.NextAfter
	}
	want := []int64{ids[0], ids[2], ids[4]}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("police items paged = %v, want %v", got, want)
	}
}

// farHash returns the i-th of a set of random hashes, some 128 bits from each
// other, so that none is taken for a registration of another.
func farHash(i int) string {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	var h dnadb.Hash256
	for k := range h {
		h[k] = byte(r.Uint32())
	}
	return h.String()
}

// TestStrayLimit sends requests with no token or a guessed one from one address:
// past the burst they are refused with 429, so that guessing tokens is slow, while a
// valid token from the same address still gets through.
func TestStrayLimit(t *testing.T) {
	e := newEnvConfig(t, server.Config{})
	limited := 0
	for i := range server.DefaultStrayBurst + 10 {
		req, _ := http.NewRequest("GET", e.url+"/v1/whoami", nil)
		if i%2 == 1 {
			req.Header.Set("Authorization", "Bearer dnadb_guess"+strconv.Itoa(i))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			if resp.Header.Get("Retry-After") == "" {
				t.Errorf("429 without Retry-After")
			}
			limited++
		default:
			t.Fatalf("request %d without a valid token: %s", i, resp.Status)
		}
	}
	if limited < 5 {
		t.Errorf("%d of %d requests without a valid token were limited, want at least 5",
			limited, server.DefaultStrayBurst+10)
	}
	if _, err := e.as("consumer").WhoAmI(context.Background()); err != nil {
		t.Errorf("valid token after the strays: %v", err)
	}
}
