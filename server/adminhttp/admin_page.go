package adminhttp

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/placard/placard/app/ui"
	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/admin"
	"github.com/placard/placard/server/front"
	"github.com/placard/placard/server/identity"
	"github.com/placard/placard/server/lights"
)

// The admin page is plain HTML from html/template (which escapes every
// value, attributes included) with forms and no script, under the same
// Content-Security-Policy as everything else.

//go:embed admin
var adminFS embed.FS

var adminTmpl = template.Must(template.New("admin").Funcs(template.FuncMap{
	"utc": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"stateLabel": func(s string) string {
		switch s {
		case "pending":
			return "waiting for approval"
		case "signed_in":
			return "signed in"
		}
		return "enrolled, signed out"
	},
	"signInLabel": signInLabel,
	"join":        strings.Join,
	// groupName names a group by its id.
	"groupName": func(groups []groupJSON, id string) string {
		for _, g := range groups {
			if g.ID == id {
				return g.Name
			}
		}
		return id
	},
	"duration": func(d duration) string { return time.Duration(d).String() },
	// fields is the data of the settings fields: the settings, the
	// page, and the fields a screen in a group sets itself.
	"fields": func(set settingsJSON, p pageData, grouped bool) map[string]any {
		return map[string]any{"S": set, "P": p, "Own": p.Own, "Grouped": grouped}
	},
}).ParseFS(adminFS, "admin/*.html"))

// signInLabel names a sign-in mode for people.
func signInLabel(mode string) string {
	switch mode {
	case server.SignInQR:
		return "QR code"
	case server.SignInBoth:
		return "QR code, or a code"
	}
	return "a code (device code)"
}

func serveAdminCSS(w http.ResponseWriter, r *http.Request) {
	b, err := adminFS.ReadFile("admin/admin.css")
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}

// language is an option of the settings form.
type language struct{ Tag, Name string }

// languagesFor are the options of a screen's language: those the screen
// speaks (app/ui), and the screen's own tag when it is another ("fr-CA",
// set through the API), so that saving the form keeps it.
func languagesFor(current string) []language {
	opts := []language{{"", "Default (English)"}}
	for _, l := range ui.Languages() {
		opts = append(opts, language{l.Tag, l.Name})
	}
	if !slices.ContainsFunc(opts, func(l language) bool { return l.Tag == current }) {
		opts = append(opts, language{current, current + " (" + ui.LanguageName(current) + ")"})
	}
	return opts
}

// pageData is what every admin template receives.
type pageData struct {
	Title           string
	Session         *admin.Actor
	CSRF            string
	Flash, Error    string
	Refresh         int
	About           About
	MicrosoftSignIn bool
	RedirectSignIn  bool
	Role            string
	Screens         []screenJSON
	Screen          *screenJSON
	Audit           []server.AuditEvent
	Sessions        []sessionView
	// self is the session of the page, for marking it in Sessions.
	self      *adminSession
	Languages []language
	Code      identity.Code // of a Microsoft sign-in in progress
	// Lights are the light keys, when the server has them; NewLight is
	// the one just made, whose key the page shows once.
	LightsOn bool
	Lights   []lightJSON
	NewLight *newLightJSON
	// Can is what the signed-in role may do: the page offers nothing
	// else (and every action checks again).
	Can can
	// Groups are the fleet's groups; Group the one a group's page shows,
	// with its screens and links; NewLink the link just made, whose
	// address the page shows once.
	Groups       []groupJSON
	Group        *groupJSON
	GroupScreens []screenJSON
	Links        []linkJSON
	NewLink      *linkJSON
	// NewSecret is a webhook secret just made, shown once.
	NewSecret string
	// Tokens are the admin tokens (admins only); NewToken the one just
	// made, shown once.
	Tokens   []tokenJSON
	NewToken *newTokenJSON
	Roles    []string
	// Own are the settings (by the API's names) that the page's screen
	// sets over its group's.
	Own map[string]bool
	// PreviewEvery is how often a screen's preview is drawn again.
	PreviewEvery time.Duration
}

// can is what a role may do, for the page.
type can struct{ Operate, Administer bool }

func canOf(who admin.Actor) can {
	return can{Operate: admin.Can(who.Role, admin.Operate), Administer: admin.Can(who.Role, admin.Administer)}
}

// newTokenJSON is an admin token just made: the token is in it, and never
// again.
type newTokenJSON struct {
	ID, Name, Role, Token string
}

// render executes a template into a buffer first, so that a failure is a
// clean 500 and never half a page.
func (a *Admin) render(w http.ResponseWriter, status int, name string, data pageData) {
	var buf bytes.Buffer
	if err := adminTmpl.ExecuteTemplate(&buf, name, data); err != nil {
		a.Log.Error("rendering the admin page", "template", name, "err", err)
		http.Error(w, "the admin page could not be drawn", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (a *Admin) renderLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	a.render(w, status, "login", pageData{
		Title: "Sign in", Error: msg, About: a.About,
		MicrosoftSignIn: a.Identity != nil && a.Verifier != nil, RedirectSignIn: a.RedirectURI != "", Role: server.AdminRole,
	})
}

// base is the data of a signed-in page, taking the session's flash.
func (a *Admin) base(s *adminSession, title string) pageData {
	a.mu.Lock()
	flash := s.flash
	s.flash = ""
	a.mu.Unlock()
	who := s.who
	return pageData{Title: title, Session: &who, CSRF: s.csrf, Flash: flash, About: a.About, Role: server.AdminRole, self: s, PreviewEvery: PreviewEvery,
		Can: canOf(who), Roles: []string{server.RoleViewer, server.RoleOperator, server.RoleAdmin}}
}

func (a *Admin) dashboard(w http.ResponseWriter, r *http.Request, s *adminSession) {
	a.renderDashboard(w, r, s, http.StatusOK, "")
}

func (a *Admin) renderDashboard(w http.ResponseWriter, r *http.Request, s *adminSession, status int, errMsg string) {
	d := a.base(s, "Screens")
	d.Error = errMsg
	a.renderDashboardData(w, r, d, status)
}

func (a *Admin) renderDashboardData(w http.ResponseWriter, r *http.Request, d pageData, status int) {
	all, err := a.Ops.ListScreens(r.Context(), d.self.who)
	if err != nil {
		a.Log.Error("admin page: listing screens", "err", err)
		d.Error = "The screens could not be read: see the server's log."
	}
	for _, st := range all {
		d.Screens = append(d.Screens, toScreenJSON(st))
	}
	if a.Ops.Lights != nil {
		d.LightsOn = true
		all, err := a.Ops.ListLights(r.Context(), d.self.who)
		if err != nil {
			a.Log.Error("admin page: listing light keys", "err", err)
			d.Error = "The light keys could not be read: see the server's log."
		}
		for _, l := range all {
			d.Lights = append(d.Lights, toLightJSON(l))
		}
	}
	groups, err := a.Ops.ListGroups(r.Context(), d.self.who)
	if err != nil {
		a.Log.Error("admin page: listing groups", "err", err)
		d.Error = "The groups could not be read: see the server's log."
	}
	for _, g := range groups {
		d.Groups = append(d.Groups, toGroupJSON(g.Group, g.Screens))
	}
	if d.Can.Administer {
		tokens, err := a.Ops.ListTokens(r.Context(), d.self.who)
		if err != nil {
			a.Log.Error("admin page: listing admin tokens", "err", err)
		}
		for _, t := range tokens {
			d.Tokens = append(d.Tokens, tokenJSON{ID: t.ID, Name: t.Name, Role: t.Role, CreatedAt: t.CreatedAt})
		}
	}
	d.Sessions = a.liveSessions(d.self)
	if d.Audit, err = a.Ops.AuditTrail(r.Context(), d.self.who, 50); err != nil {
		a.Log.Error("admin page: reading the audit trail", "err", err)
	}
	a.render(w, status, "dashboard", d)
}

// endSessionForm ends an admin session from the page. Ending one's own
// signs the browser out, as the sign-out button does.
func (a *Admin) endSessionForm(w http.ResponseWriter, r *http.Request, s *adminSession, _ string) {
	ended, err := a.endSessionByID(r.Context(), r.PathValue("id"), s.who, s)
	if err != nil {
		a.pageFailure(w, r, s, "", err)
		return
	}
	if ended == s {
		setAdminCookie(w, r, adminCookie(r), "", -1)
		http.Redirect(w, r, "/admin", http.StatusSeeOther)
		return
	}
	a.flash(s, "Ended the session of "+ended.who.Who+": it is signed out at once.")
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}

func (a *Admin) addLightForm(w http.ResponseWriter, r *http.Request, s *adminSession, _ string) {
	n := lights.New{Name: r.PostForm.Get("name"), Account: r.PostForm.Get("account"), MQTT: r.PostForm.Get("mqtt") == "on"}
	if hooks := strings.Fields(r.PostForm.Get("webhooks")); len(hooks) > 0 {
		n.Webhooks = hooks
	}
	made, err := a.Ops.MakeLight(r.Context(), s.who, n)
	if err != nil {
		a.pageFailure(w, r, s, "", err)
		return
	}
	// The key is shown on this answer only: no redirect, no flash that
	// would keep it in memory.
	d := a.base(s, "Screens")
	nl := toNewLightJSON(made)
	d.NewLight = &nl
	a.renderDashboardData(w, r, d, http.StatusOK)
}

func (a *Admin) revokeLightForm(w http.ResponseWriter, r *http.Request, s *adminSession, _ string) {
	l, err := a.Ops.RevokeLight(r.Context(), s.who, r.PathValue("id"))
	if err != nil {
		a.pageFailure(w, r, s, "", err)
		return
	}
	a.flash(s, "Revoked the light key "+l.Name+": it stopped working at once.")
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}

func (a *Admin) screenPage(w http.ResponseWriter, r *http.Request, s *adminSession) {
	a.renderScreen(w, r, s, r.PathValue("id"), http.StatusOK, "")
}

func (a *Admin) renderScreen(w http.ResponseWriter, r *http.Request, s *adminSession, id string, status int, errMsg string) {
	st, err := a.Ops.Screen(r.Context(), s.who, id)
	if err != nil {
		if errMsg == "" {
			status, errMsg = front.Status(err), server.ErrorMessage(err)
		}
		// Otherwise the failure being shown is the one to tell.
		a.renderDashboard(w, r, s, status, errMsg)
		return
	}
	d := a.base(s, st.Screen.Name)
	d.Error = errMsg
	sj := toScreenJSON(st)
	d.Screen = &sj
	d.Languages = languagesFor(st.Screen.Settings.Lang)
	d.Own = map[string]bool{}
	for _, o := range sj.Overrides {
		d.Own[o] = true
	}
	groups, err := a.Ops.ListGroups(r.Context(), s.who)
	if err != nil {
		a.Log.Error("admin page: listing groups", "err", err)
	}
	for _, g := range groups {
		gj := toGroupJSON(g.Group, g.Screens)
		d.Groups = append(d.Groups, gj)
		if g.Group.ID == st.Screen.Group {
			d.Group = &gj
		}
	}
	a.render(w, status, "screen", d)
}

// login signs a browser in with an admin token.
func (a *Admin) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		a.renderLogin(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	// The token is checked before the lockout, as the API's (bearer).
	t, err := a.Ops.CheckToken(r.Context(), r.PostForm.Get("token"))
	if err != nil {
		if server.ErrorCode(err) == server.EUNAUTHORIZED {
			if err := a.tooManyFailures(r); err != nil {
				a.renderLogin(w, r, http.StatusTooManyRequests, server.ErrorMessage(err))
				return
			}
			a.failed(r, "page token", "wrong token")
		} else {
			a.Log.Error("checking an admin token", "err", err)
		}
		a.renderLogin(w, r, front.Status(err), server.ErrorMessage(err)+".")
		return
	}
	who := admin.TokenActor(t)
	secret, _ := a.newSession(who, viaPage, front.ClientAddr(r))
	a.audit(r.Context(), server.AuditEvent{Kind: server.AuditAdminSignIn, Outcome: "ok",
		Detail: who.Who + " from " + front.ClientAddr(r)})
	setAdminCookie(w, r, adminCookie(r), secret, int(a.SessionLifetime/time.Second))
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}

func (a *Admin) logout(w http.ResponseWriter, r *http.Request, s *adminSession, secret string) {
	a.endSession(secret)
	setAdminCookie(w, r, adminCookie(r), "", -1)
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}

func (a *Admin) approveForm(w http.ResponseWriter, r *http.Request, s *adminSession, _ string) {
	sc, err := a.Ops.Approve(r.Context(), s.who, r.PostForm.Get("pairing_number"))
	if err != nil {
		a.pageFailure(w, r, s, "", err)
		return
	}
	a.flash(s, "Approved "+sc.Name+": it shows a sign-in code now.")
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}

// screenForm runs one action on a screen from the page.
func (a *Admin) screenForm(w http.ResponseWriter, r *http.Request, s *adminSession, _ string) {
	id, by, ctx := r.PathValue("id"), s.who, r.Context()
	back := "/admin/screens/" + id
	var (
		sc  server.Screen
		err error
		msg string
	)
	switch r.PathValue("action") {
	case "approve":
		sc, err = a.Ops.Approve(ctx, by, id)
		msg, back = "Approved "+sc.Name+": it shows a sign-in code now.", "/admin"
	case "sign-out":
		sc, err = a.Ops.SignOut(ctx, by, id)
		msg, back = "Signed "+sc.Name+" out.", "/admin"
	case "revoke":
		sc, err = a.Ops.Revoke(ctx, by, id)
		msg, back = "Revoked "+sc.Name+": its browser must be approved again.", "/admin"
	case "reload":
		sc, err = a.Ops.Reload(ctx, by, id)
		msg = "Told " + sc.Name + " to reload: it comes back with the app's current version."
	case "identify":
		var shown wire.Identify
		shown, err = a.Ops.Identify(ctx, by, id)
		sc.Name = shown.Name
		msg = shown.Name + " shows its name and the number " + shown.Number + " over everything until " + shown.Until.UTC().Format("15:04:05 UTC") + "."
	case "rename":
		sc, err = a.Ops.Rename(ctx, by, id, r.PostForm.Get("name"))
		msg = "Renamed to " + sc.Name + "."
	case "settings":
		set := formSettings(r)
		// In a group, a field is the screen's own where its box "own" is
		// ticked; outside a group, they all are.
		var own []string
		for j, f := range settingNames {
			if r.PostForm.Get("own_"+j) == "on" {
				own = append(own, f)
			}
		}
		sc, err = a.Ops.SetScreenSettings(ctx, by, id, set, own)
		msg = "Saved the settings of " + sc.Name + "."
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		a.pageFailure(w, r, s, id, err)
		return
	}
	a.flash(s, msg)
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// pageFailure shows why an action failed, on the page it came from.
func (a *Admin) pageFailure(w http.ResponseWriter, r *http.Request, s *adminSession, id string, err error) {
	if front.Status(err) >= 500 {
		a.Log.Error("admin page", "err", err)
	}
	if id != "" && !server.IsNotFound(err) {
		a.renderScreen(w, r, s, id, front.Status(err), server.ErrorMessage(err))
		return
	}
	a.renderDashboard(w, r, s, front.Status(err), server.ErrorMessage(err))
}

func (a *Admin) flash(s *adminSession, msg string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s.flash = msg
}
