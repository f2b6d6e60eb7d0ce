// Command screen is placard's screen compiled to WebAssembly (app.wasm):
// it takes over the page the edge server prerendered.
package main

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/placard/placard/app/ui"
)

func main() {
	// The page's script without the Wasm (web/static/fallback.js) stops
	// once it sees this: from now on the page is the Wasm's.
	app.Window().Set("placardWasmStarted", true)
	ui.Routes()
	app.RunWhenOnBrowser()
}
