package screens

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/source"
)

// A board is a screen layout that shows many rooms (LayoutRooms) or many
// people (LayoutPeople) from one signed-in account: one source per board,
// keyed by the account and the board's definition, shared by every screen
// that shows it on every replica, polled by its owner (boardpoll.go).

// boardDef is what a board shows: its kind, and its rooms or people as
// the screen's settings give them.
type boardDef struct {
	kind   string // wire.BoardRooms or wire.BoardPeople
	rooms  server.Addresses
	people server.Addresses
	group  string
}

// boardOf is the board a screen's settings show; false for a screen that
// shows no board.
func boardOf(set server.ScreenSettings) (boardDef, bool) {
	switch set.Layout {
	case server.LayoutRooms:
		return boardDef{kind: wire.BoardRooms, rooms: set.Rooms}, true
	case server.LayoutPeople:
		return boardDef{kind: wire.BoardPeople, people: set.People, group: set.PeopleGroup}, true
	}
	return boardDef{}, false
}

// id names the board of an account among the running boards.
func (d boardDef) id(accountID string) string {
	return strings.Join([]string{accountID, d.kind, string(d.rooms), string(d.people), d.group}, "\x00")
}

// key is the board's source key in the cluster: unique across kinds, and
// the same on every replica, without the addresses in clear.
func (d boardDef) key(accountID string) string {
	sum := sha256.Sum256([]byte(d.id(accountID)))
	return "board:" + hex.EncodeToString(sum[:16])
}

// Permissions a board needs beyond a dashboard's. Graph's pages name the
// least privileged delegated permission of each call:
//   - place-list: Place.Read.All (admin consent required);
//   - calendar-getschedule: Calendars.ReadBasic (a dashboard's
//     Calendars.Read covers it);
//   - cloudcommunications-getpresencesbyuserid: Presence.Read.All;
//   - user-get, profilephoto-get of others: User.ReadBasic.All;
//   - group-list-members: GroupMember.Read.All (admin consent required).
const (
	permPlaces   = "Place.Read.All"
	permPresence = "Presence.Read.All"
	permUsers    = "User.ReadBasic.All"
	permMembers  = "GroupMember.Read.All"
	permCalendar = "Calendars.Read"
	// permReadBasic is getSchedule's least privileged permission.
	permReadBasic = "Calendars.ReadBasic"
)

// adminOnly are the permissions only an administrator can consent to
// (Microsoft Graph permissions reference: "Admin consent required: Yes").
var adminOnly = []string{permPlaces, permMembers}

// BoardScopes are the permissions a screen with these settings asks for
// when it signs in, beyond the server's own: none for a dashboard or a
// room panel (incremental consent: a board's screen asks for them, and
// only it).
func BoardScopes(set server.ScreenSettings) []string {
	d, ok := boardOf(set)
	if !ok {
		return nil
	}
	if d.kind == wire.BoardRooms {
		return []string{permPlaces}
	}
	out := []string{permPresence, permUsers}
	if d.group != "" {
		out = append(out, permMembers)
	}
	return out
}

// boardScopes is BoardScopes, with Calendars.ReadBasic (getSchedule's
// least privileged permission) when the server's own scopes have no
// permission to read calendars.
func (m *Manager) boardScopes(set server.ScreenSettings) []string {
	extra := BoardScopes(set)
	if extra == nil {
		return nil
	}
	for _, s := range m.cfg.Identity.Scopes() {
		if strings.HasPrefix(strings.ToLower(s), "calendars.read") {
			return extra
		}
	}
	return append(extra, permReadBasic)
}

// consentFor is what a board says when Graph refused it perm: who can
// grant it.
func consentFor(refused bool, perms ...string) *wire.Consent {
	by := wire.ConsentUser
	for _, p := range perms {
		if slices.Contains(adminOnly, p) {
			by = wire.ConsentAdmin
		}
	}
	return &wire.Consent{Permissions: perms, By: by, Refused: refused}
}

// boardData is what Graph said of a board's rooms or people, last time
// it answered: the value of a snapshot of the board's source, never
// changed once made. Its fields are exported for the owner's publication
// to other replicas (JSON).
type boardData struct {
	Kind  string `json:"kind"`
	Title string `json:"title,omitempty"`
	// Rooms or People, by the board's kind, in the order of its settings.
	Rooms  []boardRoom   `json:"rooms,omitempty"`
	People []boardPerson `json:"people,omitempty"`
	// Consent is set when the account may not read what the board needs.
	Consent *wire.Consent `json:"consent,omitempty"`
	Fresh   time.Time     `json:"fresh,omitzero"`
	Stale   bool          `json:"stale,omitempty"`
	// Read is false until Graph first answered (or refused) the board:
	// its screens wait for it.
	Read bool `json:"read,omitempty"`
}

// boardRoom is one room: what the Places API says of it, and its busy
// periods from getSchedule.
type boardRoom struct {
	Name     string `json:"name"`
	UPN      string `json:"upn"`
	Capacity int    `json:"capacity,omitempty"`
	Floor    string `json:"floor,omitempty"`
	Building string `json:"building,omitempty"`
	// Known is false when Graph could not read the room's free/busy.
	Known bool       `json:"known,omitempty"`
	Busy  []busySpan `json:"busy,omitempty"`
}

// boardPerson is one person: their profile, Teams presence, busy periods
// and photo.
type boardPerson struct {
	Name         string     `json:"name"`
	UPN          string     `json:"upn"`
	ID           string     `json:"id,omitempty"`
	Availability string     `json:"availability,omitempty"`
	Activity     string     `json:"activity,omitempty"`
	Busy         []busySpan `json:"busy,omitempty"`
	Photo        []byte     `json:"photo,omitempty"`
	PhotoType    string     `json:"photo_type,omitempty"`
	// Tag names the photo (photo.tag), made from Photo. What the owner
	// publishes carries a photo's bytes only now and then
	// (boardPublisher): another replica keeps the bytes of a tag it has.
	Tag string `json:"tag,omitempty"`
}

// busySpan is a period a calendar is busy, as getSchedule gives it: the
// subject only where the calendar's sharing gives it and never for a
// private meeting.
type busySpan struct {
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Subject string    `json:"subject,omitempty"`
	Private bool      `json:"private,omitempty"`
}

// boardPublisher encodes what a board's owner publishes to the other
// replicas. A board's people's photos are most of its bytes, and change
// rarely, while its presence changes every period: the photos' bytes are
// published when a photo changes and every photosEvery, and their tags
// always, so that a replica keeps the bytes it has (decodeBoard) and one
// that starts shows initials until it has them.
type boardPublisher struct {
	mu     sync.Mutex
	tags   string    // the photos' tags last published with their bytes
	photos time.Time // when they were
}

// photosEvery is how often a board's owner publishes its photos' bytes
// when none changed.
const photosEvery = 10 * time.Minute

func (bp *boardPublisher) encode(d *boardData) ([]byte, error) {
	var tags strings.Builder
	for _, p := range d.People {
		tags.WriteString(p.Tag + ",")
	}
	bp.mu.Lock()
	now := time.Now()
	full := tags.String() != bp.tags || now.Sub(bp.photos) >= photosEvery
	if full {
		bp.tags, bp.photos = tags.String(), now
	}
	bp.mu.Unlock()
	if !full {
		lean := *d
		lean.People = make([]boardPerson, len(d.People))
		for i, p := range d.People {
			p.Photo = nil
			lean.People[i] = p
		}
		d = &lean
	}
	return json.Marshal(d)
}

// decodeBoard reads what a board's owner published, keeping the bytes of
// the photos old has whose tags it names without them.
func decodeBoard(old *boardData, b []byte) (*boardData, error) {
	var d boardData
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("reading a board's published data: %w", err)
	}
	for i := range d.People {
		p := &d.People[i]
		if len(p.Photo) == 0 && p.Tag != "" && old != nil {
			p.Photo, p.PhotoType, _ = old.photo(p.Tag)
		}
	}
	d.tagPhotos()
	return &d, nil
}

// tagPhotos names each person's photo by its content; a tag without the
// photo's bytes names none.
func (d *boardData) tagPhotos() {
	for i := range d.People {
		p := &d.People[i]
		if len(p.Photo) == 0 {
			p.Tag = ""
			continue
		}
		ph := newPhoto(p.Photo, p.PhotoType)
		p.PhotoType, p.Tag = ph.ctype, ph.tag
	}
}

// photo returns the photo of the board's person whose photo tag is tag.
func (d *boardData) photo(tag string) ([]byte, string, bool) {
	for _, p := range d.People {
		if p.Tag != "" && p.Tag == tag && len(p.Photo) > 0 {
			return p.Photo, p.PhotoType, true
		}
	}
	return nil, "", false
}

// board is one board's source (source.Member).
type board struct {
	m       *Manager
	account server.Account
	def     boardDef
	src     *source.Source[*boardData]
}

// Source is the board's source.
func (b *board) Source() *source.Source[*boardData] { return b.src }

// newBoard makes the source of a board (started by the Set).
func (m *Manager) newBoard(acct server.Account, def boardDef) *board {
	b := &board{m: m, account: acct, def: def}
	b.src = source.New(m.sources, source.Spec[*boardData]{
		Key:         def.key(acct.ID),
		Initial:     &boardData{Kind: def.kind},
		Own:         func() source.Poller { return &boardPoller{m: m, b: b} },
		FollowEvery: m.cfg.PollEvery,
		Encode:      (&boardPublisher{}).encode,
		Decode:      decodeBoard,
	})
	return b
}

// update makes the board's next snapshot: f changes a copy of the latest
// data (slices in it are shared: replace them, never change them).
func (b *board) update(f func(*boardData)) {
	b.src.Update(func(old *boardData) (*boardData, bool) {
		d := *old
		f(&d)
		d.tagPhotos()
		return &d, true
	})
}

// boardShown is a session's subscription to the board it shows.
type boardShown struct {
	s      *session
	b      *board
	id     string
	cancel func()
}

// Snapshot shows the board's new snapshot on the screen, unless the
// session moved on or has a newer one.
func (bs *boardShown) Snapshot(snap *source.Snapshot[*boardData]) {
	s := bs.s
	s.mu.Lock()
	if s.board != bs || (s.boardSnap != nil && snap.Seq <= s.boardSnap.Seq) {
		s.mu.Unlock()
		return
	}
	s.boardSnap = snap
	lk := s.m.lookLocked(s, snap.At)
	s.mu.Unlock()
	s.m.emit(s, lk)
}

// syncBoardLocked subscribes the session to the board its settings and
// account give, or takes it off the one it shows when they no longer
// give it.
func (m *Manager) syncBoardLocked(s *session) {
	var want string
	def, isBoard := boardOf(s.screen.Settings)
	if isBoard && s.shown != nil && !s.stopped {
		want = def.id(s.shown.w.account.ID)
	}
	if s.board != nil && s.board.id == want {
		return
	}
	if s.board != nil {
		s.board.cancel()
		s.board, s.boardSnap = nil, nil
	}
	if want == "" {
		return
	}
	acct := s.shown.w.account
	bs := &boardShown{s: s, id: want}
	set := m.roomBoards
	if def.kind == wire.BoardPeople {
		set = m.peopleBoards
	}
	sub, ok := set.Subscribe(want, func() *board { return m.newBoard(acct, def) }, bs)
	if !ok {
		return // the server is stopping
	}
	bs.b, bs.cancel = sub.Member, sub.Cancel
	s.board, s.boardSnap = bs, sub.Latest
}

// boardKey is what changes a board's shared part: privacy mode drops
// subjects. The language, zone and clock are the screen's own: it writes
// times itself.
type boardKey struct{ privacy bool }

// boardView is the part of a board's state that depends only on a
// snapshot and a screen's privacy: made once for every screen that shows
// it (source.View).
type boardView struct {
	board wire.Board
	// parts is the encoded wire.Board, cut where each photo's address
	// names the screen: a screen's bytes are these with its id between
	// them, nothing encoded again.
	parts [][]byte
	sum   uint64
}

// photoMark stands for the screen's id in a board's photo addresses until
// a screen's bytes are put together; JSON writes it as \u0000, which no
// other text of a board holds (clean drops control characters).
const photoMark = "\x00"

var photoMarkJSON = []byte(`\u0000`)

// boardView returns the shared part of a look's board.
func (m *Manager) boardView(lk look) *boardView {
	key := boardKey{privacy: lk.st.Screen.Privacy}
	return source.View(lk.boardSnap, key, lk.now, func(d *boardData, now time.Time) (*boardView, time.Time) {
		m.encodes.Add(1)
		v := &boardView{}
		var until time.Time
		v.board, until = boardAt(d, now, key.privacy)
		b, _ := json.Marshal(v.board) // strings, times, numbers and bools only
		v.parts = splitMark(b)
		var h maphash.Hash
		h.SetSeed(m.seed)
		h.Write(b)
		v.sum = h.Sum64()
		return v, until
	})
}

// splitMark cuts b at each photoMarkJSON.
func splitMark(b []byte) [][]byte {
	var out [][]byte
	for {
		i := bytes.Index(b, photoMarkJSON)
		if i < 0 {
			return append(out, b)
		}
		out = append(out, b[:i])
		b = b[i+len(photoMarkJSON):]
	}
}

// boardAt is what a board shows at now, and until when that holds (the
// next start or end of a meeting, or a room's "soon").
func boardAt(d *boardData, now time.Time, privacy bool) (wire.Board, time.Time) {
	b := wire.Board{Kind: d.Kind, Title: clean(d.Title), Consent: d.Consent, Fresh: d.Fresh, Stale: d.Stale}
	var until time.Time
	edge := func(t time.Time) {
		if t.After(now) && (until.IsZero() || t.Before(until)) {
			until = t
		}
	}
	if d.Consent != nil {
		return b, until
	}
	slot := func(s busySpan) *wire.Slot {
		out := &wire.Slot{Start: s.Start, End: s.End, Private: s.Private}
		if !privacy && !s.Private {
			out.Subject = clean(s.Subject)
		}
		return out
	}
	switch d.Kind {
	case wire.BoardRooms:
		for _, r := range d.Rooms {
			t := wire.Tile{Name: clean(r.Name), UPN: clean(r.UPN), Capacity: r.Capacity, Floor: clean(r.Floor), Building: clean(r.Building)}
			if !r.Known {
				t.Status = wire.RoomUnknown
				b.Tiles = append(b.Tiles, t)
				continue
			}
			cur, free := busyAt(r.Busy, now)
			next := -1
			for i, s := range r.Busy {
				if s.Start.After(now) && (cur < 0 || !s.Start.Before(r.Busy[cur].End)) {
					next = i
					break
				}
			}
			switch {
			case cur >= 0:
				t.Status, t.Until, t.Current = wire.RoomBusy, free, slot(r.Busy[cur])
				edge(free)
			case next >= 0 && !r.Busy[next].Start.After(now.Add(wire.RoomSoonWithin)):
				t.Status, t.Until = wire.RoomSoon, r.Busy[next].Start
			default:
				t.Status = wire.RoomFree
				if next >= 0 {
					t.Until = r.Busy[next].Start
				}
			}
			if next >= 0 {
				t.Next = slot(r.Busy[next])
				edge(r.Busy[next].Start)
				edge(r.Busy[next].Start.Add(-wire.RoomSoonWithin))
			}
			b.Tiles = append(b.Tiles, t)
		}
		// Free rooms first, then those free soon... then by name.
		rank := map[string]int{wire.RoomFree: 0, wire.RoomSoon: 1, wire.RoomBusy: 2, wire.RoomUnknown: 3}
		slices.SortStableFunc(b.Tiles, func(x, y wire.Tile) int {
			if rx, ry := rank[x.Status], rank[y.Status]; rx != ry {
				return rx - ry
			}
			return strings.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name))
		})
	case wire.BoardPeople:
		for _, p := range d.People {
			t := wire.Tile{Name: clean(p.Name), UPN: clean(p.UPN), Initials: initials(p.Name),
				Status: p.Availability, Activity: p.Activity}
			if t.Status == "" {
				t.Status, t.Activity = presenceUnknown, ""
			}
			if p.Tag != "" {
				t.Photo = wire.PhotoPath + photoMark + "/" + p.Tag
			}
			if cur, free := busyAt(p.Busy, now); cur >= 0 {
				t.FreeAt = free
				edge(free)
			}
			for _, s := range p.Busy {
				edge(s.Start)
			}
			b.Tiles = append(b.Tiles, t)
		}
		slices.SortStableFunc(b.Tiles, func(x, y wire.Tile) int {
			return strings.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name))
		})
	}
	return b, until
}

// busyAt returns the index of the busy span under way at now (-1 for
// none) and when the calendar is free again: the end of the spans that
// follow one another from it.
func busyAt(spans []busySpan, now time.Time) (int, time.Time) {
	cur := -1
	for i, s := range spans {
		if !s.Start.After(now) && s.End.After(now) {
			cur = i
			break
		}
	}
	if cur < 0 {
		return -1, time.Time{}
	}
	free := spans[cur].End
	for changed := true; changed; {
		changed = false
		for _, s := range spans {
			if !s.Start.After(free) && s.End.After(free) {
				free, changed = s.End, true
			}
		}
	}
	return cur, free
}

// clean drops control characters from a text a board shows (photoMark
// among them).
func clean(s string) string {
	if strings.IndexFunc(s, isControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return -1
		}
		return r
	}, s)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// boardState is a look's board with the screen's photo addresses.
func (m *Manager) boardState(lk look) *wire.Board {
	b := m.boardView(lk).board
	if b.Tiles != nil {
		tiles := make([]wire.Tile, len(b.Tiles))
		for i, t := range b.Tiles {
			t.Photo = strings.ReplaceAll(t.Photo, photoMark, lk.id)
			tiles[i] = t
		}
		b.Tiles = tiles
	}
	return &b
}
