package main

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/placard/placard/server/internal/browsertest"
)

func TestDashboardComesBackAfterTheEdgeServerRestarts(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	m := startOn(t, dir, "127.0.0.1:0")
	addr := strings.TrimPrefix(m.URL, "http://")
	browser := browsertest.New(t)

	browsertest.Run(t, browser, 30*time.Second, "opening the screen",
		emulate(screenSizes[0]),
		chromedp.Navigate(m.URL+"/?screen="+url.QueryEscape("Lobby TV")),
		chromedp.WaitVisible(browsertest.State("code")),
		wasmRuns,
	)
	approveShown(t, browser, m, "ada@placard.example")
	waitState(t, browser, 20*time.Second, "dashboard")
	watchStates(t, browser)

	if err := m.Close(); err != nil {
		t.Fatalf("stopping the edge server: %v", err)
	}
	waitState(t, browser, 10*time.Second, "reconnecting")
	if name := textOf(t, browser, "user-name"); name != "Ada Lovelace" {
		t.Errorf("while reconnecting the screen shows %q, want the last data", name)
	}

	again := startOn(t, dir, addr)
	// The screen tries again by itself, with back-off: within 30 s.
	waitState(t, browser, 45*time.Second, "dashboard")
	if name := textOf(t, browser, "user-name"); name != "Ada Lovelace" {
		t.Errorf("after the restart the screen shows %q", name)
	}
	checkCameBack(t, browser, "a restart")
	if codes := again.Sandbox.Codes(); len(codes) != 0 {
		t.Errorf("the restarted server asked for %d new codes", len(codes))
	}
}
