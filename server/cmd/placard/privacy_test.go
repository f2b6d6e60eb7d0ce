package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/graph"
	"github.com/placard/placard/server/internal/browsertest"
)

func TestPrivacyModeSendsNoMeetingSubject(t *testing.T) {
	t.Parallel()
	const subject = "Merger talks with Contoso"
	m := testServer(t, inTheMorning)
	// A meeting now, with a subject that must not reach the screen.
	now := m.Now()
	if _, err := ctlOf(m).AddEvent(t.Context(), "ada@placard.example", map[string]any{
		"subject":  subject,
		"location": map[string]string{"displayName": "Board room"},
		"start":    graph.At(now.Add(-5*time.Minute), time.UTC),
		"end":      graph.At(now.Add(25*time.Minute), time.UTC),
	}); err != nil {
		t.Fatalf("adding the meeting: %v", err)
	}

	browser := browsertest.New(t)
	var got frames
	chromedp.ListenTarget(browser, func(ev any) {
		if f, ok := ev.(*network.EventWebSocketFrameReceived); ok {
			got.add(f.Response.PayloadData)
		}
	})
	name := "Shared lounge"
	browsertest.Run(t, browser, 30*time.Second, "opening the screen",
		network.Enable(),
		emulate(screenSizes[2]),
		chromedp.Navigate(m.URL+"/?screen="+url.QueryEscape(name)),
		chromedp.WaitVisible(browsertest.State("code")),
		wasmRuns,
	)
	id := screenID(t, m, name)
	setPrivacy := func(on bool) {
		t.Helper()
		if _, err := m.Store.UpdateScreen(t.Context(), id, func(sc *server.Screen) error {
			sc.Settings.Privacy = on
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := m.Screens.ReloadSettings(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	setPrivacy(true)
	approveShown(t, browser, m, "ada@placard.example")
	var html, current, state string
	browsertest.Run(t, browser, 30*time.Second, "waiting for the meeting in progress",
		chromedp.WaitVisible(browsertest.TestID("agenda-item", `[data-current="true"]`)),
		chromedp.Text(browsertest.TestID("agenda-item", `[data-current="true"] [data-testid="agenda-subject"]`), &current),
		chromedp.Text(browsertest.TestID("room-state"), &state),
		chromedp.OuterHTML("html", &html),
	)
	if current != "Busy" {
		t.Errorf("the meeting in progress is called %q on a private screen, want Busy", current)
	}
	if !strings.Contains(state, "Busy") {
		t.Errorf("the room state says %q", state)
	}
	for _, secret := range []string{subject, "Board room"} {
		if strings.Contains(html, secret) {
			t.Errorf("the page holds %q", secret)
		}
		for _, f := range got.all() {
			if strings.Contains(f, secret) {
				t.Errorf("a WebSocket frame holds %q: %.300s", secret, f)
			}
		}
	}
	if len(got.all()) == 0 {
		t.Fatal("recorded no WebSocket frame")
	}

	// The same screen out of privacy mode shows the subject: the test
	// above looked where it would have been.
	setPrivacy(false)
	browsertest.Run(t, browser, 15*time.Second, "waiting for the subject",
		browsertest.Until(`[...document.querySelectorAll('[data-testid="agenda-subject"]')].some(e => e.textContent === `+jsString(subject)+`)`),
	)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// A meeting its owner marked private reaches no screen with its subject,
// location or organiser: neither in a WebSocket frame nor in the page.
func TestAPrivateMeetingsSubjectNeverReachesAScreen(t *testing.T) {
	const subject = "Interview with a competitor"
	m := testServer(t, inTheMorning)
	now := m.Now()
	if _, err := ctlOf(m).AddEvent(t.Context(), "ada@placard.example", map[string]any{
		"subject":     subject,
		"sensitivity": "private",
		"location":    map[string]string{"displayName": "Off-site café"},
		"start":       graph.At(now.Add(-5*time.Minute), time.UTC),
		"end":         graph.At(now.Add(25*time.Minute), time.UTC),
	}); err != nil {
		t.Fatalf("adding the meeting: %v", err)
	}
	secrets := []string{subject, "Off-site café", "Doctor's appointment", "Doctor\\u0027s appointment"}

	s := openScreen(t, m, "Lobby TV")
	st := s.signIn(m, "ada@placard.example")
	private := 0
	for _, e := range st.Dashboard.Agenda.Today {
		if e.Private {
			private++
		}
	}
	if private < 1 {
		t.Errorf("the dashboard shows no private event: %+v", st.Dashboard.Agenda.Today)
	}
	// Every frame of a second connection of the same screen, raw.
	u, _ := url.Parse(m.URL)
	header := http.Header{"Origin": {m.URL}}
	for _, c := range s.client.Jar.Cookies(u) {
		header.Add("Cookie", c.Name+"="+c.Value)
	}
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/ws", header)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hello, _ := wire.Encode(wire.Hello{Screen: "Lobby TV"})
	conn.WriteMessage(websocket.TextMessage, hello)
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("no dashboard on a second connection: %v", err)
		}
		for _, secret := range secrets {
			if bytes.Contains(data, []byte(secret)) {
				t.Fatalf("a WebSocket frame carries %q: %s", secret, data)
			}
		}
		if msg, _ := wire.DecodeFromServer(data); msg != nil {
			if st, ok := msg.(wire.State); ok && st.Phase == wire.PhaseDashboard && st.Dashboard.Agenda != nil {
				break
			}
		}
	}
	// The page, rendered on the server with the dashboard.
	_, html := get(t, s.client, m.URL+"/?screen="+url.QueryEscape("Lobby TV"))
	if !strings.Contains(html, ">Private<") {
		t.Errorf("the page does not call the meeting Private")
	}
	for _, secret := range append(secrets, "Doctor&#39;s appointment") {
		if strings.Contains(html, secret) {
			t.Errorf("the page carries %q", secret)
		}
	}
}
