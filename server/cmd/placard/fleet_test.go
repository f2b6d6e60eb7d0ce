package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/admin"
	"github.com/placard/placard/server/internal/browsertest"
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
