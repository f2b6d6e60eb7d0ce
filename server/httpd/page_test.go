package httpd

import (
	"fmt"
	"testing"
	"time"

	"github.com/placard/placard/app/ui"
	"github.com/placard/placard/app/wire"
)

// A board that pages is rendered again at least as often as its page
// turns, so that a screen without its Wasm shows every page; anything
// else keeps its period.
func TestABoardThatPagesRefreshesEachPage(t *testing.T) {
	r := Refresh{Waiting: DefaultRefreshWaiting, Dashboard: DefaultRefreshDashboard}
	tiles := func(n int) []wire.Tile {
		out := make([]wire.Tile, n)
		for i := range out {
			out[i] = wire.Tile{Name: fmt.Sprint("Room ", i), Status: wire.RoomFree}
		}
		return out
	}
	signedIn := func(b *wire.Board) wire.State { return wire.State{Phase: wire.PhaseDashboard, Board: b} }
	for _, c := range []struct {
		name string
		st   wire.State
		want time.Duration
	}{
		{"code", wire.State{Phase: wire.PhaseCode}, DefaultRefreshWaiting},
		{"dashboard", signedIn(nil), DefaultRefreshDashboard},
		{"a board of one page", signedIn(&wire.Board{Kind: wire.BoardRooms, Tiles: tiles(3)}), DefaultRefreshDashboard},
		{"a board of 40 rooms", signedIn(&wire.Board{Kind: wire.BoardRooms, Tiles: tiles(40)}), ui.BoardPageEvery},
		{"a board that needs consent", signedIn(&wire.Board{Kind: wire.BoardRooms, Consent: &wire.Consent{Permissions: []string{"Place.Read.All"}}}), DefaultRefreshDashboard},
	} {
		if got := r.of(c.st); got != c.want {
			t.Errorf("%s: refreshed every %s, want %s", c.name, got, c.want)
		}
	}
	// A shorter period (a test's) stays.
	if got := (Refresh{Dashboard: time.Second}).of(signedIn(&wire.Board{Kind: wire.BoardPeople, Tiles: tiles(60)})); got != time.Second {
		t.Errorf("a 1 s period became %s", got)
	}
}

func TestAPageLeavesOutTheLoadersStylesheetAndIconInAnyAttributeOrder(t *testing.T) {
	for _, c := range []struct{ page, want string }{
		{`<head><link href="/app.css" type="text/css" rel="stylesheet"><link href="/web/placard.css" type="text/css" rel="stylesheet"></head>`,
			`<head><link href="/web/placard.css" type="text/css" rel="stylesheet"></head>`},
		{`<head><link rel="stylesheet" type="text/css" href="/app.css"><link type="text/css" rel="stylesheet" href="/web/placard.css"></head>`,
			`<head><link type="text/css" rel="stylesheet" href="/web/placard.css"></head>`},
		{`<img id="app-wasm-loader-icon" class="goapp-logo goapp-spin" alt="wasm loader icon" src="/web/icon-192.png">`,
			`<img id="app-wasm-loader-icon" class="goapp-logo goapp-spin" alt="wasm loader icon">`},
		{`<img src="/web/icon-192.png" alt="wasm loader icon" id="app-wasm-loader-icon" class="goapp-logo">`,
			`<img alt="wasm loader icon" id="app-wasm-loader-icon" class="goapp-logo">`},
		// Another image keeps its source.
		{`<img class="photo" src="/photo/s1/abc" alt="">`, `<img class="photo" src="/photo/s1/abc" alt="">`},
	} {
		if got := string(withoutLoader([]byte(c.page))); got != c.want {
			t.Errorf("withoutLoader(%s)\n = %s\nwant %s", c.page, got, c.want)
		}
	}
}
