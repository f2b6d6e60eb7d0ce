package identity

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// metadataTTL is how long the authority's metadata is kept. MSAL reads it
// once per client and keeps it for that client's life; placard makes a
// client for each device code (a screen waiting for a sign-in gets one
// every 14 minutes) and for each account. The documents describe the
// tenant's endpoints, which change rarely; a day is our choice
// (unconfirmed: Microsoft documents no lifetime for them).
const metadataTTL = 24 * time.Hour

// metadataCache is MSAL's HTTP client with the authority's metadata (its
// OpenID configuration and instance discovery, both GETs) answered from
// memory once read: a waiting screen's new code then costs the identity
// platform the device code request and its polls only.
type metadataCache struct {
	hc  *http.Client
	now func() time.Time

	mu   sync.Mutex
	docs map[string]metadataDoc // by URL
}

type metadataDoc struct {
	header http.Header
	body   []byte
	at     time.Time
}

// isMetadata reports whether a request reads the authority's metadata.
func isMetadata(r *http.Request) bool {
	p := r.URL.Path
	return r.Method == http.MethodGet &&
		(strings.HasSuffix(p, "/.well-known/openid-configuration") || strings.HasSuffix(p, "/discovery/instance"))
}

// Do sends r, or answers a read of the metadata from memory.
func (c *metadataCache) Do(r *http.Request) (*http.Response, error) {
	if !isMetadata(r) {
		return c.hc.Do(r)
	}
	key := r.URL.String()
	c.mu.Lock()
	d, ok := c.docs[key]
	c.mu.Unlock()
	if ok && c.now().Sub(d.at) < metadataTTL {
		return d.response(r), nil
	}
	res, err := c.hc.Do(r)
	if err != nil || res.StatusCode != http.StatusOK {
		return res, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("identity: reading %s: %w", r.URL.Path, err)
	}
	d = metadataDoc{header: res.Header.Clone(), body: body, at: c.now()}
	c.mu.Lock()
	if c.docs == nil {
		c.docs = map[string]metadataDoc{}
	}
	c.docs[key] = d
	c.mu.Unlock()
	return d.response(r), nil
}

func (d metadataDoc) response(r *http.Request) *http.Response {
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: d.header.Clone(), Body: io.NopCloser(bytes.NewReader(d.body)),
		ContentLength: int64(len(d.body)), Request: r,
	}
}

// CloseIdleConnections is MSAL's HTTP client's.
func (c *metadataCache) CloseIdleConnections() { c.hc.CloseIdleConnections() }
