package main

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/placard/placard/server/internal/browsertest"
	"github.com/placard/placard/server/internal/pgtest"
)

// balancer stands in for a load balancer in front of replicas: it sends
// every request, WebSocket upgrades included, to the replica it is set to.
type balancer struct {
	URL    string
	target atomic.Pointer[url.URL]
}

func newBalancer(t *testing.T, first string) *balancer {
	t.Helper()
	b := &balancer{}
	b.to(first)
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(b.target.Load())
		r.Out.Host = r.In.Host // the replicas see the address the browser used
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	b.URL = "http://" + ln.Addr().String()
	return b
}

// to sends the next requests to the replica at base.
func (b *balancer) to(base string) {
	u, _ := url.Parse(base)
	b.target.Store(u)
}

func TestABrowserKeepsItsDashboardWhenItsReplicaDies(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t)
	db := pgtest.DB(t)
	replicas := startReplicaProcs(t, 2, sb, db)
	replicaB, replicaC := replicas[0], replicas[1]
	lb := newBalancer(t, replicaB.url)
	browser := browsertest.New(t)

	browsertest.Run(t, browser, 30*time.Second, "opening the screen",
		emulate(screenSizes[0]),
		chromedp.Navigate(lb.URL+"/?screen="+url.QueryEscape("Lobby TV")),
		chromedp.WaitVisible(browsertest.State("pairing")),
		wasmRuns,
	)
	approveOn(t, db, textOf(t, browser, "pairing-code"))
	waitState(t, browser, 30*time.Second, "code")
	sb.approve(t, textOf(t, browser, "user-code"), "ada@placard.example")
	waitState(t, browser, 30*time.Second, "dashboard")
	watchStates(t, browser)
	signIns := sb.requests(t, "devicecode")

	// Replica B is killed; the load balancer sends the screen to C.
	lb.to(replicaC.url)
	replicaB.kill()
	killed := time.Now()
	// However short its time reconnecting, the screen lost B and came
	// back to its dashboard.
	browsertest.Run(t, browser, 45*time.Second, "waiting for the dashboard after reconnecting",
		browsertest.Until(`((s) => { const i = s.indexOf("reconnecting"); return i >= 0 && s.indexOf("dashboard", i) > i })(window.placardStates)`))
	t.Logf("the dashboard is back on replica C %v after replica B was killed", time.Since(killed).Round(100*time.Millisecond))
	if name := textOf(t, browser, "user-name"); name != "Ada Lovelace" {
		t.Errorf("on replica C the screen shows %q", name)
	}
	checkCameBack(t, browser, "moving to another replica")
	if n := sb.requests(t, "devicecode"); n != signIns {
		t.Errorf("%d new device codes after the move", n-signIns)
	}
}
