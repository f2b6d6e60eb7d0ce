// Package lights serves light keys: busy-lights, Home Assistant and
// scripts follow one account's presence with a revocable, read-only key,
// and never hold a Microsoft token.
//
// A key makes its account followed: the account's watch (in screens) keeps
// polling its presence, faster while it is followed, and tells this
// package of each change. How each follower is told is its own business:
// HTTP and Server-Sent Events (httpd), webhooks (here), MQTT (mqtt).
package lights

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/secret"
)

// Follower is told of an account's presence (screens.Follower).
type Follower interface {
	Presence(server.Presence)
}

// FollowFunc makes f follow the presence of the account whose id
// ("<oid>.<tid>") is accountID until stop is called
// (screens.Manager.Follow).
type FollowFunc func(ctx context.Context, accountID string, f Follower) (stop func(), err error)

// Sink is told of the presence of the light keys whose account this
// replica owns, of keys revoked, and of keys whose account another replica
// owns now (Release: it says nothing more of them, and clears nothing).
// No call may block: a sink that talks to the network does so on its own
// goroutines.
type Sink interface {
	Publish(l server.Light, v View)
	Forget(l server.Light)
	Release(l server.Light)
}

// Config configures a Service.
type Config struct {
	Store server.Store
	Log   *slog.Logger
	// Now is the clock of the audit trail (time.Now when nil).
	Now func() time.Time
	// Follow follows an account's presence; nil makes a Service that only
	// makes, lists and revokes keys (the command line).
	Follow FollowFunc
	// Sync is how often the keys are read again from the store, so that
	// keys made or revoked by the command line (another process) are
	// served or closed: 3 s by default.
	Sync time.Duration
	// Sinks are told of each key's presence (MQTT).
	Sinks []Sink
	// MQTTTopic names where a key made with MQTT is published; nil when
	// the server has no broker.
	MQTTTopic func(server.Light) string
	// Webhooks configures the webhooks of keys that have some.
	Webhooks WebhookConfig
	// Box seals and opens webhook secrets (the server's key); without it
	// keys with webhooks cannot be made, and stored ones send nothing.
	Box *secret.Box
	// Clustered is true among replicas: a key's webhooks and MQTT messages
	// are then sent by the replica that owns its account only
	// (server.Presence.Owned). Alone, a server sends them all.
	Clustered bool
}

// Service makes, lists and revokes light keys, and keeps what each key's
// followers are told.
type Service struct {
	cfg Config
	log *slog.Logger

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	syncMu sync.Mutex // one sync at a time

	mu     sync.Mutex
	lights map[string]*light // by id
	// unsaved are presences to keep in the store (LastPresence), by
	// light id; save is kicked when one is added.
	unsaved map[string]server.Presence
	save    chan struct{}
}

// light is one key being served.
type light struct {
	l    server.Light
	stop func() // stops following; nil until following
	view View
	// known is true once the view holds a presence that was read (now, or
	// before a restart): until Graph answers, it is served stale rather
	// than as unknown.
	known bool
	// saved is the presence the store keeps.
	saved server.Presence
	// owned is true while this replica sends the key's webhooks and MQTT
	// messages (it owns the account).
	owned bool
	hooks []*hook
	// changed is closed and replaced on each change; gone is closed when
	// the key is revoked or the server stops.
	changed chan struct{}
	gone    chan struct{}
}

// View is a key's presence as it is served: the JSON every follower gets
// and its ETag.
type View struct {
	Presence server.Presence
	JSON     []byte
	ETag     string // quoted, as in the header
}

// Unread reports whether the view says only that the account's presence
// has not been read yet (signed in, unknown, stale): before Graph's first
// answer, or before a replica that does not own the account has its
// owner's.
func (v View) Unread() bool { return unread(v.Presence) }

// ID is the view's ETag without quotes: Server-Sent Events' id.
func (v View) ID() string { return v.ETag[1 : len(v.ETag)-1] }

// presenceJSON is the answer of GET /api/v1/presence.
type presenceJSON struct {
	Availability string    `json:"availability"`
	Activity     string    `json:"activity"`
	Color        string    `json:"color"`
	Updated      time.Time `json:"updated"`
	Stale        bool      `json:"stale"`
	SignedIn     bool      `json:"signed_in"`
}

// NewView encodes p.
func NewView(p server.Presence) View {
	b, _ := json.Marshal(presenceJSON{
		Availability: p.Availability, Activity: p.Activity, Color: Color(p),
		Updated: p.Updated.UTC().Truncate(time.Second), Stale: p.Stale, SignedIn: p.SignedIn,
	})
	sum := sha256.Sum256(b)
	return View{Presence: p, JSON: b, ETag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}

// NewService returns a Service; Start serves the stored keys, Close
// stops.
func NewService(cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sync == 0 {
		cfg.Sync = 3 * time.Second
	}
	cfg.Webhooks.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Service{cfg: cfg, log: cfg.Log, ctx: ctx, cancel: cancel, lights: map[string]*light{},
		unsaved: map[string]server.Presence{}, save: make(chan struct{}, 1)}
}

// Start follows the account of every stored key, and keeps reading the
// store for keys made or revoked elsewhere.
func (s *Service) Start(ctx context.Context) error {
	if err := s.sync(ctx); err != nil {
		return err
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.saving()
	}()
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(s.cfg.Sync)
		defer t.Stop()
		for {
			select {
			case <-s.ctx.Done():
				return
			case <-t.C:
				if err := s.sync(s.ctx); err != nil && s.ctx.Err() == nil {
					s.log.Warn("reading the light keys", "err", err)
				}
			}
		}
	}()
	return nil
}

// Close stops following, ends every stream and waits for the webhooks.
func (s *Service) Close() {
	s.once.Do(func() {
		s.cancel()
		s.mu.Lock()
		all := s.lights
		s.lights = map[string]*light{}
		for _, lt := range all {
			close(lt.gone)
		}
		s.mu.Unlock()
		for _, lt := range all {
			if lt.stop != nil {
				lt.stop()
			}
			for _, h := range lt.hooks {
				h.stop()
			}
		}
		s.wg.Wait()
	})
}

// Create makes a light key (see the function Create) and serves it.
func (s *Service) Create(ctx context.Context, n New, by string) (Made, error) {
	made, err := Create(ctx, s.cfg.Store, s.cfg.Box, n, by, s.cfg.Now(), s.log)
	if err != nil {
		return made, err
	}
	if made.Light.MQTT {
		if s.cfg.MQTTTopic != nil {
			made.MQTTTopic = s.cfg.MQTTTopic(made.Light)
		} else {
			made.Warnings = append(made.Warnings, NoBrokerWarning)
		}
	}
	s.syncNow(ctx)
	return made, nil
}

// NoBrokerWarning is what a key made with MQTT is told by a server with
// no broker.
const NoBrokerWarning = "this server has no MQTT broker, so nothing is published: start it with PLACARD_MQTT_URL=mqtt://host:1883"

// List returns every light key, oldest first.
func (s *Service) List(ctx context.Context) ([]server.Light, error) {
	return s.cfg.Store.Lights(ctx)
}

// Revoke deletes a light key (see the function Revoke) and closes its
// streams at once.
func (s *Service) Revoke(ctx context.Context, id, by string) (server.Light, error) {
	l, err := Revoke(ctx, s.cfg.Store, id, by, s.cfg.Now(), s.log)
	if err == nil {
		s.syncNow(ctx)
	}
	return l, err
}

// Authenticate returns the light key that key proves. It reads the store
// each time: a key revoked anywhere fails at once.
func (s *Service) Authenticate(ctx context.Context, key string) (server.Light, error) {
	return Authenticate(ctx, s.cfg.Store, key)
}

// Recognises reports whether key proves one of the keys this service
// serves, from what it holds in memory: no store is read. It says nothing
// of a revocation made elsewhere since the keys were last read, which
// Authenticate then sees. A caller that limits wrong keys uses it to let a
// right key through whatever wrong ones came from the same place, without
// a store lookup for each wrong one.
func (s *Service) Recognises(key string) bool {
	id, presented, ok := parseKey(key)
	if !ok {
		return false
	}
	s.mu.Lock()
	lt := s.lights[id]
	s.mu.Unlock()
	return lt != nil && subtle.ConstantTimeCompare(lt.l.Hash, secret.Hash(presented)) == 1
}

// Watch returns what the key id is served now, a channel closed at its
// next change and one closed when it is revoked (or the server stops).
func (s *Service) Watch(ctx context.Context, id string) (v View, changed, gone <-chan struct{}, ok bool) {
	for range 2 {
		s.mu.Lock()
		lt := s.lights[id]
		if lt != nil {
			defer s.mu.Unlock()
			return lt.view, lt.changed, lt.gone, true
		}
		s.mu.Unlock()
		// Made elsewhere (the command line) since the last sync.
		s.syncNow(ctx)
	}
	return View{}, nil, nil, false
}

func (s *Service) syncNow(ctx context.Context) {
	if s.cfg.Follow == nil {
		return
	}
	if err := s.sync(ctx); err != nil {
		s.log.Warn("reading the light keys", "err", err)
	}
}

// sync serves the stored keys: it follows the new ones and forgets the
// revoked ones. The store is the truth; the command line changes it from
// another process.
func (s *Service) sync(ctx context.Context) error {
	if s.cfg.Follow == nil {
		return nil
	}
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	all, err := s.cfg.Store.Lights(ctx)
	if err != nil {
		return err
	}
	s.bindAll(ctx, all)
	stored := map[string]server.Light{}
	for _, l := range all {
		stored[l.ID] = l
	}
	var added, removed []*light
	s.mu.Lock()
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		return nil
	}
	for id, lt := range s.lights {
		if _, ok := stored[id]; !ok {
			delete(s.lights, id)
			close(lt.gone)
			removed = append(removed, lt)
		}
	}
	var reseal []server.Light
	for _, l := range all {
		if lt := s.lights[l.ID]; lt == nil || lt.stop == nil {
			if lt != nil {
				lt.l.AccountID = l.AccountID // bound since
			}
			if lt == nil {
				lt = &light{l: l, changed: make(chan struct{}), gone: make(chan struct{}), saved: l.LastPresence}
				if last := l.LastPresence; !last.Updated.IsZero() {
					// What it served before the restart, stale until
					// Graph answers: not "unknown", and the same updated.
					last.Stale = true
					lt.view, lt.known = NewView(last), true
				} else {
					lt.view = NewView(server.Presence{Availability: presenceUnknown, Activity: presenceUnknown, Stale: true, Updated: s.cfg.Now()})
				}
				if len(l.Webhooks) > 0 {
					plain, legacy, err := openSecret(s.cfg.Box, l)
					if err != nil {
						// Unsigned, a webhook would be worthless to its
						// receiver: none is sent.
						s.log.Error("a light key's webhooks are not sent: its secret does not open with this server's key", "light", l.ID, "err", err)
					} else {
						lt.hooks = s.startHooks(l, plain)
						if legacy {
							reseal = append(reseal, l)
						}
					}
				}
				s.lights[l.ID] = lt
			}
			added = append(added, lt)
		}
	}
	s.mu.Unlock()
	for _, l := range reseal {
		s.reseal(ctx, l)
	}

	// Outside the lock: screens tells a follower under the follower's own
	// lock there, and the follower then takes this one.
	for _, lt := range removed {
		if lt.stop != nil {
			lt.stop()
		}
		for _, sink := range s.cfg.Sinks {
			sink.Forget(lt.l)
		}
		for _, h := range lt.hooks {
			h.stop()
		}
	}
	for _, lt := range added {
		f := &follower{s: s, lt: lt}
		if lt.l.AccountID == "" {
			// No account by its UPN has signed in yet: dark, and bound at
			// a later sync once one has.
			f.Presence(server.Presence{Availability: presenceUnknown, Activity: presenceUnknown, Updated: s.cfg.Now()})
			continue
		}
		stop, err := s.cfg.Follow(ctx, lt.l.AccountID, f)
		if err != nil {
			s.log.Warn("following an account", "light", lt.l.ID, "account", lt.l.Account, "err", err)
			continue
		}
		s.mu.Lock()
		if s.lights[lt.l.ID] == lt {
			lt.stop, stop = stop, nil
		}
		s.mu.Unlock()
		if stop != nil { // revoked meanwhile
			stop()
		}
	}
	return nil
}

// follower is one key following its account.
type follower struct {
	s  *Service
	lt *light
}

// presenceUnknown is Graph's availability when it says nothing.
const presenceUnknown = "PresenceUnknown"

// unread reports whether p is what a followed account is told before
// Graph first answered for it (or while it has never answered): signed in,
// unknown, stale.
func unread(p server.Presence) bool {
	return p.SignedIn && p.Stale && p.Availability == presenceUnknown
}

// Presence is called as the account's source tells its followers (under
// screens' lock of this follower): it keeps the view and wakes whoever
// waits, and never blocks.
//
// The view's updated is when availability, activity or signed_in last
// changed: a presence that only turns stale or fresh again keeps it.
// Before Graph answers, a key that knew a presence (from before a
// restart, or before the account's data went missing) serves it stale
// rather than unknown: a light does not go dark on every restart.
func (f *follower) Presence(p server.Presence) {
	s, lt := f.s, f.lt
	owns := p.Owned || !s.cfg.Clustered
	p.Owned = false
	s.mu.Lock()
	if s.lights[lt.l.ID] != lt {
		s.mu.Unlock()
		return
	}
	old := lt.view.Presence
	if unread(p) && lt.known {
		p = old
		p.Stale = true
	}
	if lt.known && p.Availability == old.Availability && p.Activity == old.Activity && p.SignedIn == old.SignedIn {
		p.Updated = old.Updated
	}
	lt.known = lt.known || !unread(p)
	if owns && lt.known && !samePresence(p, lt.saved) {
		lt.saved = p
		s.unsaved[lt.l.ID] = p
		select {
		case s.save <- struct{}{}:
		default:
		}
	}
	v := NewView(p)
	changed := v.ETag != lt.view.ETag
	gained, lost := owns && !lt.owned, !owns && lt.owned
	lt.owned = owns
	if !changed && !gained && !lost {
		s.mu.Unlock()
		return
	}
	if changed {
		lt.view = v
		close(lt.changed)
		lt.changed = make(chan struct{})
	}
	v = lt.view
	hooks := lt.hooks
	s.mu.Unlock()
	for _, h := range hooks {
		h.active.Store(owns)
	}
	if lost {
		// Another replica owns the account now: it sends.
		if lt.l.MQTT {
			for _, sink := range s.cfg.Sinks {
				sink.Release(lt.l)
			}
		}
		return
	}
	if !owns || v.Unread() {
		// Another replica sends; or nothing was read yet, and what a
		// light is told next is the presence.
		return
	}
	// A change, or the account's lease taken over: the new owner sends
	// what the key shows now.
	for _, h := range hooks {
		h.changed(v)
	}
	if lt.l.MQTT {
		for _, sink := range s.cfg.Sinks {
			sink.Publish(lt.l, v)
		}
	}
}

// samePresence reports whether p and q are the same as the store keeps
// them: availability, activity, signed in, and updated to the second.
func samePresence(p, q server.Presence) bool {
	return p.Availability == q.Availability && p.Activity == q.Activity && p.SignedIn == q.SignedIn &&
		p.Updated.Truncate(time.Second).Equal(q.Updated.Truncate(time.Second))
}

// saving keeps each key's last presence in the store, apart from the
// followers (which must not wait on the store), until Close.
func (s *Service) saving() {
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.save:
		}
		s.mu.Lock()
		batch := s.unsaved
		s.unsaved = map[string]server.Presence{}
		s.mu.Unlock()
		for id, p := range batch {
			p.Stale = false
			_, err := s.cfg.Store.UpdateLight(s.ctx, id, func(l *server.Light) error {
				l.LastPresence = p
				return nil
			})
			if err != nil && !server.IsNotFound(err) && s.ctx.Err() == nil {
				s.log.Warn("keeping a light key's presence", "light", id, "err", err)
			}
		}
	}
}

// reseal seals a webhook secret stored before secrets were sealed.
func (s *Service) reseal(ctx context.Context, l server.Light) {
	if s.cfg.Box == nil {
		s.log.Warn("a light key's webhook secret is stored in plain text and there is no key to seal it", "light", l.ID)
		return
	}
	_, err := s.cfg.Store.UpdateLight(ctx, l.ID, func(stored *server.Light) error {
		if secret.Sealed(stored.WebhookSecret) {
			return nil // sealed meanwhile (another replica)
		}
		sealed, err := s.cfg.Box.Seal(stored.WebhookSecret, secretLabel(l.ID))
		if err != nil {
			return err
		}
		stored.WebhookSecret = sealed
		return nil
	})
	if err != nil && !server.IsNotFound(err) {
		s.log.Warn("sealing a light key's webhook secret", "light", l.ID, "err", err)
		return
	}
	s.log.Info("sealed a light key's webhook secret, stored in plain text before", "light", l.ID)
}

// bindAll binds the keys that follow no account yet to the account that
// bears their UPN, now that it signed in, and keeps the binding: from then
// on the key follows that account (tenant and object id), whatever
// another tenant's account is called.
func (s *Service) bindAll(ctx context.Context, all []server.Light) {
	var accounts map[string][]server.Account
	for i, l := range all {
		if l.AccountID != "" {
			continue
		}
		if accounts == nil {
			var err error
			if accounts, err = signedIn(ctx, s.cfg.Store); err != nil {
				s.log.Warn("finding the accounts of light keys", "err", err)
				return
			}
		}
		acct, ok, err := bind(accounts, l.Account)
		if err != nil {
			s.log.Warn("a light key follows no account", "light", l.ID, "err", err)
			continue
		}
		if !ok {
			continue
		}
		bound, err := s.cfg.Store.UpdateLight(ctx, l.ID, func(stored *server.Light) error {
			if stored.AccountID == "" {
				stored.AccountID = acct.ID
			}
			return nil
		})
		if err != nil {
			if !server.IsNotFound(err) {
				s.log.Warn("binding a light key to its account", "light", l.ID, "err", err)
			}
			continue
		}
		s.log.Info("a light key follows its account, signed in", "light", l.ID, "account", l.Account, "tenant", acct.TenantID)
		all[i] = bound
	}
}
