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
	l, err := f.look(ctx)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]server.ScreenStatus, len(statuses))
	for _, st := range statuses {
		byID[st.ScreenID] = st
	}
	out := make(map[string]Screen, len(screens))
	for _, sc := range screens {
		st, ok := byID[sc.ID]
		out[sc.ID] = l.screen(sc, st, ok)
	}
	return out, nil
}

// looking is what a view of screens needs besides each screen and its
// status: when each replica was last heard of, the groups' thresholds, and
// the time.
type looking struct {
	now        time.Time
	seen       map[string]time.Time     // by replica
	thresholds map[string]time.Duration // by group
	groups     []server.Group
	gone       time.Duration // a replica not heard of for as long is gone
	offline    time.Duration // the threshold of a screen whose group has none
}

func (f *Fleet) look(ctx context.Context) (looking, error) {
	replicas, err := f.cfg.Store.Replicas(ctx)
	if err != nil {
		return looking{}, fmt.Errorf("fleet: reading the replicas: %w", err)
	}
	groups, err := f.cfg.Store.Groups(ctx)
	if err != nil {
		return looking{}, fmt.Errorf("fleet: reading the groups: %w", err)
	}
	l := looking{now: f.cfg.Now(), seen: make(map[string]time.Time, len(replicas)), thresholds: make(map[string]time.Duration, len(groups)),
		groups: groups, gone: 3 * f.cfg.Every, offline: f.cfg.OfflineAfter}
	for _, r := range replicas {
		l.seen[r.Name] = r.Seen
	}
	for _, g := range groups {
		l.thresholds[g.ID] = g.OfflineAfter
	}
	return l, nil
}

// online reports whether a status says its screen is shown now: connected
// to a replica that is alive, or seen by its page until a reload is due.
func (l looking) online(st server.ScreenStatus) bool {
	replicaSeen, alive := l.seen[st.Replica]
	alive = alive && l.now.Sub(replicaSeen) < l.gone
	return (st.Connected && alive) || l.now.Before(st.OnlineUntil)
}

// screen is one screen as the fleet sees it, with its status (known:
// there is one).
func (l looking) screen(sc server.Screen, st server.ScreenStatus, known bool) Screen {
	v := Screen{Threshold: l.offline}
	if t := l.thresholds[sc.Group]; t > 0 {
		v.Threshold = t
	}
	v.Status, v.Known = st, known
	if !known {
		return v
	}
	v.Online = l.online(st)
	if !v.Online {
		since := st.Since
		if replicaSeen := l.seen[st.Replica]; st.Connected && replicaSeen.After(since) {
			since = replicaSeen // its replica died with it connected
		}
		if st.OnlineUntil.After(since) {
			since = st.OnlineUntil
		}
		v.OfflineSince = since
		v.Offline = sc.Enrolled && !since.IsZero() && l.now.Sub(since) >= v.Threshold
	}
	return v
}
