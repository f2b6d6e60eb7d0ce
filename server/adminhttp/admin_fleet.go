package adminhttp

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/admin"
	"github.com/placard/placard/server/front"
)

// The fleet's part of the admin API: groups, provisioning links, tokens
// with a role.

// settingNames maps the admin API's names of settings ("time_zone") to
// the fields of server.ScreenSettings ("TimeZone"), from settingsJSON's
// tags: settingsJSON has the same fields, in the same order.
var settingNames = func() map[string]string {
	t := reflect.TypeFor[settingsJSON]()
	out := map[string]string{}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out[name] = t.Field(i).Name
	}
	return out
}()

// jsonNames returns the admin API's names of setting fields.
func jsonNames(fields []string) []string {
	out := []string{}
	for j, f := range settingNames {
		if slices.Contains(fields, f) {
			out = append(out, j)
		}
	}
	slices.Sort(out)
	return out
}

// decodeScreenSettings reads a screen's settings and which fields the body
// sets: for a screen in a group, those are its own, the others follow the
// group.
func decodeScreenSettings(b []byte) (server.ScreenSettings, []string, error) {
	set, err := decodeSettings(b)
	if err != nil {
		return set, nil, err
	}
	var keys map[string]json.RawMessage
	if len(strings.TrimSpace(string(b))) > 0 {
		if err := json.Unmarshal(b, &keys); err != nil {
			return set, nil, server.Errorf(server.EINVALID, "settings: %v", err)
		}
	}
	var own []string
	for k := range keys {
		own = append(own, settingNames[k])
	}
	slices.Sort(own)
	return set, own, nil
}

// duration reads "15m", "24h" (Go's durations), naming the field.
type duration time.Duration

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return server.Errorf(server.EINVALID, "a duration is a string such as \"15m\" or \"24h\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return server.Errorf(server.EINVALID, "duration %q: give one such as \"15m\" or \"24h\"", s)
	}
	*d = duration(v)
	return nil
}

func (d duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

type groupRequest struct {
	Name         string       `json:"name"`
	Settings     settingsJSON `json:"settings"`
	SharedSignIn bool         `json:"shared_sign_in"`
	OfflineAfter duration     `json:"offline_after"`
	Webhooks     []string     `json:"webhooks"`
}

type groupJSON struct {
	ID           string       `json:"id"`
	Name         string       `json:"name"`
	Settings     settingsJSON `json:"settings"`
	SharedSignIn bool         `json:"shared_sign_in"`
	OfflineAfter duration     `json:"offline_after"`
	Webhooks     []string     `json:"webhooks"`
	Screens      int          `json:"screens"`
	CreatedAt    time.Time    `json:"created_at"`
	// WebhookSecret is in the answer that made it, and never again.
	WebhookSecret string `json:"webhook_secret,omitempty"`
}

func toGroupJSON(g server.Group, screens int) groupJSON {
	hooks := g.Webhooks
	if hooks == nil {
		hooks = []string{}
	}
	return groupJSON{ID: g.ID, Name: g.Name, Settings: settingsOut(g.Settings), SharedSignIn: g.SharedSignIn,
		OfflineAfter: duration(g.OfflineAfter), Webhooks: hooks, Screens: screens, CreatedAt: g.CreatedAt}
}

func (a *Admin) apiCreateGroup(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	var req groupRequest
	if err := decodeJSON(readBody(w, r), "new group", &req); err != nil {
		a.apiError(w, err)
		return
	}
	made, err := a.Ops.CreateGroup(r.Context(), p, admin.GroupSpec{Name: req.Name, Settings: server.ScreenSettings(req.Settings),
		SharedSignIn: req.SharedSignIn, OfflineAfter: time.Duration(req.OfflineAfter), Webhooks: req.Webhooks})
	if err != nil {
		a.apiError(w, err)
		return
	}
	out := toGroupJSON(made.Group, 0)
	out.WebhookSecret = made.WebhookSecret
	front.WriteJSON(w, http.StatusCreated, out)
}

func (a *Admin) apiGroups(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	all, err := a.Ops.ListGroups(r.Context(), p)
	if err != nil {
		a.apiError(w, err)
		return
	}
	out := make([]groupJSON, len(all))
	for i, g := range all {
		out[i] = toGroupJSON(g.Group, g.Screens)
	}
	front.WriteJSON(w, http.StatusOK, map[string]any{"groups": out})
}

func (a *Admin) apiGroup(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	a.answerGroup(w, r, p, r.PathValue("id"), "")
}

// answerGroup answers a group as it is now.
func (a *Admin) answerGroup(w http.ResponseWriter, r *http.Request, p admin.Actor, id, secret string) {
	g, err := a.Ops.Group(r.Context(), p, id)
	if err != nil {
		a.apiError(w, err)
		return
	}
	out := toGroupJSON(g.Group, g.Screens)
	out.WebhookSecret = secret
	front.WriteJSON(w, http.StatusOK, out)
}

func (a *Admin) apiGroupSettings(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	set, err := decodeSettings(readBody(w, r))
	if err != nil {
		a.apiError(w, err)
		return
	}
	if _, err := a.Ops.SetGroupSettings(r.Context(), p, r.PathValue("id"), set); err != nil {
		a.apiError(w, err)
		return
	}
	a.answerGroup(w, r, p, r.PathValue("id"), "")
}

// apiUpdateGroup changes what a group is beside its settings: name, shared
// sign-in, offline threshold (PUT: omitted is empty), and webhooks when
// given.
func (a *Admin) apiUpdateGroup(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	var req struct {
		Name         string   `json:"name"`
		SharedSignIn bool     `json:"shared_sign_in"`
		OfflineAfter duration `json:"offline_after"`
		// Webhooks, when given, replace the group's (and their secret);
		// omitted, they stay.
		Webhooks *[]string `json:"webhooks"`
	}
	if err := decodeJSON(readBody(w, r), "group", &req); err != nil {
		a.apiError(w, err)
		return
	}
	old, err := a.Ops.Group(r.Context(), p, r.PathValue("id"))
	if err != nil {
		a.apiError(w, err)
		return
	}
	spec := admin.GroupSpec{Name: req.Name, SharedSignIn: req.SharedSignIn, OfflineAfter: time.Duration(req.OfflineAfter), Webhooks: old.Group.Webhooks}
	if req.Webhooks != nil {
		spec.Webhooks = *req.Webhooks
	}
	made, err := a.Ops.UpdateGroup(r.Context(), p, r.PathValue("id"), spec)
	if err != nil {
		a.apiError(w, err)
		return
	}
	a.answerGroup(w, r, p, made.Group.ID, made.WebhookSecret)
}

func (a *Admin) apiDeleteGroup(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	g, err := a.Ops.DeleteGroup(r.Context(), p, r.PathValue("id"))
	if err != nil {
		a.apiError(w, err)
		return
	}
	front.WriteJSON(w, http.StatusOK, map[string]any{"removed": g.ID, "name": g.Name})
}

func (a *Admin) apiSignOutGroup(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	n, err := a.Ops.SignOutGroup(r.Context(), p, r.PathValue("id"))
	if err != nil {
		a.apiError(w, err)
		return
	}
	front.WriteJSON(w, http.StatusOK, map[string]any{"signed_out": n})
}

func (a *Admin) apiScreenGroup(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	var req struct {
		Group string `json:"group"`
	}
	if err := decodeJSON(readBody(w, r), "screen's group", &req); err != nil {
		a.apiError(w, err)
		return
	}
	_, err := a.Ops.SetScreenGroup(r.Context(), p, r.PathValue("id"), req.Group)
	a.answerScreen(w, r, p, r.PathValue("id"), err)
}

type linkJSON struct {
	ID          string    `json:"id"`
	Group       string    `json:"group"`
	MaxScreens  int       `json:"max_screens"`
	Used        int       `json:"used"`
	ExpiresAt   time.Time `json:"expires_at"`
	NamePattern string    `json:"name_pattern"`
	Revoked     bool      `json:"revoked"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	// URL is in the answer that made it, and never again.
	URL string `json:"url,omitempty"`
}

func toLinkJSON(l server.Link) linkJSON {
	return linkJSON{ID: l.ID, Group: l.Group, MaxScreens: l.MaxScreens, Used: l.Used, ExpiresAt: l.ExpiresAt,
		NamePattern: l.NamePattern, Revoked: !l.RevokedAt.IsZero(), CreatedBy: l.CreatedBy, CreatedAt: l.CreatedAt}
}

// linkURL is the address a kiosk starts with, for a link's token.
func (a *Admin) linkURL(r *http.Request, token string) string {
	base := a.PublicURL
	if base == "" {
		scheme := "http"
		if front.IsSecure(r) {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return strings.TrimRight(base, "/") + "/?link=" + url.QueryEscape(token)
}

func (a *Admin) apiCreateLink(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	var req struct {
		MaxScreens  int      `json:"max_screens"`
		ExpiresIn   duration `json:"expires_in"`
		NamePattern string   `json:"name_pattern"`
	}
	if err := decodeJSON(readBody(w, r), "new provisioning link", &req); err != nil {
		a.apiError(w, err)
		return
	}
	made, err := a.Ops.MakeLink(r.Context(), p, admin.LinkSpec{Group: r.PathValue("id"), MaxScreens: req.MaxScreens,
		ExpiresIn: time.Duration(req.ExpiresIn), NamePattern: req.NamePattern})
	if err != nil {
		a.apiError(w, err)
		return
	}
	out := toLinkJSON(made.Link)
	out.URL = a.linkURL(r, made.Token)
	front.WriteJSON(w, http.StatusCreated, out)
}

func (a *Admin) apiLinks(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	all, err := a.Ops.ListLinks(r.Context(), p)
	if err != nil {
		a.apiError(w, err)
		return
	}
	out := make([]linkJSON, len(all))
	for i, l := range all {
		out[i] = toLinkJSON(l)
	}
	front.WriteJSON(w, http.StatusOK, map[string]any{"links": out})
}

func (a *Admin) apiRevokeLink(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	l, err := a.Ops.RevokeLink(r.Context(), p, r.PathValue("id"))
	if err != nil {
		a.apiError(w, err)
		return
	}
	front.WriteJSON(w, http.StatusOK, toLinkJSON(l))
}

type tokenJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

func (a *Admin) apiCreateToken(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	var req struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}
	if err := decodeJSON(readBody(w, r), "new admin token", &req); err != nil {
		a.apiError(w, err)
		return
	}
	made, err := a.Ops.MakeToken(r.Context(), p, req.Name, req.Role)
	if err != nil {
		a.apiError(w, err)
		return
	}
	front.WriteJSON(w, http.StatusCreated, map[string]any{"id": made.Token.ID, "name": made.Token.Name, "role": made.Token.Role, "token": made.Secret})
}

func (a *Admin) apiTokens(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	all, err := a.Ops.ListTokens(r.Context(), p)
	if err != nil {
		a.apiError(w, err)
		return
	}
	out := make([]tokenJSON, len(all))
	for i, t := range all {
		out[i] = tokenJSON{ID: t.ID, Name: t.Name, Role: t.Role, CreatedAt: t.CreatedAt}
	}
	front.WriteJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

func (a *Admin) apiRevokeToken(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	id := r.PathValue("id")
	if err := a.Ops.RevokeToken(r.Context(), p, id); err != nil {
		a.apiError(w, err)
		return
	}
	a.endTokenSessions(id)
	front.WriteJSON(w, http.StatusOK, map[string]any{"revoked": id})
}

// endTokenSessions ends the sessions an admin token signed in, at once.
func (a *Admin) endTokenSessions(tokenID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, s := range a.sessions {
		if s.who.TokenID == tokenID {
			delete(a.sessions, k)
		}
	}
}

func (a *Admin) apiReload(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	sc, err := a.Ops.Reload(r.Context(), p, r.PathValue("id"))
	if err != nil {
		a.apiError(w, err)
		return
	}
	front.WriteJSON(w, http.StatusOK, map[string]any{"reloaded": sc.ID, "name": sc.Name})
}

func (a *Admin) apiIdentify(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	id, err := a.Ops.Identify(r.Context(), p, r.PathValue("id"))
	if err != nil {
		a.apiError(w, err)
		return
	}
	front.WriteJSON(w, http.StatusOK, map[string]any{"identify": r.PathValue("id"), "name": id.Name, "number": id.Number, "until": id.Until.UTC()})
}
