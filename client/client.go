// Package client talks to a dnadb server over its HTTP API. Errors the server
// reports come back wrapping the same dnadb error kinds the server used.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
)

// Client is a dnadb API client.
type Client struct {
	base  string
	http  *http.Client
	token string
}

// New returns a client for the server at base, such as "http://127.0.0.1:8080".
// A nil hc means a client with a 60-second timeout. Call WithToken before any
// /v1 call.
func New(base string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, dnadb.Errorf(dnadb.ErrInvalid, "server %q is not an http(s) URL", base)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	return &Client{base: strings.TrimRight(base, "/"), http: hc}, nil
}

// WithToken returns a copy of c that sends secret as its bearer token.
func (c *Client) WithToken(secret string) *Client {
	cc := *c
	cc.token = secret
	return &cc
}

// CreateItem registers an item with precomputed signals, as the token's
// organisation. A registration of known material comes back as a duplicate.
func (c *Client) CreateItem(ctx context.Context, n dnadb.NewItem) (api.Registration, error) {
	var reg api.Registration
	err := c.do(ctx, http.MethodPost, "/v1/items", n, &reg)
	return reg, err
}

// CreateItems registers a batch of items in one request.
func (c *Client) CreateItems(ctx context.Context, items []dnadb.NewItem) (api.BatchResponse,
	error) {
	var resp api.BatchResponse
	err := c.do(ctx, http.MethodPost, "/v1/items/batch", api.BatchRequest{Items: items}, &resp)
	return resp, err
}

// Item reads one item.
func (c *Client) Item(ctx context.Context, id int64) (dnadb.Item, error) {
	var it dnadb.Item
	err := c.do(ctx, http.MethodGet, "/v1/items/"+strconv.FormatInt(id, 10), nil, &it)
	return it, err
}

// Items lists one page of items.
func (c *Client) Items(ctx context.Context, f dnadb.ItemFilter) (api.ItemList, error) {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" && v != "0" {
			q.Set(k, v)
		}
	}
	set("status", string(f.Status))
	set("category", string(f.Category))
	set("source", f.Source)
	set("after", strconv.FormatInt(f.After, 10))
	set("limit", strconv.Itoa(f.Limit))
	var l api.ItemList
	err := c.do(ctx, http.MethodGet, "/v1/items?"+q.Encode(), nil, &l)
	return l, err
}

// Decide confirms, rejects or withdraws an item, as the token.
func (c *Client) Decide(ctx context.Context, id int64, d dnadb.Decision) (dnadb.Item, error) {
	var it dnadb.Item
	path := "/v1/items/" + strconv.FormatInt(id, 10) + "/decision"
	err := c.do(ctx, http.MethodPost, path, api.Decision{Decision: d}, &it)
	return it, err
}

// WhoAmI returns the token's organisation and the token itself.
func (c *Client) WhoAmI(ctx context.Context) (api.WhoAmI, error) {
	var w api.WhoAmI
	err := c.do(ctx, http.MethodGet, "/v1/whoami", nil, &w)
	return w, err
}

// CreateOrg adds an organisation.
func (c *Client) CreateOrg(ctx context.Context, name string, kind dnadb.OrgKind) (dnadb.Org,
	error) {
	var o dnadb.Org
	err := c.do(ctx, http.MethodPost, "/v1/orgs", api.NewOrg{Name: name, Kind: kind}, &o)
	return o, err
}

// CreateToken adds a token to an organisation and returns it with its secret.
func (c *Client) CreateToken(ctx context.Context, org int64,
	t api.NewToken) (api.CreatedToken, error) {
	var ct api.CreatedToken
	path := "/v1/orgs/" + strconv.FormatInt(org, 10) + "/tokens"
	err := c.do(ctx, http.MethodPost, path, t, &ct)
	return ct, err
}

// RevokeToken revokes a token.
func (c *Client) RevokeToken(ctx context.Context, id int64) (dnadb.Token, error) {
	var t dnadb.Token
	path := "/v1/tokens/" + strconv.FormatInt(id, 10) + "/revoke"
	err := c.do(ctx, http.MethodPost, path, struct{}{}, &t)
	return t, err
}

// Audit reads one page of the audit trail.
func (c *Client) Audit(ctx context.Context, after int64, limit int) (api.AuditPage, error) {
	var p api.AuditPage
	path := fmt.Sprintf("/v1/audit?after=%d&limit=%d", after, limit)
	err := c.do(ctx, http.MethodGet, path, nil, &p)
	return p, err
}

// Match matches a batch of hashes.
func (c *Client) Match(ctx context.Context, req api.MatchRequest) (api.MatchResponse, error) {
	var resp api.MatchResponse
	err := c.do(ctx, http.MethodPost, "/v1/match", req, &resp)
	return resp, err
}

// MatchVideo matches one video by its vPDQ signal and digests.
func (c *Client) MatchVideo(ctx context.Context,
	req api.VideoMatchRequest) (api.VideoMatchResponse, error) {
	var resp api.VideoMatchResponse
	err := c.do(ctx, http.MethodPost, "/v1/match/video", req, &resp)
	return resp, err
}

// Health reads the server's health.
func (c *Client) Health(ctx context.Context) (api.Health, error) {
	var h api.Health
	err := c.do(ctx, http.MethodGet, "/healthz", nil, &h)
	return h, err
}

// do sends one request with an optional JSON body and decodes the JSON answer into
// out, or the error body into an error of the server's kind.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}

	if resp.StatusCode >= 300 {
		var eb api.ErrorBody
		if json.Unmarshal(data, &eb) != nil || eb.Error.Code == "" {
			return fmt.Errorf("%s %s: server answered %s", method, path, resp.Status)
		}
		if kind := api.ErrorKind(eb.Error.Code); kind != nil {
			return dnadb.Errorf(kind, "server: %s", eb.Error.Message)
		}
		return fmt.Errorf("server: %s (%s)", eb.Error.Message, eb.Error.Code)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}
