// Package hub carries messages between the edge server and its screens over
// WebSocket (gorilla/websocket).
//
// It follows gorilla's chat example: one goroutine owns the set of
// connections and is driven by a channel; each connection has one reader
// and one writer goroutine and a bounded send buffer, and a screen that
// cannot keep up is dropped rather than allowed to slow the others.
package hub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/admit"
)

const (
	// writeWait is the time allowed to write a message to a screen.
	writeWait = 10 * time.Second
	// DefaultPongWait is the time allowed to read the next pong from a
	// screen; pings go out at 9/10 of it.
	DefaultPongWait = 60 * time.Second
	// DefaultHelloWait is the time a new connection has to say hello.
	DefaultHelloWait = 10 * time.Second
	// maxMessageSize is the largest message a screen may send.
	maxMessageSize = wire.MaxMessageSize
	// sendBuffer is how many messages may wait for a slow screen before
	// it is dropped.
	sendBuffer = 16
	// readBuffer is the size of a connection's read buffer, kept for as
	// long as it is open: a screen's messages are small, and a larger one
	// is read in several reads. With a buffer of its own, the connection
	// does not keep net/http's (the request, its response and their
	// 4 KB buffers) after the upgrade.
	readBuffer = 512
)

// Handler is what the hub serves: the screens' side of the edge server.
type Handler interface {
	// Authenticate names the screen of a new connection from its upgrade
	// request (the screen's cookie) and hello; an error refuses it.
	Authenticate(r *http.Request, hello wire.Hello) (screenID string, err error)
	// Connected is called once the connection can receive messages. An
	// error closes the connection, and Disconnected is not called for it.
	Connected(screenID string, hello wire.Hello) error
	// Disconnected is called when a connection that Connected accepted
	// has gone.
	Disconnected(screenID string)
	// Received is called for each message after the hello.
	Received(screenID string, msg wire.Message)
}

// Metrics receives the hub's counts; nil for none.
type Metrics interface {
	Connections(n int)
	Message(direction, kind string)
}

// Hub holds the screens' connections.
type Hub struct {
	handler  Handler
	log      *slog.Logger
	metrics  Metrics
	upgrader websocket.Upgrader
	origins  []string
	allow    func(*http.Request) bool
	// pongWait and helloWait are read deadlines; pingPeriod paces the
	// pings (Options).
	pongWait, pingPeriod, helloWait time.Duration
	// hellos bounds the connections being set up at once (Options.Hellos).
	hellos *admit.Gate

	ops  chan func()
	done chan struct{}

	// framesMu guards frames: those sent and not yet queued to their
	// screens' connections. Send appends to them and wakes the run
	// goroutine (framesReady), which takes them all at its next turn: a
	// storm of frames costs one turn, not one each.
	framesMu    sync.Mutex
	frames      []server.Frame
	framesReady chan struct{}
	// spare is the slice of frames the run goroutine handled last, kept
	// for the next ones (guarded by framesMu).
	spare []server.Frame

	// handlers counts the ServeHTTP calls under way and the connections
	// they handed to a reader goroutine, until the handler was told the
	// connection has gone: the connections are hijacked, so the HTTP
	// server's Shutdown does not wait for them. Once stopped is set, no
	// call starts.
	handlersMu sync.Mutex
	stopped    bool
	handlers   sync.WaitGroup

	// Owned by the run goroutine.
	screens map[string]*screen
	count   int
}

// Options configure a Hub.
type Options struct {
	Log *slog.Logger
	// Origins are origins allowed besides the server's own
	// ("https://kiosk.example").
	Origins []string
	// CheckOrigin, when set, decides instead of the hub whether an
	// upgrade's Origin is allowed: a server behind a proxy knows its
	// scheme and public URL, which the hub does not.
	CheckOrigin func(r *http.Request) bool
	Metrics     Metrics
	// PongWait is how long a screen may go without answering a ping
	// before it is dropped: DefaultPongWait when zero.
	// A TV that lost power leaves no close frame; this finds it.
	PongWait time.Duration
	// PingPeriod is how often a screen is pinged: nine tenths of PongWait
	// when zero, so a pong has a tenth of PongWait to arrive. It must be
	// shorter than PongWait.
	PingPeriod time.Duration
	// HelloWait is how long a new connection has to say hello:
	// DefaultHelloWait when zero.
	HelloWait time.Duration
	// Hellos bounds the connections set up at once, from the upgrade to
	// the screen's first state (DefaultHellos when zero).
	Hellos admit.Limits
}

// DefaultHellos bounds the connections set up at once. Setting one up
// (the upgrade, the hello, the screen's cookie checked in the store, its
// session attached and its state encoded) takes a few milliseconds of
// work; when every screen of a restarted server comes back at once, 64 at
// a time keep both cores busy, 4,096 more wait their turn for up to 15 s,
// and the rest are told when to come back (503, Retry-After) before
// anything is spent on them.
var DefaultHellos = admit.Limits{Running: 64, Queue: 4096, Wait: 15 * time.Second}

// New returns a hub; Run must be running for it to work.
func New(h Handler, opts Options) *Hub {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.PongWait <= 0 {
		opts.PongWait = DefaultPongWait
	}
	if opts.PingPeriod <= 0 || opts.PingPeriod >= opts.PongWait {
		opts.PingPeriod = opts.PongWait * 9 / 10
	}
	if opts.HelloWait <= 0 {
		opts.HelloWait = DefaultHelloWait
	}
	if opts.Hellos == (admit.Limits{}) {
		opts.Hellos = DefaultHellos
	}
	hb := &Hub{
		handler:     h,
		log:         opts.Log,
		metrics:     opts.Metrics,
		origins:     opts.Origins,
		allow:       opts.CheckOrigin,
		pongWait:    opts.PongWait,
		pingPeriod:  opts.PingPeriod,
		helloWait:   opts.HelloWait,
		hellos:      admit.New("connections being set up", opts.Hellos),
		ops:         make(chan func(), 1024),
		done:        make(chan struct{}),
		framesReady: make(chan struct{}, 1),
		screens:     map[string]*screen{},
	}
	// Writes borrow a buffer from a pool for the length of a message:
	// a screen waiting for its next state holds none.
	hb.upgrader = websocket.Upgrader{
		ReadBufferSize:  readBuffer,
		WriteBufferPool: &sync.Pool{},
		CheckOrigin:     hb.checkOrigin,
	}
	return hb
}

// Run owns the hub's connections until ctx ends, then closes them all and
// returns once every connection's handler has: a screen's request being
// handled (a sign-out) finishes before what it uses is closed.
func (h *Hub) Run(ctx context.Context) {
	for {
		select {
		case op := <-h.ops:
			op()
		case <-h.framesReady:
			h.sendFramesLocked()
		case <-ctx.Done():
			for _, sc := range h.screens {
				for c := range sc.clients {
					h.dropLocked(c)
				}
			}
			h.handlersMu.Lock()
			h.stopped = true
			h.handlersMu.Unlock()
			close(h.done) // a handler's calls to the hub now return at once
			h.handlers.Wait()
			return
		}
	}
}

// enter counts a ServeHTTP call, unless the hub has stopped.
func (h *Hub) enter() bool {
	h.handlersMu.Lock()
	defer h.handlersMu.Unlock()
	if h.stopped {
		return false
	}
	h.handlers.Add(1)
	return true
}

// do runs op on the hub's goroutine and waits for it.
func (h *Hub) do(op func()) bool {
	ran := make(chan struct{})
	select {
	case h.ops <- func() { op(); close(ran) }:
	case <-h.done:
		return false
	}
	select {
	case <-ran:
		return true
	case <-h.done:
		return false
	}
}

// send queues op on the hub's goroutine without waiting for it.
func (h *Hub) send(op func()) {
	select {
	case h.ops <- op:
	case <-h.done:
	}
}

// screen is the connections of one screen.
type screen struct {
	clients map[*client]bool
	// seq is the Seq of the latest ordered frame queued for the screen.
	seq uint64
}

// Publish sends msg to every connection of the screen.
func (h *Hub) Publish(screenID string, msg []byte) {
	h.Send(server.Frame{Screen: screenID, Data: [][]byte{msg}})
}

// Send queues each frame for every connection of its screen, without
// waiting for them to be written; the frames of many calls are queued in
// one turn of the hub's goroutine. A frame older (by Seq) than one already
// queued for its screen is dropped.
func (h *Hub) Send(frames ...server.Frame) {
	if len(frames) == 0 {
		return
	}
	select {
	case <-h.done:
		return
	default:
	}
	h.framesMu.Lock()
	h.frames = append(h.frames, frames...)
	h.framesMu.Unlock()
	select {
	case h.framesReady <- struct{}{}:
	default: // the run goroutine is woken already
	}
}

// sendFramesLocked queues the frames sent since its last turn.
func (h *Hub) sendFramesLocked() {
	h.framesMu.Lock()
	frames := h.frames
	h.frames, h.spare = h.spare[:0], nil
	h.framesMu.Unlock()
	for _, f := range frames {
		sc := h.screens[f.Screen]
		if sc == nil {
			continue
		}
		if f.Seq != 0 {
			if f.Seq <= sc.seq {
				continue // a newer state was queued already
			}
			sc.seq = f.Seq
		}
		for c := range sc.clients {
			h.enqueueLocked(c, f.Data)
		}
	}
	clear(frames) // nothing of theirs is kept
	h.framesMu.Lock()
	h.spare = frames[:0]
	h.framesMu.Unlock()
}

// Disconnect sends msg to every connection of the screen, then closes them.
func (h *Hub) Disconnect(screenID string, msg []byte) {
	h.send(func() {
		sc := h.screens[screenID]
		if sc == nil {
			return
		}
		for c := range sc.clients {
			if msg != nil {
				h.enqueueLocked(c, [][]byte{msg})
			}
			h.dropLocked(c)
		}
	})
}

// Broadcast sends msg to every connection, as on shutdown.
func (h *Hub) Broadcast(msg []byte) {
	h.do(func() {
		m := [][]byte{msg}
		for _, sc := range h.screens {
			for c := range sc.clients {
				h.enqueueLocked(c, m)
			}
		}
	})
}

// OnCalm sets f to be called when the connections being set up drain
// after a storm (admit.Gate.OnCalm).
func (h *Hub) OnCalm(f func()) { h.hellos.OnCalm(f) }

// Connections returns how many connections are open.
func (h *Hub) Connections() int {
	n := 0
	h.do(func() { n = h.count })
	return n
}

// enqueueLocked queues a message for c, dropping c when its buffer is full:
// a slow screen must never hold up the others.
func (h *Hub) enqueueLocked(c *client, msg [][]byte) {
	if c.closed {
		return
	}
	select {
	case c.send <- msg:
		h.countMessage("out", msg[0])
	default:
		h.log.Warn("dropping a screen that does not keep up", "screen", c.screenID)
		h.dropLocked(c)
		// Its writer may be stuck in a write until the write deadline:
		// closing the connection now frees it (gorilla allows Close
		// beside a write in progress).
		c.conn.Close()
	}
}

func (h *Hub) countMessage(direction string, msg []byte) {
	if h.metrics == nil {
		return
	}
	h.metrics.Message(direction, messageType(msg))
}

// dropLocked forgets c and closes its send channel: its writer sends a
// close frame and ends the connection.
func (h *Hub) dropLocked(c *client) {
	if c.closed {
		return
	}
	c.closed = true
	close(c.send)
	if sc := h.screens[c.screenID]; sc != nil {
		delete(sc.clients, c)
		if len(sc.clients) == 0 {
			delete(h.screens, c.screenID)
		}
	}
	h.count--
	if h.metrics != nil {
		h.metrics.Connections(h.count)
	}
}

func (h *Hub) register(c *client) bool {
	return h.do(func() {
		sc := h.screens[c.screenID]
		if sc == nil {
			sc = &screen{clients: map[*client]bool{}}
			h.screens[c.screenID] = sc
		}
		sc.clients[c] = true
		h.count++
		if h.metrics != nil {
			h.metrics.Connections(h.count)
		}
	})
}

// checkOrigin allows the server's own origin (scheme and host) and the
// configured ones, and clients that send no Origin (not a browser, so no
// cross-site risk: the screen's cookie still has to prove who it is).
func (h *Hub) checkOrigin(r *http.Request) bool {
	if h.allow != nil {
		return h.allow(r)
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if strings.EqualFold(u.Scheme, scheme) && strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return slices.ContainsFunc(h.origins, func(o string) bool { return strings.EqualFold(strings.TrimRight(o, "/"), origin) })
}

// ServeHTTP upgrades a screen's request to a WebSocket, and once the screen
// is known hands the connection to a reader and a writer goroutine of its
// own and returns, as gorilla's chat example does: the handler's goroutine
// has a stack grown deep by net/http and the upgrade, which a connection
// that lasts for days would otherwise keep.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.enter() {
		http.Error(w, "the server is shutting down: try again", http.StatusServiceUnavailable)
		return
	}
	served := false
	defer func() {
		if !served {
			h.handlers.Done()
		}
	}()
	if !h.checkOrigin(r) {
		h.log.Warn("refusing a WebSocket from another origin", "origin", r.Header.Get("Origin"), "remote", r.RemoteAddr)
		http.Error(w, "WebSocket refused: the page's origin is not allowed to open a screen's connection.", http.StatusForbidden)
		return
	}
	// Refused before the upgrade, a screen costs nothing more; the
	// browser sees a failed connection and backs off (wire.Reconnect).
	leave, err := h.hellos.Enter(r.Context())
	if err != nil {
		var busy *admit.Busy
		if errors.As(err, &busy) {
			admit.Refuse(w, busy)
		}
		return
	}
	defer leave()
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	conn.SetReadLimit(maxMessageSize)

	hello, err := readHello(conn, h.helloWait)
	if err != nil {
		closeWith(conn, websocket.ClosePolicyViolation, err.Error())
		return
	}
	screenID, err := h.handler.Authenticate(r, hello)
	if err != nil && server.ErrorCode(err) == server.EINTERNAL {
		// The store failed, not the screen: it tries again, and the
		// details (which may name the database) stay in the log.
		h.log.Error("authenticating a screen", "screen", hello.Screen, "err", err)
		closeWith(conn, websocket.CloseTryAgainLater, "the edge server could not check this screen: try again")
		return
	}
	if err != nil {
		if msg, merr := wire.Encode(wire.Denied{Reason: server.ErrorMessage(err)}); merr == nil {
			conn.SetWriteDeadline(time.Now().Add(writeWait))
			conn.WriteMessage(websocket.TextMessage, msg)
		}
		closeWith(conn, websocket.ClosePolicyViolation, "unknown screen")
		return
	}
	c := &client{screenID: screenID, conn: conn, send: make(chan [][]byte, sendBuffer), wrote: make(chan struct{})}
	if !h.register(c) {
		closeWith(conn, websocket.CloseGoingAway, "server shutting down")
		return
	}
	go c.writePump(h.pingPeriod)
	if err := h.handler.Connected(screenID, hello); err != nil {
		// The screen was not counted as connected: it must not be
		// counted as gone either. It reconnects and tries again.
		h.log.Warn("refusing a screen's connection", "screen", screenID, "err", err)
		c.closeReason(websocket.CloseTryAgainLater, "the server could not show this screen now: try again")
		h.send(func() { h.dropLocked(c) })
		<-c.wrote
		return
	}
	// The reader goroutine now holds this call's place in h.handlers:
	// Run still waits for it.
	served = true
	go h.serve(c)
}

// serve reads a screen's connection until it ends, then waits for its
// writer and tells the handler the screen has gone. It ends the handler's
// count that ServeHTTP began.
func (h *Hub) serve(c *client) {
	defer h.handlers.Done()
	err := h.readPump(c)
	h.send(func() { h.dropLocked(c) })
	<-c.wrote
	h.handler.Disconnected(c.screenID)
	if err != nil {
		h.log.Info("screen connection ended", "screen", c.screenID, "reason", err.Error())
	}
}

// readHello reads the connection's first message, which must be a hello.
func readHello(conn *websocket.Conn, wait time.Duration) (wire.Hello, error) {
	conn.SetReadDeadline(time.Now().Add(wait))
	_, data, err := conn.ReadMessage()
	if err != nil {
		return wire.Hello{}, fmt.Errorf("no hello: %w", err)
	}
	m, err := wire.DecodeFromScreen(data)
	if err != nil {
		return wire.Hello{}, err
	}
	hello, ok := m.(wire.Hello)
	if !ok {
		return wire.Hello{}, fmt.Errorf("the first message must be %q, not %q", wire.TypeHello, m.MessageType())
	}
	return hello, nil
}

// readPump reads a screen's messages until the connection ends, which it
// reports. A message that does not decode ends the connection with the
// reason in the close frame.
func (h *Hub) readPump(c *client) error {
	c.conn.SetReadDeadline(time.Now().Add(h.pongWait))
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(h.pongWait))
	})
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
				return nil
			}
			if errors.Is(err, websocket.ErrReadLimit) {
				return fmt.Errorf("message over %d bytes", maxMessageSize)
			}
			return err
		}
		m, err := wire.DecodeFromScreen(data)
		if err != nil {
			// serve drops the connection, with this reason.
			c.closeReason(websocket.ClosePolicyViolation, err.Error())
			return err
		}
		if _, again := m.(wire.Hello); again {
			continue // a hello after the first changes nothing
		}
		h.countMessage("in", data)
		h.handler.Received(c.screenID, m)
	}
}

// client is one WebSocket connection of a screen.
type client struct {
	screenID string
	conn     *websocket.Conn
	send     chan [][]byte
	// wrote is closed when the writer has ended (and closed the
	// connection).
	wrote chan struct{}
	// closed is owned by the hub's goroutine.
	closed bool

	mu     sync.Mutex
	reason *websocket.CloseError
}

func (c *client) closeReason(code int, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reason = &websocket.CloseError{Code: code, Text: text}
}

// writePump writes queued messages and a ping every pingEvery; when the
// hub closes the send channel it sends a close frame and closes the
// connection.
func (c *client) writePump(pingEvery time.Duration) {
	// The first ping comes at a random point of the period: screens that
	// connected together (a restarted server's reconnect storm) are then
	// not pinged together ever after.
	ping := time.NewTimer(1 + rand.N(pingEvery))
	defer func() {
		ping.Stop()
		c.conn.Close()
		close(c.wrote)
	}()
	for {
		select {
		case msg, ok := <-c.send:
			if !ok {
				c.mu.Lock()
				reason := c.reason
				c.mu.Unlock()
				if reason == nil {
					reason = &websocket.CloseError{Code: websocket.CloseNormalClosure}
				}
				closeWith(c.conn, reason.Code, reason.Text)
				return
			}
			c.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := write(c.conn, msg); err != nil {
				return
			}
		case <-ping.C:
			c.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
			ping.Reset(pingEvery)
		}
	}
}

// write writes one text message made of parts.
func write(conn *websocket.Conn, parts [][]byte) error {
	if len(parts) == 1 {
		return conn.WriteMessage(websocket.TextMessage, parts[0])
	}
	w, err := conn.NextWriter(websocket.TextMessage)
	if err != nil {
		return err
	}
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			w.Close()
			return err
		}
	}
	return w.Close()
}

// closeWith sends a close frame with a reason (at most 123 bytes, the
// protocol's limit) and closes the connection.
func closeWith(conn *websocket.Conn, code int, text string) {
	if len(text) > 123 {
		text = text[:120] + "..."
	}
	conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(writeWait))
	conn.Close()
}

// messageType reads the "type" of an encoded message, for metrics: one
// of the wire's types, or "unknown". It reads the message in place and
// allocates nothing: every frame sent passes through it.
func messageType(msg []byte) string {
	const key = `{"type":"`
	if !bytes.HasPrefix(msg, []byte(key)) {
		return "unknown"
	}
	msg = msg[len(key):]
	if i := bytes.IndexByte(msg, '"'); i > 0 {
		if t, ok := messageTypes[string(msg[:i])]; ok {
			return t
		}
	}
	return "unknown"
}

// messageTypes are the wire's message types, as metrics name them (read
// only).
var messageTypes = map[string]string{
	wire.TypeHello: wire.TypeHello, wire.TypeSignOut: wire.TypeSignOut, wire.TypeQuickBook: wire.TypeQuickBook,
	wire.TypeRoomAction: wire.TypeRoomAction, wire.TypeState: wire.TypeState, wire.TypeBye: wire.TypeBye,
	wire.TypeDenied: wire.TypeDenied, wire.TypeReload: wire.TypeReload, wire.TypeIdentify: wire.TypeIdentify,
}
