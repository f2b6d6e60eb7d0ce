package main

import (
	"context"
	"encoding/base64"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/placard/placard/server/internal/browsertest"
)

type body struct {
	url     string
	data    []byte
	headers network.Headers
}

// received is everything the browser received in one tab: response bodies
// and headers, WebSocket frames, and what the console said.
type received struct {
	mu       sync.Mutex
	bodies   []body
	html     []body // headers only
	frames   []string
	console  []string
	fetching sync.WaitGroup
}

// recordTab makes a tab report what it receives into r, and turns every
// Content-Security-Policy violation into a console error (a listener
// added before any page script runs, by the browser, not the page).
func recordTab(t *testing.T, tab context.Context, r *received) {
	t.Helper()
	pending := map[network.RequestID]network.Response{}
	var mu sync.Mutex
	chromedp.ListenTarget(tab, func(ev any) {
		switch ev := ev.(type) {
		case *network.EventResponseReceived:
			mu.Lock()
			pending[ev.RequestID] = *ev.Response
			mu.Unlock()
			if strings.HasPrefix(ev.Response.MimeType, "text/html") {
				r.mu.Lock()
				r.html = append(r.html, body{url: ev.Response.URL, headers: ev.Response.Headers})
				r.mu.Unlock()
			}
		case *network.EventLoadingFinished:
			mu.Lock()
			res, ok := pending[ev.RequestID]
			delete(pending, ev.RequestID)
			mu.Unlock()
			if !ok {
				return
			}
			// The body is read in its own goroutine: a listener must not
			// block the tab's event loop.
			r.fetching.Add(1)
			go func() {
				defer r.fetching.Done()
				var data []byte
				err := chromedp.Run(tab, chromedp.ActionFunc(func(ctx context.Context) error {
					b, err := network.GetResponseBody(ev.RequestID).Do(ctx)
					data = b
					return err
				}))
				if err != nil {
					return // a redirect or a page gone meanwhile: no body to read
				}
				r.mu.Lock()
				r.bodies = append(r.bodies, body{url: res.URL, data: data})
				r.mu.Unlock()
			}()
		case *network.EventWebSocketFrameReceived:
			r.mu.Lock()
			r.frames = append(r.frames, ev.Response.PayloadData)
			r.mu.Unlock()
		case *runtime.EventConsoleAPICalled:
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			r.mu.Lock()
			r.console = append(r.console, string(ev.Type)+": "+strings.Join(parts, " "))
			r.mu.Unlock()
		case *log.EventEntryAdded:
			r.mu.Lock()
			r.console = append(r.console, string(ev.Entry.Level)+" ("+string(ev.Entry.Source)+"): "+ev.Entry.Text)
			r.mu.Unlock()
		}
	})
	browsertest.Run(t, tab, 10*time.Second, "recording the tab",
		network.Enable(), log.Enable(), runtime.Enable(),
		chromedp.ActionFunc(func(ctx context.Context) error {
			_, err := page.AddScriptToEvaluateOnNewDocument(`document.addEventListener("securitypolicyviolation",
				e => console.error("CSP violation: " + e.violatedDirective + " blocked " + e.blockedURI))`).Do(ctx)
			return err
		}),
	)
}

func newReceived() *received {
	return &received{}
}

func TestNothingSecretReachesTheBrowserAndTheCSPHolds(t *testing.T) {
	t.Parallel()
	m := testServer(t, manualEnroll)
	token := newToken(t, m)
	browser := browsertest.New(t)
	screen, admin, phone := newReceived(), newReceived(), newReceived()
	recordTab(t, browser, screen)
	adminTab := browsertest.Tab(t, browser)
	recordTab(t, adminTab, admin)
	phoneTab := browsertest.Tab(t, browser)
	recordTab(t, phoneTab, phone)

	// A new screen waits for an administrator.
	var number string
	step(t, browser, screen, 30*time.Second, "opening a new screen",
		chromedp.Navigate(m.URL+"/?screen="+url.QueryEscape("Lobby TV")),
		chromedp.WaitVisible(browsertest.State("pairing")),
		wasmRuns,
		chromedp.Text(browsertest.TestID("pairing-code"), &number),
	)
	number = strings.TrimSpace(number)

	// The administrator signs in with a token and approves it.
	var flash string
	step(t, adminTab, admin, 20*time.Second, "approving on the admin page",
		chromedp.Navigate(m.URL+"/admin"),
		chromedp.WaitVisible(browsertest.TestID("admin-login")),
		chromedp.SendKeys(`#token`, token),
		chromedp.Submit(`#token`),
		chromedp.WaitVisible(browsertest.TestID("admin-approve")),
		chromedp.SendKeys(`#pairing_number`, number),
		chromedp.Submit(`#pairing_number`),
		chromedp.WaitVisible(browsertest.TestID("admin-flash")),
		chromedp.Text(browsertest.TestID("admin-flash"), &flash),
	)
	if !strings.Contains(flash, "Approved Lobby TV") {
		t.Errorf("the admin page says %q", flash)
	}

	// The screen shows a code; Ada signs in with it on her phone.
	var code string
	step(t, browser, screen, 20*time.Second, "waiting for the code",
		chromedp.WaitVisible(browsertest.State("code")),
		chromedp.Text(browsertest.TestID("user-code"), &code),
	)
	signInOnPhone(t, phoneTab, m, strings.TrimSpace(code), "ada@placard.example")
	var name string
	step(t, browser, screen, 20*time.Second, "waiting for the dashboard",
		chromedp.WaitVisible(browsertest.State("dashboard")),
		chromedp.Text(browsertest.TestID("user-name"), &name),
	)
	if name != "Ada Lovelace" {
		t.Errorf("the dashboard shows %q", name)
	}

	// The administrator signs out, and in again with a Microsoft account
	// that holds the admin role (Grace), through a code of their own.
	var adminCode, who string
	step(t, adminTab, admin, 20*time.Second, "signing in to the admin page with Microsoft",
		chromedp.Click(browsertest.TestID("admin-logout")),
		chromedp.WaitVisible(browsertest.TestID("admin-signin-microsoft")),
		chromedp.Submit(browsertest.TestID("admin-signin-microsoft")),
		chromedp.WaitVisible(browsertest.TestID("admin-signin-code")),
		chromedp.Text(browsertest.TestID("admin-signin-code"), &adminCode),
	)
	signInOnPhone(t, phoneTab, m, strings.TrimSpace(adminCode), "grace@placard.example")
	step(t, adminTab, admin, 30*time.Second, "waiting for the admin page",
		chromedp.WaitVisible(browsertest.TestID("admin-who")),
		chromedp.Text(browsertest.TestID("admin-who"), &who),
	)
	if who != "grace@placard.example" {
		t.Errorf("signed in to the admin page as %q", who)
	}

	// Grace revokes the screen: it closes, reloads, and waits for approval
	// again with a new pairing number.
	var state, account, again string
	step(t, adminTab, admin, 20*time.Second, "revoking the screen",
		chromedp.Navigate(m.URL+"/admin"),
		chromedp.WaitVisible(browsertest.TestID("admin-screen")),
		chromedp.AttributeValue(browsertest.TestID("admin-screen"), "data-state", &state, nil),
		chromedp.Text(browsertest.TestID("admin-account"), &account),
		chromedp.Click(browsertest.TestID("admin-revoke")),
		chromedp.WaitVisible(browsertest.TestID("admin-flash")),
	)
	if state != "signed_in" || !strings.Contains(account, "Ada Lovelace") {
		t.Errorf("the admin page lists the screen as %q, %q", state, account)
	}
	step(t, browser, screen, 30*time.Second, "waiting for the screen to return to pairing",
		chromedp.WaitVisible(browsertest.State("pairing")),
		chromedp.Text(browsertest.TestID("pairing-code"), &again),
	)
	if strings.TrimSpace(again) == number {
		t.Errorf("the revoked screen shows its old pairing number %s", number)
	}

	// A violation made on purpose shows that violations are seen.
	step(t, adminTab, admin, 10*time.Second, "making a CSP violation on purpose",
		chromedp.Evaluate(`(() => { const s = document.createElement("script"); s.src = "https://cdn.invalid/x.js"; document.body.append(s); })()`, nil),
	)
	eventually(t, 10*time.Second, "report of a CSP violation made on purpose (without it the check below would prove nothing)", func() (bool, string) {
		lines := strings.Join(admin.consoleLines(), "\n")
		return strings.Contains(lines, "cdn.invalid"), lines
	})

	for tab, r := range map[string]*received{"screen": screen, "admin": admin, "phone": phone} {
		r.fetching.Wait()
		r.mu.Lock()
		if len(r.bodies) == 0 || len(r.html) == 0 {
			t.Errorf("%s tab: recorded %d bodies and %d HTML responses", tab, len(r.bodies), len(r.html))
		}
		r.checkNoSecretLocked(t, tab)
		for _, f := range r.frames {
			if b, err := base64.StdEncoding.DecodeString(f); err == nil && len(b) > 0 {
				t.Errorf("%s tab: a WebSocket frame is binary", tab)
			}
		}
		for _, p := range r.html {
			for k, v := range wantHeaders {
				if p.headers[k] != v {
					t.Errorf("%s tab: the HTML of %s came with %s %q, want %q", tab, p.url, k, p.headers[k], v)
				}
			}
		}
		for _, line := range r.console {
			if strings.Contains(line, "cdn.invalid") {
				continue // the violation made on purpose
			}
			if strings.Contains(line, "CSP violation") || strings.Contains(line, "Content Security Policy") {
				t.Errorf("%s tab: %s", tab, line)
			}
		}
		t.Logf("%s tab: %d bodies, %d HTML pages, %d WebSocket frames; console:\n\t%s", tab, len(r.bodies), len(r.html), len(r.frames),
			strings.Join(r.console, "\n\t"))
		r.mu.Unlock()
	}
	if n := len(screen.frames); n < 3 {
		t.Errorf("the screen received %d WebSocket frames: the check saw too little", n)
	}
}

// step runs actions in a tab like browsertest.Run, and on failure says
// what the tab showed and what its console said.
func step(t *testing.T, tab context.Context, r *received, within time.Duration, what string, actions ...chromedp.Action) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, within)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var dom string
		dctx, dcancel := context.WithTimeout(tab, 5*time.Second)
		chromedp.Run(dctx, chromedp.Evaluate(`document.documentElement.outerHTML.slice(0, 3000)`, &dom))
		dcancel()
		t.Fatalf("%s: %v\nconsole:\n\t%s\npage:\n%s", what, err, strings.Join(r.consoleLines(), "\n\t"), dom)
	}
}

// checkNoSecretLocked fails the test for each body or WebSocket frame a
// tab received that carries something secret; r.mu is held.
func (r *received) checkNoSecretLocked(t *testing.T, tab string) {
	t.Helper()
	for _, b := range r.bodies {
		for what, re := range secretShapes {
			if loc := re.FindIndex(b.data); loc != nil {
				t.Errorf("%s tab: %s carries a %s: %.60q", tab, b.url, what, b.data[loc[0]:loc[1]])
			}
		}
	}
	for _, f := range r.frames {
		for what, re := range secretShapes {
			if re.MatchString(f) {
				t.Errorf("%s tab: a WebSocket frame carries a %s: %.200s", tab, what, f)
			}
		}
	}
}

func (r *received) consoleLines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.console...)
}
