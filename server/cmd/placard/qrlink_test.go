package main

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/internal/pgtest"
	"github.com/placard/placard/server/screens"
)

// A phone's side of a screen's sign-in link, over HTTP as a phone's
// browser speaks it: its cookies kept, redirects seen one at a time.

// qrServer is an edge server whose screens sign in by QR code alone.
func qrServer(t *testing.T, tune ...func(*Main)) *Main {
	t.Helper()
	return testServer(t, append([]func(*Main){func(m *Main) { m.Config.SignIn = "qr" }}, tune...)...)
}

// holdOf reads the hidden field that the link's form sends back with the
// number: what proves the form was the page's own.
func holdOf(html string) string {
	_, rest, ok := strings.Cut(html, `name="hold" value="`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

// typeNumber sends the link's form with a number, the form's hold field
// and the headers given (none: as old browsers send it).
func typeNumber(t *testing.T, c *http.Client, link, number, hold string, header http.Header) *http.Response {
	t.Helper()
	form := url.Values{"number": {number}, "hold": {hold}}
	req, err := http.NewRequest("POST", link, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, vs := range header {
		req.Header[k] = vs
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// shownNumber waits for the number a screen shows once a phone holds its
// link.
func shownNumber(s *wsScreen) string {
	s.t.Helper()
	return s.waitFor(10*time.Second, "the number", func(st wire.State) bool { return st.Code != nil && st.Code.Match != "" }).Code.Match
}

// follow reads where a redirect sends the phone, on the same server.
func follow(t *testing.T, c *http.Client, m *Main, res *http.Response) (*http.Response, string) {
	t.Helper()
	loc := res.Header.Get("Location")
	if loc == "" {
		t.Fatalf("%s sends the phone nowhere", res.Status)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse(m.URL)
	return get(t, c, base.ResolveReference(u).String())
}

// The first browser to open a link holds it: a second one is told the
// link was opened on another phone, and can neither see nor send the
// form; the screen shows its number only once a browser holds the link;
// the number is typed, and the sign-in asks the identity platform to let
// the person choose the account (no single sign-on without a choice).
func TestALinkIsHeldByTheFirstBrowserThatOpensIt(t *testing.T) {
	m := qrServer(t)
	s := openScreen(t, m, "Lobby TV")
	st := s.waitPhase(10*time.Second, wire.PhaseCode)
	if st.Code.Match != "" {
		t.Fatalf("the screen shows a number before any phone opened its link: %s", st.Code.Match)
	}
	link := linkOf(t, st)

	first, second := phoneClient(t), phoneClient(t)
	res, html := get(t, first, link)
	if res.StatusCode != http.StatusOK || !strings.Contains(html, `data-testid="match-input"`) || !strings.Contains(html, `name="number"`) ||
		!strings.Contains(html, `data-testid="match-submit"`) || strings.Contains(html, "number-choice") {
		t.Fatalf("the first browser: %s, want the form to type the number in:\n%.600s", res.Status, html)
	}
	hold := holdOf(html)
	match := shownNumber(s)

	res, html = get(t, second, link)
	if res.StatusCode != http.StatusForbidden || outcomeIn(t, html) != "opened_elsewhere" || strings.Contains(html, "match-input") {
		t.Errorf("a second browser: %s %s, want 403 opened_elsewhere", res.Status, outcomeIn(t, html))
	}
	// Nor send the number, with the first's form field or without.
	res = typeNumber(t, second, link, match, hold, nil)
	if html := bodyOf(t, res); res.StatusCode != http.StatusForbidden || outcomeIn(t, html) == "" || res.Header.Get("Location") != "" {
		t.Errorf("a second browser sending the number: %s %s to %q", res.Status, outcomeIn(t, html), res.Header.Get("Location"))
	}
	// The first still holds it: a reload shows the form again.
	if res, html := get(t, first, link); res.StatusCode != http.StatusOK || !strings.Contains(html, "match-input") {
		t.Errorf("the first browser again: %s", res.Status)
	}
	// A number that is not two digits is asked for again: a typo does
	// not end the link.
	res = typeNumber(t, first, link, "7", hold, nil)
	if html := bodyOf(t, res); res.StatusCode != http.StatusBadRequest || !strings.Contains(html, "match-input") {
		t.Errorf("one digit: %s, want the form again", res.Status)
	}
	res = typeNumber(t, first, link, " "+match+" ", hold, nil)
	bodyOf(t, res)
	authURL := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(authURL, m.PublicURL+"/sandbox/") {
		t.Fatalf("the right number: %s to %q", res.Status, authURL)
	}
	u, _ := url.Parse(authURL)
	if p := u.Query().Get("prompt"); p != "select_account" {
		t.Errorf("the sign-in asks with prompt=%q, want select_account", p)
	}
}

// The number's form is refused without its hidden field, which only the
// page of the browser that holds the link carries: a form posted from
// another site is refused whatever its browser sends (Origin: null, or no
// Origin nor Sec-Fetch-Site, as Safari before 16.4), and the link still
// works for its phone.
func TestTheNumberFormNeedsItsHiddenFieldWhateverTheBrowserSends(t *testing.T) {
	m := qrServer(t)
	s := openScreen(t, m, "Lobby TV")
	link := linkOf(t, s.waitPhase(10*time.Second, wire.PhaseCode))
	phone := phoneClient(t)
	_, html := get(t, phone, link)
	hold := holdOf(html)
	if hold == "" {
		t.Fatalf("the link's page has no hidden field to send back:\n%.600s", html)
	}
	match := shownNumber(s)
	// The forgeries come from the phone's own browser (its cookies go
	// with them, as a browser without SameSite sends them).
	for name, c := range map[string]struct {
		hold   string
		header http.Header
	}{
		"Origin: null, no field":        {"", http.Header{"Origin": {"null"}}},
		"no Origin nor Sec-Fetch-Site":  {"", nil},
		"another field":                 {strings.Repeat("A", len(hold)), nil},
		"same-origin headers, no field": {"", http.Header{"Origin": {m.URL}, "Sec-Fetch-Site": {"same-origin"}}},
	} {
		res := typeNumber(t, phone, link, match, c.hold, c.header)
		bodyOf(t, res)
		if res.StatusCode != http.StatusForbidden || res.Header.Get("Location") != "" {
			t.Errorf("%s: %s to %q, want 403", name, res.Status, res.Header.Get("Location"))
		}
	}
	if n := m.Sandbox.Requests("authorize"); n != 0 {
		t.Errorf("a forged form reached the identity platform (%d requests)", n)
	}
	// Its phone, an old Safari that sends neither header, goes on.
	res := typeNumber(t, phone, link, match, hold, nil)
	bodyOf(t, res)
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), m.PublicURL+"/sandbox/") {
		t.Errorf("the phone's own form after the forgeries: %s to %q", res.Status, res.Header.Get("Location"))
	}
}

// toAuthorize opens a screen's link on a phone and types the number: it
// returns where the phone is sent to sign in.
func toAuthorize(t *testing.T, phone *http.Client, s *wsScreen, link string) string {
	t.Helper()
	_, html := get(t, phone, link)
	res := typeNumber(t, phone, link, shownNumber(s), holdOf(html), nil)
	bodyOf(t, res)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("typing the number: %s", res.Status)
	}
	return res.Header.Get("Location")
}

// Failed callbacks from one address do not block a genuine one from it:
// only failures count, and a callback whose state and cookie match a
// sign-in in progress is never refused. The callback's answer sends the
// phone on to a clean address, so that the authorization code does not
// stay in its history.
func TestForgedCallbacksDoNotBlockTheGenuineOneWhichLeavesNoCodeBehind(t *testing.T) {
	m := qrServer(t)
	s := openScreen(t, m, "Lobby TV")
	phone := phoneClient(t)
	authURL := toAuthorize(t, phone, s, linkOf(t, s.waitPhase(10*time.Second, wire.PhaseCode)))
	back, err := m.Sandbox.Authorize(authURL, "grace@placard.example")
	if err != nil {
		t.Fatal(err)
	}
	// Someone else behind the same address forges callbacks, past the
	// limit.
	other := phoneClient(t)
	limited := false
	for i := range 15 {
		res, _ := get(t, other, m.URL+screens.CallbackPath+"?code=guess&state=guess"+string(rune('a'+i)))
		limited = limited || res.StatusCode == http.StatusTooManyRequests
	}
	if !limited {
		t.Error("15 forged callbacks from one address were never limited")
	}
	res, err := phone.Get(back)
	if err != nil {
		t.Fatal(err)
	}
	bodyOf(t, res)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the genuine callback after forged ones: %s, want 303 to its result", res.Status)
	}
	loc := res.Header.Get("Location")
	if strings.Contains(loc, "code") || strings.Contains(loc, "state") || !strings.HasPrefix(loc, screens.LinkPath) {
		t.Errorf("the callback sends the phone to %q, want a clean result address", loc)
	}
	res, html := follow(t, phone, m, res)
	if res.StatusCode != http.StatusOK || outcomeIn(t, html) != "signed_in" || !strings.Contains(html, "Lobby TV now shows your day") {
		t.Errorf("the result page: %s %s", res.Status, outcomeIn(t, html))
	}
	s.waitPhase(15*time.Second, wire.PhaseDashboard)
	// The link pages count failures too, and still serve a live link.
	guesser := phoneClient(t)
	for range 31 {
		get(t, guesser, m.URL+screens.LinkPath+"guess")
	}
	if res, _ := get(t, guesser, m.URL+screens.LinkPath+"guess"); res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("31 guessed links: %s, want 429", res.Status)
	}
	hall := openScreen(t, m, "Hall TV")
	if res, html := get(t, guesser, linkOf(t, hall.waitPhase(10*time.Second, wire.PhaseCode))); res.StatusCode != http.StatusOK || !strings.Contains(html, "match-input") {
		t.Errorf("a live link from an address past its limit: %s, want its page", res.Status)
	}
}

// The phone's pages speak the screen's language: the link's page, its
// refusals and the result.
func TestThePhonePagesSpeakTheScreensLanguage(t *testing.T) {
	m := qrServer(t)
	token := newToken(t, m)
	s := openScreen(t, m, "Salle du conseil")
	link := linkOf(t, s.waitPhase(10*time.Second, wire.PhaseCode))
	if status, body := call(t, m, token, "PUT", "/admin/api/screens/"+screenID(t, m, "Salle du conseil")+"/settings", `{"lang":"fr"}`); status != http.StatusOK {
		t.Fatalf("setting French: %d %v", status, body)
	}
	phone := phoneClient(t)
	res, html := get(t, phone, link)
	if res.StatusCode != http.StatusOK || !strings.Contains(html, `<html lang="fr">`) || !strings.Contains(html, "Connexion à") {
		t.Errorf("the link's page of a French screen: %s\n%.500s", res.Status, html)
	}
	if _, html := get(t, phoneClient(t), link); !strings.Contains(html, `<html lang="fr">`) || !strings.Contains(html, "autre téléphone") {
		t.Errorf("a second browser's page of a French screen:\n%.500s", html)
	}
	res = typeNumber(t, phone, link, shownNumber(s), holdOf(html), nil)
	bodyOf(t, res)
	back, err := m.Sandbox.Authorize(res.Header.Get("Location"), "grace@placard.example")
	if err != nil {
		t.Fatal(err)
	}
	res, err = phone.Get(back)
	if err != nil {
		t.Fatal(err)
	}
	bodyOf(t, res)
	_, html = follow(t, phone, m, res)
	if !strings.Contains(html, `<html lang="fr">`) || !strings.Contains(html, "Salle du conseil affiche maintenant votre journée") {
		t.Errorf("the result page of a French screen:\n%.500s", html)
	}
	// An unknown link names no screen: the phone's own language.
	req, _ := http.NewRequest("GET", m.URL+screens.LinkPath+"unknown", nil)
	req.Header.Set("Accept-Language", "fr-CA,fr;q=0.9,en;q=0.5")
	res, err = phoneClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if html := bodyOf(t, res); !strings.Contains(html, `<html lang="fr">`) {
		t.Errorf("an unknown link for a phone that reads French:\n%.300s", html)
	}
}

// tlsEnd is a load balancer in front of replicas, as a client's
// transport: it ends TLS for the public URL and sends each request to the
// replica the test chose, over plain HTTP with the public host name.
type tlsEnd struct {
	public *url.URL
	mu     sync.Mutex
	to     *Main
}

func (b *tlsEnd) sendTo(m *Main) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.to = m
}

func (b *tlsEnd) RoundTrip(r *http.Request) (*http.Response, error) {
	b.mu.Lock()
	to := b.to
	b.mu.Unlock()
	target, _ := url.Parse(to.URL)
	r2 := r.Clone(r.Context())
	r2.URL.Scheme, r2.URL.Host = target.Scheme, target.Host
	r2.Host = b.public.Host
	return http.DefaultTransport.RoundTrip(r2)
}

// behind returns a browser (cookies kept, redirects not followed) that
// reaches replicas through a balancer.
func behind(t *testing.T, lb *tlsEnd) *http.Client {
	c := phoneClient(t)
	c.Transport = lb
	return c
}

// A screen's link, its number and its callback work on any replica: the
// screen is on one, the phone's requests go to the other (as a load
// balancer may send them), and each is single use across replicas.
func TestASignInLinkWorksOnAnyReplica(t *testing.T) {
	const public = "https://placard.example"
	sb := startSandbox(t, "-redirect-uri", public+screens.CallbackPath)
	db := pgtest.DB(t)
	behindBalancer := func(m *Main) { m.Config.SignIn, m.Config.PublicURL = "qr", public }
	a := replicaOf(t, sb, db, behindBalancer)
	b := replicaOf(t, sb, db, behindBalancer)
	pub, _ := url.Parse(public)

	// The screen, on a.
	toA := &tlsEnd{public: pub, to: a}
	s := &wsScreen{t: t, name: "Lobby TV", client: behind(t, toA), states: make(chan wire.State, 64), byes: make(chan wire.Bye, 4)}
	_, s.html = get(t, s.client, public+"/?screen="+url.QueryEscape(s.name))
	aURL, _ := url.Parse(a.URL)
	s.dialAt("ws://"+aURL.Host+"/ws", pub, http.Header{"Host": {pub.Host}})
	link := linkOf(t, s.waitPhase(15*time.Second, wire.PhaseCode))
	if !strings.HasPrefix(link, public+screens.LinkPath) {
		t.Fatalf("the QR code carries %q", link)
	}

	// The phone, on b.
	lb := &tlsEnd{public: pub, to: b}
	phone := behind(t, lb)
	res, html := get(t, phone, link)
	if res.StatusCode != http.StatusOK || !strings.Contains(html, "match-input") {
		t.Fatalf("the link on the other replica: %s %s", res.Status, outcomeIn(t, html))
	}
	match := shownNumber(s) // the screen, on a, shows it
	res = typeNumber(t, phone, link, match, holdOf(html), nil)
	bodyOf(t, res)
	authURL := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(authURL, sb.URL+"/") {
		t.Fatalf("the number on the other replica: %s to %q", res.Status, authURL)
	}
	back := sb.authorize(t, authURL, "grace@placard.example")
	if !strings.HasPrefix(back, public+screens.CallbackPath+"?") {
		t.Fatalf("the identity platform sends the phone to %q", back)
	}
	res, err := phone.Get(back)
	if err != nil {
		t.Fatal(err)
	}
	bodyOf(t, res)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the callback on the other replica: %s", res.Status)
	}
	res, html = get(t, phone, public+res.Header.Get("Location"))
	if outcomeIn(t, html) != "signed_in" {
		t.Fatalf("the callback on the other replica: %s %s", res.Status, outcomeIn(t, html))
	}
	s.waitFor(20*time.Second, "Grace's dashboard", func(st wire.State) bool {
		return st.Phase == wire.PhaseDashboard && st.Dashboard.User.Name == "Grace Hopper"
	})
	// Single use across replicas too: the link and the callback, on
	// either.
	for _, r := range []*Main{a, b} {
		lb.sendTo(r)
		if _, html := get(t, phone, link); outcomeIn(t, html) != "used" {
			t.Errorf("the used link on %s: %s", r.URL, outcomeIn(t, html))
		}
		res, html := get(t, phone, back)
		if res.StatusCode == http.StatusSeeOther {
			_, html = get(t, phone, public+res.Header.Get("Location"))
		}
		if out := outcomeIn(t, html); out == "signed_in" {
			t.Errorf("a replayed callback on %s signed in again", r.URL)
		}
	}
}

// authorize signs in as upn on the sandbox's authorization page, as a
// phone does, and returns where the page sends the phone back.
func (sb *standalone) authorize(t *testing.T, authURL, upn string) string {
	t.Helper()
	c := *sb.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.PostForm(authURL, url.Values{"user": {upn}, "action": {"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("the sandbox's sign-in page: %s", res.Status)
	}
	return res.Header.Get("Location")
}
