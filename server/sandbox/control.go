package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

// Handler serves the sandbox's pages and control API under /sandbox/ on
// the edge server.
func (s *Sandbox) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sandbox/devicelogin", s.devicelogin)
	mux.HandleFunc("POST /sandbox/devicelogin", s.devicelogin)
	mux.HandleFunc("GET /sandbox/sandbox.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Write(sandboxCSS)
	})
	mux.HandleFunc("GET /sandbox/api/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("PUT /sandbox/api/faults", s.putFaults)
	mux.HandleFunc("POST /sandbox/api/users/{upn}/presence", s.postPresence)
	mux.HandleFunc("POST /sandbox/api/users/{upn}/revoke", s.postRevoke)
	mux.HandleFunc("POST /sandbox/api/users/{upn}/events", s.postUserEvent)
	mux.HandleFunc("GET /sandbox/api/codes", s.getCodes)
	mux.HandleFunc("GET /sandbox/api/app", s.getApp)
	mux.HandleFunc("POST /sandbox/api/clock", s.postClock)
	mux.HandleFunc("/sandbox/api/", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "no such sandbox API: "+r.Method+" "+r.URL.Path)
	})
	return mux
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
		return fmt.Errorf("body is not the expected JSON: %v", err)
	}
	if d.More() {
		return fmt.Errorf("body has data after its JSON object")
	}
	return nil
}

func (s *Sandbox) putFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	if err := decodeBody(r, &f); err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	switch {
	case f.GraphThrottleSeconds < 0:
		apiError(w, http.StatusBadRequest, "graph_throttle_seconds must be 0 or more")
		return
	case f.LatencyMS < 0 || f.LatencyMS > 60_000:
		apiError(w, http.StatusBadRequest, "latency_ms must be between 0 and 60000")
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

func (s *Sandbox) postPresence(w http.ResponseWriter, r *http.Request) {
	var p struct {
		Availability string `json:"availability"`
		Activity     string `json:"activity"`
	}
	if err := decodeBody(r, &p); err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !slices.Contains(availabilities, p.Availability) {
		apiError(w, http.StatusBadRequest, fmt.Sprintf("availability %q is not one of %s", p.Availability, strings.Join(availabilities, ", ")))
		return
	}
	if p.Activity == "" {
		p.Activity = p.Availability
	}
	if !slices.Contains(activities, p.Activity) {
		apiError(w, http.StatusBadRequest, fmt.Sprintf("activity %q is not one of %s", p.Activity, strings.Join(activities, ", ")))
		return
	}
	if err := s.SetPresence(r.PathValue("upn"), p.Availability, p.Activity); err != nil {
		apiError(w, http.StatusNotFound, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// SetPresence sets a user's presence as Graph reports it.
func (s *Sandbox) SetPresence(upn, availability, activity string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[upn]
	if u == nil {
		return fmt.Errorf("no demo user %q", upn)
	}
	u.Availability, u.Activity = availability, activity
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
// revokeSignInSessions or a password reset does.
func (s *Sandbox) Revoke(upn string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[upn]
	if u == nil {
		return fmt.Errorf("no demo user %q", upn)
	}
	u.validSince = s.now()
	return nil
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
}

// Codes lists the device codes issued, newest first.
func (s *Sandbox) Codes() []CodeInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := make([]CodeInfo, 0, len(s.grants))
	for _, g := range s.grants {
		ci := CodeInfo{UserCode: g.userCode, Screen: g.screen, IssuedAt: g.issuedAt, ExpiresAt: g.expiresAt}
		switch {
		case g.state == grantApproved:
			ci.State = "approved"
		case g.state == grantDeclined:
			ci.State = "declined"
		case g.state == grantRedeemed && g.user != nil:
			ci.State = "redeemed"
		case g.state == grantRedeemed:
			ci.State = "declined"
		case !now.Before(g.expiresAt):
			ci.State = "expired"
		default:
			ci.State = "pending"
		}
		if g.user != nil {
			ci.User = g.user.UPN
		}
		out = append(out, ci)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].IssuedAt.After(out[j].IssuedAt) })
	return out
}

func (s *Sandbox) getCodes(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Codes())
}

func (s *Sandbox) getApp(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{
		"client_id":     ClientID,
		"tenant_id":     TenantID,
		"tenant_domain": TenantDomain,
		"listener":      "",
		"ca_cert_pem":   "",
	})
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
	if err != nil || d < 0 {
		apiError(w, http.StatusBadRequest, fmt.Sprintf("advance %q is not a positive duration such as \"90m\"", body.Advance))
		return
	}
	s.Advance(d)
	writeJSON(w, http.StatusOK, map[string]time.Time{"now": s.Now()})
}

// Approve approves a user code as upn, as the phone page does.
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
	u := s.users[upn]
	if u == nil {
		return "", fmt.Errorf("sandbox: no demo user %q", upn)
	}
	tokens, err := s.issue(u, set, randomString(12))
	if err != nil {
		return "", err
	}
	return tokens.AccessToken, nil
}
