package main

import (
	"net/url"
	"strconv"

	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/placard/placard/app/wire"
)

// httpClient is a client with a cookie jar, as a browser has.
func httpClient(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 20 * time.Second}
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	res, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return res, string(b)
}

var userCodeRE = regexp.MustCompile(`data-testid="user-code"[^>]*>(.*?)</div>`)

// userCodeIn reads the user code from a page's HTML.
func userCodeIn(t *testing.T, html string) string {
	t.Helper()
	m := userCodeRE.FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no user code in the page:\n%.2000s", html)
	}
	return regexp.MustCompile(`<[^>]+>|\s`).ReplaceAllString(m[1], "")
}

// wsScreen is a screen as the edge server sees one: the page loaded with a
// cookie jar, then the WebSocket, through which it reads its states.
type wsScreen struct {
	t      *testing.T
	name   string
	client *http.Client
	conn   *websocket.Conn
	states chan wire.State
	byes   chan wire.Bye
	// others are the messages that are neither a state nor a bye (an
	// administrator's reload or identify).
	others chan wire.Message
	html   string
	// touch is what the screen says of itself in hello (a tablet).
	touch bool
}

// openScreen loads a screen's page and connects its WebSocket, as a
// browser does.
func openScreen(t *testing.T, m *Main, name string) *wsScreen {
	t.Helper()
	s := &wsScreen{t: t, name: name, client: httpClient(t), states: make(chan wire.State, 64), byes: make(chan wire.Bye, 4), others: make(chan wire.Message, 16)}
	_, s.html = get(t, s.client, m.URL+"/?screen="+url.QueryEscape(name))
	s.dial(m)
	return s
}

func (s *wsScreen) dial(m *Main) {
	s.t.Helper()
	u, _ := url.Parse(m.URL)
	s.dialAt("ws://"+u.Host+"/ws", u, nil)
}

// dialAt connects the screen's WebSocket at wsURL, as a page of site (its
// origin, and its cookies) does, with the extra headers given (a Host
// that a load balancer passes on).
func (s *wsScreen) dialAt(wsURL string, site *url.URL, extra http.Header) {
	s.t.Helper()
	header := http.Header{"Origin": {site.Scheme + "://" + site.Host}}
	for _, c := range s.client.Jar.Cookies(site) {
		header.Add("Cookie", c.Name+"="+c.Value)
	}
	for k, vs := range extra {
		header[k] = vs
	}
	conn, res, err := websocket.DefaultDialer.Dial(wsURL, header)
	if err != nil {
		s.t.Fatalf("dialing the WebSocket: %v (%v)", err, res)
	}
	s.t.Cleanup(func() { conn.Close() })
	hello, _ := wire.Encode(wire.Hello{Screen: s.name, TimeZone: "Europe/Paris", Touch: s.touch})
	if err := conn.WriteMessage(websocket.TextMessage, hello); err != nil {
		s.t.Fatal(err)
	}
	s.conn = conn
	states, byes, others := s.states, s.byes, s.others
	go func() {
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			switch m, _ := wire.DecodeFromServer(data); m := m.(type) {
			case wire.State:
				states <- m
			case wire.Bye:
				byes <- m
			case nil:
			default:
				if others != nil {
					select {
					case others <- m:
					default:
					}
				}
			}
		}
	}()
}

// waitFor reads states until one satisfies ok, failing after within.
func (s *wsScreen) waitFor(within time.Duration, what string, ok func(wire.State) bool) wire.State {
	s.t.Helper()
	return await(s.t, s.states, within, what+" on screen "+strconv.Quote(s.name), ok)
}

func (s *wsScreen) waitPhase(within time.Duration, phase wire.Phase) wire.State {
	s.t.Helper()
	return s.waitFor(within, string(phase)+" state", func(st wire.State) bool { return st.Phase == phase })
}

// reconnect dials the WebSocket again (to another server, after a
// restart), with the cookies the screen holds.
func (s *wsScreen) reconnect(m *Main) {
	s.t.Helper()
	s.conn.Close()
	s.states = make(chan wire.State, 64)
	s.dial(m)
}

// signIn approves the screen's current code as upn and waits for its
// dashboard with data.
func (s *wsScreen) signIn(m *Main, upn string) wire.State {
	s.t.Helper()
	code := s.waitPhase(15*time.Second, wire.PhaseCode).Code.UserCode
	if out := m.Sandbox.Approve(code, upn); out != "approved" {
		s.t.Fatalf("approving %s: %s", code, out)
	}
	return s.waitFor(20*time.Second, "dashboard with data", func(st wire.State) bool {
		return st.Phase == wire.PhaseDashboard && !st.Dashboard.Fresh.IsZero()
	})
}
