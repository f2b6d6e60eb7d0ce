package httpd

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/placard/placard/app/ui"
	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/admit"
	"github.com/placard/placard/server/fleet"
	"github.com/placard/placard/server/front"
	"github.com/placard/placard/server/screens"
	"github.com/placard/placard/server/secret"
)

// prerenderWait is how long a page request waits for a new screen's first
// code, so that the first HTML carries it.
const prerenderWait = 4 * time.Second

// prerenders hands each page request's state to go-app's prerender, which
// sees only the page URL: the request gets a one-time key in the URL that
// go-app prerenders (never in what the browser receives), and the hook
// looks the state up by it. Shared by every server in the process, like
// go-app's routes.
var (
	prerenders     sync.Map // key → wire.State
	prerenderSetup sync.Once
)

const prerenderParam = "_placard_prerender"

func installPrerender() {
	prerenderSetup.Do(func() {
		ui.Routes()
		ui.SetPrerender(func(u *url.URL) (wire.State, bool) {
			st, ok := prerenders.Load(u.Query().Get(prerenderParam))
			if !ok {
				return wire.State{}, false
			}
			return st.(wire.State), true
		})
	})
}

// cookieName is the cookie that holds the credential of the screen called
// name in this browser: one per name, so that tabs of one browser can be
// different screens. The __Host- prefix (over HTTPS) pins it to this host.
func cookieName(r *http.Request, name string) string {
	h := sha256.Sum256([]byte(name))
	n := screenCookiePrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h[:10]))
	if front.IsSecure(r) {
		n = "__Host-" + n
	}
	return n
}

// FallbackHeader marks the page requests of the fallback script
// (web/static/fallback.js), which reloads the page of a browser without
// WebAssembly.
const FallbackHeader = "X-Placard-Fallback"

// screenCookiePrefix begins the name of every screen's cookie.
const screenCookiePrefix = "placard_screen_"

// lastScreenCookie remembers the last screen opened in this browser, so
// that "/" (a PWA's start URL) opens it again.
const lastScreenCookie = "placard_last_screen"

func setCookie(w http.ResponseWriter, r *http.Request, name, value string) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   400 * 24 * 3600, // browsers cap cookies at 400 days
		HttpOnly: true,
		Secure:   front.IsSecure(r),
		SameSite: http.SameSiteStrictMode,
	})
}

// credentialOf reads the credential of the screen called name from the
// request's cookies.
func credentialOf(r *http.Request, name string) *screens.Credential {
	c, err := r.Cookie(cookieName(r, name))
	if err != nil {
		return nil
	}
	cred, ok := screens.ParseCredential(c.Value)
	if !ok {
		return nil
	}
	return &cred
}

// servePage serves a screen's page: it finds (or registers) the screen of
// this browser, waits for its state, and has go-app prerender it.
func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if token := q.Get("link"); token != "" && s.Links != nil {
		s.serveLink(w, r, token)
		return
	}
	name := q.Get("screen")
	if name == "" {
		s.redirectToScreen(w, r)
		return
	}
	have := credentialOf(r, name)
	if have == nil && arrivedFromElsewhere(r) {
		reloadHere(w)
		return
	}
	sc, cred, err := s.Screens.Open(r.Context(), name, have)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if cred != nil {
		setCookie(w, r, cookieName(r, name), cred.String())
	}
	setCookie(w, r, lastScreenCookie, url.QueryEscape(name))

	st, err := s.Screens.State(r.Context(), sc.ID, prerenderWait)
	if err != nil && !errors.Is(err, context.Canceled) {
		s.Log.Warn("prerendering a screen", "screen", sc.ID, "err", err)
	}
	if s.Fleet != nil && r.Header.Get(FallbackHeader) != "" {
		// A browser without WebAssembly: its page, reloaded by the
		// fallback script, is all that shows it is there.
		s.Fleet.PageSeen(sc.ID, fleet.Conn{UserAgent: r.UserAgent()}, s.Refresh.of(st))
	}
	code, header, body, err := s.prerender(r, st)
	if err != nil {
		var busy *admit.Busy
		if errors.As(err, &busy) {
			admit.RefusePage(w, busy)
		}
		return
	}
	h := w.Header()
	for k, v := range header {
		h[k] = v
	}
	if strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		body = withRefresh(body, s.Refresh.of(st))
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	w.Write(body)
}

// prerender has go-app render the screen's page for a state: what a
// browser without WebAssembly shows of it (the fallback), and what the
// Wasm starts from.
func (s *Server) prerender(r *http.Request, st wire.State) (int, http.Header, []byte, error) {
	key := secret.New()
	prerenders.Store(key, st)
	defer prerenders.Delete(key)

	q := r.URL.Query()
	q.Del(prerenderParam)
	q.Set(prerenderParam, key)
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	r2.Header.Del("If-None-Match")
	// The render is work for the processor, deep in the stack: a few at
	// a time, however many pages wait for their screen's state.
	leave, err := s.renders.Enter(r.Context())
	if err != nil {
		return 0, nil, nil, err
	}
	rec := httptest.NewRecorder()
	s.app.ServeHTTP(rec, r2)
	leave()
	h := rec.Header()
	// go-app gives every response one ETag and answers 304 to it: a page
	// carries a live code, so it is never served from a cache.
	h.Set("Cache-Control", "no-store")
	h.Del("ETag")
	body := rec.Body.Bytes()
	if strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		h.Set("Content-Type", "text/html; charset=utf-8")
		body = restoreTrue(body)
		body = withLang(body, ui.Lang(st.Screen.Lang))
		body = withoutLoader(body)
	}
	return rec.Code, h, body, nil
}

// previewScripts are what a preview leaves out of a screen's page: its
// scripts (the Wasm would connect as the screen, the fallback script
// would reload it) and its manifest.
var previewScripts = regexp.MustCompile(`(?s)<script\b.*?</script>|<link [^>]*rel="(?:manifest|modulepreload)"[^>]*>|<noscript>.*?</noscript>`)

// Preview renders what a screen shows (a state from
// screens.Manager.Preview) as the screen's own page without its scripts,
// with the fallback's renderer: what an administrator's page shows,
// scaled down, in a frame of its own. It reloads itself every refresh.
func (s *Server) Preview(r *http.Request, st wire.State, refresh time.Duration) ([]byte, error) {
	r2 := r.Clone(r.Context())
	r2.Method = http.MethodGet
	r2.URL = &url.URL{Path: "/", RawQuery: url.Values{"screen": {st.Screen.Name}}.Encode()}
	r2.Body = http.NoBody
	code, _, body, err := s.prerender(r2, st)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("httpd: rendering a preview: go-app answered %d", code)
	}
	body = previewScripts.ReplaceAll(body, nil)
	sec := strconv.Itoa(max(1, int(refresh.Round(time.Second)/time.Second)))
	tags := `<meta http-equiv="refresh" content="` + sec + `"><link rel="stylesheet" href="/admin/preview.css"></head>`
	return bytes.Replace(body, []byte(`</head>`), []byte(tags), 1), nil
}

// bareAttr is a data- or aria- attribute written with no value.
var bareAttr = regexp.MustCompile(`(\s(?:data|aria)-[a-z-]+)([\s>/])`)

// restoreTrue gives back their value to the data- and aria- attributes of
// a prerendered page that go-app wrote bare: its encoder drops the value
// "true" (as for HTML's boolean attributes), which would leave
// data-current="true" reading "" until the Wasm renders the page again.
// The screen never sets an empty data- or aria- value, so a bare one was
// always "true".
func restoreTrue(html []byte) []byte {
	return bareAttr.ReplaceAll(html, []byte(`$1="true"$2`))
}

// withLang sets the language of a prerendered page to the one its screen
// speaks: go-app writes the handler's, one for every page.
func withLang(html []byte, lang string) []byte {
	return bytes.Replace(html, []byte(`<html lang="en">`), []byte(`<html lang="`+lang+`">`), 1)
}

// go-app's page holds its loader, which the screen never shows
// (placard.css hides it, and the page is rendered before the Wasm starts):
// its stylesheet, render-blocking, and its icon. Each is a request a TV's
// processor makes, and waits on, before its first paint. go-app's script
// still finds the loader's elements, and removes them once the Wasm runs.
// go-app writes an element's attributes in any order (from a map): the
// patterns match a whole tag.
var (
	loaderStyles = regexp.MustCompile(`<link\b[^>]*\shref="/app\.css"[^>]*>`)
	loaderIcon   = regexp.MustCompile(`<img\b[^>]*\sid="app-wasm-loader-icon"[^>]*>`)
	iconSrc      = regexp.MustCompile(`\ssrc="[^"]*"`)
)

// withoutLoader leaves out of a prerendered page the stylesheet and the
// icon that only go-app's loader uses.
func withoutLoader(html []byte) []byte {
	html = loaderStyles.ReplaceAll(html, nil)
	return loaderIcon.ReplaceAllFunc(html, func(tag []byte) []byte { return iconSrc.ReplaceAll(tag, nil) })
}

// Refresh is how often a screen's page is rendered again when its Wasm
// does not run: web/static/fallback.js asks for the page again at this
// period, and so does the browser itself when scripts are off.
type Refresh struct {
	// Waiting is the period while the screen waits for a person: a code,
	// a pairing number, a problem. The sign-in takes one period more to
	// reach the screen.
	Waiting time.Duration
	// Dashboard is the period of the dashboard: the clock and the
	// presence are this late at most (besides Graph's own polling).
	Dashboard time.Duration
}

// The default periods: a reload every 3 s while a code is shown, every
// 30 s on the dashboard.
const (
	DefaultRefreshWaiting   = 3 * time.Second
	DefaultRefreshDashboard = 30 * time.Second
)

// of is the period of a screen's page: the dashboard's once signed in,
// and at most a board's page's time on a board that pages, whose page
// follows the clock (ui.BoardPageEvery): a longer period would show one
// page only, or some pages never.
func (r Refresh) of(st wire.State) time.Duration {
	if st.Phase != wire.PhaseDashboard {
		return r.Waiting
	}
	if ui.BoardPages(st.Board) > 1 {
		return min(r.Dashboard, ui.BoardPageEvery)
	}
	return r.Dashboard
}

// withRefresh gives a prerendered page its refresh period, for the
// fallback script (meta placard-refresh) and for browsers with scripts
// off (a refresh inside noscript).
func withRefresh(html []byte, every time.Duration) []byte {
	sec := strconv.Itoa(max(1, int(every.Round(time.Second)/time.Second)))
	tags := `<meta name="placard-refresh" content="` + sec + `"><noscript><meta http-equiv="refresh" content="` + sec + `"></noscript></head>`
	return bytes.Replace(html, []byte(`</head>`), []byte(tags), 1)
}

// arrivedFromElsewhere reports a page navigation that another site (or
// another origin of this site) started: a link followed, a redirect. The
// screen's cookies are SameSite=Strict, so the browser withheld them
// (Fetch Metadata says so: Sec-Fetch-Site); answering as to a new browser
// would register a new screen and leave the kiosk pairing or signing in
// again. A browser too old to send Sec-Fetch-Site is not told apart.
func arrivedFromElsewhere(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return r.Header.Get("Sec-Fetch-Mode") == "navigate"
	}
	return false
}

// reloadHere answers a page that asks the browser to load the same
// address again, by itself: that navigation is the page's own (same
// origin), and carries the screen's cookies.
func reloadHere(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.Write([]byte(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0"><title>placard</title></head><body></body></html>`))
}

// redirectToScreen sends "/" to the last screen this browser opened, or to
// a new name.
func (s *Server) redirectToScreen(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie(lastScreenCookie); err != nil && arrivedFromElsewhere(r) {
		reloadHere(w)
		return
	}
	name := ""
	if c, err := r.Cookie(lastScreenCookie); err == nil {
		if v, err := url.QueryUnescape(c.Value); err == nil && wire.ValidateName(v) == nil {
			name = v
		}
	}
	if name == "" {
		b := make([]byte, 2)
		rand.Read(b)
		name = "Screen " + strings.ToUpper(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))[:3]
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/?screen="+url.QueryEscape(name), http.StatusFound)
}

func (s *Server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	status := front.Status(err)
	if status >= 500 {
		s.Log.Error("serving a screen's page", "err", err)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, server.ErrorMessage(err), status)
}

// servePhoto serves the profile photo a screen shows, to that screen only:
// the request must carry the screen's credential (its cookie, which the
// browser sends with the image request), and the photo is the one the
// screen shows now. Anything else is 404, which says nothing of whether
// the screen or photo exists.
func (s *Server) servePhoto(w http.ResponseWriter, r *http.Request) {
	screenID, tag := r.PathValue("screen"), r.PathValue("tag")
	var data []byte
	var ctype string
	ok := false
	if cred := credentialFor(r, screenID); cred != nil {
		if _, err := s.Screens.Authenticate(r.Context(), *cred); err == nil {
			data, ctype, ok = s.Screens.Photo(screenID, tag)
		}
	}
	if !ok {
		w.Header().Set("Cache-Control", "no-store")
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(len(data)))
	// The URL names the content: it never changes, and it is this
	// screen's alone.
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	w.Write(data)
}

// credentialFor finds, among the request's screen cookies, the credential
// of the screen with id screenID. A photo's URL names the screen by id,
// and its cookie is named after the name the page was opened with, which
// a rename does not change.
func credentialFor(r *http.Request, screenID string) *screens.Credential {
	for _, c := range r.Cookies() {
		name := strings.TrimPrefix(c.Name, "__Host-")
		if !strings.HasPrefix(name, screenCookiePrefix) {
			continue
		}
		if cred, ok := screens.ParseCredential(c.Value); ok && cred.ScreenID == screenID {
			return &cred
		}
	}
	return nil
}
