package fleet

import (
	"context"
	"fmt"
	"time"

	"github.com/placard/placard/server"
)

// Screen is a screen as the whole fleet sees it.
type Screen struct {
	// Status is what the replica that serves (or served) it says.
	Status server.ScreenStatus
	// Known is false for a screen no replica has said anything of since
	// the fleet was kept (never connected).
	Known bool
	// Online: a browser shows it now, on a replica that is alive.
	Online bool
	// OfflineSince is when it went away (zero while online, or unknown).
	OfflineSince time.Time
	// Threshold is how long it may be offline before it is reported: its
	// group's, or the server's default.
	Threshold time.Duration
	// Offline is true when it has been offline past Threshold (enrolled
	// screens only: a screen waiting for approval is no one's yet).
	Offline bool
}

// LastSeen is when the screen was last shown: now while it is online.
func (s Screen) LastSeen(now time.Time) time.Time {
	if s.Online {
		return now
	}
	return s.OfflineSince
}

// View returns every screen of the store as the fleet sees it, by id.
func (f *Fleet) View(ctx context.Context) (map[string]Screen, error) {
	screens, err := f.cfg.Store.Screens(ctx)
	if err != nil {
		return nil, fmt.Errorf("fleet: reading the screens: %w", err)
	}
	return f.view(ctx, screens)
}

func (f *Fleet) view(ctx context.Context, screens []server.Screen) (map[string]Screen, error) {
	statuses, err := f.cfg.Store.ScreenStatuses(ctx)
	if err != nil {
		return nil, fmt.Errorf("fleet: reading the screens' statuses: %w", err)
	}
	replicas, err := f.cfg.Store.Replicas(ctx)
	if err != nil {
		return nil, fmt.Errorf("fleet: reading the replicas: %w", err)
	}
	groups, err := f.cfg.Store.Groups(ctx)
	if err != nil {
		return nil, fmt.Errorf("fleet: reading the groups: %w", err)
	}
	now := f.cfg.Now()
	seen := map[string]time.Time{}
	for _, r := range replicas {
		seen[r.Name] = r.Seen
	}
	thresholds := map[string]time.Duration{}
	for _, g := range groups {
		thresholds[g.ID] = g.OfflineAfter
	}
	byID := map[string]server.ScreenStatus{}
	for _, st := range statuses {
		byID[st.ScreenID] = st
	}
	gone := 3 * f.cfg.Every
	out := make(map[string]Screen, len(screens))
	for _, sc := range screens {
		v := Screen{Threshold: f.cfg.OfflineAfter}
		if t := thresholds[sc.Group]; t > 0 {
			v.Threshold = t
		}
		st, ok := byID[sc.ID]
		v.Status, v.Known = st, ok
		if ok {
			replicaSeen, alive := seen[st.Replica]
			alive = alive && now.Sub(replicaSeen) < gone
			connected := st.Connected && alive
			v.Online = connected || now.Before(st.OnlineUntil)
			if !v.Online {
				since := st.Since
				if st.Connected && replicaSeen.After(since) {
					since = replicaSeen // its replica died with it connected
				}
				if st.OnlineUntil.After(since) {
					since = st.OnlineUntil
				}
				v.OfflineSince = since
				v.Offline = sc.Enrolled && !since.IsZero() && now.Sub(since) >= v.Threshold
			}
		}
		out[sc.ID] = v
	}
	return out, nil
}
