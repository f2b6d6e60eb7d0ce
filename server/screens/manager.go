// Package screens runs every screen: its sign-in, the account it shows, and
// the state pushed to it.
//
// # Sessions
//
// A screen has a session while a browser is connected to it (and for a
// grace period after, so that a reload keeps its code), or while its page
// is viewed again and again (a browser without WebAssembly reloads it). A
// session is the screen's state machine: pairing (waiting for an
// administrator), sign-in offers (a device code, a QR code's link), a
// problem shown for a while, or the dashboard of its account. Each session
// has its own small lock, which guards its fields and nothing else.
//
// # Sources and subscribers
//
// What screens show comes from data sources (package source). An
// account's source (watch.go) polls Graph once for every screen that
// shows the account and every light key that follows it: its profile,
// calendar and presence. Only the replica that owns the source (its lease)
// polls it; the others show what the owner published. Polls are spread
// by up to a twentieth of their period, so that accounts that polled
// together drift apart, and a presence read is shown before the
// calendar's round of the same poll. A poll that changed something makes
// an immutable snapshot; the source tells its subscribers of it outside
// its own lock, in order. The subscribers are the sessions that show the
// account (shown) and the light keys that follow it (following).
//
// # From a snapshot to a screen
//
// A session told of a snapshot takes what its screen shows (a look) under
// its lock, and renders it outside: the part of a dashboard that depends
// only on the snapshot and the screen's view (time zone and privacy) is
// encoded once per view and shared by every screen with that view
// (source.View); only the screen's own part (its name and settings, its
// photo's address, its booking buttons) is made per screen. A state is
// sent only when it differs from the last one sent, as a frame numbered
// in the order looks were taken: the hub drops a frame older than one it
// queued already, so an older snapshot never overwrites a newer one.
//
// # Locks
//
// Manager.mu guards the map of sessions, links.mu who waits on sign-in
// links (the links are in the store), followMu the map of followers, each
// session, follower and source its own fields. They are taken in this order, never the other way round:
// a session's lock, then Manager.mu or followMu, then a follower's lock,
// then a source Set's lock, then a source's lock. None is held while
// encoding, hashing, or writing to a connection or the store: a source
// tells its subscribers after unlocking, a session renders after
// unlocking.
package screens

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math/big"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/graph"
	"github.com/placard/placard/server/identity"
	"github.com/placard/placard/server/limit"
	"github.com/placard/placard/server/secret"
	"github.com/placard/placard/server/source"
)

// Publisher delivers screens' messages to their connections.
type Publisher interface {
	// Send queues each frame for every connection of its screen, in order
	// of Seq (an older frame than one queued already for the same screen
	// is dropped). It does not wait for the frames to be written: a
	// screen that does not keep up is dropped, not waited for. The frames
	// are the publisher's once given.
	Send(frames ...server.Frame)
	// Disconnect closes every connection of the screen after sending msg.
	Disconnect(screenID string, msg []byte)
}

// Config configures a Manager.
type Config struct {
	Store     server.Store
	Identity  *identity.Client
	Graph     *graph.Client
	Publisher Publisher
	Log       *slog.Logger
	// Now is the clock of what screens are shown (expiry, freshness).
	Now func() time.Time
	// AutoEnroll lets new screens ask for codes without an administrator
	// (the sandbox's default).
	AutoEnroll bool
	// TimeZone is the zone of screens that have none configured: the
	// server's (-time-zone, else the machine's), UTC when empty.
	TimeZone string
	// SignIn is how screens sign in unless their settings say otherwise:
	// server.SignInDeviceCode (the default), SignInQR or SignInBoth.
	SignIn string
	// PublicURL is where phones reach the edge server: the QR code's
	// sign-in links and their callback are under it. Sign-in by QR needs
	// it.
	PublicURL string
	// Organisation is named on the phone's sign-in page; "" for none.
	Organisation string
	// LinkLifetime is how long a QR code's link works when it is the only
	// offer (DefaultLinkLifetime when zero); beside a device code, both
	// are replaced together.
	LinkLifetime time.Duration
	// TypedWait is how long a screen keeps showing a link whose number a
	// phone typed before it offers a fresh one, still waiting for that
	// phone's sign-in beside it (DefaultTypedWait when zero).
	TypedWait time.Duration
	// Box seals what a QR code's sign-in keeps in the store (its number,
	// its PKCE verifier and nonce): the server's key, the same on every
	// replica.
	Box *secret.Box
	// QRContent is what a QR code carries for a code; the verification
	// URI by default.
	QRContent func(verificationURI, userCode string) string
	// OnCode is told which screen a user code is for (the sandbox's phone
	// page names the screen).
	OnCode func(userCode, screenName string)
	// Grace is how long a session outlives its last connection, so that a
	// reload keeps the same code: 30 s by default.
	Grace time.Duration
	// ViewHold is how long a view of a screen's page holds its session
	// when no connection does: more than the page's slowest refresh
	// without WebAssembly, so that such a screen keeps its code and its
	// account's watch between reloads. 2 minutes by default.
	ViewHold time.Duration
	// ProblemHold is how long a problem is shown before the screen moves on
	// by itself (a new code after a decline): 8 s by default.
	ProblemHold time.Duration
	// HoursEvery is how often screens are checked against their opening
	// hours: a screen wakes (or dims) within this time of the hour it was
	// given. 20 s by default.
	HoursEvery time.Duration
	// PollEvery is the presence period of an account shown on screens
	// (-poll-every); CalendarEvery is how often its calendar is read
	// (-calendar-every, DefaultCalendarEvery when zero), by a round of
	// calendarView delta.
	PollEvery     time.Duration
	CalendarEvery time.Duration
	// ScheduleEvery is how often a board reads its rooms' or people's
	// free/busy (getSchedule, which has no delta: a request per 20
	// mailboxes each time): DefaultScheduleEvery when zero.
	ScheduleEvery time.Duration
	// After is the timer of polls and of the presence budget's waits:
	// time.After when nil. A test whose clock (Now) runs faster than
	// time gives timers that run as fast.
	After func(time.Duration) <-chan time.Time
	// FollowEvery is the presence period of a followed account
	// (DefaultFollowEvery when zero). PresenceBudget is Graph's presence
	// limit for the tenant (DefaultPresenceBudget per 30 s when zero):
	// placard's presence requests, all accounts together, stay under half
	// of it, and periods stretch evenly to stay there.
	FollowEvery    time.Duration
	PresenceBudget limit.Rate
	// Metrics receives counts; nil for none.
	Metrics Metrics
	// CodesPerScreen and CodesTotal bound how often device codes are
	// asked for, by one screen and by all together (DefaultCodesPerScreen
	// and DefaultCodesTotal when zero).
	CodesPerScreen limit.Rate
	CodesTotal     limit.Rate
	// BookingsPerScreen and BookingsPerAccount bound quick bookings
	// (DefaultBookingsPerScreen and DefaultBookingsPerAccount when zero).
	BookingsPerScreen  limit.Rate
	BookingsPerAccount limit.Rate
	// ForgetWaiting is how long a screen that was never enrolled is kept
	// after it was last seen: 7 days by default. Anyone who reaches the
	// server can make one, so they must not pile up.
	ForgetWaiting time.Duration
	// SeenEvery is how often the screens that are connected are recorded
	// as seen (LastSeen): an hour by default. They are also when they
	// connect and when they go.
	SeenEvery time.Duration
	// Cluster is what replicas share: who owns each source, its
	// snapshots as its owner made them, word of screens changed
	// elsewhere, the limit of codes for all. Nil for an edge server that
	// runs alone.
	Cluster server.Cluster
	// LeaseRenew is how often a source renews (or tries to take) its
	// lease: 3 s by default, well within a lease.
	LeaseRenew time.Duration
	// Observer is told what each screen shows when that changes (its
	// phase, its account), for the fleet's list across replicas; nil for
	// none. It is called outside any lock, and must not wait.
	Observer Observer
	// EnrollPoll is how often a screen that waits for enrollment reads its
	// record again, so that an approval made by the CLI (another process)
	// is noticed: 3 s by default.
	EnrollPoll time.Duration
}

// Observer is told what screens show (fleet.Fleet).
type Observer interface {
	// Showing says a screen shows phase ("code", "dashboard", ...) and
	// the account, as a UPN, when it shows one.
	Showing(screenID, phase, account string)
}

// Metrics is what the manager counts.
type Metrics interface {
	SignIn(outcome string)
	TokenRefresh(outcome string)
	PollLag(d time.Duration)
	// Lease counts an account's lease gained (true) or lost.
	Lease(gained bool)
}

type noMetrics struct{}

func (noMetrics) SignIn(string)         {}
func (noMetrics) TokenRefresh(string)   {}
func (noMetrics) PollLag(time.Duration) {}
func (noMetrics) Lease(bool)            {}

// Manager runs the screens' sessions and the accounts' sources.
type Manager struct {
	cfg Config
	log *slog.Logger

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the manager started
	// closing is set when Close begins: no goroutine starts after.
	closeMu sync.Mutex
	closing bool
	running gauge // goroutines running, for tests

	codes    codeLimits
	bookings bookLimits
	// roomActs bound the actions of rooms' panels (room.go).
	roomActs bookLimits
	// started is when the manager started (Config.Now).
	started time.Time
	// seed hashes the states published, to tell a change.
	seed maphash.Seed
	// bookable is whether the server may write to calendars (ScopeBook).
	bookable bool

	pace *pace
	// sources runs the data sources; accounts are the accounts' sources
	// that screens show or light keys follow.
	sources  *source.Runtime
	accounts *source.Set[*accountData, *watch]
	// roomBoards and peopleBoards are the boards' sources (board.go).
	roomBoards, peopleBoards *source.Set[*boardData, *board]
	// outlook bounds the Outlook requests of boards under way at once,
	// per account (boardpoll.go).
	outlook outlookGates
	// nFollowed counts the accounts' sources that something follows, for
	// the pace.
	nFollowed atomic.Int64

	// gen numbers the looks taken of screens, in the order they were
	// taken: a frame's Seq.
	gen atomic.Uint64
	// encodes counts the views of snapshots encoded (one per view of a
	// snapshot, however many screens show it).
	encodes atomic.Int64
	// clocked is the last clock encoded for a screen.
	clocked atomic.Pointer[clocked]

	// mu guards the map of sessions, not the sessions.
	mu       sync.Mutex
	sessions map[string]*session
	active   gauge // sessions, for tests

	links *links

	// followMu guards the map of followers, not the followers.
	followMu  sync.Mutex
	followers map[Follower]*followed
	// roomsChanged asks keepRooms to check which followed accounts are
	// rooms' (roomlight.go).
	roomsChanged chan struct{}
}

// New returns a Manager; Close stops it.
func New(cfg Config) (*Manager, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("screens: no store")
	case cfg.Identity == nil:
		return nil, errors.New("screens: no identity")
	case cfg.Graph == nil:
		return nil, errors.New("screens: no Graph client")
	case cfg.Publisher == nil:
		return nil, errors.New("screens: no publisher")
	case cfg.Box == nil:
		return nil, errors.New("screens: no box to seal sign-in links with (the server's key)")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TimeZone == "" {
		cfg.TimeZone = "UTC"
	}
	if cfg.QRContent == nil {
		cfg.QRContent = func(uri, _ string) string { return uri }
	}
	if cfg.OnCode == nil {
		cfg.OnCode = func(string, string) {}
	}
	if cfg.Grace == 0 {
		cfg.Grace = 30 * time.Second
	}
	if cfg.ViewHold == 0 {
		cfg.ViewHold = 2 * time.Minute
	}
	switch cfg.SignIn {
	case "":
		cfg.SignIn = server.SignInDeviceCode
	case server.SignInDeviceCode:
	case server.SignInQR, server.SignInBoth:
		if cfg.PublicURL == "" {
			return nil, fmt.Errorf("screens: sign-in %q needs the public URL that phones reach", cfg.SignIn)
		}
	default:
		return nil, fmt.Errorf("screens: sign-in %q is not device-code, qr or both", cfg.SignIn)
	}
	if cfg.LinkLifetime == 0 {
		cfg.LinkLifetime = DefaultLinkLifetime
	}
	if cfg.TypedWait == 0 {
		cfg.TypedWait = DefaultTypedWait
	}
	if cfg.ProblemHold == 0 {
		cfg.ProblemHold = 8 * time.Second
	}
	if cfg.HoursEvery == 0 {
		cfg.HoursEvery = 20 * time.Second
	}
	if cfg.PollEvery == 0 {
		cfg.PollEvery = 30 * time.Second
	}
	if cfg.CalendarEvery == 0 {
		cfg.CalendarEvery = DefaultCalendarEvery
	}
	if cfg.ScheduleEvery == 0 {
		cfg.ScheduleEvery = DefaultScheduleEvery
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	if cfg.FollowEvery == 0 {
		cfg.FollowEvery = DefaultFollowEvery
	}
	if cfg.PresenceBudget.Max == 0 {
		cfg.PresenceBudget.Max = DefaultPresenceBudget
	}
	if cfg.PresenceBudget.Per == 0 {
		cfg.PresenceBudget.Per = 30 * time.Second
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	if cfg.ForgetWaiting == 0 {
		cfg.ForgetWaiting = 7 * 24 * time.Hour
	}
	if cfg.SeenEvery == 0 {
		cfg.SeenEvery = time.Hour
	}
	if cfg.LeaseRenew == 0 {
		cfg.LeaseRenew = 3 * time.Second
	}
	if cfg.EnrollPoll == 0 {
		cfg.EnrollPoll = 3 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{
		cfg: cfg, log: cfg.Log, ctx: ctx, cancel: cancel, codes: newCodeLimits(cfg), bookings: newBookLimits(cfg), roomActs: newRoomLimits(cfg), seed: maphash.MakeSeed(),
		started:      cfg.Now(),
		bookable:     slices.Contains(cfg.Identity.Scopes(), ScopeBook),
		sessions:     map[string]*session{},
		pace:         newPace(cfg),
		followers:    map[Follower]*followed{},
		roomsChanged: make(chan struct{}, 1),
		links:        newLinks(),
	}
	if m.cfg.Cluster == nil {
		m.cfg.Cluster = alone{codes: m.codes.total}
	}
	m.sources = source.NewRuntime(source.Config{
		Context: ctx, Cluster: m.cfg.Cluster, Log: m.log, Go: m.goroutine, Now: cfg.Now, LeaseRenew: cfg.LeaseRenew, After: cfg.After,
	})
	m.accounts = source.NewSet[*accountData, *watch](m.sources)
	m.roomBoards = source.NewSet[*boardData, *board](m.sources)
	m.peopleBoards = source.NewSet[*boardData, *board](m.sources)
	m.goroutine(m.hear)
	m.goroutine(m.keepHours)
	m.goroutine(m.forgetWaitingScreens)
	m.goroutine(m.keepSeen)
	m.goroutine(m.keepReleasing)
	m.goroutine(m.keepRooms)
	return m, nil
}

// Close stops every session and source and waits for their goroutines.
func (m *Manager) Close() {
	m.closeMu.Lock()
	m.closing = true
	m.closeMu.Unlock()
	m.cancel()
	for _, s := range m.allSessions() {
		s.mu.Lock()
		if s.grace != nil {
			s.grace.Stop()
		}
		s.mu.Unlock()
	}
	m.wg.Wait()
}

// goroutine runs f as one of the manager's goroutines, unless Close has
// begun: a goroutine started then would outlive it, and use the store after
// it was closed. It reports whether f runs.
func (m *Manager) goroutine(f func()) bool {
	m.closeMu.Lock()
	defer m.closeMu.Unlock()
	if m.closing {
		return false
	}
	m.wg.Add(1)
	m.running.add(1)
	go func() {
		defer m.wg.Done()
		defer m.running.add(-1)
		f()
	}()
	return true
}

// allSessions returns the sessions that run now.
func (m *Manager) allSessions() []*session {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*session, 0, len(m.sessions))
	for _, s := range m.sessions {
		out = append(out, s)
	}
	return out
}

// session returns the screen's session, nil when none runs.
func (m *Manager) session(id string) *session {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessions[id]
}

// gauge is a count that can be waited on: a test waits for the manager's
// goroutines to settle rather than polling their number.
type gauge struct {
	mu sync.Mutex
	n  int
	// changed is closed at the next change, and made only when someone
	// waits: counting allocates nothing when nobody does.
	changed chan struct{}
}

func (g *gauge) add(d int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n += d
	if g.changed != nil {
		close(g.changed)
		g.changed = nil
	}
}

// value returns the count, and a channel closed when it next changes.
func (g *gauge) value() (int, <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.changed == nil {
		g.changed = make(chan struct{})
	}
	return g.n, g.changed
}

// Credential is what a screen's browser holds: its id and secret. The
// server keeps only the secret's hash.
type Credential struct {
	ScreenID string
	Secret   string
}

// String is the credential as the screen's cookie holds it.
func (c Credential) String() string { return c.ScreenID + "." + c.Secret }

// ParseCredential reads a credential from a cookie value.
func ParseCredential(v string) (Credential, bool) {
	id, secret, ok := strings.Cut(v, ".")
	if !ok || id == "" || secret == "" || len(v) > 200 {
		return Credential{}, false
	}
	return Credential{ScreenID: id, Secret: secret}, true
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// ErrUnknownScreen is returned for a credential the server does not know or
// that does not match (revoked, or from another server).
var ErrUnknownScreen = server.Errorf(server.EUNAUTHORIZED, "unknown screen: open the screen's page again to register it")

// Authenticate returns the screen a credential belongs to.
func (m *Manager) Authenticate(ctx context.Context, c Credential) (server.Screen, error) {
	sc, err := m.cfg.Store.Screen(ctx, c.ScreenID)
	if server.IsNotFound(err) {
		return sc, ErrUnknownScreen
	}
	if err != nil {
		return sc, fmt.Errorf("screens: authenticating %s: %w", c.ScreenID, err)
	}
	if subtle.ConstantTimeCompare(sc.SecretHash, hashSecret(c.Secret)) != 1 {
		return server.Screen{}, ErrUnknownScreen
	}
	return sc, nil
}

// Open returns the screen of a page request: the one its credential names,
// or a new screen called name when it has none (or a stale one). A new
// screen's credential is returned for the browser to keep.
func (m *Manager) Open(ctx context.Context, name string, cred *Credential) (server.Screen, *Credential, error) {
	if cred != nil {
		sc, err := m.Authenticate(ctx, *cred)
		if err == nil {
			return sc, nil, nil
		}
		if !errors.Is(err, ErrUnknownScreen) {
			return sc, nil, err
		}
	}
	detail := "waiting for enrollment"
	if m.cfg.AutoEnroll {
		detail = "enrolled automatically"
	}
	return m.Create(ctx, server.Screen{Name: name, Enrolled: m.cfg.AutoEnroll}, detail)
}

// Create registers a new screen as sc says (its name, whether it is
// enrolled, and what a provisioning link gives it: a group, its settings,
// why it waits), with a new id and credential, which it returns for the
// browser to keep; a screen that is not enrolled gets a pairing number.
// detail says how it came, for the audit trail.
func (m *Manager) Create(ctx context.Context, sc server.Screen, detail string) (server.Screen, *Credential, error) {
	if err := wire.ValidateName(sc.Name); err != nil {
		return server.Screen{}, nil, server.Errorf(server.EINVALID, "%v: use ?screen=NAME with a short printable name", err)
	}
	newCred := Credential{ScreenID: newID(), Secret: newSecret()}
	now := m.cfg.Now()
	sc.ID, sc.SecretHash, sc.CreatedAt, sc.LastSeen, sc.AccountID = newCred.ScreenID, hashSecret(newCred.Secret), now, now, ""
	sc.PairingNumber = ""
	if !sc.Enrolled {
		sc.PairingNumber = newPairingNumber()
	}
	if err := m.cfg.Store.CreateScreen(ctx, sc); err != nil {
		return sc, nil, fmt.Errorf("screens: creating screen %q: %w", sc.Name, err)
	}
	m.audit(ctx, server.AuditEvent{Kind: server.AuditScreenCreated, ScreenID: sc.ID, ScreenName: sc.Name, Outcome: "ok", Detail: detail})
	return sc, &newCred, nil
}

func newID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return "s" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newPairingNumber returns 6 random digits. Uniqueness among screens that
// wait is checked when an administrator approves one: a clash is refused
// there, never resolved by guessing.
func newPairingNumber() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000))
	return fmt.Sprintf("%06d", n.Int64())
}

// audit records an event in the store and the log. A failure to record is
// logged, never returned: the audit trail must not stop a screen.
func (m *Manager) audit(ctx context.Context, e server.AuditEvent) {
	if e.Time.IsZero() {
		e.Time = m.cfg.Now()
	}
	record(ctx, m.cfg.Store, m.log, e)
}
