package main

import (
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/limit"
)

// send makes one request as a client behind a proxy would have it
// forwarded: header holds the proxy's X-Forwarded-* (or anything else).
func send(t *testing.T, method, u, token string, form url.Values, header map[string]string) *http.Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

func from(addr string) map[string]string { return map[string]string{"X-Forwarded-For": addr} }

func TestAValidAdminTokenWorksAfterTenBadOnesFromItsAddress(t *testing.T) {
	m := testServer(t)
	token := newToken(t, m)
	for i := range 10 {
		if res := send(t, "GET", m.URL+"/admin/api/screens", "padm_guess.guess", nil, nil); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: %s", i+1, res.Status)
		}
	}
	if res := send(t, "GET", m.URL+"/admin/api/screens", "padm_guess.guess", nil, nil); res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("an 11th wrong token: %s, want 429", res.Status)
	}
	if res := send(t, "GET", m.URL+"/admin/api/screens", token, nil, nil); res.StatusCode != http.StatusOK {
		t.Errorf("the right token after ten wrong ones from its address: %s", res.Status)
	}
	if res := send(t, "POST", m.URL+"/admin/login", "", url.Values{"token": {token}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("the page's sign-in with the right token after ten wrong ones: %s", res.Status)
	}
}

func TestBehindATrustedProxyEachClientIsItself(t *testing.T) {
	m := testServer(t, func(m *Main) {
		m.Config.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		m.Config.AdminNetworks = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/32")}
		m.Config.LoginFailures = limit.Rate{Max: 3, Per: time.Hour}
	})
	api := m.URL + "/admin/api/screens"
	for range 3 {
		send(t, "GET", api, "padm_guess.guess", nil, from("203.0.113.7"))
	}
	if res := send(t, "GET", api, "padm_guess.guess", nil, from("203.0.113.7")); res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a 4th wrong token from 203.0.113.7: %s, want 429", res.Status)
	}
	// Another client behind the same proxy is not locked out.
	if res := send(t, "GET", api, "padm_guess.guess", nil, from("203.0.113.8")); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong token from 203.0.113.8: %s, want 401", res.Status)
	}
	// A proxy appends the address it saw: what the client wrote before it
	// is not believed.
	if res := send(t, "GET", api, "padm_guess.guess", nil, from("203.0.113.8, 203.0.113.7")); res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("203.0.113.7 naming itself 203.0.113.8: %s, want 429", res.Status)
	}
	// An IPv6 client picks a new address in its /64 at will: the /64 is
	// the key.
	for _, a := range []string{"2001:db8:1:2::a", "2001:db8:1:2::b", "2001:db8:1:2::c"} {
		send(t, "GET", api, "padm_guess.guess", nil, from(a))
	}
	if res := send(t, "GET", api, "padm_guess.guess", nil, from("2001:db8:1:2::d")); res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a 4th wrong token from 2001:db8:1:2::/64: %s, want 429", res.Status)
	}
	if res := send(t, "GET", api, "padm_guess.guess", nil, from("2001:db8:1:3::a")); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong token from another /64: %s, want 401", res.Status)
	}
	// -admin-networks sees the client, not the proxy.
	if res := send(t, "GET", api, "", nil, from("198.51.100.9")); res.StatusCode != http.StatusForbidden {
		t.Errorf("/admin from 198.51.100.9 through the proxy: %s, want 403", res.Status)
	}
	events, _ := m.Store.Audit(t.Context(), 20)
	if !hasAudit(events, server.AuditAdminSignIn, "", "API token from 203.0.113.7: wrong token") {
		t.Errorf("the audit trail does not name the client: %+v", events)
	}

	// A server that trusts no proxy ignores the header: every failure is
	// the connection's.
	m = testServer(t, func(m *Main) { m.Config.LoginFailures = limit.Rate{Max: 3, Per: time.Hour} })
	for _, a := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
		send(t, "GET", m.URL+"/admin/api/screens", "padm_guess.guess", nil, from(a))
	}
	if res := send(t, "GET", m.URL+"/admin/api/screens", "padm_guess.guess", nil, from("203.0.113.4")); res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("X-Forwarded-For from a client that is no proxy was believed: %s, want 429", res.Status)
	}
}

// Behind a TLS proxy the server sees plain HTTP; the cookies must still be
// Secure and __Host-, and HSTS sent, or a browser would send them over
// plain HTTP to whoever answers on the LAN.
func TestCookiesAreSecureBehindATLSProxy(t *testing.T) {
	proxied := map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
	tests := []struct {
		name   string
		tune   func(m *Main)
		header map[string]string
		secure bool
	}{
		{"plain HTTP", nil, nil, false},
		{"a trusted proxy's X-Forwarded-Proto", func(m *Main) {
			m.Config.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		}, proxied, true},
		{"X-Forwarded-Proto from a client", nil, proxied, false},
		{"an https public URL", func(m *Main) { m.Config.PublicURL = "https://placard.example" }, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tune := []func(*Main){}
			if tt.tune != nil {
				tune = append(tune, tt.tune)
			}
			m := testServer(t, tune...)
			page := send(t, "GET", m.URL+"/?screen=Lobby%20TV", "", nil, tt.header)
			login := send(t, "POST", m.URL+"/admin/login", "", url.Values{"token": {newToken(t, m)}}, tt.header)
			if login.StatusCode != http.StatusSeeOther {
				t.Fatalf("signing in: %s", login.Status)
			}
			for what, res := range map[string]*http.Response{"the screen's cookie": page, "the admin session's cookie": login} {
				c := res.Cookies()
				if len(c) == 0 {
					t.Fatalf("%s: none set", what)
				}
				if got := c[0].Secure && strings.HasPrefix(c[0].Name, "__Host-"); got != tt.secure || c[0].Secure != tt.secure {
					t.Errorf("%s: %s Secure=%v, want __Host- and Secure %v", what, c[0].Name, c[0].Secure, tt.secure)
				}
				if got := res.Header.Get("Strict-Transport-Security") != ""; got != tt.secure {
					t.Errorf("%s: HSTS %q, want it %v", what, res.Header.Get("Strict-Transport-Security"), tt.secure)
				}
			}
		})
	}
}

// dialWS opens /ws at m with host as the Host header and origin as the
// Origin, and returns the refusal's status (0 when it was upgraded).
func dialWS(t *testing.T, m *Main, host, origin string) int {
	t.Helper()
	u, _ := url.Parse(m.URL)
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	if host != "" {
		h.Set("Host", host)
	}
	d := websocket.Dialer{NetDial: func(network, _ string) (net.Conn, error) { return net.Dial(network, u.Host) }}
	target := u.Host
	if host != "" {
		target = host
	}
	c, res, err := d.Dial("ws://"+target+"/ws", h)
	if err == nil {
		c.Close()
		return 0
	}
	if res == nil {
		t.Fatalf("dialling /ws as %s from %s: %v", host, origin, err)
	}
	return res.StatusCode
}

func TestWebSocketOriginsAndHostsAreTheServersOwn(t *testing.T) {
	m := testServer(t, func(m *Main) {
		m.Config.PublicURL = "http://placard.test:8080"
		m.Config.Origins = []string{"https://kiosk.example"}
	})
	u, _ := url.Parse(m.URL)
	port := u.Port()
	tests := []struct {
		name, host, origin string
		want               int
	}{
		{"its own address", u.Host, m.URL, 0},
		{"localhost", "localhost:" + port, "http://localhost:" + port, 0},
		{"a LAN address", "192.0.2.20:" + port, "http://192.0.2.20:" + port, 0},
		{"the public URL, as a proxy forwards it", u.Host, "http://placard.test:8080", 0},
		{"the public URL's name", "placard.test:" + port, "http://placard.test:" + port, 0},
		{"a LAN name", "placard.lan:" + port, "http://placard.lan:" + port, 0},
		{"a machine's name", "tv-pi:" + port, "http://tv-pi:" + port, 0},
		{"an mDNS name", "tv-pi.local:" + port, "http://tv-pi.local:" + port, 0},
		{"an extra origin", u.Host, "https://kiosk.example", 0},
		{"no Origin (not a browser)", u.Host, "", 0},
		{"its own host over another scheme", u.Host, "https://" + u.Host, http.StatusForbidden},
		{"another site", u.Host, "http://evil.example", http.StatusForbidden},
		{"an extra origin's host over another scheme", u.Host, "http://kiosk.example", http.StatusForbidden},
		{"DNS rebinding", "evil.example:" + port, "http://evil.example:" + port, http.StatusMisdirectedRequest},
		{"DNS rebinding by a name ending like a LAN's", "evil.lan.example:" + port, "http://evil.lan.example:" + port, http.StatusMisdirectedRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dialWS(t, m, tt.host, tt.origin); got != tt.want {
				t.Errorf("Host %s, Origin %q: %d, want %d", tt.host, tt.origin, got, tt.want)
			}
		})
	}
	// A rebound name gets no page either.
	req, _ := http.NewRequest("GET", m.URL+"/?screen=Lobby%20TV", nil)
	req.Host = "evil.example:" + port
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("a page for Host evil.example: %s, want 421", res.Status)
	}
}
