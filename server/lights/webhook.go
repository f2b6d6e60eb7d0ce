package lights

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/placard/placard/server"
)

// Webhooks get a key's presence by POST, the same JSON as GET
// /api/v1/presence, on each change and again every WebhookConfig.Every,
// so that a light or hub that was down catches up. Each body is signed
// as Standard Webhooks (www.standardwebhooks.com) sign theirs, so that a
// receiver verifies it with a maintained library in its own language:
//
//	webhook-id: msg_<random>                (the same on each retry of one delivery)
//	webhook-timestamp: <Unix seconds>
//	webhook-signature: v1,<base64 of HMAC-SHA256(key, "<id>.<timestamp>.<body>")>
//
// where the key is the base64-decoded part of the key's "whsec_..."
// secret. A receiver rejects a timestamp outside its window (5 minutes in
// the libraries) and an id it has seen: a recorded delivery cannot be
// replayed.
//
// Keys made before Standard Webhooks have a secret without "whsec_": their
// HMAC key is the secret's text itself (so a library verifies them with
// "whsec_" + base64 of that text), and they also get the headers they were
// signed with then: X-Placard-Timestamp and X-Placard-Signature
// (sha256=<hex of HMAC-SHA256(secret, "<timestamp>.<body>")>).
//
// Each URL has its own goroutine: a receiver that hangs delays nobody
// else, and a newer presence replaces one not yet delivered. Webhooks
// follow no redirect and reach no private address unless allowed
// (NewWebhookClient).
const (
	IDHeader           = "webhook-id"
	StdTimestampHeader = "webhook-timestamp"
	StdSignatureHeader = "webhook-signature"

	// The headers of keys made before Standard Webhooks.
	SignatureHeader = "X-Placard-Signature"
	TimestampHeader = "X-Placard-Timestamp"
)

// secretPrefix starts a Standard Webhooks secret.
const secretPrefix = "whsec_"

// NewWebhookSecret returns a new webhook secret: "whsec_" and the base64
// of 32 random bytes, as Standard Webhooks libraries read it.
func NewWebhookSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// signingKey is the HMAC key of a webhook secret: the bytes a "whsec_"
// secret encodes, or a secret of old the way it is written.
func signingKey(secret []byte) ([]byte, bool) {
	if rest, ok := bytes.CutPrefix(secret, []byte(secretPrefix)); ok {
		if key, err := base64.StdEncoding.DecodeString(string(rest)); err == nil {
			return key, true
		}
	}
	return secret, false
}

// SignStandard returns the webhook-signature header's value for a body
// sent with the message id id at the Unix time ts, under secret.
func SignStandard(secret []byte, id, ts string, body []byte) string {
	key, _ := signingKey(secret)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// WebhookConfig is how webhooks are sent.
type WebhookConfig struct {
	// Client sends them: NewWebhookClient(AllowNetworks) by default (with
	// no timeout of its own: Timeout bounds each attempt).
	Client *http.Client
	// AllowNetworks are the networks of loopback, private or link-local
	// addresses that webhooks may still reach (-webhook-allow-networks).
	AllowNetworks []netip.Prefix
	// Every is how often the presence is sent again when it did not
	// change: 5 minutes by default.
	Every time.Duration
	// Timeout bounds one attempt: 10 s by default.
	Timeout time.Duration
	// Attempts bounds the tries of one delivery (3 by default), RetryWait
	// is the wait after the first failure (2 s by default), doubled after
	// each.
	Attempts  int
	RetryWait time.Duration
}

func (c *WebhookConfig) defaults() {
	if c.Client == nil {
		c.Client = NewWebhookClient(c.AllowNetworks)
	}
	if c.Every == 0 {
		c.Every = 5 * time.Minute
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Attempts == 0 {
		c.Attempts = 3
	}
	if c.RetryWait == 0 {
		c.RetryWait = 2 * time.Second
	}
}

// Sign returns the X-Placard-Signature header's value for a body sent at
// ts, as keys made before Standard Webhooks are signed.
func Sign(secret []byte, ts string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// hook delivers a key's presence to one URL.
type hook struct {
	s      *Service
	l      server.Light
	secret []byte // opened
	url    string
	kick   chan struct{}
	cancel context.CancelFunc
	// active is true while this replica owns the key's account: only
	// then does the hook send, again every Every too.
	active atomic.Bool

	mu     sync.Mutex
	latest View
}

func (s *Service) startHooks(l server.Light, secret []byte) []*hook {
	var out []*hook
	for _, u := range l.Webhooks {
		ctx, cancel := context.WithCancel(s.ctx)
		h := &hook{s: s, l: l, secret: secret, url: u, kick: make(chan struct{}, 1), cancel: cancel}
		out = append(out, h)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			h.run(ctx)
		}()
	}
	return out
}

func (h *hook) stop() { h.cancel() }

// changed hands the hook a new presence; it never blocks.
func (h *hook) changed(v View) {
	h.mu.Lock()
	h.latest = v
	h.mu.Unlock()
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

func (h *hook) run(ctx context.Context) {
	cfg := h.s.cfg.Webhooks
	again := time.NewTimer(cfg.Every)
	defer again.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.kick:
		case <-again.C:
		}
		h.mu.Lock()
		v := h.latest
		h.mu.Unlock()
		if v.JSON != nil && h.active.Load() {
			h.deliver(ctx, v)
		}
		again.Reset(cfg.Every)
	}
}

// deliver sends v, retrying a bounded number of times; a newer presence
// arriving meanwhile ends the retries (it is sent next).
func (h *hook) deliver(ctx context.Context, v View) {
	cfg := h.s.cfg.Webhooks
	wait := cfg.RetryWait
	id := "msg_" + newMessageID()
	for attempt := 1; ; attempt++ {
		err := h.post(ctx, id, v)
		if err == nil || ctx.Err() != nil {
			return
		}
		var refused *RefusedAddr
		if attempt >= cfg.Attempts || errors.As(err, &refused) || errors.Is(err, ErrRedirect) {
			// A refused address or a redirect is no passing failure.
			h.s.log.Warn("a webhook failed", "light", h.l.ID, "attempts", attempt, "err", err)
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-h.kick:
			t.Stop()
			// A newer presence: send it instead, at once.
			select {
			case h.kick <- struct{}{}:
			default:
			}
			return
		case <-t.C:
		}
		wait *= 2
	}
}

func (h *hook) post(ctx context.Context, id string, v View) error {
	cfg := h.s.cfg.Webhooks
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(v.JSON))
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(h.s.cfg.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "placard")
	req.Header.Set(IDHeader, id)
	req.Header.Set(StdTimestampHeader, ts)
	req.Header.Set(StdSignatureHeader, SignStandard(h.secret, id, ts, v.JSON))
	if _, std := signingKey(h.secret); !std {
		req.Header.Set(TimestampHeader, ts)
		req.Header.Set(SignatureHeader, Sign(h.secret, ts, v.JSON))
	}
	res, err := cfg.Client.Do(req)
	if err != nil {
		// The client's error names the whole URL, whose path or query may
		// be the receiver's secret (a Home Assistant webhook's id): only
		// its host goes into the message.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("posting to the webhook of %s on %s: %w", h.l.Name, req.URL.Host, err)
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	if res.StatusCode >= 300 && res.StatusCode <= 399 {
		return fmt.Errorf("posting to the webhook of %s on %s: %s: %w", h.l.Name, req.URL.Host, res.Status, ErrRedirect)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("posting to the webhook of %s: %s", h.l.Name, res.Status)
	}
	return nil
}

// newMessageID names one delivery: 128 random bits, base32.
func newMessageID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}
