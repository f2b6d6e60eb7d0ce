// Package adminhttp is the admin application: the page for people and the
// JSON API for programs under /admin, with their sessions, CSRF checks and
// sign-ins (an admin token, or a Microsoft account holding the app role).
// It mounts on the edge server's HTTP surface (httpd) behind front.Front.
package adminhttp

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/admin"
	"github.com/placard/placard/server/buildinfo"
	"github.com/placard/placard/server/front"
	"github.com/placard/placard/server/identity"
	"github.com/placard/placard/server/limit"
	"github.com/placard/placard/server/secret"
)

// Admin serves /admin: the page for people and the JSON API for programs,
// where administrators approve, rename, configure, sign out and revoke
// screens and read the audit trail.
//
// Nothing there is reachable without proof of being an administrator:
//   - an admin token made on the server with `placard admin token`, sent
//     as "Authorization: Bearer" to the API, or entered once in the page's
//     login form, which then holds a session cookie (HttpOnly,
//     SameSite=Strict; a token never goes in a URL);
//   - or a sign-in with a Microsoft account, through the same device-code
//     grant as screens, whose validated id token carries the app role
//     server.AdminRole.
//
// A session cookie alone never changes anything: every form also carries
// the session's CSRF token, and a request that the browser marks as coming
// from another site is refused.
type Admin struct {
	// Ops runs what administrators do, checking each one's role and
	// auditing it; with Ops.Lights nil, the page and API leave light keys
	// out.
	Ops *admin.Service
	Log *slog.Logger
	// Now is the clock of sessions (time.Now when nil).
	Now func() time.Time
	// Identity and Verifier enable signing in with a Microsoft account;
	// nil leaves admin tokens only.
	Identity *identity.Client
	Verifier *identity.Verifier
	// RedirectURI is where the identity platform sends an administrator's
	// browser back (<public URL>/admin/signin/callback): the sign-in by
	// redirect (authorization code with PKCE). "" leaves the device code
	// only.
	RedirectURI string
	// About is shown on the page.
	About About
	// PublicURL is where kiosks reach the server: provisioning links
	// start with it (the request's own origin when "").
	PublicURL string
	// Render draws the previews of screens (httpd.Server.Preview); nil
	// draws none.
	Render Renderer
	// LoginFailures bounds failed sign-ins (wrong tokens) per client
	// address: 10 in 15 minutes by default.
	LoginFailures limit.Rate
	// SignIns bounds the Microsoft sign-ins started per client address
	// (3 in 10 minutes by default), and SignInsTotal those of everyone (10
	// in 10 minutes): each mints a device code, and they have a budget of
	// their own so that they cannot use up the screens'.
	SignIns      limit.Rate
	SignInsTotal limit.Rate
	// Networks, when set, are the only networks /admin (page and API)
	// answers to.
	Networks []netip.Prefix
	// SessionLifetime is how long a sign-in lasts: 8 hours by default.
	SessionLifetime time.Duration
	// MicrosoftSessionLifetime is how long a sign-in with a Microsoft
	// account lasts (1 hour by default, at most SessionLifetime): its role
	// is read once, from the id token, and an Entra administrator who
	// removes it expects that to count soon.
	MicrosoftSessionLifetime time.Duration

	once     sync.Once
	failures *limit.Limiter
	starts   *limit.Limiter // Microsoft sign-ins, by address and "all"
	total    *limit.Limiter
	ctx      context.Context // ends at Close
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu       sync.Mutex
	sessions map[string]*adminSession // by hash of the session's secret
	signins  map[string]*adminSignIn  // by hash of the sign-in's secret
	// redirects are the sign-ins by redirect in progress, by hash of
	// their state.
	redirects map[string]*adminRedirect
}

// About is what the admin page says of the server's configuration.
type About struct {
	Mode           string // "sandbox" or the authority
	Enrollment     string // "automatic" or "by an administrator"
	Scopes         []string
	AllowedTenants []string
	// AdminTenant is the tenant whose accounts may sign in as
	// administrators with the app role.
	AdminTenant string
	// SignIn is how screens sign in by default (-sign-in), and SignInWhy
	// why that is the default.
	SignIn    string
	SignInWhy string
	// SignInByQR is false where screens cannot sign in by QR code (no
	// https public URL).
	SignInByQR bool
	// QuickBook is true when screens may book (the server asks for the
	// permission to write to calendars): the per-screen setting matters
	// only then.
	QuickBook bool
	// Build is the binary's version, commit and Go version, as `placard
	// version` prints them.
	Build buildinfo.Info
}

type adminSession struct {
	who     admin.Actor
	csrf    string
	expires time.Time
	flash   string // one message for the next page
	// id names the session to administrators: random, unrelated to its
	// secret, so that listing sessions shows nothing of a secret or its
	// hash. started is when it began; how says how (an admin token or a
	// Microsoft account, on the page or through the API), from the
	// address it began from.
	id      string
	started time.Time
	how     string
	from    string
}

// A session (after a sign-in through the API) is "pses_<secret>", and
// lives in this replica's memory only.
const sessionPrefix = "pses_"

// How a session began, as the admin page lists them.
const (
	viaPage = "on the admin page"
	viaAPI  = "through the API"
)

func (a *Admin) init() {
	a.once.Do(func() {
		if a.Log == nil {
			a.Log = slog.New(slog.DiscardHandler)
		}
		if a.Now == nil {
			a.Now = time.Now
		}
		if a.LoginFailures == (limit.Rate{}) {
			a.LoginFailures = limit.Rate{Max: 10, Per: 15 * time.Minute}
		}
		if a.SessionLifetime == 0 {
			a.SessionLifetime = 8 * time.Hour
		}
		if a.MicrosoftSessionLifetime == 0 {
			a.MicrosoftSessionLifetime = time.Hour
		}
		a.MicrosoftSessionLifetime = min(a.MicrosoftSessionLifetime, a.SessionLifetime)
		if a.SignIns == (limit.Rate{}) {
			a.SignIns = limit.Rate{Max: 3, Per: 10 * time.Minute}
		}
		if a.SignInsTotal == (limit.Rate{}) {
			a.SignInsTotal = limit.Rate{Max: 10, Per: 10 * time.Minute}
		}
		a.failures = limit.New(a.LoginFailures, a.Now)
		a.starts = limit.New(a.SignIns, a.Now)
		a.total = limit.New(a.SignInsTotal, a.Now)
		a.ctx, a.cancel = context.WithCancel(context.Background())
		a.sessions = map[string]*adminSession{}
		a.signins = map[string]*adminSignIn{}
		a.redirects = map[string]*adminRedirect{}
	})
}

// Close ends the sign-ins in progress and waits for them.
func (a *Admin) Close() {
	a.init()
	a.cancel()
	a.wg.Wait()
}

// Handler serves /admin and everything under it, behind the Networks
// guard. It expects to be behind front.Front's Handler, which says who the
// client is and whether it uses HTTPS.
func (a *Admin) Handler() http.Handler {
	a.init()
	mux := http.NewServeMux()
	// The page.
	mux.HandleFunc("GET /admin", a.page(a.dashboard))
	mux.HandleFunc("GET /admin/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin", http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /admin/admin.css", serveAdminCSS)
	mux.HandleFunc("POST /admin/login", a.sameSite(a.login))
	mux.HandleFunc("POST /admin/logout", a.form(a.logout))
	mux.HandleFunc("POST /admin/signin", a.sameSite(a.startPageSignIn))
	mux.HandleFunc("GET /admin/signin", a.pageSignIn)
	mux.HandleFunc("POST /admin/signin/redirect", a.sameSite(a.startRedirect))
	mux.HandleFunc("GET "+CallbackPath, a.callback)
	mux.HandleFunc("GET /admin/screens/{id}", a.page(a.screenPage))
	mux.HandleFunc("GET /admin/groups/{id}", a.page(a.groupPage))
	mux.HandleFunc("GET /admin/screens/{id}/preview", a.page(a.pagePreview))
	mux.HandleFunc("GET /admin/preview.css", servePreviewCSS)
	for _, rt := range a.formRoutes() {
		mux.HandleFunc(rt.pattern, a.form(rt.form))
	}
	// The API.
	for _, rt := range a.apiRoutes() {
		mux.HandleFunc(rt.pattern, a.api(rt.api))
	}
	mux.HandleFunc("POST /admin/api/signin", a.apiStartSignIn)
	mux.HandleFunc("POST /admin/api/signin/poll", a.apiPollSignIn)
	mux.HandleFunc("/admin/api/", func(w http.ResponseWriter, r *http.Request) {
		front.WriteError(w, server.Errorf(server.ENOTFOUND, "no such admin API: %s %s", r.Method, r.URL.Path))
	})
	return front.NetworksOnly(a.Networks, a.Log, "administrators", "-admin-networks", mux)
}

// route is one of the admin application's endpoints that need a role.
type route struct {
	pattern string
	form    func(w http.ResponseWriter, r *http.Request, s *adminSession, secret string)
	api     func(w http.ResponseWriter, r *http.Request, p admin.Actor)
}

// formRoutes are the page's forms: each needs the session's cookie and
// CSRF token, and the role of what it does (admin.Service checks it).
func (a *Admin) formRoutes() []route {
	rs := []route{
		{pattern: "POST /admin/approve", form: a.approveForm},
		{pattern: "POST /admin/sessions/{id}/end", form: a.endSessionForm},
		{pattern: "POST /admin/screens/{id}/group", form: a.screenGroupForm},
		{pattern: "POST /admin/screens/{id}/{action}", form: a.screenForm},
		{pattern: "POST /admin/groups", form: a.addGroupForm},
		{pattern: "POST /admin/groups/{id}/{action}", form: a.groupForm},
		{pattern: "POST /admin/links/{id}/revoke", form: a.revokeLinkForm},
		{pattern: "POST /admin/tokens", form: a.addTokenForm},
		{pattern: "POST /admin/tokens/{id}/revoke", form: a.revokeTokenForm},
	}
	if a.Ops == nil || a.Ops.Lights != nil {
		rs = append(rs,
			route{pattern: "POST /admin/lights", form: a.addLightForm},
			route{pattern: "POST /admin/lights/{id}/revoke", form: a.revokeLightForm})
	}
	return rs
}

// apiRoutes are the admin API's endpoints: each needs an admin token or
// an API session, and the role of what it does.
func (a *Admin) apiRoutes() []route {
	rs := []route{
		{pattern: "GET /admin/api/screens", api: a.apiScreens},
		{pattern: "GET /admin/api/screens/{id}", api: a.apiScreen},
		{pattern: "POST /admin/api/screens/approve", api: a.apiApprove},
		{pattern: "POST /admin/api/screens/{id}/approve", api: a.apiApproveID},
		{pattern: "PUT /admin/api/screens/{id}/name", api: a.apiRename},
		{pattern: "PUT /admin/api/screens/{id}/settings", api: a.apiSettings},
		{pattern: "POST /admin/api/screens/{id}/sign-out", api: a.apiSignOut},
		{pattern: "POST /admin/api/screens/{id}/revoke", api: a.apiRevoke},
		{pattern: "PUT /admin/api/screens/{id}/group", api: a.apiScreenGroup},
		{pattern: "POST /admin/api/screens/{id}/reload", api: a.apiReload},
		{pattern: "POST /admin/api/screens/{id}/identify", api: a.apiIdentify},
		{pattern: "GET /admin/api/screens/{id}/preview", api: a.apiPreview},
		{pattern: "POST /admin/api/groups", api: a.apiCreateGroup},
		{pattern: "GET /admin/api/groups", api: a.apiGroups},
		{pattern: "GET /admin/api/groups/{id}", api: a.apiGroup},
		{pattern: "PUT /admin/api/groups/{id}", api: a.apiUpdateGroup},
		{pattern: "DELETE /admin/api/groups/{id}", api: a.apiDeleteGroup},
		{pattern: "PUT /admin/api/groups/{id}/settings", api: a.apiGroupSettings},
		{pattern: "POST /admin/api/groups/{id}/sign-out", api: a.apiSignOutGroup},
		{pattern: "POST /admin/api/groups/{id}/links", api: a.apiCreateLink},
		{pattern: "GET /admin/api/links", api: a.apiLinks},
		{pattern: "DELETE /admin/api/links/{id}", api: a.apiRevokeLink},
		{pattern: "POST /admin/api/tokens", api: a.apiCreateToken},
		{pattern: "GET /admin/api/tokens", api: a.apiTokens},
		{pattern: "DELETE /admin/api/tokens/{id}", api: a.apiRevokeToken},
		{pattern: "GET /admin/api/audit", api: a.apiAudit},
		{pattern: "GET /admin/api/sessions", api: a.apiSessions},
		{pattern: "DELETE /admin/api/sessions/{id}", api: a.apiEndSession},
	}
	if a.Ops == nil || a.Ops.Lights != nil {
		rs = append(rs,
			route{pattern: "POST /admin/api/lights", api: a.apiAddLight},
			route{pattern: "GET /admin/api/lights", api: a.apiLights},
			route{pattern: "DELETE /admin/api/lights/{id}", api: a.apiRevokeLight})
	}
	return rs
}

// Endpoints lists the patterns of the admin API and of the page's forms,
// every one of which checks the role of who asks: tests hold a table of
// them all against each role.
func Endpoints() []string {
	var a Admin
	var out []string
	for _, rt := range append(a.formRoutes(), a.apiRoutes()...) {
		out = append(out, rt.pattern)
	}
	return out
}

// Guard serves h to administrators only: a client in the admin networks,
// when they are set, or one whose Authorization header proves an admin
// token or API session, of any role (a viewer reads). /metrics is served
// so: it shows sign-ins as they happen.
func (a *Admin) Guard(h http.Handler) http.Handler {
	a.init()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(a.Networks) > 0 && front.InNetworks(r, a.Networks) {
			h.ServeHTTP(w, r)
			return
		}
		if _, err := a.bearer(r); err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="placard"`)
			front.WriteError(w, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// tooManyFailures refuses a request from an address that failed to sign
// in too often.
func (a *Admin) tooManyFailures(r *http.Request) error {
	if n := a.failures.Count(front.ClientKey(r)); n >= a.LoginFailures.Max {
		return server.Errorf(server.ETOOMANY, "too many failed sign-ins from %s: try again in %v", front.ClientKey(r), a.LoginFailures.Per)
	}
	return nil
}

// failed counts a failed sign-in of the request's address, and audits it.
func (a *Admin) failed(r *http.Request, how, detail string) {
	a.failures.Allow(front.ClientKey(r))
	a.audit(r.Context(), server.AuditEvent{Kind: server.AuditAdminSignIn, Outcome: "refused",
		Detail: how + " from " + front.ClientAddr(r) + ": " + detail})
}

func (a *Admin) audit(ctx context.Context, e server.AuditEvent) {
	e.Time = a.Now()
	a.Ops.Audit(ctx, e)
}

// bearer returns who the request's Authorization header proves: an admin
// token, or the session of a sign-in through the API.
func (a *Admin) bearer(r *http.Request) (admin.Actor, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return admin.Actor{}, server.Errorf(server.EUNAUTHORIZED, "the admin API needs an Authorization: Bearer header with an admin token (placard admin token)")
	}
	scheme, tok, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return admin.Actor{}, server.Errorf(server.EUNAUTHORIZED, "the Authorization header must be \"Bearer <admin token>\"")
	}
	// A token is checked before the lockout: wrong ones from the same
	// address (anyone behind the same NAT or proxy) must not lock out the
	// right one. An address that failed too often gets no other answer.
	tok = strings.TrimSpace(tok)
	if strings.HasPrefix(tok, sessionPrefix) {
		if s := a.liveSession(r.Context(), strings.TrimPrefix(tok, sessionPrefix)); s != nil {
			return s.who, nil
		}
		if err := a.tooManyFailures(r); err != nil {
			return admin.Actor{}, err
		}
		a.failed(r, "API session", "unknown or expired session")
		return admin.Actor{}, server.Errorf(server.EUNAUTHORIZED, "that session has ended: sign in again")
	}
	t, err := a.Ops.CheckToken(r.Context(), tok)
	if err != nil {
		if server.ErrorCode(err) == server.EUNAUTHORIZED {
			if err := a.tooManyFailures(r); err != nil {
				return admin.Actor{}, err
			}
			a.failed(r, "API token", "wrong token")
		}
		return admin.Actor{}, err
	}
	return admin.TokenActor(t), nil
}

// lifetime is how long a session of who lasts.
func (a *Admin) lifetime(who admin.Actor) time.Duration {
	if who.TokenID == "" {
		return a.MicrosoftSessionLifetime
	}
	return a.SessionLifetime
}

// newSession starts a session for who, begun via the page or the API
// from an address, and returns its secret.
func (a *Admin) newSession(who admin.Actor, via, from string) (string, *adminSession) {
	sid := secret.New()
	how := "Microsoft account, " + via
	if who.TokenID != "" {
		how = "admin token, " + via
	}
	s := &adminSession{who: who, csrf: secret.New(), expires: a.Now().Add(a.lifetime(who)), started: a.Now(),
		id: secret.NewID(), how: how, from: from}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.Now()
	for k, old := range a.sessions {
		if now.After(old.expires) {
			delete(a.sessions, k)
		}
	}
	a.sessions[hashKey(sid)] = s
	return sid, s
}

// session returns the live session of a secret, or nil.
func (a *Admin) session(secret string) *adminSession {
	if secret == "" || len(secret) > 100 {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	k := hashKey(secret)
	s := a.sessions[k]
	if s != nil && a.Now().After(s.expires) {
		delete(a.sessions, k)
		return nil
	}
	return s
}

// liveSession is session, and also ends a session whose admin token was
// deleted meanwhile (by `placard admin revoke-token`, in another process).
func (a *Admin) liveSession(ctx context.Context, secret string) *adminSession {
	s := a.session(secret)
	if s == nil || s.who.TokenID == "" {
		return s
	}
	if _, err := a.Ops.Store.AdminToken(ctx, s.who.TokenID); server.IsNotFound(err) {
		a.endSession(secret)
		return nil
	} else if err != nil {
		a.Log.Error("checking the admin token of a session", "err", err)
		return nil
	}
	return s
}

func (a *Admin) endSession(secret string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, hashKey(secret))
}

// sessionView is a live session as administrators see it: never its
// secret, nor its secret's hash.
type sessionView struct {
	ID      string    `json:"id"`
	Who     string    `json:"who"`
	How     string    `json:"how"`
	From    string    `json:"from"`
	Started time.Time `json:"started"`
	Expires time.Time `json:"expires_at"`
	// Current is the session of the page that lists them.
	Current bool `json:"-"`
}

// liveSessions lists the live sessions, newest first; current (nil for
// none) is marked.
func (a *Admin) liveSessions(current *adminSession) []sessionView {
	out := []sessionView{}
	a.mu.Lock()
	now := a.Now()
	for _, s := range a.sessions {
		if now.Before(s.expires) {
			out = append(out, sessionView{ID: s.id, Who: s.who.Who, How: s.how, From: s.from,
				Started: s.started.UTC(), Expires: s.expires.UTC(), Current: s == current})
		}
	}
	a.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Started.After(out[j].Started) })
	return out
}

// endSessionByID ends the session an administrator named by its id, at
// once, and audits it.
// Ending one's own session takes no role; another's takes an admin.
func (a *Admin) endSessionByID(ctx context.Context, id string, by admin.Actor, self *adminSession) (*adminSession, error) {
	if self == nil || self.id != id {
		if err := by.Check(admin.Administer, "ending another's admin session"); err != nil {
			return nil, err
		}
	}
	a.mu.Lock()
	var ended *adminSession
	for k, s := range a.sessions {
		if s.id == id {
			ended = s
			delete(a.sessions, k)
		}
	}
	a.mu.Unlock()
	if ended == nil {
		return nil, server.Errorf(server.ENOTFOUND, "no session %q on this edge server: it has ended, or it belongs to another replica", id)
	}
	account := ""
	if ended.who.TokenID == "" {
		account = ended.who.Who // a Microsoft account
	}
	a.audit(ctx, server.AuditEvent{Kind: server.AuditAdminSignIn, Account: account, Outcome: "ended",
		Detail: "session " + id + " of " + ended.who.Who + " ended by " + by.Who})
	return ended, nil
}

// hashKey keys secrets in maps by their hash, so that a map lookup's timing
// says nothing about a secret.
func hashKey(s string) string {
	return hex.EncodeToString(secret.Hash(s))
}

// adminCookie is the page's session cookie; __Host- over HTTPS pins it to
// this host.
func adminCookie(r *http.Request) string {
	if front.IsSecure(r) {
		return "__Host-placard_admin"
	}
	return "placard_admin"
}

func setAdminCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: front.IsSecure(r), SameSite: http.SameSiteStrictMode,
	})
}

// pageSession returns the session of the page's cookie, or nil.
func (a *Admin) pageSession(r *http.Request) (*adminSession, string) {
	c, err := r.Cookie(adminCookie(r))
	if err != nil {
		return nil, ""
	}
	return a.liveSession(r.Context(), c.Value), c.Value
}

// sameSite refuses cross-site requests to h: the login forms, which have
// no session yet.
func (a *Admin) sameSite(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if front.CrossSite(r) {
			http.Error(w, "refused: this form may only be sent from placard's own admin page", http.StatusForbidden)
			return
		}
		h(w, r)
	}
}

// page serves h to a signed-in administrator, and the login page to
// anyone else.
func (a *Admin) page(h func(w http.ResponseWriter, r *http.Request, s *adminSession)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, _ := a.pageSession(r)
		if s == nil {
			a.renderLogin(w, r, http.StatusOK, "")
			return
		}
		h(w, r, s)
	}
}

// form serves a state-changing form of a signed-in administrator: it needs
// the session cookie, the session's CSRF token, and a same-site request.
func (a *Admin) form(h func(w http.ResponseWriter, r *http.Request, s *adminSession, secret string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if front.CrossSite(r) {
			http.Error(w, "refused: this form may only be sent from placard's own admin page", http.StatusForbidden)
			return
		}
		s, secret := a.pageSession(r)
		if s == nil {
			a.renderLogin(w, r, http.StatusUnauthorized, "Your session has ended: sign in again.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "the form could not be read", http.StatusBadRequest)
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(s.csrf)) != 1 {
			http.Error(w, "refused: the form's CSRF token does not match your session; reload the admin page and try again", http.StatusForbidden)
			return
		}
		h(w, r, s, secret)
	}
}

// api serves h to a request that carries an admin token or session.
func (a *Admin) api(h func(w http.ResponseWriter, r *http.Request, p admin.Actor)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := a.bearer(r)
		if err != nil {
			if server.ErrorCode(err) == server.EUNAUTHORIZED {
				w.Header().Set("WWW-Authenticate", `Bearer realm="placard admin"`)
			}
			front.WriteError(w, err)
			return
		}
		h(w, r, p)
	}
}
