package screens

import (
	"time"

	"github.com/placard/placard/app/wire"
)

// viewLocked is what the session's screen shows now.
func (m *Manager) viewLocked(s *session) wire.State {
	return m.viewAtLocked(s, m.cfg.Now())
}

// phaseLocked is the phase viewLocked would show, without building the
// view.
func phaseLocked(s *session) wire.Phase {
	if s.phase == wire.PhaseDashboard && s.watch == nil {
		return wire.PhaseConnecting
	}
	return s.phase
}

// viewAtLocked is what the session's screen shows at now.
func (m *Manager) viewAtLocked(s *session, now time.Time) wire.State {
	st := wire.State{Phase: s.phase, Now: now, Screen: m.screenInfoLocked(s, now)}
	switch s.phase {
	case wire.PhasePairing:
		st.Pairing = &wire.Pairing{Number: s.screen.PairingNumber}
	case wire.PhaseCode:
		st.Code = s.code
	case wire.PhaseError:
		st.Problem = s.problem
	case wire.PhaseDashboard:
		if s.watch == nil {
			st.Phase = wire.PhaseConnecting
			break
		}
		d := s.watch.data
		st.Dashboard = &wire.Dashboard{
			User:     wire.User{Name: d.name, Initials: initials(d.name), Photo: d.photo.url(s.id)},
			Presence: d.presence,
			Fresh:    d.fresh,
			Stale:    d.stale,
		}
		if d.calendar {
			st.Dashboard.Agenda = s.watch.agendaLocked(now, st.Screen.TimeZone, st.Screen.Privacy)
		}
		// A screen can book when it is touch, an administrator did not
		// refuse it, the server may write to calendars, and the account
		// has one.
		st.Dashboard.CanBook = s.touch && !s.screen.Settings.NoQuickBook && m.canBook() && st.Dashboard.Agenda != nil
		st.Dashboard.Booking = s.booking
	}
	return st
}

// withoutDetails is an agenda for a screen in privacy mode: each event
// keeps its times and state, and loses its subject, location and
// organiser before it leaves the edge server. It returns a copy: the
// account's data is shared with its other screens.
func withoutDetails(a *wire.Agenda) *wire.Agenda {
	if a == nil {
		return nil
	}
	strip := func(events []wire.Event) []wire.Event {
		if events == nil {
			return nil
		}
		out := make([]wire.Event, len(events))
		for i, e := range events {
			e.Subject, e.Location, e.Organizer = "", "", ""
			out[i] = e
		}
		return out
	}
	return &wire.Agenda{Today: strip(a.Today), Tomorrow: strip(a.Tomorrow)}
}

// zoneLocked is the time zone a session's screen shows: its configured
// zone, else the server's (the browser's own may be a TV's factory
// default).
func (m *Manager) zoneLocked(s *session) string {
	if z := s.screen.Settings.TimeZone; z != "" {
		return z
	}
	return m.cfg.TimeZone
}

func (m *Manager) screenInfoLocked(s *session, now time.Time) wire.Screen {
	set := s.screen.Settings
	zone := m.zoneLocked(s)
	lang := set.Lang
	if lang == "" {
		lang = "en"
	}
	return wire.Screen{
		Name:     s.screen.Name,
		TimeZone: zone,
		Clock24:  set.Clock24,
		Lang:     lang,
		Touch:    s.touch,
		Privacy:  set.Privacy,
		Asleep:   asleep(set.Hours, now, zone),
	}
}
