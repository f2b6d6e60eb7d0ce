package adminhttp

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/admin"
	"github.com/placard/placard/server/front"
)

// The fleet's part of the admin page: groups, their settings, screens and
// provisioning links; admin tokens with a role; a screen's group.

// formSettings reads a settings form (a screen's or a group's).
func formSettings(r *http.Request) server.ScreenSettings {
	set := server.ScreenSettings{
		TimeZone: r.PostForm.Get("time_zone"), Lang: r.PostForm.Get("lang"), Hours: r.PostForm.Get("hours"),
		Clock24: r.PostForm.Get("clock24") == "on", Privacy: r.PostForm.Get("privacy") == "on",
		SignIn: r.PostForm.Get("sign_in"), NoQuickBook: r.PostForm.Get("quick_book") != "on",
		Layout: r.PostForm.Get("layout"), Actions: r.PostForm.Get("actions") == "on",
		AutoRelease: r.PostForm.Get("auto_release") == "on",
		Rooms:       server.ParseAddresses(r.PostForm.Get("rooms")), People: server.ParseAddresses(r.PostForm.Get("people")),
		PeopleGroup: strings.TrimSpace(r.PostForm.Get("group")),
	}
	// Left out, it is the default (0: DefaultReleaseAfter).
	if v := strings.TrimSpace(r.PostForm.Get("release_after_minutes")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			// Refused by the settings' check, which says what to give.
			n = -1
		}
		set.ReleaseAfterMinutes = n
	}
	return set
}

// formDuration reads a duration field ("15m"); "" is 0.
func formDuration(r *http.Request, field string) (time.Duration, error) {
	v := strings.TrimSpace(r.PostForm.Get(field))
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, server.Errorf(server.EINVALID, "%s %q: give a duration such as 15m or 24h", strings.ReplaceAll(field, "_", " "), v)
	}
	return d, nil
}

func (a *Admin) groupPage(w http.ResponseWriter, r *http.Request, s *adminSession) {
	a.renderGroup(w, r, s, r.PathValue("id"), http.StatusOK, "", nil, "")
}

func (a *Admin) renderGroup(w http.ResponseWriter, r *http.Request, s *adminSession, id string, status int, errMsg string, newLink *linkJSON, secret string) {
	g, err := a.Ops.Group(r.Context(), s.who, id)
	if err != nil {
		if errMsg == "" {
			status, errMsg = front.Status(err), server.ErrorMessage(err)
		}
		a.renderDashboard(w, r, s, status, errMsg)
		return
	}
	d := a.base(s, g.Group.Name)
	d.Error, d.NewLink, d.NewSecret = errMsg, newLink, secret
	gj := toGroupJSON(g.Group, g.Screens)
	d.Group = &gj
	d.Languages = languagesFor(g.Group.Settings.Lang)
	all, err := a.Ops.ListScreens(r.Context(), s.who)
	if err != nil {
		a.Log.Error("admin page: listing screens", "err", err)
	}
	for _, st := range all {
		if st.Screen.Group == id {
			d.GroupScreens = append(d.GroupScreens, toScreenJSON(st))
		}
	}
	links, err := a.Ops.ListLinks(r.Context(), s.who)
	if err != nil {
		a.Log.Error("admin page: listing links", "err", err)
	}
	for _, l := range links {
		if l.Group == id {
			d.Links = append(d.Links, toLinkJSON(l))
		}
	}
	a.render(w, status, "group", d)
}

func (a *Admin) addGroupForm(w http.ResponseWriter, r *http.Request, s *adminSession, _ string) {
	after, err := formDuration(r, "offline_after")
	if err != nil {
		a.pageFailure(w, r, s, "", err)
		return
	}
	made, err := a.Ops.CreateGroup(r.Context(), s.who, admin.GroupSpec{Name: r.PostForm.Get("name"),
		SharedSignIn: r.PostForm.Get("shared_sign_in") == "on", OfflineAfter: after})
	if err != nil {
		a.pageFailure(w, r, s, "", err)
		return
	}
	a.flash(s, "Made the group "+made.Group.Name+": put screens in it from their pages, or make a provisioning link for it.")
	http.Redirect(w, r, "/admin/groups/"+made.Group.ID, http.StatusSeeOther)
}

// groupForm runs one action on a group from its page.
func (a *Admin) groupForm(w http.ResponseWriter, r *http.Request, s *adminSession, _ string) {
	id, by, ctx := r.PathValue("id"), s.who, r.Context()
	back := "/admin/groups/" + id
	fail := func(err error) {
		if server.IsNotFound(err) {
			a.pageFailure(w, r, s, "", err)
			return
		}
		a.renderGroup(w, r, s, id, front.Status(err), server.ErrorMessage(err), nil, "")
	}
	var msg string
	switch r.PathValue("action") {
	case "settings":
		g, err := a.Ops.SetGroupSettings(ctx, by, id, formSettings(r))
		if err != nil {
			fail(err)
			return
		}
		msg = "Saved the settings of " + g.Name + ": its screens show them now."
	case "update":
		after, err := formDuration(r, "offline_after")
		if err != nil {
			fail(err)
			return
		}
		old, err := a.Ops.Group(ctx, by, id)
		if err != nil {
			fail(err)
			return
		}
		// Only admins see the webhooks' field: without it, they stay.
		spec := admin.GroupSpec{Name: r.PostForm.Get("name"), SharedSignIn: r.PostForm.Get("shared_sign_in") == "on",
			OfflineAfter: after, Webhooks: old.Group.Webhooks}
		if r.PostForm.Has("webhooks") {
			spec.Webhooks = strings.Fields(r.PostForm.Get("webhooks"))
		}
		made, err := a.Ops.UpdateGroup(ctx, by, id, spec)
		if err != nil {
			fail(err)
			return
		}
		if made.WebhookSecret != "" {
			// Shown on this answer only.
			a.renderGroup(w, r, s, id, http.StatusOK, "", nil, made.WebhookSecret)
			return
		}
		msg = "Saved " + made.Group.Name + "."
	case "sign-out":
		n, err := a.Ops.SignOutGroup(ctx, by, id)
		if err != nil {
			fail(err)
			return
		}
		msg = "Signed " + strconv.Itoa(n) + " screens of the group out."
	case "remove":
		g, err := a.Ops.DeleteGroup(ctx, by, id)
		if err != nil {
			fail(err)
			return
		}
		a.flash(s, "Removed the group "+g.Name+": its screens keep the settings they show, as their own.")
		http.Redirect(w, r, "/admin", http.StatusSeeOther)
		return
	case "links":
		max, _ := strconv.Atoi(strings.TrimSpace(r.PostForm.Get("max_screens")))
		life, err := formDuration(r, "expires_in")
		if err != nil {
			fail(err)
			return
		}
		made, err := a.Ops.MakeLink(ctx, by, admin.LinkSpec{Group: id, MaxScreens: max, ExpiresIn: life, NamePattern: r.PostForm.Get("name_pattern")})
		if err != nil {
			fail(err)
			return
		}
		// The address is shown on this answer only.
		lj := toLinkJSON(made.Link)
		lj.URL = a.linkURL(r, made.Token)
		a.renderGroup(w, r, s, id, http.StatusOK, "", &lj, "")
		return
	default:
		http.NotFound(w, r)
		return
	}
	a.flash(s, msg)
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func (a *Admin) revokeLinkForm(w http.ResponseWriter, r *http.Request, s *adminSession, _ string) {
	l, err := a.Ops.RevokeLink(r.Context(), s.who, r.PathValue("id"))
	if err != nil {
		a.pageFailure(w, r, s, "", err)
		return
	}
	a.flash(s, "Revoked the provisioning link "+l.ID+": it enrolls no screen any more; the screens it enrolled stay.")
	http.Redirect(w, r, "/admin/groups/"+l.Group, http.StatusSeeOther)
}

func (a *Admin) screenGroupForm(w http.ResponseWriter, r *http.Request, s *adminSession, _ string) {
	id := r.PathValue("id")
	sc, err := a.Ops.SetScreenGroup(r.Context(), s.who, id, r.PostForm.Get("group"))
	if err != nil {
		a.pageFailure(w, r, s, id, err)
		return
	}
	msg := sc.Name + " is in no group now: it keeps the settings it shows, as its own."
	if sc.Group != "" {
		msg = sc.Name + " is in its group now, with the group's settings."
	}
	a.flash(s, msg)
	http.Redirect(w, r, "/admin/screens/"+id, http.StatusSeeOther)
}

func (a *Admin) addTokenForm(w http.ResponseWriter, r *http.Request, s *adminSession, _ string) {
	made, err := a.Ops.MakeToken(r.Context(), s.who, r.PostForm.Get("name"), r.PostForm.Get("role"))
	if err != nil {
		a.pageFailure(w, r, s, "", err)
		return
	}
	// The token is shown on this answer only.
	d := a.base(s, "Screens")
	d.NewToken = &newTokenJSON{ID: made.Token.ID, Name: made.Token.Name, Role: made.Token.Role, Token: made.Secret}
	a.renderDashboardData(w, r, d, http.StatusOK)
}

func (a *Admin) revokeTokenForm(w http.ResponseWriter, r *http.Request, s *adminSession, _ string) {
	id := r.PathValue("id")
	if err := a.Ops.RevokeToken(r.Context(), s.who, id); err != nil {
		a.pageFailure(w, r, s, "", err)
		return
	}
	a.endTokenSessions(id)
	a.flash(s, "Revoked the admin token "+id+": it and the sessions it signed in stopped working at once.")
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}
