package wire

import (
	"sync"
	"time"
)

// Phase is what a screen is doing; it is the value of data-state on the
// screen's root element (a hook of browser tests, listed in docs/testing.md).
type Phase string

// The phases of a screen. Connecting and Reconnecting are the screen's own:
// the server never sends them.
const (
	PhaseConnecting   Phase = "connecting"
	PhasePairing      Phase = "pairing"
	PhaseCode         Phase = "code"
	PhaseDashboard    Phase = "dashboard"
	PhaseError        Phase = "error"
	PhaseReconnecting Phase = "reconnecting"
)

// State is everything a screen shows. The server sends it whole whenever
// any of it changes; it is small, and a whole state can never be half applied.
type State struct {
	Phase Phase `json:"phase"`
	// Now is the server's clock when the state was made: a screen corrects
	// its own clock by it (a TV's clock is often wrong), so that countdowns
	// and "now" in the agenda are right.
	Now    time.Time `json:"now"`
	Screen Screen    `json:"screen"`

	// Exactly one of these is set, matching Phase; a signed-in screen
	// (PhaseDashboard) whose layout is a board (LayoutRooms,
	// LayoutPeople) has Board instead of Dashboard.
	Pairing   *Pairing   `json:"pairing,omitempty"`
	Code      *Code      `json:"code,omitempty"`
	Problem   *Problem   `json:"problem,omitempty"`
	Dashboard *Dashboard `json:"dashboard,omitempty"`
	Board     *Board     `json:"board,omitempty"`
}

// Screen is the screen's own name and settings.
type Screen struct {
	Name string `json:"name"`
	// TimeZone is the IANA zone the screen shows times in.
	TimeZone string `json:"time_zone"`
	Clock24  bool   `json:"clock24"`
	// Lang is the language of the screen's words ("en", "fr").
	Lang string `json:"lang"`
	// Touch is true on screens whose browser has a touch screen
	// (tablets): it shapes the page, and decides nothing.
	Touch bool `json:"touch,omitempty"`
	// Acts is true on screens an administrator lets act (sign out, book):
	// a touch screen shows its buttons only then.
	Acts bool `json:"acts,omitempty"`
	// Privacy is true on shared screens: meetings carry no subject,
	// organiser or location (the server drops them before sending).
	Privacy bool `json:"privacy,omitempty"`
	// Asleep is true outside the screen's opening hours: it shows only a
	// dim clock.
	Asleep bool `json:"asleep,omitempty"`
	// Layout is what the screen shows once signed in: LayoutDashboard,
	// LayoutRoom, or a board's; "" is LayoutDashboard.
	Layout string `json:"layout,omitempty"`
	// ReleaseAfter is, on a room's panel, how many minutes after its
	// start a meeting may be checked in (and is released when it is not,
	// with AutoRelease).
	ReleaseAfter int  `json:"release_after,omitempty"`
	AutoRelease  bool `json:"auto_release,omitempty"`
}

// Layouts of a signed-in screen: the value of the screen element's
// data-layout.
const (
	LayoutDashboard = "dashboard"
	LayoutRoom      = "room"
	LayoutRooms     = "rooms"
	LayoutPeople    = "people"
)

// LayoutOrDefault is the screen's layout, LayoutDashboard when none is
// set.
func (s Screen) LayoutOrDefault() string {
	if s.Layout == "" {
		return LayoutDashboard
	}
	return s.Layout
}

// Pairing is shown by a screen that an administrator has not enrolled yet.
type Pairing struct {
	// Number is what the administrator approves ("placard screens approve
	// 482913" or the admin page).
	Number string `json:"number"`
	// Why says why the screen waits, when it was opened with a
	// provisioning link that no longer works: one of the Link* reasons.
	Why string `json:"why,omitempty"`
}

// Why a screen opened with a provisioning link waits for a pairing
// approval instead.
const (
	LinkExpired      = "link_expired"
	LinkRevoked      = "link_revoked"
	LinkUsedUp       = "link_used_up"
	LinkInvalid      = "link_invalid"
	LinkGroupRemoved = "link_group_removed"
)

// Code is a sign-in prompt: the device code a person enters and where,
// and the QR code a phone scans. A screen that offers only the QR path
// (sign-in by QR) has no user code.
type Code struct {
	UserCode        string    `json:"user_code,omitempty"`
	VerificationURI string    `json:"verification_uri,omitempty"`
	ExpiresAt       time.Time `json:"expires_at"`
	QR              QR        `json:"qr"`
	// Match is the number a phone that opened the QR's link must pick:
	// shown once a phone opened it, "" before.
	Match string `json:"match,omitempty"`
	// CodeBlocked is true when the organisation blocks sign-in with a
	// code: the screen says why it offers only its QR code.
	CodeBlocked bool `json:"code_blocked,omitempty"`
}

// Where a QR code leads: the value of the qr element's data-path.
const (
	// QRDeviceCode: the verification URL, where the user code is entered.
	QRDeviceCode = "device-code"
	// QRAuthCode: the edge server's one-time sign-in link, which goes on
	// to Microsoft's interactive sign-in (authorization code + PKCE).
	QRAuthCode = "auth-code"
)

// QR is a QR symbol, ready to draw as SVG.
type QR struct {
	// Size is the symbol's width in modules, quiet zone included.
	Size int `json:"size"`
	// Path is SVG path data that fills the dark modules, in module units.
	Path string `json:"path"`
	// To is where the symbol leads: QRDeviceCode or QRAuthCode.
	To string `json:"to,omitempty"`
}

// Problem kinds: what went wrong, in a word the screen turns into a
// sentence in its language.
const (
	ProblemDeclined      = "declined"       // the person declined on the phone
	ProblemExpired       = "expired"        // the code ran out before use
	ProblemBlocked       = "blocked"        // Conditional Access blocks device-code sign-in
	ProblemSignedOut     = "signed_out"     // signed out from the admin page or the screen
	ProblemRefreshFailed = "refresh_failed" // the session ended (revoked, password reset, policy)
	ProblemUnreachable   = "unreachable"    // the identity platform cannot be reached
	ProblemRateLimited   = "rate_limited"   // too many sign-in codes asked for
	ProblemTenant        = "wrong_tenant"   // the account is from a tenant this server does not accept
	ProblemCodeBlocked   = "code_blocked"   // the organisation blocks sign-in with a code, and the screen offers only the code
	ProblemWrongNumber   = "wrong_number"   // a phone picked another number than the one the screen showed
	ProblemFailed        = "failed"         // anything else
)

// Problem is an error screen.
type Problem struct {
	Kind string `json:"kind"`
	// Code is for IT: an AADSTS number or another code, "" when none.
	Code string `json:"code,omitempty"`
	// Retry is when the screen moves on by itself; zero when it waits for a
	// person (an administrator) to act.
	Retry time.Time `json:"retry,omitzero"`
}

// Dashboard is what a signed-in screen shows.
type Dashboard struct {
	User User `json:"user"`
	// Presence is nil for an account without Teams (or without the scope).
	Presence *Presence `json:"presence,omitempty"`
	// Agenda is nil for an account without a mailbox (or without the scope).
	Agenda *Agenda `json:"agenda,omitempty"`
	// Fresh is when the data was last read from Microsoft Graph.
	Fresh time.Time `json:"fresh,omitzero"`
	// Stale is true when Graph could not be read for longer than it should.
	Stale bool `json:"stale,omitempty"`
	// Room is set on a screen in the room layout.
	Room *Room `json:"room,omitempty"`
	// CanBook is true when the screen may book a meeting (touch screen,
	// not refused by an administrator, the Calendars.ReadWrite scope):
	// the screen shows its booking buttons only then.
	CanBook bool `json:"can_book,omitempty"`
	// Booking is the outcome of the last quick booking, shown for a while.
	Booking *Booking `json:"booking,omitempty"`
}

// User is who is signed in.
type User struct {
	Name     string `json:"name"`
	Initials string `json:"initials"`
	// Photo is the address of the photo on the edge server (under
	// PhotoPath), which serves it to this screen only; "" when the account
	// has none.
	Photo string `json:"photo,omitempty"`
}

// PhotoPath is where the edge server serves photos:
// PhotoPath + screen id + "/" + a hash of the picture.
const PhotoPath = "/photo/"

// Presence is Microsoft Graph's presence: availability and activity keep
// Graph's values (Available, Busy, InACall, ...).
type Presence struct {
	Availability string `json:"availability"`
	Activity     string `json:"activity"`
}

// Agenda is the day's events, in the screen's time zone.
type Agenda struct {
	Today []Event `json:"today"`
	// Tomorrow holds tomorrow's first events once today has nothing left.
	Tomorrow []Event `json:"tomorrow,omitempty"`
}

// Event is one calendar event. Subject, Location and Organizer are empty on
// a screen in privacy mode.
type Event struct {
	ID        string    `json:"id"`
	Subject   string    `json:"subject,omitempty"`
	Location  string    `json:"location,omitempty"`
	Organizer string    `json:"organizer,omitempty"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	AllDay    bool      `json:"all_day,omitempty"`
	Cancelled bool      `json:"cancelled,omitempty"`
	// Private is an event its owner marked private or confidential: it
	// comes with its times only, and the screen calls it "Private".
	Private bool `json:"private,omitempty"`
}

// Booking is what happened to a quick booking.
type Booking struct {
	OK bool `json:"ok"`
	// Start and End are the booked range, for the screen to write in its
	// own way (as its agenda).
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	// Problem is set when the booking failed: one of the Book* words.
	Problem string `json:"problem,omitempty"`
	// Action is set on what became of a room's action: one of the Act*
	// words (a quick booking has none).
	Action string `json:"action,omitempty"`
}

// Booking problems, in words the screen turns into a sentence.
const (
	BookNotAllowed = "not_allowed" // the account did not grant Calendars.ReadWrite
	BookNoCalendar = "no_calendar" // the account has no mailbox
	BookBusy       = "unavailable" // Graph is throttling or down
	BookTooMany    = "too_many"    // the screen or the account booked too often lately
	// BookScreenRefused: an administrator does not let this screen book.
	BookScreenRefused = "screen_refused"
	// BookRefused: the room's calendar does not allow it (the slot is
	// taken, the meeting is over, a check-in outside its time).
	BookRefused = "refused"
	BookFailed  = "failed" // anything else
)

// zones caches the locations of IANA zone names: a screen formats times
// every second, and time.LoadLocation reads the zone's data each time.
var zones sync.Map // name → *time.Location

// Zone returns the location of an IANA zone name, UTC when it is unknown.
func Zone(name string) *time.Location {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = time.UTC
	}
	zones.Store(name, loc)
	return loc
}
