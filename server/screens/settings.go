package screens

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/placard/placard/app/wire"
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
	s := m.session(screenID)
	if s == nil {
		return nil
	}
	s.mu.Lock()
	// A new sign-in mode, or a board that needs other permissions, makes
	// new offers (a code asks for its permissions when it is made).
	changed := s.screen.Settings.SignIn != sc.Settings.SignIn ||
		!slices.Equal(BoardScopes(s.screen.Settings), BoardScopes(sc.Settings))
	s.screen.Name, s.screen.Settings, s.screen.Group = sc.Name, sc.Settings, sc.Group
	s.setScreenLocked(s.screen)
	s.mu.Unlock()
	m.publish(s)
	if changed {
		select {
		case s.reoffer <- struct{}{}:
		default:
		}
	}
	return nil
}

// keepHours checks every screen against its opening hours now and then, so
// that a screen dims when its hours end and wakes when they begin, by
// itself. Only a screen that crossed an edge of its hours is rendered and
// sent anything; what else changes with time (the agenda) is rendered again
// at its account's next poll.
func (m *Manager) keepHours() {
	t := time.NewTicker(m.cfg.HoursEvery)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		// Only a screen whose side of its hours changed is rendered
		// again: the others have nothing new.
		now := m.cfg.Now()
		for _, s := range m.allSessions() {
			s.mu.Lock()
			if !s.sent || m.asleepLocked(s, now) == s.asleep {
				s.mu.Unlock()
				continue
			}
			lk := m.lookLocked(s, now)
			s.mu.Unlock()
			m.emit(s, lk)
		}
	}
}

// Hours are a screen's opening hours in its time zone: on the days set in
// Days (by time.Weekday), from Open to Close, in minutes after midnight.
// Close before Open spans midnight (22:00-06:00): the night belongs to the
// day it begins on.
type Hours struct {
	Days        [7]bool
	Open, Close int
}

// hoursForm is how opening hours are written, for error messages.
const hoursForm = "write them HH:MM-HH:MM, e.g. 07:00-19:00, with the days first if not every day: Mon-Fri 07:00-19:00"

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseHours reads opening hours written "07:00-19:00" (every day),
// "Mon-Fri 07:00-19:00" or "Mon,Wed,Sat 08:00-12:00"; "" is always open
// (the zero Hours and ok false).
func ParseHours(s string) (h Hours, ok bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Hours{}, false, nil
	}
	h.Days = [7]bool{true, true, true, true, true, true, true}
	times := s
	if days, rest, found := strings.Cut(s, " "); found && !strings.ContainsAny(days, ":") {
		if h.Days, err = parseDays(days); err != nil {
			return Hours{}, false, server.Errorf(server.EINVALID, "opening hours %q: %v (%s)", s, err, hoursForm)
		}
		times = rest
	}
	open, closing, found := strings.Cut(times, "-")
	if !found {
		return Hours{}, false, server.Errorf(server.EINVALID, "opening hours %q: %s", s, hoursForm)
	}
	if h.Open, err = minuteOfDay(open); err == nil {
		h.Close, err = minuteOfDay(closing)
	}
	if err != nil {
		return Hours{}, false, server.Errorf(server.EINVALID, "opening hours %q: %v (%s)", s, err, hoursForm)
	}
	if h.Open == h.Close {
		return Hours{}, false, server.Errorf(server.EINVALID, "opening hours %q open and close at the same time: leave them empty for always open", s)
	}
	return h, true, nil
}

// parseDays reads "Mon-Fri", "Sat,Sun" or "Mon-Wed,Fri" (English
// three-letter names, any case). A range may wrap the week: "Fri-Mon".
func parseDays(s string) (days [7]bool, err error) {
	day := func(name string) (int, error) {
		for i, d := range dayNames {
			if strings.EqualFold(strings.TrimSpace(name), d) {
				return i, nil
			}
		}
		return 0, fmt.Errorf("%q is not a day such as Mon or Sat", strings.TrimSpace(name))
	}
	for part := range strings.SplitSeq(s, ",") {
		from, to, isRange := strings.Cut(part, "-")
		a, err := day(from)
		if err != nil {
			return days, err
		}
		b := a
		if isRange {
			if b, err = day(to); err != nil {
				return days, err
			}
		}
		for d := a; ; d = (d + 1) % 7 {
			days[d] = true
			if d == b {
				break
			}
		}
	}
	return days, nil
}

func minuteOfDay(s string) (int, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day such as 07:30", strings.TrimSpace(s))
	}
	return t.Hour()*60 + t.Minute(), nil
}

// OpenAt reports whether the screen is open at t, read in t's location.
func (h Hours) OpenAt(t time.Time) bool {
	wd, minute := int(t.Weekday()), t.Hour()*60+t.Minute()
	if h.Open < h.Close {
		return h.Days[wd] && minute >= h.Open && minute < h.Close
	}
	// Overnight: the evening of an open day, or the morning after one.
	return (h.Days[wd] && minute >= h.Open) || (h.Days[(wd+6)%7] && minute < h.Close)
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
	return !h.OpenAt(now.In(wire.Zone(zone)))
}
