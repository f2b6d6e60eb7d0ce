package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/admin"
	"github.com/placard/placard/server/internal/browsertest"
)

// TestFleetScreenshots draws what the fleet adds to screens (identify, a
// pairing screen that says why its link did not work), to the phone (the
// choice of a group's sign-in) and to the admin page, into
// $PLACARD_SCREENSHOTS, at the sizes screens come in. Without the
// variable it does nothing.
func TestFleetScreenshots(t *testing.T) {
	dir := os.Getenv("PLACARD_SCREENSHOTS")
	if dir == "" {
		t.Skip("set PLACARD_SCREENSHOTS to a directory, or run `make screenshots`")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sizes := []struct {
		name string
		w, h int
		zoom float64
	}{
		{"720p", 1280, 720, 1}, {"1080p", 1920, 1080, 1}, {"4k", 1920, 1080, 2}, {"portrait", 1080, 1920, 1},
		{"tablet", 1280, 800, 1}, {"tablet-portrait", 800, 1280, 1},
	}
	shoot := func(tab context.Context, name string, w, h int, zoom float64) {
		t.Helper()
		var png []byte
		browsertest.Run(t, tab, 20*time.Second, "photographing "+name,
			chromedp.EmulateViewport(int64(w), int64(h), chromedp.EmulateScale(zoom)),
			// Two frames: the page is laid out again at its new size.
			chromedp.Evaluate(`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`, nil,
				func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }),
			chromedp.CaptureScreenshot(&png))
		if err := os.WriteFile(filepath.Join(dir, "fleet-"+name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := testServer(t, manualEnroll)
	ctx := t.Context()
	root := cliActor()
	g, err := m.Ops.CreateGroup(ctx, root, admin.GroupSpec{Name: "Lobby", SharedSignIn: true, Settings: server.ScreenSettings{Lang: "fr"}})
	if err != nil {
		t.Fatal(err)
	}
	made, err := m.Ops.MakeLink(ctx, root, admin.LinkSpec{Group: g.Group.ID, MaxScreens: 1, ExpiresIn: time.Hour, NamePattern: "Lobby – {n}"})
	if err != nil {
		t.Fatal(err)
	}
	browser := browsertest.New(t)
	first := startKiosk(t, browser, m.URL+"/?link="+made.Token)
	late := startKiosk(t, browser, m.URL+"/?link="+made.Token)
	for _, s := range sizes {
		shoot(late.tab, "pairing-link-"+s.name, s.w, s.h, s.zoom)
	}
	id := screenID(t, m, "Lobby – 1")
	if _, err := m.Ops.Identify(ctx, root, id); err != nil {
		t.Fatal(err)
	}
	browsertest.Run(t, first.tab, 10*time.Second, "waiting for identify", chromedp.WaitVisible(browsertest.TestID("identify")))
	for _, s := range sizes {
		shoot(first.tab, "identify-"+s.name, s.w, s.h, s.zoom)
	}

	// The admin page, on a laptop and a phone.
	token := newToken(t, m)
	tab := browsertest.Tab(t, browser)
	browsertest.Run(t, tab, 20*time.Second, "signing in to the admin page",
		network.Enable(),
		chromedp.Navigate(m.URL+"/admin"),
		chromedp.SendKeys(`#token`, token),
		chromedp.Submit(`#token`),
		chromedp.WaitVisible(browsertest.TestID("admin-who")))
	for _, page := range []struct{ name, path string }{
		{"admin", "/admin"}, {"admin-group", "/admin/groups/" + g.Group.ID}, {"admin-screen", "/admin/screens/" + id},
	} {
		browsertest.Run(t, tab, 20*time.Second, "opening "+page.path, chromedp.Navigate(m.URL+page.path), chromedp.WaitVisible("main"))
		shoot(tab, page.name+"-laptop", 1280, 800, 1)
		shoot(tab, page.name+"-phone", 360, 740, 1)
	}
	if strings.Contains(first.address, "link=") {
		t.Errorf("the kiosk's address keeps its link: %s", first.address)
	}
}
