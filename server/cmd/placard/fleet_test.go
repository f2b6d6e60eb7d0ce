package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/admin"
	"github.com/placard/placard/server/fleet"
	"github.com/placard/placard/server/graph"
	"github.com/placard/placard/server/internal/browsertest"
	"github.com/placard/placard/server/internal/pgtest"
	"github.com/placard/placard/server/lights"
)

// kiosk is a device that starts with an address: what it shows, and where
// its address bar ends.
type kiosk struct {
	tab            context.Context
	state, address string
	lang, why      string
}

// startKiosk opens url on a device of its own and waits for its screen
// to show a sign-in code or its pairing number.
func startKiosk(t *testing.T, browser context.Context, url string) kiosk {
	t.Helper()
	k := kiosk{tab: browsertest.Device(t, browser)}
	browsertest.Run(t, k.tab, 40*time.Second, "starting a kiosk with "+url,
		emulate(screenSizes[0]),
		chromedp.Navigate(url),
		chromedp.WaitVisible(`[data-testid="screen"][data-state="code"], [data-testid="screen"][data-state="pairing"]`),
		wasmRuns,
		chromedp.Evaluate(`document.querySelector('[data-testid="screen"]').dataset.state`, &k.state),
		chromedp.Evaluate(`location.pathname + location.search`, &k.address),
		chromedp.Evaluate(`document.documentElement.lang`, &k.lang),
		chromedp.Evaluate(`(document.querySelector('[data-testid="pairing-reason"]') || {dataset: {}}).dataset.why || ""`, &k.why),
	)
	return k
}

// Three kiosks started at once with a provisioning link of a group of at
// most 2: two enroll into the group without a pairing approval and show
// its settings (French), the third waits for a pairing approval and says
// why; the token leaves their address bars, and a kiosk that starts with
// the link again comes back to its screen. A revoked link enrolls nothing.
func TestAProvisioningLinkEnrollsUpToItsScreensIntoItsGroup(t *testing.T) {
	t.Parallel()
	m := testServer(t, manualEnroll)
	ctx := t.Context()
	root := cliActor()
	g, err := m.Ops.CreateGroup(ctx, root, admin.GroupSpec{Name: "Lobby", Settings: server.ScreenSettings{Lang: "fr", Clock24: true}})
	if err != nil {
		t.Fatal(err)
	}
	token := newToken(t, m)
	status, body := call(t, m, token, "POST", "/admin/api/groups/"+g.Group.ID+"/links", `{"max_screens":2,"expires_in":"24h","name_pattern":"Lobby – {n}"}`)
	link, _ := body["url"].(string)
	if status != 201 || !strings.HasPrefix(link, m.PublicURL+"/?link=pln_") {
		t.Fatalf("making a link: %d %v", status, body)
	}
	browser := browsertest.New(t)

	kiosks := make([]kiosk, 3)
	var wg sync.WaitGroup
	for i := range kiosks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kiosks[i] = startKiosk(t, browser, strings.Replace(link, m.PublicURL, m.URL, 1))
		}()
	}
	wg.Wait()
	enrolled := map[string]bool{}
	for _, k := range kiosks {
		if strings.Contains(k.address, "link=") || strings.Contains(k.address, "pln_") {
			t.Errorf("the link's token stays in the address bar: %s", k.address)
		}
		switch k.state {
		case "code":
			if k.lang != "fr" {
				t.Errorf("an enrolled kiosk speaks %q, want the group's fr", k.lang)
			}
			enrolled[k.address] = true
		case "pairing":
			if k.why != "link_used_up" {
				t.Errorf("the third kiosk waits for pairing saying %q, want link_used_up", k.why)
			}
		}
	}
	if len(enrolled) != 2 || !enrolled["/?screen=Lobby+%E2%80%93+1"] || !enrolled["/?screen=Lobby+%E2%80%93+2"] {
		t.Fatalf("kiosks: %+v, want two enrolled as Lobby – 1 and Lobby – 2, in the group's language", kiosks)
	}
	for _, sc := range mustScreens(t, m) {
		if strings.HasPrefix(sc.Name, "Lobby – ") && (!sc.Enrolled || sc.Group != g.Group.ID || sc.Settings.Lang != "fr" || !sc.Settings.Clock24) {
			t.Errorf("%s: enrolled %v, group %q, settings %+v; want enrolled in the group with its settings", sc.Name, sc.Enrolled, sc.Group, sc.Settings)
		}
	}

	// A kiosk that starts with the link again is the screen it was.
	var again kiosk
	for _, k := range kiosks {
		if k.state == "code" {
			again = k
		}
	}
	var address string
	browsertest.Run(t, again.tab, 30*time.Second, "starting the kiosk with the link again",
		chromedp.Navigate(strings.Replace(link, m.PublicURL, m.URL, 1)),
		chromedp.WaitVisible(browsertest.State("code")),
		chromedp.Evaluate(`location.pathname + location.search`, &address))
	if address != again.address || len(mustScreens(t, m)) != 3 {
		t.Errorf("a kiosk started with the link again went to %s (was %s), %d screens", address, again.address, len(mustScreens(t, m)))
	}

	// Revoked, the link enrolls nobody.
	_, links := call(t, m, token, "GET", "/admin/api/links", "")
	id, _ := links["links"].([]any)[0].(map[string]any)["id"].(string)
	if status, body := call(t, m, token, "DELETE", "/admin/api/links/"+id, ""); status != 200 {
		t.Fatalf("revoking: %d %v", status, body)
	}
	late := startKiosk(t, browser, strings.Replace(link, m.PublicURL, m.URL, 1))
	if late.state != "pairing" || late.why != "link_revoked" {
		for _, sc := range mustScreens(t, m) {
			t.Logf("%+v", sc)
		}
		t.Errorf("a kiosk started with a revoked link: %+v, want pairing because the link was revoked", late)
	}
	n := 0
	for _, sc := range mustScreens(t, m) {
		if sc.Enrolled {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d screens enrolled, want the link's 2", n)
	}
	events, _ := m.Store.Audit(ctx, 50)
	if !hasAudit(events, server.AuditScreenCreated, "", "enrolled by provisioning link "+id) || !hasAudit(events, server.AuditLink, "", "was revoked") {
		t.Errorf("the enrollments and the refusal are not in the audit trail: %+v", events)
	}
}

func mustScreens(t *testing.T, m *Main) []server.Screen {
	t.Helper()
	all, err := m.Store.Screens(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// On two replicas, the fleet is one: a group's setting changed on A shows
// on a screen connected to B within 2 s; A's reload and identify reach
// it; A's list of screens shows it online, on B.
func TestTheFleetIsOneAcrossReplicas(t *testing.T) {
	sb := startSandbox(t)
	db := pgtest.DB(t)
	a := replicaOf(t, sb, db)
	b := replicaOf(t, sb, db)
	token := newToken(t, a)
	const within, patience = 2 * time.Second, 15 * time.Second
	// The bound runs from the answer on A to the frame on B; the frame may
	// come first (the answer waits for the word to the other replicas),
	// so the time from the request is said too.
	type request struct{ sent, answered time.Time }
	took := func(what string, r request) {
		t.Helper()
		if d := time.Since(r.answered); d > within {
			t.Errorf("%s on replica A took %v after its answer to reach the screen on replica B, want %v at most", what, d, within)
		}
		t.Logf("%s on replica A reached the screen on replica B within %v of the request (answered in %v)",
			what, time.Since(r.sent).Round(time.Millisecond), r.answered.Sub(r.sent).Round(time.Millisecond))
	}
	act := func(what, method, path, body string) (request, map[string]any) {
		t.Helper()
		r := request{sent: time.Now()}
		status, answer := call(t, a, token, method, path, body)
		if status/100 != 2 {
			t.Fatalf("%s on replica A: %d %v", what, status, answer)
		}
		r.answered = time.Now()
		return r, answer
	}

	lobby := openScreen(t, b, "Lobby TV")
	lobby.waitPhase(patience, wire.PhaseCode)
	id := screenID(t, b, "Lobby TV")

	_, g := act("making a group", "POST", "/admin/api/groups", `{"name":"Lobby","settings":{"lang":"fr"}}`)
	gid, _ := g["id"].(string)
	at, _ := act("moving the screen into the group", "PUT", "/admin/api/screens/"+id+"/group", `{"group":"`+gid+`"}`)
	lobby.waitFor(patience, "the group's language", func(st wire.State) bool { return st.Screen.Lang == "fr" })
	took("moving the screen into the group", at)
	at, _ = act("changing the group's settings", "PUT", "/admin/api/groups/"+gid+"/settings", `{"lang":"de","clock24":true}`)
	latest := lobby.waitFor(patience, "the group's new settings", func(st wire.State) bool { return st.Screen.Lang == "de" && st.Screen.Clock24 })
	took("changing the group's settings", at)

	at, _ = act("a reload", "POST", "/admin/api/screens/"+id+"/reload", "")
	await(t, lobby.others, patience, "the reload", func(m wire.Message) bool { _, ok := m.(wire.Reload); return ok })
	took("a reload", at)
	at, shown := act("identify", "POST", "/admin/api/screens/"+id+"/identify", "")
	got := await(t, lobby.others, patience, "identify", func(m wire.Message) bool { _, ok := m.(wire.Identify); return ok }).(wire.Identify)
	took("identify", at)
	if got.Name != "Lobby TV" || got.Number != shown["number"] || got.Number == "" || time.Until(got.Until) < 20*time.Second {
		t.Errorf("the screen on B was told %+v; A answered %v", got, shown)
	}

	eventually(t, patience, "A lists the screen of B online, on B", func() (bool, string) {
		_, all := call(t, a, token, "GET", "/admin/api/screens/"+id, "")
		ok := all["online"] == true && all["replica"] == b.Replica && all["group"] == gid && all["browser"] != "" && all["phase"] == "code"
		return ok, fmt.Sprint(all)
	})

	// Signed in on B, it shows Ada's day; A previews it from what the
	// account's owner published.
	if latest.Code == nil {
		t.Fatalf("the screen shows no code: %+v", latest)
	}
	sb.approve(t, latest.Code.UserCode, "ada@placard.example")
	lobby.waitFor(30*time.Second, "the dashboard", func(st wire.State) bool { return st.Phase == wire.PhaseDashboard })
	eventually(t, patience, "A previews the dashboard of B's screen", func() (bool, string) {
		req, _ := http.NewRequest("GET", a.URL+"/admin/api/screens/"+id+"/preview", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		page, _ := io.ReadAll(res.Body)
		return strings.Contains(string(page), `data-state="dashboard"`) && strings.Contains(string(page), "Ada Lovelace"), fmt.Sprintf("%s %.300s", res.Status, page)
	})
}

// A screen that goes away is reported once past its group's threshold,
// by a webhook signed as the light keys' are, in the gauge and on the
// admin API; and once more when it comes back.
func TestAScreenThatGoesAwayIsReportedOnceThenOnItsReturn(t *testing.T) {
	m := testServer(t, func(m *Main) {
		m.TuneFleet = func(c *fleet.Config) {
			c.Every = 100 * time.Millisecond
			c.Webhooks.AllowNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		}
	})
	type delivery struct {
		header http.Header
		body   []byte
	}
	got := make(chan delivery, 8)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header.Clone(), b}
	}))
	defer hook.Close()
	token := newToken(t, m)
	status, g := call(t, m, token, "POST", "/admin/api/groups", `{"name":"Lobby","offline_after":"1s","webhooks":["`+hook.URL+`/placard"]}`)
	gid, _ := g["id"].(string)
	secret, _ := g["webhook_secret"].(string)
	if status != http.StatusCreated || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("making a group with a webhook: %d %v", status, g)
	}
	lobby := openScreen(t, m, "Lobby TV")
	lobby.waitPhase(15*time.Second, wire.PhaseCode)
	id := screenID(t, m, "Lobby TV")
	if status, body := call(t, m, token, "PUT", "/admin/api/screens/"+id+"/group", `{"group":"`+gid+`"}`); status != http.StatusOK {
		t.Fatalf("moving the screen into the group: %d %v", status, body)
	}

	alert := func(what string) fleet.Alert {
		t.Helper()
		d := await(t, got, 15*time.Second, what, func(delivery) bool { return true })
		var a fleet.Alert
		if err := json.Unmarshal(d.body, &a); err != nil {
			t.Fatalf("%s: %s: %v", what, d.body, err)
		}
		id, ts := d.header.Get(lights.IDHeader), d.header.Get(lights.StdTimestampHeader)
		if want := lights.SignStandard([]byte(secret), id, ts, d.body); d.header.Get(lights.StdSignatureHeader) != want {
			t.Errorf("%s is not signed with the group's secret: %v", what, d.header)
		}
		return a
	}
	gone := time.Now()
	lobby.conn.Close()
	a := alert("the offline alert")
	if a.Type != fleet.AlertOffline || a.Data.Screen.ID != id || a.Data.Group == nil || a.Data.Group.ID != gid {
		t.Errorf("the offline alert: %+v", a)
	}
	if d := time.Since(gone); d < time.Second {
		t.Errorf("the alert came %v after the screen went away, before the group's threshold of 1s", d)
	}
	if _, s := call(t, m, token, "GET", "/admin/api/screens/"+id, ""); s["offline"] != true || s["online"] != false {
		t.Errorf("the admin API says of the screen: %v", s)
	}
	if metrics := scrape(t, m); !strings.Contains(metrics, "\nplacard_screens_offline 1\n") {
		t.Errorf("placard_screens_offline is not 1:\n%s", metricLines(metrics, "placard_screens_offline"))
	}

	lobby.reconnect(m)
	if a := alert("the alert of its return"); a.Type != fleet.AlertOnline || a.Data.Screen.ID != id {
		t.Errorf("the alert of its return: %+v", a)
	}
	eventually(t, 5*time.Second, "the gauge back to 0", func() (bool, string) {
		metrics := scrape(t, m)
		return strings.Contains(metrics, "\nplacard_screens_offline 0\n"), metricLines(metrics, "placard_screens_offline")
	})
	select {
	case d := <-got:
		t.Errorf("a third alert: %s", d.body)
	default:
	}
}

// metricLines are the lines of a scrape about one metric.
func metricLines(scrape, name string) string {
	var out []string
	for _, l := range strings.Split(scrape, "\n") {
		if strings.Contains(l, name) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Ada signs in once, on one of two screens of a group that shares its
// sign-ins, choosing on the phone all its screens: both show her day.
// Signed out as a group, both return to signing in. Without that choice
// (the default), a sign-in shows on its own screen only.
func TestOneSignInShowsOnEveryScreenOfItsGroupWhenChosenOnThePhone(t *testing.T) {
	t.Parallel()
	m := testServer(t)
	ctx := t.Context()
	g, err := m.Ops.CreateGroup(ctx, cliActor(), admin.GroupSpec{Name: "Lobby", SharedSignIn: true})
	if err != nil {
		t.Fatal(err)
	}
	browser := browsertest.New(t)
	east := openTab(t, browser, m, "Lobby east", "code")
	west := openTab(t, browser, m, "Lobby west", "code")
	for _, name := range []string{"Lobby east", "Lobby west"} {
		if _, err := m.Ops.SetScreenGroup(ctx, cliActor(), screenID(t, m, name), g.Group.ID); err != nil {
			t.Fatal(err)
		}
	}

	signIn := func(screen context.Context, scope string) string {
		t.Helper()
		// Photographed in front: a tab behind another is not drawn.
		browsertest.Run(t, screen, 5*time.Second, "bringing the screen to the front", page.BringToFront())
		link := scanQR(t, screen, m)
		phone := browsertest.Tab(t, browser)
		var offered, number, outcome string
		browsertest.Run(t, phone, 20*time.Second, "opening the link on the phone",
			chromedp.EmulateViewport(phoneW, phoneH, chromedp.EmulateMobile),
			chromedp.Navigate(link),
			chromedp.WaitVisible(browsertest.TestID("signin-scope")),
			chromedp.Text(browsertest.TestID("signin-scope"), &offered),
		)
		if !strings.Contains(offered, "this screen") || !strings.Contains(offered, "all 2 screens of Lobby") {
			t.Errorf("the phone is offered %q", offered)
		}
		if scope != "" {
			browsertest.Run(t, phone, 5*time.Second, "choosing "+scope, chromedp.SetValue(browsertest.TestID("signin-scope"), scope))
		}
		browsertest.Run(t, screen, 20*time.Second, "reading the number on the screen",
			chromedp.WaitVisible(browsertest.TestID("match-number")),
			chromedp.Text(browsertest.TestID("match-number"), &number))
		browsertest.Run(t, phone, 30*time.Second, "typing the number and signing in",
			chromedp.SendKeys(browsertest.TestID("match-input"), strings.TrimSpace(number)),
			chromedp.Click(browsertest.TestID("match-submit")),
			chromedp.WaitVisible(`select[name="user"]`),
			chromedp.SetValue(`select[name="user"]`, "ada@placard.example"),
			chromedp.Click(`button[name="action"][value="approve"]`),
			chromedp.WaitVisible(browsertest.TestID("signin-result")),
			chromedp.AttributeValue(browsertest.TestID("signin-result"), "data-outcome", &outcome, nil))
		return outcome
	}
	if outcome := signIn(east, "group"); outcome != "signed_in" {
		t.Fatalf("signing in on the phone: %s", outcome)
	}
	for name, tab := range map[string]context.Context{"east": east, "west": west} {
		waitState(t, tab, 20*time.Second, "dashboard")
		if who := textOf(t, tab, "user-name"); who != "Ada Lovelace" {
			t.Errorf("Lobby %s shows %q, want Ada Lovelace", name, who)
		}
	}

	token := newToken(t, m)
	if status, body := call(t, m, token, "POST", "/admin/api/groups/"+g.Group.ID+"/sign-out", ""); status != 200 || body["signed_out"] != float64(2) {
		t.Fatalf("signing the group out: %d %v", status, body)
	}
	for _, tab := range []context.Context{east, west} {
		waitState(t, tab, 20*time.Second, "code")
	}

	// The default: this screen only.
	if outcome := signIn(west, ""); outcome != "signed_in" {
		t.Fatalf("signing in on the phone: %s", outcome)
	}
	waitState(t, west, 20*time.Second, "dashboard")
	if sc, _ := m.Store.Screen(ctx, screenID(t, m, "Lobby east")); sc.AccountID != "" {
		t.Error("a sign-in for its own screen signed in another screen of its group")
	}
}

// The preview of a screen is its own page as the fallback renders it,
// without a script: the account's day as the screen shows it, never a
// private meeting's subject or place; with the screen's privacy on, no
// subject at all. The admin page frames it, and so may only this origin.
func TestThePreviewShowsWhatTheScreenShowsAndNoMore(t *testing.T) {
	const subject = "Interview with a competitor"
	m := testServer(t, inTheMorning)
	now := m.Now()
	if _, err := ctlOf(m).AddEvent(t.Context(), "ada@placard.example", map[string]any{
		"subject": subject, "sensitivity": "private",
		"location": map[string]string{"displayName": "Off-site café"},
		"start":    graph.At(now.Add(-5*time.Minute), time.UTC), "end": graph.At(now.Add(25*time.Minute), time.UTC),
	}); err != nil {
		t.Fatalf("adding the meeting: %v", err)
	}
	if _, err := ctlOf(m).AddEvent(t.Context(), "ada@placard.example", map[string]any{
		"subject": "Roadmap review",
		"start":   graph.At(now.Add(40*time.Minute), time.UTC), "end": graph.At(now.Add(70*time.Minute), time.UTC),
	}); err != nil {
		t.Fatalf("adding the meeting: %v", err)
	}
	lobby := openScreen(t, m, "Lobby TV")
	if st := lobby.signIn(m, "ada@placard.example"); st.Dashboard.Agenda == nil || len(st.Dashboard.Agenda.Today) == 0 {
		t.Fatalf("the screen shows no agenda: %+v", st.Dashboard)
	}
	id := screenID(t, m, "Lobby TV")
	token := newToken(t, m)

	preview := func() (http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", m.URL+"/admin/api/screens/"+id+"/preview", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("the preview: %s %s\n%.300s", res.Status, res.Header.Get("Content-Type"), b)
		}
		return res.Header, string(b)
	}
	h, page := preview()
	for _, want := range []string{`data-testid="screen"`, `data-state="dashboard"`, "Ada Lovelace", "Roadmap review", "Lobby TV"} {
		if !strings.Contains(page, want) {
			t.Errorf("the preview lacks %q", want)
		}
	}
	for _, never := range []string{subject, "Off-site café", "<script", "app.wasm"} {
		if strings.Contains(page, never) {
			t.Errorf("the preview holds %q", never)
		}
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'none'") {
		t.Errorf("the preview's policy %q lets scripts run", csp)
	}

	// With the screen's privacy on, the preview shows no subject.
	if status, body := call(t, m, token, "PUT", "/admin/api/screens/"+id+"/settings", `{"privacy":true}`); status != 200 {
		t.Fatalf("privacy on: %d %v", status, body)
	}
	lobby.waitFor(10*time.Second, "privacy", func(st wire.State) bool { return st.Screen.Privacy })
	if _, page := preview(); strings.Contains(page, "Roadmap review") || strings.Contains(page, subject) || !strings.Contains(page, "Ada Lovelace") {
		t.Errorf("with privacy on, the preview shows subjects, or not the account:\n%.2000s", page)
	}

	// The admin page frames it, from this origin only.
	b := newAdminBrowser(t, m)
	b.login(token)
	if _, page := b.get("/admin/screens/" + id); !strings.Contains(page, `<iframe src="/admin/screens/`+id+`/preview"`) {
		t.Errorf("the screen's admin page frames no preview")
	}
	res, framed := b.get("/admin/screens/" + id + "/preview")
	if res.StatusCode != 200 || res.Header.Get("X-Frame-Options") != "SAMEORIGIN" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-ancestors 'self'") ||
		!strings.Contains(framed, "Ada Lovelace") {
		t.Errorf("the framed preview: %s %v", res.Status, res.Header)
	}
}
