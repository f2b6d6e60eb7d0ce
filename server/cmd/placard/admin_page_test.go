package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/limit"
	"github.com/placard/placard/server/secret"
)

// adminBrowser is a browser on the admin page: a cookie jar, and no
// redirect followed, so that each answer can be checked.
type adminBrowser struct {
	t *testing.T
	m *Main
	c *http.Client
}

func newAdminBrowser(t *testing.T, m *Main) *adminBrowser {
	c := httpClient(t)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &adminBrowser{t: t, m: m, c: c}
}

// post sends a form as a browser does from the admin page itself.
func (b *adminBrowser) post(path string, form url.Values, header ...string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.m.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", "null") // what Referrer-Policy: no-referrer makes of it
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func (b *adminBrowser) get(path string) (*http.Response, string) {
	b.t.Helper()
	return get(b.t, b.c, b.m.URL+path)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login signs in with token and returns the page's CSRF token.
func (b *adminBrowser) login(token string) string {
	b.t.Helper()
	res, body := b.post("/admin/login", url.Values{"token": {token}})
	if res.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("login: %s\n%.500s", res.Status, body)
	}
	cookie := res.Header.Get("Set-Cookie")
	for _, want := range []string{"placard_admin=", "HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(cookie, want) {
			b.t.Errorf("the session cookie %q lacks %s", cookie, want)
		}
	}
	_, page := b.get("/admin")
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no CSRF token on the signed-in page:\n%.1000s", page)
	}
	return m[1]
}

func TestTheAdminPageShowsNothingWithoutASignIn(t *testing.T) {
	m := testServer(t, manualEnroll)
	openScreen(t, m, "Secret room")
	b := newAdminBrowser(t, m)
	for _, path := range []string{"/admin", "/admin/screens/sxxxxxxxxxxxxxxxx"} {
		res, body := b.get(path)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="admin-login"`) || strings.Contains(body, "Secret room") {
			t.Errorf("GET %s without a session: %s, login form %v", path, res.Status, strings.Contains(body, "admin-login"))
		}
	}
	res, _ := b.post("/admin/approve", url.Values{"pairing_number": {"123456"}, "csrf": {"x"}})
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("a form without a session: %s", res.Status)
	}
	res, body := b.post("/admin/login", url.Values{"token": {"padm_nope.nope"}})
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "placard admin token") {
		t.Errorf("a wrong token: %s\n%.300s", res.Status, body)
	}
	if strings.Contains(res.Header.Get("Set-Cookie"), "placard_admin=") {
		t.Error("a wrong token got a session cookie")
	}
}

func TestAdminFormsNeedTheSessionsCSRFTokenAndTheSameSite(t *testing.T) {
	m := testServer(t, manualEnroll)
	s := openScreen(t, m, "Lobby TV")
	number := s.waitPhase(10*time.Second, wire.PhasePairing).Pairing.Number
	b := newAdminBrowser(t, m)
	csrf := b.login(newToken(t, m))

	res, _ := b.post("/admin/approve", url.Values{"pairing_number": {number}})
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("a form without the CSRF token: %s", res.Status)
	}
	res, _ = b.post("/admin/approve", url.Values{"pairing_number": {number}, "csrf": {csrf + "x"}})
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("a form with a wrong CSRF token: %s", res.Status)
	}
	res, _ = b.post("/admin/approve", url.Values{"pairing_number": {number}, "csrf": {csrf}}, "Sec-Fetch-Site", "cross-site")
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("a form from another site: %s", res.Status)
	}
	res, _ = b.post("/admin/approve", url.Values{"pairing_number": {number}, "csrf": {csrf}}, "Sec-Fetch-Site", "", "Origin", "https://evil.example")
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("a form with a foreign Origin: %s", res.Status)
	}
	res, _ = b.post("/admin/login", url.Values{"token": {"x"}}, "Sec-Fetch-Site", "cross-site")
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("a login from another site: %s", res.Status)
	}
	if sc, _ := m.Store.Screens(t.Context()); sc[0].Enrolled {
		t.Fatal("a refused form enrolled the screen")
	}

	res, _ = b.post("/admin/approve", url.Values{"pairing_number": {number}, "csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("approving from the page: %s", res.Status)
	}
	s.waitPhase(10*time.Second, wire.PhaseCode)
	_, page := b.get("/admin")
	if !strings.Contains(page, `data-testid="admin-flash"`) || !strings.Contains(page, "Approved Lobby TV") {
		t.Errorf("the page does not say what was done:\n%.2000s", page)
	}

	// A wrong pairing number is refused on the page, with the reason.
	res, body := b.post("/admin/approve", url.Values{"pairing_number": {"12 34"}, "csrf": {csrf}})
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "has 4 digits, not 6") {
		t.Errorf("a short number: %s", res.Status)
	}

	// Rename and settings from the screen's page.
	id := screenID(t, m, "Lobby TV")
	res, _ = b.post("/admin/screens/"+id+"/rename", url.Values{"name": {"Main lobby"}, "csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("renaming: %s", res.Status)
	}
	res, _ = b.post("/admin/screens/"+id+"/settings", url.Values{"time_zone": {"Europe/Paris"}, "lang": {"fr"}, "clock24": {"on"}, "hours": {"07:00-19:00"}, "quick_book": {"on"}, "csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("settings: %s", res.Status)
	}
	sc, _ := m.Store.Screen(t.Context(), id)
	if sc.Name != "Main lobby" || sc.Settings != (server.ScreenSettings{TimeZone: "Europe/Paris", Lang: "fr", Clock24: true, Hours: "07:00-19:00"}) {
		t.Errorf("stored %q %+v", sc.Name, sc.Settings)
	}
	// A language the page does not list (set through the API) stays
	// chosen on the page, so that saving the form keeps it.
	if _, err := m.Screens.SetSettings(t.Context(), id, server.ScreenSettings{Lang: "fr-CA"}, "test"); err != nil {
		t.Fatal(err)
	}
	if _, page := b.get("/admin/screens/" + id); !strings.Contains(page, `<option value="fr-CA" selected>`) {
		t.Errorf("the screen's page does not keep its language fr-CA selected")
	}
	res, body = b.post("/admin/screens/"+id+"/settings", url.Values{"hours": {"all day"}, "csrf": {csrf}})
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "HH:MM-HH:MM") {
		t.Errorf("bad settings from the page: %s", res.Status)
	}

	// Signing out of the admin page ends the session.
	res, _ = b.post("/admin/logout", url.Values{"csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %s", res.Status)
	}
	if _, page := b.get("/admin"); !strings.Contains(page, `data-testid="admin-login"`) {
		t.Error("still signed in after signing out")
	}
}

func TestFailedAdminSignInsAreLimitedPerAddress(t *testing.T) {
	m := testServer(t, func(m *Main) { m.Config.LoginFailures = limit.Rate{Max: 3, Per: time.Hour} })
	token := newToken(t, m)
	b := newAdminBrowser(t, m)
	for range 3 {
		if res, _ := b.post("/admin/login", url.Values{"token": {"padm_guess.guess"}}); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a wrong token: %s", res.Status)
		}
	}
	res, body := b.post("/admin/login", url.Values{"token": {"padm_guess.guess"}})
	if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "too many failed sign-ins") {
		t.Errorf("after 3 failures, a 4th wrong token: %s", res.Status)
	}
	if status, body := call(t, m, "padm_guess.guess", "GET", "/admin/api/screens", ""); status != http.StatusTooManyRequests {
		t.Errorf("the API from the same address: %d %v", status, body)
	}
	// The right token is checked before the lockout, so that wrong ones
	// from an address (a NAT, a proxy) cannot lock it out.
	if res, _ := b.post("/admin/login", url.Values{"token": {token}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("after 3 failures, the right token: %s", res.Status)
	}
	events, _ := m.Store.Audit(t.Context(), 20)
	if !hasAudit(events, server.AuditAdminSignIn, "", "page token from 127.0.0.1: wrong token") {
		t.Errorf("failed sign-ins are not audited: %+v", events)
	}
}

func TestDeletingAnAdminTokenEndsItsSessions(t *testing.T) {
	m := testServer(t)
	token := newToken(t, m)
	b := newAdminBrowser(t, m)
	b.login(token)
	id, _, _ := strings.Cut(strings.TrimPrefix(token, "padm_"), ".")
	if err := run(t.Context(), []string{"admin", "revoke-token", id, "-data", m.Config.DataDir}, func(string) string { return "" }, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, page := b.get("/admin"); !strings.Contains(page, `data-testid="admin-login"`) {
		t.Error("a session of a deleted token still shows the admin page")
	}
}

func TestTheAdminPageShowsThePermissionsAskedFor(t *testing.T) {
	m := testServer(t)
	b := newAdminBrowser(t, m)
	b.login(newToken(t, m))
	_, page := b.get("/admin")
	got := regexp.MustCompile(`data-testid="admin-scopes"[^>]*>(.*?)</dd>`).FindStringSubmatch(page)
	want := "<code>User.Read</code> <code>Calendars.Read</code> <code>Presence.Read</code>"
	if got == nil || got[1] != want {
		t.Errorf("admin-scopes %q, want %q", got, want)
	}
}

var quickBookBoxRE = regexp.MustCompile(`<input [^>]*data-testid="admin-quick-book"[^>]*>`)

// quickBookChecked reads the screen's page: whether its quick booking box
// is there, and checked.
func (b *adminBrowser) quickBookChecked(id string) (shown, checked bool) {
	b.t.Helper()
	_, page := b.get("/admin/screens/" + id)
	box := quickBookBoxRE.FindString(page)
	return box != "", strings.Contains(box, " checked")
}

func TestTheAdminPageTurnsQuickBookingOffAndOnForAScreen(t *testing.T) {
	m := testServer(t, func(m *Main) {
		m.Config.QuickBook = true
		m.Config.Scopes = append(m.Config.Scopes, "Calendars.ReadWrite")
	})
	tablet := &wsScreen{t: t, name: "Room 4 tablet", client: httpClient(t), states: make(chan wire.State, 64), touch: true}
	_, tablet.html = get(t, tablet.client, m.URL+"/?screen="+url.QueryEscape(tablet.name))
	allowActions(t, m, tablet.name)
	tablet.dial(m)
	last := tablet.signIn(m, "grace@placard.example")
	canBook := func(want bool) {
		t.Helper()
		if last.Dashboard != nil && last.Dashboard.Agenda != nil && last.Dashboard.CanBook == want {
			return
		}
		last = tablet.waitFor(20*time.Second, fmt.Sprintf("a dashboard with can_book %v", want), func(st wire.State) bool {
			return st.Dashboard != nil && st.Dashboard.Agenda != nil && st.Dashboard.CanBook == want
		})
	}
	canBook(true)
	id := screenID(t, m, tablet.name)
	b := newAdminBrowser(t, m)
	csrf := b.login(newToken(t, m))
	if shown, checked := b.quickBookChecked(id); !shown || !checked {
		t.Fatalf("a new screen's page: quick booking box shown %v, checked %v; want a checked box", shown, checked)
	}

	// Unchecking the box and saving: the browser sends no quick_book
	// (and "actions", whose box is checked: the tablet may act).
	for _, c := range []struct {
		form    url.Values
		refused bool
	}{
		{url.Values{"lang": {"fr"}, "actions": {"on"}}, true},
		{url.Values{"lang": {"fr"}, "actions": {"on"}, "quick_book": {"on"}}, false},
	} {
		c.form.Set("csrf", csrf)
		if res, body := b.post("/admin/screens/"+id+"/settings", c.form); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("saving %v: %s\n%.500s", c.form, res.Status, body)
		}
		if sc, err := m.Store.Screen(t.Context(), id); err != nil || sc.Settings.NoQuickBook != c.refused || sc.Settings.Lang != "fr" {
			t.Errorf("after saving %v: stored %+v (%v), want quick booking refused %v", c.form, sc.Settings, err, c.refused)
		}
		if _, checked := b.quickBookChecked(id); checked == c.refused {
			t.Errorf("after saving %v: the box is checked %v", c.form, checked)
		}
		canBook(!c.refused)
	}
}

var sessionRowRE = regexp.MustCompile(`(?s)<tr data-testid="admin-session" data-session-id="([^"]+)"( data-current="true")?>(.*?)</tr>`)

// adminSessionRow is a row of the admin page's list of sessions.
type adminSessionRow struct {
	id      string
	current bool
	text    string // the row's cells, tags dropped
}

func (b *adminBrowser) sessions() ([]adminSessionRow, string) {
	b.t.Helper()
	_, page := b.get("/admin")
	var rows []adminSessionRow
	for _, m := range sessionRowRE.FindAllStringSubmatch(page, -1) {
		text := regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[3], " ")
		rows = append(rows, adminSessionRow{id: m[1], current: m[2] != "", text: strings.Join(strings.Fields(text), " ")})
	}
	return rows, page
}

// cookie is the value of the browser's admin session cookie.
func (b *adminBrowser) cookie() string {
	b.t.Helper()
	u, _ := url.Parse(b.m.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "placard_admin" {
			return c.Value
		}
	}
	return ""
}

func TestAnAdministratorEndsAdminSessionsFromThePage(t *testing.T) {
	m := testServer(t)
	alice, bob := newAdminBrowser(t, m), newAdminBrowser(t, m)
	csrf := alice.login(newToken(t, m))
	bob.login(newToken(t, m))
	status, body := microsoftSignIn(t, m, "grace@placard.example")
	if status != http.StatusOK {
		t.Fatalf("Grace's sign-in: %d %v", status, body)
	}
	grace := body["token"].(string)

	rows, page := alice.sessions()
	if len(rows) != 3 {
		t.Fatalf("the page lists %d sessions, want 3:\n%.3000s", len(rows), page)
	}
	var aliceRow, bobRow adminSessionRow
	for _, r := range rows {
		// Who, how, from where and since when; "127.0.0.1" is where the
		// test's browsers are.
		if !strings.Contains(r.text, "127.0.0.1") || !regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d UTC`).MatchString(r.text) {
			t.Errorf("session %s: %q lacks where from or since when", r.id, r.text)
		}
		switch {
		case r.current:
			aliceRow = r
		case strings.Contains(r.text, "grace@placard.example"):
			if !strings.Contains(r.text, "Microsoft account, through the API") {
				t.Errorf("Grace's session: %q, want how she signed in", r.text)
			}
		default:
			bobRow = r
		}
	}
	if aliceRow.id == "" || bobRow.id == "" || !strings.Contains(aliceRow.text, "admin token") || !strings.Contains(aliceRow.text, "on the admin page") {
		t.Fatalf("the page's own session is not marked, or a row lacks how it began: %+v", rows)
	}
	// Nothing secret: no session's secret, nor its hash, nor a piece of it.
	for _, s := range []string{alice.cookie(), bob.cookie(), strings.TrimPrefix(grace, "pses_")} {
		h := hex.EncodeToString(secret.Hash(s))
		for _, leak := range []string{s, h, h[:8], h[len(h)-8:]} {
			if strings.Contains(page, leak) {
				t.Errorf("the page shows %q, a session's secret or part of its hash", leak)
			}
		}
	}

	// Alice ends Bob's session: Bob is signed out at once.
	if res, body := alice.post("/admin/sessions/"+bobRow.id+"/end", url.Values{"csrf": {csrf}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("ending Bob's session: %s\n%.500s", res.Status, body)
	}
	if _, page := bob.get("/admin"); !strings.Contains(page, `data-testid="admin-login"`) {
		t.Error("Bob's ended session still shows the admin page")
	}
	rows, page = alice.sessions()
	if len(rows) != 2 || slices.ContainsFunc(rows, func(r adminSessionRow) bool { return r.id == bobRow.id }) || !strings.Contains(page, "Ended the session of") {
		t.Errorf("after ending Bob's session the page lists %+v", rows)
	}
	events, _ := m.Store.Audit(t.Context(), 20)
	if !hasAudit(events, server.AuditAdminSignIn, "", "session "+bobRow.id+" of admin token") {
		t.Errorf("the end is not audited: %+v", events)
	}
	// Sessions are kept in each replica's memory: the page lists this
	// edge server's, and a session it does not know may have ended or
	// belong to another replica.
	if !strings.Contains(page, "Admin sessions on this edge server") {
		t.Error("the page does not say its sessions are this edge server's")
	}
	if res, body := alice.post("/admin/sessions/"+bobRow.id+"/end", url.Values{"csrf": {csrf}}); res.StatusCode != http.StatusNotFound || !strings.Contains(body, "on this edge server: it has ended, or it belongs to another replica") {
		t.Errorf("ending an ended session: %s\n%.500s", res.Status, body)
	}

	// Alice ends her own: her browser is signed out, its cookie dropped,
	// and the old cookie opens nothing.
	old := alice.cookie()
	res, _ := alice.post("/admin/sessions/"+aliceRow.id+"/end", url.Values{"csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin" || !strings.Contains(res.Header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("ending her own session: %s, Location %q, Set-Cookie %q", res.Status, res.Header.Get("Location"), res.Header.Get("Set-Cookie"))
	}
	if _, page := alice.get("/admin"); !strings.Contains(page, `data-testid="admin-login"`) {
		t.Error("still signed in after ending her own session")
	}
	req, _ := http.NewRequest("GET", m.URL+"/admin", nil)
	req.AddCookie(&http.Cookie{Name: "placard_admin", Value: old})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), `data-testid="admin-login"`) {
		t.Error("the ended session's cookie still opens the admin page")
	}
	// Grace's API session is untouched.
	if status, _ := call(t, m, grace, "GET", "/admin/api/screens", ""); status != http.StatusOK {
		t.Errorf("Grace's session after the others ended: %d", status)
	}
}
