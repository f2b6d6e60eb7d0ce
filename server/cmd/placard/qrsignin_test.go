package main

import (
	"bytes"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/internal/browsertest"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/screens"
)

// With "Block device code flow" on, the screen offers the QR code alone
// and says why; the link read from its pixels, opened on a phone, passes
// the number match and signs Grace Hopper in, and the screen shows her day
// without a reload.
func TestSignInByQRCodeWhereTheOrganisationBlocksCodes(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	m := testServer(t, func(m *Main) { m.Config.LogLevel = "debug"; m.Stderr = &logs })
	m.Sandbox.SetFaults(sandbox.Faults{BlockDeviceCode: true})
	browser := browsertest.New(t)
	screenSeen, phoneSeen := newReceived(), newReceived()
	recordTab(t, browser, screenSeen)
	var why string
	var codes int
	browsertest.Run(t, browser, 30*time.Second, "opening the screen",
		chromedp.EmulateViewport(1280, 720),
		chromedp.Navigate(m.URL+"/?screen="+url.QueryEscape("Lobby TV")),
		chromedp.WaitVisible(browsertest.State("code")),
		wasmRuns,
		chromedp.WaitVisible(browsertest.TestID("code-blocked")),
		chromedp.Text(browsertest.TestID("code-blocked"), &why),
		chromedp.Evaluate(`document.querySelectorAll('[data-testid="user-code"]').length`, &codes),
		chromedp.Evaluate(`window.placardNoReload = true`, nil),
	)
	if !strings.Contains(why, "blocks sign-in with a code") || codes != 0 {
		t.Errorf("the screen says %q and shows %d codes: want the QR code alone and why", why, codes)
	}
	link := scanQR(t, browser, m)

	phone := browsertest.Tab(t, browser)
	recordTab(t, phone, phoneSeen)
	outcome, words := signInByQR(t, browser, phone, link, "grace@placard.example", phoneCheck(t, phone, "signin-"))
	if outcome != "signed_in" || words != "Lobby TV now shows your day" {
		t.Errorf("the phone ends on %s: %q", outcome, words)
	}
	var name string
	var noReload bool
	browsertest.Run(t, browser, 20*time.Second, "waiting for the dashboard",
		chromedp.WaitVisible(browsertest.State("dashboard")),
		chromedp.Text(browsertest.TestID("user-name"), &name),
		chromedp.Evaluate(`window.placardNoReload === true`, &noReload),
	)
	if name != "Grace Hopper" || !noReload {
		t.Errorf("the screen shows %q (no reload: %v)", name, noReload)
	}
	if n := m.Sandbox.Requests("devicecode"); n == 0 {
		t.Error("the screen never asked for a device code: the block was not what it met")
	}

	// Nothing secret reached either browser or the log: no token, no
	// authorization code (the sandbox's are shaped as its refresh tokens).
	for tab, r := range map[string]*received{"screen": screenSeen, "phone": phoneSeen} {
		r.fetching.Wait()
		r.mu.Lock()
		if len(r.bodies) == 0 {
			t.Errorf("%s tab: recorded no body", tab)
		}
		r.checkNoSecretLocked(t, tab)
		r.mu.Unlock()
	}
	if len(screenSeen.frames) < 2 {
		t.Errorf("the screen received %d WebSocket frames: the check saw too little", len(screenSeen.frames))
	}
	out := logs.String()
	for what, re := range secretShapes {
		if loc := re.FindStringIndex(out); loc != nil {
			t.Errorf("the log holds a %s: %.60q", what, out[loc[0]:loc[1]])
		}
	}
}

// A screen signed in with a device code falls back to the QR code when the
// organisation blocks codes: its next refresh is refused (protocol
// tracking), it returns to sign-in with the QR code and the reason, and
// signing in by QR code brings its dashboard back.
func TestAScreenSignedInByCodeReturnsToTheQRCodeWhenCodesAreBlocked(t *testing.T) {
	t.Parallel()
	m := testServer(t, fastPolls, func(m *Main) { m.Config.SandboxTokenLifetime = 3 * time.Second })
	browser := browsertest.New(t)
	var code string
	browsertest.Run(t, browser, 30*time.Second, "opening the screen",
		chromedp.EmulateViewport(1280, 720),
		chromedp.Navigate(m.URL+"/?screen="+url.QueryEscape("Lobby TV")),
		chromedp.WaitVisible(browsertest.State("code")),
		wasmRuns,
		chromedp.WaitVisible(browsertest.TestID("qr", `[data-path="auth-code"]`)),
		chromedp.Text(browsertest.TestID("user-code"), &code),
	)
	if out := m.Sandbox.Approve(strings.TrimSpace(code), "ada@placard.example"); out != sandbox.OutcomeApproved {
		t.Fatalf("approving the code: %s", out)
	}
	waitState(t, browser, 20*time.Second, "dashboard")

	m.Sandbox.SetFaults(sandbox.Faults{BlockDeviceCode: true})
	var why string
	browsertest.Run(t, browser, 30*time.Second, "waiting for the QR code and the reason",
		chromedp.WaitVisible(browsertest.TestID("code-blocked")),
		chromedp.Text(browsertest.TestID("code-blocked"), &why),
	)
	if !strings.Contains(why, "blocks sign-in with a code") {
		t.Errorf("the screen says %q", why)
	}
	link := scanQR(t, browser, m)
	phone := browsertest.Tab(t, browser)
	if outcome, _ := signInByQR(t, browser, phone, link, "ada@placard.example", func(string) {}); outcome != "signed_in" {
		t.Fatalf("signing in by QR code: %s", outcome)
	}
	var name string
	browsertest.Run(t, browser, 20*time.Second, "waiting for the dashboard again",
		chromedp.WaitVisible(browsertest.State("dashboard")),
		chromedp.Text(browsertest.TestID("user-name"), &name),
	)
	if name != "Ada Lovelace" {
		t.Errorf("the screen shows %q", name)
	}
}

// phoneClient is a phone's browser without a browser: cookies kept,
// redirects not followed.
func phoneClient(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// outcomeIn reads the outcome of the phone's result page.
func outcomeIn(t *testing.T, html string) string {
	t.Helper()
	_, rest, ok := strings.Cut(html, `data-testid="signin-result" data-outcome="`)
	if !ok {
		t.Fatalf("no signin-result in %.500s", html)
	}
	out, _, _ := strings.Cut(rest, `"`)
	return out
}

func bodyOf(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(res.Body)
	return b.String()
}

// linkOf reads the link a screen's state's QR code carries.
func linkOf(t *testing.T, st wire.State) string {
	t.Helper()
	link, err := browsertest.ReadQRPath(st.Code.QR.Size, st.Code.QR.Path)
	if err != nil {
		t.Fatal(err)
	}
	return link
}

// A link the screen replaced is refused with a clear page.
func TestAnExpiredSignInLinkIsRefused(t *testing.T) {
	t.Parallel()
	m := testServer(t, func(m *Main) {
		m.Config.SignIn = "qr"
		tune := m.Tune
		m.Tune = func(c *screens.Config) { tune(c); c.LinkLifetime = 3 * time.Second }
	})
	s := openScreen(t, m, "Lobby TV")
	first := linkOf(t, s.waitPhase(10*time.Second, wire.PhaseCode))
	s.waitFor(10*time.Second, "a new link", func(st wire.State) bool {
		return st.Phase == wire.PhaseCode && linkOf(t, st) != first
	})
	res, html := get(t, phoneClient(t), first)
	if res.StatusCode != http.StatusGone || outcomeIn(t, html) != "expired" || !strings.Contains(html, "expired") {
		t.Errorf("an expired link: %s %s", res.Status, outcomeIn(t, html))
	}
	if st, _ := m.Screens.State(t.Context(), screenID(t, m, "Lobby TV"), 0); st.Phase != wire.PhaseCode || st.Code.Match != "" {
		t.Errorf("an expired link changed the screen: %s %+v", st.Phase, st.Code)
	}
}

// Every refusal is a clear page and changes nothing: a wrong number (the
// link dies), a reused link, a callback with a wrong or missing state or
// from another browser, a replayed callback. Nothing secret reaches the
// phone's pages or the log.
func TestTheSignInLinkRefusesWhatItMust(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	m := testServer(t, func(m *Main) { m.Config.SignIn = "qr"; m.Config.LogLevel = "debug"; m.Stderr = &logs })
	s := openScreen(t, m, "Lobby TV")
	second := linkOf(t, s.waitPhase(10*time.Second, wire.PhaseCode))
	phoneA := phoneClient(t)

	// A wrong number: the link dies, the screen says so and shows another.
	_, html := get(t, phoneA, second)
	match := shownNumber(s)
	wrong := "10"
	if match == wrong {
		wrong = "11"
	}
	res := typeNumber(t, phoneA, second, wrong, holdOf(html), nil)
	if html := bodyOf(t, res); res.StatusCode != http.StatusForbidden || outcomeIn(t, html) != "wrong_number" {
		t.Errorf("a wrong number: %s %s", res.Status, outcomeIn(t, html))
	}
	if res.Header.Get("Location") != "" {
		t.Errorf("a wrong number sent the phone on to %q", res.Header.Get("Location"))
	}
	for _, c := range phoneA.Jar.Cookies(res.Request.URL) {
		if c.Name == "placard_signin" {
			t.Errorf("a wrong number bound a sign-in to the phone: %v", c)
		}
	}
	res = typeNumber(t, phoneA, second, match, holdOf(html), nil)
	if html := bodyOf(t, res); outcomeIn(t, html) != "used" {
		t.Errorf("the right number after a wrong one: %s", outcomeIn(t, html))
	}
	if st := s.waitPhase(10*time.Second, wire.PhaseError); st.Problem.Kind != wire.ProblemWrongNumber {
		t.Errorf("the screen shows %+v", st.Problem)
	}
	if n := m.Sandbox.Requests("authorize"); n != 0 {
		t.Errorf("a wrong number reached the identity platform (%d requests)", n)
	}

	// The right number: the phone goes on to sign in, with the state bound
	// to its browser.
	third := linkOf(t, s.waitPhase(10*time.Second, wire.PhaseCode))
	phoneB := phoneClient(t)
	_, html = get(t, phoneB, third)
	hold := holdOf(html)
	match = shownNumber(s)
	res = typeNumber(t, phoneB, third, match, hold, nil)
	bodyOf(t, res)
	authURL := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(authURL, m.PublicURL+"/sandbox/") {
		t.Fatalf("the right number: %s to %q", res.Status, authURL)
	}
	var binding *http.Cookie
	for _, c := range phoneB.Jar.Cookies(res.Request.URL) {
		if c.Name == "placard_signin" {
			binding = c
		}
	}
	if binding == nil {
		t.Fatalf("the phone keeps %v, want the sign-in's cookie", phoneB.Jar.Cookies(res.Request.URL))
	}
	if strings.Contains(authURL, "code_verifier") || !strings.Contains(authURL, "code_challenge_method=S256") {
		t.Errorf("the authorization URL %s", authURL)
	}
	if res := typeNumber(t, phoneB, third, match, hold, nil); outcomeIn(t, bodyOf(t, res)) != "used" {
		t.Error("a link worked twice")
	}
	if _, html := get(t, phoneB, third); outcomeIn(t, html) != "used" {
		t.Error("a used link opens again")
	}
	back, err := m.Sandbox.Authorize(authURL, "grace@placard.example")
	if err != nil {
		t.Fatal(err)
	}
	cb, err := url.Parse(back)
	if err != nil || cb.Path != screens.CallbackPath {
		t.Fatalf("sent back to %s", back)
	}
	q := cb.Query()
	forged := func(query url.Values) string { return m.PublicURL + screens.CallbackPath + "?" + query.Encode() }
	// callback follows a callback to its result page.
	callback := func(c *http.Client, u string) (*http.Response, string) {
		t.Helper()
		res, _ := get(t, c, u)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("a callback answered %s, want 303 to its result", res.Status)
		}
		return follow(t, c, m, res)
	}
	for name, c := range map[string]struct {
		client *http.Client
		url    string
	}{
		"no state":              {phoneB, forged(url.Values{"code": {q.Get("code")}})},
		"a wrong state":         {phoneB, forged(url.Values{"code": {q.Get("code")}, "state": {q.Get("state") + "x"}})},
		"another browser":       {phoneClient(t), back},
		"an error from another": {phoneClient(t), forged(url.Values{"error": {"access_denied"}, "state": {q.Get("state")}})},
	} {
		res, html := callback(c.client, c.url)
		if res.StatusCode != http.StatusForbidden || outcomeIn(t, html) != "invalid_state" {
			t.Errorf("%s: %s %s", name, res.Status, outcomeIn(t, html))
		}
	}
	if st, _ := m.Screens.State(t.Context(), screenID(t, m, "Lobby TV"), 0); st.Phase != wire.PhaseCode {
		t.Fatalf("forged callbacks changed the screen: %s", st.Phase)
	}
	res, html = callback(phoneB, back)
	if outcomeIn(t, html) != "signed_in" || !strings.Contains(html, "Lobby TV now shows your day") {
		t.Fatalf("the genuine callback: %s %s", res.Status, outcomeIn(t, html))
	}
	s.waitPhase(15*time.Second, wire.PhaseDashboard)
	if res, html := callback(phoneB, back); outcomeIn(t, html) == "signed_in" {
		t.Errorf("a replayed callback signed in again: %s", res.Status)
	}
	var cookies []string
	for _, c := range phoneB.Jar.Cookies(res.Request.URL) {
		cookies = append(cookies, c.Value)
	}
	secrets := map[string]string{"authorization code": q.Get("code"), "state": q.Get("state"),
		"link": strings.TrimPrefix(third, m.PublicURL+screens.LinkPath), "binding": binding.Value}
	for i, v := range cookies {
		secrets["cookie "+strconv.Itoa(i)] = v
	}
	for what, secret := range secrets {
		if strings.Contains(html, secret) {
			t.Errorf("the phone's page carries the %s", what)
		}
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log carries the %s", what)
		}
	}
}

// The sign-in mode is the server's (-sign-in, said on the admin page with
// why) unless a screen's settings say otherwise; a wrong one is refused
// with what to write.
func TestTheSignInModeIsAScreenSetting(t *testing.T) {
	m := testServer(t)
	token := newToken(t, m)
	s := openScreen(t, m, "Lobby TV")
	if st := s.waitPhase(10*time.Second, wire.PhaseCode); st.Code.UserCode == "" || st.Code.QR.To != wire.QRAuthCode {
		t.Fatalf("the sandbox's default shows %+v, want both: a code and the QR code's link", st.Code)
	}
	id := screenID(t, m, "Lobby TV")
	status, body := call(t, m, token, "PUT", "/admin/api/screens/"+id+"/settings", `{"sign_in":"qr"}`)
	if status != http.StatusOK || body["settings"].(map[string]any)["sign_in"] != "qr" {
		t.Fatalf("setting qr: %d %v", status, body)
	}
	// The screen's next offer is the QR code alone.
	s.waitFor(30*time.Second, "the QR code alone", func(st wire.State) bool {
		return st.Phase == wire.PhaseCode && st.Code.UserCode == "" && st.Code.QR.To == wire.QRAuthCode
	})
	status, body = call(t, m, token, "PUT", "/admin/api/screens/"+id+"/settings", `{"sign_in":"sms"}`)
	if status != http.StatusBadRequest || !strings.Contains(body["error"].(string), "device-code, qr or both") {
		t.Errorf("a wrong mode: %d %v", status, body)
	}
	b := newAdminBrowser(t, m)
	b.login(token)
	_, page := b.get("/admin")
	if !strings.Contains(page, `data-testid="admin-sign-in"`) || !strings.Contains(page, "(-sign-in both): the sandbox&#39;s default") {
		t.Errorf("the admin page does not say how screens sign in and why")
	}
}

// The phone's pages are rate-limited per address: guessing links or
// states gets nowhere.
func TestTheSignInPagesAreLimitedPerAddress(t *testing.T) {
	m := testServer(t)
	c := phoneClient(t)
	for _, tc := range []struct {
		url  string
		rate int
	}{
		{m.URL + screens.LinkPath + "guess", 30},
		{m.URL + screens.CallbackPath + "?state=guess&code=guess", 10},
	} {
		for i := range tc.rate {
			if res, _ := get(t, c, tc.url); res.StatusCode == http.StatusTooManyRequests {
				t.Fatalf("%s refused after %d requests, want %d", tc.url, i, tc.rate)
			}
		}
		res, html := get(t, c, tc.url)
		if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" || !strings.Contains(html, "Too many tries") {
			t.Errorf("%s after %d requests: %s", tc.url, tc.rate, res.Status)
		}
	}
}
