package main

import (
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/placard/placard/server/internal/browsertest"
)

// frames records what the browser receives over WebSocket.
type frames struct {
	mu   sync.Mutex
	data []string
}

func (f *frames) add(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.data = append(f.data, s)
}

func (f *frames) all() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.data...)
}

// secretShapes are what must never reach a browser: a JWT, one of the
// sandbox's refresh tokens, a device code.
var secretShapes = map[string]*regexp.Regexp{
	"JWT":           regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`),
	"refresh token": regexp.MustCompile(`1\.A[A-Za-z0-9_-]{20,}`),
	"device code":   regexp.MustCompile(`DAQAB[A-Za-z0-9_-]{20,}`),
}

func TestSignInOnAScreenEndToEnd(t *testing.T) {
	t.Parallel()
	m := testServer(t)
	browser := browsertest.New(t)

	var got frames
	chromedp.ListenTarget(browser, func(ev any) {
		if f, ok := ev.(*network.EventWebSocketFrameReceived); ok {
			got.add(f.Response.PayloadData)
		}
	})
	var code, uri string
	browsertest.Run(t, browser, 20*time.Second, "opening the screen",
		network.Enable(),
		chromedp.Navigate(m.URL+"/?screen="+url.QueryEscape("Lobby TV")),
		chromedp.WaitVisible(browsertest.State("code")),
		// The Wasm has taken over once it has said hello; it replaces the
		// prerendered nodes, so they are read after.
		wasmRuns,
		chromedp.Text(browsertest.TestID("user-code"), &code),
		chromedp.Text(browsertest.TestID("verification-uri"), &uri),
		// Marks this page: a reload would lose the mark.
		chromedp.Evaluate(`window.placardNoReload = true`, nil),
	)
	code = strings.TrimSpace(code)
	if !regexp.MustCompile(`^[A-Z0-9]{8,9}$`).MatchString(code) {
		t.Fatalf("user code %q is not 8-9 letters and digits", code)
	}
	if uri != m.PublicURL+"/sandbox/devicelogin" {
		t.Fatalf("verification URI %q, want the sandbox's phone page", uri)
	}

	phone := browsertest.Tab(t, browser)
	if outcome := onPhonePage(t, phone, uri, code, "ada@placard.example", "approve"); outcome != "approved" {
		t.Fatalf("approval outcome %q, want approved", outcome)
	}
	approved := time.Now()

	var name string
	var noReload bool
	browsertest.Run(t, browser, 10*time.Second, "waiting for the dashboard",
		chromedp.WaitVisible(browsertest.State("dashboard")),
		chromedp.Text(browsertest.TestID("user-name"), &name),
		chromedp.Evaluate(`window.placardNoReload === true`, &noReload),
	)
	t.Logf("dashboard %v after approval", time.Since(approved).Round(time.Millisecond))
	if name != "Ada Lovelace" {
		t.Errorf("user-name %q, want Ada Lovelace", name)
	}
	if !noReload {
		t.Errorf("the page reloaded to show the dashboard")
	}
	// Ada has a photo: the screen loads it from the edge server.
	browsertest.Run(t, browser, 10*time.Second, "waiting for Ada's photo",
		browsertest.Until(`(() => { const el = document.querySelector('[data-testid="user-photo"]');
			return el !== null && el.tagName === "IMG" && el.complete && el.naturalWidth > 0 })()`))
	var clock string
	browsertest.Run(t, browser, 5*time.Second, "reading the clock", chromedp.Text(browsertest.TestID("clock"), &clock))
	if !regexp.MustCompile(`^\d{1,2}:\d{2}`).MatchString(clock) {
		t.Errorf("clock %q does not show a time", clock)
	}

	all := got.all()
	if len(all) == 0 {
		t.Fatal("recorded no WebSocket frame")
	}
	for _, f := range all {
		for what, re := range secretShapes {
			if re.MatchString(f) {
				t.Errorf("a WebSocket frame carries a %s: %.200s", what, f)
			}
		}
	}
}
