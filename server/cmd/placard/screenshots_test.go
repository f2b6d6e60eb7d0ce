package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/internal/browsertest"
	"github.com/placard/placard/server/sandbox"
)

// TestScreenshots draws every state of the screen from the sandbox into
// $PLACARD_SCREENSHOTS (`make screenshots` fills web/screenshots, which
// docs/screens.md shows). Without the variable it does nothing.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("PLACARD_SCREENSHOTS")
	if dir == "" {
		t.Skip("set PLACARD_SCREENSHOTS to a directory, or run `make screenshots`")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Smaller than the screens they stand for, to keep the files small:
	// the layout scales with the viewport, so it looks the same.
	shapes := []screenSize{
		{name: "tv", w: 960, h: 540},
		{name: "portrait", w: 540, h: 960},
	}
	tablet := screenSize{name: "tablet", w: 800, h: 600, touch: true}
	browser := browsertest.New(t)
	var captureAs func(tab context.Context, name, state string, touch *bool, sizes ...screenSize)
	// capture saves a tab's state at each size. A tab whose edge server
	// is gone cannot reload: it keeps the touch it had (touch nil).
	capture := func(tab context.Context, state string, touch *bool, sizes ...screenSize) {
		t.Helper()
		captureAs(tab, state, state, touch, sizes...)
	}
	captureAs = func(tab context.Context, name, state string, touch *bool, sizes ...screenSize) {
		t.Helper()
		for _, size := range sizes {
			showAt(t, tab, size, touch, state)
			var png []byte
			browsertest.Run(t, tab, 20*time.Second, "capturing "+state, chromedp.CaptureScreenshot(&png))
			path := filepath.Join(dir, name+"-"+size.name+".png")
			small, err := paletted(png)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, small, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d bytes (%d before)", path, len(small), len(png))
		}
	}
	touch := func() *bool { b := false; return &b }

	manual := testServer(t, func(m *Main) { m.Config.AutoEnroll = false })
	capture(openTab(t, browser, manual, "Meeting room 4", "pairing"), "pairing", touch(), shapes...)

	// With quick booking, so that the tablet shows its buttons.
	m := testServer(t, inTheMorning, func(m *Main) {
		m.Config.QuickBook = true
		m.Config.Scopes = append(m.Config.Scopes, "Calendars.ReadWrite")
	})
	lobby := openTab(t, browser, m, "Lobby TV", "code")
	allowActions(t, m, "Lobby TV")
	lobbyTouch := touch()
	capture(lobby, "code", lobbyTouch, shapes...)
	approveShown(t, lobby, m, "ada@placard.example")
	waitState(t, lobby, 20*time.Second, "dashboard")
	browsertest.Run(t, lobby, 20*time.Second, "waiting for the agenda", chromedp.WaitVisible(browsertest.TestID("room-state")))
	capture(lobby, "dashboard", lobbyTouch, append(shapes, tablet)...)
	// Back to a TV before the edge server goes away.
	showAt(t, lobby, shapes[0], lobbyTouch, "dashboard")

	capture(openBlocked(t, browser, m, "Hall"), "error", touch(), shapes...)

	// Where the organisation blocks codes: the QR code alone, and why;
	// then the number a phone that opened its link types.
	blocked := testServer(t)
	blocked.Sandbox.SetFaults(sandbox.Faults{BlockDeviceCode: true})
	door := openTab(t, browser, blocked, "Door 3", "code")
	browsertest.Run(t, door, 20*time.Second, "waiting for the QR code alone", chromedp.WaitVisible(browsertest.TestID("code-blocked")))
	captureAs(door, "code-qr", "code", touch(), shapes...)
	st, err := blocked.Screens.State(t.Context(), screenID(t, blocked, "Door 3"), 0)
	if err != nil {
		t.Fatal(err)
	}
	get(t, phoneClient(t), linkOf(t, st))
	browsertest.Run(t, door, 20*time.Second, "waiting for the number", chromedp.WaitVisible(browsertest.TestID("match-number")))
	captureAs(door, "code-match", "code", touch(), shapes...)

	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	waitState(t, lobby, 10*time.Second, "reconnecting")
	capture(lobby, "reconnecting", nil, shapes...)

	// Boards, at the sizes of the screens they hang on (a 4K TV shows
	// what a 1080p one does, twice as sharp): a team of 12 and the first
	// page of 40 rooms, and a board whose consent is missing.
	boards := serveBoards(t, map[string]wire.State{
		"board-people": boardFixture(teamBoard(12), "en"),
		"board-rooms":  boardFixture(roomsBoard(40), "en"),
		"board-consent": boardFixture(wire.Board{Kind: wire.BoardRooms, Consent: &wire.Consent{
			Permissions: []string{"Place.Read.All"}, By: wire.ConsentAdmin}}, "en"),
	})
	tab := browsertest.Tab(t, browser)
	for _, name := range []string{"board-people", "board-rooms", "board-consent"} {
		sizes := boardSizes
		if name == "board-consent" {
			sizes = []screenSize{boardSizes[0], boardSizes[3]}
		}
		for _, size := range sizes {
			boards.show(t, tab, size, name, 0)
			var png []byte
			browsertest.Run(t, tab, 20*time.Second, "capturing "+name, chromedp.CaptureScreenshot(&png))
			path := filepath.Join(dir, name+"-"+size.name+".png")
			small, err := paletted(png)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, small, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d bytes (%d before)", path, len(small), len(png))
		}
	}
}

// paletted re-encodes a screenshot with the 256 colours it uses most: a
// dark screen of flat colours and text loses nothing a reader sees, and
// the file shrinks to a third.
func paletted(b []byte) ([]byte, error) {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	bounds := img.Bounds()
	counts := map[color.RGBA]int{}
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			counts[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	colours := slices.SortedFunc(maps.Keys(counts), func(a, b color.RGBA) int {
		if c := counts[b] - counts[a]; c != 0 {
			return c
		}
		return int(a.R)<<16 | int(a.G)<<8 | int(a.B) - (int(b.R)<<16 | int(b.G)<<8 | int(b.B))
	})
	pal := make(color.Palette, 0, 256)
	for _, c := range colours[:min(256, len(colours))] {
		pal = append(pal, c)
	}
	out := image.NewPaletted(bounds, pal)
	nearest := map[color.RGBA]uint8{}
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			i, ok := nearest[c]
			if !ok {
				i = uint8(pal.Index(c))
				nearest[c] = i
			}
			out.SetColorIndex(x, y, i)
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
