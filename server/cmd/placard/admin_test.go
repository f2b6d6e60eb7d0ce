package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/limit"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/screens"
)

// manualEnroll makes the server wait for an administrator to approve each
// screen, as with a real tenant; waiting screens look for approvals often.
func manualEnroll(m *Main) {
	m.Config.AutoEnroll = false
	tune := m.Tune
	m.Tune = func(c *screens.Config) {
		tune(c)
		c.EnrollPoll = 100 * time.Millisecond
	}
}

// newToken makes an admin token, as `placard admin token` does.
func newToken(t *testing.T, m *Main) string {
	t.Helper()
	made, err := m.Ops.MakeToken(t.Context(), cliActor(), "test", server.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	return made.Secret
}

// call sends an admin API request and decodes its JSON answer.
func call(t *testing.T, m *Main, token, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, m.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: %s is not JSON: %s", method, path, res.Status, b)
	}
	return res.StatusCode, out
}

// approve enrolls the screen that shows number, through the admin API.
func approve(t *testing.T, m *Main, token, number string) string {
	t.Helper()
	status, body := call(t, m, token, "POST", "/admin/api/screens/approve", `{"pairing_number":"`+number+`"}`)
	if status != http.StatusOK || body["state"] != "enrolled" {
		t.Fatalf("approving %s: %d %v", number, status, body)
	}
	return body["id"].(string)
}

func TestAnUnenrolledScreenGetsNoDeviceCode(t *testing.T) {
	m := testServer(t, manualEnroll)
	lobby := openScreen(t, m, "Lobby TV")
	if !strings.Contains(lobby.html, `data-state="pairing"`) || !regexp.MustCompile(`data-testid="pairing-code"[^>]*>\d{6}<`).MatchString(lobby.html) {
		t.Fatalf("the first HTML of a new screen does not show a pairing number:\n%.1500s", lobby.html)
	}
	number := lobby.waitPhase(10*time.Second, wire.PhasePairing).Pairing.Number
	hall := openScreen(t, m, "Hall")
	hallNumber := hall.waitPhase(10*time.Second, wire.PhasePairing).Pairing.Number

	// The CLI approves the hall on its own store, as another process does.
	var out, errOut bytes.Buffer
	args := []string{"screens", "approve", hallNumber, "-data", m.Config.DataDir}
	if err := run(t.Context(), args, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("placard %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	if !strings.Contains(out.String(), `Approved "Hall"`) {
		t.Errorf("the CLI said %q", out.String())
	}
	hall.waitPhase(10*time.Second, wire.PhaseCode)
	if n := m.Sandbox.Requests("devicecode"); n != 1 {
		t.Fatalf("%d device-code requests reached the identity platform, want 1 (the approved screen's)", n)
	}

	approve(t, m, newToken(t, m), number)
	lobby.waitPhase(10*time.Second, wire.PhaseCode)
	if n := m.Sandbox.Requests("devicecode"); n != 2 {
		t.Errorf("%d device-code requests, want 2", n)
	}
}

// rawScreen is a screen's connection that keeps, in order, every message
// it receives and then the error that ended it.
type rawScreen struct {
	events chan any // wire.Message, then one error
}

// dialRaw connects a screen whose page was loaded with client.
func dialRaw(t *testing.T, m *Main, client *http.Client, name string) *rawScreen {
	t.Helper()
	u, _ := url.Parse(m.URL)
	header := http.Header{"Origin": {m.URL}}
	for _, c := range client.Jar.Cookies(u) {
		header.Add("Cookie", c.Name+"="+c.Value)
	}
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/ws", header)
	if err != nil {
		t.Fatalf("dialing the WebSocket: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	hello, _ := wire.Encode(wire.Hello{Screen: name})
	conn.WriteMessage(websocket.TextMessage, hello)
	r := &rawScreen{events: make(chan any, 64)}
	go func() {
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				r.events <- err
				return
			}
			if m, err := wire.DecodeFromServer(data); err == nil {
				r.events <- m
			}
		}
	}()
	return r
}

// next returns the next message that satisfies ok.
func (r *rawScreen) next(t *testing.T, what string, ok func(wire.Message) bool) wire.Message {
	t.Helper()
	return await(t, r.events, 15*time.Second, what, func(ev any) bool {
		if err, ended := ev.(error); ended {
			t.Fatalf("the connection ended (%v) before %s", err, what)
		}
		return ok(ev.(wire.Message))
	}).(wire.Message)
}

// end returns the error that ended the connection, after any message.
func (r *rawScreen) end(t *testing.T) error {
	t.Helper()
	return await(t, r.events, 10*time.Second, "end of the connection", func(ev any) bool {
		_, ended := ev.(error)
		return ended
	}).(error)
}

func phase(p wire.Phase) func(wire.Message) bool {
	return func(m wire.Message) bool { st, ok := m.(wire.State); return ok && st.Phase == p }
}

func TestARevokedScreenIsClosedAndReturnsToPairing(t *testing.T) {
	m := testServer(t, manualEnroll)
	client := httpClient(t)
	get(t, client, m.URL+"/?screen="+url.QueryEscape("Lobby TV"))
	s := dialRaw(t, m, client, "Lobby TV")
	number := s.next(t, "pairing", phase(wire.PhasePairing)).(wire.State).Pairing.Number
	token := newToken(t, m)
	id := approve(t, m, token, number)
	code := s.next(t, "a code", phase(wire.PhaseCode)).(wire.State).Code.UserCode
	m.Sandbox.Approve(code, "ada@placard.example")
	s.next(t, "the dashboard", phase(wire.PhaseDashboard))
	sc, _ := m.Store.Screen(t.Context(), id)

	status, body := call(t, m, token, "POST", "/admin/api/screens/"+id+"/revoke", "")
	if status != http.StatusOK || body["revoked"] != id {
		t.Fatalf("revoking: %d %v", status, body)
	}
	d := s.next(t, "a denial", func(m wire.Message) bool { _, ok := m.(wire.Denied); return ok }).(wire.Denied)
	if !strings.Contains(d.Reason, "revoked") {
		t.Errorf("the denial says %q", d.Reason)
	}
	var ce *websocket.CloseError
	if err := s.end(t); !errors.As(err, &ce) {
		t.Errorf("the connection ended without a close frame: %v", err)
	}
	if _, err := m.Store.TokenCache(t.Context(), sc.AccountID); !server.IsNotFound(err) {
		t.Errorf("Ada's tokens survived the revocation of her only screen (%v)", err)
	}

	// Its credential no longer opens a connection.
	again := dialRaw(t, m, client, "Lobby TV")
	again.next(t, "a denial of the old credential", func(m wire.Message) bool { _, ok := m.(wire.Denied); return ok })

	// The browser loads its page again, as the screen does on a denial:
	// it is a new screen, waiting for an administrator.
	_, html := get(t, client, m.URL+"/?screen="+url.QueryEscape("Lobby TV"))
	if !strings.Contains(html, `data-state="pairing"`) || strings.Contains(html, "Ada Lovelace") {
		t.Fatalf("after the revocation the page shows:\n%.1500s", html)
	}
	all, _ := m.Store.Screens(t.Context())
	if len(all) != 1 || all[0].ID == id || all[0].Enrolled {
		t.Errorf("screens after the revocation: %+v", all)
	}
	events, _ := m.Store.Audit(t.Context(), 50)
	if !hasAudit(events, server.AuditScreenRevoked, "ada@placard.example", "by admin token") {
		t.Errorf("the revocation is not in the audit trail: %+v", events)
	}
}

func hasAudit(events []server.AuditEvent, kind, account, detail string) bool {
	for _, e := range events {
		if e.Kind == kind && e.Account == account && strings.Contains(e.Detail, detail) {
			return true
		}
	}
	return false
}

func TestTheAdminAPIRefusesRequestsWithoutAValidToken(t *testing.T) {
	// Every refusal below counts as a failed sign-in: the limit on them
	// has a test of its own.
	m := testServer(t, func(m *Main) { m.Config.LoginFailures = limit.Rate{Max: 100, Per: time.Hour} })
	token := newToken(t, m)
	deleted := newToken(t, m)
	id, _, _ := strings.Cut(strings.TrimPrefix(deleted, "padm_"), ".")
	if err := m.Store.DeleteAdminToken(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, header string
		status       int
	}{
		{"no header", "", http.StatusUnauthorized},
		{"another scheme", "Basic YWRtaW46YWRtaW4=", http.StatusUnauthorized},
		{"not a token", "Bearer hunter2", http.StatusUnauthorized},
		{"a wrong secret", "Bearer " + token[:len(token)-4] + "AAAA", http.StatusUnauthorized},
		{"a deleted token", "Bearer " + deleted, http.StatusUnauthorized},
		{"an unknown session", "Bearer pses_x", http.StatusUnauthorized},
		{"a valid token", "Bearer " + token, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, ep := range []struct{ method, path string }{{"GET", "/admin/api/screens"}, {"GET", "/admin/api/audit"}, {"POST", "/admin/api/screens/approve"}} {
				req, _ := http.NewRequest(ep.method, m.URL+ep.path, strings.NewReader(`{"pairing_number":"000000"}`))
				if tt.header != "" {
					req.Header.Set("Authorization", tt.header)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				want := tt.status
				if want == http.StatusOK && ep.method == "POST" {
					want = http.StatusNotFound // no screen shows 000000
				}
				if res.StatusCode != want {
					t.Errorf("%s %s: %s %s, want %d", ep.method, ep.path, res.Status, b, want)
				}
				if want == http.StatusUnauthorized && !strings.Contains(string(b), "admin token") && !strings.Contains(string(b), "sign in again") {
					t.Errorf("%s %s: the refusal %s does not say what to do", ep.method, ep.path, b)
				}
			}
		})
	}
}

// microsoftSignIn signs in to the admin API through the device-code grant,
// as upn on the sandbox's phone page, and returns the poll's answer.
func microsoftSignIn(t *testing.T, m *Main, upn string) (int, map[string]any) {
	t.Helper()
	status, start := call(t, m, "", "POST", "/admin/api/signin", "")
	if status != http.StatusOK {
		t.Fatalf("starting a sign-in: %d %v", status, start)
	}
	secret, code := start["sign_in"].(string), start["user_code"].(string)
	if out := m.Sandbox.Approve(code, upn); out != "approved" {
		t.Fatalf("approving %s: %s", code, out)
	}
	var body map[string]any
	eventually(t, 20*time.Second, "end of "+upn+"'s sign-in", func() (bool, string) {
		status, body = call(t, m, "", "POST", "/admin/api/signin/poll", `{"sign_in":"`+secret+`"}`)
		return status != http.StatusOK || body["status"] != "pending", fmt.Sprint(status, body)
	})
	return status, body
}

func TestOnlyAnAccountWithTheAdminRoleSignsInToTheAdminAPI(t *testing.T) {
	m := testServer(t)
	// Ada's id token is valid but lacks placard.admin.
	status, body := microsoftSignIn(t, m, "ada@placard.example")
	if status != http.StatusForbidden || !strings.Contains(body["error"].(string), server.AdminRole) || body["token"] != nil {
		t.Fatalf("Ada's sign-in: %d %v, want 403 naming the role and no token", status, body)
	}
	// Grace holds it.
	status, body = microsoftSignIn(t, m, "grace@placard.example")
	if status != http.StatusOK || body["status"] != "signed_in" || body["who"] != "grace@placard.example" {
		t.Fatalf("Grace's sign-in: %d %v", status, body)
	}
	session := body["token"].(string)
	if status, body := call(t, m, session, "GET", "/admin/api/screens", ""); status != http.StatusOK {
		t.Fatalf("the API with Grace's session: %d %v", status, body)
	}
	events, _ := m.Store.Audit(t.Context(), 50)
	if !hasAudit(events, server.AuditAdminSignIn, "ada@placard.example", "lacks "+server.AdminRole) ||
		!hasAudit(events, server.AuditAdminSignIn, "grace@placard.example", "Microsoft sign-in") {
		t.Errorf("the sign-ins are not in the audit trail: %+v", events)
	}
	// That an administrator's sign-in stores no token is checked in
	// identity (TestAnAdministratorsSignInYieldsValidatedClaimsWithTheirRoles).
}

func TestTheAdminAPIManagesScreens(t *testing.T) {
	m := testServer(t, manualEnroll)
	token := newToken(t, m)
	s := openScreen(t, m, "Lobby TV")
	number := s.waitPhase(10*time.Second, wire.PhasePairing).Pairing.Number

	status, body := call(t, m, token, "GET", "/admin/api/screens", "")
	list := body["screens"].([]any)
	if status != http.StatusOK || len(list) != 1 {
		t.Fatalf("listing: %d %v", status, body)
	}
	first := list[0].(map[string]any)
	if first["state"] != "pending" || first["pairing_number"] != number || first["online"] != true || first["phase"] != "pairing" {
		t.Errorf("a waiting screen is listed as %v", first)
	}
	id := approve(t, m, token, number)
	code := s.waitPhase(10*time.Second, wire.PhaseCode).Code.UserCode
	m.Sandbox.Approve(code, "ada@placard.example")
	s.waitPhase(15*time.Second, wire.PhaseDashboard)

	status, body = call(t, m, token, "GET", "/admin/api/screens/"+id, "")
	acct, _ := body["account"].(map[string]any)
	if status != http.StatusOK || body["state"] != "signed_in" || acct["username"] != "ada@placard.example" {
		t.Errorf("a signed-in screen: %d %v", status, body)
	}
	status, body = call(t, m, token, "PUT", "/admin/api/screens/"+id+"/name", `{"name":"Main lobby"}`)
	if status != http.StatusOK || body["name"] != "Main lobby" {
		t.Errorf("renaming: %d %v", status, body)
	}
	s.waitFor(10*time.Second, "the new name", func(st wire.State) bool { return st.Screen.Name == "Main lobby" })
	status, body = call(t, m, token, "PUT", "/admin/api/screens/"+id+"/settings", `{"time_zone":"Asia/Tokyo","clock24":true,"lang":"fr"}`)
	if set, _ := body["settings"].(map[string]any); status != http.StatusOK || set["time_zone"] != "Asia/Tokyo" {
		t.Errorf("settings: %d %v", status, body)
	}
	s.waitFor(10*time.Second, "the new settings", func(st wire.State) bool { return st.Screen.TimeZone == "Asia/Tokyo" && st.Screen.Lang == "fr" })
	if _, html := get(t, s.client, m.URL+"/?screen="+url.QueryEscape(s.name)); !strings.Contains(html, `<html lang="fr">`) {
		t.Errorf("a French screen's page is not marked French: %.200s", html)
	}
	status, body = call(t, m, token, "PUT", "/admin/api/screens/"+id+"/settings", `{"time_zone":"Mars/Base"}`)
	if status != http.StatusBadRequest || !strings.Contains(body["error"].(string), "IANA") {
		t.Errorf("bad settings: %d %v", status, body)
	}
	if status, body := call(t, m, token, "POST", "/admin/api/screens/sxxxxxxxxxxxxxxxx/sign-out", ""); status != http.StatusNotFound ||
		!strings.Contains(fmt.Sprint(body["error"]), "no screen has the id") {
		t.Errorf("signing out a screen that does not exist: %d %v", status, body)
	}
	status, body = call(t, m, token, "POST", "/admin/api/screens/"+id+"/sign-out", "")
	if status != http.StatusOK || body["state"] != "enrolled" || body["account"] != nil {
		t.Errorf("signing out: %d %v", status, body)
	}
	s.waitFor(10*time.Second, "the sign-out", func(st wire.State) bool {
		return st.Phase == wire.PhaseError && st.Problem.Kind == wire.ProblemSignedOut
	})
	if status, body = call(t, m, token, "GET", "/admin/api/audit?limit=100", ""); status != http.StatusOK {
		t.Fatalf("the audit trail: %d %v", status, body)
	}
	kinds := map[string]bool{}
	for _, e := range body["events"].([]any) {
		kinds[e.(map[string]any)["kind"].(string)] = true
	}
	for _, k := range []string{server.AuditScreenCreated, server.AuditEnrolled, server.AuditCodeShown, server.AuditSignIn,
		server.AuditScreenRenamed, server.AuditSettings, server.AuditSignOut} {
		if !kinds[k] {
			t.Errorf("the audit trail lacks %s: %v", k, kinds)
		}
	}
	if status, body := call(t, m, token, "GET", "/admin/api/audit?limit=0", ""); status != http.StatusBadRequest {
		t.Errorf("limit=0: %d %v", status, body)
	}
	if status, body := call(t, m, token, "GET", "/admin/api/nothing", ""); status != http.StatusNotFound {
		t.Errorf("an unknown API path: %d %v", status, body)
	}
}

func TestAnAdministratorEndsAMicrosoftSessionWhichLastsAnHour(t *testing.T) {
	m := testServer(t)
	token := newToken(t, m)
	status, body := microsoftSignIn(t, m, "grace@placard.example")
	if status != http.StatusOK {
		t.Fatalf("Grace's sign-in: %d %v", status, body)
	}
	grace := body["token"].(string)
	expires, err := time.Parse(time.RFC3339, body["expires_at"].(string))
	if err != nil || time.Until(expires) > time.Hour+time.Minute {
		t.Errorf("a Microsoft session ends at %v (%v), want within the hour: its role is read once", expires, err)
	}
	status, body = call(t, m, token, "GET", "/admin/api/sessions", "")
	list, _ := body["sessions"].([]any)
	if status != http.StatusOK || len(list) != 1 {
		t.Fatalf("sessions: %d %v", status, body)
	}
	s := list[0].(map[string]any)
	if s["who"] != "grace@placard.example" || strings.Contains(fmt.Sprint(body), strings.TrimPrefix(grace, "pses_")) {
		t.Fatalf("the session listed: %v", s)
	}
	if status, body := call(t, m, token, "DELETE", "/admin/api/sessions/"+s["id"].(string), ""); status != http.StatusOK {
		t.Fatalf("ending it: %d %v", status, body)
	}
	if status, _ := call(t, m, grace, "GET", "/admin/api/screens", ""); status != http.StatusUnauthorized {
		t.Errorf("Grace's ended session: %d, want 401", status)
	}
	if status, body := call(t, m, token, "DELETE", "/admin/api/sessions/"+s["id"].(string), ""); status != http.StatusNotFound || !strings.Contains(fmt.Sprint(body), "it has ended, or it belongs to another replica") {
		t.Errorf("ending it twice: %d %v, want 404 saying it may be another replica's", status, body)
	}
	events, _ := m.Store.Audit(t.Context(), 20)
	if !hasAudit(events, server.AuditAdminSignIn, "grace@placard.example", "ended by admin token") {
		t.Errorf("the end is not audited: %+v", events)
	}
}

// Where the organisation blocks the device code, an administrator with
// the app role signs in to /admin through the redirect: the edge server
// sends the browser to the sandbox's sign-in page, which sends it back to
// the callback the sandbox's application registered.
func TestAnAdministratorSignsInThroughTheRedirectWhereCodesAreBlocked(t *testing.T) {
	m := testServer(t)
	m.Sandbox.SetFaults(sandbox.Faults{BlockDeviceCode: true})
	browser := httpClient(t)
	res, err := browser.PostForm(m.URL+"/admin/signin/redirect", nil)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	authorize := res.Request.URL.String()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(page), `name="user"`) {
		t.Fatalf("the redirect ended at %s (%d): %.300s", authorize, res.StatusCode, page)
	}
	res, err = browser.PostForm(authorize, url.Values{"user": {"grace@placard.example"}, "action": {"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.Request.URL.Path != "/admin" || !strings.Contains(string(page), `data-testid="admin-who">grace@placard.example<`) {
		t.Fatalf("after the sign-in, at %s: %.500s", res.Request.URL, page)
	}
	events, _ := m.Store.Audit(t.Context(), 10)
	if !hasAudit(events, server.AuditAdminSignIn, "grace@placard.example", "by redirect") {
		t.Errorf("the sign-in is not audited: %+v", events)
	}
}
