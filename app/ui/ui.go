// Package ui is placard's screen: go-app components that the browser runs as
// WebAssembly and the edge server prerenders, so that the sign-in code is in
// the first HTML a TV receives.
//
// It imports nothing of the server: the server installs a prerender hook at
// start (SetPrerender), and everything else arrives over the WebSocket as
// wire messages.
package ui

import (
	"net/url"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/placard/placard/app/wire"
)

// Routes registers the screen's pages. Both the Wasm main and the server
// call it: the server prerenders only routes it registered.
func Routes() {
	app.Route("/", func() app.Composer { return &Screen{} })
}

// PrerenderFunc returns the state to prerender for a page URL, and false
// when there is none (the screen then shows "connecting").
type PrerenderFunc func(u *url.URL) (wire.State, bool)

// prerender is set once by the server at start, before it serves a page.
var prerender PrerenderFunc

// SetPrerender installs the server's prerender hook. Call it once at start.
func SetPrerender(f PrerenderFunc) { prerender = f }
