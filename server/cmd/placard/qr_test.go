package main

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/internal/browsertest"
)

// A phone that scans the QR code a screen shows lands on the genuine
// verification page, with that screen's code filled in and the screen named:
// the picture is read as a camera would, from the pixels the browser drew.
func TestTheQRCodeOnScreenTakesAPhoneToItsCode(t *testing.T) {
	t.Parallel()
	m := testServer(t, func(m *Main) { m.Config.SignIn = server.SignInDeviceCode })
	browser := browsertest.New(t)

	var code, uri string
	browsertest.Run(t, browser, 20*time.Second, "photographing the QR code",
		chromedp.EmulateViewport(1280, 720),
		chromedp.Navigate(m.URL+"/?screen="+url.QueryEscape("Lobby TV")),
		chromedp.WaitVisible(browsertest.State("code")),
		// The page the Wasm made: the prerendered one it replaces may
		// go while it is photographed.
		wasmRuns,
		chromedp.WaitVisible(browsertest.State("code")),
		chromedp.Text(browsertest.TestID("user-code"), &code),
		chromedp.Text(browsertest.TestID("verification-uri"), &uri),
	)
	code = strings.Join(strings.Fields(code), "")
	read := readShownQR(t, browser)
	want := uri + "?code=" + code
	if read != want {
		t.Fatalf("the QR code carries %q, want %q", read, want)
	}

	phone := browsertest.Tab(t, browser)
	var prefilled, page string
	browsertest.Run(t, phone, 20*time.Second, "following the QR code",
		chromedp.Navigate(read),
		chromedp.Value(`input[name="user_code"]`, &prefilled),
		chromedp.Text("body", &page),
	)
	if strings.ReplaceAll(prefilled, "-", "") != code {
		t.Errorf("the phone page has %q filled in, want %s", prefilled, code)
	}
	if !strings.Contains(page, "Lobby TV") {
		t.Errorf("the phone page does not name the screen that asked: %.300s", page)
	}
}

// TestTheWasmDrawsTheQRCodeFromThePageBeforeItsConnection: the page carries
// the QR code once, in its drawing, and the Wasm takes it from there when
// it starts, before (here: without) its WebSocket: the code it renders is
// the prerendered one, not an empty square until the server's state comes.
func TestTheWasmDrawsTheQRCodeFromThePageBeforeItsConnection(t *testing.T) {
	t.Parallel()
	m := testServer(t, func(m *Main) { m.Config.SignIn = server.SignInDeviceCode })
	browser := browsertest.New(t)
	var prerendered, drawn string
	browsertest.Run(t, browser, 30*time.Second, "opening the screen with its WebSocket blocked",
		network.Enable(),
		network.SetBlockedURLs([]string{"*/ws"}),
		chromedp.Navigate(m.URL+"/?screen="+url.QueryEscape("Lobby TV")),
		chromedp.AttributeValue(browsertest.TestID("qr")+" path", "d", &prerendered, nil),
		wasmRuns,
		chromedp.AttributeValue(browsertest.TestID("qr")+" path", "d", &drawn, nil),
	)
	if prerendered == "" || drawn != prerendered {
		t.Errorf("the Wasm drew a QR code of %d bytes of path, want the page's %d", len(drawn), len(prerendered))
	}
}
