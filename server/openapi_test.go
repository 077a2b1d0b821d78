package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/server"
	"github.com/dnadb/dnadb/sqlstore"
)

// TestOpenAPI keeps the served OpenAPI document true to the server: it describes
// exactly the routes the server registers, each operation is complete, every
// reference resolves, and the schemas of the JSON bodies have the Go types' fields.
func TestOpenAPI(t *testing.T) {
	doc := fetchOpenAPI(t)
	ops := operations(t, doc)

	t.Run("routes", func(t *testing.T) {
		want := map[string]bool{}
		for _, p := range newServer(t).Patterns() {
			want[p] = true
		}
		for _, r := range sortedKeys(want) {
			if _, ok := ops[r]; !ok {
				t.Errorf("route %q is served but not described in paths", r)
			}
		}
		for _, r := range sortedKeys(ops) {
			if !want[r] {
				t.Errorf("route %q is described in paths but not served", r)
			}
		}
	})

	t.Run("operations", func(t *testing.T) {
		for _, r := range sortedKeys(ops) {
			op := ops[r]
			if s, _ := op["summary"].(string); s == "" {
				t.Errorf("%s: no summary", r)
			}
			responses, _ := op["responses"].(map[string]any)
			if !slices.ContainsFunc(sortedKeys(responses), func(code string) bool {
				return strings.HasPrefix(code, "2")
			}) {
				t.Errorf("%s: no 2xx response among %v", r, sortedKeys(responses))
			}
			_, path, _ := strings.Cut(r, " ")
			got, want := pathParams(t, doc, op), placeholders(path)
			if !slices.Equal(got, want) {
				t.Errorf("%s: path parameters = %v, want %v", r, got, want)
			}
			if !strings.HasPrefix(path, "/v1/") {
				continue
			}
			for _, code := range []string{"401", "403", "429"} {
				if _, ok := responses[code]; !ok {
					t.Errorf("%s: no %s response", r, code)
				}
			}
			if rl, ok := responses["429"]; ok {
				headers, _ := resolve(t, doc, rl)["headers"].(map[string]any)
				if _, ok := headers["Retry-After"]; !ok {
					t.Errorf("%s: the 429 response has no Retry-After header", r)
				}
			}
			if sec, _ := op["security"].([]any); len(sec) == 0 {
				t.Errorf("%s: no security requirement", r)
			}
		}
	})

	t.Run("refs", func(t *testing.T) {
		n := 0
		walk(doc, "#", func(where, ref string) {
			n++
			if !strings.HasPrefix(ref, "#/components/") {
				t.Errorf("%s: $ref %q is not into components", where, ref)
				return
			}
			if _, err := pointer(doc, ref); err != nil {
				t.Errorf("%s: $ref %q: %v", where, ref, err)
			}
		})
		if n == 0 {
			t.Error("the document has no $ref at all")
		}
	})

	t.Run("schemas", func(t *testing.T) {
		bodies := map[string]any{
			"Item":               dnadb.Item{},
			"Signal":             dnadb.Signal{},
			"Source":             dnadb.Source{},
			"NewItem":            dnadb.NewItem{},
			"Match":              dnadb.Match{},
			"Org":                dnadb.Org{},
			"Token":              dnadb.Token{},
			"AuditEntry":         dnadb.AuditEntry{},
			"Stats":              dnadb.Stats{},
			"Registration":       api.Registration{},
			"BatchRequest":       api.BatchRequest{},
			"BatchResponse":      api.BatchResponse{},
			"ItemList":           api.ItemList{},
			"Decision":           api.Decision{},
			"MatchRequest":       api.MatchRequest{},
			"MatchQuery":         api.MatchQuery{},
			"MatchResponse":      api.MatchResponse{},
			"VideoMatchRequest":  api.VideoMatchRequest{},
			"VideoMatchResponse": api.VideoMatchResponse{},
			"VideoMatch":         api.VideoMatch{},
			"Segment":            api.Segment{},
			"MatchResult":        api.MatchResult{},
			"NewOrg":             api.NewOrg{},
			"OrgList":            api.OrgList{},
			"NewToken":           api.NewToken{},
			"CreatedToken":       api.CreatedToken{},
			"TokenList":          api.TokenList{},
			"AuditPage":          api.AuditPage{},
			"WhoAmI":             api.WhoAmI{},
			"Health":             api.Health{},
			"FeedEntry":          dnadb.FeedEntry{},
			"FeedItem":           dnadb.FeedItem{},
			"FeedPage":           api.FeedPage{},
			"SnapshotEnd":        api.SnapshotEnd{},
			"NewSighting":        dnadb.NewSighting{},
			"Circulation":        dnadb.Circulation{},
			"SightingsRequest":   api.SightingsRequest{},
			"SightingsResponse":  api.SightingsResponse{},
			"CirculationPage":    api.CirculationPage{},
			"ErrorBody":          api.ErrorBody{},
			"ErrorDetail":        api.ErrorDetail{},
		}
		for _, name := range sortedKeys(bodies) {
			t.Run(name, func(t *testing.T) {
				s, err := pointer(doc, "#/components/schemas/"+name)
				if err != nil {
					t.Fatalf("schema %s: %v", name, err)
				}
				schema, _ := s.(map[string]any)
				props, _ := schema["properties"].(map[string]any)
				fields := jsonFields(reflect.TypeOf(bodies[name]))

				var names, required []string
				for _, f := range fields {
					names = append(names, f.name)
					if !f.optional {
						required = append(required, f.name)
					}
				}
				sort.Strings(names)
				sort.Strings(required)
				if diff := cmp.Diff(names, sortedKeys(props)); diff != "" {
					t.Errorf("schema %s properties differ from the Go JSON tags "+
						"(-Go +schema):\n%s", name, diff)
				}
				var req []string
				for _, v := range asSlice(schema["required"]) {
					req = append(req, fmt.Sprint(v))
				}
				sort.Strings(req)
				if diff := cmp.Diff(required, req); diff != "" {
					t.Errorf("schema %s required differs from the Go fields without "+
						"omitempty or omitzero (-Go +schema):\n%s", name, diff)
				}
			})
		}
	})
}

// fetchOpenAPI gets GET /openapi.json from a real server and decodes it.
func fetchOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	e := newEnv(t)
	resp, err := http.Get(e.url + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json = %s %s, want 200", resp.Status, data)
	}
	if got, want := resp.Header.Get("Content-Type"), "application/json"; got != want {
		t.Errorf("GET /openapi.json Content-Type = %q, want %q", got, want)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("GET /openapi.json: %v", err)
	}
	if got, want := doc["openapi"], "3.0.3"; got != want {
		t.Errorf("openapi = %v, want %q", got, want)
	}
	return doc
}

// newServer builds a server over an empty SQLite store, for what the handler does
// not show.
func newServer(t testing.TB) *server.Server {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "dnadb.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv, err := server.New(ctx, st, server.Config{Rate: -1})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// operations returns the document's operations by route, as "POST /v1/match".
func operations(t testing.TB, doc map[string]any) map[string]map[string]any {
	t.Helper()
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatal("the document has no paths object")
	}
	methods := []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}
	out := map[string]map[string]any{}
	for path, item := range paths {
		item, _ := item.(map[string]any)
		for m, op := range item {
			if !slices.Contains(methods, m) {
				continue
			}
			op, ok := op.(map[string]any)
			if !ok {
				t.Fatalf("paths[%q].%s is not an object", path, m)
			}
			out[strings.ToUpper(m)+" "+path] = op
		}
	}
	return out
}

// pathParams returns the sorted names of an operation's path parameters.
func pathParams(t testing.TB, doc map[string]any, op map[string]any) []string {
	t.Helper()
	var out []string
	for _, p := range asSlice(op["parameters"]) {
		p := resolve(t, doc, p)
		if p["in"] == "path" {
			out = append(out, fmt.Sprint(p["name"]))
		}
	}
	sort.Strings(out)
	return out
}

var placeholder = regexp.MustCompile(`\{([^}]+)\}`)

// placeholders returns the sorted names of the {name} segments of a path.
func placeholders(path string) []string {
	var out []string
	for _, m := range placeholder.FindAllStringSubmatch(path, -1) {
		out = append(out, m[1])
	}
	sort.Strings(out)
	return out
}

// resolve follows v's $ref, if it has one, and returns the object it names.
func resolve(t testing.TB, doc map[string]any, v any) map[string]any {
	t.Helper()
	m, _ := v.(map[string]any)
	if ref, ok := m["$ref"].(string); ok {
		target, err := pointer(doc, ref)
		if err != nil {
			t.Fatalf("$ref %q: %v", ref, err)
		}
		m, _ = target.(map[string]any)
	}
	return m
}

// walk calls fn with the location and value of every $ref in v.
func walk(v any, where string, fn func(where, ref string)) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(v) {
			if ref, ok := v[k].(string); ok && k == "$ref" {
				fn(where, ref)
				continue
			}
			walk(v[k], where+"/"+k, fn)
		}
	case []any:
		for i, e := range v {
			walk(e, fmt.Sprintf("%s/%d", where, i), fn)
		}
	}
}

// pointer returns the value a local JSON pointer reference ("#/a/b") names in doc.
func pointer(doc map[string]any, ref string) (any, error) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("not a local reference")
	}
	var v any = doc
	for _, tok := range strings.Split(rest, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%q is inside a value that is not an object", tok)
		}
		if v, ok = m[tok]; !ok {
			return nil, fmt.Errorf("no %q", tok)
		}
	}
	return v, nil
}

// jsonField is a property of a Go type's JSON encoding.
type jsonField struct {
	name string
	// optional is true when the field is left out of the JSON when empty or zero.
	optional bool
}

// jsonFields lists the JSON properties of struct type typ as encoding/json names
// them: exported fields, by the tag's name or else the field's, skipping "-", with
// untagged embedded structs flattened.
func jsonFields(typ reflect.Type) []jsonField {
	var out []jsonField
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag, hasTag := f.Tag.Lookup("json")
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && !hasTag && f.Type.Kind() == reflect.Struct {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if !f.IsExported() || name == "-" && opts == "" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		optional := false
		for _, o := range strings.Split(opts, ",") {
			optional = optional || o == "omitempty" || o == "omitzero"
		}
		out = append(out, jsonField{name: name, optional: optional})
	}
	return out
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
