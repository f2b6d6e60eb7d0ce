package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// presenceAnswer is GET /api/v1/presence's JSON.
type presenceAnswer struct {
	Availability string    `json:"availability"`
	Activity     string    `json:"activity"`
	Color        string    `json:"color"`
	Updated      time.Time `json:"updated"`
	Stale        bool      `json:"stale"`
	SignedIn     bool      `json:"signed_in"`
}

// getPresence asks GET /api/v1/presence with key, and If-None-Match when
// etag is set.
func getPresence(t *testing.T, m *Main, key, etag string) (int, presenceAnswer, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", m.URL+"/api/v1/presence", nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var p presenceAnswer
	if res.StatusCode == http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		var fields map[string]any
		if err := json.Unmarshal(b, &fields); err != nil {
			t.Fatalf("the presence is not JSON: %s", b)
		}
		if len(fields) != 6 {
			t.Errorf("the presence has %d fields, want exactly the six documented: %s", len(fields), b)
		}
		json.Unmarshal(b, &p)
	}
	return res.StatusCode, p, res.Header.Get("ETag")
}

// awaitPresence asks until ok, failing after within.
func awaitPresence(t *testing.T, m *Main, key string, within time.Duration, what string, ok func(presenceAnswer) bool) (presenceAnswer, string) {
	t.Helper()
	var p presenceAnswer
	var etag string
	eventually(t, within, what, func() (bool, string) {
		var status int
		status, p, etag = getPresence(t, m, key, "")
		return status == http.StatusOK && ok(p), fmt.Sprintf("last %d %+v", status, p)
	})
	return p, etag
}

// setPresence changes a demo user's presence through the sandbox's
// control API.
func setPresence(t *testing.T, m *Main, upn, availability, activity string) {
	t.Helper()
	if err := ctlOf(m).SetPresence(t.Context(), upn, availability, activity); err != nil {
		t.Fatal(err)
	}
}

// sseEvent is one event (or comment) of a stream.
type sseEvent struct {
	id, data string
	comment  bool
	at       time.Time
}

// openStream opens GET /api/v1/presence as an event stream; the channel
// closes when the server ends the stream.
func openStream(t *testing.T, m *Main, key, lastID string) (<-chan sseEvent, *http.Response) {
	t.Helper()
	req, _ := http.NewRequest("GET", m.URL+"/api/v1/presence", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("the stream answered %s %q", res.Status, res.Header.Get("Content-Type"))
	}
	return readEvents(res.Body), res
}

// readEvents parses an event stream; the channel closes when it ends.
func readEvents(body io.Reader) <-chan sseEvent {
	ch := make(chan sseEvent, 64)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(body)
		var e sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if e.data != "" || e.comment {
					e.at = time.Now()
					ch <- e
				}
				e = sseEvent{}
			case strings.HasPrefix(line, ":"):
				e.comment = true
			case strings.HasPrefix(line, "id: "):
				e.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				e.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return ch
}

// nextEvent returns the stream's next data event, skipping heartbeats.
func nextEvent(t *testing.T, ch <-chan sseEvent, within time.Duration, what string) (sseEvent, presenceAnswer) {
	t.Helper()
	e := await(t, ch, within, "event with "+what, func(e sseEvent) bool { return !e.comment })
	var p presenceAnswer
	if err := json.Unmarshal([]byte(e.data), &p); err != nil {
		t.Fatalf("event %q is not the presence JSON", e.data)
	}
	return e, p
}

func fastPresence(m *Main) {
	m.Config.FollowEvery = time.Second
	m.Heartbeat = 200 * time.Millisecond
}

// signedIn signs a screen in to upn and leaves it.
func signedIn(t *testing.T, m *Main, upn string) {
	t.Helper()
	s := openScreen(t, m, "Desk of "+upn)
	s.signIn(m, upn)
	s.conn.Close()
}

func TestALightKeyReadsItsAccountsPresenceOverHTTP(t *testing.T) {
	m := testServer(t, fastPresence)
	admin := newToken(t, m)
	signedIn(t, m, "grace@placard.example")
	_, key := addLight(t, m, admin, `{"name":"desk-grace","account":"grace@placard.example"}`)

	p, etag := awaitPresence(t, m, key, 10*time.Second, "Grace's presence", func(p presenceAnswer) bool { return !p.Stale })
	if p.Availability != "Busy" || p.Activity != "InACall" || p.Color != "#C4314B" || !p.SignedIn || p.Updated.IsZero() || etag == "" {
		t.Fatalf("Grace's presence: %+v, ETag %q", p, etag)
	}
	if status, _, again := getPresence(t, m, key, etag); status != http.StatusNotModified || again != etag {
		t.Errorf("asked again with If-None-Match: %d %q, want 304", status, again)
	}

	setPresence(t, m, "grace@placard.example", "Away", "Away")
	p, newTag := awaitPresence(t, m, key, 10*time.Second, "the new presence", func(p presenceAnswer) bool { return p.Availability == "Away" })
	if p.Color != "#FCD116" || newTag == etag {
		t.Errorf("after a change: %+v, ETag %q (was %q)", p, newTag, etag)
	}
	if status, _, _ := getPresence(t, m, key, etag); status != http.StatusOK {
		t.Errorf("an old ETag got %d, want the new presence", status)
	}

	for _, bad := range []string{"", "plk_x.y", key + "x", admin} {
		if status, _, _ := getPresence(t, m, bad, ""); status != http.StatusUnauthorized {
			t.Errorf("GET /api/v1/presence with %q: %d, want 401", bad, status)
		}
	}
}

func TestAKeyForOneAccountCannotReadAnothers(t *testing.T) {
	t.Parallel()
	m := testServer(t, fastPresence)
	admin := newToken(t, m)
	signedIn(t, m, "grace@placard.example")
	signedIn(t, m, "ada@placard.example")
	_, adaKey := addLight(t, m, admin, `{"name":"ada","account":"ada@placard.example"}`)
	_, graceKey := addLight(t, m, admin, `{"name":"grace","account":"grace@placard.example"}`)
	setPresence(t, m, "ada@placard.example", "Available", "Available")
	setPresence(t, m, "grace@placard.example", "DoNotDisturb", "Presenting")
	awaitPresence(t, m, adaKey, 10*time.Second, "Ada's presence", func(p presenceAnswer) bool { return p.Availability == "Available" })
	awaitPresence(t, m, graceKey, 10*time.Second, "Grace's presence", func(p presenceAnswer) bool { return p.Activity == "Presenting" })
	// Whatever the request names, a key answers its own account.
	for _, path := range []string{"/api/v1/presence?account=grace@placard.example", "/api/v1/presence?upn=grace@placard.example&user=grace"} {
		req, _ := http.NewRequest("GET", m.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+adaKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if strings.Contains(string(b), "Presenting") || !strings.Contains(string(b), `"Available"`) {
			t.Errorf("Ada's key on %s read %s", path, b)
		}
	}
	// Nothing else opens with a light key: not the admin API, not a screen.
	if status, _ := call(t, m, adaKey, "GET", "/admin/api/screens", ""); status != http.StatusUnauthorized {
		t.Errorf("Ada's light key on the admin API: %d", status)
	}
}

func TestAnAccountSignedInNowhereAnswersSignedInFalse(t *testing.T) {
	t.Parallel()
	m := testServer(t, fastPresence)
	admin := newToken(t, m)
	_, key := addLight(t, m, admin, `{"name":"kim","account":"ada@placard.example"}`)
	status, p, _ := getPresence(t, m, key, "")
	if status != http.StatusOK || p.SignedIn || p.Color != "#000000" {
		t.Fatalf("an account signed in nowhere: %d %+v", status, p)
	}
	s := openScreen(t, m, "Desk")
	s.signIn(m, "ada@placard.example")
	awaitPresence(t, m, key, 10*time.Second, "Ada signed in", func(p presenceAnswer) bool { return p.SignedIn && !p.Stale })
	screens, _ := m.Store.Screens(t.Context())
	if _, err := m.Screens.SignOut(t.Context(), screens[0].ID, "test"); err != nil {
		t.Fatal(err)
	}
	awaitPresence(t, m, key, 10*time.Second, "Ada signed out everywhere", func(p presenceAnswer) bool { return !p.SignedIn })
}

func TestPresenceStreamsEachChangeWithinOnePeriod(t *testing.T) {
	m := testServer(t, fastPresence)
	admin := newToken(t, m)
	signedIn(t, m, "grace@placard.example")
	_, key := addLight(t, m, admin, `{"name":"desk","account":"grace@placard.example"}`)
	awaitPresence(t, m, key, 10*time.Second, "Grace's presence", func(p presenceAnswer) bool { return !p.Stale })

	events, _ := openStream(t, m, key, "")
	first, p := nextEvent(t, events, 5*time.Second, "the presence now")
	if p.Availability != "Busy" || first.id == "" {
		t.Fatalf("first event %+v %+v", first, p)
	}
	changed := time.Now()
	setPresence(t, m, "grace@placard.example", "BeRightBack", "BeRightBack")
	e, p := nextEvent(t, events, 10*time.Second, "the new presence")
	if p.Availability != "BeRightBack" || e.id == first.id {
		t.Fatalf("after a change: %+v %+v", e, p)
	}
	// One period (1 s here) and some room for a loaded machine.
	if lag := e.at.Sub(changed); lag > m.Config.FollowEvery+2*time.Second {
		t.Errorf("the change took %v to reach the stream, with a presence period of %v", lag, m.Config.FollowEvery)
	}

	// Coming back with the last id: no event until something changes,
	// only heartbeats.
	again, _ := openStream(t, m, key, e.id)
	select {
	case got := <-again:
		if !got.comment {
			t.Errorf("a stream resumed at the current id sent %+v first, want a heartbeat", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no heartbeat on an idle stream")
	}
	// With an old id, the presence now at once.
	old, _ := openStream(t, m, key, first.id)
	if _, p := nextEvent(t, old, 5*time.Second, "the presence now"); p.Availability != "BeRightBack" {
		t.Errorf("a stream resumed at an old id sent %+v", p)
	}
}

func TestARevokedKeyIsRefusedAtOnceAndItsStreamClosed(t *testing.T) {
	t.Parallel()
	m := testServer(t, fastPresence)
	admin := newToken(t, m)
	id, key := addLight(t, m, admin, `{"name":"desk","account":"grace@placard.example"}`)
	events, _ := openStream(t, m, key, "")
	nextEvent(t, events, 5*time.Second, "the presence now")
	if status, _ := call(t, m, admin, "DELETE", "/admin/api/lights/"+id, ""); status != http.StatusOK {
		t.Fatal(status)
	}
	if status, _, _ := getPresence(t, m, key, ""); status != http.StatusUnauthorized {
		t.Errorf("a revoked key got %d, want 401", status)
	}
	waitClosed(t, events, 5*time.Second)

	// Revoked from the command line (another process): refused at once,
	// its stream closed within the server's next reading of the keys.
	id, key = addLight(t, m, admin, `{"name":"hall","account":"grace@placard.example"}`)
	events, _ = openStream(t, m, key, "")
	nextEvent(t, events, 5*time.Second, "the presence now")
	if _, err := runCLI(t, "lights", "revoke", id, "-data", m.Config.DataDir); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := getPresence(t, m, key, ""); status != http.StatusUnauthorized {
		t.Errorf("a key revoked by the command line got %d, want 401", status)
	}
	waitClosed(t, events, 10*time.Second)
}

func waitClosed(t *testing.T, events <-chan sseEvent, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case _, ok := <-events:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("the stream of a revoked key is still open after %v", within)
		}
	}
}

func TestALightKeySurvivesARestartWithNoScreen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first := startOn(t, dir, "127.0.0.1:0", fastPresence)
	signedIn(t, first, "grace@placard.example")
	_, key := addLight(t, first, newToken(t, first), `{"name":"desk","account":"grace@placard.example"}`)
	awaitPresence(t, first, key, 10*time.Second, "Grace's presence", func(p presenceAnswer) bool { return !p.Stale })
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	second := startOn(t, dir, "127.0.0.1:0", fastPresence)
	// No screen connects: the key alone keeps Grace's presence read.
	p, _ := awaitPresence(t, second, key, 10*time.Second, "Grace's presence after a restart", func(p presenceAnswer) bool { return !p.Stale })
	if !p.SignedIn || p.Availability != "Busy" {
		t.Errorf("after a restart: %+v", p)
	}
	setPresence(t, second, "grace@placard.example", "Available", "Available")
	awaitPresence(t, second, key, 10*time.Second, "a change after a restart", func(p presenceAnswer) bool { return p.Availability == "Available" })
	if second.Screens.Active() != 0 {
		t.Errorf("%d screen sessions: the key should need none", second.Screens.Active())
	}
}

func TestWithOneFollowedAccountAChangeReachesHTTPAndSSEWithinSixSeconds(t *testing.T) {
	m := testServer(t) // the default period: 5 s
	admin := newToken(t, m)
	signedIn(t, m, "grace@placard.example")
	_, key := addLight(t, m, admin, `{"name":"desk","account":"grace@placard.example"}`)
	awaitPresence(t, m, key, 15*time.Second, "Grace's presence", func(p presenceAnswer) bool { return !p.Stale })
	events, _ := openStream(t, m, key, "")
	nextEvent(t, events, 5*time.Second, "the presence now")

	changed := time.Now()
	setPresence(t, m, "grace@placard.example", "DoNotDisturb", "Presenting")
	e, p := nextEvent(t, events, 15*time.Second, "the new presence")
	if p.Availability != "DoNotDisturb" {
		t.Fatalf("event %+v", p)
	}
	if lag := e.at.Sub(changed); lag > 6*time.Second {
		t.Errorf("the change reached the stream after %v, want 6 s at most", lag)
	}
	if _, p, _ := getPresence(t, m, key, ""); p.Availability != "DoNotDisturb" || time.Since(changed) > 6*time.Second+time.Second {
		t.Errorf("HTTP answered %+v %v after the change", p, time.Since(changed))
	}
}
