//go:build wasm

package ui

import (
	"encoding/json"
	"net/url"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/placard/placard/app/wire"
)

// conn is the browser's own WebSocket, driven through go-app's JS bridge:
// a Go WebSocket library compiled to Wasm would only wrap the same object,
// at a cost in size.
type conn struct {
	ws    app.Value
	funcs []app.Func
	done  bool
}

// dial opens a WebSocket to the edge server's /ws and sends hello first.
// The screen's secret is not in it nor in the URL: the browser sends the
// screen's HttpOnly cookie with the upgrade request.
func dial(ctx app.Context, hello wire.Hello, h handlers) *conn {
	loc := app.Window().Get("location")
	scheme := "ws://"
	if loc.Get("protocol").String() == "https:" {
		scheme = "wss://"
	}
	c := &conn{ws: app.Window().Get("WebSocket").New(scheme + loc.Get("host").String() + "/ws")}
	on := func(event string, f func(app.Value)) {
		fn := app.FuncOf(func(this app.Value, args []app.Value) any {
			if len(args) > 0 {
				f(args[0])
			}
			return nil
		})
		c.funcs = append(c.funcs, fn)
		c.ws.Set(event, fn)
	}
	on("onopen", func(app.Value) {
		c.send(hello)
		ctx.Dispatch(func(app.Context) { h.open() })
	})
	on("onmessage", func(ev app.Value) {
		m, err := wire.DecodeFromServer([]byte(ev.Get("data").String()))
		if err != nil {
			app.Log("placard: ignoring a message:", err)
			return
		}
		ctx.Dispatch(func(app.Context) { h.message(m) })
	})
	on("onclose", func(app.Value) {
		if c.done {
			return
		}
		c.release()
		ctx.Dispatch(func(app.Context) { h.closed() })
	})
	return c
}

func (c *conn) send(m wire.Message) {
	b, err := wire.Encode(m)
	if err != nil {
		app.Log("placard:", err)
		return
	}
	if c.ws.Get("readyState").Int() == 1 { // OPEN
		c.ws.Call("send", string(b))
	}
}

func (c *conn) close() {
	c.ws.Call("close")
	c.release()
}

func (c *conn) release() {
	if c.done {
		return
	}
	c.done = true
	for _, f := range c.funcs {
		f.Release()
	}
	c.funcs = nil
}

// browserZone is the browser's IANA time zone.
func browserZone() string {
	intl := app.Window().Get("Intl")
	if !intl.Truthy() {
		return ""
	}
	return intl.Call("DateTimeFormat").Call("resolvedOptions").Get("timeZone").String()
}

// hasTouch reports a touch screen: only those show buttons.
func hasTouch() bool {
	nav := app.Window().Get("navigator")
	return nav.Get("maxTouchPoints").Int() > 0
}

// reloadOnce reloads the page, at most once a minute, so that a screen the
// server does not know registers again without looping.
func reloadOnce() {
	store := app.Window().Get("sessionStorage")
	last := store.Call("getItem", "placard-reload")
	now := time.Now().Unix()
	if last.Truthy() {
		var t int64
		json.Unmarshal([]byte(last.String()), &t)
		if now-t < 60 {
			return
		}
	}
	store.Call("setItem", "placard-reload", now)
	app.Window().Get("location").Call("reload")
}

// reloadNow loads the page again at once: an administrator asked, and
// the page (never cached) brings the app's current version, which the
// service worker then fetches.
func reloadNow() {
	app.Window().Get("location").Call("reload")
}

// readSnapshot reads the state the server prerendered into the page.
func readSnapshot() (wire.State, bool) {
	el := app.Window().Get("document").Call("querySelector", `[data-testid="screen"][data-snapshot]`)
	if !el.Truthy() {
		return wire.State{}, false
	}
	raw, err := url.QueryUnescape(el.Call("getAttribute", "data-snapshot").String())
	if err != nil {
		return wire.State{}, false
	}
	var st wire.State
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return wire.State{}, false
	}
	if st.Code != nil && st.Code.QR.Size > 0 && st.Code.QR.Path == "" {
		// The snapshot leaves the QR code to the page's drawing of it.
		path := el.Call("querySelector", `svg[data-testid="qr"] path`)
		if !path.Truthy() {
			return wire.State{}, false
		}
		st.Code.QR.Path = path.Call("getAttribute", "d").String()
	}
	return st, true
}

// keepAwake asks the browser to keep the screen on (Wake Lock API), where
// it allows it; a TV that sleeps shows nothing. The browser releases the
// lock whenever the page is hidden, so it is asked for again each time the
// page is visible again.
// https://developer.mozilla.org/en-US/docs/Web/API/Screen_Wake_Lock_API
func keepAwake() {
	nav := app.Window().Get("navigator")
	if !nav.Get("wakeLock").Truthy() {
		return
	}
	doc := app.Window().Get("document")
	request := func() {
		if doc.Get("visibilityState").String() != "visible" {
			return
		}
		// Refused without a user gesture on some browsers, or by
		// policy: the screen then sleeps as the device decides.
		p := nav.Get("wakeLock").Call("request", "screen")
		var onErr app.Func
		onErr = app.FuncOf(func(this app.Value, args []app.Value) any {
			onErr.Release()
			return nil
		})
		p.Call("catch", onErr)
	}
	request()
	// Never released: it lives as long as the page.
	doc.Call("addEventListener", "visibilitychange", app.FuncOf(func(this app.Value, args []app.Value) any {
		request()
		return nil
	}))
}

// setPageLang sets the lang attribute of the page's root element.
func setPageLang(lang string) {
	root := app.Window().Get("document").Get("documentElement")
	if root.Get("lang").String() != lang {
		root.Set("lang", lang)
	}
}
