package ui

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/placard/placard/app/wire"
)

// link is where the screen is in its connection to the edge server.
type link int

const (
	linkConnecting link = iota // never connected yet
	linkOpen                   // connected
	linkLost                   // was connected, trying again
)

// handlers are what a connection tells its screen; each runs on the UI
// goroutine (through ctx.Dispatch).
type handlers struct {
	open    func()
	message func(wire.Message)
	closed  func()
}

// Screen is the root component of "/": one screen, in whichever phase the
// edge server says it is.
type Screen struct {
	app.Compo

	state wire.State
	link  link
	// skew is the server's clock minus ours: TVs' clocks are often wrong.
	skew time.Duration
	now  time.Time
	conn *conn
	// retries counts connections lost or refused since the server last
	// served the screen (sent it a state): a server that accepts the
	// connection and then closes it, as a busy one may, does not reset
	// the backoff.
	retries int
	// acts is where a tablet's booking is (asked, confirmed).
	acts actions
	// identify is shown over everything until its Until.
	identify *wire.Identify
}

// OnPreRender fills the screen from the server's hook, so that the first
// HTML carries the code or the dashboard.
func (s *Screen) OnPreRender(ctx app.Context) {
	if prerender == nil {
		return
	}
	if st, ok := prerender(ctx.Page().URL()); ok {
		s.setState(st)
	}
}

// OnInit takes over the prerendered state before the prerendered HTML is
// replaced, so that the Wasm starting causes no flicker.
func (s *Screen) OnInit() {
	if st, ok := readSnapshot(); ok {
		s.setState(st)
	}
}

// OnMount connects to the edge server and starts the clock.
func (s *Screen) OnMount(ctx app.Context) {
	s.acts.send = s.send
	keepAwake()
	s.connect(ctx)
	ctx.Async(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				ctx.Dispatch(func(app.Context) { s.now = time.Now() })
			case <-ctx.Done():
				return
			}
		}
	})
}

// OnDismount closes the connection.
func (s *Screen) OnDismount() {
	if s.conn != nil {
		s.conn.close()
		s.conn = nil
	}
}

func (s *Screen) setState(st wire.State) {
	st.Board = shownBoard(st.Board, st.Screen)
	s.state = st
	// Screen readers and hyphenation follow the page's language.
	setPageLang(Lang(st.Screen.Lang))
	s.now = time.Now()
	if !st.Now.IsZero() {
		s.skew = st.Now.Sub(s.now)
	}
}

// serverNow is the server's clock, as far as this screen can tell.
func (s *Screen) serverNow() time.Time {
	now := s.now
	if now.IsZero() {
		now = time.Now()
	}
	return now.Add(s.skew)
}

// connect opens the WebSocket and says hello; on loss it tries again with
// back-off and jitter, keeping what the screen shows.
func (s *Screen) connect(ctx app.Context) {
	name := ctx.Page().URL().Query().Get("screen")
	if name == "" {
		name = s.state.Screen.Name
	}
	s.conn = dial(ctx, wire.Hello{Screen: name, TimeZone: browserZone(), Touch: hasTouch(), Version: app.Getenv("GOAPP_VERSION")}, handlers{
		open: func() {
			s.link = linkOpen
		},
		message: func(m wire.Message) {
			switch m := m.(type) {
			case wire.State:
				s.retries = 0
				if m.Dashboard != nil && m.Dashboard.Booking != nil {
					s.acts.sent = false
				}
				s.setState(m)
			case wire.Denied:
				// The server does not know this screen (revoked, or its
				// data was reset): loading the page registers it again.
				reloadOnce()
			case wire.Bye:
				s.link = linkLost
			case wire.Reload:
				// An administrator's reload: the page, and with it the
				// app's current version.
				reloadNow()
			case wire.Identify:
				s.identify = &m
			}
		},
		closed: func() {
			if s.link == linkOpen {
				s.link = linkLost
			}
			s.acts.asking, s.acts.sent, s.acts.room = 0, false, nil
			s.conn = nil
			s.retries++
			ctx.After(wire.Reconnect.Delay(s.retries, rand.Float64()), func(ctx app.Context) {
				if s.conn == nil && s.Mounted() {
					s.connect(ctx)
				}
			})
		},
	})
}

// send sends a message to the edge server, if connected.
func (s *Screen) send(m wire.Message) {
	if s.conn != nil {
		s.conn.send(m)
	}
}

// shifts is how many positions a screen's content takes in turn, and
// shiftEvery how long it stays at each: a few pixels every few minutes, so
// that what stays on a TV all day (the name, the clock) does not burn in.
// The positions are classes of placard.css: the page's policy allows no
// inline style.
const (
	shifts     = 8
	shiftEvery = 3 * time.Minute
)

// shift is the class of the content's position at now.
func shift(now time.Time) string {
	return fmt.Sprintf("shift-%d", now.Unix()/int64(shiftEvery/time.Second)%shifts)
}

// phase is what the screen shows: the server's phase, or its own
// connecting and reconnecting.
func (s *Screen) phase() wire.Phase {
	switch {
	case s.state.Phase == "":
		return wire.PhaseConnecting
	case s.link == linkLost:
		return wire.PhaseReconnecting
	}
	return s.state.Phase
}

// Render draws the screen.
func (s *Screen) Render() app.UI {
	st := s.state
	phase := s.phase()
	tx := textsFor(st.Screen.Lang)
	now := s.serverNow()

	var content app.UI
	shown := st.Phase
	if phase == wire.PhaseConnecting {
		shown = wire.PhaseConnecting
	}
	switch shown {
	case wire.PhasePairing:
		content = pairingView(st, tx)
	case wire.PhaseCode:
		content = codeView(st, tx, now)
	case wire.PhaseDashboard:
		if st.Board != nil {
			content = boardView(st, tx, now)
		} else {
			content = dashboardView(st, tx, now, &s.acts)
		}
	case wire.PhaseError:
		content = problemView(st, tx, now)
	default:
		content = app.Div().Class("connecting").Body(app.P().Text(tx.connecting))
	}

	root := app.Div().
		DataSet("testid", "screen").
		DataSet("state", string(phase)).
		DataSet("layout", token(st.Screen.LayoutOrDefault())).
		Class("screen", "phase-"+string(shown), shift(now))
	if phase == wire.PhaseReconnecting {
		root = root.Class("dimmed")
	}
	if st.Screen.Touch {
		root = root.Class("touch")
	}
	if st.Screen.Asleep && shown == wire.PhaseDashboard {
		root = root.Class("asleep")
	}
	if app.IsServer && st.Phase != "" {
		// The Wasm starts from this, not from nothing (see OnInit).
		// Percent-encoded: go-app writes attribute values with Go
		// quoting, not HTML escaping, so they must hold no quote.
		// The QR code's path is left out: the page draws it already, and
		// the Wasm reads it back from the drawing (readSnapshot), so
		// that the page carries it once.
		snap := st
		if snap.Code != nil {
			c := *snap.Code
			c.QR.Path = ""
			snap.Code = &c
		}
		if b, err := json.Marshal(snap); err == nil {
			root = root.DataSet("snapshot", url.QueryEscape(string(b)))
		}
		// The words of the reconnecting banner, for the page's script
		// when the Wasm does not run (web/static/fallback.js).
		root = root.DataSet("reconnecting", url.PathEscape(tx.reconnecting))
	}
	return root.Body(
		content,
		app.If(phase == wire.PhaseReconnecting, func() app.UI {
			return app.Div().Class("banner").Role("status").Text(tx.reconnecting)
		}),
		app.If(s.identify != nil && now.Before(s.identify.Until), func() app.UI {
			return identifyView(*s.identify, tx)
		}),
	)
}
