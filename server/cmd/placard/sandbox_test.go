package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/graph"
	"github.com/placard/placard/server/httpd"
	"github.com/placard/placard/server/internal/browsertest"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/sandbox/sandboxctl"
)

// TestSandboxListenerIsAnEntraAndGraphForOutsideClients drives
// -sandbox-addr as a program outside the edge server would: it learns the
// listener and its certificate from /sandbox/api/app, points MSAL Go at the
// listener's authority with that certificate as its only root, signs in
// with a device code that a phone approves on the edge server's phone page,
// and reads Graph through the listener.
func TestSandboxListenerIsAnEntraAndGraphForOutsideClients(t *testing.T) {
	var banner bytes.Buffer
	m := testServer(t, func(m *Main) {
		m.Config.SandboxAddr = "127.0.0.1:0"
		m.Stdout = &banner
	})
	app, err := ctlOf(m).App(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(app.Listener, "https://127.0.0.1:") || !strings.HasPrefix(app.CACertPEM, "-----BEGIN CERTIFICATE-----") {
		t.Fatalf("app %+v", app)
	}
	certFile := filepath.Join(m.Config.DataDir, sandbox.ListenerCertFile)
	if !strings.Contains(banner.String(), certFile) || !strings.Contains(banner.String(), app.Listener) {
		t.Errorf("the banner does not say where the listener and its certificate are:\n%s", banner.String())
	}
	if pem, err := os.ReadFile(certFile); err != nil || string(pem) != app.CACertPEM {
		t.Errorf("the certificate in the data directory: %v", err)
	}

	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(app.CACertPEM))
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	// Instance discovery asks login.microsoftonline.com about any other
	// host: a local authority turns it off, as for any custom host.
	pc, err := public.New(app.ClientID,
		public.WithAuthority(app.Listener+"/"+app.TenantID),
		public.WithHTTPClient(hc),
		public.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dc, err := pc.AcquireTokenByDeviceCode(ctx, []string{"User.Read", "Calendars.Read"})
	if err != nil {
		t.Fatalf("device code through the listener: %v", err)
	}
	if dc.Result.VerificationURL != m.PublicURL+"/sandbox/devicelogin" {
		t.Errorf("verification URL %q", dc.Result.VerificationURL)
	}
	// The phone.
	if out, err := ctlOf(m).Approve(ctx, dc.Result.UserCode, "grace@placard.example"); err != nil || out != sandboxctl.OutcomeApproved {
		t.Fatalf("the phone page did not approve: %s %v", out, err)
	}
	ar, err := dc.AuthenticationResult(ctx)
	if err != nil {
		t.Fatalf("tokens through the listener: %v", err)
	}
	if ar.Account.PreferredUsername != "grace@placard.example" || ar.IDToken.TenantID != sandbox.TenantID {
		t.Errorf("account %+v", ar.Account)
	}

	// The id token is the listener's: its issuer, its keys.
	var meta struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	getJSONOver(t, hc, app.Listener+"/"+app.TenantID+"/v2.0/.well-known/openid-configuration", &meta)
	var keys jose.JSONWebKeySet
	getJSONOver(t, hc, meta.JWKSURI, &keys)
	tok, err := jwt.ParseSigned(ar.IDToken.RawToken, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	var claims jwt.Claims
	if err := tok.Claims(keys.Key(tok.Headers[0].KeyID)[0].Key, &claims); err != nil {
		t.Fatalf("the id token does not validate against the listener's keys: %v", err)
	}
	if claims.Issuer != meta.Issuer || meta.Issuer != app.Listener+"/"+app.TenantID+"/v2.0" {
		t.Errorf("issuer %q, metadata %q", claims.Issuer, meta.Issuer)
	}

	// A Graph SDK with its base URL changed.
	gc := graph.New(app.Listener+"/v1.0", hc)
	me, err := gc.Me(ctx, ar.AccessToken)
	if err != nil || me.DisplayName != "Grace Hopper" {
		t.Fatalf("Graph through the listener: %+v %v", me, err)
	}
	now := m.Sandbox.Now()
	if events, err := gc.CalendarView(ctx, ar.AccessToken, now, now.AddDate(0, 0, 60)); err != nil || len(events) <= 100 {
		t.Errorf("calendarView through the listener, across its next links: %d events, %v", len(events), err)
	}

	// Silent refresh through the listener.
	accounts, err := pc.Accounts(ctx)
	if err != nil || len(accounts) != 1 {
		t.Fatalf("accounts %v %v", accounts, err)
	}
	again, err := pc.AcquireTokenSilent(ctx, []string{"User.Read", "Calendars.Read"}, public.WithSilentAccount(accounts[0]),
		public.WithClaims(`{"access_token":{"nbf":{"essential":true,"value":"1"}}}`))
	if err != nil || again.AccessToken == ar.AccessToken || again.Metadata.TokenSource != public.TokenSourceIdentityProvider {
		t.Errorf("a refresh through the listener: %v", err)
	}
}

func getJSONOver(t *testing.T, c *http.Client, u string, v any) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil || res.StatusCode != 200 {
		t.Fatalf("GET %s: %s %v", u, res.Status, err)
	}
}

// TestSandboxPagesInABrowser is what a person running the demo sees and
// does: the sandbox page with its codes, presence pickers and fault
// switches, and the phone page refusing a sign-in that Conditional Access
// blocks, all under the edge server's Content-Security-Policy. With
// $PLACARD_SCREENSHOTS set, it saves the pages there at four sizes.
func TestSandboxPagesInABrowser(t *testing.T) {
	t.Parallel()
	m := testServer(t, func(m *Main) { m.Config.SandboxAddr = "127.0.0.1:0" })
	browser := browsertest.New(t)
	var mu sync.Mutex
	var violations []string
	chromedp.ListenTarget(browser, func(ev any) {
		if e, ok := ev.(*cdplog.EventEntryAdded); ok && strings.Contains(e.Entry.Text, "Content Security Policy") {
			mu.Lock()
			violations = append(violations, e.Entry.Text)
			mu.Unlock()
		}
	})
	// A screen asks for a code, so that the page has one to show.
	screen := openScreen(t, m, "Lobby TV")
	code := screen.waitFor(20*time.Second, "a code", func(s wire.State) bool { return s.Code != nil }).Code.UserCode

	var availability, state, background string
	browsertest.Run(t, browser, 30*time.Second, "using the sandbox page",
		cdplog.Enable(),
		chromedp.Navigate(m.URL+"/sandbox/"),
		chromedp.WaitVisible(browsertest.TestID("sandbox-code", `[data-user-code="`+code+`"]`)),
		chromedp.AttributeValue(browsertest.TestID("sandbox-code", `[data-user-code="`+code+`"]`), "data-state", &state, nil),
		chromedp.Evaluate(`getComputedStyle(document.querySelector('.card')).backgroundColor`, &background),
		// Grace's presence: Do not disturb, presenting.
		chromedp.SetValue(`[data-upn="grace@placard.example"] select[name="availability"]`, "DoNotDisturb"),
		chromedp.SetValue(`[data-upn="grace@placard.example"] select[name="activity"]`, "Presenting"),
		chromedp.Click(`[data-upn="grace@placard.example"] form[action="/sandbox/presence"] button`),
		chromedp.WaitVisible(browsertest.TestID("sandbox-user", `[data-upn="grace@placard.example"][data-availability="DoNotDisturb"]`)),
		chromedp.AttributeValue(browsertest.TestID("sandbox-user", `[data-upn="grace@placard.example"]`), "data-availability", &availability, nil),
		// Conditional Access on.
		chromedp.Click(`input[name="conditional_access_block"]`),
		chromedp.Click(`[data-testid="sandbox-faults"] button[type="submit"]`),
		// The page comes back from the server with the switch on.
		chromedp.WaitVisible(browsertest.TestID("sandbox-faults", `[data-active~="conditional_access_block"]`)),
	)
	if state != "pending" || availability != "DoNotDisturb" {
		t.Errorf("code state %q, grace's availability %q", state, availability)
	}
	if background == "" || background == "rgba(0, 0, 0, 0)" {
		t.Errorf("the sandbox's stylesheet did not apply (card background %q)", background)
	}
	if f := m.Sandbox.Faults(); !f.ConditionalAccessBlock {
		t.Errorf("faults after the form: %+v", f)
	}

	var outcome, errorCode string
	phone := browsertest.Tab(t, browser)
	browsertest.Run(t, phone, 30*time.Second, "a blocked sign-in on the phone page",
		chromedp.Navigate(m.URL+"/sandbox/devicelogin?code="+code),
		chromedp.WaitVisible(browsertest.TestID("code-screen")),
		chromedp.SetValue(`select[name="user"]`, "ada@placard.example"),
		chromedp.Click(`button[name="action"][value="approve"]`),
		chromedp.WaitVisible(browsertest.TestID("approval-result")),
		chromedp.AttributeValue(browsertest.TestID("approval-result"), "data-outcome", &outcome, nil),
		chromedp.Text(browsertest.TestID("approval-error-code"), &errorCode),
	)
	if outcome != "blocked" || errorCode != "53003" {
		t.Errorf("outcome %q, error code %q", outcome, errorCode)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(violations) > 0 {
		t.Errorf("the sandbox's pages break the Content-Security-Policy:\n%s", strings.Join(violations, "\n"))
	}
}

// TestSandboxSignInPageIsServedToPhones: in sandbox mode the edge server
// serves the identity platform's sign-in page where a phone reaches it,
// and the sandbox's application has the edge server's callback as its
// redirect URI.
func TestSandboxSignInPageIsServedToPhones(t *testing.T) {
	m := testServer(t)
	c := httpClient(t)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	page := func(redirectURI string) string {
		q := url.Values{"client_id": {sandbox.ClientID}, "response_type": {"code"}, "redirect_uri": {redirectURI},
			"scope": {"User.Read openid profile offline_access"}, "state": {"s1"}, "nonce": {"n1"},
			"code_challenge": {strings.Repeat("c", 43)}, "code_challenge_method": {"S256"}}
		return sandbox.BrowserURL(m.PublicURL)("https://" + sandbox.LoginHost + "/" + sandbox.TenantID + sandbox.AuthorizePath + "?" + q.Encode())
	}
	u := page(m.PublicURL + "/signin/callback")
	if !strings.HasPrefix(u, m.PublicURL+"/sandbox/login/") {
		t.Fatalf("the sign-in page %s is not on the edge server", u)
	}
	res, body := get(t, c, u)
	if res.StatusCode != 200 || !strings.Contains(body, `<select id="user" name="user">`) || res.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("GET the sign-in page: %s (CSP %q)\n%s", res.Status, res.Header.Get("Content-Security-Policy"), body)
	}
	res, err := c.PostForm(u, url.Values{"user": {"grace@placard.example"}, "action": {"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || loc == nil || !strings.HasPrefix(loc.String(), m.PublicURL+"/signin/callback?") || loc.Query().Get("state") != "s1" || loc.Query().Get("code") == "" {
		t.Fatalf("accept: %s to %q, want the edge server's callback with a code and the state", res.Status, res.Header.Get("Location"))
	}
	if res, body := get(t, c, page("https://elsewhere.example/signin/callback")); res.StatusCode != 400 || !strings.Contains(body, `data-code="50011"`) {
		t.Errorf("another redirect URI: %s, want AADSTS50011", res.Status)
	}
}

// TestSandboxSignInPageOnAPhone: the sandbox's sign-in page, as a phone
// opens it in sandbox mode, fits 360×740 without scrolling sideways, has
// nothing serious for axe-core, and accepting sends the browser on to the
// edge server's callback (the page's Content-Security-Policy lets the
// form's redirect through).
func TestSandboxSignInPageOnAPhone(t *testing.T) {
	t.Parallel()
	m := testServer(t)
	browser := browsertest.New(t)
	q := url.Values{"client_id": {sandbox.ClientID}, "response_type": {"code"}, "redirect_uri": {m.PublicURL + "/signin/callback"},
		"scope": {"User.Read Calendars.Read Presence.Read openid profile offline_access"}, "state": {"s1"}, "nonce": {"n1"},
		"code_challenge": {strings.Repeat("c", 43)}, "code_challenge_method": {"S256"}}
	signInURL := sandbox.BrowserURL(m.PublicURL)("https://" + sandbox.LoginHost + "/" + sandbox.TenantID + sandbox.AuthorizePath + "?" + q.Encode())
	var wide bool
	browsertest.Run(t, browser, 20*time.Second, "opening the sign-in page",
		chromedp.EmulateViewport(360, 740, chromedp.EmulateTouch),
		chromedp.Navigate(signInURL),
		chromedp.WaitVisible(browsertest.TestID("authorize-app")),
		chromedp.Evaluate(`document.scrollingElement.scrollWidth > window.innerWidth`, &wide),
	)
	if wide {
		t.Error("the sign-in page scrolls sideways at 360 px")
	}
	navigated := make(chan string, 8)
	chromedp.ListenTarget(browser, func(ev any) {
		if e, ok := ev.(*page.EventFrameNavigated); ok && e.Frame.ParentID == "" {
			select {
			case navigated <- e.Frame.URL:
			default:
			}
		}
	})
	browsertest.Run(t, browser, 20*time.Second, "accepting as Grace",
		chromedp.SetValue(`select[name="user"]`, "grace@placard.example"),
		chromedp.Click(`button[name="action"][value="approve"]`, chromedp.NodeVisible),
	)
	// The callback sends the browser on to the result page at once (no
	// code stays in its history): the browser arrives there through it.
	// The state was made up here, so the edge server knows no sign-in of
	// it.
	u := await(t, navigated, 20*time.Second, "arrival at the edge server's result page, through /signin/callback, after accepting", func(u string) bool {
		loc, err := url.Parse(u)
		return err == nil && loc.Path == httpd.ResultPath
	})
	var outcome string
	browsertest.Run(t, browser, 10*time.Second, "reading the result",
		chromedp.AttributeValue(browsertest.TestID("signin-result"), "data-outcome", &outcome, nil))
	if !strings.HasPrefix(u, m.PublicURL+httpd.ResultPath) || outcome != "invalid_state" {
		t.Errorf("the browser went to %s (%s), want the edge server's result page of an unknown sign-in", u, outcome)
	}

	// axe-core last: without it the test ends there (skipped, or failed
	// with CI=true). Signed in at the page now, the browser would come
	// back at once (single sign-on) but for prompt=select_account, which
	// the edge server sends.
	q.Set("prompt", "select_account")
	again := sandbox.BrowserURL(m.PublicURL)("https://" + sandbox.LoginHost + "/" + sandbox.TenantID + sandbox.AuthorizePath + "?" + q.Encode())
	browsertest.Run(t, browser, 20*time.Second, "opening the sign-in page again",
		chromedp.Navigate(again),
		chromedp.WaitVisible(browsertest.TestID("authorize-app")),
	)
	checkAccessibility(t, browser, "sandbox sign-in page")
	q.Set("redirect_uri", "https://elsewhere.example/signin/callback")
	bad := sandbox.BrowserURL(m.PublicURL)("https://" + sandbox.LoginHost + "/" + sandbox.TenantID + sandbox.AuthorizePath + "?" + q.Encode())
	browsertest.Run(t, browser, 20*time.Second, "opening a request the page refuses",
		chromedp.Navigate(bad),
		chromedp.WaitVisible(browsertest.TestID("authorize-error")),
	)
	checkAccessibility(t, browser, "sandbox sign-in page's error")
}

func TestTheBannerPrintsAnAdminTokenCommandThatWorks(t *testing.T) {
	var banner bytes.Buffer
	m := testServer(t, func(m *Main) { m.Stdout = &banner })
	_, after, ok := strings.Cut(banner.String(), "make a token with: ")
	cmd, _, _ := strings.Cut(after, ")\n")
	args := strings.Fields(cmd)
	if !ok || len(args) != 5 || strings.Join(args[1:4], " ") != "admin token -data" {
		t.Fatalf("the banner says %q", cmd)
	}
	// Its arguments, as the CLI reads them, make a token for this server.
	var out bytes.Buffer
	if err := run(t.Context(), args[1:], func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	token := strings.TrimSpace(out.String())
	if i := strings.Index(token, "padm_"); i >= 0 {
		token = strings.Fields(token[i:])[0]
	}
	if status, body := call(t, m, token, "GET", "/admin/api/screens", ""); status != http.StatusOK {
		t.Errorf("the token made by %q: %d %v", cmd, status, body)
	}
	// make run starts ./bin/placard from the repository: so it says.
	if got := commandFrom("/src/placard/bin/placard", "/src/placard"); got != "./bin/placard" {
		t.Errorf("commandFrom = %q, want ./bin/placard", got)
	}
	if got := commandFrom("/usr/local/bin/placard", "/home/ada"); got != "/usr/local/bin/placard" {
		t.Errorf("commandFrom = %q, want the absolute path", got)
	}
}
