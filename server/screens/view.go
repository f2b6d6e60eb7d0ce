package screens

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/maphash"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/source"
)

// look is what a screen shows at one moment: taken under its session's
// lock (lookLocked), rendered outside it (state, render). Everything in it
// is immutable.
type look struct {
	// gen numbers the look among all the looks taken: of two looks of a
	// screen, the later one shows its newer state.
	gen uint64
	id  string
	now time.Time
	// st is the state without its dashboard, which is made from snap.
	st   wire.State
	snap *source.Snapshot[*accountData]
	// boardSnap is set instead of snap on a board's screen: the board
	// is made from it.
	boardSnap *source.Snapshot[*boardData]
	// canBook and booking are the screen's own part of its dashboard.
	canBook bool
	booking *wire.Booking
	// screenJSON is the encoding of st.Screen, when the session has it
	// from an earlier rendering; nil when it must be made.
	screenJSON []byte
}

// lookLocked takes what the session's screen shows at now.
func (m *Manager) lookLocked(s *session, now time.Time) look {
	lk := look{gen: m.gen.Add(1), id: s.id, now: now}
	lk.st = wire.State{Phase: s.phase, Screen: m.screenInfoLocked(s, now)}
	if lk.st.Screen == s.screenKey {
		lk.screenJSON = s.screenJSON
	}
	switch s.phase {
	case wire.PhasePairing:
		lk.st.Pairing = &wire.Pairing{Number: s.screen.PairingNumber, Why: s.screen.Note}
	case wire.PhaseCode:
		lk.st.Code = s.code
	case wire.PhaseError:
		lk.st.Problem = s.problem
	case wire.PhaseDashboard:
		if s.snap == nil && s.consent != nil {
			// A board's sign-in refused for want of consent.
			lk.st.Board = s.consent
			break
		}
		if s.snap == nil {
			lk.st.Phase = wire.PhaseConnecting
			break
		}
		if _, ok := boardOf(s.screen.Settings); ok {
			if s.boardSnap == nil || !s.boardSnap.Value.Read {
				// Until Graph first answers for the board.
				lk.st.Phase = wire.PhaseConnecting
				break
			}
			lk.boardSnap = s.boardSnap
			break
		}
		lk.snap = s.snap
		// A screen can book when an administrator lets it act and did
		// not refuse it quick booking, the server may write to
		// calendars, and the account has a calendar. Whether its
		// browser says it is a touch screen decides nothing: a stolen
		// cookie says so too. (The screen shows its buttons only on a
		// touch screen.)
		set := s.screen.Settings
		lk.canBook = set.Actions && !set.NoQuickBook && m.bookable && s.snap.Value.calendar
		lk.booking = s.booking
	}
	return lk
}

// phaseLocked is the phase lookLocked would show, without taking a look.
func phaseLocked(s *session) wire.Phase {
	if s.phase != wire.PhaseDashboard {
		return s.phase
	}
	if s.snap == nil {
		if s.consent != nil {
			return s.phase
		}
		return wire.PhaseConnecting
	}
	if _, ok := boardOf(s.screen.Settings); ok && (s.boardSnap == nil || !s.boardSnap.Value.Read) {
		return wire.PhaseConnecting
	}
	return s.phase
}

// dashView is the part of a dashboard that depends only on a snapshot of
// the account and the screen's view (viewKey): made once for every screen
// that shows it (source.View).
type dashView struct {
	// user is the encoded wire.User without its photo and closing brace;
	// photo is the tag of the account's photo, "" for none.
	user  []byte
	photo string
	// body is the rest of the encoded wire.Dashboard that the snapshot
	// makes: from its presence to whether it is stale, each field with
	// the comma before it.
	body []byte
	// sum hashes user, photo and body.
	sum uint64
	// dash is the same, decoded: what State returns.
	dash wire.Dashboard
}

// viewKey is what changes a dashboard's shared part: the agenda is in the
// screen's zone, and without details in privacy mode. The language and the
// clock are the screen's own (its wire.Screen): the screen writes words
// and times itself.
type viewKey struct {
	zone    string
	privacy bool
	// room is a room's panel (LayoutRoom): in privacy mode its meetings
	// keep their organiser, and it shows which were checked in.
	room bool
}

// dashBody is the part of wire.Dashboard that a snapshot makes, with the
// same JSON fields in the same order.
type dashBody struct {
	Presence *wire.Presence `json:"presence,omitempty"`
	Agenda   *wire.Agenda   `json:"agenda,omitempty"`
	Fresh    time.Time      `json:"fresh,omitzero"`
	Stale    bool           `json:"stale,omitempty"`
	Room     *wire.Room     `json:"room,omitempty"`
}

// dashboard returns the shared part of a look's dashboard.
func (m *Manager) dashboard(lk look) *dashView {
	key := viewKey{zone: lk.st.Screen.TimeZone, privacy: lk.st.Screen.Privacy, room: lk.st.Screen.Layout == wire.LayoutRoom}
	return source.View(lk.snap, key, lk.now, func(d *accountData, now time.Time) (*dashView, time.Time) {
		m.encodes.Add(1)
		v := &dashView{photo: d.photo.tag}
		v.dash = wire.Dashboard{
			User:     wire.User{Name: d.name, Initials: initials(d.name)},
			Presence: d.presence,
			Fresh:    d.fresh,
			Stale:    d.stale,
		}
		var until time.Time
		if d.calendar {
			v.dash.Agenda, until = agendaAt(d.events, now, wire.Zone(key.zone))
			switch {
			case key.room:
				v.dash.Agenda, v.dash.Room = roomAgenda(v.dash.Agenda, d, key.privacy)
			case key.privacy:
				v.dash.Agenda = withoutDetails(v.dash.Agenda)
			}
		}
		// Neither can fail: they hold strings, times and bools only.
		user, _ := json.Marshal(v.dash.User)
		v.user = user[:len(user)-1]
		body, _ := json.Marshal(dashBody{Presence: v.dash.Presence, Agenda: v.dash.Agenda, Fresh: v.dash.Fresh, Stale: v.dash.Stale, Room: v.dash.Room})
		if len(body) > 2 {
			v.body = append([]byte{','}, body[1:len(body)-1]...)
		}
		var h maphash.Hash
		h.SetSeed(m.seed)
		h.Write(v.user)
		h.WriteString(v.photo)
		h.Write(v.body)
		v.sum = h.Sum64()
		return v, until
	})
}

// state is the whole state of a look.
func (m *Manager) state(lk look) wire.State {
	st := lk.st
	st.Now = lk.now
	if lk.boardSnap != nil {
		st.Board = m.boardState(lk)
	}
	if lk.snap != nil {
		d := m.dashboard(lk).dash
		d.User.Photo = lk.snap.Value.photo.url(lk.id)
		d.CanBook, d.Booking = lk.canBook, lk.booking
		st.Dashboard = &d
	}
	return st
}

// rendered is a look rendered: the hash of its state without its clock,
// and what its bytes are made of.
type rendered struct {
	sum uint64
	// screen is the encoded wire.Screen.
	screen []byte
	// body is a whole state without its clock (a screen that shows no
	// dashboard).
	body []byte
	// A dashboard is made of these, with the screen's photo and buttons.
	dash    *dashView
	booking []byte
	// A board is made of its shared part, with the screen's id in its
	// photos' addresses.
	board *boardView
}

// screenPart is a look's own part of what a screen is sent: its
// wire.Screen, as encoded while it has not changed.
func screenPart(lk look) ([]byte, error) {
	if lk.screenJSON != nil {
		return lk.screenJSON, nil
	}
	return json.Marshal(lk.st.Screen)
}

// render renders a look: a dashboard from its shared part, encoded once
// for every screen with the same view, and its screen's own part; any
// other state whole. The bytes of a dashboard are put together only when
// they are sent (bytes).
func (m *Manager) render(lk look) (rendered, error) {
	var r rendered
	var h maphash.Hash
	h.SetSeed(m.seed)
	if lk.boardSnap != nil {
		var err error
		if r.screen, err = screenPart(lk); err != nil {
			return r, err
		}
		r.board = m.boardView(lk)
		h.Write(r.screen)
		h.Write(binary.LittleEndian.AppendUint64(nil, r.board.sum))
		r.sum = h.Sum64()
		return r, nil
	}
	if lk.snap == nil {
		// The state is encoded once, without its clock, to see whether it
		// changed (a hash of it is kept, not the state); the clock is
		// then written into the same bytes.
		body, err := wire.Encode(lk.st)
		if err != nil {
			return r, err
		}
		r.body = body
		h.Write(body)
		r.sum = h.Sum64()
		return r, nil
	}
	var err error
	if r.screen, err = screenPart(lk); err != nil {
		return r, err
	}
	r.dash = m.dashboard(lk)
	if lk.booking != nil {
		b, err := json.Marshal(lk.booking)
		if err != nil {
			return r, err
		}
		r.booking = b
	}
	h.Write(r.screen)
	h.WriteString(r.dash.photo)
	h.Write(binary.LittleEndian.AppendUint64(nil, r.dash.sum))
	if lk.canBook {
		h.WriteByte(1)
	}
	h.Write(r.booking)
	r.sum = h.Sum64()
	return r, nil
}

// The fixed parts of an encoded dashboard (wire.Encode of a State in
// PhaseDashboard), around what render makes. Never changed: frames share
// them.
var (
	dashHead   = []byte(`{"type":"state","data":{"phase":"dashboard","now":`)
	dashScreen = []byte(`,"screen":`)
	dashUser   = []byte(`,"dashboard":{"user":`)
	dashUserTo = []byte(`}`)
	dashEnd    = []byte(`}}}`)
	dashBook   = []byte(`,"can_book":true}}}`)
	dashBooked = []byte(`,"booking":`)
	boardHead  = []byte(`,"board":`)
	boardEnd   = []byte(`}}`)
)

// message is the message of a rendered look, in parts: the same bytes as
// wire.Encode of its state. A dashboard's parts are shared with the other
// screens of its snapshot (its view, its clock, the fixed parts) but for
// its screen's own: a change of an account shown on many screens costs
// each of them a few small parts, not a copy of the whole.
func (m *Manager) message(r rendered, lk look) [][]byte {
	if r.board != nil {
		parts := make([][]byte, 0, 6+2*len(r.board.parts))
		parts = append(parts, dashHead, m.clock(lk.now), dashScreen, r.screen, boardHead)
		id := []byte(lk.id)
		for i, p := range r.board.parts {
			if i > 0 {
				parts = append(parts, id)
			}
			parts = append(parts, p)
		}
		return append(parts, boardEnd)
	}
	if r.dash == nil {
		return [][]byte{stampNow(r.body, lk.now)}
	}
	parts := make([][]byte, 0, 12)
	parts = append(parts, dashHead, m.clock(lk.now), dashScreen, r.screen, dashUser, r.dash.user)
	if r.dash.photo != "" {
		// A photo's address is a screen's id and a hex digest: nothing
		// in it needs escaping in JSON.
		parts = append(parts, []byte(`,"photo":"`+photoURL(lk.id, r.dash.photo)+`"`))
	}
	parts = append(parts, dashUserTo, r.dash.body)
	switch {
	case r.booking != nil:
		if lk.canBook {
			parts = append(parts, dashBook[:len(dashBook)-len(dashEnd)])
		}
		parts = append(parts, dashBooked, r.booking, dashEnd)
	case lk.canBook:
		parts = append(parts, dashBook)
	default:
		parts = append(parts, dashEnd)
	}
	return parts
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

// asleepLocked reports whether the session's screen is outside its
// opening hours at now.
func (m *Manager) asleepLocked(s *session, now time.Time) bool {
	return s.hasHour && !s.hours.OpenAt(now.In(wire.Zone(m.zoneLocked(s))))
}

func (m *Manager) screenInfoLocked(s *session, now time.Time) wire.Screen {
	set := s.screen.Settings
	lang := set.Lang
	if lang == "" {
		lang = "en"
	}
	// A dashboard's layout is left out of what is sent: the default.
	layout := set.Layout
	if layout == server.LayoutDashboard {
		layout = ""
	}
	info := wire.Screen{
		Name:     s.screen.Name,
		TimeZone: m.zoneLocked(s),
		Clock24:  set.Clock24,
		Lang:     lang,
		Touch:    s.touch,
		// Buttons only where an administrator lets the screen act (and
		// its browser has a touch screen to press them on).
		Acts:    set.Actions,
		Privacy: set.Privacy,
		Asleep:  m.asleepLocked(s, now),
		Layout:  layout,
	}
	if layout == server.LayoutRoom {
		info.ReleaseAfter = int(set.ReleaseAfter() / time.Minute)
		info.AutoRelease = set.AutoRelease
	}
	return info
}

// zeroNow is how an encoded State without its clock carries it.
var zeroNow = []byte(`"now":"0001-01-01T00:00:00Z"`)

// stampNow writes now into an encoded State made without its clock. "now"
// is the State's second field, after the phase: its first occurrence is
// the field (inside a JSON string a quote is escaped, so no text of a
// screen can look like it).
func stampNow(body []byte, now time.Time) []byte {
	i := bytes.Index(body, zeroNow)
	if i < 0 {
		return body
	}
	ts, err := now.MarshalJSON()
	if err != nil {
		return body
	}
	const key = len(`"now":`)
	out := make([]byte, 0, len(body)+len(ts))
	out = append(out, body[:i+key]...)
	out = append(out, ts...)
	return append(out, body[i+len(zeroNow):]...)
}

// clocked is an encoded clock.
type clocked struct {
	at   time.Time
	json []byte
}

// clock returns now encoded, as a State's "now" carries it. The screens a
// snapshot is shown on share its time, and so its encoding: the last one
// made is kept.
func (m *Manager) clock(now time.Time) []byte {
	if c := m.clocked.Load(); c != nil && c.at.Equal(now) && c.at.Location() == now.Location() {
		return c.json
	}
	b, err := now.MarshalJSON()
	if err != nil {
		b = []byte(`"0001-01-01T00:00:00Z"`)
	}
	m.clocked.Store(&clocked{at: now, json: b})
	return b
}
