package adminhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/admin"
	"github.com/placard/placard/server/front"
	"github.com/placard/placard/server/lights"
	"github.com/placard/placard/server/screens"
)

// The admin API speaks JSON: screens as screenJSON, errors as
// {"error": "what was wrong and what to do", "code": "invalid"}.

type screenJSON struct {
	ID            string       `json:"id"`
	Name          string       `json:"name"`
	State         string       `json:"state"` // pending, enrolled, signed_in
	PairingNumber string       `json:"pairing_number,omitempty"`
	PairingClash  bool         `json:"pairing_clash,omitempty"`
	Online        bool         `json:"online"`
	Phase         string       `json:"phase,omitempty"`
	Account       *accountJSON `json:"account,omitempty"`
	Settings      settingsJSON `json:"settings"`
	// Group is the screen's group ("" for none); Overrides the settings
	// it sets itself over the group's.
	Group     string   `json:"group"`
	Overrides []string `json:"overrides"`
	// The fleet, across replicas: the replica that serves the screen,
	// the layout it shows, its app's version, when it was last seen, its
	// browser's family, whether the browser says it has a touch screen,
	// and whether it has been offline past its threshold (since when).
	Replica      string     `json:"replica"`
	Layout       string     `json:"layout"`
	AppVersion   string     `json:"app_version"`
	Browser      string     `json:"browser"`
	Touch        bool       `json:"touch"`
	Offline      bool       `json:"offline"`
	OfflineSince *time.Time `json:"offline_since,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	LastSeen     time.Time  `json:"last_seen"`
}

type accountJSON struct {
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	TenantID    string    `json:"tenant_id"`
	SignedInAt  time.Time `json:"signed_in_at"`
}

type settingsJSON struct {
	TimeZone string `json:"time_zone"`
	Clock24  bool   `json:"clock24"`
	Lang     string `json:"lang"`
	Privacy  bool   `json:"privacy"`
	Hours    string `json:"hours"`
	// SignIn is device-code, qr or both; "" follows the edge server's
	// -sign-in.
	SignIn string `json:"sign_in"`
	// NoQuickBook refuses quick booking on the screen; omitted, it is
	// allowed (as it was before the setting existed).
	NoQuickBook bool `json:"no_quick_book"`
	// Layout is dashboard (the default), room, rooms or people.
	Layout string `json:"layout"`
	// Actions lets the screen book, extend, end and check in.
	Actions bool `json:"actions"`
	// AutoRelease releases meetings nobody checked in to, after
	// ReleaseAfterMinutes (1 to 30, 10 when omitted).
	AutoRelease         bool `json:"auto_release"`
	ReleaseAfterMinutes int  `json:"release_after_minutes"`
	// Rooms are a rooms board's: a room list's email address, or rooms'
	// addresses (a list, or one string separated by commas).
	Rooms server.Addresses `json:"rooms"`
	// People (user principal names) and Group (a group's id) are a
	// people board's.
	People      server.Addresses `json:"people"`
	PeopleGroup string           `json:"group"`
}

// settingsOut is a screen's or a group's settings as the API shows them:
// with the defaults it applies written out.
func settingsOut(set server.ScreenSettings) settingsJSON {
	set.Layout = set.LayoutOrDefault()
	set.ReleaseAfterMinutes = int(set.ReleaseAfter().Minutes())
	return settingsJSON(set)
}

func toScreenJSON(v admin.ScreenView) screenJSON {
	sc := v.Screen
	out := screenJSON{
		ID: sc.ID, Name: sc.Name, State: v.State(), PairingNumber: sc.PairingNumber, PairingClash: v.Clash,
		Online: v.Online, Phase: string(v.Phase), Settings: settingsOut(sc.Settings),
		Group: sc.Group, Overrides: jsonNames(sc.Overrides),
		Replica: v.Replica, Layout: sc.Settings.LayoutOrDefault(), AppVersion: v.Fleet.Status.AppVersion, Browser: v.Fleet.Status.Browser,
		Touch: v.Fleet.Status.Touch, Offline: v.Fleet.Offline,
		CreatedAt: sc.CreatedAt, LastSeen: v.LastSeen,
	}
	if !v.Online && !v.Fleet.OfflineSince.IsZero() {
		since := v.Fleet.OfflineSince
		out.OfflineSince = &since
	}
	if sc.AccountID != "" {
		a := v.Account
		out.Account = &accountJSON{Username: a.Username, DisplayName: a.DisplayName, TenantID: a.TenantID, SignedInAt: a.SignedInAt}
	}
	return out
}

type auditJSON struct {
	ID         int64     `json:"id"`
	Time       time.Time `json:"time"`
	Kind       string    `json:"kind"`
	ScreenID   string    `json:"screen_id,omitempty"`
	ScreenName string    `json:"screen_name,omitempty"`
	Account    string    `json:"account,omitempty"`
	Outcome    string    `json:"outcome"`
	Detail     string    `json:"detail,omitempty"`
}

// maxBody bounds an admin API body: they are tens of bytes.
const maxBody = 16 << 10

// readBody reads a request's body up to maxBody; more is cut off, which
// the decoders then refuse.
func readBody(w http.ResponseWriter, r *http.Request) []byte {
	b, _ := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	return b
}

// decodeJSON decodes one JSON object strictly: unknown fields, trailing
// data and oversized bodies are refused, naming what was wrong. An empty
// body is an empty object.
func decodeJSON(b []byte, what string, v any) error {
	if len(b) > maxBody {
		return server.Errorf(server.EINVALID, "%s: the body is over %d bytes", what, maxBody)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte("{}")
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return server.Errorf(server.EINVALID, "%s: the body is not the expected JSON object: %v", what, err)
	}
	if d.More() {
		return server.Errorf(server.EINVALID, "%s: the body has data after its JSON object", what)
	}
	return nil
}

type approveRequest struct {
	PairingNumber string `json:"pairing_number"`
}

// decodeApprove reads {"pairing_number": "482913"}.
func decodeApprove(b []byte) (string, error) {
	var req approveRequest
	if err := decodeJSON(b, "approve", &req); err != nil {
		return "", err
	}
	return screens.ParsePairingNumber(req.PairingNumber)
}

type renameRequest struct {
	Name string `json:"name"`
}

// decodeRename reads {"name": "Lobby TV"}.
func decodeRename(b []byte) (string, error) {
	var req renameRequest
	if err := decodeJSON(b, "rename", &req); err != nil {
		return "", err
	}
	name := strings.TrimSpace(req.Name)
	if err := wire.ValidateName(name); err != nil {
		return "", server.Errorf(server.EINVALID, "rename: %v: a screen's name is 1 to %d printable characters", err, wire.MaxNameLength)
	}
	return name, nil
}

// decodeSettings reads a whole settingsJSON (omitted fields are empty, as
// with PUT) and checks it.
func decodeSettings(b []byte) (server.ScreenSettings, error) {
	var req settingsJSON
	if err := decodeJSON(b, "settings", &req); err != nil {
		return server.ScreenSettings{}, err
	}
	set := server.ScreenSettings(req)
	// Omitted, the layout and the release time are their defaults.
	set.Layout = set.LayoutOrDefault()
	if set.ReleaseAfterMinutes == 0 {
		set.ReleaseAfterMinutes = server.DefaultReleaseAfter
	}
	if err := screens.ValidateSettings(set); err != nil {
		return server.ScreenSettings{}, err
	}
	return set, nil
}

type signInPoll struct {
	SignIn string `json:"sign_in"`
}

// decodeSignInStart reads the (empty) body of a sign-in's start.
func decodeSignInStart(b []byte) (struct{}, error) {
	var req struct{}
	return req, decodeJSON(b, "sign-in", &req)
}

// decodeSignInPoll reads {"sign_in": "<secret from the start>"}.
func decodeSignInPoll(b []byte) (signInPoll, error) {
	var req signInPoll
	if err := decodeJSON(b, "sign-in poll", &req); err != nil {
		return req, err
	}
	if req.SignIn == "" || len(req.SignIn) > 100 {
		return req, server.Errorf(server.EINVALID, "sign-in poll: \"sign_in\" must be the value the start of the sign-in returned")
	}
	return req, nil
}

// lightJSON is a light key as the admin API lists it: never its secret.
type lightJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Account   string    `json:"account"`
	MQTT      bool      `json:"mqtt"`
	Webhooks  []string  `json:"webhooks"`
	CreatedAt time.Time `json:"created_at"`
}

func toLightJSON(l server.Light) lightJSON {
	hooks := l.Webhooks
	if hooks == nil {
		hooks = []string{}
	}
	return lightJSON{ID: l.ID, Name: l.Name, Account: l.Account, MQTT: l.MQTT, Webhooks: hooks, CreatedAt: l.CreatedAt}
}

// newLightJSON is the answer to a new light key: the key (and webhook
// secret) are in it, and never again.
type newLightJSON struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Key           string `json:"key"`
	WebhookSecret string `json:"webhook_secret,omitempty"`
	// MQTTTopic is where the key's presence is published (with MQTT and a
	// broker); Warnings say what keeps the light dark.
	MQTTTopic string   `json:"mqtt_topic,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
}

func toNewLightJSON(made lights.Made) newLightJSON {
	return newLightJSON{ID: made.Light.ID, Name: made.Light.Name, Key: made.Key, WebhookSecret: made.WebhookSecret,
		MQTTTopic: made.MQTTTopic, Warnings: made.Warnings}
}

// decodeNewLight reads {"name": "...", "account": "<upn>", "mqtt": bool,
// "webhooks": ["https://..."]}.
func decodeNewLight(b []byte) (lights.New, error) {
	var req lights.New
	if err := decodeJSON(b, "new light key", &req); err != nil {
		return req, err
	}
	return req.Check()
}

func (a *Admin) apiScreens(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	all, err := a.Ops.ListScreens(r.Context(), p)
	if err != nil {
		a.internal(w, err)
		return
	}
	out := make([]screenJSON, len(all))
	for i, st := range all {
		out[i] = toScreenJSON(st)
	}
	front.WriteJSON(w, http.StatusOK, map[string]any{"screens": out})
}

func (a *Admin) apiScreen(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	a.answerScreen(w, r, p, r.PathValue("id"), nil)
}

// answerScreen answers the screen id as it is now, or err.
func (a *Admin) answerScreen(w http.ResponseWriter, r *http.Request, p admin.Actor, id string, err error) {
	if err != nil {
		a.apiError(w, err)
		return
	}
	st, err := a.Ops.Screen(r.Context(), p, id)
	if err != nil {
		a.apiError(w, err)
		return
	}
	front.WriteJSON(w, http.StatusOK, toScreenJSON(st))
}

func (a *Admin) apiApprove(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	number, err := decodeApprove(readBody(w, r))
	if err != nil {
		a.apiError(w, err)
		return
	}
	sc, err := a.Ops.Approve(r.Context(), p, number)
	a.answerScreen(w, r, p, sc.ID, err)
}

func (a *Admin) apiApproveID(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	sc, err := a.Ops.Approve(r.Context(), p, r.PathValue("id"))
	a.answerScreen(w, r, p, sc.ID, err)
}

func (a *Admin) apiRename(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	name, err := decodeRename(readBody(w, r))
	if err != nil {
		a.apiError(w, err)
		return
	}
	_, err = a.Ops.Rename(r.Context(), p, r.PathValue("id"), name)
	a.answerScreen(w, r, p, r.PathValue("id"), err)
}

func (a *Admin) apiSettings(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	set, own, err := decodeScreenSettings(readBody(w, r))
	if err != nil {
		a.apiError(w, err)
		return
	}
	_, err = a.Ops.SetScreenSettings(r.Context(), p, r.PathValue("id"), set, own)
	a.answerScreen(w, r, p, r.PathValue("id"), err)
}

func (a *Admin) apiSignOut(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	id := r.PathValue("id")
	_, err := a.Ops.SignOut(r.Context(), p, id)
	a.answerScreen(w, r, p, id, err)
}

func (a *Admin) apiRevoke(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	sc, err := a.Ops.Revoke(r.Context(), p, r.PathValue("id"))
	if err != nil {
		a.apiError(w, err)
		return
	}
	front.WriteJSON(w, http.StatusOK, map[string]any{"revoked": sc.ID, "name": sc.Name})
}

func (a *Admin) apiAudit(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			a.apiError(w, server.Errorf(server.EINVALID, "limit %q must be a number from 1 to 1000", v))
			return
		}
		limit = n
	}
	events, err := a.Ops.AuditTrail(r.Context(), p, limit)
	if err != nil {
		a.internal(w, err)
		return
	}
	out := make([]auditJSON, len(events))
	for i, e := range events {
		out[i] = auditJSON(e)
	}
	front.WriteJSON(w, http.StatusOK, map[string]any{"events": out})
}

func (a *Admin) apiAddLight(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	n, err := decodeNewLight(readBody(w, r))
	if err != nil {
		a.apiError(w, err)
		return
	}
	made, err := a.Ops.MakeLight(r.Context(), p, n)
	if err != nil {
		a.apiError(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	front.WriteJSON(w, http.StatusCreated, toNewLightJSON(made))
}

func (a *Admin) apiLights(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	all, err := a.Ops.ListLights(r.Context(), p)
	if err != nil {
		a.internal(w, err)
		return
	}
	out := make([]lightJSON, len(all))
	for i, l := range all {
		out[i] = toLightJSON(l)
	}
	front.WriteJSON(w, http.StatusOK, map[string]any{"lights": out})
}

func (a *Admin) apiRevokeLight(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	l, err := a.Ops.RevokeLight(r.Context(), p, r.PathValue("id"))
	if err != nil {
		a.apiError(w, err)
		return
	}
	front.WriteJSON(w, http.StatusOK, map[string]any{"revoked": l.ID, "name": l.Name})
}

func (a *Admin) apiError(w http.ResponseWriter, err error) {
	if front.Status(err) >= 500 {
		a.internal(w, err)
		return
	}
	front.WriteError(w, err)
}

// internal answers a failure of ours: the details go to the log only.
func (a *Admin) internal(w http.ResponseWriter, err error) {
	var se *server.Error
	if !errors.As(err, &se) {
		a.Log.Error("admin API", "err", err)
	}
	front.WriteError(w, err)
}

// apiSessions lists the live sessions of the admin page and API, newest
// first: who, how and from where, when it began and ends. Never a secret.
func (a *Admin) apiSessions(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	if err := p.Check(admin.Read, "listing admin sessions"); err != nil {
		a.apiError(w, err)
		return
	}
	front.WriteJSON(w, http.StatusOK, map[string]any{"sessions": a.liveSessions(nil)})
}

// apiEndSession ends a session at once (someone left, or lost the role).
func (a *Admin) apiEndSession(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	ended, err := a.endSessionByID(r.Context(), r.PathValue("id"), p, nil)
	if err != nil {
		a.apiError(w, server.Errorf(server.ErrorCode(err), "%s: list them with GET /admin/api/sessions", server.ErrorMessage(err)))
		return
	}
	front.WriteJSON(w, http.StatusOK, map[string]any{"ended": ended.id, "who": ended.who.Who})
}
