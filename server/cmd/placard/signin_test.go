package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/internal/browsertest"
)

func TestPageCarriesTheUserCodeWithoutJavaScript(t *testing.T) {
	m := testServer(t)
	res, html := get(t, httpClient(t), m.URL+"/?screen=X")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /?screen=X: %s", res.Status)
	}
	code := userCodeIn(t, html)
	codes := m.Sandbox.Codes()
	if len(codes) != 1 || codes[0].UserCode != code || codes[0].Screen != "X" {
		t.Fatalf("the page shows %q; the sandbox issued %+v", code, codes)
	}
	for _, want := range []string{`data-state="code"`, `data-testid="verification-uri"`, `data-testid="qr"`, `data-testid="countdown"`, `data-expires-at="`} {
		if !strings.Contains(html, want) {
			t.Errorf("the prerendered page lacks %s", want)
		}
	}
	if got := res.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("a page with a live code has Cache-Control %q, want no-store", got)
	}
	if !regexp.MustCompile(`<h1[^>]*>\s*Sign in to\s*<strong data-testid="screen-name"[^>]*>\s*X\s*</strong>`).MatchString(html) {
		t.Errorf("the page does not say \"Sign in to X\" with the screen's name")
	}
	// The screen's credential: a cookie no script can read, sent to this
	// site only.
	var cred *http.Cookie
	for _, c := range res.Cookies() {
		if strings.HasPrefix(c.Name, "placard_screen_") {
			cred = c
		}
	}
	if cred == nil || !cred.HttpOnly || cred.SameSite != http.SameSiteStrictMode || cred.Path != "/" {
		t.Errorf("the screen's cookie %+v, want HttpOnly, SameSite=Strict, Path=/", cred)
	}
}

func TestReloadKeepsTheSameCode(t *testing.T) {
	m := testServer(t)
	c := httpClient(t)
	res, first := get(t, c, m.URL+"/?screen=Hall")
	if etag := res.Header.Get("ETag"); etag != "" {
		t.Errorf("a page has an ETag %s: a browser would revalidate it into an old code", etag)
	}
	_, second := get(t, c, m.URL+"/?screen=Hall")
	if a, b := userCodeIn(t, first), userCodeIn(t, second); a != b {
		t.Errorf("a reload showed a new code: %s then %s", a, b)
	}
	if n := len(m.Sandbox.Codes()); n != 1 {
		t.Errorf("a reload asked for another code: %d codes issued", n)
	}
}

func TestTwoScreensGetTwoCodesAndSignInSeparately(t *testing.T) {
	m := testServer(t)
	lobby := openScreen(t, m, "Lobby TV")
	kitchen := openScreen(t, m, "Kitchen")
	a := lobby.waitPhase(10*time.Second, wire.PhaseCode).Code.UserCode
	b := kitchen.waitPhase(10*time.Second, wire.PhaseCode).Code.UserCode
	if a == b {
		t.Fatalf("two screens got the same code %s", a)
	}
	if out := m.Sandbox.Approve(a, "ada@placard.example"); out != "approved" {
		t.Fatalf("approving %s: %s", a, out)
	}
	st := lobby.waitPhase(15*time.Second, wire.PhaseDashboard)
	if st.Dashboard.User.Name != "Ada Lovelace" {
		t.Errorf("Lobby TV shows %q", st.Dashboard.User.Name)
	}
	// The kitchen never left its code: its latest state is still it.
	st, err := m.Screens.State(t.Context(), screenID(t, m, "Kitchen"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Phase != wire.PhaseCode || st.Code.UserCode != b {
		t.Errorf("Kitchen shows %s %+v, want its code %s", st.Phase, st.Code, b)
	}
	select {
	case st := <-kitchen.states:
		t.Errorf("Kitchen was sent a new state: %s", st.Phase)
	default:
	}
}

func TestDeclineShowsWhyThenANewCode(t *testing.T) {
	t.Parallel()
	m := testServer(t)
	browser := browsertest.New(t)
	var code string
	browsertest.Run(t, browser, 20*time.Second, "opening the screen",
		chromedp.Navigate(m.URL+"/?screen="+url.QueryEscape("Door 3")),
		chromedp.WaitVisible(browsertest.State("code")),
		wasmRuns,
		chromedp.Text(browsertest.TestID("user-code"), &code),
	)
	phone := browsertest.Tab(t, browser)
	if outcome := onPhonePage(t, phone, m.PublicURL+"/sandbox/devicelogin?code="+code, code, "", "decline"); outcome != "declined" {
		t.Fatalf("outcome %q, want declined", outcome)
	}
	var title, message, next string
	browsertest.Run(t, browser, 15*time.Second, "waiting for the error state",
		chromedp.WaitVisible(browsertest.State("error")),
		chromedp.Text(browsertest.TestID("error-title"), &title),
		chromedp.Text(browsertest.TestID("error-message"), &message),
	)
	if !strings.Contains(title, "declined") || !strings.Contains(message, "new code") {
		t.Errorf("error screen says %q / %q: want a plain word on the decline and what comes next", title, message)
	}
	browsertest.Run(t, browser, 15*time.Second, "waiting for a new code",
		chromedp.WaitVisible(browsertest.State("code")),
		chromedp.Text(browsertest.TestID("user-code"), &next),
	)
	if next == code {
		t.Errorf("the screen shows the declined code %s again", code)
	}
}

// screenID finds a screen's id by its name.
func screenID(t *testing.T, m *Main, name string) string {
	t.Helper()
	all, err := m.Store.Screens(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range all {
		if sc.Name == name {
			return sc.ID
		}
	}
	t.Fatalf("no screen %q", name)
	return ""
}

func TestSignedInPageIsPrerenderedWithItsHooks(t *testing.T) {
	m := testServer(t)
	s := openScreen(t, m, "Lobby TV")
	s.signIn(m, "ada@placard.example")
	// The same browser loads the page again: its cookie proves which
	// screen it is, so the dashboard is in the first HTML.
	_, html := get(t, s.client, m.URL+"/?screen="+url.QueryEscape("Lobby TV"))
	for _, want := range []string{
		`data-state="dashboard"`, `data-testid="user-name"`, `Ada Lovelace`,
		`data-current="true"`, `data-next="true"`, `data-stale="false"`, `aria-hidden="true"`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the prerendered dashboard lacks %s", want)
		}
	}
	if regexp.MustCompile(`\s(data|aria)-[a-z-]+[\s>]`).MatchString(html) {
		t.Errorf("the page has a data- or aria- attribute without a value")
	}
	// Another browser with only the name sees no one's dashboard.
	_, other := get(t, httpClient(t), m.URL+"/?screen="+url.QueryEscape("Lobby TV"))
	if strings.Contains(other, "Ada Lovelace") || strings.Contains(other, `data-state="dashboard"`) {
		t.Error("a bare screen name showed the signed-in screen's dashboard to another browser")
	}
}
