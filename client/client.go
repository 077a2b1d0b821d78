// Package client talks to a dnadb server over its HTTP API. Errors the server
// reports come back wrapping the same dnadb error kinds the server used.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

// ReportSightings reports sightings of confirmed items as the token's
// organisation. Sending a report again with the same report id counts it once, so
// a batch whose answer was lost may be sent again as it was.
func (c *Client) ReportSightings(ctx context.Context,
	sightings []dnadb.NewSighting) (api.SightingsResponse, error) {
	var resp api.SightingsResponse
	err := c.do(ctx, http.MethodPost, "/v1/sightings",
		api.SightingsRequest{Sightings: sightings}, &resp)
	return resp, err
}

// Circulation reads a page of the counts of sightings per item and platform. The
// filter's Source is ignored: the server decides whose items the token sees.
func (c *Client) Circulation(ctx context.Context,
	f dnadb.CirculationFilter) (api.CirculationPage, error) {
	q := url.Values{}
	if f.ItemID != 0 {
		q.Set("item", strconv.FormatInt(f.ItemID, 10))
	}
	if f.Platform != "" {
		q.Set("platform", f.Platform)
	}
	if f.After != 0 {
		q.Set("after", strconv.FormatInt(f.After, 10))
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var p api.CirculationPage
	err := c.do(ctx, http.MethodGet, "/v1/circulation?"+q.Encode(), nil, &p)
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

// Feed reads one page of the feed of changes to the distributable set, after
// cursor (empty for the start of the feed), of at most limit entries (zero means
// the server's default). With a wait, the server holds the request until
// something changes or the wait ends (55 seconds at most); the client's timeout is
// stretched to cover it. The page's cursor continues after it.
func (c *Client) Feed(ctx context.Context, cursor string, limit int,
	wait time.Duration) (api.FeedPage, error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if wait > 0 {
		q.Set("wait", wait.String())
	}
	hc := c.http
	if hc.Timeout != 0 && hc.Timeout < wait+feedMargin {
		stretched := *hc
		stretched.Timeout = wait + feedMargin
		hc = &stretched
	}
	var p api.FeedPage
	err := c.send(ctx, hc, http.MethodGet, "/v1/feed?"+q.Encode(), nil, &p)
	return p, err
}

// feedMargin is how much longer than its wait a feed request may take.
const feedMargin = 30 * time.Second

// Snapshot streams the distributable set, calling fn with each item in id order,
// and returns the cursor from which Feed continues after it. It fails unless the
// stream ends with that cursor, so that a partial set is never taken for the
// whole, and it stops at the first error fn returns. A large set may take longer
// than the client's timeout, so only ctx bounds it.
func (c *Client) Snapshot(ctx context.Context, fn func(dnadb.FeedItem) error) (string,
	error) {
	const path = "/v1/feed/snapshot"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return "", fmt.Errorf("snapshot: %w", err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	hc := *c.http
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("snapshot: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return "", answerError(http.MethodGet, path, resp, data)
	}

	// Read item lines up to the cursor line, which must be the last.
	dec := json.NewDecoder(resp.Body)
	var n int64
	for {
		var line struct {
			dnadb.FeedItem
			Cursor *string          `json:"cursor"`
			Items  int64            `json:"items"`
			Error  *api.ErrorDetail `json:"error"`
		}
		if err := dec.Decode(&line); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return "", fmt.Errorf("snapshot: after %d items: %w", n, err)
		}
		switch {
		case line.Error != nil:
			err := fmt.Errorf("server: %s (%s)", line.Error.Message, line.Error.Code)
			if kind := api.ErrorKind(line.Error.Code); kind != nil {
				err = dnadb.Errorf(kind, "server: %s", line.Error.Message)
			}
			return "", fmt.Errorf("snapshot: after %d items: %w", n, err)
		case line.Cursor != nil:
			if line.Items != n {
				return "", fmt.Errorf("snapshot: %d items read, but the server sent %d", n,
					line.Items)
			}
			if dec.More() {
				return "", fmt.Errorf("snapshot: data after the cursor line")
			}
			return *line.Cursor, nil
		case line.ItemID <= 0:
			return "", fmt.Errorf("snapshot: line %d is neither an item nor the cursor", n+1)
		}
		n++
		if err := fn(line.FeedItem); err != nil {
			return "", err
		}
	}
}

// do sends one request with an optional JSON body and decodes the JSON answer into
// out, or the error body into an error of the server's kind.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	return c.send(ctx, c.http, method, path, in, out)
}

// send is do through hc.
func (c *Client) send(ctx context.Context, hc *http.Client, method, path string,
	in, out any) error {
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

	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}

	if resp.StatusCode >= 300 {
		return answerError(method, path, resp, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// answerError turns an error answer into an error of the server's kind.
func answerError(method, path string, resp *http.Response, data []byte) error {
	var eb api.ErrorBody
	if json.Unmarshal(data, &eb) != nil || eb.Error.Code == "" {
		return fmt.Errorf("%s %s: server answered %s", method, path, resp.Status)
	}
	if kind := api.ErrorKind(eb.Error.Code); kind != nil {
		return dnadb.Errorf(kind, "server: %s", eb.Error.Message)
	}
	return fmt.Errorf("server: %s (%s)", eb.Error.Message, eb.Error.Code)
}
