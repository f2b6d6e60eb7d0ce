// Command screen is placard's screen compiled to WebAssembly (app.wasm):
// it takes over the page the edge server prerendered.
package main

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/placard/placard/app/ui"
)

func main() {
	ui.Routes()
	app.RunWhenOnBrowser()
}
