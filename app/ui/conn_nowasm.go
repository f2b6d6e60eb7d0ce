//go:build !wasm

package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/placard/placard/app/wire"
)

// On the server (prerender) there is no browser: these do nothing, so that
// the package compiles and renders there too.

type conn struct{}

func dial(app.Context, wire.Hello, handlers) *conn { return nil }
func (c *conn) send(wire.Message)                  {}
func (c *conn) close()                             {}
func browserZone() string                          { return "" }
func hasTouch() bool                               { return false }
func reloadOnce()                                  {}
func reloadNow()                                   {}
func readSnapshot() (wire.State, bool)             { return wire.State{}, false }
func keepAwake()                                   {}
func setPageLang(string)                           {}
