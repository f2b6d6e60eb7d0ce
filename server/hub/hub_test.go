package hub_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/admit"
	"github.com/placard/placard/server/hub"
)

// screens is a hub.Handler that knows every screen but "stranger" (and
// fails to check "broken store"), and reports what happens.
type screens struct {
	mu           sync.Mutex
	disconnected map[string]chan struct{}
	received     chan wire.Message
	// refuse makes Connected fail for these screens; gone counts
	// Disconnected calls.
	refuse    map[string]bool
	goneCount map[string]int
	// hold, when set, keeps Received from returning until it is closed.
	hold chan struct{}
	// authenticating, when set, is told of each screen Authenticate is
	// asked about, which then waits for holdAuth to close.
	authenticating chan string
	holdAuth       chan struct{}
}

func newScreens() *screens {
	return &screens{disconnected: map[string]chan struct{}{}, received: make(chan wire.Message, 16),
		refuse: map[string]bool{}, goneCount: map[string]int{}}
}

func (s *screens) gone(id string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.disconnected[id]
	if c == nil {
		c = make(chan struct{})
		s.disconnected[id] = c
	}
	return c
}

func (s *screens) Authenticate(r *http.Request, h wire.Hello) (string, error) {
	if s.authenticating != nil {
		s.authenticating <- h.Screen
		<-s.holdAuth
	}
	switch h.Screen {
	case "stranger":
		return "", server.Errorf(server.EUNAUTHORIZED, "unknown screen: open the screen's page again to register it")
	case "broken store":
		return "", errors.New("screens: authenticating s1: sqlite: /var/lib/placard/placard.db: database is locked")
	}
	return "id-" + h.Screen, nil
}
func (s *screens) Connected(id string, _ wire.Hello) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse[id] {
		return errors.New("the store is unavailable")
	}
	return nil
}

func (s *screens) Disconnected(id string) {
	c := s.gone(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.goneCount[id]++
	if s.goneCount[id] == 1 {
		close(c)
	}
}
func (s *screens) Received(_ string, m wire.Message) {
	s.received <- m
	if s.hold != nil {
		<-s.hold
	}
}

// start runs a hub behind a test server.
func start(t *testing.T, opts hub.Options) (*hub.Hub, *screens, *httptest.Server) {
	t.Helper()
	return startWith(t, newScreens(), opts)
}

func startWith(t *testing.T, sc *screens, opts hub.Options) (*hub.Hub, *screens, *httptest.Server) {
	t.Helper()
	h := hub.New(sc, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Run(ctx)
	}()
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		cancel()
		<-done
	})
	return h, sc, srv
}

func wsURL(srv *httptest.Server) string { return "ws" + strings.TrimPrefix(srv.URL, "http") }

// connect opens a screen's connection and says hello.
func connect(t *testing.T, srv *httptest.Server, name string, d *websocket.Dialer) *websocket.Conn {
	t.Helper()
	if d == nil {
		d = websocket.DefaultDialer
	}
	c, _, err := d.Dial(wsURL(srv), http.Header{"Origin": {srv.URL}})
	if err != nil {
		t.Fatalf("dialing: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	send(t, c, wire.Hello{Screen: name})
	return c
}

func send(t *testing.T, c *websocket.Conn, m wire.Message) {
	t.Helper()
	b, err := wire.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage(websocket.TextMessage, b); err != nil {
		t.Fatal(err)
	}
}

// closeOf reads until the connection ends and returns its close frame.
func closeOf(t *testing.T, c *websocket.Conn) *websocket.CloseError {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("the connection ended without a close frame: %v", err)
		}
		return ce
	}
}

func TestTheUpgradeChecksTheOrigin(t *testing.T) {
	_, _, srv := start(t, hub.Options{Origins: []string{"https://kiosk.example"}})
	tests := []struct {
		origin string
		ok     bool
	}{
		{"", true}, // not a browser: its cookie still has to prove the screen
		{srv.URL, true},
		{strings.ToUpper(srv.URL[:4]) + srv.URL[4:], true},
		{"https://kiosk.example", true},
		{"https://evil.example", false},
		{"https://kiosk.example.evil.example", false},
		{"http://kiosk.example", false},
		{"https://" + strings.TrimPrefix(srv.URL, "http://"), false}, // the same host, another scheme
		{"null", false},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.origin != "" {
			h.Set("Origin", tt.origin)
		}
		c, res, err := websocket.DefaultDialer.Dial(wsURL(srv), h)
		if tt.ok {
			if err != nil {
				t.Errorf("Origin %q refused: %v", tt.origin, err)
				continue
			}
			c.Close()
			continue
		}
		if err == nil {
			c.Close()
			t.Errorf("Origin %q accepted", tt.origin)
			continue
		}
		if res == nil || res.StatusCode != http.StatusForbidden {
			t.Errorf("Origin %q: %v, want 403", tt.origin, res)
			continue
		}
		body, _ := io.ReadAll(res.Body)
		if !strings.Contains(string(body), "is not allowed") {
			t.Errorf("Origin %q: the refusal says %q", tt.origin, body)
		}
	}
}

func TestAFrameOverTheLimitClosesTheConnection(t *testing.T) {
	_, sc, srv := start(t, hub.Options{})
	c := connect(t, srv, "Lobby TV", nil)
	big := `{"type":"quick_book","data":{"minutes":15,"x":"` + strings.Repeat("x", wire.MaxMessageSize) + `"}}`
	if err := c.WriteMessage(websocket.TextMessage, []byte(big)); err != nil {
		t.Fatal(err)
	}
	if ce := closeOf(t, c); ce.Code != websocket.CloseMessageTooBig {
		t.Errorf("closed with %d %q, want %d (message too big)", ce.Code, ce.Text, websocket.CloseMessageTooBig)
	}
	select {
	case <-sc.gone("id-Lobby TV"):
	case <-time.After(10 * time.Second):
		t.Fatal("the screen was not disconnected")
	}
	select {
	case m := <-sc.received:
		t.Errorf("the oversized message reached the handler: %#v", m)
	default:
	}
}

func TestBadMessagesCloseTheConnectionWithTheirReason(t *testing.T) {
	tests := []struct {
		name   string
		first  string // "" for a proper hello
		then   string
		reason string
	}{
		{"unknown type", "", `{"type":"give_me_tokens"}`, `unknown message type "give_me_tokens"`},
		{"not JSON", "", `tokens please`, "not a JSON envelope"},
		{"unknown field", "", `{"type":"sign_out","token":"x"}`, "unknown field"},
		{"no hello first", `{"type":"sign_out"}`, "", `must be "hello"`},
		{"bad hello", `{"type":"hello","data":{"screen":""}}`, "", "screen name is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, sc, srv := start(t, hub.Options{})
			c, _, err := websocket.DefaultDialer.Dial(wsURL(srv), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			first := tt.first
			if first == "" {
				first = `{"type":"hello","data":{"screen":"Hall"}}`
			}
			c.WriteMessage(websocket.TextMessage, []byte(first))
			if tt.then != "" {
				c.WriteMessage(websocket.TextMessage, []byte(tt.then))
			}
			ce := closeOf(t, c)
			if ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, tt.reason) {
				t.Errorf("closed with %d %q, want %d naming %q", ce.Code, ce.Text, websocket.ClosePolicyViolation, tt.reason)
			}
			select {
			case m := <-sc.received:
				t.Errorf("a refused message reached the handler: %#v", m)
			default:
			}
		})
	}
}

func TestAnUnknownScreenIsToldAndClosed(t *testing.T) {
	_, _, srv := start(t, hub.Options{})
	c := connect(t, srv, "stranger", nil)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	m, err := wire.DecodeFromServer(data)
	if d, ok := m.(wire.Denied); err != nil || !ok || !strings.Contains(d.Reason, "unknown screen") {
		t.Fatalf("first message %s (%v), want a denial", data, err)
	}
	if ce := closeOf(t, c); ce.Code != websocket.ClosePolicyViolation {
		t.Errorf("closed with %d, want %d", ce.Code, websocket.ClosePolicyViolation)
	}
}

func TestAStoreFailureIsNotToldToTheScreen(t *testing.T) {
	_, _, srv := start(t, hub.Options{})
	c := connect(t, srv, "broken store", nil)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := c.ReadMessage()
	if err == nil {
		t.Fatalf("a screen the store could not check got %s, want only a close", data)
	}
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseTryAgainLater || strings.Contains(ce.Text, "sqlite") || strings.Contains(ce.Text, "placard.db") {
		t.Errorf("closed with %v, want %d and no detail of the store", err, websocket.CloseTryAgainLater)
	}
}

func TestASlowScreenIsDroppedWithoutHoldingUpOthers(t *testing.T) {
	h, sc, srv := start(t, hub.Options{})
	// The slow screen never reads, and its socket buffers little: the
	// kernel holds at most its 64 kB and the server side's send buffer
	// (tcp_wmem, 4 MB at most), and the hub 16 messages more, so that 64
	// messages of 1 MB must overflow it whatever the scheduling.
	slowDialer := &websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			err = c.(*net.TCPConn).SetReadBuffer(64 << 10)
		}
		return c, err
	}}
	connect(t, srv, "slow", slowDialer)
	fast := connect(t, srv, "fast", nil)
	waitFor(t, "both connections", func() bool { return h.Connections() == 2 })

	// In step: each round sends the slow screen 1 MB and the fast one a
	// message it must receive before the next round. A hub that waited
	// for the slow screen would stall the fast one here.
	big := bytes.Repeat([]byte("x"), 1<<20)
	const n = 64
	for i := range n {
		h.Publish("id-slow", big)
		h.Publish("id-fast", []byte(fmt.Sprintf(`{"type":"bye","data":{"reason":"%d"}}`, i)))
		fast.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, data, err := fast.ReadMessage()
		if err != nil {
			t.Fatalf("the fast screen got %d of %d messages: %v", i, n, err)
		}
		if want := fmt.Sprintf(`"%d"`, i); !strings.Contains(string(data), want) {
			t.Fatalf("message %d is %s", i, data)
		}
	}
	// 64 MB cannot all be buffered: the slow screen was dropped (it is no
	// longer counted, and nothing more is queued for it), and its socket
	// closed at once, not when its blocked write reaches the 10 s deadline.
	waitFor(t, "the slow screen dropped", func() bool { return h.Connections() == 1 })
	select {
	case <-sc.gone("id-slow"):
	case <-time.After(5 * time.Second):
		t.Error("the dropped screen's connection is still open")
	}
	select {
	case <-sc.gone("id-fast"):
		t.Error("the fast screen was disconnected")
	default:
	}
}

// waitFor polls cond until it holds, failing after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A screen that lost power sends no close frame: the hub finds it by the
// pongs it stops sending, and a screen that answers stays.
func TestPingsKeepAScreenThatAnswersAndDropOneThatDoesNot(t *testing.T) {
	// Pings come often within a pong wait, so a pong delayed by a loaded
	// machine still arrives in time: only a screen that never answers is
	// dropped.
	const pongWait, pingPeriod = 2 * time.Second, 250 * time.Millisecond
	_, sc, srv := start(t, hub.Options{PongWait: pongWait, PingPeriod: pingPeriod})

	// The live screen answers pings (gorilla's default ping handler sends
	// the pong) and counts them.
	live := connect(t, srv, "live", nil)
	pings := make(chan struct{}, 64)
	live.SetPingHandler(func(data string) error {
		pings <- struct{}{}
		return live.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	go func() {
		for {
			if _, _, err := live.ReadMessage(); err != nil {
				return
			}
		}
	}()

	// The dead one reads (so it would see a close) but never pongs.
	dead := connect(t, srv, "dead", nil)
	dead.SetPingHandler(func(string) error { return nil })
	go func() {
		for {
			if _, _, err := dead.ReadMessage(); err != nil {
				return
			}
		}
	}()

	select {
	case <-sc.gone("id-dead"):
	case <-time.After(10 * time.Second):
		t.Fatalf("a screen that answers no ping was kept 10s with a pong wait of %v", pongWait)
	}
	// The pings of more than two pong waits from now keep the live one.
	for len(pings) > 0 {
		<-pings
	}
	deadline := time.After(30 * time.Second)
	for range int(2*pongWait/pingPeriod) + 1 {
		select {
		case <-pings:
		case <-deadline:
			t.Fatal("the hub stopped pinging the live screen")
		}
	}
	select {
	case <-sc.gone("id-live"):
		t.Fatal("a screen that answers every ping was dropped")
	default:
	}
}

func TestAConnectionThatSaysNoHelloIsClosed(t *testing.T) {
	_, _, srv := start(t, hub.Options{HelloWait: 200 * time.Millisecond})
	c, _, err := websocket.DefaultDialer.Dial(wsURL(srv), http.Header{"Origin": {srv.URL}})
	if err != nil {
		t.Fatalf("dialing: %v", err)
	}
	defer c.Close()
	if ce := closeOf(t, c); ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "no hello") {
		t.Errorf("closed with %d %q, want a policy violation saying no hello came", ce.Code, ce.Text)
	}
}

func TestAConnectionItsScreenCannotTakeIsClosedAndNeverCountedGone(t *testing.T) {
	sc := newScreens()
	sc.refuse["id-Hall"] = true
	h := hub.New(sc, hub.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.Run(ctx)
	served := make(chan struct{}, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		served <- struct{}{}
	}))
	defer srv.Close()

	c := connect(t, srv, "Hall", nil)
	if ce := closeOf(t, c); ce.Code != websocket.CloseTryAgainLater {
		t.Errorf("closed with %d %q, want %d (try again later)", ce.Code, ce.Text, websocket.CloseTryAgainLater)
	}
	<-served
	sc.mu.Lock()
	n := sc.goneCount["id-Hall"]
	sc.mu.Unlock()
	if n != 0 {
		// Disconnected undoes a Connected: for a connection never
		// counted it would take another connection's count away.
		t.Errorf("Disconnected was called %d times for a connection Connected refused", n)
	}
	if n := h.Connections(); n != 0 {
		t.Errorf("%d connections open, want none", n)
	}
}

func TestRunReturnsOnlyOnceEveryHandlerHas(t *testing.T) {
	sc := newScreens()
	sc.hold = make(chan struct{})
	h := hub.New(sc, hub.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		h.Run(ctx)
	}()
	srv := httptest.NewServer(h)
	defer srv.Close()

	c := connect(t, srv, "Hall", nil)
	send(t, c, wire.SignOut{})
	<-sc.received // the sign-out is being handled
	cancel()
	closeOf(t, c) // the hub has closed the connection
	select {
	case <-ran:
		t.Fatal("Run returned while a screen's request was still being handled: the store could be closed under it")
	default:
	}
	close(sc.hold)
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return once the handler had")
	}
	// A connection after the stop is refused.
	if _, res, err := websocket.DefaultDialer.Dial(wsURL(srv), nil); err == nil || res == nil || res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a connection after the stop: %v, want 503", err)
	}
}

// The request's handler returns once the screen is connected (its stack,
// grown by net/http, is not kept for as long as the screen stays), and the
// connection goes on: messages both ways, larger ones than its read
// buffer too, and the screen's going is still told.
func TestAConnectionOutlivesItsRequestsHandler(t *testing.T) {
	sc := newScreens()
	h := hub.New(sc, hub.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		h.Run(ctx)
	}()
	returned := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		returned <- struct{}{}
	}))
	defer func() {
		srv.Close()
		cancel()
		<-ran
	}()

	c, _, err := websocket.DefaultDialer.Dial(wsURL(srv), http.Header{"Origin": {srv.URL}})
	if err != nil {
		t.Fatalf("dialing: %v", err)
	}
	defer c.Close()
	// A hello of 2 KB (JSON allows the spaces), four times the read buffer.
	hello := `{"type":"hello","data":{"screen":"Hall"` + strings.Repeat(" ", 2048) + `}}`
	if err := c.WriteMessage(websocket.TextMessage, []byte(hello)); err != nil {
		t.Fatal(err)
	}
	id := "id-Hall"
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler did not return once the screen was connected")
	}
	msg := []byte(`{"type":"bye","data":{"reason":"test"}}`)
	waitFor(t, "connection", func() bool { return h.Connections() == 1 })
	h.Publish(id, msg)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, got, err := c.ReadMessage(); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("after the handler returned the screen read %q, %v; want %q", got, err, msg)
	}
	send(t, c, wire.SignOut{})
	select {
	case m := <-sc.received:
		if _, ok := m.(wire.SignOut); !ok {
			t.Errorf("received %T, want the sign-out", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a message sent after the handler returned was not received")
	}
	c.Close()
	select {
	case <-sc.gone(id):
	case <-time.After(10 * time.Second):
		t.Fatal("the screen's going was not told")
	}
}

// TestConnectionsPastTheQueueAreToldWhenToComeBack holds the one place for
// a connection being set up (its screen's cookie being checked) and opens
// another: with no queue, it is refused before the upgrade with 503 and
// Retry-After, and costs the server nothing more.
func TestConnectionsPastTheQueueAreToldWhenToComeBack(t *testing.T) {
	sc := newScreens()
	sc.authenticating, sc.holdAuth = make(chan string, 1), make(chan struct{})
	_, _, srv := startWith(t, sc, hub.Options{Hellos: admit.Limits{Running: 1, Queue: 0, Wait: time.Second}})
	a, _, err := websocket.DefaultDialer.Dial(wsURL(srv), http.Header{"Origin": {srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	send(t, a, wire.Hello{Screen: "lobby"})
	if got := <-sc.authenticating; got != "lobby" {
		t.Fatalf("authenticating %q, want lobby", got)
	}
	_, res, err := websocket.DefaultDialer.Dial(wsURL(srv), http.Header{"Origin": {srv.URL}})
	if err == nil || res == nil || res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a connection while the place is taken: %v (%v), want 503", err, res)
	}
	if secs, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || secs < 1 {
		t.Errorf("Retry-After %q, want whole seconds ≥ 1", res.Header.Get("Retry-After"))
	}
	close(sc.holdAuth)
}

// TestAConnectionWaitsInTheQueueForAPlace holds the one place, opens a
// second connection, and lets the first go on: the second waited its turn
// in the queue and is set up, not refused.
func TestAConnectionWaitsInTheQueueForAPlace(t *testing.T) {
	sc := newScreens()
	sc.authenticating, sc.holdAuth = make(chan string, 2), make(chan struct{})
	_, _, srv := startWith(t, sc, hub.Options{Hellos: admit.Limits{Running: 1, Queue: 1, Wait: 30 * time.Second}})
	a, _, err := websocket.DefaultDialer.Dial(wsURL(srv), http.Header{"Origin": {srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	send(t, a, wire.Hello{Screen: "lobby"})
	<-sc.authenticating
	second := make(chan error, 1)
	go func() {
		b, _, err := websocket.DefaultDialer.Dial(wsURL(srv), http.Header{"Origin": {srv.URL}})
		if err == nil {
			defer b.Close()
			b.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello","data":{"screen":"canteen"}}`))
			if got := <-sc.authenticating; got != "canteen" {
				err = fmt.Errorf("authenticating %q, want canteen", got)
			}
		}
		second <- err
	}()
	close(sc.holdAuth)
	if err := <-second; err != nil {
		t.Fatalf("the queued connection: %v", err)
	}
}

// Frames of a screen are sent in order of their Seq: a frame older than
// one queued already for the screen (made by another goroutine, sent
// later) is dropped, so an older state never overwrites a newer one;
// unordered frames (Seq 0) always go, and each screen has its own order. A
// frame in parts arrives as one message.
func TestAnOlderFrameNeverFollowsANewerOne(t *testing.T) {
	h, _, srv := start(t, hub.Options{})
	hall := connect(t, srv, "Hall", nil)
	desk := connect(t, srv, "Desk", nil)
	waitFor(t, "connections", func() bool { return h.Connections() == 2 })
	// Each message in three parts, written as one.
	bye := func(reason string) [][]byte {
		b, _ := wire.Encode(wire.Bye{Reason: reason})
		return [][]byte{b[:5], b[5 : len(b)-3], b[len(b)-3:]}
	}
	h.Send(
		server.Frame{Screen: "id-Hall", Seq: 5, Data: bye("hall 5")},
		server.Frame{Screen: "id-Desk", Seq: 3, Data: bye("desk 3")},
	)
	h.Send(server.Frame{Screen: "id-Hall", Seq: 4, Data: bye("hall 4")}) // older: dropped
	h.Send(server.Frame{Screen: "id-Hall", Seq: 5, Data: bye("hall 5 again")})
	h.Send(server.Frame{Screen: "id-Hall", Data: bye("hall unordered")})
	h.Send(server.Frame{Screen: "id-Desk", Seq: 4, Data: bye("desk 4")})
	h.Send(server.Frame{Screen: "id-Hall", Seq: 6, Data: bye("hall 6")})
	read := func(c *websocket.Conn, n int) []string {
		t.Helper()
		var got []string
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		for range n {
			_, b, err := c.ReadMessage()
			if err != nil {
				t.Fatalf("reading: %v (after %q)", err, got)
			}
			m, _ := wire.DecodeFromServer(b)
			got = append(got, m.(wire.Bye).Reason)
		}
		return got
	}
	if got, want := read(hall, 3), []string{"hall 5", "hall unordered", "hall 6"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Hall read %q, want %q", got, want)
	}
	if got, want := read(desk, 2), []string{"desk 3", "desk 4"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Desk read %q, want %q", got, want)
	}
}

// Screens that connect together (a restarted server's reconnect storm)
// are not pinged together: each first ping comes at its own point of the
// period, so the hub's pings are spread as in a steady state.
func TestScreensThatConnectTogetherArePingedApart(t *testing.T) {
	const n, pingPeriod = 16, 2 * time.Second
	_, _, srv := start(t, hub.Options{PongWait: 3 * time.Second, PingPeriod: pingPeriod})
	first := make(chan time.Time, n)
	for i := range n {
		conn := connect(t, srv, fmt.Sprintf("s%d", i), nil)
		var once sync.Once
		conn.SetPingHandler(func(data string) error {
			once.Do(func() { first <- time.Now() })
			return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		})
		go func() {
			for {
				if _, _, err := conn.ReadMessage(); err != nil {
					return
				}
			}
		}()
	}
	var earliest, latest time.Time
	for range n {
		select {
		case at := <-first:
			if earliest.IsZero() || at.Before(earliest) {
				earliest = at
			}
			if at.After(latest) {
				latest = at
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("a screen had no ping within 10 s, with pings every %v", pingPeriod)
		}
	}
	// 16 first pings drawn over 2 s all fall within half a second of each
	// other about once in 2^26 runs; pinged together, they are
	// milliseconds apart.
	if spread := latest.Sub(earliest); spread < pingPeriod/4 {
		t.Errorf("the first pings of %d screens that connected together came within %v of each other, with pings every %v", n, spread, pingPeriod)
	}
}
