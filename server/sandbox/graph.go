package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// graphJSON is the Content-Type of Graph's JSON answers.
const graphJSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// graphHeaders sets the headers every Graph answer has: the request id
// (echoing the client's client-request-id when it sent one).
func graphHeaders(w http.ResponseWriter, r *http.Request) (requestID, clientRequestID string) {
	requestID = newGUID()
	clientRequestID = r.Header.Get("client-request-id")
	if clientRequestID == "" {
		clientRequestID = requestID
	}
	h := w.Header()
	h.Set("request-id", requestID)
	h.Set("client-request-id", clientRequestID)
	h.Set("Strict-Transport-Security", "max-age=31536000")
	h.Set("Cache-Control", "no-cache")
	return requestID, clientRequestID
}

// writeGraph writes a successful Graph JSON answer.
func writeGraph(w http.ResponseWriter, r *http.Request, status int, v any) {
	graphHeaders(w, r)
	w.Header().Set("Content-Type", graphJSON)
	w.Header().Set("OData-Version", "4.0")
	writeJSON(w, status, v)
}

// graphError writes Microsoft Graph's error body.
// https://learn.microsoft.com/en-us/graph/errors
func (s *Sandbox) graphError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	s.graphErrorInner(w, r, status, code, message, nil)
}

func (s *Sandbox) graphErrorInner(w http.ResponseWriter, r *http.Request, status int, code, message string, inner map[string]any) {
	requestID, clientRequestID := graphHeaders(w, r)
	if inner == nil {
		inner = map[string]any{}
	}
	inner["date"] = s.Now().UTC().Format("2006-01-02T15:04:05")
	inner["request-id"] = requestID
	inner["client-request-id"] = clientRequestID
	w.Header().Set("Content-Type", "application/json")
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": message, "innerError": inner}})
}

// workload is the service behind a Graph endpoint: each words a missing
// permission its own way.
type workload int

const (
	directory workload = iota // users, photos
	outlook                   // calendars, events
	teams                     // presence
)

// forbidden writes the 403 of a token without the permission an endpoint
// needs, in the words of the endpoint's workload (seen in public threads
// and in the JSON batching page's sample answers):
// directory: Authorization_RequestDenied; Exchange: ErrorAccessDenied;
// Teams: Forbidden, naming the permissions.
func (s *Sandbox) forbidden(w http.ResponseWriter, r *http.Request, wl workload, anyOf, scopes []string) {
	switch wl {
	case outlook:
		s.graphError(w, r, http.StatusForbidden, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
	case teams:
		s.graphError(w, r, http.StatusForbidden, "Forbidden", fmt.Sprintf(
			"Missing scope permissions on the request. API requires one of '%s'. Scopes on the request '%s'",
			strings.Join(anyOf, ", "), strings.Join(scopes, ", ")))
	default:
		s.graphError(w, r, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	}
}

type callerKey struct{}

// caller is who a Graph request is made by, from its access token.
type caller struct {
	user   *user
	scopes []string
}

func callerOf(ctx context.Context) caller { return ctx.Value(callerKey{}).(caller) }

// route is one Graph endpoint.
type route struct {
	method, pattern string
	// name counts requests ("graph /me/presence").
	name string
	// anyOf are the delegated permissions of which the token's scp must
	// hold one; wl words the 403.
	anyOf []string
	wl    workload
	h     http.HandlerFunc
}

// graphRoutes are the emulated endpoints of Graph v1.0.
func (s *Sandbox) graphRoutes() []route {
	userRead := []string{"User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All"}
	calRead := []string{"Calendars.Read", "Calendars.ReadWrite"}
	calWrite := []string{"Calendars.ReadWrite"}
	return []route{
		{"GET", "/me", "/me", userRead, directory, s.me},
		{"GET", "/me/photo/$value", "/me/photo", userRead, directory, s.photo},
		{"GET", "/me/presence", "/me/presence", []string{"Presence.Read", "Presence.Read.All"}, teams, s.presence},
		{"GET", "/me/calendarView", "/me/calendarView", calRead, outlook, s.calendarView},
		{"GET", "/me/events/{id}", "/me/events/{id}", calRead, outlook, s.getEvent},
		{"POST", "/me/events", "/me/events", calWrite, outlook, s.createEvent},
		{"DELETE", "/me/events/{id}", "/me/events/{id}", calWrite, outlook, s.deleteEvent},
		{"POST", "/me/events/{id}/cancel", "/me/events/{id}/cancel", calWrite, outlook, s.cancelEvent},
	}
}

// graphHandler serves Graph v1.0: each endpoint behind the checks Graph
// makes, JSON batching, and Graph's own answers to paths and methods it
// does not serve.
func (s *Sandbox) graphHandler() http.Handler {
	mux := http.NewServeMux()
	methods := map[string][]string{}
	for _, rt := range s.graphRoutes() {
		mux.Handle(rt.method+" /v1.0"+rt.pattern, s.guard(rt))
		methods[rt.pattern] = append(methods[rt.pattern], rt.method)
	}
	for p := range methods {
		mux.HandleFunc("/v1.0"+p, func(w http.ResponseWriter, r *http.Request) {
			// The JSON batching page's sample: a method the target does
			// not allow is 405 Request_BadRequest.
			s.graphError(w, r, http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
		})
	}
	mux.HandleFunc("POST /v1.0/$batch", s.batch(mux))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.count("graph unknown")
		version, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if version != "v1.0" {
			s.graphError(w, r, http.StatusBadRequest, "BadRequest", "Invalid version: "+version)
			return
		}
		segs := strings.Split(rest, "/")
		s.graphError(w, r, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", segs[len(segs)-1]))
	})
	return mux
}

// guard wraps an endpoint with what Graph checks before it: the fault
// switches (a throttled or failing service answers before it looks at the
// token), the bearer token, and the permission.
// https://learn.microsoft.com/en-us/graph/resolve-auth-errors
func (s *Sandbox) guard(rt route) http.Handler {
	name := "graph " + rt.name
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.count(name)
		if s.serviceFault(w, r) {
			return
		}
		c, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		s.logRequest(c.user, name)
		if !slices.ContainsFunc(rt.anyOf, func(p string) bool { return slices.Contains(c.scopes, p) }) {
			s.forbidden(w, r, rt.wl, rt.anyOf, c.scopes)
			return
		}
		rt.h(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
	})
}

// serviceFault answers for the fault switches of Graph, and reports
// whether it did.
func (s *Sandbox) serviceFault(w http.ResponseWriter, r *http.Request) bool {
	f := s.Faults()
	switch {
	case f.GraphThrottleSeconds > 0:
		// The sample answer of the throttling page, with Retry-After in
		// seconds.
		// https://learn.microsoft.com/en-us/graph/throttling
		w.Header().Set("Retry-After", strconv.Itoa(f.GraphThrottleSeconds))
		s.graphErrorInner(w, r, http.StatusTooManyRequests, "TooManyRequests", "Please retry again later.",
			map[string]any{"code": "429", "message": "Please retry after", "status": "429"})
		return true
	case f.GraphServerError:
		// https://learn.microsoft.com/en-us/graph/errors#code-property
		s.graphError(w, r, http.StatusServiceUnavailable, "serviceNotAvailable", "The service is temporarily unavailable. Please retry later.")
		return true
	}
	return false
}

// authenticate checks the bearer token as Graph does and returns who the
// request is made by; a refused token is 401 InvalidAuthenticationToken
// with the reason in Graph's words, and Graph's WWW-Authenticate.
func (s *Sandbox) authenticate(w http.ResponseWriter, r *http.Request) (caller, bool) {
	unauthorized := func(msg string) (caller, bool) {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="", authorization_uri="%s/common/oauth2/authorize", client_id="%s"`,
			realOrigin.login, GraphAudience))
		s.graphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", msg)
		return caller{}, false
	}
	c, refused := s.bearer(r)
	if refused != "" {
		return unauthorized(refused)
	}
	return c, true
}

// bearer returns who a Graph request is made by, from its access token, or
// why Graph refuses the token, in Graph's words.
func (s *Sandbox) bearer(r *http.Request) (caller, string) {
	scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	raw = strings.TrimSpace(raw)
	if !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return caller{}, "Access token is empty."
	}
	claims, refused := s.verifyAccess(raw, s.Now())
	if refused != "" {
		return caller{}, refused
	}
	s.mu.Lock()
	u := s.userByOID(claims.ObjectID)
	s.mu.Unlock()
	if u == nil || claims.TenantID != TenantID {
		return caller{}, "Access token validation failure. Invalid audience."
	}
	return caller{user: u, scopes: strings.Fields(claims.Scope)}, ""
}

// selectFields keeps the fields $select names; an unknown one is Graph's
// 400 (the OData parser's words), reported by its name.
func selectFields(full map[string]any, sel string, typ string, keep ...string) (map[string]any, string) {
	if sel == "" {
		return full, ""
	}
	out := map[string]any{}
	for _, k := range keep {
		if v, ok := full[k]; ok {
			out[k] = v
		}
	}
	for _, f := range strings.Split(sel, ",") {
		f = strings.TrimSpace(f)
		v, ok := full[f]
		if !ok {
			return nil, fmt.Sprintf("Could not find a property named '%s' on type '%s'.", f, typ)
		}
		out[f] = v
	}
	return out, ""
}

// me is GET /me.
// https://learn.microsoft.com/en-us/graph/api/user-get
func (s *Sandbox) me(w http.ResponseWriter, r *http.Request) {
	u := callerOf(r.Context()).user
	var mail any
	if u.Mailbox {
		mail = u.UPN
	}
	o := originOf(r)
	full := map[string]any{
		"@odata.context":    o.graph + "/v1.0/$metadata#users/$entity",
		"businessPhones":    []string{},
		"displayName":       u.DisplayName,
		"givenName":         nullable(u.GivenName),
		"jobTitle":          nullable(u.JobTitle),
		"mail":              mail,
		"mobilePhone":       nil,
		"officeLocation":    nullable(u.Office),
		"preferredLanguage": "en-US",
		"surname":           nullable(u.Surname),
		"userPrincipalName": u.UPN,
		"id":                u.OID,
	}
	body, bad := selectFields(full, r.URL.Query().Get("$select"), "microsoft.graph.user", "@odata.context")
	if bad != "" {
		s.graphError(w, r, http.StatusBadRequest, "Request_BadRequest", bad)
		return
	}
	writeGraph(w, r, http.StatusOK, body)
}

// presence is GET /me/presence.
// https://learn.microsoft.com/en-us/graph/api/presence-get
//
// An account without a Teams licence has no presence: "This resource is
// currently only supported for Microsoft Teams users" (presence resource
// page). What Graph answers for such an account is unconfirmed; it is
// modelled here, in one place, as 404 NotFound.
func (s *Sandbox) presence(w http.ResponseWriter, r *http.Request) {
	u := callerOf(r.Context()).user
	if !u.Teams {
		s.graphError(w, r, http.StatusNotFound, "NotFound", "The user does not have a Microsoft Teams license, so there is no presence for them.")
		return
	}
	s.mu.Lock()
	availability, activity := s.presenceLocked(u)
	if served := [2]string{availability, activity}; served != u.served || u.servedAt.IsZero() {
		u.served, u.servedAt = served, s.now()
	}
	s.mu.Unlock()
	writeGraph(w, r, http.StatusOK, map[string]any{
		"@odata.context": originOf(r).graph + "/v1.0/$metadata#users('" + u.OID + "')/presence/$entity",
		"id":             u.OID,
		"availability":   availability,
		"activity":       activity,
	})
}

// presenceLocked is a user's presence now; s.mu must be held. Teams sets
// "Busy, In a meeting" by itself while a meeting of the calendar is on (an
// app-configured state), and a status the user chose prevails over it
// (https://learn.microsoft.com/en-us/microsoftteams/presence-admins;
// precedence: https://learn.microsoft.com/en-us/graph/api/presence-setpresence).
// Only an available user goes into a meeting this way: one who is in a
// call or away stays so.
func (s *Sandbox) presenceLocked(u *user) (availability, activity string) {
	if u.presenceSet || u.Availability != "Available" {
		return u.Availability, u.Activity
	}
	now := s.now()
	for _, ev := range s.eventsBetween(u, now, now.Add(time.Second)) {
		if !ev.AllDay && !ev.Cancelled && ev.ShowAs == "busy" {
			return "Busy", "InAMeeting"
		}
	}
	return u.Availability, u.Activity
}

// photo is GET /me/photo/$value: the bytes, or 404 ImageNotFound (the
// answer long seen for accounts without a photo).
// https://learn.microsoft.com/en-us/graph/api/profilephoto-get
func (s *Sandbox) photo(w http.ResponseWriter, r *http.Request) {
	u := callerOf(r.Context()).user
	if u.photo == nil {
		s.graphError(w, r, http.StatusNotFound, "ImageNotFound", "Exception of type 'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown.")
		return
	}
	graphHeaders(w, r)
	w.Header().Set("Content-Type", "image/png")
	png := u.photo()
	w.Header().Set("Content-Length", strconv.Itoa(len(png)))
	w.Write(png)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func latency(f Faults) time.Duration { return time.Duration(f.LatencyMS) * time.Millisecond }
