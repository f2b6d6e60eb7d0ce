package screens

import (
	"time"

	"github.com/placard/placard/app/wire"
)

// viewLocked is what the session's screen shows now.
func (m *Manager) viewLocked(s *session) wire.State {
	st := wire.State{Phase: s.phase, Now: m.cfg.Now(), Screen: m.screenInfoLocked(s)}
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
			User:     wire.User{Name: d.name, Initials: initials(d.name), Photo: d.photo},
			Presence: d.presence,
			Fresh:    d.fresh,
			Stale:    d.stale,
		}
		if d.calendar {
			st.Dashboard.Agenda = agendaFor(d.events, st.Now, zoneOf(st.Screen.TimeZone), st.Screen.Clock24 || st.Screen.Lang == "fr")
		}
	}
	return st
}

func (m *Manager) screenInfoLocked(s *session) wire.Screen {
	set := s.screen.Settings
	// A screen shows its configured zone, else the server's: the
	// browser's own may be a TV's factory default.
	zone := set.TimeZone
	if zone == "" {
		zone = m.cfg.TimeZone
	}
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
	}
}

// zoneOf returns the location of an IANA name, UTC when unknown.
func zoneOf(name string) *time.Location {
	if loc, err := time.LoadLocation(name); err == nil {
		return loc
	}
	return time.UTC
}
