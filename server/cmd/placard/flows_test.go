package main

// The browser flows the tests share: what a person does with a screen, a
// phone or the admin page, in headless Chromium (server/internal/
// browsertest). A test that signs a screen in, approves a code on the
// phone page or follows a QR code does it through these, so that a change
// of a page's hooks (TESTIDS.md) is made here once.

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/placard/placard/server/internal/browsertest"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/screens"
)

// showAt sets the tab's viewport; a change of touch reloads the page, so
// that the screen says so to the edge server, and waits for state again.
func showAt(t *testing.T, tab context.Context, size screenSize, touch *bool, state string) {
	t.Helper()
	actions := []chromedp.Action{emulate(size)}
	if touch != nil && *touch != size.touch {
		*touch = size.touch
		actions = append(actions, chromedp.Reload(), chromedp.WaitVisible(browsertest.State(state)), wasmRuns,
			// The edge server has heard the new hello once the screen
			// is marked as touch (or not).
			browsertest.Until(fmt.Sprintf(`document.querySelector('[data-testid="screen"]').classList.contains("touch") === %v`, size.touch)))
	}
	browsertest.Run(t, tab, 20*time.Second, "showing "+state+" at "+size.name, actions...)
}

func emulate(size screenSize) chromedp.Action {
	if size.touch {
		return chromedp.EmulateViewport(size.w, size.h, chromedp.EmulateTouch)
	}
	return chromedp.EmulateViewport(size.w, size.h)
}

// wasmRuns waits for the Wasm to take over the prerendered page.
var wasmRuns = browsertest.Until(`document.querySelector('[data-testid="screen"]:not([data-snapshot])') !== null`)

// openTab opens a screen in a new tab and waits for a state.
func openTab(t *testing.T, browser context.Context, m *Main, name, state string) context.Context {
	t.Helper()
	tab := browsertest.Tab(t, browser)
	browsertest.Run(t, tab, 30*time.Second, "opening "+name,
		emulate(screenSizes[0]),
		chromedp.Navigate(m.URL+"/?screen="+url.QueryEscape(name)),
		chromedp.WaitVisible(browsertest.State(state)),
		wasmRuns,
	)
	return tab
}

func textOf(t *testing.T, tab context.Context, testid string) string {
	t.Helper()
	var s string
	browsertest.Run(t, tab, 10*time.Second, "reading "+testid, chromedp.Text(browsertest.TestID(testid), &s))
	return strings.TrimSpace(s)
}

// waitState waits for the screen of a tab to be in a state.
func waitState(t *testing.T, tab context.Context, within time.Duration, state string) {
	t.Helper()
	browsertest.Run(t, tab, within, "waiting for "+state, chromedp.WaitVisible(browsertest.State(state)))
}

// openBlocked opens a screen in a new tab and has its sign-in blocked by
// Conditional Access, which leaves it on the error state.
func openBlocked(t *testing.T, browser context.Context, m *Main, name string) context.Context {
	t.Helper()
	tab := openTab(t, browser, m, name, "code")
	m.Sandbox.SetFaults(sandbox.Faults{ConditionalAccessBlock: true})
	// The phone is refused too, as the platform's sign-in page is.
	if out := m.Sandbox.Approve(textOf(t, tab, "user-code"), "grace@placard.example"); out != sandbox.OutcomeBlocked {
		t.Fatalf("approving under Conditional Access: %s, want blocked", out)
	}
	waitState(t, tab, 20*time.Second, "error")
	// A blocked screen waits minutes before it tries again: the fault
	// can go, the error stays.
	m.Sandbox.SetFaults(sandbox.Faults{})
	return tab
}

// stateLog records, in the page, every state its screen takes.
const stateLog = `(() => {
  window.placardStates = [];
  window.placardNoReload = true;
  const root = document.querySelector('[data-testid="screen"]');
  new MutationObserver(() => window.placardStates.push(root.dataset.state))
    .observe(root, {attributes: true, attributeFilter: ["data-state"]});
  return true;
})()`

// phoneSize is a small phone's viewport: the sign-in pages work there.
const phoneW, phoneH = 360, 740

// scanQR photographs the screen's QR code and reads the link it carries,
// checking that it leads down the authorization-code path.
func scanQR(t *testing.T, tab context.Context, m *Main) string {
	t.Helper()
	browsertest.Run(t, tab, 20*time.Second, "waiting for the QR code",
		// The page the Wasm made: the prerendered one it replaces may
		// go while it is photographed.
		wasmRuns,
		chromedp.WaitVisible(browsertest.TestID("qr", `[data-path="auth-code"]`)),
	)
	link := readShownQR(t, tab)
	if !strings.HasPrefix(link, m.PublicURL+screens.LinkPath) || len(link) < len(m.PublicURL+screens.LinkPath)+20 {
		t.Fatalf("the QR code carries %q, want a one-time link under %s", link, m.PublicURL+screens.LinkPath)
	}
	return link
}

// readShownQR photographs the screen's QR code and returns what it
// carries.
func readShownQR(t *testing.T, tab context.Context) string {
	t.Helper()
	// A phone's camera reads the code once the screen holds still: a
	// photograph taken while the screen fades in (its opacity's
	// transition) or moves for burn-in care may not read, and the next
	// one does. Each photograph is at another size, as a phone held
	// nearer or farther: 6, 8, then 5 device pixels to a module of the
	// code. At a scale of whole CSS pixels, a code whose module is not a
	// whole number of them (its size follows the screen's layout) is
	// drawn with modules one pixel wider or narrower here and there. The
	// reader is given the symbol and its quiet zone, without the white
	// frame around them whose rounded corners show the dark screen: dark
	// pixels at its corners make it miscount the modules ("dimension =
	// 35" for 37), photograph after photograph.
	var link string
	shots := 0
	eventually(t, 20*time.Second, "a QR code that reads", func() (bool, string) {
		var shot []byte
		var box struct{ Module, Left, Top, Size float64 } // CSS pixels; Size in modules
		browsertest.Run(t, tab, 10*time.Second, "measuring the QR code",
			chromedp.Evaluate(`(() => { const q = document.querySelector('[data-testid="qr"]');
				if (!q) return {Module: 0, Left: 0, Top: 0, Size: 0};
				const r = q.getBoundingClientRect(), s = getComputedStyle(q);
				const left = parseFloat(s.paddingLeft), top = parseFloat(s.paddingTop);
				const inner = Math.min(r.width - left - parseFloat(s.paddingRight), r.height - top - parseFloat(s.paddingBottom));
				const size = q.viewBox.baseVal.width;
				return {Module: inner / size, Left: left, Top: top, Size: size}; })()`, &box))
		if box.Module <= 0 {
			return false, "no QR code on the screen"
		}
		perModule := []float64{6, 8, 5}[shots%3]
		scale := perModule / box.Module
		shots++
		browsertest.Run(t, tab, 10*time.Second, "photographing the QR code",
			chromedp.ScreenshotScale(browsertest.TestID("qr"), scale, &shot, chromedp.NodeVisible))
		img, err := png.Decode(bytes.NewReader(shot))
		if err != nil {
			t.Fatalf("reading the screenshot: %v", err)
		}
		x, y, side := int(math.Round(box.Left*scale)), int(math.Round(box.Top*scale)), int(math.Round(box.Size*perModule))
		symbol := img.(interface {
			SubImage(image.Rectangle) image.Image
		}).SubImage(image.Rect(x, y, x+side, y+side))
		link, err = browsertest.ReadQR(symbol)
		return err == nil, fmt.Sprintf("at %.2f× (a module of %.2f CSS pixels) after %d photographs: %v", scale, box.Module, shots, err)
	})
	return link
}

// signInByQR follows a screen's link on a phone: it types the number the
// screen shows, signs in as upn on the sandbox's sign-in page, and returns
// the result page's outcome and words. check runs on each phone page.
func signInByQR(t *testing.T, screen, phone context.Context, link, upn string, check func(page string)) (outcome, words string) {
	t.Helper()
	var name string
	browsertest.Run(t, phone, 20*time.Second, "opening the link on the phone",
		chromedp.EmulateViewport(phoneW, phoneH, chromedp.EmulateMobile),
		chromedp.Navigate(link),
		chromedp.WaitVisible(browsertest.TestID("match-input")),
		chromedp.Text(browsertest.TestID("signin-screen-name"), &name),
	)
	if name != "Lobby TV" {
		t.Errorf("the phone's page names %q", name)
	}
	check("number")
	number := ""
	browsertest.Run(t, screen, 20*time.Second, "reading the number on the screen",
		chromedp.WaitVisible(browsertest.TestID("match-number")),
		chromedp.Text(browsertest.TestID("match-number"), &number),
	)
	browsertest.Run(t, phone, 30*time.Second, "typing the number and signing in",
		chromedp.SendKeys(browsertest.TestID("match-input"), strings.TrimSpace(number)),
		chromedp.Click(browsertest.TestID("match-submit")),
		chromedp.WaitVisible(`select[name="user"]`),
		chromedp.SetValue(`select[name="user"]`, upn),
		chromedp.Click(`button[name="action"][value="approve"]`),
		chromedp.WaitVisible(browsertest.TestID("signin-result")),
		chromedp.AttributeValue(browsertest.TestID("signin-result"), "data-outcome", &outcome, nil),
		chromedp.Text("body", &words),
	)
	check("result")
	return outcome, strings.TrimSpace(words)
}

// phoneCheck runs axe-core on each phone page and photographs it for
// people to look at (PLACARD_SCREENSHOTS).
func phoneCheck(t *testing.T, phone context.Context, prefix string) func(string) {
	return func(page string) {
		t.Helper()
		var fits bool
		browsertest.Run(t, phone, 10*time.Second, "measuring the "+page+" page",
			chromedp.Evaluate(`document.documentElement.scrollWidth <= window.innerWidth`, &fits))
		if !fits {
			t.Errorf("the phone's %s page is wider than %d pixels", page, phoneW)
		}
		checkAccessibility(t, phone, "phone's "+page)
		if dir := os.Getenv("PLACARD_SCREENSHOTS"); dir != "" {
			var shot []byte
			browsertest.Run(t, phone, 10*time.Second, "photographing the "+page+" page", chromedp.FullScreenshot(&shot, 100))
			if err := os.WriteFile(filepath.Join(dir, prefix+page+".png"), shot, 0o644); err != nil {
				t.Error(err)
			}
		}
	}
}

// onPhonePage acts on the sandbox's phone page in a tab, as a person
// does: it opens page (the verification URI a screen shows, or the link
// with ?code= that prefills the code), types code unless the link carried
// it, picks upn (none when empty) and presses action (approve or decline);
// it returns the outcome the result page shows.
func onPhonePage(t *testing.T, phone context.Context, page, code, upn, action string) string {
	t.Helper()
	actions := []chromedp.Action{chromedp.Navigate(page)}
	if !strings.Contains(page, "code=") {
		actions = append(actions, chromedp.SendKeys(`input[name="user_code"]`, code))
	}
	if upn != "" {
		actions = append(actions, chromedp.SetValue(`select[name="user"]`, upn))
	}
	var outcome string
	actions = append(actions,
		chromedp.Click(`button[name="action"][value="`+action+`"]`),
		chromedp.WaitVisible(browsertest.TestID("approval-result")),
		chromedp.AttributeValue(browsertest.TestID("approval-result"), "data-outcome", &outcome, nil),
	)
	browsertest.Run(t, phone, 20*time.Second, fmt.Sprintf("%s %s as %q on the phone page", action, code, upn), actions...)
	return outcome
}

// signInOnPhone approves a code on the sandbox's phone page as upn,
// through the link that prefills it.
func signInOnPhone(t *testing.T, phone context.Context, m *Main, code, upn string) {
	t.Helper()
	if !regexp.MustCompile(`^[A-Z0-9]{8,9}$`).MatchString(code) {
		t.Fatalf("code %q is not a user code", code)
	}
	if outcome := onPhonePage(t, phone, m.PublicURL+"/sandbox/devicelogin?code="+code, code, upn, "approve"); outcome != "approved" {
		t.Fatalf("approving %s: %s", code, outcome)
	}
}

// approveShown approves, as upn, the code that the screen in a tab shows,
// as a phone would (through the sandbox, without a second tab).
func approveShown(t *testing.T, tab context.Context, m *Main, upn string) {
	t.Helper()
	if out := m.Sandbox.Approve(textOf(t, tab, "user-code"), upn); out != "approved" {
		t.Fatalf("approving: %s", out)
	}
}

// checkCameBack checks that the screen in a tab came back after what
// happened (a restart, a move to another replica) by itself: never signed
// out (no code, no error) and never reloaded, as watchStates recorded it.
func checkCameBack(t *testing.T, tab context.Context, what string) {
	t.Helper()
	states, noReload := readStates(t, tab)
	if slices.Contains(states, "code") || slices.Contains(states, "error") {
		t.Errorf("the screen went through %v: %s must not sign it out", states, what)
	}
	if !noReload {
		t.Errorf("the page reloaded to come back")
	}
}

// readStates returns the states the screen in a tab took since
// watchStates, and whether the page stayed the same (no reload).
func readStates(t *testing.T, tab context.Context) (states []string, noReload bool) {
	t.Helper()
	browsertest.Run(t, tab, 5*time.Second, "reading the states",
		chromedp.Evaluate(`window.placardStates`, &states),
		chromedp.Evaluate(`window.placardNoReload === true`, &noReload),
	)
	return states, noReload
}

// watchStates starts recording the states of the screen in a tab.
func watchStates(t *testing.T, tab context.Context) {
	t.Helper()
	browsertest.Run(t, tab, 5*time.Second, "watching the states", chromedp.Evaluate(stateLog, nil))
}
