package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Handler serves the sandbox's pages and control API under /sandbox/ on
// the edge server. Browsers' cross-origin posts are refused (the pages'
// forms change the sandbox); requests without an Origin, as curl and tests
// send, are served.
func (s *Sandbox) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sandbox/devicelogin", s.devicelogin)
	mux.HandleFunc("POST /sandbox/devicelogin", s.devicelogin)
	mux.HandleFunc("GET /sandbox/sandbox.css", serveCSS)
	mux.HandleFunc("GET "+BrowserPrefix+"/{tenant}"+AuthorizePath, s.authorize)
	mux.HandleFunc("POST "+BrowserPrefix+"/{tenant}"+AuthorizePath, s.authorize)
	mux.HandleFunc("GET /sandbox/{$}", s.demoPage)
	mux.HandleFunc("POST /sandbox/faults", s.formFaults)
	mux.HandleFunc("POST /sandbox/presence", s.formPresence)
	mux.HandleFunc("POST /sandbox/revoke", s.formRevoke)
	mux.HandleFunc("POST /sandbox/clock", s.formClock)

	api := map[string]http.HandlerFunc{
		"GET /sandbox/api/faults":                     func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Faults()) },
		"PUT /sandbox/api/faults":                     s.putFaults,
		"GET /sandbox/api/users":                      s.getUsers,
		"POST /sandbox/api/users/{upn}/presence":      s.postPresence,
		"POST /sandbox/api/users/{upn}/revoke":        s.postRevoke,
		"POST /sandbox/api/users/{upn}/events":        s.postUserEvent,
		"GET /sandbox/api/users/{upn}/events":         s.getUserEvents,
		"DELETE /sandbox/api/users/{upn}/events/{id}": s.deleteUserEvent,
		"GET /sandbox/api/rooms":                      s.getRooms,
		"PUT /sandbox/api/rooms/{upn}":                s.putRoom,
		"GET /sandbox/api/groups":                     s.getGroups,
		"GET /sandbox/api/budgets":                    func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Budgets()) },
		"GET /sandbox/api/codes":                      s.getCodes,
		"GET /sandbox/api/app":                        s.getApp,
		"GET /sandbox/api/clock":                      s.getClock,
		"POST /sandbox/api/clock":                     s.postClock,
		"GET /sandbox/api/users/{upn}/calendar":       s.getUserCalendar,
		"GET /sandbox/api/requests":                   s.getRequests,
		"GET /sandbox/api/users/{upn}/requests":       s.getUserRequests,
	}
	paths := map[string][]string{}
	for pattern, h := range api {
		mux.HandleFunc(pattern, h)
		method, path, _ := strings.Cut(pattern, " ")
		paths[path] = append(paths[path], method)
	}
	for path, methods := range paths {
		sort.Strings(methods)
		allow := strings.Join(methods, ", ")
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			apiError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s is not served: use %s", r.Method, r.URL.Path, allow))
		})
	}
	mux.HandleFunc("/sandbox/api/", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "no such sandbox API: "+r.Method+" "+r.URL.Path+" (docs/sandbox.md lists them)")
	})
	return http.NewCrossOriginProtection().Handler(mux)
}

// apiError is the control API's error body: {"error": "what was wrong"}.
func apiError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// decodeBody decodes a JSON body strictly: unknown fields and trailing data
// are errors that name what was wrong.
func decodeBody(r *http.Request, v any) error {
	d := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("body is empty: send a JSON object")
		}
		return fmt.Errorf("body is not the expected JSON: %v", err)
	}
	if d.More() {
		return errors.New("body has data after its JSON object")
	}
	return nil
}

// checkFaults says what is wrong with a set of faults, or "".
func checkFaults(f Faults) string {
	switch {
	case f.GraphThrottleSeconds < 0 || f.GraphThrottleSeconds > 3600:
		return "graph_throttle_seconds must be between 0 and 3600"
	case f.LatencyMS < 0 || f.LatencyMS > 60_000:
		return "latency_ms must be between 0 and 60000"
	}
	return ""
}

func (s *Sandbox) putFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	if err := decodeBody(r, &f); err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	if bad := checkFaults(f); bad != "" {
		apiError(w, http.StatusBadRequest, bad)
		return
	}
	s.SetFaults(f)
	writeJSON(w, http.StatusOK, f)
}

// availabilities and activities are Graph's presence values.
// https://learn.microsoft.com/en-us/graph/api/resources/presence
var (
	availabilities = []string{"Available", "AvailableIdle", "Away", "BeRightBack", "Busy", "BusyIdle", "DoNotDisturb", "Offline", "PresenceUnknown"}
	activities     = []string{"Available", "Away", "BeRightBack", "Busy", "DoNotDisturb", "InACall", "InAConferenceCall", "Inactive", "InAMeeting", "Offline", "OffWork", "OutOfOffice", "PresenceUnknown", "Presenting", "UrgentInterruptionsOnly"}
)

// errNoUser is returned for a UPN that is not a demo user.
var errNoUser = errors.New("no such demo user")

// userLocked returns the demo user of a UPN, in any case; s.mu must be
// held.
func (s *Sandbox) userLocked(upn string) (*user, error) {
	u := s.users[strings.ToLower(upn)]
	if u == nil {
		return nil, fmt.Errorf("%w %q", errNoUser, upn)
	}
	return u, nil
}

// calendarUser is the demo user a control API request names ({upn}) when
// it has a calendar; otherwise it answers the request with why not.
func (s *Sandbox) calendarUser(w http.ResponseWriter, r *http.Request) (*user, bool) {
	s.mu.Lock()
	u, err := s.userLocked(r.PathValue("upn"))
	s.mu.Unlock()
	switch {
	case err != nil:
		apiError(w, http.StatusNotFound, err.Error())
		return nil, false
	case !u.Mailbox:
		apiError(w, http.StatusConflict, u.UPN+" has no mailbox, so no calendar")
		return nil, false
	}
	return u, true
}

func (s *Sandbox) postPresence(w http.ResponseWriter, r *http.Request) {
	var p struct {
		Availability string `json:"availability"`
		Activity     string `json:"activity"`
	}
	if err := decodeBody(r, &p); err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	if p.Activity == "" {
		p.Activity = p.Availability
	}
	switch err := s.SetPresence(r.PathValue("upn"), p.Availability, p.Activity); {
	case errors.Is(err, errNoUser):
		apiError(w, http.StatusNotFound, err.Error())
	case err != nil:
		apiError(w, http.StatusBadRequest, err.Error())
	default:
		writeJSON(w, http.StatusOK, p)
	}
}

// SetPresence sets a user's presence as Graph reports it: availability and
// activity are Graph's values.
func (s *Sandbox) SetPresence(upn, availability, activity string) error {
	if !slices.Contains(availabilities, availability) {
		return fmt.Errorf("availability %q is not one of %s", availability, strings.Join(availabilities, ", "))
	}
	if !slices.Contains(activities, activity) {
		return fmt.Errorf("activity %q is not one of %s", activity, strings.Join(activities, ", "))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(upn)
	if err != nil {
		return err
	}
	u.Availability, u.Activity, u.presenceSet = availability, activity, true
	s.saveLocked()
	return nil
}

func (s *Sandbox) postRevoke(w http.ResponseWriter, r *http.Request) {
	if err := s.Revoke(r.PathValue("upn")); err != nil {
		apiError(w, http.StatusNotFound, err.Error())
		return
	}
	// revokeSignInSessions answers {"value": true}.
	// https://learn.microsoft.com/en-us/graph/api/user-revokesigninsessions
	writeJSON(w, http.StatusOK, map[string]bool{"value": true})
}

// Revoke revokes every refresh token of a user, as an administrator's
// revokeSignInSessions or a password reset does. Access tokens already
// issued stay valid until they expire, as they do with Graph (no
// continuous access evaluation here).
func (s *Sandbox) Revoke(upn string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(upn)
	if err != nil {
		return err
	}
	u.validSince = s.now()
	s.saveLocked()
	return nil
}

// UserInfo is a demo user as the control API lists it.
type UserInfo struct {
	UPN          string    `json:"upn"`
	DisplayName  string    `json:"display_name"`
	Mailbox      bool      `json:"mailbox"`
	Teams        bool      `json:"teams"`
	Room         bool      `json:"room"`
	Photo        bool      `json:"photo"`
	TimeZone     string    `json:"time_zone"`
	Availability string    `json:"availability"`
	Activity     string    `json:"activity"`
	RevokedAt    time.Time `json:"revoked_at,omitzero"`
	Roles        []string  `json:"roles,omitempty"`
	// PresenceServedAt is when Graph first answered the presence it
	// answers now: the earliest a poller could see the last change.
	// Zero until Graph has been asked.
	PresenceServedAt time.Time `json:"presence_served_at,omitzero"`
}

// Users lists the demo users.
func (s *Sandbox) Users() []UserInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []UserInfo
	for _, u := range s.sortedUsers() {
		availability, activity := s.presenceLocked(u)
		out = append(out, UserInfo{UPN: u.UPN, DisplayName: u.DisplayName, Mailbox: u.Mailbox, Teams: u.Teams,
			Room: u.Room, Photo: u.photo != nil, TimeZone: u.TimeZone, Availability: availability,
			Activity: activity, RevokedAt: u.validSince, Roles: u.Roles, PresenceServedAt: u.servedAt})
	}
	return out
}

func (s *Sandbox) getUsers(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Users())
}

// RequestCounts returns how many requests each endpoint of the emulated
// services received since the start ("graph /$batch", "graph presence",
// "token", ...): requests inside a $batch count under their own endpoint
// too.
func (s *Sandbox) RequestCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.requests))
	for k, v := range s.requests {
		out[k] = v
	}
	return out
}

func (s *Sandbox) getRequests(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.RequestCounts())
}

// getUserRequests lists a user's last Graph requests. With ?after=n it is
// a long poll: it lists those numbered above n, at once when there are
// some, else as soon as one arrives; after Options.LongPoll with none it
// answers an empty list, and the client asks again. Its status and headers
// are sent when the wait begins, so that a client knows any request made
// after them ends the wait; the body follows when it ends.
func (s *Sandbox) getUserRequests(w http.ResponseWriter, r *http.Request) {
	upn := r.PathValue("upn")
	if !r.URL.Query().Has("after") {
		reqs, err := s.UserRequests(upn)
		if err != nil {
			apiError(w, http.StatusNotFound, err.Error())
			return
		}
		if reqs == nil {
			reqs = []GraphRequest{}
		}
		writeJSON(w, http.StatusOK, reqs)
		return
	}
	after, err := strconv.Atoi(r.URL.Query().Get("after"))
	if err != nil || after < 0 {
		apiError(w, http.StatusBadRequest, fmt.Sprintf("after=%q: give the number (seq) of the last request seen, 0 for none", r.URL.Query().Get("after")))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.LongPoll)
	defer cancel()
	began := false
	reqs, err := s.AwaitUserRequests(ctx, upn, after, func() {
		began = true
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
	})
	switch {
	case errors.Is(err, errNoUser):
		apiError(w, http.StatusNotFound, err.Error())
	case r.Context().Err() != nil:
		// The client went away: nobody reads an answer.
	case reqs == nil:
		// Nothing arrived in time; the status was sent when the wait
		// began.
		json.NewEncoder(w).Encode([]GraphRequest{})
	case began:
		json.NewEncoder(w).Encode(reqs)
	default:
		writeJSON(w, http.StatusOK, reqs)
	}
}

// CodeInfo is a device code as the control API lists it: what a person
// sees, never the device code itself nor a token.
type CodeInfo struct {
	UserCode  string    `json:"user_code"`
	Screen    string    `json:"screen"`
	State     string    `json:"state"`
	User      string    `json:"user,omitempty"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// ApprovedAt is when it was approved on the phone page, RedeemedAt
	// when its tokens were issued to the client that polls: the time
	// between them is the client's polling wait.
	ApprovedAt time.Time `json:"approved_at,omitzero"`
	RedeemedAt time.Time `json:"redeemed_at,omitzero"`
}

// Code states, as CodeInfo.State.
const (
	CodePending  = "pending"
	CodeApproved = "approved" // approved on the phone, tokens not yet collected
	CodeRedeemed = "redeemed" // tokens issued
	CodeDeclined = "declined"
	CodeBlocked  = "blocked"          // refused by Conditional Access
	CodeConsent  = "consent_required" // a permission needs an administrator's consent
	CodeExpired  = "expired"
)

// Codes lists the device codes issued, newest first.
func (s *Sandbox) Codes() []CodeInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := make([]CodeInfo, 0, len(s.grants))
	for _, g := range s.grants {
		ci := CodeInfo{UserCode: g.userCode, Screen: g.screen, IssuedAt: g.issuedAt, ExpiresAt: g.expiresAt,
			ApprovedAt: g.approvedAt, RedeemedAt: g.redeemedAt}
		switch {
		case g.state == grantRedeemed:
			ci.State = CodeRedeemed
		case g.state == grantDeclined:
			ci.State = CodeDeclined
		case g.state == grantBlocked:
			ci.State = CodeBlocked
		case g.state == grantConsent:
			ci.State = CodeConsent
		case !now.Before(g.expiresAt):
			ci.State = CodeExpired
		case g.state == grantApproved:
			ci.State = CodeApproved
		default:
			ci.State = CodePending
		}
		if g.user != nil {
			ci.User = g.user.UPN
		}
		out = append(out, ci)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].IssuedAt.Equal(out[j].IssuedAt) {
			return out[i].IssuedAt.After(out[j].IssuedAt)
		}
		return out[i].UserCode < out[j].UserCode
	})
	return out
}

func (s *Sandbox) getCodes(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Codes())
}

// AppInfo is what an outside client needs to use the emulated tenant.
type AppInfo struct {
	ClientID     string `json:"client_id"`
	TenantID     string `json:"tenant_id"`
	TenantDomain string `json:"tenant_domain"`
	// Listener is the URL of the -sandbox-addr listener, "" when none.
	Listener string `json:"listener"`
	// CACertPEM is the listener's certificate, to trust it.
	CACertPEM string `json:"ca_cert_pem"`
	// RedirectURIs are the application's registered redirect URIs, for
	// the authorization code grant: the edge server's callback, and the
	// loopback ones, whose port is ignored.
	RedirectURIs []string `json:"redirect_uris"`
}

// App returns what an outside client needs.
func (s *Sandbox) App() AppInfo {
	s.mu.Lock()
	l := s.listener
	s.mu.Unlock()
	info := AppInfo{ClientID: ClientID, TenantID: TenantID, TenantDomain: TenantDomain,
		RedirectURIs: append(slices.Clone(s.opts.RedirectURIs), loopbackRedirects...)}
	if l != nil {
		info.Listener, info.CACertPEM = l.URL, string(l.CertPEM)
	}
	return info
}

func (s *Sandbox) getApp(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.App())
}

func (s *Sandbox) getClock(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	body := map[string]any{"now": s.now(), "advanced": s.offset.String()}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

func (s *Sandbox) postClock(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Advance string `json:"advance"`
	}
	if err := decodeBody(r, &body); err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	d, err := time.ParseDuration(body.Advance)
	if err != nil || d <= 0 {
		apiError(w, http.StatusBadRequest, fmt.Sprintf("advance %q is not a positive duration such as \"90m\": the sandbox's clock only moves forward", body.Advance))
		return
	}
	s.Advance(d)
	s.getClock(w, r)
}

// getUserCalendar lists a user's events between ?start= and ?end= (RFC
// 3339; today by default) as Graph would, in UTC: for a person or a test
// looking at a calendar without a token.
func (s *Sandbox) getUserCalendar(w http.ResponseWriter, r *http.Request) {
	u, ok := s.calendarUser(w, r)
	if !ok {
		return
	}
	now := s.Now()
	start, end := now.Truncate(24*time.Hour), now.Truncate(24*time.Hour).Add(24*time.Hour)
	for name, t := range map[string]*time.Time{"start": &start, "end": &end} {
		if v := r.URL.Query().Get(name); v != "" {
			p, err := time.Parse(time.RFC3339, v)
			if err != nil {
				apiError(w, http.StatusBadRequest, fmt.Sprintf("%s %q is not an RFC 3339 time such as 2026-01-02T09:00:00Z", name, v))
				return
			}
			*t = p
		}
	}
	s.mu.Lock()
	events := s.eventsBetween(u, start, end)
	s.mu.Unlock()
	out := make([]map[string]any, 0, len(events))
	for _, ev := range events {
		out = append(out, eventJSON(ev, u, time.UTC, "UTC"))
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

// Approve approves a user code as upn, as the phone page does, and returns
// the outcome (OutcomeApproved, or OutcomeBlocked under Conditional
// Access, ...).
func (s *Sandbox) Approve(userCode, upn string) string {
	outcome, _ := s.act(userCode, upn, true)
	return outcome
}

// Decline declines a user code, as the phone page does.
func (s *Sandbox) Decline(userCode string) string {
	outcome, _ := s.act(userCode, "", false)
	return outcome
}

// AccessToken mints a Graph access token for a demo user with the given
// scopes, as the token endpoint would after a sign-in: for tests of Graph
// clients that are not about signing in.
func (s *Sandbox) AccessToken(upn string, scopes ...string) (string, error) {
	set, bad := parseScopes(strings.Join(scopes, " "))
	if bad != "" {
		return "", fmt.Errorf("sandbox: scope %q is not one the app may ask for", bad)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(upn)
	if err != nil {
		return "", fmt.Errorf("sandbox: %w", err)
	}
	tokens, err := s.issue(u, set, issuance{session: newGUID(), flow: flowAuthCode}, realOrigin)
	if err != nil {
		return "", err
	}
	return tokens.AccessToken, nil
}
