package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/placard/placard/server/httpd"
	"github.com/placard/placard/server/internal/browsertest"
	"github.com/placard/placard/server/screens"
	"github.com/placard/placard/web"
)

// withoutWasm is a browser from before WebAssembly: the page's scripts
// find none.
var withoutWasm = chromedp.ActionFunc(func(ctx context.Context) error {
	_, err := page.AddScriptToEvaluateOnNewDocument(`delete window.WebAssembly;`).Do(ctx)
	return err
})

// refreshed waits for the fallback script to put a new screen in place of
// the one shown.
func refreshed(t *testing.T, tab context.Context, within time.Duration) {
	t.Helper()
	browsertest.Run(t, tab, within, "waiting for the page to refresh",
		chromedp.Evaluate(`document.querySelector('[data-testid="screen"]').placardSeen = true`, nil),
		browsertest.Until(`document.querySelector('[data-testid="screen"]').placardSeen !== true`),
	)
}

func TestPageGoesOnWithoutWebAssembly(t *testing.T) {
	t.Parallel()
	const dashboardEvery, presenceEvery = 4 * time.Second, time.Second
	dir := filepath.Join(t.TempDir(), "data")
	tune := func(m *Main) {
		grace := m.Tune
		m.Tune = func(c *screens.Config) {
			grace(c)
			c.PollEvery = presenceEvery
		}
		m.TuneHTTP = func(h *httpd.Server) {
			h.Refresh = httpd.Refresh{Waiting: httpd.DefaultRefreshWaiting, Dashboard: dashboardEvery}
		}
	}
	m := startOn(t, dir, "127.0.0.1:0", tune)
	browser := browsertest.New(t)

	var code, uri string
	var hasWasm bool
	browsertest.Run(t, browser, 30*time.Second, "opening the screen without WebAssembly",
		withoutWasm,
		chromedp.Navigate(m.URL+"/?screen="+url.QueryEscape("Old TV")),
		chromedp.WaitVisible(browsertest.State("code")),
		chromedp.Evaluate(`typeof WebAssembly !== "undefined" || window.placardWasmStarted === true`, &hasWasm),
		chromedp.Text(browsertest.TestID("user-code"), &code),
		chromedp.Text(browsertest.TestID("verification-uri"), &uri),
		// Marks this page: a reload would lose the mark.
		chromedp.Evaluate(`window.placardNoReload = true`, nil),
	)
	if hasWasm {
		t.Fatal("the page has WebAssembly: the test would not test the fallback")
	}
	code = strings.TrimSpace(code)

	// Reloads keep the code: the page's loads hold the screen's session,
	// which no WebSocket does.
	for range 3 {
		refreshed(t, browser, 4*httpd.DefaultRefreshWaiting+5*time.Second)
		if again := textOf(t, browser, "user-code"); again != code {
			t.Fatalf("a refresh replaced the code %s with %s", code, again)
		}
	}
	var expires string
	browsertest.Run(t, browser, 5*time.Second, "reading the countdown",
		chromedp.AttributeValue(browsertest.TestID("countdown"), "data-expires-at", &expires, nil))
	left, err := time.Parse(time.RFC3339, expires)
	if err != nil {
		t.Fatalf("countdown's data-expires-at %q: %v", expires, err)
	}
	shown := textOf(t, browser, "countdown")
	if want := time.Until(left); !countdownNear(shown, want, 2*httpd.DefaultRefreshWaiting+2*time.Second) {
		t.Errorf("the countdown reads %q, want about %v", shown, want.Round(time.Second))
	}

	phone := browsertest.Tab(t, browser)
	if outcome := onPhonePage(t, phone, uri, code, "ada@placard.example", "approve"); outcome != "approved" {
		t.Fatalf("approval outcome %q, want approved", outcome)
	}
	approved := time.Now()
	browsertest.Run(t, browser, 10*time.Second, "waiting for the dashboard (10 s after approval)",
		chromedp.WaitVisible(browsertest.State("dashboard")))
	t.Logf("dashboard %v after approval", time.Since(approved).Round(time.Millisecond))
	if name := textOf(t, browser, "user-name"); name != "Ada Lovelace" {
		t.Errorf("user-name %q, want Ada Lovelace", name)
	}
	if clock := textOf(t, browser, "clock"); !regexp.MustCompile(`^\d{1,2}:\d{2}`).MatchString(clock) {
		t.Errorf("clock %q does not show a time", clock)
	}

	// A presence change reaches the screen within one refresh, after
	// the edge server has read it from Graph.
	setPresence(t, m, "ada@placard.example", "DoNotDisturb", "Presenting")
	changed := time.Now()
	// The margin is for a loaded machine.
	browsertest.Run(t, browser, dashboardEvery+presenceEvery+5*time.Second, "waiting for the new presence",
		chromedp.WaitVisible(browsertest.TestID("presence", `[data-activity="Presenting"]`)))
	t.Logf("presence %v after the change (refresh every %v)", time.Since(changed).Round(time.Millisecond), dashboardEvery)

	// The server gone, the last screen stays, marked, and the script
	// keeps trying until it is back.
	addr := strings.TrimPrefix(m.URL, "http://")
	if err := m.Close(); err != nil {
		t.Fatalf("stopping the edge server: %v", err)
	}
	waitState(t, browser, 3*dashboardEvery, "reconnecting")
	if name := textOf(t, browser, "user-name"); name != "Ada Lovelace" {
		t.Errorf("while reconnecting the screen shows %q, want the last data", name)
	}
	var dimmed bool
	browsertest.Run(t, browser, 5*time.Second, "reading the reconnecting screen",
		chromedp.Evaluate(`(() => { const root = document.querySelector('[data-testid="screen"]');
			const banner = root.querySelector('.banner[role="status"]');
			return / dimmed( |$)/.test(root.className) && banner !== null && banner.textContent === "Reconnecting…" })()`, &dimmed))
	if !dimmed {
		t.Error("the reconnecting screen is not dimmed, or has no banner that says so")
	}
	startOn(t, dir, addr, tune)
	waitState(t, browser, 30*time.Second, "dashboard")
	if name := textOf(t, browser, "user-name"); name != "Ada Lovelace" {
		t.Errorf("after the restart the screen shows %q", name)
	}
	var noReload bool
	browsertest.Run(t, browser, 5*time.Second, "checking the page was kept",
		chromedp.Evaluate(`window.placardNoReload === true`, &noReload))
	if !noReload {
		t.Error("the page reloaded: the fallback replaces its screen in place")
	}
}

// TestPageGoesOnWhenTheWasmEnds crashes the screen's Go program as a
// broken engine or a bug would, through go-app's own bridge: goappNav,
// which the Go side reads as goappNav(path), called with no path, panics
// in the Go program (index out of range), which ends it. The fallback
// script takes over at once: the sign-in reaches the screen.
func TestPageGoesOnWhenTheWasmEnds(t *testing.T) {
	t.Parallel()
	m := testServer(t)
	browser := browsertest.New(t)
	exited := make(chan string, 1)
	chromedp.ListenTarget(browser, func(ev any) {
		// wasm_exec.js's exit says so when the code is not 0.
		if ev, ok := ev.(*cdpruntime.EventConsoleAPICalled); ok && ev.Type == cdpruntime.APITypeWarning &&
			len(ev.Args) > 0 && strings.Contains(string(ev.Args[0].Value), "exit code:") {
			select {
			case exited <- string(ev.Args[len(ev.Args)-1].Value):
			default:
			}
		}
	})
	browsertest.Run(t, browser, 60*time.Second, "opening the screen with its Wasm",
		cdpruntime.Enable(),
		chromedp.Navigate(m.URL+"/?screen="+url.QueryEscape("Hall TV")),
		wasmRuns,
		chromedp.Evaluate(`window.placardNoReload = true`, nil),
	)
	code := textOf(t, browser, "user-code")
	browsertest.Run(t, browser, 10*time.Second, "crashing the Go program",
		chromedp.Evaluate(`goappNav(); true`, nil))
	select {
	case c := <-exited:
		t.Logf("the Go program exited with code %s", c)
	case <-time.After(20 * time.Second):
		t.Fatal("the Go program did not exit: the test would not test a crash")
	}

	if out := m.Sandbox.Approve(code, "ada@placard.example"); out != "approved" {
		t.Fatalf("approving: %s", out)
	}
	// Sign-in (MSAL polls up to 5 s apart) and one refresh, with a margin.
	waitState(t, browser, 20*time.Second, "dashboard")
	if name := textOf(t, browser, "user-name"); name != "Ada Lovelace" {
		t.Errorf("user-name %q, want Ada Lovelace", name)
	}
	var noReload bool
	browsertest.Run(t, browser, 5*time.Second, "checking the page was kept",
		chromedp.Evaluate(`window.placardNoReload === true`, &noReload))
	if !noReload {
		t.Error("the page reloaded: the fallback replaces its screen in place")
	}
}

// countdownNear reports whether a countdown as shown ("14:32") is within
// margin of want.
func countdownNear(shown string, want, margin time.Duration) bool {
	var m, s int
	if _, err := fmt.Sscanf(shown, "%d:%d", &m, &s); err != nil {
		return false
	}
	got := time.Duration(m)*time.Minute + time.Duration(s)*time.Second
	return (got - want).Abs() <= margin
}

func TestPageOffersItsFallbackAndARefreshWithoutScripts(t *testing.T) {
	m := testServer(t)
	c := httpClient(t)
	_, html := get(t, c, m.URL+"/?screen="+url.QueryEscape("Old TV"))
	if !regexp.MustCompile(`<script (defer src="/web/fallback.js"|src="/web/fallback.js" defer)`).MatchString(html) {
		t.Errorf("the page does not load /web/fallback.js, deferred:\n%s", regexp.MustCompile(`(?s)<head>.*</head>`).FindString(html))
	}
	for _, want := range []string{
		`<meta name="placard-refresh" content="3">`,
		`<noscript><meta http-equiv="refresh" content="3"></noscript>`,
		`data-reconnecting="Reconnecting%E2%80%A6"`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the page has no %s", want)
		}
	}
	res, js := get(t, c, m.URL+"/web/fallback.js")
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") || !strings.Contains(js, "placardWasmStarted") {
		t.Errorf("/web/fallback.js: %s, %q…", ct, js[:min(len(js), 60)])
	}

	// A signed-in screen's page refreshes less often.
	if out := m.Sandbox.Approve(userCodeIn(t, html), "ada@placard.example"); out != "approved" {
		t.Fatalf("approving: %s", out)
	}
	want := fmt.Sprintf(`<meta name="placard-refresh" content="%d">`, int(httpd.DefaultRefreshDashboard/time.Second))
	eventually(t, 20*time.Second, "dashboard on the screen's page", func() (bool, string) {
		_, html = get(t, c, m.URL+"/?screen="+url.QueryEscape("Old TV"))
		return strings.Contains(html, `data-state="dashboard"`), "the page is not the dashboard"
	})
	if !strings.Contains(html, want) || !strings.Contains(html, `content="30"></noscript>`) {
		t.Errorf("the dashboard's page has no %s", want)
	}
}

func TestAScreensPageAsksNothingForGoAppsHiddenLoader(t *testing.T) {
	// Each request is main-thread time on a TV before its first paint:
	// the loader's stylesheet blocks it, and its icon is fetched and
	// decoded, though the screen never shows the loader.
	m := testServer(t)
	_, html := get(t, httpClient(t), m.URL+"/?screen="+url.QueryEscape("Lobby TV"))
	for _, asked := range []string{`href="/app.css"`, `src="/web/icon-192.png"`} {
		if strings.Contains(html, asked) {
			t.Errorf("the page has %s", asked)
		}
	}
	// go-app's script removes the loader once the Wasm runs, and writes
	// its progress and errors into it: its elements stay.
	for _, id := range []string{`id="app-wasm-loader"`, `id="app-wasm-loader-icon"`, `id="app-wasm-loader-label"`} {
		if !strings.Contains(html, id) {
			t.Errorf("the page has no %s", id)
		}
	}
}

func TestPageRefreshesItselfWithScriptsOff(t *testing.T) {
	t.Parallel()
	m := testServer(t)
	browser := browsertest.New(t)
	var ran bool
	browsertest.Run(t, browser, 30*time.Second, "opening the screen with scripts off",
		emulation.SetScriptExecutionDisabled(true),
		chromedp.Navigate(m.URL+"/?screen="+url.QueryEscape("Old TV")),
		chromedp.WaitVisible(browsertest.State("code")),
		chromedp.Evaluate(`window.placardWasmStarted === true || typeof goappNav === "function"`, &ran),
	)
	if ran {
		t.Fatal("the page's scripts ran: the test would not test scripts off")
	}
	approveShown(t, browser, m, "ada@placard.example")
	// Sign-in (up to 5 s of polling) and one refresh, with a margin.
	waitState(t, browser, 20*time.Second, "dashboard")
	if name := textOf(t, browser, "user-name"); name != "Ada Lovelace" {
		t.Errorf("user-name %q, want Ada Lovelace", name)
	}
}

// consoleErrors counts what a page reports as errors: console.error,
// uncaught exceptions, and the browser's own error entries.
type consoleErrors struct {
	mu   sync.Mutex
	seen []string
}

func (c *consoleErrors) listen(ctx context.Context) {
	chromedp.ListenTarget(ctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *cdpruntime.EventConsoleAPICalled:
			if ev.Type != cdpruntime.APITypeError {
				return
			}
			var b bytes.Buffer
			for _, a := range ev.Args {
				b.Write(a.Value)
				b.WriteString(a.Description)
				b.WriteByte(' ')
			}
			msg = "console.error: " + b.String()
		case *cdpruntime.EventExceptionThrown:
			msg = "exception: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
		case *log.EventEntryAdded:
			if ev.Entry.Level != log.LevelError {
				return
			}
			msg = "log: " + ev.Entry.Text + " " + ev.Entry.URL
		default:
			return
		}
		c.mu.Lock()
		c.seen = append(c.seen, msg)
		c.mu.Unlock()
	})
}

func (c *consoleErrors) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.seen...)
}

func TestScreenOnPlainHTTPByALANName(t *testing.T) {
	t.Parallel()
	m := testServer(t)
	_, port, _ := strings.Cut(strings.TrimPrefix(m.URL, "http://"), ":")
	// A name, not 127.0.0.1 nor localhost, which browsers treat as
	// secure: as a TV on the LAN opens http://placard.lan:8080.
	browser := browsertest.New(t, browsertest.Options{Flags: map[string]any{
		"host-resolver-rules": "MAP placard.lan 127.0.0.1",
	}})
	var errs consoleErrors
	errs.listen(browser)
	var secure bool
	browsertest.Run(t, browser, 30*time.Second, "opening the screen on plain HTTP",
		cdpruntime.Enable(),
		log.Enable(),
		chromedp.Navigate("http://placard.lan:"+port+"/?screen="+url.QueryEscape("Kitchen TV")),
		chromedp.WaitVisible(browsertest.State("code")),
		wasmRuns,
		chromedp.Evaluate(`window.isSecureContext || "serviceWorker" in navigator || "wakeLock" in navigator`, &secure),
	)
	if secure {
		t.Fatal("the page is a secure context: the test would not test plain HTTP")
	}
	approveShown(t, browser, m, "ada@placard.example")
	waitState(t, browser, 20*time.Second, "dashboard")
	if name := textOf(t, browser, "user-name"); name != "Ada Lovelace" {
		t.Errorf("user-name %q, want Ada Lovelace", name)
	}
	var started bool
	browsertest.Run(t, browser, 5*time.Second, "checking the Wasm shows it",
		chromedp.Evaluate(`window.placardWasmStarted === true`, &started))
	if !started {
		t.Error("the Wasm did not start on plain HTTP")
	}
	// Quiet: what a secure context lacks is skipped, not reported.
	if errs := errs.all(); len(errs) > 0 {
		t.Errorf("the page reported %d errors on plain HTTP:\n  %s", len(errs), strings.Join(errs, "\n  "))
	}
}

// TestFallbackBacksOffAndKeepsToRetryAfter serves the fallback script a
// page and then answers its refreshes with a 503 (Retry-After: 2), a
// failure, a page and a failure again, recording when each request came.
// Math.random is pinned near 1, so each wait is the backoff's whole window
// (wire.Reconnect: 1 s, doubling): the script waits out the Retry-After
// and a quarter more, then its window grows after each failure, and a page
// answered sets it back to the first.
func TestFallbackBacksOffAndKeepsToRetryAfter(t *testing.T) {
	t.Parallel()
	script, err := fs.ReadFile(web.Static(), "fallback.js")
	if err != nil {
		t.Fatal(err)
	}
	const screenPage = `<!doctype html><html lang="en"><head><meta name="placard-refresh" content="1">` +
		`<script src="/fallback.js" defer></script></head><body><div data-testid="screen" data-state="dashboard" ` +
		`data-reconnecting="Reconnecting%E2%80%A6"><p>Lobby</p></div></body></html>`
	arrived := make(chan time.Time, 16)
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fallback.js" {
			w.Header().Set("Content-Type", "text/javascript")
			w.Write(script)
			return
		}
		if r.URL.Path != "/screen" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		i := n
		n++
		mu.Unlock()
		arrived <- time.Now()
		switch i {
		case 1: // the script's first refresh
			w.Header().Set("Retry-After", "2")
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case 2, 4:
			http.Error(w, "down", http.StatusBadGateway)
		default: // the page itself, and a refresh that finds the server back
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, screenPage)
		}
	}))
	defer srv.Close()
	browser := browsertest.New(t)
	browsertest.Run(t, browser, 20*time.Second, "opening the page without WebAssembly",
		withoutWasm,
		chromedp.ActionFunc(func(ctx context.Context) error {
			_, err := page.AddScriptToEvaluateOnNewDocument(`Math.random = () => 0.999;`).Do(ctx)
			return err
		}),
		chromedp.Navigate(srv.URL+"/screen"),
	)
	var at []time.Time
	for len(at) < 6 {
		select {
		case t0 := <-arrived:
			at = append(at, t0)
		case <-time.After(20 * time.Second):
			t.Fatalf("%d requests, want 6: the script stopped trying", len(at))
		}
	}
	// Timers fire late on a loaded machine, never early: the upper
	// bounds are loose.
	for i, want := range []struct {
		after       string
		least, most time.Duration
	}{
		{"a 503 with Retry-After: 2 (its first failure)", 2400 * time.Millisecond, 4 * time.Second},
		{"a second failure", 1900 * time.Millisecond, 3500 * time.Millisecond},
		{"a page (every second)", 900 * time.Millisecond, 2500 * time.Millisecond},
		{"a failure after the page (the first window again)", 900 * time.Millisecond, 2500 * time.Millisecond},
	} {
		gap := at[i+2].Sub(at[i+1])
		if gap < want.least || gap > want.most {
			t.Errorf("after %s the script waited %v, want %v–%v", want.after, gap.Round(time.Millisecond), want.least, want.most)
		}
	}
}
