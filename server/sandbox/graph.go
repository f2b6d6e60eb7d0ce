package sandbox

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// graphError writes Microsoft Graph's error body.
// https://learn.microsoft.com/en-us/graph/errors
func (s *Sandbox) graphError(w http.ResponseWriter, status int, code, message string) {
	now := s.Now()
	writeJSON(w, status, map[string]any{
		"error": map[string]any{
			"code":    code,
			"message": message,
			"innerError": map[string]any{
				"date":              now.UTC().Format("2006-01-02T15:04:05"),
				"request-id":        stableGUID(randomString(8)),
				"client-request-id": stableGUID(randomString(8)),
			},
		},
	})
}

type callerKey struct{}

// caller is who a Graph request is made by, from its access token.
type caller struct {
	user   *user
	scopes []string
}

func callerOf(ctx context.Context) caller { return ctx.Value(callerKey{}).(caller) }

// graphHandler serves Graph v1.0 behind the checks Graph makes on every
// request: faults first (a throttled or failing service answers before it
// looks at the token), then the bearer token.
func (s *Sandbox) graphHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /v1.0/me", s.graphRoute("/me", []string{"User.Read"}, s.me))
	mux.Handle("GET /v1.0/me/presence", s.graphRoute("/me/presence", []string{"Presence.Read"}, s.presence))
	mux.Handle("GET /v1.0/me/photo/$value", s.graphRoute("/me/photo", []string{"User.Read"}, s.photo))
	mux.Handle("GET /v1.0/me/calendarView", s.graphRoute("/me/calendarView", []string{"Calendars.Read", "Calendars.ReadWrite"}, s.calendarView))
	mux.Handle("POST /v1.0/me/events", s.graphRoute("/me/events", []string{"Calendars.ReadWrite"}, s.createEvent))
	mux.Handle("DELETE /v1.0/me/events/{id}", s.graphRoute("/me/events", []string{"Calendars.ReadWrite"}, s.deleteEvent))
	mux.Handle("POST /v1.0/me/events/{id}/cancel", s.graphRoute("/me/events", []string{"Calendars.ReadWrite"}, s.cancelEvent))
	mux.HandleFunc("POST /v1.0/$batch", s.batch(mux))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.graphError(w, http.StatusBadRequest, "BadRequest", "Invalid version: "+r.URL.Path)
	})
	return mux
}

// graphRoute wraps a Graph endpoint with faults, authentication and the
// permission check: the token's scp must hold one of anyOf.
// https://learn.microsoft.com/en-us/graph/resolve-auth-errors
func (s *Sandbox) graphRoute(name string, anyOf []string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.count("graph " + name)
		f := s.Faults()
		switch {
		case f.GraphThrottleSeconds > 0:
			// https://learn.microsoft.com/en-us/graph/throttling
			w.Header().Set("Retry-After", strconv.Itoa(f.GraphThrottleSeconds))
			s.graphError(w, http.StatusTooManyRequests, "TooManyRequests", "Too many requests.")
			return
		case f.GraphServerError:
			s.graphError(w, http.StatusServiceUnavailable, "serviceNotAvailable", "The service is temporarily unavailable. Please retry later.")
			return
		}
		auth := r.Header.Get("Authorization")
		raw, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || raw == "" {
			s.graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
			return
		}
		claims, refused := s.verifyAccess(raw, s.Now())
		if refused != "" {
			s.graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", refused)
			return
		}
		s.mu.Lock()
		u := s.userByOID(claims.ObjectID)
		s.mu.Unlock()
		if u == nil {
			s.graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "The user of the token does not exist.")
			return
		}
		scopes := strings.Fields(claims.Scope)
		if !slices.ContainsFunc(anyOf, func(p string) bool { return slices.Contains(scopes, p) }) {
			s.graphError(w, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, caller{user: u, scopes: scopes})))
	})
}

// me is GET /me.
// https://learn.microsoft.com/en-us/graph/api/user-get
func (s *Sandbox) me(w http.ResponseWriter, r *http.Request) {
	u := callerOf(r.Context()).user
	var mail any
	if u.Mailbox {
		mail = u.UPN
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context":    "https://" + GraphHost + "/v1.0/$metadata#users/$entity",
		"businessPhones":    []string{},
		"displayName":       u.DisplayName,
		"givenName":         nullable(u.GivenName),
		"jobTitle":          nullable(u.JobTitle),
		"mail":              mail,
		"mobilePhone":       nil,
		"officeLocation":    nil,
		"preferredLanguage": "en-US",
		"surname":           nullable(u.Surname),
		"userPrincipalName": u.UPN,
		"id":                u.OID,
	})
}

// presence is GET /me/presence. Accounts without Teams have no presence.
// https://learn.microsoft.com/en-us/graph/api/presence-get
func (s *Sandbox) presence(w http.ResponseWriter, r *http.Request) {
	u := callerOf(r.Context()).user
	if !u.Teams {
		s.graphError(w, http.StatusNotFound, "NotFound", "The user does not have a Teams license.")
		return
	}
	s.mu.Lock()
	availability, activity := u.Availability, u.Activity
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": "https://" + GraphHost + "/v1.0/$metadata#users('" + u.OID + "')/presence/$entity",
		"id":             u.OID,
		"availability":   availability,
		"activity":       activity,
	})
}

// photo is GET /me/photo/$value: 404 ImageNotFound when there is none.
// https://learn.microsoft.com/en-us/graph/api/profilephoto-get
func (s *Sandbox) photo(w http.ResponseWriter, r *http.Request) {
	u := callerOf(r.Context()).user
	if len(u.Photo) == 0 {
		s.graphError(w, http.StatusNotFound, "ImageNotFound", "Exception of type 'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown.")
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(u.Photo)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func latency(f Faults) time.Duration { return time.Duration(f.LatencyMS) * time.Millisecond }
