// Package graph is a thin typed client of the Microsoft Graph v1.0 endpoints
// placard reads and writes: the profile and photo (one's own and others'),
// presence (one's own, and many people's by id), the calendar (calendarView
// and its delta rounds, events and the answers to meetings), getSchedule,
// the Places API's rooms and room lists, a group's members, and JSON
// batching. Every call takes the access token to use; every answer Graph
// refuses is an *Error with Graph's code and message, and Retry-After (a
// delta round Graph no longer holds is also ErrResync).
package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultBaseURL is Graph v1.0 in the public cloud.
const DefaultBaseURL = "https://graph.microsoft.com/v1.0"

// Client calls Microsoft Graph.
type Client struct {
	base string
	http *http.Client
	// Observe, when set, is told of every answer (for metrics): the
	// endpoint's name and the HTTP status, 0 when there was none; the
	// requests of a batch are told one by one.
	Observe func(endpoint string, status int)
}

// New returns a client for base (DefaultBaseURL when empty) that sends its
// requests through hc.
func New(base string, hc *http.Client) *Client {
	if base == "" {
		base = DefaultBaseURL
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(base, "/"), http: hc}
}

// Error is an error answer of Graph.
// https://learn.microsoft.com/en-us/graph/errors
type Error struct {
	Status  int
	Code    string
	Message string
	// RetryAfter is the wait Graph asked for (429, 503), 0 when none.
	RetryAfter time.Duration
	// RequestID is Graph's id of the request (innerError's request-id),
	// what Microsoft support asks for; "" when Graph gave none.
	RequestID string
}

func (e *Error) Error() string {
	return fmt.Sprintf("graph: HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// StatusOf returns the HTTP status of a Graph error, 0 for other errors.
func StatusOf(err error) int {
	var ge *Error
	if errors.As(err, &ge) {
		return ge.Status
	}
	return 0
}

// User is the signed-in user's profile.
// https://learn.microsoft.com/en-us/graph/api/resources/user
type User struct {
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	GivenName         string `json:"givenName"`
	Surname           string `json:"surname"`
	UserPrincipalName string `json:"userPrincipalName"`
	Mail              string `json:"mail"`
	JobTitle          string `json:"jobTitle"`
}

// Presence is a user's presence in Teams.
// https://learn.microsoft.com/en-us/graph/api/resources/presence
type Presence struct {
	ID           string `json:"id"`
	Availability string `json:"availability"`
	Activity     string `json:"activity"`
}

// Me returns the signed-in user's profile (GET /me, User.Read).
func (c *Client) Me(ctx context.Context, token string) (User, error) {
	var u User
	err := c.getJSON(ctx, token, "me", "/me", nil, &u)
	return u, err
}

// Presence returns the signed-in user's presence (GET /me/presence,
// Presence.Read).
func (c *Client) Presence(ctx context.Context, token string) (Presence, error) {
	var p Presence
	err := c.getJSON(ctx, token, "presence", "/me/presence", nil, &p)
	return p, err
}

// maxPhoto bounds a profile photo; Graph's largest size is 648×648.
const maxPhoto = 4 << 20

// Photo returns the signed-in user's photo and its content type (GET
// /me/photo/$value). A user without one is an *Error with status 404.
func (c *Client) Photo(ctx context.Context, token string) ([]byte, string, error) {
	return c.photo(ctx, token, "/me/photo/$value")
}

// photo reads a photo's bytes and content type.
func (c *Client) photo(ctx context.Context, token, path string) ([]byte, string, error) {
	res, err := c.do(ctx, token, "photo", http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxPhoto+1))
	if err != nil {
		return nil, "", fmt.Errorf("graph: reading photo: %w", err)
	}
	if len(b) > maxPhoto {
		return nil, "", fmt.Errorf("graph: photo is larger than %d bytes", maxPhoto)
	}
	return b, res.Header.Get("Content-Type"), nil
}

func (c *Client) getJSON(ctx context.Context, token, endpoint, path string, header http.Header, v any) error {
	res, err := c.do(ctx, token, endpoint, http.MethodGet, path, header, nil)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if err := json.NewDecoder(io.LimitReader(res.Body, 8<<20)).Decode(v); err != nil {
		return fmt.Errorf("graph: GET %s: decoding the answer: %w", path, err)
	}
	return nil
}

// do sends a request and turns a non-2xx answer into an *Error.
func (c *Client) do(ctx context.Context, token, endpoint, method, path string, header http.Header, body io.Reader) (*http.Response, error) {
	url := path
	if !strings.HasPrefix(path, "https://") {
		url = c.base + path
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, fmt.Errorf("graph: %s %s: %w", method, path, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.observe(endpoint, 0)
		return nil, fmt.Errorf("graph: %s %s: %w", method, path, err)
	}
	c.observe(endpoint, res.StatusCode)
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return res, nil
	}
	defer res.Body.Close()
	return nil, readError(res)
}

func (c *Client) observe(endpoint string, status int) {
	if c.Observe != nil {
		c.Observe(endpoint, status)
	}
}

// readError reads Graph's error answer.
func readError(res *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	e := newError(res.StatusCode, res.Header.Get("Retry-After"), b)
	if e.RequestID == "" {
		e.RequestID = res.Header.Get("request-id")
	}
	return e
}

// newError reads Graph's error body, {"error": {"code", "message",
// "innerError": {"request-id", ...}}}; a body that is not one is kept as
// the message, under the status's name.
// https://learn.microsoft.com/en-us/graph/errors
func newError(status int, retry string, b []byte) *Error {
	e := &Error{Status: status, RetryAfter: retryAfter(retry)}
	var body struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				RequestID string `json:"request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &body) == nil && body.Error.Code != "" {
		e.Code, e.Message, e.RequestID = body.Error.Code, body.Error.Message, body.Error.InnerError.RequestID
	} else {
		e.Code, e.Message = http.StatusText(status), strings.TrimSpace(string(b))
	}
	return e
}

// retryAfter reads a Retry-After header in seconds (what Graph sends); an
// HTTP date is honoured too.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
