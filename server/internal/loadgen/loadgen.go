// Package loadgen brings many real screens to an edge server, as a building
// full of TVs would: each loads its page (for its cookie), opens the
// WebSocket and says hello, shows a device code that is approved on the
// sandbox's phone page, and then receives its dashboard as Graph changes.
// The sandbox is the edge server's own (sandbox mode), or `placard
// sandbox` in a process of its own, which the edge server uses as its
// tenant: then screens are enrolled by a provisioning link, as a fleet of
// kiosks is.
//
// Each screen dials from an address of its own in 127.0.0.0/8, so that
// the server's per-address limits see many clients, not one. Everything
// runs on loopback; every wait is bounded by a context.
package loadgen

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/sandbox/sandboxctl"
)

// Config says where the screens connect and how they sign in.
type Config struct {
	// URL is the edge server's base URL (http://127.0.0.1:8080).
	URL string
	// Accounts are the sandbox users screens sign in as: screen i as
	// Accounts[i % len(Accounts)].
	Accounts []string
	// Prefix begins every screen's name: "load" makes load-00001, ...
	Prefix string
	// FirstAddr is the client address of the first screen; the next ones
	// follow it (127.1.0.1 when zero). All must be loopback addresses.
	FirstAddr netip.Addr
	// Parallel is how many screens sign in at once (100 when zero).
	Parallel int
	// SignInWithin bounds one screen's way to its dashboard (2 minutes
	// when zero).
	SignInWithin time.Duration
	// Bare connects each screen's WebSocket and says hello, and nothing
	// more: for a BareHub, which has no pages and no sign-in.
	Bare bool
	// Waiting stops each screen at its code, unapproved: screens waiting
	// for someone to sign them in.
	Waiting bool
	// Sandbox is the base URL of the sandbox whose phone page approves
	// the codes: `placard sandbox`'s https URL when the edge server uses
	// it as its tenant; URL (the edge server's own sandbox) when empty.
	Sandbox string
	// SandboxRoots are the certificates to trust on the way to Sandbox
	// (the file its -ca-file names); the system's when nil.
	SandboxRoots *x509.CertPool
	// Link is a provisioning link's token (pln_...): each screen opens
	// its page with it (/?link=...&screen=NAME), which enrolls it into the
	// link's group, as a kiosk started with the link is. An edge server
	// with a tenant enrolls no screen by itself; one in sandbox mode does,
	// and needs none.
	Link string
}

// Fleet is the screens brought up so far.
type Fleet struct {
	cfg  Config
	host string // host:port of the server

	mu      sync.Mutex
	screens []*Screen
	next    netip.Addr

	// sample is the latest dashboard a screen received.
	sample atomic.Pointer[[]byte]
}

// Sample returns a dashboard message as screens received it, nil before
// any: a baseline sends messages of the same size.
func (f *Fleet) Sample() []byte {
	if p := f.sample.Load(); p != nil {
		return *p
	}
	return nil
}

// New returns an empty fleet.
func New(cfg Config) (*Fleet, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("loadgen: URL %q must be http://host:port", cfg.URL)
	}
	if len(cfg.Accounts) == 0 {
		return nil, errors.New("loadgen: no accounts to sign in as")
	}
	if !cfg.FirstAddr.IsValid() {
		cfg.FirstAddr = netip.AddrFrom4([4]byte{127, 1, 0, 1})
	}
	if !cfg.FirstAddr.IsLoopback() || !cfg.FirstAddr.Is4() {
		return nil, fmt.Errorf("loadgen: first client address %v is not an IPv4 loopback address", cfg.FirstAddr)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "load"
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 100
	}
	if cfg.SignInWithin <= 0 {
		cfg.SignInWithin = 2 * time.Minute
	}
	if cfg.Sandbox == "" {
		cfg.Sandbox = strings.TrimRight(cfg.URL, "/")
	} else if u, err := url.Parse(cfg.Sandbox); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("loadgen: sandbox URL %q must be http(s)://host:port", cfg.Sandbox)
	}
	return &Fleet{cfg: cfg, host: u.Host, next: cfg.FirstAddr}, nil
}

// Screens returns the screens brought up so far.
func (f *Fleet) Screens() []*Screen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*Screen(nil), f.screens...)
}

// Close closes every screen's connection.
func (f *Fleet) Close() {
	for _, s := range f.Screens() {
		s.Close()
	}
}

// Grow brings n more screens to their dashboards, Parallel at a time. It
// returns the first failure, after the screens under way have finished.
func (f *Fleet) Grow(ctx context.Context, n int) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan *Screen)
	var wg sync.WaitGroup
	for range min(f.cfg.Parallel, n) {
		wg.Go(func() {
			for s := range work {
				sctx, done := context.WithTimeout(ctx, f.cfg.SignInWithin)
				err := s.signIn(sctx, f)
				done()
				if err != nil {
					cancel(fmt.Errorf("loadgen: screen %s from %v: %w", s.Name, s.addr, err))
				}
			}
		})
	}
	for range n {
		s := f.add()
		select {
		case work <- s:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(work)
	wg.Wait()
	return context.Cause(ctx)
}

// add makes the next screen, with the next client address.
func (f *Fleet) add() *Screen {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := len(f.screens)
	s := &Screen{
		Name:    fmt.Sprintf("%s-%05d", f.cfg.Prefix, i+1),
		Account: f.cfg.Accounts[i%len(f.cfg.Accounts)],
		fleet:   f,
		addr:    f.next,
		codes:   make(chan string, 4),
		ready:   make(chan struct{}),
		done:    make(chan struct{}),
	}
	f.next = f.next.Next()
	if b := f.next.As4(); b[3] == 0 || b[3] == 255 {
		f.next = f.next.Next() // skip .0 and .255: some stacks refuse them
		if b[3] == 255 {
			f.next = f.next.Next()
		}
	}
	f.screens = append(f.screens, s)
	return s
}

// Screen is one screen of the fleet.
type Screen struct {
	Name    string
	Account string
	fleet   *Fleet
	addr    netip.Addr
	cookie  string // the screen's cookies, as a Cookie header

	// The current connection: conn, and the channels its reader closes
	// (replaced by Reconnect).
	conn  *websocket.Conn
	codes chan string   // user codes shown, as they come
	ready chan struct{} // closed at the first dashboard with presence
	done  chan struct{} // closed when the connection has ended

	// SignedInAt is when the first dashboard arrived; ApprovedAt when its
	// code was approved; Code is that code.
	SignedInAt, ApprovedAt time.Time
	Code                   string
	// Steps is how long each step of its sign-in took.
	Steps Steps

	mu           sync.Mutex
	availability string
	changedAt    time.Time // when availability last changed
	err          error     // why the connection ended

	frames, bytes atomic.Int64
	// Refused counts the server's 503s to this screen.
	Refused atomic.Int64
}

// Steps are the steps of a screen's way to its dashboard, timed at the
// screen: where a sign-in's time goes.
type Steps struct {
	Page      time.Duration // the page, for the screen's cookie
	Socket    time.Duration // the WebSocket's handshake and hello
	Code      time.Duration // hello → its code shown
	Approve   time.Duration // the phone page's answer to the approval
	Dashboard time.Duration // approval's answer → the dashboard
}

// Addr is the client address the screen dials from.
func (s *Screen) Addr() netip.Addr { return s.addr }

// Availability returns the presence the screen shows and when its frame
// arrived.
func (s *Screen) Availability() (string, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.availability, s.changedAt
}

// Frames returns how many messages and bytes the screen received.
func (s *Screen) Frames() (n, bytes int64) { return s.frames.Load(), s.bytes.Load() }

// Dropped returns why the screen's connection ended, nil while it is open.
func (s *Screen) Dropped() error {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	select {
	case <-done:
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.err == nil {
			return errors.New("connection closed")
		}
		return s.err
	default:
		return nil
	}
}

// Close closes the screen's connection.
func (s *Screen) Close() {
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// dialer dials from the screen's own address.
func (s *Screen) dialer() *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: s.addr.AsSlice()}, Timeout: 30 * time.Second}
}

// phone is the HTTP client of the phone that approves the screen's code on
// the sandbox's phone page: from the screen's address, as a person in the
// same building, trusting a standalone sandbox's certificate.
func (s *Screen) phone(f *Fleet) *http.Client {
	t := &http.Transport{DialContext: s.dialer().DialContext, DisableKeepAlives: true}
	if f.cfg.SandboxRoots != nil {
		t.TLSClientConfig = &tls.Config{RootCAs: f.cfg.SandboxRoots, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: t}
}

// signIn is a screen's way to its dashboard: page, WebSocket, hello, code,
// approval on the phone page, dashboard. A server that answers 503 (too
// busy) is asked again after its Retry-After, as a screen does.
func (s *Screen) signIn(ctx context.Context, f *Fleet) error {
	jar, _ := cookiejar.New(nil)
	client := &http.Client{
		Jar: jar,
		Transport: &http.Transport{
			DialContext:       s.dialer().DialContext,
			DisableKeepAlives: true,
		},
	}
	base := "http://" + f.host
	t := time.Now()
	lap := func(d *time.Duration) {
		now := time.Now()
		*d, t = now.Sub(t), now
	}
	if !f.cfg.Bare {
		page := base + "/?screen=" + url.QueryEscape(s.Name)
		if f.cfg.Link != "" {
			// Enrolled by the link, then sent on to /?screen=NAME, which
			// the client follows with the screen's new cookie.
			page = base + "/?link=" + url.QueryEscape(f.cfg.Link) + "&screen=" + url.QueryEscape(s.Name)
		}
		for try := 1; ; try++ {
			err := fetch(ctx, client, page)
			var busy *BusyError
			if errors.As(err, &busy) {
				s.Refused.Add(1)
				if !sleep(ctx, wire.Reconnect.After(try, rand.Float64(), busy.RetryAfter)) {
					return fmt.Errorf("loading its page: %w", err)
				}
				continue
			}
			if err != nil {
				return fmt.Errorf("loading its page: %w", err)
			}
			break
		}
		lap(&s.Steps.Page)
	}
	u, _ := url.Parse(base)
	var cookies []string
	for _, c := range jar.Cookies(u) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	s.cookie = strings.Join(cookies, "; ")
	for try := 1; ; try++ {
		err := s.connect(ctx)
		var busy *BusyError
		if errors.As(err, &busy) {
			s.Refused.Add(1)
			if !sleep(ctx, wire.Reconnect.After(try, rand.Float64(), busy.RetryAfter)) {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	lap(&s.Steps.Socket)
	if f.cfg.Bare {
		return nil
	}
	s.mu.Lock()
	codes, ready, done := s.codes, s.ready, s.done
	s.mu.Unlock()

	var code string
	select {
	case code = <-codes:
	case <-ready:
		return nil // already signed in (a screen that kept its cookie)
	case <-done:
		return fmt.Errorf("connection ended before a code: %w", s.Dropped())
	case <-ctx.Done():
		return fmt.Errorf("no code shown: %w", ctx.Err())
	}
	lap(&s.Steps.Code)
	s.Code = code
	if f.cfg.Waiting {
		return nil
	}
	s.ApprovedAt = time.Now()
	switch out, err := sandboxctl.New(f.cfg.Sandbox, s.phone(f)).Approve(ctx, code, s.Account); {
	case err != nil:
		return fmt.Errorf("approving its code: %w", err)
	case out != sandboxctl.OutcomeApproved:
		return fmt.Errorf("approving its code: the phone page answered %s, not approved", out)
	}
	lap(&s.Steps.Approve)
	select {
	case <-ready:
		s.Steps.Dashboard = s.SignedInAt.Sub(t)
		return nil
	case <-done:
		return fmt.Errorf("connection ended before the dashboard: %w", s.Dropped())
	case <-ctx.Done():
		return fmt.Errorf("no dashboard after approval: %w", ctx.Err())
	}
}

// BusyError is a server's 503: too busy now, come back after RetryAfter
// (zero when it did not say).
type BusyError struct {
	What       string
	RetryAfter time.Duration
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("%s: 503, retry after %v", e.What, e.RetryAfter)
}

// busyError returns a BusyError for a 503 response, nil for any other.
func busyError(what string, res *http.Response) error {
	if res == nil || res.StatusCode != http.StatusServiceUnavailable {
		return nil
	}
	secs, _ := strconv.Atoi(res.Header.Get("Retry-After"))
	return &BusyError{What: what, RetryAfter: time.Duration(secs) * time.Second}
}

// connect opens the screen's WebSocket with its cookie, says hello and
// starts reading it.
func (s *Screen) connect(ctx context.Context) error {
	f := s.fleet
	base := "http://" + f.host
	header := http.Header{"Origin": {base}}
	if s.cookie != "" {
		header.Set("Cookie", s.cookie)
	}
	d := websocket.Dialer{NetDialContext: s.dialer().DialContext, HandshakeTimeout: 30 * time.Second}
	conn, res, err := d.DialContext(ctx, "ws://"+f.host+"/ws", header)
	if err != nil {
		if busy := busyError("opening its WebSocket", res); busy != nil {
			return busy
		}
		if res != nil {
			err = fmt.Errorf("%w (%s)", err, res.Status)
		}
		return fmt.Errorf("opening its WebSocket: %w", err)
	}
	hello, _ := wire.Encode(wire.Hello{Screen: s.Name, TimeZone: "Europe/London"})
	if err := conn.WriteMessage(websocket.TextMessage, hello); err != nil {
		conn.Close()
		return fmt.Errorf("saying hello: %w", err)
	}
	s.mu.Lock()
	s.conn = conn
	s.codes, s.ready, s.done = make(chan string, 4), make(chan struct{}), make(chan struct{})
	s.err = nil
	codes, ready, done := s.codes, s.ready, s.done
	s.mu.Unlock()
	go s.read(conn, codes, ready, done)
	return nil
}

// Return is how a screen came back after its server restarted.
type Return struct {
	// At is when its dashboard arrived, or its code when SignIn.
	At time.Time
	// Tries is how many connections it opened, the last included.
	Tries int
	// SignIn is true when the server asked it to sign in again (it showed
	// a code) instead of showing its account.
	SignIn bool
	// LongestRetryAfter is the longest Retry-After it was told.
	LongestRetryAfter time.Duration
}

// Reconnect brings the screen back after its connection ended (the server
// stopped), as a screen does: it tries again with the screens' backoff
// (wire.Reconnect) and its cookie, until its dashboard is back or the
// server asks for a new sign-in.
func (s *Screen) Reconnect(ctx context.Context, rng *rand.Rand) (Return, error) {
	var r Return
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return r, fmt.Errorf("loadgen: screen %s: its connection did not end: %w", s.Name, ctx.Err())
	}
	var retryAfter time.Duration
	for n := 1; ; n++ {
		if !sleep(ctx, wire.Reconnect.After(n, rng.Float64(), retryAfter)) {
			return r, fmt.Errorf("loadgen: screen %s not back after %d tries: %w", s.Name, r.Tries, ctx.Err())
		}
		retryAfter = 0
		r.Tries++
		err := s.connect(ctx)
		var busy *BusyError
		if errors.As(err, &busy) {
			s.Refused.Add(1)
			retryAfter = busy.RetryAfter
			r.LongestRetryAfter = max(r.LongestRetryAfter, retryAfter)
			continue
		}
		if err != nil {
			continue // not listening yet
		}
		s.mu.Lock()
		codes, ready, done := s.codes, s.ready, s.done
		s.mu.Unlock()
		select {
		case <-ready:
			r.At = s.SignedInAt
			return r, nil
		case <-codes:
			r.At, r.SignIn = time.Now(), true
			return r, nil
		case <-done:
			// Refused after the hello, or the server went away again.
		case <-ctx.Done():
			return r, fmt.Errorf("loadgen: screen %s: no dashboard after reconnecting: %w", s.Name, ctx.Err())
		}
	}
}

// sleep waits for d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// fetch loads a page, which must come back 200.
func fetch(ctx context.Context, c *http.Client, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if busy := busyError("GET "+req.URL.Path, res); busy != nil {
		return busy
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %.200s", res.Status, b)
	}
	return nil
}

// frame is what the fleet reads of a server's message.
type frame struct {
	Type string `json:"type"`
	Data struct {
		Phase string `json:"phase"`
		Code  *struct {
			UserCode string `json:"user_code"`
		} `json:"code"`
		Dashboard *struct {
			Presence *wire.Presence `json:"presence"`
		} `json:"dashboard"`
	} `json:"data"`
}

// read reads one connection of the screen until it ends, recording codes,
// the first dashboard and each change of presence with the time its frame
// arrived.
func (s *Screen) read(conn *websocket.Conn, codes chan string, ready, done chan struct{}) {
	defer close(done)
	var readyOnce sync.Once
	for {
		_, data, err := conn.ReadMessage()
		now := time.Now()
		if err != nil {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			return
		}
		s.frames.Add(1)
		s.bytes.Add(int64(len(data)))
		var f frame
		if json.Unmarshal(data, &f) != nil || f.Type != string(wire.TypeState) {
			continue
		}
		switch {
		case f.Data.Phase == string(wire.PhaseCode) && f.Data.Code != nil:
			select {
			case codes <- f.Data.Code.UserCode:
			default:
			}
		case f.Data.Phase == string(wire.PhaseDashboard) && f.Data.Dashboard != nil && f.Data.Dashboard.Presence != nil:
			s.fleet.sample.Store(&data)
			s.mu.Lock()
			if a := f.Data.Dashboard.Presence.Availability; a != s.availability {
				s.availability, s.changedAt = a, now
			}
			s.mu.Unlock()
			readyOnce.Do(func() {
				s.SignedInAt = now
				close(ready)
			})
		}
	}
}

// AwaitAvailability waits until every screen shows availability, and
// returns when each one's frame arrived. It polls what the screens
// recorded (the arrival times are taken as frames arrive, not here).
func AwaitAvailability(ctx context.Context, screens []*Screen, availability string) ([]time.Time, error) {
	out := make([]time.Time, len(screens))
	left := len(screens)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		for i, s := range screens {
			if !out[i].IsZero() {
				continue
			}
			if a, at := s.Availability(); a == availability {
				out[i] = at
				left--
			}
		}
		if left == 0 {
			return out, nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return out, fmt.Errorf("loadgen: %d of %d screens do not show %s: %w", left, len(screens), availability, ctx.Err())
		}
	}
}
