package fleet_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/fleet"
	"github.com/placard/placard/server/lights"
	"github.com/placard/placard/server/secret"
	"github.com/placard/placard/server/sqlite"
)

// clock is a time tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

type offlineGauge struct {
	mu sync.Mutex
	n  int
}

func (g *offlineGauge) ScreensOffline(n int) { g.mu.Lock(); g.n = n; g.mu.Unlock() }
func (g *offlineGauge) get() int             { g.mu.Lock(); defer g.mu.Unlock(); return g.n }

type delivery struct {
	header http.Header
	body   []byte
}

func TestAScreenOfflinePastItsThresholdIsReportedOnceThenOnItsReturn(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "placard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	got := make(chan delivery, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header.Clone(), b}
	}))
	defer hook.Close()

	box, err := secret.NewBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	whsec := lights.NewWebhookSecret()
	sealed, err := box.Seal([]byte(whsec), fleet.SecretLabel("g1"))
	if err != nil {
		t.Fatal(err)
	}
	g := server.Group{ID: "g1", Name: "Lobby", OfflineAfter: time.Minute, Webhooks: []string{hook.URL + "/alerts"}, WebhookSecret: sealed}
	if err := store.CreateGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	for _, sc := range []server.Screen{
		{ID: "s1", Name: "Lobby TV", SecretHash: []byte{1}, Enrolled: true, Group: "g1"},
		// A screen that waits for approval is no one's yet: never
		// reported.
		{ID: "s2", Name: "Stranger", SecretHash: []byte{2}, PairingNumber: "123456", Group: "g1"},
	} {
		if err := store.CreateScreen(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	clk := &clock{now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	gauge := &offlineGauge{}
	f := fleet.New(fleet.Config{Store: store, Replica: "r1", Now: clk.Now, Metrics: gauge, Box: box,
		Webhooks: fleet.WebhookConfig{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, RetryWait: time.Millisecond}})
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	check := func(when string, offline int) {
		t.Helper()
		f.Flush(ctx)
		if err := f.Check(ctx); err != nil {
			t.Fatal(err)
		}
		if gauge.get() != offline {
			t.Errorf("%s: the gauge says %d offline, want %d", when, gauge.get(), offline)
		}
	}
	f.Connected("s1", fleet.Conn{AppVersion: "v9", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"})
	f.Connected("s2", fleet.Conn{})
	check("online", 0)
	f.Disconnected("s1")
	f.Disconnected("s2")
	clk.Add(59 * time.Second)
	check("59 s away", 0)
	clk.Add(time.Second)
	check("a minute away", 1)
	check("again", 1)

	d := <-got
	var a fleet.Alert
	if err := json.Unmarshal(d.body, &a); err != nil {
		t.Fatal(err)
	}
	if a.Type != fleet.AlertOffline || a.Data.Screen.ID != "s1" || a.Data.Group == nil || a.Data.Group.Name != "Lobby" || a.Data.Threshold != "1m0s" || a.Data.Replica != "r1" {
		t.Errorf("the offline alert: %s", d.body)
	}
	id, ts := d.header.Get(lights.IDHeader), d.header.Get(lights.StdTimestampHeader)
	if want := lights.SignStandard([]byte(whsec), id, ts, d.body); d.header.Get(lights.StdSignatureHeader) != want || id == "" {
		t.Errorf("the alert is not signed as the light keys' webhooks are: %v", d.header)
	}

	f.Connected("s1", fleet.Conn{})
	check("back", 0)
	d = <-got
	if err := json.Unmarshal(d.body, &a); err != nil || a.Type != fleet.AlertOnline || a.Data.Screen.ID != "s1" {
		t.Errorf("the alert on its return: %s", d.body)
	}
	check("still back", 0)
	select {
	case d := <-got:
		t.Errorf("a third alert: %s", d.body)
	default:
	}
	events, _ := store.Audit(ctx, 10)
	if len(events) != 2 || events[0].Outcome != "online" || events[1].Outcome != "offline" || events[1].ScreenID != "s1" {
		t.Errorf("audit trail: %+v", events)
	}
}

func TestAScreenWhoseReplicaDiedIsOfflineSinceItWasLastHeardOf(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "placard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.CreateScreen(ctx, server.Screen{ID: "s1", Name: "TV", SecretHash: []byte{1}, Enrolled: true}); err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	a := fleet.New(fleet.Config{Store: store, Replica: "a", Now: clk.Now, Every: time.Second})
	b := fleet.New(fleet.Config{Store: store, Replica: "b", Now: clk.Now, Every: time.Second})
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	a.Connected("s1", fleet.Conn{UserAgent: "Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 Chrome/87 Safari/537.36", Touch: true})
	a.Flush(ctx)
	view, err := b.View(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v := view["s1"]; !v.Online || v.Status.Replica != "a" || v.Status.Browser != "LG webOS" || !v.Status.Touch {
		t.Errorf("another replica sees %+v, want it online on a, in webOS", v)
	}
	// a dies without a word: once it has not been heard of for three
	// periods, its screens are offline since it was.
	died := clk.Now()
	clk.Add(4 * time.Second)
	view, _ = b.View(ctx)
	if v := view["s1"]; v.Online || !v.OfflineSince.Equal(died) {
		t.Errorf("after its replica died: %+v, want offline since %s", v, died)
	}
}

func TestBrowserFamilies(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0":   "Edge",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36":                           "Chrome",
		"Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1":  "Safari",
		"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0":                                                  "Firefox",
		"Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/4.0 Chrome/76.0 TV Safari/537.36": "Samsung Internet",
		"curl/8.5.0": "other",
		"":           "",
	} {
		if got := fleet.BrowserFamily(ua); got != want {
			t.Errorf("BrowserFamily(%q) = %q, want %q", ua, got, want)
		}
	}
}
