// Package sandbox emulates the Microsoft identity platform v2.0 and
// Microsoft Graph v1.0 in process, for the demo and for every test.
//
// MSAL Go and the Graph client reach it through Transport, an
// http.RoundTripper that answers for login.microsoftonline.com and
// graph.microsoft.com, so their code path is the production one and only the
// transport differs. Listen serves the same emulation over HTTPS on an
// address of its own, for clients outside the edge server (curl, another
// MSAL, a Graph SDK). Handler serves what a person and a test use on the
// edge server itself: the phone page (/sandbox/devicelogin), the sign-in
// page of the authorization code grant (/sandbox/login/...), the demo page
// (/sandbox/) and the control API (/sandbox/api/...).
//
// It follows the documented protocols (sources cited beside each rule; what
// no source settles says "unconfirmed") and has a switch for every fault a
// deployment meets.
package sandbox

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/placard/placard/server/limit"
)

// The emulated tenant and its one registered public client application.
const (
	TenantID     = "4f1c2a7e-9b3d-4e8a-b6c5-0d2f7a91e3b8"
	TenantDomain = "placard.example"
	ClientID     = "8a3e6f0b-2c47-4d19-9e85-b71a4c0d6f23"

	LoginHost = "login.microsoftonline.com"
	GraphHost = "graph.microsoft.com"
)

// Options configure a Sandbox. Zero values are the documented defaults.
type Options struct {
	// Now is the base clock; the sandbox adds what Advance moved it by.
	Now func() time.Time
	// Seed makes demo calendars reproducible.
	Seed uint64
	// Anchor is the moment the demo calendars lay "today" around: a
	// meeting under way, a next one, a cancelled one, a private one. The
	// sandbox's start (Now) when zero; tests set it to walk the calendar
	// over any day.
	Anchor time.Time
	// VerificationURL is the phone page's URL as a phone reaches it
	// (http://192.168.1.20:8080/sandbox/devicelogin).
	VerificationURL string
	// RedirectURIs are the redirect URIs registered for the sandbox's
	// application besides the loopback ones (http://localhost and
	// http://127.0.0.1, any port): the edge server's
	// <public url>/signin/callback.
	RedirectURIs []string
	// CodeLifetime is a device code's lifetime: 15 minutes by default.
	CodeLifetime time.Duration
	// AccessTokenLifetime is fixed when set; by default it is drawn
	// between 60 and 90 minutes, as the platform does.
	AccessTokenLifetime time.Duration
	// KeyFile keeps the signing key across restarts (created 0600 when
	// missing), so that tokens issued before a restart stay valid, as
	// they do with the real platform. Empty: a new key each start.
	KeyFile string
	// StateFile keeps what must survive a restart of the edge server:
	// revoked sessions, presence set by hand, events created, cancelled
	// or deleted. Empty: kept in memory only.
	StateFile string
	Logger    *slog.Logger
	// NumberedUsers adds that many demo users beside the four that are
	// always present (user0001@placard.example, ...), so that a load test
	// can sign screens in to many accounts: MaxNumberedUsers at most.
	// They are the members of a group of their own, "Numbered people".
	NumberedUsers int
	// NumberedRooms adds that many rooms (room0001@placard.example, ...)
	// in room lists of 40 (numbered-rooms-01@placard.example, ...), so
	// that a test has door panels and boards of many rooms:
	// MaxNumberedRooms at most.
	NumberedRooms int
	// LongPoll is how long GET /sandbox/api/users/{upn}/requests?after=n
	// waits at most for a request numbered above n: 25 s by default,
	// under the minute after which proxies and clients commonly give up
	// on an idle answer.
	LongPoll time.Duration
}

// defaultLongPoll is Options.LongPoll's default.
const defaultLongPoll = 25 * time.Second

// Faults are the failure switches. PUT /sandbox/api/faults replaces them
// whole; omitted fields are off.
type Faults struct {
	// ConditionalAccessBlock is a Conditional Access policy that blocks
	// every sign-in (device code and authorization code) and the refresh
	// of every session.
	ConditionalAccessBlock bool `json:"conditional_access_block"`
	// BlockDeviceCode is the "Block device code flow" policy: the
	// device-code grant is refused with AADSTS53003, the refresh of a
	// session begun with a device code with AADSTS530036; the
	// authorization code grant is let through.
	BlockDeviceCode bool `json:"block_device_code"`
	// GraphThrottleSeconds > 0 answers every Graph request 429 with that
	// Retry-After.
	GraphThrottleSeconds int `json:"graph_throttle_seconds"`
	// GraphServerError answers every Graph request 503.
	GraphServerError bool `json:"graph_server_error"`
	// GraphUnreachable refuses connections to Graph.
	GraphUnreachable bool `json:"graph_unreachable"`
	// IdentityUnreachable refuses connections to the identity platform.
	IdentityUnreachable bool `json:"identity_unreachable"`
	// LatencyMS delays every answer, of both services.
	LatencyMS int `json:"latency_ms"`
	// ExpireDeltaTokens: turning it on expires every delta token issued
	// until then, as when Exchange drops them from its cache; their next
	// use answers 410 SyncStateNotFound. Tokens issued while it is on
	// work: turn it off and on again to expire those.
	ExpireDeltaTokens bool `json:"expire_delta_tokens"`
	// PlaceConsentMissing: no administrator has consented to
	// Place.Read.All for the application, so a sign-in that asks for it
	// fails (AADSTS90094) and tokens lack it.
	PlaceConsentMissing bool `json:"place_consent_missing"`
	// RefuseReusedRefreshToken refuses a refresh token presented a second
	// time and ends the session it belongs to, so that the token issued in
	// its place fails too: the reuse detection of RFC 9700 §4.14.2, which
	// authorization servers that rotate refresh tokens apply (Auth0, Okta).
	// Entra ID documents no reuse detection (unconfirmed either way), so
	// it is off by default; a client must never send one refresh token
	// twice, and this switch is how a test sees it did.
	RefuseReusedRefreshToken bool `json:"refuse_reused_refresh_token"`
}

// Sandbox is one emulated tenant with its demo users.
type Sandbox struct {
	opts Options
	log  *slog.Logger

	key *rsa.PrivateKey
	// refreshAEAD seals and opens refresh tokens, deltaAEAD delta's
	// state tokens.
	refreshAEAD cipher.AEAD
	deltaAEAD   cipher.AEAD
	keyID       string // "kid" and "x5t" of the signing key
	keyCert     []byte // the key's self-signed certificate, for "x5c"
	signer      jose.Signer

	mu     sync.Mutex
	offset time.Duration
	faults Faults
	rng    *mrand.Rand
	users  map[string]*user // by UPN
	byOID  map[string]*user
	// people are the users who organise meetings (people with a
	// mailbox, rooms left out), by UPN; roomLists and groups are the
	// directory's. None changes after New.
	people    []*user
	abroad    map[string][]*user // people outside each zone
	roomLists []roomList
	groups    []group
	grants    map[string]*grant
	byCode    map[string]*grant    // by user code
	codes     map[string]*authCode // authorization codes
	guesses   *limit.Limiter       // wrong codes per client address
	requests  map[string]int       // per endpoint, for tests
	counted   chan struct{}        // closed and replaced on every request counted or logged
	listener  *Listener

	// anchor is when the sandbox started: the demo calendars lay today's
	// meetings around it.
	anchor  time.Time
	created map[string][]*calEvent // events added through the API, per UPN
	removed map[string]bool        // generated events deleted or cancelled
	// load is the Outlook requests to each mailbox (by UPN), and
	// presenceLoad the tenant's presence requests (budget.go).
	load         map[string]*mailboxLoad
	presenceLoad window
	// deltaEpoch counts the times expire_delta_tokens was turned on:
	// delta tokens of an earlier epoch are expired. Kept in the state
	// file.
	deltaEpoch int
	// seq numbers the changes of stored events (Seq), for delta; kept
	// in the state file.
	seq int64
	// tombstones are the events that left each calendar (by UPN), for
	// delta; kept in memory only.
	tombstones map[string][]tombstone

	// redeemed are the refresh tokens redeemed while
	// RefuseReusedRefreshToken is on (by nonce, with their expiry), and
	// reused the sessions it ended. Kept in memory only.
	redeemed map[string]time.Time
	reused   map[string]bool

	// sessions are the browsers signed in at the authorization endpoint
	// (its session cookie's value → the user), for single sign-on: kept
	// in memory only.
	sessions map[string]*user
}

// New returns a sandbox with its demo users, and the state a previous run
// left in Options.StateFile.
func New(opts Options) (*Sandbox, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CodeLifetime == 0 {
		opts.CodeLifetime = defaultCodeLifetime
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.LongPoll == 0 {
		opts.LongPoll = defaultLongPoll
	}
	key, err := loadKey(opts.KeyFile)
	if err != nil {
		return nil, err
	}
	cert, err := signingCertificate(key)
	if err != nil {
		return nil, err
	}
	aead, err := refreshCipher(key)
	if err != nil {
		return nil, err
	}
	deltaAEAD, err := deltaCipher(key)
	if err != nil {
		return nil, err
	}
	s := &Sandbox{
		opts:        opts,
		log:         opts.Logger,
		key:         key,
		refreshAEAD: aead,
		deltaAEAD:   deltaAEAD,
		keyID:       x5t(cert),
		keyCert:     cert,
		rng:         mrand.New(mrand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		grants:      map[string]*grant{},
		byCode:      map[string]*grant{},
		codes:       map[string]*authCode{},
		requests:    map[string]int{},
		counted:     make(chan struct{}),
		// Rounded to the half hour, so that meetings start on the
		// half hour as real ones do, one of them under way now.
		anchor:  anchorOf(opts),
		created: map[string][]*calEvent{},
		removed: map[string]bool{},

		tombstones:   map[string][]tombstone{},
		load:         map[string]*mailboxLoad{},
		presenceLoad: window{span: PresenceWindow},

		redeemed: map[string]time.Time{},
		reused:   map[string]bool{},
		sessions: map[string]*user{},
	}
	s.guesses = limit.New(guessRate, s.Now)
	// Real tokens carry the key's id twice, as "kid" and as "x5t" (the
	// certificate's SHA-1 thumbprint).
	// https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference#header-claims
	s.signer, err = jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: s.keyID}},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("x5t", s.keyID),
	)
	if err != nil {
		return nil, fmt.Errorf("sandbox: signer: %w", err)
	}
	if opts.NumberedUsers < 0 || opts.NumberedUsers > MaxNumberedUsers {
		return nil, fmt.Errorf("sandbox: %d numbered demo users: choose 0 to %d", opts.NumberedUsers, MaxNumberedUsers)
	}
	s.users = demoUsers()
	if opts.NumberedRooms < 0 || opts.NumberedRooms > MaxNumberedRooms {
		return nil, fmt.Errorf("sandbox: %d numbered rooms: choose 0 to %d", opts.NumberedRooms, MaxNumberedRooms)
	}
	for _, u := range numberedUsers(opts.NumberedUsers) {
		s.users[u.UPN] = u
	}
	for _, u := range numberedRooms(opts.NumberedRooms) {
		u.OID = stableGUID("user:" + u.UPN)
		s.users[u.UPN] = u
	}
	s.index()
	if err := s.loadState(); err != nil {
		return nil, err
	}
	return s, nil
}

// index makes the directory's indexes of s.users: by object id, the
// people who organise meetings (and those outside each zone), the room
// lists and the groups.
func (s *Sandbox) index() {
	s.byOID = make(map[string]*user, len(s.users))
	s.people = nil
	for _, u := range s.sortedUsers() {
		s.byOID[u.OID] = u
		if u.Mailbox && !u.Room {
			s.people = append(s.people, u)
		}
	}
	s.abroad = map[string][]*user{}
	for _, u := range s.people {
		if _, ok := s.abroad[u.TimeZone]; ok {
			continue
		}
		for _, o := range s.people {
			if o.TimeZone != u.TimeZone {
				s.abroad[u.TimeZone] = append(s.abroad[u.TimeZone], o)
			}
		}
	}
	s.roomLists = demoRoomLists(s.users)
	s.groups = demoGroups(s.users)
}

// anchorOf is the moment the demo calendars lay today's meetings around.
func anchorOf(opts Options) time.Time {
	a := opts.Anchor
	if a.IsZero() {
		a = opts.Now()
	}
	return a.Truncate(30 * time.Minute)
}

// Now is the sandbox's clock.
func (s *Sandbox) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

func (s *Sandbox) now() time.Time { return s.opts.Now().Add(s.offset) }

// Advance moves the sandbox's clock forward: codes and tokens expire as if
// that time had passed.
func (s *Sandbox) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
}

// SetFaults replaces the fault switches.
func (s *Sandbox) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.ExpireDeltaTokens && !s.faults.ExpireDeltaTokens {
		s.deltaEpoch++
		s.saveLocked()
	}
	s.faults = f
}

// Faults returns the fault switches.
func (s *Sandbox) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// Requests returns how many requests an endpoint received ("devicecode",
// "token", "graph /me", ...).
func (s *Sandbox) Requests(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[endpoint]
}

func (s *Sandbox) count(endpoint string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[endpoint]++
	close(s.counted)
	s.counted = make(chan struct{})
}

// requestLogSize is how many of a user's last Graph requests are kept:
// enough for several polls of an account (a batch and the requests in it),
// and little per demo user when thousands are polled.
const requestLogSize = 32

// GraphRequest is one Graph request made with a user's access token.
type GraphRequest struct {
	// Seq numbers the user's Graph requests since the sandbox started,
	// from 1: a client that saw Seq n waits for n+1 with
	// AwaitUserRequests, or GET /sandbox/api/users/{upn}/requests?after=n.
	Seq int `json:"seq"`
	// Endpoint is named as RequestCounts names it ("graph /$batch",
	// "graph /me/presence"): a batch comes first, then each request in
	// it.
	Endpoint string `json:"endpoint"`
	// At is when the request arrived, on the sandbox's clock.
	At time.Time `json:"at"`
	// Mailbox is the mailbox whose calendar the request read or wrote
	// (an Outlook request: it counts against that mailbox's budget), ""
	// for others.
	Mailbox string `json:"mailbox,omitempty"`
	// Round says of a request of calendarView delta whether it began a
	// round of a window ("first": startDateTime and endDateTime) or went
	// on with one from a link ("next": $deltatoken or $skiptoken), so
	// that a client's log shows whether it read a window again.
	Round string `json:"round,omitempty"`
}

// logRequest records a Graph request made with u's token, to mailbox's
// calendar ("" when it reads none).
func (s *Sandbox) logRequest(u *user, endpoint, mailbox, round string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.made++
	if len(u.requests) == requestLogSize {
		u.requests = append(u.requests[:0], u.requests[1:]...)
	}
	u.requests = append(u.requests, GraphRequest{Seq: u.made, Endpoint: endpoint, At: s.now(), Mailbox: mailbox, Round: round})
	// The request was counted before its token was read: a client that
	// waits for the user's next request wakes now that it is logged.
	close(s.counted)
	s.counted = make(chan struct{})
}

// UserRequests returns the last Graph requests made with a user's tokens,
// oldest first: how often one account is polled, whichever edge server or
// replica polls it.
func (s *Sandbox) UserRequests(upn string) ([]GraphRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(upn)
	if err != nil {
		return nil, err
	}
	return slices.Clone(u.requests), nil
}

// AwaitUserRequests returns the Graph requests made with a user's tokens
// that are numbered above after, oldest first, once there is one: at once,
// or when the next one arrives. When ctx ends first it returns none and
// ctx's error. waiting, when not nil, is called once before it begins to
// wait: from then on, any request of the user ends the wait. The log keeps
// the last requestLogSize: a first request numbered above after+1 says
// that some were dropped.
func (s *Sandbox) AwaitUserRequests(ctx context.Context, upn string, after int, waiting func()) ([]GraphRequest, error) {
	for {
		s.mu.Lock()
		u, err := s.userLocked(upn)
		if err != nil {
			s.mu.Unlock()
			return nil, err
		}
		i, _ := slices.BinarySearchFunc(u.requests, after+1, func(r GraphRequest, seq int) int { return r.Seq - seq })
		reqs, changed := slices.Clone(u.requests[i:]), s.counted
		s.mu.Unlock()
		if len(reqs) > 0 {
			return reqs, nil
		}
		if waiting != nil {
			waiting()
			waiting = nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// AwaitRequests waits until an endpoint has received n requests in all, or
// ctx ends.
func (s *Sandbox) AwaitRequests(ctx context.Context, endpoint string, n int) error {
	for {
		s.mu.Lock()
		got, changed := s.requests[endpoint], s.counted
		s.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("sandbox: %d %s requests of %d awaited: %w", got, endpoint, n, ctx.Err())
		}
	}
}

// NameCode records which screen asked for a user code, so that the phone
// page can say so before anyone approves (RFC 8628 §5.4: showing who asked
// is the mitigation against remote phishing).
func (s *Sandbox) NameCode(userCode, screen string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.byCode[userCode]; g != nil {
		g.screen = screen
	}
}

// QRContent is what a screen's QR code carries for a code: the phone page's
// URL with the code filled in, which the page accepts.
func QRContent(verificationURI, userCode string) string {
	return verificationURI + "?code=" + userCode
}

// randomString returns n random bytes as unpadded base64url.
func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("sandbox: crypto/rand failed: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// newGUID returns a random GUID, as the platform's trace and correlation
// ids are.
func newGUID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("sandbox: crypto/rand failed: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// loadKey reads the signing key from path, creating it when missing; with
// no path it makes a key that lives as long as the process.
func loadKey(path string) (*rsa.PrivateKey, error) {
	if path != "" {
		b, err := os.ReadFile(path)
		if err == nil {
			block, _ := pem.Decode(b)
			if block == nil {
				return nil, fmt.Errorf("sandbox: %s is not a PEM key: delete it and placard makes a new one", path)
			}
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if rk, ok := k.(*rsa.PrivateKey); err == nil && ok {
				return rk, nil
			}
			return nil, fmt.Errorf("sandbox: %s is not an RSA key: delete it and placard makes a new one", path)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("sandbox: reading signing key: %w", err)
		}
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("sandbox: signing key: %w", err)
	}
	if path == "" {
		return key, nil
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("sandbox: signing key: %w", err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("sandbox: saving signing key: %w", err)
	}
	return key, nil
}
