package screens

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/graph"
	"github.com/placard/placard/server/limit"
	"github.com/placard/placard/server/source"
)

// alone is the cluster of an edge server that runs by itself (SQLite):
// every source is its own, nobody else publishes anything, and its limit
// of device codes is in memory.
type alone struct {
	codes *limit.Limiter
}

var _ server.Cluster = (*alone)(nil)

// forever is the lease of an edge server that runs alone.
var forever = source.Forever

func (alone) Own(context.Context, string) (time.Time, error)      { return forever, nil }
func (alone) Release(context.Context, string) error               { return nil }
func (alone) PublishSource(context.Context, string, []byte) error { return nil }
func (alone) SourceData(context.Context, string) ([]byte, int64, error) {
	return nil, 0, server.ErrNotFound
}
func (alone) PublishScreen(context.Context, string) error          { return nil }
func (alone) PublishCommand(context.Context, string, []byte) error { return nil }
func (alone) Changes(ctx context.Context) <-chan server.Change     { return nil }
func (a alone) AllowCode(_ context.Context, _ int, _ time.Duration) (bool, time.Time, error) {
	ok, retry := a.codes.Allow("all")
	return ok, retry, nil
}

// published is an account's data as its owner publishes it to the other
// replicas: what accountData holds, exported.
type published struct {
	Name      string         `json:"name"`
	Photo     []byte         `json:"photo,omitempty"`
	PhotoType string         `json:"photo_type,omitempty"`
	Presence  *wire.Presence `json:"presence,omitempty"`
	Events    []graph.Event  `json:"events,omitempty"`
	Calendar  bool           `json:"calendar"`
	Fresh     time.Time      `json:"fresh"`
	Stale     bool           `json:"stale"`
	CheckedIn []string       `json:"checked_in,omitempty"`
}

func encodeData(d *accountData) ([]byte, error) {
	return json.Marshal(published{Name: d.name, Photo: d.photo.data, PhotoType: d.photo.ctype, Presence: d.presence,
		Events: d.events, Calendar: d.calendar, Fresh: d.fresh, Stale: d.stale, CheckedIn: d.checkedIn})
}

func decodeData(b []byte) (*accountData, error) {
	var p published
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("reading an account's published data: %w", err)
	}
	d := &accountData{name: p.Name, presence: p.Presence, events: p.Events, calendar: p.Calendar, fresh: p.Fresh, stale: p.Stale, checkedIn: p.CheckedIn}
	if len(p.Photo) > 0 {
		d.photo = newPhoto(p.Photo, p.PhotoType)
	}
	return d, nil
}

// hear applies what other replicas publish: a source's new snapshot to
// its subscribers here, a screen's changed record to its session here.
func (m *Manager) hear() {
	changes := m.cfg.Cluster.Changes(m.ctx)
	if changes == nil {
		return
	}
	for ch := range changes {
		switch ch.Kind {
		case server.ChangeSource:
			m.sources.Wake(ch.ID)
		case server.ChangeScreen:
			// A screen's change may be a step of its sign-in link
			// (opened, typed, redeemed, taken): who waits on it reads it.
			m.links.changed(ch.ID)
			m.screenChanged(m.ctx, ch.ID)
			m.roomsMayHaveChanged()
		case server.ChangeCommand:
			m.deliver(ch.ID, ch.Data)
		case server.ChangeResync:
			m.links.changedAll()
			m.sources.WakeAll()
			for _, s := range m.allSessions() {
				m.screenChanged(m.ctx, s.id)
			}
			m.roomsMayHaveChanged()
		}
	}
}

// publishScreen tells the other replicas that a screen's record changed,
// so that the one its browser is connected to shows the change at once,
// and has the lights here that follow a room, or may now, checked again.
func (m *Manager) publishScreen(ctx context.Context, id string) {
	m.roomsMayHaveChanged()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := m.cfg.Cluster.PublishScreen(ctx, id); err != nil {
		m.log.Warn("telling the other replicas of a screen's change", "screen", id, "err", err)
	}
}

// screenChanged brings a screen's session here in line with its stored
// record after another replica changed it: approved, renamed, new
// settings, signed out, or revoked.
func (m *Manager) screenChanged(ctx context.Context, id string) {
	if m.session(id) == nil {
		return
	}
	sc, err := m.cfg.Store.Screen(ctx, id)
	if server.IsNotFound(err) {
		m.drop(id, "this screen was revoked by an administrator")
		return
	}
	if err != nil {
		m.log.Warn("reading a screen another replica changed", "screen", id, "err", err)
		return
	}
	s := m.session(id)
	if s == nil {
		return
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	if sc.Enrolled && !s.screen.Enrolled {
		m.enrollLocked(s, sc)
	}
	s.screen.Name, s.screen.Settings, s.screen.Group = sc.Name, sc.Settings, sc.Group
	s.setScreenLocked(s.screen)
	if sc.AccountID != "" && (s.shown == nil || s.shown.w.account.ID != sc.AccountID) {
		// Signed in elsewhere: another screen of its group, on another
		// replica.
		s.mu.Unlock()
		m.takeRemote(ctx, sc)
		return
	}
	publish := true
	if sc.AccountID == "" && s.shown != nil {
		s.screen.AccountID = ""
		m.unshowLocked(s)
		publish = m.showThenSignInLocked(s, wire.Problem{Kind: wire.ProblemSignedOut})
	}
	s.mu.Unlock()
	if publish {
		m.publish(s)
	}
}
