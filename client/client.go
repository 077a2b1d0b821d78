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
	base string
	http *http.Client
}

// New returns a client for the server at base, such as "http://127.0.0.1:8080".
// A nil hc means a client with a 60-second timeout.
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

// CreateItem registers an item with precomputed signals.
func (c *Client) CreateItem(ctx context.Context, n dnadb.NewItem) (dnadb.Item, error) {
	var it dnadb.Item
	err := c.do(ctx, http.MethodPost, "/v1/items", n, &it)
	return it, err
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

// Decide confirms, rejects or withdraws an item.
func (c *Client) Decide(ctx context.Context, id int64, d dnadb.Decision,
	actor string) (dnadb.Item, error) {
	var it dnadb.Item
	path := "/v1/items/" + strconv.FormatInt(id, 10) + "/decision"
	err := c.do(ctx, http.MethodPost, path, api.Decision{Decision: d, Actor: actor}, &it)
	return it, err
}

// Match matches a batch of hashes.
func (c *Client) Match(ctx context.Context, req api.MatchRequest) (api.MatchResponse, error) {
	var resp api.MatchResponse
	err := c.do(ctx, http.MethodPost, "/v1/match", req, &resp)
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
