package screens

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/placard/placard/server"
)

// ReloadSettings makes a screen that is being shown pick up its settings
// (and name) from the store at once, after an administrator changed them.
// A screen that is not shown reads them when it next connects.
func (m *Manager) ReloadSettings(ctx context.Context, screenID string) error {
	sc, err := m.cfg.Store.Screen(ctx, screenID)
	if err != nil {
		return fmt.Errorf("screens: reloading the settings of %s: %w", screenID, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.sessions[screenID]; s != nil {
		s.screen.Name, s.screen.Settings = sc.Name, sc.Settings
		m.publishLocked(s)
	}
	return nil
}

// keepHours republishes every screen's state now and then, so that a screen
// dims when its opening hours end and wakes when they begin, by itself.
// Only screens whose state changed are sent anything.
func (m *Manager) keepHours() {
	t := time.NewTicker(m.cfg.HoursEvery)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		m.mu.Lock()
		for _, s := range m.sessions {
			m.publishLocked(s)
		}
		m.mu.Unlock()
	}
}

// Hours are a screen's opening hours in its time zone, as minutes after
// midnight. Close before Open spans midnight (22:00-06:00).
type Hours struct {
	Open, Close int
}

// ParseHours reads opening hours written "07:00-19:00"; "" is always open
// (the zero Hours and ok false).
func ParseHours(s string) (h Hours, ok bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Hours{}, false, nil
	}
	open, closing, found := strings.Cut(s, "-")
	if !found {
		return Hours{}, false, server.Errorf(server.EINVALID, "opening hours %q must be written HH:MM-HH:MM, e.g. 07:00-19:00", s)
	}
	if h.Open, err = minuteOfDay(open); err == nil {
		h.Close, err = minuteOfDay(closing)
	}
	if err != nil {
		return Hours{}, false, server.Errorf(server.EINVALID, "opening hours %q: %v (write them HH:MM-HH:MM, e.g. 07:00-19:00)", s, err)
	}
	if h.Open == h.Close {
		return Hours{}, false, server.Errorf(server.EINVALID, "opening hours %q open and close at the same time: leave them empty for always open", s)
	}
	return h, true, nil
}

func minuteOfDay(s string) (int, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day such as 07:30", strings.TrimSpace(s))
	}
	return t.Hour()*60 + t.Minute(), nil
}

// Contains reports whether the screen is open at a minute of the day.
func (h Hours) Contains(minute int) bool {
	if h.Open < h.Close {
		return minute >= h.Open && minute < h.Close
	}
	return minute >= h.Open || minute < h.Close
}

// asleep reports whether a screen with these opening hours is closed at
// now, in its time zone. Hours that do not parse keep the screen awake:
// the admin side refuses them, and a screen that shows too much is better
// than a blank one nobody can explain.
func asleep(hours string, now time.Time, zone string) bool {
	h, ok, err := ParseHours(hours)
	if !ok || err != nil {
		return false
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.UTC
	}
	local := now.In(loc)
	return !h.Contains(local.Hour()*60 + local.Minute())
}
