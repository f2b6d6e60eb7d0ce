package sandbox_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/server/sandbox"
)

// controlServer serves the sandbox's pages and control API as the edge
// server does.
func controlServer(t *testing.T, sb *sandbox.Sandbox) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(srv.Close)
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return srv, c
}

func TestControlAPIFaults(t *testing.T) {
	t.Parallel()
	sb, _ := newSandbox(t)
	srv, c := controlServer(t, sb)
	u := srv.URL + "/sandbox/api/faults"
	if a := get(t, c, u); a.status != 200 || len(a.body) != 10 || a.body["expire_delta_tokens"] != false || a.body["place_consent_missing"] != false || a.body["conditional_access_block"] != false || a.body["block_device_code"] != false || a.body["latency_ms"] != float64(0) || a.body["refuse_reused_refresh_token"] != false {
		t.Fatalf("GET: %d %s", a.status, a.raw)
	}
	all := `{"conditional_access_block":true,"block_device_code":true,"graph_throttle_seconds":5,"graph_server_error":true,"graph_unreachable":true,"identity_unreachable":true,"latency_ms":20,"expire_delta_tokens":true,"place_consent_missing":true,"refuse_reused_refresh_token":true}`
	if a := send(t, c, "PUT", u, all); a.status != 200 || !jsonEqual(a.raw, all) {
		t.Fatalf("PUT: %d %s", a.status, a.raw)
	}
	if f := sb.Faults(); !f.ConditionalAccessBlock || !f.BlockDeviceCode || f.GraphThrottleSeconds != 5 || !f.GraphUnreachable || f.LatencyMS != 20 || !f.RefuseReusedRefreshToken || !f.ExpireDeltaTokens || !f.PlaceConsentMissing {
		t.Errorf("faults %+v", f)
	}
	// PUT replaces the whole set: what it omits is off.
	if a := send(t, c, "PUT", u, `{"graph_throttle_seconds":3}`); a.status != 200 {
		t.Fatal(a.status)
	}
	if f := sb.Faults(); f != (sandbox.Faults{GraphThrottleSeconds: 3}) {
		t.Errorf("after a partial PUT: %+v", f)
	}
	for _, bad := range []string{``, `{"conditional_access_block":"yes"}`, `{"throttle":1}`, `{"graph_throttle_seconds":-1}`, `{"latency_ms":60001}`, `{} {}`} {
		a := send(t, c, "PUT", u, bad)
		if a.status != 400 || a.body["error"] == "" {
			t.Errorf("PUT %q: %d %s, want 400 saying why", bad, a.status, a.raw)
		}
	}
	if f := sb.Faults(); f != (sandbox.Faults{GraphThrottleSeconds: 3}) {
		t.Errorf("a refused PUT changed the faults: %+v", f)
	}
}

func jsonEqual(a []byte, b string) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal([]byte(b), &y) == nil && jsonString(x) == jsonString(y)
}

func jsonString(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestControlAPIUsers(t *testing.T) {
	t.Parallel()
	sb, gc := newSandbox(t)
	srv, c := controlServer(t, sb)
	api := srv.URL + "/sandbox/api/users/"

	users := get(t, c, srv.URL+"/sandbox/api/users")
	var list []sandbox.UserInfo
	if err := json.Unmarshal(users.raw, &list); err != nil || list[0].UPN != ada || !list[0].Photo {
		t.Fatalf("users: %s", users.raw)
	}
	// The contract's accounts, and a tenant that looks like an office:
	// people with photos and without, rooms, Kim without a mailbox.
	byUPN := map[string]sandbox.UserInfo{}
	var photos, initials, people, rooms int
	for _, u := range list {
		byUPN[u.UPN] = u
		switch {
		case u.Room:
			rooms++
		case u.Photo:
			photos, people = photos+1, people+1
		default:
			initials, people = initials+1, people+1
		}
	}
	if u := byUPN[lobby]; !u.Room || !u.Mailbox || u.DisplayName != "Lobby Room" || u.Photo {
		t.Errorf("the lobby: %+v", u)
	}
	if u := byUPN[kim]; u.Mailbox || u.Teams || u.DisplayName != "Kim Park" {
		t.Errorf("Kim: %+v", u)
	}
	if u := byUPN[grace]; !slices.Contains(u.Roles, sandbox.AdminRole) || !u.Photo {
		t.Errorf("Grace: %+v", u)
	}
	if people < 12 || photos < 4 || initials < 4 || rooms < 6 {
		t.Errorf("%d people (%d with a photo, %d without) and %d rooms", people, photos, initials, rooms)
	}

	t.Run("presence", func(t *testing.T) {
		if a := send(t, c, "POST", api+grace+"/presence", `{"availability":"DoNotDisturb","activity":"Presenting"}`); a.status != 200 {
			t.Fatalf("%d %s", a.status, a.raw)
		}
		p := get(t, gc, graphBase+"/me/presence", "Authorization", bearer(t, sb, grace, "Presence.Read"))
		if p.body["availability"] != "DoNotDisturb" || p.body["activity"] != "Presenting" {
			t.Errorf("Graph says %s after the presence was set", p.raw)
		}
		if a := send(t, c, "POST", api+grace+"/presence", `{"availability":"Away"}`); a.status != 200 || a.body["activity"] != "Away" {
			t.Errorf("activity defaults to the availability: %s", a.raw)
		}
		for body, status := range map[string]int{`{"availability":"Sleepy"}`: 400, `{"availability":"Away","activity":"Napping"}`: 400, `{"availability":"Away","mood":"x"}`: 400} {
			if a := send(t, c, "POST", api+grace+"/presence", body); a.status != status {
				t.Errorf("%s: %d %s", body, a.status, a.raw)
			}
		}
		if a := send(t, c, "POST", api+"nobody@placard.example/presence", `{"availability":"Away"}`); a.status != 404 {
			t.Errorf("an unknown user: %d", a.status)
		}
	})
	t.Run("events", func(t *testing.T) {
		start := sb.Now().Add(50 * time.Hour).UTC().Truncate(time.Hour)
		body := `{"subject":"Board meeting","start":{"dateTime":"` + start.Format("2006-01-02T15:04:05") + `","timeZone":"UTC"},"end":{"dateTime":"` + start.Add(time.Hour).Format("2006-01-02T15:04:05") + `","timeZone":"UTC"}}`
		a := send(t, c, "POST", api+lobby+"/events", body)
		if a.status != 201 || a.body["subject"] != "Board meeting" || a.body["id"] == nil {
			t.Fatalf("%d %s", a.status, a.raw)
		}
		cal := get(t, c, api+lobby+"/calendar?start="+start.Format(time.RFC3339)+"&end="+start.Add(time.Hour).Format(time.RFC3339))
		if !strings.Contains(string(cal.raw), a.body["id"].(string)) {
			t.Errorf("the event is not in the calendar: %s", cal.raw)
		}
		if a := send(t, c, "POST", api+kim+"/events", body); a.status != 409 {
			t.Errorf("an event for an account without a mailbox: %d", a.status)
		}
		if a := send(t, c, "POST", api+lobby+"/events", `{"subject":"no times"}`); a.status != 400 {
			t.Errorf("an event without times: %d", a.status)
		}
	})
	t.Run("revoke", func(t *testing.T) {
		if a := send(t, c, "POST", api+ada+"/revoke", ""); a.status != 200 || a.body["value"] != true {
			t.Fatalf("%d %s", a.status, a.raw)
		}
		if a := send(t, c, "POST", api+"nobody@placard.example/revoke", ""); a.status != 404 {
			t.Errorf("an unknown user: %d", a.status)
		}
	})
}

func TestControlAPICodesNameScreensButNeverDeviceCodes(t *testing.T) {
	t.Parallel()
	sb, gc := newSandbox(t)
	srv, c := controlServer(t, sb)
	uc, dc := deviceCode(t, gc, "User.Read")
	sb.NameCode(uc, "Lobby TV")
	a := get(t, c, srv.URL+"/sandbox/api/codes")
	var codes []sandbox.CodeInfo
	if err := json.Unmarshal(a.raw, &codes); err != nil || len(codes) != 1 {
		t.Fatalf("%s", a.raw)
	}
	if codes[0].UserCode != uc || codes[0].Screen != "Lobby TV" || codes[0].State != "pending" || !codes[0].ExpiresAt.Equal(codes[0].IssuedAt.Add(15*time.Minute)) {
		t.Errorf("code %+v", codes[0])
	}
	if strings.Contains(string(a.raw), dc) || strings.Contains(string(a.raw), dc[:20]) {
		t.Error("the control API shows a device code")
	}
	if !codes[0].ApprovedAt.IsZero() || !codes[0].RedeemedAt.IsZero() {
		t.Errorf("a pending code has approval or redemption times: %+v", codes[0])
	}

	// Approval and redemption are timed, so that a client's polling wait
	// can be told apart from what it does with the tokens.
	sb.Approve(uc, ada)
	sb.Advance(3 * time.Second)
	if p := poll(t, gc, dc); p.status != 200 {
		t.Fatalf("redeeming: %d %s", p.status, p.raw)
	}
	codes = sb.Codes()
	if c := codes[0]; c.State != "redeemed" || c.ApprovedAt.IsZero() || c.RedeemedAt.Sub(c.ApprovedAt) < 3*time.Second {
		t.Errorf("redeemed code %+v: want approved_at and redeemed_at at least 3 s later", c)
	}
}

func TestControlAPIAppAndClock(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)
	sb, _ := newSandbox(t, func(o *sandbox.Options) { o.Now = func() time.Time { return start } })
	srv, c := controlServer(t, sb)
	app := get(t, c, srv.URL+"/sandbox/api/app")
	want := `{"client_id":"` + sandbox.ClientID + `","tenant_id":"` + sandbox.TenantID + `","tenant_domain":"placard.example","listener":"","ca_cert_pem":"","redirect_uris":["http://localhost","http://127.0.0.1"]}`
	if !jsonEqual(app.raw, want) {
		t.Errorf("app: %s", app.raw)
	}
	a := send(t, c, "POST", srv.URL+"/sandbox/api/clock", `{"advance":"90m"}`)
	if a.status != 200 || a.body["now"] != "2026-05-04T09:30:00Z" || !sb.Now().Equal(start.Add(90*time.Minute)) {
		t.Errorf("advance: %d %s", a.status, a.raw)
	}
	for _, bad := range []string{`{"advance":"-1h"}`, `{"advance":"0s"}`, `{"advance":"soon"}`, `{}`} {
		if a := send(t, c, "POST", srv.URL+"/sandbox/api/clock", bad); a.status != 400 {
			t.Errorf("%s: %d", bad, a.status)
		}
	}
	if g := get(t, c, srv.URL+"/sandbox/api/clock"); g.body["now"] != "2026-05-04T09:30:00Z" || g.body["advanced"] != "1h30m0s" {
		t.Errorf("GET clock: %s", g.raw)
	}
}

func TestControlAPIAnswersWhatItDoesNotServe(t *testing.T) {
	t.Parallel()
	sb, _ := newSandbox(t)
	srv, c := controlServer(t, sb)
	if a := get(t, c, srv.URL+"/sandbox/api/weather"); a.status != 404 || a.body["error"] == nil {
		t.Errorf("unknown API: %d %s", a.status, a.raw)
	}
	a := send(t, c, "DELETE", srv.URL+"/sandbox/api/faults", "")
	if a.status != 405 || a.header.Get("Allow") != "GET, PUT" || a.body["error"] == nil {
		t.Errorf("wrong method: %d %s %s", a.status, a.header.Get("Allow"), a.raw)
	}
}

func TestBrowsersCannotPostToTheSandboxFromAnotherSite(t *testing.T) {
	t.Parallel()
	sb, _ := newSandbox(t)
	srv, c := controlServer(t, sb)
	for _, path := range []string{"/sandbox/api/users/" + ada + "/revoke", "/sandbox/faults", "/sandbox/devicelogin"} {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(url.Values{"upn": {ada}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if a := do(t, c, req); a.status != http.StatusForbidden {
			t.Errorf("a cross-site POST %s: %d, want 403", path, a.status)
		}
	}
	if u := sb.Users()[0]; !u.RevokedAt.IsZero() {
		t.Error("a cross-site POST revoked a user")
	}
}

func TestNumberedUsersAndWhenTheirPresenceWasServed(t *testing.T) {
	t.Parallel()
	// A fixed clock five minutes into the demo calendar's first meeting
	// (from half an hour before the start to half an hour after it): the
	// two minutes the test advances never cross a meeting's edge, which
	// would change the presence by itself.
	start := time.Date(2026, time.March, 2, 10, 5, 0, 0, time.UTC)
	sb, gc := newSandbox(t, func(o *sandbox.Options) {
		o.NumberedUsers = 3
		o.Now = func() time.Time { return start }
	})
	srv, c := controlServer(t, sb)
	var list []sandbox.UserInfo
	if err := json.Unmarshal(get(t, c, srv.URL+"/sandbox/api/users").raw, &list); err != nil || len(list) != len(sb.Users()) ||
		!slices.ContainsFunc(list, func(u sandbox.UserInfo) bool { return u.UPN == "user0003@placard.example" }) ||
		slices.ContainsFunc(list, func(u sandbox.UserInfo) bool { return u.UPN == "user0004@placard.example" }) {
		t.Fatalf("users with 3 numbered ones: %v %+v", err, list)
	}
	const upn = "user0003@placard.example"
	var u sandbox.UserInfo
	for _, x := range list {
		if x.UPN == upn {
			u = x
		}
	}
	if !u.Mailbox || !u.Teams || !u.Photo || u.DisplayName != "Demo User 0003" || !u.PresenceServedAt.IsZero() {
		t.Fatalf("numbered user: %+v", u)
	}
	served := func() time.Time {
		for _, x := range sb.Users() {
			if x.UPN == upn {
				return x.PresenceServedAt
			}
		}
		t.Fatal(upn, "is gone")
		return time.Time{}
	}
	auth := bearer(t, sb, upn, "Presence.Read")
	get(t, gc, graphBase+"/me/presence", "Authorization", auth)
	first := served()
	if first.IsZero() {
		t.Fatal("no presence_served_at after Graph answered the presence")
	}
	sb.Advance(time.Minute)
	get(t, gc, graphBase+"/me/presence", "Authorization", auth)
	if again := served(); !again.Equal(first) {
		t.Errorf("the same presence served again moved presence_served_at from %v to %v", first, again)
	}
	if err := sb.SetPresence(upn, "Busy", "InACall"); err != nil {
		t.Fatal(err)
	}
	sb.Advance(time.Minute)
	get(t, gc, graphBase+"/me/presence", "Authorization", auth)
	if changed := served(); changed.Before(first.Add(2 * time.Minute)) {
		t.Errorf("a new presence served: presence_served_at %v, want at least %v", changed, first.Add(2*time.Minute))
	}
	var counts map[string]int
	if err := json.Unmarshal(get(t, c, srv.URL+"/sandbox/api/requests").raw, &counts); err != nil || counts["graph /me/presence"] != 3 {
		t.Errorf("request counts: %v %v, want 3 presence requests", err, counts)
	}
	if _, err := sandbox.New(sandbox.Options{NumberedUsers: sandbox.MaxNumberedUsers + 1}); err == nil {
		t.Error("more numbered users than the maximum were accepted")
	}
}

func TestControlAPIListsOneUsersGraphRequests(t *testing.T) {
	t.Parallel()
	sb, gc := newSandbox(t)
	srv, c := controlServer(t, sb)
	requests := func(upn string) []sandbox.GraphRequest {
		t.Helper()
		a := get(t, c, srv.URL+"/sandbox/api/users/"+upn+"/requests")
		var out []sandbox.GraphRequest
		if err := json.Unmarshal(a.raw, &out); a.status != 200 || err != nil {
			t.Fatalf("GET %s's requests: %d %s", upn, a.status, a.raw)
		}
		return out
	}
	if got := requests(ada); len(got) != 0 {
		t.Fatalf("before any request: %+v", got)
	}

	adaAuth := bearer(t, sb, ada, "User.Read", "Presence.Read", "Calendars.Read")
	batch := `{"requests":[{"id":"presence","method":"GET","url":"/me/presence"},{"id":"me","method":"GET","url":"/me"}]}`
	if a := send(t, gc, "POST", graphBase+"/$batch", batch, "Authorization", adaAuth, "Content-Type", "application/json"); a.status != 200 {
		t.Fatalf("ada's batch: %d %s", a.status, a.raw)
	}
	sb.Advance(time.Second)
	get(t, gc, graphBase+"/me", "Authorization", bearer(t, sb, grace, "User.Read"))
	// Nobody's: no token, a token refused.
	send(t, gc, "POST", graphBase+"/$batch", batch, "Content-Type", "application/json")
	get(t, gc, graphBase+"/me/presence", "Authorization", "Bearer not.a.token")

	got := requests(ada)
	want := []string{"graph /$batch", "graph /me/presence", "graph /me"}
	if len(got) != len(want) {
		t.Fatalf("ada's requests: %+v, want %v", got, want)
	}
	for i, r := range got {
		if r.Endpoint != want[i] || r.Seq != i+1 || r.At.IsZero() {
			t.Errorf("ada's request %d: %+v, want %s with seq %d", i, r, want[i], i+1)
		}
	}
	if g := requests(grace); len(g) != 1 || g[0].Endpoint != "graph /me" || !g[0].At.After(got[0].At) {
		t.Errorf("grace's requests: %+v, want one /me after ada's batch", g)
	}

	// The log keeps the last ones; their numbers go on.
	for range 40 {
		get(t, gc, graphBase+"/me/presence", "Authorization", adaAuth)
	}
	got = requests(ada)
	if len(got) < 20 || got[len(got)-1].Seq != 43 || got[0].Seq != 43-len(got)+1 {
		t.Errorf("after 43 requests, ada's log runs from %d to %d (%d kept)", got[0].Seq, got[len(got)-1].Seq, len(got))
	}
	if a := get(t, c, srv.URL+"/sandbox/api/users/nobody@placard.example/requests"); a.status != 404 || a.body["error"] == "" {
		t.Errorf("an unknown user's requests: %d %s, want 404 saying why", a.status, a.raw)
	}
}
