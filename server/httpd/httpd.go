// Package httpd is the edge server's HTTP surface: the screen's pages
// (go-app, prerendered), its assets, the screens' WebSocket, health and
// metrics, and the sandbox's pages when it runs. Every response carries the
// security headers of docs/security.md.
package httpd

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/admin"
	"github.com/placard/placard/server/admit"
	"github.com/placard/placard/server/fleet"
	"github.com/placard/placard/server/front"
	"github.com/placard/placard/server/hub"
	"github.com/placard/placard/server/limit"
	"github.com/placard/placard/server/screens"
)

// Server holds what the HTTP surface serves.
type Server struct {
	Screens *screens.Manager
	Hub     *hub.Hub
	Assets  *Assets
	Log     *slog.Logger
	// Sandbox serves /sandbox/ when the server runs in sandbox mode.
	Sandbox http.Handler
	// Ready checks what /readyz reports: the store, the identity platform.
	// The message of a server.Error it returns is shown; the rest is logged.
	Ready func(ctx context.Context) error
	// Metrics serves /metrics; nil for none.
	Metrics http.Handler
	// Admin serves /admin and everything under it (the admin
	// application, adminhttp); nil for none.
	Admin http.Handler
	// Fleet is told of the screens seen by their page alone (a browser
	// without WebAssembly); nil for none.
	Fleet *fleet.Fleet
	// Presence serves /api/v1/presence to light keys; nil for none.
	Presence *Presence
	// ScreenNetworks, when set, are the only networks screens may connect
	// from (page and WebSocket).
	ScreenNetworks []netip.Prefix
	// NewScreens bounds the screens one client address may register
	// (DefaultNewScreens when zero).
	NewScreens limit.Rate
	// Front says which proxies are trusted and where clients reach the
	// server: it decides each request's client address and scheme.
	Front front.Front
	// Refresh is how often a screen's page renders again when its Wasm
	// does not run (DefaultRefreshWaiting and DefaultRefreshDashboard where zero).
	Refresh Refresh
	// SignInLinks and SignInCallbacks bound the phone's sign-in pages
	// per client address (DefaultSignInLinks, DefaultSignInCallbacks
	// when zero).
	SignInLinks     limit.Rate
	SignInCallbacks limit.Rate
	// Pages and SignIns bound the screens' page renders and the phone's
	// sign-in pages served at once, with a queue (DefaultPages,
	// DefaultSignIns when zero); past it, 503 and Retry-After.
	Pages, SignIns admit.Limits
	// OnCalm, when set, is told when pages or sign-in pages drain after a
	// storm (admit.Gate.OnCalm).
	OnCalm func()

	// Links enrolls the screens opened with a provisioning link
	// (/?link=...); nil for none.
	Links Links

	app                     *app.Handler
	pages, renders, signIns *admit.Gate
	newScreens              *limit.Limiter
}

// Links is what a provisioning link does for a screen that opens it
// (admin.Service).
type Links interface {
	ClaimLink(ctx context.Context, token string) (admin.Enrollment, error)
}

// DefaultPages bounds the screens' pages served at once. A page waits
// for its screen's state (a new screen's first code, from the identity
// platform), which takes the processor little; its render (renders) is
// bounded apart. When every TV of a building opens its page at once, 256
// wait for their state together and 4,096 more wait their turn for up to
// 20 s.
var DefaultPages = admit.Limits{Running: 256, Queue: 4096, Wait: 20 * time.Second}

// renders bounds go-app's prerenders of pages at once: work for the
// processor, deep in the stack, and with buffers of its own.
var renders = admit.Limits{Running: 8, Queue: 256, Wait: 20 * time.Second}

// DefaultSignIns bounds the phone's sign-in pages (the QR code's link and
// Microsoft's redirect back, which redeems the code) served at once.
var DefaultSignIns = admit.Limits{Running: 16, Queue: 1024, Wait: 20 * time.Second}

// Handler returns the server's root handler.
func (s *Server) Handler() http.Handler {
	installPrerender()
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	if s.Refresh.Waiting == 0 {
		s.Refresh.Waiting = DefaultRefreshWaiting
	}
	if s.Refresh.Dashboard == 0 {
		s.Refresh.Dashboard = DefaultRefreshDashboard
	}
	if s.Pages == (admit.Limits{}) {
		s.Pages = DefaultPages
	}
	if s.SignIns == (admit.Limits{}) {
		s.SignIns = DefaultSignIns
	}
	s.pages = admit.New("screens' pages", s.Pages)
	s.renders = admit.New("screens' pages", admit.Limits{Running: renders.Running, Queue: max(renders.Queue, s.Pages.Running), Wait: renders.Wait})
	s.signIns = admit.New("sign-ins", s.SignIns)
	if s.OnCalm != nil {
		s.pages.OnCalm(s.OnCalm)
		s.signIns.OnCalm(s.OnCalm)
	}
	s.newScreens = limit.New(s.newScreenRate(), nil)
	s.app = &app.Handler{
		Name:            "placard",
		ShortName:       "placard",
		Title:           "placard",
		Description:     "A signed-in Microsoft 365 display",
		Lang:            "en",
		BackgroundColor: screenColour,
		ThemeColor:      screenColour,
		LoadingLabel:    " ",
		Icon: app.Icon{
			Default:  "/web/icon-192.png",
			Large:    "/web/icon-512.png",
			Maskable: "/web/icon-maskable-512.png",
			SVG:      "/web/icon.svg",
		},
		Styles: []string{"/web/placard.css"},
		// Keeps the page current where the Wasm does not run; deferred,
		// it does not hold the first paint back.
		Scripts: []string{"/web/fallback.js defer"},
		// The screen's text waits for its font: preloaded, the font
		// arrives with the stylesheets instead of after them (first
		// paint at a TV's 4× slower processor: make bench).
		RawHeaders: []string{`<link rel="preload" href="/web/fonts/inter-latin.woff2" as="font" type="font/woff2" crossorigin>`},
		// go-app's font preload has no crossorigin, which makes browsers
		// fetch a font twice: the stylesheet loads it, the worker keeps it.
		CacheableResources:      []string{"/web/offline.html", "/web/fonts/inter-latin.woff2"},
		Resources:               s.Assets,
		Version:                 s.Assets.Version(),
		ServiceWorkerTemplate:   serviceWorker(s.Assets),
		WasmContentLengthHeader: "X-Content-Length",
	}

	mux := http.NewServeMux()
	mux.Handle("GET /ws", s.screensOnly(s.Hub))
	mux.Handle("GET "+wire.PhotoPath+"{screen}/{tag}", s.screensOnly(http.HandlerFunc(s.servePhoto)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		front.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	if s.Metrics != nil {
		mux.Handle("GET /metrics", s.Metrics)
	}
	if s.Sandbox != nil {
		mux.Handle("/sandbox/", s.Sandbox)
		mux.HandleFunc("GET /sandbox", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/sandbox/", http.StatusFound)
		})
	}
	s.registerSignIn(mux)
	mux.HandleFunc("GET /manifest.webmanifest", s.serveManifest)
	mux.HandleFunc("GET /manifest.json", s.serveManifest)
	if s.Admin != nil {
		mux.Handle("/admin", s.Admin)
		mux.Handle("/admin/", s.Admin)
	}
	if s.Presence != nil {
		if s.Presence.Log == nil {
			s.Presence.Log = s.Log
		}
		mux.HandleFunc("GET /api/v1/presence", s.Presence.serve)
	}
	mux.Handle("GET /{$}", s.screensOnly(s.pages.Handler(s.limitNewScreens(s.servePage), admit.RefusePage)))
	mux.Handle("/", s.app)
	return s.Front.Handler(securityHeaders(mux))
}

// contentSecurityPolicy lets the page load only from this origin; the Wasm
// needs 'wasm-unsafe-eval' and nothing else unsafe.
const contentSecurityPolicy = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; " +
	"img-src 'self' data:; style-src 'self'; font-src 'self'; manifest-src 'self'; worker-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets the headers of docs/security.md on every response.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if front.IsSecure(r) {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if front.IsSecure(r) || loopbackHost(r.Host) {
			// Browsers apply it only on a trustworthy origin, and report
			// an error on every page of any other (a TV on plain HTTP).
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
		}
		next.ServeHTTP(w, r)
	})
}

// loopbackHost reports whether a request's host is one that browsers
// trust without TLS: localhost or a loopback address.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := s.Ready(ctx); err != nil {
			// Anyone may ask: the answer is a sentence, the details
			// (addresses, URLs, the database's words) go to the log.
			s.Log.Warn("not ready", "err", err)
			front.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "error": server.ErrorMessage(err)})
			return
		}
	}
	front.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// serviceWorker is go-app's worker template replaced by ours (web/static),
// which never serves a page from the cache.
func serviceWorker(a *Assets) string {
	b, err := a.readStatic("app-worker.js")
	if err != nil {
		panic("httpd: web/static/app-worker.js is missing from the binary")
	}
	return string(b)
}

// Sockets adapts the screens manager to the hub: a connection proves which
// screen it is with the screen's cookie, named after the screen in hello.
// Each screen's connections are told to the fleet, when there is one.
type Sockets struct {
	Screens *screens.Manager
	Log     *slog.Logger
	// Fleet is told which screens are connected here; nil for none.
	Fleet *fleet.Fleet

	// agents are the User-Agent headers of the connections being set up,
	// by screen: Connected reads what Authenticate saw.
	agents sync.Map
}

var _ hub.Handler = (*Sockets)(nil)

// Authenticate reads the cookie of the screen named in hello.
func (k *Sockets) Authenticate(r *http.Request, hello wire.Hello) (string, error) {
	cred := credentialOf(r, hello.Screen)
	if cred == nil {
		return "", screens.ErrUnknownScreen
	}
	sc, err := k.Screens.Authenticate(r.Context(), *cred)
	if err != nil {
		return "", err
	}
	if k.Fleet != nil {
		k.agents.Store(sc.ID, r.UserAgent())
	}
	return sc.ID, nil
}

// Connected attaches the connection to its screen's session.
func (k *Sockets) Connected(screenID string, hello wire.Hello) error {
	if err := k.Screens.Attach(context.Background(), screenID, screens.Hello{Touch: hello.Touch}); err != nil {
		return err
	}
	if k.Fleet != nil {
		ua, _ := k.agents.LoadAndDelete(screenID)
		agent, _ := ua.(string)
		k.Fleet.Connected(screenID, fleet.Conn{AppVersion: hello.Version, UserAgent: agent, Touch: hello.Touch})
	}
	return nil
}

// Disconnected detaches it.
func (k *Sockets) Disconnected(screenID string) {
	k.Screens.Detach(screenID)
	if k.Fleet != nil {
		k.Fleet.Disconnected(screenID)
	}
}

// Received handles a screen's request.
func (k *Sockets) Received(screenID string, m wire.Message) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	switch m := m.(type) {
	case wire.SignOut:
		err = k.Screens.ScreenSignOut(ctx, screenID)
	case wire.QuickBook:
		err = k.Screens.QuickBook(ctx, screenID, m.Minutes)
	case wire.RoomAction:
		err = k.Screens.RoomAction(ctx, screenID, m)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		k.Log.Warn("handling a screen's request", "screen", screenID, "type", m.MessageType(), "err", err)
	}
}
