package wire

import "time"

// Board is what a signed-in screen whose layout is a board (LayoutRooms,
// LayoutPeople) shows: one tile per room of a room list, or per person of
// a team. The server sends it in State.Board, with Phase PhaseDashboard
// and State.Dashboard nil (a board shows no one's own day).
//
// Times are instants: the screen writes them in its own zone, clock and
// language (Screen.TimeZone, Clock24, Lang), as it does a dashboard's.
type Board struct {
	// Kind is BoardRooms or BoardPeople (the values of the layouts).
	Kind string `json:"kind"`
	// Title is the room list's or the group's display name; "" for a
	// board of a list of rooms or people chosen one by one.
	Title string `json:"title,omitempty"`
	// Tiles are the board's rooms or people, in the order to show them:
	// on a rooms board free rooms first (free, then soon, then busy),
	// each by name; on a people board by name.
	Tiles []Tile `json:"tiles,omitempty"`
	// Consent is set when the signed-in account may not read what the
	// board needs (a permission the account's token lacks, or consent
	// the organisation has not given or refused): the screen then shows
	// the sentence it makes of it instead of tiles, never an empty
	// board, and Tiles is empty.
	Consent *Consent `json:"consent,omitempty"`
	// Fresh is when the board's data was last read from Microsoft Graph.
	Fresh time.Time `json:"fresh,omitzero"`
	// Stale is true when Graph could not be read for longer than it
	// should: the tiles are the last known ones.
	Stale bool `json:"stale,omitempty"`
}

// Board kinds: the value of the board element's data-kind, and the
// layout of a screen that shows it.
const (
	BoardRooms  = LayoutRooms
	BoardPeople = LayoutPeople
)

// The states of a room on a rooms board (Tile.Status).
const (
	// RoomFree: no meeting now, and none within RoomSoon.
	RoomFree = "free"
	// RoomSoon: free now, and a meeting starts within RoomSoon (Until).
	RoomSoon = "soon"
	// RoomBusy: a meeting now (Until is when the room is free again).
	RoomBusy = "busy"
	// RoomUnknown: Graph could not read the room's free/busy (an
	// address it does not know, or a calendar it may not read).
	RoomUnknown = "unknown"
)

// RoomSoonWithin is how close a room's next meeting must be for it to be
// RoomSoon rather than RoomFree: as on the room's own panel and its light,
// so that a board and the panel at the door agree.
const RoomSoonWithin = SoonBefore

// Tile is one room or one person of a board. Fields that do not apply to
// the board's kind are empty.
type Tile struct {
	// Name is the room's or the person's display name (data-name).
	Name string `json:"name"`
	// UPN is the room's email address or the person's user principal
	// name (data-upn).
	UPN string `json:"upn"`
	// Status is, for a room, RoomFree, RoomSoon, RoomBusy or RoomUnknown; for a
	// person, Graph's availability (Available, Busy, DoNotDisturb, ...,
	// PresenceUnknown when it could not be read), as Presence's.
	// It is the tile's data-status.
	Status string `json:"status"`

	// Until is, for a room, when its Status ends: the end of the
	// meeting now (busy until 11:00), the start of the next meeting
	// (free until 14:30, or soon); zero when the room stays free for the
	// rest of the board's window.
	Until time.Time `json:"until,omitzero"`
	// Current is a busy room's meeting now; Next is a room's next
	// meeting after now (after Current). Nil when none.
	Current *Slot `json:"current,omitempty"`
	Next    *Slot `json:"next,omitempty"`
	// Capacity is a room's number of seats, 0 when unknown.
	Capacity int `json:"capacity,omitempty"`
	// Floor is a room's floor as its organisation labels it (Places'
	// floorLabel, else its floorNumber), "" when unknown.
	Floor string `json:"floor,omitempty"`
	// Building is a room's building, "" when unknown.
	Building string `json:"building,omitempty"`

	// Photo is, for a person, the address of their photo on the edge
	// server (under PhotoPath); "" when they have none.
	Photo string `json:"photo,omitempty"`
	// Initials are a person's initials, shown without a photo.
	Initials string `json:"initials,omitempty"`
	// Activity is a person's Graph activity (InACall, InAMeeting,
	// Presenting, ...), as Presence's; "" when unknown.
	Activity string `json:"activity,omitempty"`
	// FreeAt is, for a person whose calendar is busy now, when it is free
	// again ("free at 14:30"); zero when it is free now or unknown.
	FreeAt time.Time `json:"free_at,omitzero"`
}

// Slot is a meeting on a board: its times always, its subject only where
// the calendar's sharing gives it, never for a private meeting, and never
// on a screen in privacy mode (the server drops it before sending).
type Slot struct {
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Subject string    `json:"subject,omitempty"`
	// Private is a meeting its organiser marked private: the screen
	// calls it "Private".
	Private bool `json:"private,omitempty"`
}

// Consent says what a board may not read and who can allow it. The screen
// makes a sentence of it in its language: "This board needs the
// permission Place.Read.All, which an administrator of your organisation
// must grant." (board-consent).
type Consent struct {
	// Permissions are the missing delegated permissions, as Microsoft
	// names them (Place.Read.All, Presence.Read.All, ...).
	Permissions []string `json:"permissions"`
	// By is who can grant them: ConsentAdmin or ConsentUser.
	By string `json:"by"`
	// Refused is true when the organisation or the account refused
	// consent (rather than not having been asked yet).
	Refused bool `json:"refused,omitempty"`
}

// Who can grant a missing permission (Consent.By).
const (
	// ConsentAdmin: an administrator of the organisation must consent
	// (Place.Read.All and GroupMember.Read.All always need it; any
	// permission does in an organisation that lets users consent to
	// none, or once it refused).
	ConsentAdmin = "admin"
	// ConsentUser: the signed-in person can consent by signing in to
	// the screen again.
	ConsentUser = "user"
)
