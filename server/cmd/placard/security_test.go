package main

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/limit"
	"github.com/placard/placard/server/sandbox"
)

// wantHeaders are the security headers, on every response.
var wantHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; img-src 'self' data:; " +
		"style-src 'self'; font-src 'self'; manifest-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
	"X-Content-Type-Options": "nosniff",
	"X-Frame-Options":        "DENY",
	"Referrer-Policy":        "no-referrer",
}

func checkHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	for k, v := range wantHeaders {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %s is %q, want %q", what, k, got, v)
		}
	}
}

func TestEveryHTMLPageCarriesTheSecurityHeaders(t *testing.T) {
	m := testServer(t)
	token := newToken(t, m)
	b := newAdminBrowser(t, m)
	csrf := b.login(token)
	get(t, b.c, m.URL+"/?screen=Hall")
	id := screenID(t, m, "Hall")

	pages := []struct {
		name, method, path string
		form               url.Values
	}{
		{"the screen", "GET", "/?screen=Lobby%20TV", nil},
		{"the screen, again", "GET", "/?screen=Hall", nil},
		{"the offline page", "GET", "/web/offline.html", nil},
		{"the phone page", "GET", "/sandbox/devicelogin", nil},
		{"the phone page's result", "POST", "/sandbox/devicelogin", url.Values{"user_code": {"WRONGCODE"}, "user": {"ada@placard.example"}, "action": {"approve"}}},
		{"the admin page", "GET", "/admin", nil},
		{"a screen's admin page", "GET", "/admin/screens/" + id, nil},
		{"an admin form's failure", "POST", "/admin/approve", url.Values{"pairing_number": {"1"}, "csrf": {csrf}}},
		{"the admin login page", "GET", "/admin?logged-out", nil},
	}
	for _, p := range pages {
		var res *http.Response
		var body string
		switch {
		case p.name == "the admin login page":
			res, body = get(t, httpClient(t), m.URL+p.path)
		case p.method == "GET":
			res, body = b.get(p.path)
		default:
			res, body = b.post(p.path, p.form)
		}
		if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(strings.ToLower(body), "<html") {
			t.Errorf("%s (%s %s) is not an HTML page: %s %s", p.name, p.method, p.path, res.Status, res.Header.Get("Content-Type"))
			continue
		}
		checkHeaders(t, p.name, res.Header)
	}
	// And the rest: assets, JSON, WebSocket refusals.
	for _, path := range []string{"/web/placard.css", "/admin/admin.css", "/healthz", "/admin/api/screens", "/ws"} {
		res, _ := get(t, httpClient(t), m.URL+path)
		checkHeaders(t, path, res.Header)
	}
}

func TestAScreensNameInAURLRevealsNothing(t *testing.T) {
	m := testServer(t)
	s := openScreen(t, m, "Lobby TV")
	code := s.waitPhase(10*time.Second, wire.PhaseCode).Code.UserCode
	m.Sandbox.Approve(code, "ada@placard.example")
	s.waitPhase(15*time.Second, wire.PhaseDashboard)
	if _, html := get(t, s.client, m.URL+"/?screen=Lobby%20TV"); !strings.Contains(html, "Ada Lovelace") {
		t.Fatalf("the screen's own browser does not see its dashboard:\n%.1000s", html)
	}

	// Another browser that knows the name.
	stranger := httpClient(t)
	res, html := get(t, stranger, m.URL+"/?screen=Lobby%20TV")
	if res.StatusCode != http.StatusOK || strings.Contains(html, "Ada Lovelace") || strings.Contains(html, `data-state="dashboard"`) {
		t.Fatalf("another browser opening /?screen=Lobby%%20TV sees:\n%.1500s", html)
	}
	// Its WebSocket, with the name in hello but no credential, is denied.
	u, _ := url.Parse(m.URL)
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/ws", http.Header{"Origin": {m.URL}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hello, _ := wire.Encode(wire.Hello{Screen: "Lobby TV"})
	conn.WriteMessage(websocket.TextMessage, hello)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := conn.ReadMessage()
	if msg, _ := wire.DecodeFromServer(data); err != nil || msg.MessageType() != wire.TypeDenied {
		t.Fatalf("a hello naming Lobby TV without its cookie got %s (%v)", data, err)
	}
	// And with the screen's own cookie but from another site's page.
	header := http.Header{"Origin": {"https://evil.example"}}
	for _, c := range s.client.Jar.Cookies(u) {
		header.Add("Cookie", c.Name+"="+c.Value)
	}
	_, res, err = websocket.DefaultDialer.Dial("ws://"+u.Host+"/ws", header)
	if err == nil || res == nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("a WebSocket from another origin with the screen's cookie: %v %v", err, res)
	}
}

func TestScreensFromOutsideTheScreenNetworksAreRefused(t *testing.T) {
	m := testServer(t, func(m *Main) { m.Config.ScreenNetworks = []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")} })
	res, body := get(t, httpClient(t), m.URL+"/?screen=Lobby%20TV")
	if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "-screen-networks") {
		t.Errorf("a page from 127.0.0.1: %s %s", res.Status, body)
	}
	u, _ := url.Parse(m.URL)
	if _, res, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/ws", nil); err == nil || res.StatusCode != http.StatusForbidden {
		t.Errorf("a WebSocket from 127.0.0.1: %v", err)
	}
	if all, _ := m.Store.Screens(t.Context()); len(all) != 0 {
		t.Errorf("a refused page registered %d screens", len(all))
	}
	// The admin page and the phone page stay reachable.
	for _, path := range []string{"/admin", "/sandbox/devicelogin"} {
		if res, _ := get(t, httpClient(t), m.URL+path); res.StatusCode != http.StatusOK {
			t.Errorf("%s: %s", path, res.Status)
		}
	}

	allowed := testServer(t, func(m *Main) { m.Config.ScreenNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	if res, _ := get(t, httpClient(t), allowed.URL+"/?screen=Lobby%20TV"); res.StatusCode != http.StatusOK {
		t.Errorf("a page from inside the screen networks: %s", res.Status)
	}
}

func TestNewScreensPerAddressAreLimited(t *testing.T) {
	m := testServer(t, func(m *Main) { m.Config.NewScreens = limit.Rate{Max: 2, Per: time.Hour} })
	first := httpClient(t)
	for _, name := range []string{"One", "Two"} {
		if res, _ := get(t, first, m.URL+"/?screen="+name); res.StatusCode != http.StatusOK {
			t.Fatalf("new screen %s: %s", name, res.Status)
		}
	}
	res, body := get(t, httpClient(t), m.URL+"/?screen=Three")
	if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many new screens from 127.0.0.1") || res.Header.Get("Retry-After") == "" {
		t.Errorf("a third new screen from one address: %s %q", res.Status, body)
	}
	// A screen that exists loads its page as often as it likes.
	for range 3 {
		if res, _ := get(t, first, m.URL+"/?screen=One"); res.StatusCode != http.StatusOK {
			t.Errorf("reloading a known screen: %s", res.Status)
		}
	}
	if all, _ := m.Store.Screens(t.Context()); len(all) != 2 {
		t.Errorf("%d screens registered, want 2", len(all))
	}
}

// The tokens in it are checked in TestDataDirectoryHoldsNoTokenInPlainText.
func TestTheDataDirectoryAndKeyAreTheServersOnly(t *testing.T) {
	m := testServer(t)
	dir := m.Config.DataDir
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("data directory: %v %v, want mode 0700", info.Mode().Perm(), err)
	}
	if info, err := os.Stat(filepath.Join(dir, "key")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v, want mode 0600", info.Mode().Perm(), err)
	}
}

func TestAnAccountOfAnotherTenantIsRefusedAndAudited(t *testing.T) {
	const other = "11111111-2222-3333-4444-555555555555"
	m := testServer(t, func(m *Main) { m.Config.AllowedTenants = []string{other} })
	s := openScreen(t, m, "Lobby TV")
	code := s.waitPhase(10*time.Second, wire.PhaseCode).Code.UserCode
	m.Sandbox.Approve(code, "ada@placard.example")
	st := s.waitPhase(15*time.Second, wire.PhaseError)
	if st.Problem.Kind != wire.ProblemTenant {
		t.Errorf("the screen shows %q, want %q", st.Problem.Kind, wire.ProblemTenant)
	}
	sc, _ := m.Store.Screen(t.Context(), screenID(t, m, "Lobby TV"))
	if sc.AccountID != "" {
		t.Errorf("the screen was signed in to %s", sc.AccountID)
	}
	events, _ := m.Store.Audit(t.Context(), 20)
	found := false
	for _, e := range events {
		found = found || (e.Kind == server.AuditTenantRejected && e.Outcome == "dropped" && strings.Contains(e.Detail, "ada@placard.example"))
	}
	if !found {
		t.Errorf("the refusal is not audited: %+v", events)
	}
	// Its admin sign-in is refused too: the id token's tenant is checked.
	if status, body := microsoftSignIn(t, m, "grace@placard.example"); status == http.StatusOK {
		t.Errorf("an administrator of a refused tenant signed in: %v", body)
	}
}

// The attack: with a multi-tenant authority, or a partner tenant listed in
// -allowed-tenants, the owner of that other tenant consents to the
// application there, assigns themselves placard.admin, and signs in to
// /admin. Here the sandbox's tenant, where Grace holds the role, plays the
// partner's: its accounts are accepted on screens, its app role is not.
func TestTheAdminRoleCountsOnlyInTheAdministratorsTenant(t *testing.T) {
	const home = "11111111-2222-3333-4444-555555555555"
	partner := strings.ToLower(sandbox.TenantID)
	m := testServer(t, func(m *Main) {
		m.Config.AllowedTenants = []string{home, partner}
		m.Config.AdminTenant = home
	})
	status, body := microsoftSignIn(t, m, "grace@placard.example")
	if status != http.StatusForbidden || body["token"] != nil || !strings.Contains(fmt.Sprint(body["error"]), "another organisation") {
		t.Fatalf("an account of another tenant with %s: %d %v, want 403 and no token", server.AdminRole, status, body)
	}
	events, _ := m.Store.Audit(t.Context(), 20)
	if !hasAudit(events, server.AuditAdminSignIn, "grace@placard.example", "tenant "+partner+" is not the administrators' tenant "+home+" (id token with "+server.AdminRole+")") {
		t.Errorf("the refusal is not audited: %+v", events)
	}
	// The partner's accounts still sign in on screens.
	openScreen(t, m, "Lobby TV").signIn(m, "ada@placard.example")

	// In the administrators' own tenant the same role works.
	m = testServer(t, func(m *Main) {
		m.Config.AllowedTenants = []string{home, partner}
		m.Config.AdminTenant = partner
	})
	if status, body := microsoftSignIn(t, m, "grace@placard.example"); status != http.StatusOK || body["status"] != "signed_in" {
		t.Fatalf("an administrator of the administrators' tenant: %d %v", status, body)
	}
}

func TestTheAdminPageAnswersOnlyToTheAdminNetworks(t *testing.T) {
	m := testServer(t, func(m *Main) { m.Config.AdminNetworks = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
	token := newToken(t, m)
	for _, path := range []string{"/admin", "/admin/api/screens", "/admin/admin.css"} {
		req, _ := http.NewRequest("GET", m.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "-admin-networks") {
			t.Errorf("%s from 127.0.0.1: %s %s", path, res.Status, b)
		}
	}
	res, err := http.Post(m.URL+"/admin/api/signin", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("a Microsoft sign-in from outside the admin networks: %s", res.Status)
	}
	if n := m.Sandbox.Requests("devicecode"); n != 0 {
		t.Errorf("%d device codes were asked for", n)
	}
	// Screens are not concerned.
	if res, _ := get(t, httpClient(t), m.URL+"/?screen=Hall"); res.StatusCode != http.StatusOK {
		t.Errorf("a screen: %s", res.Status)
	}
}

func TestMicrosoftSignInsToTheAdminPageAreLimited(t *testing.T) {
	m := testServer(t, func(m *Main) { m.Config.CodesPerMinute = 1 })
	for i := range 3 {
		if status, body := call(t, m, "", "POST", "/admin/api/signin", ""); status != http.StatusOK {
			t.Fatalf("sign-in %d: %d %v", i+1, status, body)
		}
	}
	status, body := call(t, m, "", "POST", "/admin/api/signin", "")
	if status != http.StatusTooManyRequests || !strings.Contains(body["error"].(string), "too many Microsoft sign-ins from 127.0.0.1") {
		t.Errorf("a 4th sign-in from one address: %d %v", status, body)
	}
	if n := m.Sandbox.Requests("devicecode"); n != 3 {
		t.Errorf("%d device codes asked for, want 3", n)
	}
	// They have their own budget: a screen still gets its code although
	// the screens' budget here is one a minute.
	s := openScreen(t, m, "Lobby TV")
	s.waitPhase(10*time.Second, wire.PhaseCode)
}

func TestTheTenantsAccepted(t *testing.T) {
	m := testServer(t)
	hc := &http.Client{Transport: m.Sandbox.Transport()}
	const other = "11111111-2222-3333-4444-555555555555"
	tenant := func(authority string, extra ...string) ([]string, error) {
		cfg := Config{ClientID: "8a3e6f0b-2c47-4d19-9e85-b71a4c0d6f23", Security: Security{AllowedTenants: extra}}
		return allowedTenants(t.Context(), hc, cfg, authority)
	}
	sandboxID := strings.ToLower("4f1c2a7e-9b3d-4e8a-b6c5-0d2f7a91e3b8")
	tests := []struct {
		authority string
		extra     []string
		want      string
	}{
		// A domain is looked up in the authority's OpenID metadata.
		{"https://login.microsoftonline.com/placard.example", nil, sandboxID},
		{"https://login.microsoftonline.com/placard.example", []string{other}, sandboxID + " " + other},
		{"https://login.microsoftonline.com/" + other, nil, other},
		// organizations pins only what is listed, and nothing else.
		{"https://login.microsoftonline.com/organizations", nil, ""},
		{"https://login.microsoftonline.com/organizations", []string{other}, other},
	}
	for _, tt := range tests {
		got, err := tenant(tt.authority, tt.extra...)
		if err != nil || strings.Join(got, " ") != tt.want {
			t.Errorf("allowedTenants(%s, %v) = %v, %v; want %q", tt.authority, tt.extra, got, err, tt.want)
		}
	}
	if _, err := tenant("https://login.microsoftonline.com/nowhere.example"); err == nil || !strings.Contains(err.Error(), "tenant id (a GUID)") {
		t.Errorf("a tenant that cannot be looked up: %v", err)
	}
}

func TestThePhonePageLocksOutAfterWrongCodes(t *testing.T) {
	m := testServer(t)
	s := openScreen(t, m, "Lobby TV")
	code := s.waitPhase(10*time.Second, wire.PhaseCode).Code.UserCode
	c := httpClient(t)
	post := func(code string) (*http.Response, string) {
		res, err := c.PostForm(m.URL+"/sandbox/devicelogin", url.Values{"user_code": {code}, "user": {"ada@placard.example"}, "action": {"approve"}})
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	for range 5 {
		if _, body := post("WRONGCODE"); !strings.Contains(body, `data-outcome="invalid"`) {
			t.Fatalf("a wrong code: %.300s", body)
		}
	}
	// RFC 8628 §5.1: guesses are limited; even the right code is refused now.
	res, body := post(code)
	if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, `data-outcome="locked"`) {
		t.Errorf("the right code after 5 wrong ones: %s %.300s", res.Status, body)
	}
	if st, _ := m.Screens.State(t.Context(), screenID(t, m, "Lobby TV"), 0); st.Phase != wire.PhaseCode {
		t.Errorf("the screen shows %s", st.Phase)
	}
}
