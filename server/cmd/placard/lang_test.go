package main

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/internal/browsertest"
)

// A screen set to French speaks French and says so to the browser (screen
// readers, hyphenation), at once and without a reload.
func TestAScreenSpeaksTheLanguageItIsGiven(t *testing.T) {
	t.Parallel()
	m := testServer(t, inTheMorning)
	tab := browsertest.New(t)
	browsertest.Run(t, tab, 20*time.Second, "opening the screen",
		chromedp.Navigate(m.URL+"/?screen="+url.QueryEscape("Hall")),
		chromedp.WaitVisible(browsertest.State("code")),
		wasmRuns,
	)
	id := screenID(t, m, "Hall")
	if _, err := m.Screens.SetSettings(t.Context(), id, server.ScreenSettings{Lang: "fr-CA"}, "test"); err != nil {
		t.Fatal(err)
	}
	var title string
	browsertest.Run(t, tab, 10*time.Second, "waiting for French",
		browsertest.Until(`document.documentElement.lang === "fr"`),
		chromedp.Text("h1", &title),
	)
	if !strings.HasPrefix(title, "Connexion à") {
		t.Errorf("the title of a French screen is %q", title)
	}
}
