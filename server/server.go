// Package server is the edge server's domain: screens, the accounts they
// show, the audit trail, and the errors the server speaks in.
//
// It depends on nothing but the standard library. Each dependency has a
// package of its own under it: identity (MSAL Go), graph (Microsoft Graph),
// sandbox (an emulation of both), sqlite (storage), hub (WebSocket), httpd
// (HTTP), and screens, which runs every screen with them. cmd/placard wires
// them together.
package server

import (
	"context"
	"time"
)

// Screen is a browser that shows placard: a TV, a kiosk, a door panel.
type Screen struct {
	ID   string
	Name string
	// SecretHash is the SHA-256 of the screen's secret; the secret itself
	// lives only in the screen's browser (an HttpOnly cookie).
	SecretHash []byte
	// Enrolled is true once an administrator (or sandbox auto-enrollment)
	// allowed the screen to ask for sign-in codes.
	Enrolled bool
	// PairingNumber is what an administrator approves to enroll the screen.
	PairingNumber string
	// AccountID is the account the screen shows, "" when signed out.
	AccountID string
	// Settings are what the screen shows with: in a group, the group's,
	// with the fields named in Overrides set by the screen itself.
	Settings ScreenSettings
	// Group is the id of the group the screen is in, "" for none: a
	// screen is in at most one.
	Group string
	// Overrides name the fields of Settings (SettingFields: "TimeZone")
	// that the screen sets itself over its group's (MergeSettings).
	Overrides []string
	// Link is the id of the provisioning link the screen enrolled with,
	// "" when it was paired (or made before links).
	Link string
	// Note is shown beside the pairing number while the screen waits: why
	// it waits (a provisioning link that no longer works).
	Note      string
	CreatedAt time.Time
	LastSeen  time.Time
}

// Group is a set of screens that share settings, a sign-in (when its
// owner chooses so on the phone) and offline alerts.
type Group struct {
	ID string
	// Name is unique: "Lobby", "Floor 3".
	Name string
	// Settings apply to every screen of the group, except the fields a
	// screen overrides.
	Settings ScreenSettings
	// SharedSignIn lets the person who signs in on one screen of the
	// group choose, on the phone, to show the account on all of them.
	SharedSignIn bool
	// OfflineAfter is how long a screen of the group may be offline
	// before it is reported (0: the server's default).
	OfflineAfter time.Duration
	// Webhooks get the group's offline alerts, signed with WebhookSecret
	// (as the light keys' webhooks are).
	Webhooks      []string
	WebhookSecret []byte
	CreatedAt     time.Time
}

// Link is a provisioning link: the address a kiosk starts with, which
// enrolls the screen into a group without a pairing approval, as Azure
// DPS's enrollment groups do. Only a hash of its secret is kept: the
// address is shown once, when the link is made.
type Link struct {
	ID    string
	Group string
	// Hash is the SHA-256 of the link's secret.
	Hash []byte
	// MaxScreens bounds the screens it enrolls; Used counts them.
	MaxScreens int
	Used       int
	ExpiresAt  time.Time
	// NamePattern names the screens it enrolls: "{n}" is replaced by
	// their number (1, 2, ...): "Floor 3 – {n}". "" keeps the name the
	// screen was opened with.
	NamePattern string
	// RevokedAt is when an administrator revoked it; zero while it is
	// not.
	RevokedAt time.Time
	CreatedBy string
	CreatedAt time.Time
}

// SignInLink is a screen's sign-in link (its QR code on the
// authorization-code path) and the sign-in it leads to, kept in the store
// so that any replica serves the phone's requests, and so that each step
// is taken once, whichever replica takes it. Nothing secret is kept in
// plain text: what is only compared is hashed, what must be read back is
// sealed with the server's key.
type SignInLink struct {
	// ID is the SHA-256 of the link's token, in hex: the token itself is
	// only in the QR code.
	ID string
	// ScreenID and ScreenName are the screen the link is for.
	ScreenID   string
	ScreenName string
	// ExpiresAt is when the link stops working for a phone that has not
	// typed the number yet.
	ExpiresAt time.Time
	// Phase is where the sign-in is (LinkPhaseFresh, LinkPhaseAuthorizing, ...).
	Phase string
	// Holder is the SHA-256 of the secret of the browser that opened the
	// link first (its cookie): it alone may go on. Nil until one did.
	Holder []byte
	// Match is the number the screen shows, sealed.
	Match []byte
	// State is the SHA-256 of the sign-in's OAuth state, in hex, and
	// Binding the SHA-256 of the secret of the browser's cookie that binds
	// the state to it; Auth is what redeems the code (its PKCE verifier,
	// its nonce), sealed. Set when the number is typed right.
	State   string
	Binding []byte
	Auth    []byte
	// Scope is the phone's choice, made with the number: "group" to sign
	// in every screen of the screen's group (when it shares its
	// sign-ins), "" for this screen.
	Scope string
	// TypedAt is when the number was typed right; AuthUntil is when the
	// sign-in at the identity platform must have come back.
	TypedAt   time.Time
	AuthUntil time.Time
	// Ended is set when the screen withdrew the link (it moved on, or
	// its session ended): a sign-in that finishes after is not taken.
	Ended bool
	// Result is what the sign-in came to, once its phase says so: the
	// account (LinkPhaseRedeemed and after) or the failure (LinkPhaseFailed), as
	// JSON. It holds no token.
	Result []byte
	// UpdatedAt is when it last changed.
	UpdatedAt time.Time
}

// Phases of a sign-in link, in order.
const (
	// LinkPhaseFresh: shown on the screen; no number typed yet.
	LinkPhaseFresh = "fresh"
	// LinkPhaseAuthorizing: the number was typed right; the phone is at the
	// identity platform.
	LinkPhaseAuthorizing = "authorizing"
	// LinkPhaseRedeeming: its callback came; the code is being redeemed.
	LinkPhaseRedeeming = "redeeming"
	// LinkPhaseRedeemed: the account's tokens are saved; the screen's replica
	// is to take it.
	LinkPhaseRedeemed = "redeemed"
	// LinkPhaseTaken: the screen took the account and records it.
	LinkPhaseTaken = "taken"
	// LinkPhaseSignedIn: the screen shows the account.
	LinkPhaseSignedIn = "signed_in"
	// LinkPhaseFailed: a wrong number, a declined or failed sign-in, or a
	// screen that could not record it (Result says which).
	LinkPhaseFailed = "failed"
	// LinkPhaseAbandoned: the sign-in finished after the screen moved on;
	// nothing took it, and its tokens were forgotten.
	LinkPhaseAbandoned = "abandoned"
)

// ScreenStatus is what the replica that serves a screen says of it, kept
// in the store so that every replica (and its admin page) sees the whole
// fleet.
type ScreenStatus struct {
	ScreenID string
	// Replica serves the screen (or served it last).
	Replica string
	// Connected is true while a browser shows the screen on Replica; the
	// screen is online only while Replica is alive too.
	Connected bool
	// Phase is what the screen shows (the wire phase: "code",
	// "dashboard", ...); Shows the account it shows, as a UPN, when it
	// shows one.
	Phase string
	Shows string
	// AppVersion is the version of the app the browser runs; Browser its
	// family, read from its user agent ("Chrome", "Safari", "Firefox").
	AppVersion string
	Browser    string
	// Since is when Connected took its value: when the screen came or
	// went.
	Since time.Time
	// AlertedAt is when the screen was reported offline; zero when it is
	// not (or was back since).
	AlertedAt time.Time
	// OnlineUntil keeps a screen seen by its page alone (a browser
	// without WebAssembly reloads it now and then) online until its next
	// reload is due.
	OnlineUntil time.Time
	// Touch is what the browser says of itself: it has a touch screen.
	// It decides nothing (what a screen may do is its settings'); the
	// admin page shows it, to tell a tablet from a TV.
	Touch bool
}

// Replica is a running edge server as the others see it.
type Replica struct {
	Name string
	// Seen is when it last said it was alive (every few seconds).
	Seen      time.Time
	StartedAt time.Time
}

// ScreenSettings are an administrator's choices for one screen.
type ScreenSettings struct {
	// TimeZone is an IANA zone; "" means the server's (-time-zone).
	TimeZone string
	Clock24  bool
	Lang     string
	Privacy  bool
	// Hours are the opening hours, "" for always open ("07:00-19:00").
	Hours string
	// SignIn is how people sign in on the screen (SignInDeviceCode,
	// SignInQR or SignInBoth); "" follows the edge server's -sign-in.
	SignIn string
	// NoQuickBook is an administrator's refusal of quick booking on this
	// screen: it shows no booking button, and the edge server refuses a
	// booking from it whatever the browser says of itself in hello (a
	// touch screen is the browser's own claim, which a stolen cookie
	// makes too).
	//
	// Booking is allowed unless refused, the zero value, because quick
	// booking is off on the whole server until -quick-book turns it on:
	// a server that turned it on did so for its room tablets, and they
	// booked before this setting existed. Refusing by default would take
	// the button off every tablet at the upgrade, with no word why. What
	// a stolen cookie can do meanwhile is bounded by the booking rate
	// limit; an administrator refuses booking to the screens that have no
	// use for it (a lobby TV).
	NoQuickBook bool
	// Layout is what a signed-in screen shows: LayoutDashboard (also
	// when ""), LayoutRoom (a meeting room's door panel), or a board
	// (LayoutRooms, LayoutPeople).
	Layout string
	// Actions lets the screen act: sign its account out, and on the
	// calendar it shows book (and quick-book), extend, end and check in.
	// The edge server refuses every action of a screen without it, whatever its browser says of
	// itself (a touch screen is the browser's own claim, which a stolen
	// cookie makes too). Off for a new screen; a screen stored before
	// the setting existed has it unless quick booking was refused
	// (sqlstore), so that tablets that booked go on booking.
	Actions bool
	// AutoRelease has the room decline a meeting nobody checked in to
	// within ReleaseAfterMinutes of its start (1 to 30; 0 is
	// DefaultReleaseAfter), as Teams panels and Robin release no-shows.
	// Off by default.
	AutoRelease         bool
	ReleaseAfterMinutes int
	// Rooms are what a rooms board (LayoutRooms) shows: a room list's
	// email address (its rooms), or rooms' addresses, or both.
	Rooms Addresses
	// People and PeopleGroup are who a people board (LayoutPeople)
	// shows: people by user principal name, and the members of a
	// Microsoft 365 or security group by its id.
	People      Addresses
	PeopleGroup string
}

// Layouts of a signed-in screen (ScreenSettings.Layout).
const (
	LayoutDashboard = "dashboard"
	LayoutRoom      = "room"
	LayoutRooms     = "rooms"
	LayoutPeople    = "people"
)

// DefaultReleaseAfter is how long after its start a meeting nobody
// checked in to is released, when auto-release is on and the screen sets
// no other time (Robin's default).
const DefaultReleaseAfter = 10

// LayoutOrDefault is the screen's layout, LayoutDashboard when none is
// set.
func (s ScreenSettings) LayoutOrDefault() string {
	if s.Layout == "" {
		return LayoutDashboard
	}
	return s.Layout
}

// ReleaseAfter is how long after its start a meeting is released when
// nobody checked in (auto-release on).
func (s ScreenSettings) ReleaseAfter() time.Duration {
	n := s.ReleaseAfterMinutes
	if n <= 0 {
		n = DefaultReleaseAfter
	}
	return time.Duration(n) * time.Minute
}

// Sign-in modes: the ways a screen offers to sign in.
const (
	// SignInDeviceCode: the device code (RFC 8628), its QR code leading
	// to the verification page.
	SignInDeviceCode = "device-code"
	// SignInQR: only the QR code, a one-time link to the edge server that
	// goes on to Microsoft's interactive sign-in (authorization code with
	// PKCE); no code is shown.
	SignInQR = "qr"
	// SignInBoth: the device code and its address as text, and the QR
	// code on the authorization-code path.
	SignInBoth = "both"
)

// Sign-in paths, as the audit trail names them.
const (
	PathDeviceCode = "device_code"
	PathAuthCode   = "auth_code"
)

// Account is a signed-in Microsoft account. Its tokens are not here: they
// live in the identity package's encrypted cache, under the same ID.
type Account struct {
	// ID is MSAL's home account id ("<oid>.<tid>").
	ID          string
	Username    string // the UPN, e.g. ada@placard.example
	DisplayName string
	TenantID    string
	SignedInAt  time.Time
}

// CalendarSync is where an account's calendar stands in its rounds of
// calendarView delta: the window the rounds read, the deltaLink the next
// round starts from, and the events that round's changes apply to, so
// that a replica that takes the account over continues from it.
//
// Neither is sealed: a deltaLink's state token is a cursor into the
// mailbox, of no use without the account's access token (Graph asks for
// it on every round), and the events are what the owner publishes to the
// other replicas in the clear already (their snapshots).
type CalendarSync struct {
	AccountID string
	// Start and End are the window, encoded in the deltaLink: a round of
	// another window starts again from nothing.
	Start, End time.Time
	DeltaLink  string
	// Events are the events held, encoded by the caller (JSON).
	Events []byte
	// Version moves on with every write (PutCalendarSyncIf).
	Version   int64
	UpdatedAt time.Time
}

// RoomMark is what a room's panels know of one of the room's meetings
// beyond Graph: that people checked in to it (RoomCheckedIn), or that the
// room released it because nobody did (RoomReleased). A meeting has one
// mark at most, so that a meeting checked in is never released and one
// released is released once.
type RoomMark struct {
	AccountID string
	EventID   string // Graph's id of the meeting in the room's calendar
	Kind      string
	At        time.Time
}

// RoomMark kinds.
const (
	RoomCheckedIn = "checked_in"
	RoomReleased  = "released"
)

// AuditEvent is one entry of the audit trail.
type AuditEvent struct {
	ID         int64
	Time       time.Time
	Kind       string
	ScreenID   string
	ScreenName string
	Account    string // UPN, when one is involved
	Outcome    string
	Detail     string
}

// Audit event kinds.
const (
	AuditCodeShown      = "code_shown"
	AuditSignIn         = "sign_in"
	AuditSignOut        = "sign_out"
	AuditRefreshFailed  = "refresh_failed"
	AuditEnrolled       = "screen_enrolled"
	AuditScreenCreated  = "screen_created"
	AuditScreenRevoked  = "screen_revoked"
	AuditScreenRenamed  = "screen_renamed"
	AuditScreenForgot   = "screen_forgotten"
	AuditTenantRejected = "tenant_rejected"
	AuditSettings       = "screen_settings"
	AuditCodeRefused    = "code_refused"
	AuditAdminSignIn    = "admin_sign_in"
	AuditAdminToken     = "admin_token"
	AuditLight          = "light_key"
	AuditGroup          = "group"
	AuditScreenGroup    = "screen_group"
	AuditLink           = "provisioning_link"
	AuditReload         = "screen_reload"
	AuditIdentify       = "screen_identify"
	AuditOffline        = "screen_offline"
	// AuditRoomAction: Book now, Extend, End now or Check in on a room's
	// panel, or a meeting its room released (Detail says which).
	AuditRoomAction = "room_action"
)

// AdminRole, OperatorRole and ViewerRole are the Entra app roles that let
// an account sign in to placard's admin page as RoleAdmin, RoleOperator
// or RoleViewer: its id token carries them in the "roles" claim.
const (
	AdminRole    = "placard.admin"
	OperatorRole = "placard.operator"
	ViewerRole   = "placard.viewer"
)

// RoleOfAppRoles is the role the app roles of an id token give, the most
// able when there are several; "" when none of them is placard's.
func RoleOfAppRoles(appRoles []string) string {
	best := ""
	for _, r := range appRoles {
		switch {
		case r == AdminRole:
			return RoleAdmin
		case r == OperatorRole:
			best = RoleOperator
		case r == ViewerRole && best == "":
			best = RoleViewer
		}
	}
	return best
}

// AdminToken is a credential for the admin page and API, made with
// `placard admin token`. Only a hash of its secret is kept: the token is
// shown once, when it is made.
type AdminToken struct {
	ID   string
	Name string // what it is for ("ops laptop")
	// Hash is the SHA-256 of the token's secret.
	Hash []byte
	// Role is what the token may do (RoleAdmin, RoleOperator or
	// RoleViewer); tokens made before roles existed are RoleAdmin's.
	Role      string
	CreatedAt time.Time
}

// Roles on the admin page and API, from the most able to the least.
const (
	// RoleAdmin may do everything.
	RoleAdmin = "admin"
	// RoleOperator runs screens (approve, rename, settings, groups,
	// reload, identify, sign out) but makes no keys, tokens or links.
	RoleOperator = "operator"
	// RoleViewer reads and changes nothing.
	RoleViewer = "viewer"
)

// Light is a light key: it lets a busy-light, Home Assistant or a script
// read one account's presence, and nothing else, with no Microsoft token.
// Only a hash of its secret is kept: the key is shown once, when it is
// made.
type Light struct {
	ID string
	// Name is what the administrator called it ("desk-ada"); it names its
	// MQTT topic, so it is unique.
	Name string
	// Account is the UPN whose presence the key reads, as the
	// administrator gave it.
	Account string
	// AccountID is the account it follows, by tenant and object id (the
	// Account's ID, "<oid>.<tid>"), once known: a UPN is unique within a
	// tenant only, and with several tenants allowed another tenant's
	// account could bear the same one. Empty until an account by that UPN
	// signs in.
	AccountID string
	// Hash is the SHA-256 of the key's secret.
	Hash []byte
	// MQTT publishes the presence to the MQTT broker (when one is set).
	MQTT bool
	// Webhooks are URLs that get the presence by POST on each change and
	// now and then; WebhookSecret signs those bodies (HMAC-SHA256). The
	// store keeps the secret as given: sealing it is the caller's concern
	// (the lights package seals it with the server's key).
	Webhooks      []string
	WebhookSecret []byte
	CreatedAt     time.Time
	// LastPresence is what the key last served, kept so that a restart
	// neither forgets when the presence took its value (Updated) nor
	// serves "unknown" until Graph answers again; the zero Presence when
	// there is none. Stale is not kept.
	LastPresence Presence
}

// Presence is what a light is told of its account.
type Presence struct {
	// Availability and Activity are Graph's values ("Busy", "InACall");
	// PresenceUnknown when Graph has none or the account is signed out.
	Availability string
	Activity     string
	// Updated is when the presence took its current value, as far as
	// placard saw.
	Updated time.Time
	// Stale is true while Graph does not answer (down, throttling).
	Stale bool
	// SignedIn is false when the account is signed in on no screen:
	// nothing reads its presence.
	SignedIn bool
	// Owned is true on the replica that reads the account from Graph (it
	// holds the lease of the account's source), or whose source ended
	// last: that replica alone sends the account's light keys' webhooks and
	// MQTT messages, so that three replicas do not send three of each.
	// It is not part of what a light is served.
	Owned bool
}

// Same reports whether p and q say the same, whenever they were read.
func (p Presence) Same(q Presence) bool {
	p.Updated, q.Updated = time.Time{}, time.Time{}
	return p == q
}

// Store keeps the edge server's state. Every backend passes the same
// conformance suite (storetest).
type Store interface {
	CreateScreen(ctx context.Context, s Screen) error
	Screen(ctx context.Context, id string) (Screen, error)
	Screens(ctx context.Context) ([]Screen, error)
	// UpdateScreen applies fn to the stored screen atomically.
	UpdateScreen(ctx context.Context, id string, fn func(*Screen) error) (Screen, error)
	DeleteScreen(ctx context.Context, id string) error

	PutAccount(ctx context.Context, a Account) error
	Account(ctx context.Context, id string) (Account, error)
	DeleteAccount(ctx context.Context, id string) error

	// TokenCache and PutTokenCache keep an account's MSAL cache, as given:
	// encrypting it is the caller's concern.
	TokenCache(ctx context.Context, accountID string) ([]byte, error)
	PutTokenCache(ctx context.Context, accountID string, blob []byte) error
	DeleteTokenCache(ctx context.Context, accountID string) error
	// TokenCacheVersion returns the blob with its version, which every
	// write moves on (ErrNotFound when there is none). PutTokenCacheIf
	// writes blob only while the stored version is still version (0:
	// while there is none) and returns the new version; otherwise it is a
	// conflict and the stored cache stays: a replica that read an older
	// cache (and lost its lease meanwhile) never overwrites a newer one.
	//
	// A deleted cache leaves a tombstone whose version moves on, so that
	// an account's versions never repeat: a write with a version read
	// before a sign-out and a new sign-in is a conflict. Reads treat a
	// tombstone as absent, and PutTokenCacheIf with 0 writes over it. A
	// blob is never empty (EINVALID).
	//
	// As versions never repeat, a caller that holds version have (not 0)
	// needs nothing more while it is the stored one: TokenCacheVersion
	// then returns a nil blob with the version, and leaves the blob
	// unread (every poll of every account asks).
	TokenCacheVersion(ctx context.Context, accountID string, have int64) ([]byte, int64, error)
	PutTokenCacheIf(ctx context.Context, accountID string, blob []byte, version int64) (int64, error)

	// CalendarSync returns where an account's calendar stands in its
	// rounds of delta (ErrNotFound when nowhere). PutCalendarSyncIf
	// writes it only while the stored version is still c.Version (0:
	// while there is none) and returns the new version; otherwise it is a
	// conflict and the stored one stays: an owner that lost the account's
	// lease never writes over its new owner's rounds. DeleteCalendarSync
	// forgets it (none is no error).
	CalendarSync(ctx context.Context, accountID string) (CalendarSync, error)
	PutCalendarSyncIf(ctx context.Context, c CalendarSync) (int64, error)
	DeleteCalendarSync(ctx context.Context, accountID string) error

	// PutRoomMark records a mark of a room's meeting unless the meeting
	// has one, and reports whether it did: of two replicas that release
	// the same meeting, or a check-in racing its release, one wins.
	// RoomMarks returns an account's marks made at or after since, oldest
	// first. DeleteRoomMark forgets a meeting's mark of that kind (a
	// release Graph refused is tried again; none is no error);
	// DeleteRoomMarksBefore forgets the marks made before a time.
	PutRoomMark(ctx context.Context, m RoomMark) (bool, error)
	RoomMarks(ctx context.Context, accountID string, since time.Time) ([]RoomMark, error)
	DeleteRoomMark(ctx context.Context, accountID, eventID, kind string) error
	DeleteRoomMarksBefore(ctx context.Context, before time.Time) error

	// CreateAdminToken stores a new admin token; an existing id is a
	// conflict. AdminToken returns one (or ErrNotFound), AdminTokens all of
	// them, oldest first.
	CreateAdminToken(ctx context.Context, t AdminToken) error
	AdminToken(ctx context.Context, id string) (AdminToken, error)
	AdminTokens(ctx context.Context) ([]AdminToken, error)
	DeleteAdminToken(ctx context.Context, id string) error

	// CreateLight stores a new light key; an existing id or name is a
	// conflict. Light returns one (or ErrNotFound), Lights all of them,
	// oldest first.
	CreateLight(ctx context.Context, l Light) error
	Light(ctx context.Context, id string) (Light, error)
	Lights(ctx context.Context) ([]Light, error)
	// UpdateLight applies fn to the stored light key atomically (ENOTFOUND
	// when there is none); its id cannot change, and fn's error is
	// returned as it is.
	UpdateLight(ctx context.Context, id string, fn func(*Light) error) (Light, error)
	DeleteLight(ctx context.Context, id string) error

	// CreateGroup stores a new group; an existing id or name is a
	// conflict. Group returns one (or ErrNotFound), Groups all of them by
	// name. UpdateGroup applies fn atomically (a name another group has
	// is a conflict); the id cannot change. DeleteGroup removes a group,
	// not its screens.
	CreateGroup(ctx context.Context, g Group) error
	Group(ctx context.Context, id string) (Group, error)
	Groups(ctx context.Context) ([]Group, error)
	UpdateGroup(ctx context.Context, id string, fn func(*Group) error) (Group, error)
	DeleteGroup(ctx context.Context, id string) error

	// CreateLink stores a new provisioning link; an existing id is a
	// conflict. Link returns one (or ErrNotFound), Links all of them,
	// oldest first. UpdateLink applies fn atomically (counting a use,
	// revoking); the id cannot change.
	CreateLink(ctx context.Context, l Link) error
	Link(ctx context.Context, id string) (Link, error)
	Links(ctx context.Context) ([]Link, error)
	UpdateLink(ctx context.Context, id string, fn func(*Link) error) (Link, error)

	// CreateSignInLink stores a new sign-in link; an existing id is a
	// conflict. SignInLink returns one by id, SignInLinkByState the one
	// whose State is state (ErrNotFound for none). UpdateSignInLink
	// applies fn atomically (each phase is taken once, whichever replica
	// takes it); the id cannot change, and fn's error is returned as it
	// is. DeleteSignInLinks forgets the links that expired, and whose
	// sign-in had to come back, before a time, and returns how many.
	CreateSignInLink(ctx context.Context, l SignInLink) error
	SignInLink(ctx context.Context, id string) (SignInLink, error)
	SignInLinkByState(ctx context.Context, state string) (SignInLink, error)
	UpdateSignInLink(ctx context.Context, id string, fn func(*SignInLink) error) (SignInLink, error)
	DeleteSignInLinks(ctx context.Context, before time.Time) (int, error)

	// PutScreenStatus records what a replica says of a screen, replacing
	// what was said before; UpdateScreenStatus applies fn atomically to
	// the stored one (ErrNotFound when there is none). ScreenStatuses
	// returns every screen's. DeleteScreenStatus forgets a screen's.
	PutScreenStatus(ctx context.Context, st ScreenStatus) error
	UpdateScreenStatus(ctx context.Context, screenID string, fn func(*ScreenStatus) error) (ScreenStatus, error)
	ScreenStatuses(ctx context.Context) ([]ScreenStatus, error)
	DeleteScreenStatus(ctx context.Context, screenID string) error
	// PutReplica records that a replica is alive (and forgets those not
	// seen for a day before it); Replicas lists those that said so, most
	// recent first.
	PutReplica(ctx context.Context, r Replica) error
	Replicas(ctx context.Context) ([]Replica, error)
	// Setting returns a value the edge server keeps about itself (the
	// sealed check of its key), or ErrNotFound. PutSettingOnce stores
	// value under name unless one is there, and returns the value stored:
	// value, or the first one put when replicas race. A value is never
	// empty (EINVALID).
	Setting(ctx context.Context, name string) ([]byte, error)
	PutSettingOnce(ctx context.Context, name string, value []byte) ([]byte, error)

	AppendAudit(ctx context.Context, e AuditEvent) error
	// Audit returns the most recent events, newest first.
	Audit(ctx context.Context, limit int) ([]AuditEvent, error)

	// Ping checks that the store answers, and that it writes again after
	// a write failed because the database could not write (a full disk).
	Ping(ctx context.Context) error
	Close() error
}
