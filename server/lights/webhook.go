package lights

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/placard/placard/server"
)

// Webhooks get a key's presence by POST, the same JSON as GET
// /api/v1/presence, on each change and again every WebhookConfig.Every,
// so that a light or hub that was down catches up. Each body is signed:
//
//	X-Placard-Timestamp: <Unix seconds>
//	X-Placard-Signature: sha256=<hex of HMAC-SHA256(webhook secret, "<timestamp>.<body>")>
//
// Each URL has its own goroutine: a receiver that hangs delays nobody
// else, and a newer presence replaces one not yet delivered.
const (
	SignatureHeader = "X-Placard-Signature"
	TimestampHeader = "X-Placard-Timestamp"
)

// WebhookConfig is how webhooks are sent.
type WebhookConfig struct {
	// Client sends them (one with no timeout of its own by default:
	// Timeout bounds each attempt).
	Client *http.Client
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
		c.Client = &http.Client{}
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

// Sign returns the signature header's value for a body sent at ts.
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
	url    string
	kick   chan struct{}
	cancel context.CancelFunc

	mu     sync.Mutex
	latest View
}

func (s *Service) startHooks(l server.Light) []*hook {
	var out []*hook
	for _, u := range l.Webhooks {
		ctx, cancel := context.WithCancel(s.ctx)
		h := &hook{s: s, l: l, url: u, kick: make(chan struct{}, 1), cancel: cancel}
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
		if v.JSON != nil {
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
	for attempt := 1; ; attempt++ {
		err := h.post(ctx, v)
		if err == nil || ctx.Err() != nil {
			return
		}
		if attempt >= cfg.Attempts {
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

func (h *hook) post(ctx context.Context, v View) error {
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
	req.Header.Set(TimestampHeader, ts)
	req.Header.Set(SignatureHeader, Sign(h.l.WebhookSecret, ts, v.JSON))
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
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("posting to the webhook of %s: %s", h.l.Name, res.Status)
	}
	return nil
}
