package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/placard/placard/server/internal/browsertest"
)

// A link from another site to a screen's address comes without the
// screen's cookies (SameSite=Strict): the page answers with a reload of
// its own, which carries them, instead of registering a new screen.
func TestANavigationFromAnotherSiteAsksForTheScreensCookie(t *testing.T) {
	m := testServer(t)
	screensNow := func() int {
		t.Helper()
		all, err := m.Store.Screens(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return len(all)
	}
	tests := []struct {
		name      string
		site      string // Sec-Fetch-Site; "" sends no Fetch Metadata
		newScreen bool
	}{
		{"a link from another site", "cross-site", false},
		{"a link from another origin of this site", "same-site", false},
		{"the page's own reload", "same-origin", true},
		{"an address typed or a bookmark", "none", true},
		{"a browser without Fetch Metadata", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := screensNow()
			req, err := http.NewRequest("GET", m.URL+"/?screen="+url.QueryEscape("Kiosk "+tt.site), nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.site != "" {
				req.Header.Set("Sec-Fetch-Site", tt.site)
				req.Header.Set("Sec-Fetch-Mode", "navigate")
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			made := screensNow() > before
			if made != tt.newScreen {
				t.Errorf("a new screen was registered: %v, want %v", made, tt.newScreen)
			}
			reload := strings.Contains(string(body), `http-equiv="refresh" content="0"`)
			if reload == tt.newScreen || (!tt.newScreen && len(res.Cookies()) != 0) {
				t.Errorf("reload page %v, cookies %v: %.200s", reload, res.Cookies(), body)
			}
		})
	}
}

// The same in a browser: an approved kiosk whose address is opened from a
// link on another site stays the screen it was, instead of pairing again.
func TestAKioskFollowingALinkFromAnotherSiteStaysEnrolled(t *testing.T) {
	t.Parallel()
	m := testServer(t, func(m *Main) { m.Config.AutoEnroll = false })
	browser := browsertest.New(t)
	tab := openTab(t, browser, m, "Kiosk", "pairing")
	if _, err := m.Screens.Approve(t.Context(), textOf(t, tab, "pairing-code"), "the test"); err != nil {
		t.Fatal(err)
	}
	waitState(t, tab, 20*time.Second, "code")

	// Another site: localhost is not 127.0.0.1's site.
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><a id="go" href="`+m.URL+`/?screen=Kiosk">the lobby screen</a>`)
	}))
	defer elsewhere.Close()
	port := elsewhere.Listener.Addr().(interface{ String() string }).String()
	port = port[strings.LastIndex(port, ":")+1:]
	browsertest.Run(t, tab, 30*time.Second, "following a link from another site",
		chromedp.Navigate("http://localhost:"+port+"/"),
		chromedp.Click("#go", chromedp.ByID),
		chromedp.WaitVisible(browsertest.TestID("screen", `:not([data-state="connecting"])`)),
	)
	var state string
	browsertest.Run(t, tab, 10*time.Second, "reading the state",
		chromedp.AttributeValue(browsertest.TestID("screen"), "data-state", &state, nil))
	if state == "pairing" {
		t.Errorf("the kiosk pairs again after a link from another site")
	}
	all, err := m.Store.Screens(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 {
		t.Errorf("%d screens registered, want the kiosk alone", len(all))
	}
}
