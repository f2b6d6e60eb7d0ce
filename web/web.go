// Package web holds the screen's static assets (styles, icons, the service
// worker, the offline page) and the built app.wasm, embedded into the edge
// server's binary.
package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// wasm holds app.wasm's brotli form and its length, which `make wasm`
// builds into web/wasm before the server is compiled (the raw file and
// the gzip form stay out of the binary: the server makes them from the
// brotli form).
//
//go:embed wasm
var wasm embed.FS

// Static returns the assets served under /web/.
func Static() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// Wasm returns the directory that holds app.wasm.br and app.wasm.size
// when they were built (and app.wasm, from an older build).
func Wasm() fs.FS {
	sub, err := fs.Sub(wasm, "wasm")
	if err != nil {
		panic(err)
	}
	return sub
}
