package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/lights"
	"github.com/placard/placard/server/secret"
)

// Offline alerts go to a group's webhooks as a Standard Webhooks message
// (the light keys' signing: webhook-id, webhook-timestamp and
// webhook-signature over "<id>.<timestamp>.<body>" with the group's
// "whsec_" secret), with a body of their shape:
//
//	{"type": "screen.offline" | "screen.online", "timestamp": "...",
//	 "data": {"screen": {"id", "name"}, "group": {"id", "name"},
//	          "offline_since": "...", "threshold": "15m0s", "replica": "..."}}
//
// One when a screen has been offline past its group's threshold, and one
// when it comes back. Screens in no group, or in a group without
// webhooks, show on the admin page and in the gauge only.

// Alert types.
const (
	AlertOffline = "screen.offline"
	AlertOnline  = "screen.online"
)

// WebhookConfig is how alerts are sent.
type WebhookConfig struct {
	// Client sends them: lights.NewWebhookClient(AllowNetworks) by
	// default (no redirect followed, no private address dialled unless
	// allowed).
	Client        *http.Client
	AllowNetworks []netip.Prefix
	// Timeout bounds one attempt (10 s); Attempts the tries (3), with
	// RetryWait (2 s) doubled after each failure.
	Timeout   time.Duration
	Attempts  int
	RetryWait time.Duration
}

func (c *WebhookConfig) defaults() {
	if c.Client == nil {
		c.Client = lights.NewWebhookClient(c.AllowNetworks)
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

// Alert is an offline alert's body.
type Alert struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      AlertData `json:"data"`
}

// AlertData says which screen, since when.
type AlertData struct {
	Screen       AlertRef  `json:"screen"`
	Group        *AlertRef `json:"group,omitempty"`
	OfflineSince time.Time `json:"offline_since"`
	// Threshold is the group's threshold, as Go writes a duration
	// ("15m0s").
	Threshold string `json:"threshold"`
	Replica   string `json:"replica,omitempty"`
}

// AlertRef names a screen or a group.
type AlertRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// screensOf reads the screens of some statuses, by id: one at a time when
// they are few among all, else all at once.
func (f *Fleet) screensOf(ctx context.Context, of []server.ScreenStatus, all int) (map[string]server.Screen, error) {
	out := make(map[string]server.Screen, len(of))
	if len(of) == 0 {
		return out, nil
	}
	if len(of)*4 > all {
		screens, err := f.cfg.Store.Screens(ctx)
		if err != nil {
			return nil, fmt.Errorf("fleet: reading the screens: %w", err)
		}
		for _, sc := range screens {
			out[sc.ID] = sc
		}
		return out, nil
	}
	for _, st := range of {
		sc, err := f.cfg.Store.Screen(ctx, st.ScreenID)
		if server.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("fleet: reading screen %s: %w", st.ScreenID, err)
		}
		out[sc.ID] = sc
	}
	return out, nil
}

// leader reports whether this replica sends the alerts now.
func (f *Fleet) leader(ctx context.Context) (bool, error) {
	if f.cfg.Cluster == nil {
		return true, nil
	}
	until, err := f.cfg.Cluster.Own(ctx, alertsLease)
	if err != nil {
		return false, err
	}
	return until.After(f.cfg.Now()), nil
}

// Check does at once what the background loop does: says this replica is
// alive, and checks the fleet for offline screens.
func (f *Fleet) Check(ctx context.Context) error {
	if err := f.alive(ctx); err != nil {
		return fmt.Errorf("fleet: saying this replica is alive: %w", err)
	}
	l, err := f.look(ctx)
	if err != nil {
		return err
	}
	return f.check(ctx, l)
}

// tick is the background loop's turn, every Every: it says this replica
// is alive, and checks the fleet when a check is due.
func (f *Fleet) tick(ctx context.Context) error {
	if err := f.alive(ctx); err != nil {
		return fmt.Errorf("fleet: saying this replica is alive: %w", err)
	}
	l, err := f.look(ctx)
	if err != nil {
		return err
	}
	// Due by the thresholds of now: a group given a short one is
	// checked at its pace from the next turn on.
	if !f.lastCheck.IsZero() && l.now.Before(f.lastCheck.Add(l.checkEvery(f.cfg.Every))) {
		return nil
	}
	f.lastCheck = l.now
	return f.check(ctx, l)
}

// checkEvery is how often the fleet is checked: a tenth of the shortest
// threshold in use (the server's, or a group's), so that a screen is
// reported within a tenth of its threshold, between every (how often a
// replica says it is alive) and a minute. Each check reads every
// screen's status: with the default threshold (15 minutes), a server of
// thousands of screens does it once a minute instead of every few seconds.
func (l looking) checkEvery(every time.Duration) time.Duration {
	shortest := l.offline
	for _, t := range l.thresholds {
		if t > 0 && t < shortest {
			shortest = t
		}
	}
	return min(max(shortest/10, every), max(time.Minute, every))
}

// check counts the screens offline past their threshold and, on the
// replica that sends alerts, reports each once, and again when it is back.
//
// It reads every screen's status (a small row), and the screens
// themselves only of those that are not online or were reported: most of
// a fleet is online most of the time, and listing every screen (its
// settings, its credential's hash) every few seconds cost a server of
// thousands of screens more CPU than sending them their dashboards.
func (f *Fleet) check(ctx context.Context, l looking) error {
	statuses, err := f.cfg.Store.ScreenStatuses(ctx)
	if err != nil {
		return fmt.Errorf("fleet: reading the screens' statuses: %w", err)
	}
	var away []server.ScreenStatus
	for _, st := range statuses {
		if !l.online(st) || !st.AlertedAt.IsZero() {
			away = append(away, st)
		}
	}
	screens, err := f.screensOf(ctx, away, len(statuses))
	if err != nil {
		return err
	}
	view := make(map[string]Screen, len(away))
	offline := 0
	for _, st := range away {
		sc, ok := screens[st.ScreenID]
		if !ok {
			continue // revoked
		}
		v := l.screen(sc, st, true)
		view[sc.ID] = v
		if v.Offline {
			offline++
		}
	}
	if f.cfg.Metrics != nil {
		f.cfg.Metrics.ScreensOffline(offline)
	}
	lead, err := f.leader(ctx)
	if err != nil || !lead {
		return err
	}
	groups := map[string]server.Group{}
	for _, g := range l.groups {
		groups[g.ID] = g
	}
	now := l.now
	for _, st := range away {
		sc, ok := screens[st.ScreenID]
		if !ok {
			continue
		}
		v := view[sc.ID]
		var kind string
		switch {
		case v.Offline && v.Status.AlertedAt.IsZero():
			kind = AlertOffline
		case v.Online && !v.Status.AlertedAt.IsZero():
			kind = AlertOnline
		default:
			continue
		}
		// The mark is written first, under the row's lock: a replica
		// that takes the lease over meanwhile sees it and sends nothing
		// twice.
		claimed := false
		_, err := f.cfg.Store.UpdateScreenStatus(ctx, sc.ID, func(st *server.ScreenStatus) error {
			switch {
			case kind == AlertOffline && st.AlertedAt.IsZero():
				st.AlertedAt, claimed = now, true
			case kind == AlertOnline && !st.AlertedAt.IsZero():
				st.AlertedAt, claimed = time.Time{}, true
			}
			return nil
		})
		if err != nil || !claimed {
			if err != nil && !server.IsNotFound(err) {
				f.log.Warn("marking an offline alert", "screen", sc.ID, "err", err)
			}
			continue
		}
		a := Alert{Type: kind, Timestamp: now, Data: AlertData{Screen: AlertRef{ID: sc.ID, Name: sc.Name},
			OfflineSince: v.OfflineSince, Threshold: v.Threshold.String(), Replica: v.Status.Replica}}
		if kind == AlertOnline {
			a.Data.OfflineSince = v.Status.Since // what it says now: when it came back
		}
		g, inGroup := groups[sc.Group]
		if inGroup {
			a.Data.Group = &AlertRef{ID: g.ID, Name: g.Name}
		}
		outcome := "offline"
		if kind == AlertOnline {
			outcome = "online"
		}
		f.audit(ctx, server.AuditEvent{Kind: server.AuditOffline, ScreenID: sc.ID, ScreenName: sc.Name, Outcome: outcome,
			Detail: fmt.Sprintf("offline since %s (threshold %s), %d webhooks", v.OfflineSince.UTC().Format(time.RFC3339), v.Threshold, len(g.Webhooks))})
		if inGroup && len(g.Webhooks) > 0 {
			f.send(g, a)
		}
	}
	return nil
}

func (f *Fleet) audit(ctx context.Context, e server.AuditEvent) {
	e.Time = f.cfg.Now()
	f.log.Info("audit", "kind", e.Kind, "screen", e.ScreenID, "outcome", e.Outcome, "detail", e.Detail)
	if err := f.cfg.Store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		f.log.Error("recording an audit event", "kind", e.Kind, "err", err)
	}
}

// send posts an alert to each of a group's webhooks, in the background,
// each with its retries.
func (f *Fleet) send(g server.Group, a Alert) {
	body, err := json.Marshal(a)
	if err != nil {
		f.log.Error("encoding an offline alert", "err", err)
		return
	}
	id := "msg_" + secret.New()
	for _, u := range g.Webhooks {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.deliver(g, u, id, body)
		}()
	}
}

func (f *Fleet) deliver(g server.Group, u, id string, body []byte) {
	cfg := f.cfg.Webhooks
	wait := cfg.RetryWait
	for attempt := 1; ; attempt++ {
		err := f.post(g, u, id, body)
		if err == nil {
			return
		}
		var refused *lights.RefusedAddr
		if attempt >= cfg.Attempts || errors.As(err, &refused) || errors.Is(err, lights.ErrRedirect) || f.ctx.Err() != nil {
			f.log.Warn("an offline alert's webhook failed", "group", g.ID, "attempts", attempt, "err", err)
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-f.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait *= 2
	}
}

func (f *Fleet) post(g server.Group, u, id string, body []byte) error {
	cfg := f.cfg.Webhooks
	ctx, cancel := context.WithTimeout(context.WithoutCancel(f.ctx), cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if f.cfg.Box == nil {
		return fmt.Errorf("signing an offline alert of group %s: no key to open its webhook secret with", g.Name)
	}
	key, err := f.cfg.Box.Open(g.WebhookSecret, SecretLabel(g.ID))
	if err != nil {
		return fmt.Errorf("signing an offline alert of group %s: opening its webhook secret: %w", g.Name, err)
	}
	ts := strconv.FormatInt(f.cfg.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "placard")
	req.Header.Set(lights.IDHeader, id)
	req.Header.Set(lights.StdTimestampHeader, ts)
	req.Header.Set(lights.StdSignatureHeader, lights.SignStandard(key, id, ts, body))
	res, err := cfg.Client.Do(req)
	if err != nil {
		// Only the host: a webhook's path may be the receiver's secret.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("posting an offline alert of group %s to %s: %w", g.Name, req.URL.Host, err)
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	if res.StatusCode >= 300 && res.StatusCode <= 399 {
		return fmt.Errorf("posting an offline alert of group %s to %s: %s: %w", g.Name, req.URL.Host, res.Status, lights.ErrRedirect)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("posting an offline alert of group %s to %s: %s", g.Name, req.URL.Host, res.Status)
	}
	return nil
}
