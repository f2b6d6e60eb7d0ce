package screens_test

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/graph"
	"github.com/placard/placard/server/identity"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/screens"
	"github.com/placard/placard/server/secret"
	"github.com/placard/placard/server/sqlite"
)

// harness is a Manager wired to the sandbox through the real MSAL, a real
// store and a publisher that records what each screen is sent.
type harness struct {
	t     *testing.T
	m     *screens.Manager
	sb    *sandbox.Sandbox
	store *sqlite.Store
	pub   *recorder
	// db is the store's file, for a second store on it (the CLI).
	db string
	// sent logs every request to the sandbox.
	sent *requestLog
	// hooks is the store as the manager and the identity see it.
	hooks *hookStore
	// box seals the identity's token caches.
	box *secret.Box
	// id is the manager's identity client.
	id *identity.Client
}

// hookStore is a store that runs a test's hook before some writes, once.
type hookStore struct {
	server.Store
	mu                 sync.Mutex
	beforePutAccount   func(ctx context.Context)
	beforeDeleteTokens func(ctx context.Context)
	// updated, when set, receives each screen that UpdateScreen wrote.
	updated chan server.Screen
	// synced, when set, receives each calendar state that
	// PutCalendarSyncIf wrote.
	synced chan server.CalendarSync
}

func (s *hookStore) PutCalendarSyncIf(ctx context.Context, c server.CalendarSync) (int64, error) {
	v, err := s.Store.PutCalendarSyncIf(ctx, c)
	s.mu.Lock()
	synced := s.synced
	s.mu.Unlock()
	if err == nil && synced != nil {
		c.Version = v
		select {
		case synced <- c:
		default:
		}
	}
	return v, err
}

func (s *hookStore) UpdateScreen(ctx context.Context, id string, f func(*server.Screen) error) (server.Screen, error) {
	sc, err := s.Store.UpdateScreen(ctx, id, f)
	s.mu.Lock()
	updated := s.updated
	s.mu.Unlock()
	if err == nil && updated != nil {
		select {
		case updated <- sc:
		default:
		}
	}
	return sc, err
}

// once takes the hook *f, leaving nil.
func (s *hookStore) once(f *func(context.Context)) func(context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	hook := *f
	*f = nil
	if hook == nil {
		return func(context.Context) {}
	}
	return hook
}

func (s *hookStore) PutAccount(ctx context.Context, a server.Account) error {
	s.once(&s.beforePutAccount)(ctx)
	return s.Store.PutAccount(ctx, a)
}

func (s *hookStore) DeleteTokenCache(ctx context.Context, accountID string) error {
	s.once(&s.beforeDeleteTokens)(ctx)
	return s.Store.DeleteTokenCache(ctx, accountID)
}

// requestLog is a transport that logs when each request was sent and
// when, and with what status, it was answered.
type requestLog struct {
	next http.RoundTripper
	mu   sync.Mutex
	log  []logged
	// before, when set, sees each request before it is sent (and may
	// hold it there).
	before func(*http.Request)
}

type logged struct {
	path, query    string
	sent, answered time.Time
	status         int
}

func (l *requestLog) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	before := l.before
	l.mu.Unlock()
	if before != nil {
		before(r)
	}
	e := logged{path: r.URL.Path, query: r.URL.RawQuery, sent: time.Now()}
	res, err := l.next.RoundTrip(r)
	e.answered = time.Now()
	if err == nil {
		e.status = res.StatusCode
	}
	l.mu.Lock()
	l.log = append(l.log, e)
	l.mu.Unlock()
	return res, err
}

// of returns the logged requests to path, in the order they were answered.
func (l *requestLog) of(path string) []logged {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []logged
	for _, e := range l.log {
		if e.path == path {
			out = append(out, e)
		}
	}
	return out
}

func newHarness(t *testing.T, tune ...func(*screens.Config)) *harness {
	t.Helper()
	return newHarnessOn(t, sandbox.Options{}, tune...)
}

// newHarnessOn is newHarness with a sandbox made with opts.
func newHarnessOn(t *testing.T, opts sandbox.Options, tune ...func(*screens.Config)) *harness {
	t.Helper()
	ctx := context.Background()
	opts.VerificationURL = "https://placard.test/sandbox/devicelogin"
	sb, err := sandbox.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "placard.db")
	store, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return newReplica(t, sb, store, db, newBox(t), tune...)
}

// newBox returns a box with a key of its own.
func newBox(t *testing.T) *secret.Box {
	t.Helper()
	key, _ := secret.NewKeyString()
	k, err := secret.LoadKey(key, "")
	if err != nil {
		t.Fatal(err)
	}
	box, err := secret.NewBox(k)
	if err != nil {
		t.Fatal(err)
	}
	return box
}

// replica returns another edge server on the same sandbox and store as h
// (a replica: give both a Cluster), whose identity seals token caches with
// box (h's key when nil).
func (h *harness) replica(box *secret.Box, tune ...func(*screens.Config)) *harness {
	h.t.Helper()
	if box == nil {
		box = h.box
	}
	return newReplica(h.t, h.sb, h.store, h.db, box, tune...)
}

// newReplica makes the manager of a harness on a sandbox and a store.
func newReplica(t *testing.T, sb *sandbox.Sandbox, store *sqlite.Store, db string, box *secret.Box, tune ...func(*screens.Config)) *harness {
	t.Helper()
	return newReplicaAsking(t, sb, store, db, box, nil, tune...)
}

// newReplicaAsking is newReplica whose identity asks for scopes (nil:
// identity.DefaultScopes).
func newReplicaAsking(t *testing.T, sb *sandbox.Sandbox, store *sqlite.Store, db string, box *secret.Box, scopes []string, tune ...func(*screens.Config)) *harness {
	t.Helper()
	sent := &requestLog{next: sb.Transport()}
	hc := &http.Client{Transport: sent}
	hooks := &hookStore{Store: store}
	// The identity dates a code on the screens' clock, as main wires it:
	// a test's clock set ahead would otherwise see every code expired.
	var clock func() time.Time
	id, err := identity.New(identity.Config{
		Now: func() time.Time {
			if clock != nil {
				return clock()
			}
			return time.Now()
		},
		ClientID:   sandbox.ClientID,
		Authority:  "https://" + sandbox.LoginHost + "/" + sandbox.TenantID,
		HTTPClient: hc,
		Caches:     identity.SealedCaches{Store: hooks, Box: box},
		Scopes:     scopes,
	})
	if err != nil {
		t.Fatal(err)
	}
	pub := &recorder{ch: map[string]chan wire.State{}, seq: map[string]uint64{}}
	cfg := screens.Config{
		Store: hooks, Identity: id, Graph: graph.New("", hc), Publisher: pub,
		AutoEnroll: true, Grace: 50 * time.Millisecond, ProblemHold: 200 * time.Millisecond,
		OnCode: sb.NameCode, Box: box,
	}
	for _, f := range tune {
		f(&cfg)
	}
	clock = cfg.Now
	m, err := screens.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return &harness{t: t, m: m, sb: sb, store: store, pub: pub, db: db, sent: sent, hooks: hooks, box: box, id: id}
}

// screen registers a screen and connects it.
func (h *harness) screen(name string) string {
	h.t.Helper()
	sc, _, err := h.m.Open(context.Background(), name, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.m.Attach(context.Background(), sc.ID, screens.Hello{}); err != nil {
		h.t.Fatal(err)
	}
	return sc.ID
}

// wait reads a screen's states until ok, failing after within.
func (h *harness) wait(id string, within time.Duration, what string, ok func(wire.State) bool) wire.State {
	h.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case st := <-h.pub.states(id):
			if ok(st) {
				return st
			}
		case <-deadline:
			h.t.Fatalf("screen %s: no %s within %v", id, what, within)
		}
	}
}

func (h *harness) waitPhase(id string, within time.Duration, p wire.Phase) wire.State {
	h.t.Helper()
	return h.wait(id, within, string(p), func(st wire.State) bool { return st.Phase == p })
}

// recorder is a Publisher that keeps each screen's states. As the hub
// does, it drops a frame older than one it kept already for the screen.
type recorder struct {
	mu sync.Mutex
	ch map[string]chan wire.State
	// order is held from a frame's check to its delivery, as the hub
	// does both in one turn of its goroutine.
	order sync.Mutex
	seq   map[string]uint64
}

func (r *recorder) states(id string) chan wire.State {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.ch[id]
	if c == nil {
		c = make(chan wire.State, 256)
		r.ch[id] = c
	}
	return c
}

func (r *recorder) Send(frames ...server.Frame) {
	r.order.Lock()
	defer r.order.Unlock()
	for _, f := range frames {
		if f.Seq != 0 {
			if r.seq[f.Screen] >= f.Seq {
				continue
			}
			r.seq[f.Screen] = f.Seq
		}
		r.Publish(f.Screen, bytes.Join(f.Data, nil))
	}
}

func (r *recorder) Publish(id string, msg []byte) {
	m, err := wire.DecodeFromServer(msg)
	if err != nil {
		panic(err)
	}
	if st, ok := m.(wire.State); ok {
		r.states(id) <- st
	}
}

func (r *recorder) Disconnect(id string, msg []byte) {
	if msg != nil {
		r.Publish(id, msg)
	}
}
