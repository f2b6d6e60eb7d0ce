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

// caller is who a Graph request is made by, from its access token, and
// whose mailbox or profile it names (the caller's own for /me).
type caller struct {
	user   *user
	scopes []string
	target *user
}

func callerOf(ctx context.Context) caller { return ctx.Value(callerKey{}).(caller) }

// has reports whether the token holds one of the permissions.
func (c caller) has(anyOf []string) bool {
	return slices.ContainsFunc(anyOf, func(p string) bool { return slices.Contains(c.scopes, p) })
}

// route is one Graph endpoint.
type route struct {
	method, pattern string
	// name counts requests ("graph /me/presence").
	name string
	// anyOf are the delegated permissions of which the token's scp must
	// hold one; wl words the 403.
	anyOf []string
	wl    workload
	// others are the permissions of which the token must also hold one
	// when {user} names someone else than the caller; sharing says that
	// the other's calendar must be shared with the caller too.
	others  []string
	sharing bool
	// mailbox: the request reads or writes a mailbox (the caller's, or
	// {user}'s) and counts against its Outlook budget; presence: it
	// counts against the tenant's presence budget (budget.go).
	mailbox, presence bool
	h                 http.HandlerFunc
}

// The delegated permissions the endpoints accept, from their pages'
// permission tables.
var (
	userRead    = []string{"User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All", "Directory.Read.All"}
	usersRead   = []string{"User.ReadBasic.All", "User.Read.All", "Directory.Read.All"}
	calRead     = []string{"Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite", "Calendars.Read.Shared", "Calendars.ReadWrite.Shared"}
	calShared   = []string{"Calendars.Read.Shared", "Calendars.ReadWrite.Shared"}
	calWrite    = []string{"Calendars.ReadWrite"}
	placesRead  = []string{"Place.Read.All", "Place.ReadWrite.All"}
	membersRead = []string{"GroupMember.Read.All", "Group.Read.All", "Directory.Read.All", "Group.ReadWrite.All"}
)

// graphRoutes are the emulated endpoints of Graph v1.0.
// https://learn.microsoft.com/en-us/graph/api/user-get
// https://learn.microsoft.com/en-us/graph/api/event-delta (calendarView)
// https://learn.microsoft.com/en-us/graph/api/calendar-getschedule (Calendars.ReadBasic, least privileged)
// https://learn.microsoft.com/en-us/graph/api/place-list (Place.Read.All)
// https://learn.microsoft.com/en-us/graph/api/cloudcommunications-getpresencesbyuserid (Presence.Read.All)
// https://learn.microsoft.com/en-us/graph/api/group-list-members (GroupMember.Read.All)
func (s *Sandbox) graphRoutes() []route {
	presence := []string{"Presence.Read", "Presence.Read.All"}
	routes := []route{
		{method: "GET", pattern: "/me", anyOf: userRead, wl: directory, h: s.me},
		{method: "GET", pattern: "/users/{user}", anyOf: userRead, others: usersRead, wl: directory, h: s.me},
		{method: "GET", pattern: "/me/photo/$value", anyOf: userRead, wl: directory, h: s.photo},
		{method: "GET", pattern: "/users/{user}/photo/$value", anyOf: userRead, others: usersRead, wl: directory, h: s.photo},
		{method: "GET", pattern: "/me/presence", anyOf: presence, wl: teams, presence: true, h: s.presence},
		{method: "POST", pattern: "/communications/getPresencesByUserId", anyOf: []string{"Presence.Read.All"}, wl: teams, presence: true, h: s.presencesByUserID},
		{method: "GET", pattern: "/me/calendarView", anyOf: calRead, wl: outlook, mailbox: true, h: s.calendarView},
		{method: "GET", pattern: "/users/{user}/calendarView", anyOf: calRead, others: calShared, sharing: true, wl: outlook, mailbox: true, h: s.calendarView},
		{method: "GET", pattern: "/me/calendarView/delta", anyOf: calRead, wl: outlook, mailbox: true, h: s.calendarDelta},
		{method: "GET", pattern: "/users/{user}/calendarView/delta", anyOf: calRead, others: calShared, sharing: true, wl: outlook, mailbox: true, h: s.calendarDelta},
		{method: "GET", pattern: "/me/events/{id}", anyOf: calRead, wl: outlook, mailbox: true, h: s.getEvent},
		{method: "POST", pattern: "/me/events", anyOf: calWrite, wl: outlook, mailbox: true, h: s.createEvent},
		{method: "PATCH", pattern: "/me/events/{id}", anyOf: calWrite, wl: outlook, mailbox: true, h: s.updateEvent},
		{method: "DELETE", pattern: "/me/events/{id}", anyOf: calWrite, wl: outlook, mailbox: true, h: s.deleteEvent},
		{method: "POST", pattern: "/me/events/{id}/cancel", anyOf: calWrite, wl: outlook, mailbox: true, h: s.cancelEvent},
		{method: "POST", pattern: "/me/events/{id}/accept", anyOf: calWrite, wl: outlook, mailbox: true, h: s.respond(responseAccepted)},
		{method: "POST", pattern: "/me/events/{id}/tentativelyAccept", anyOf: calWrite, wl: outlook, mailbox: true, h: s.respond(responseTentative)},
		{method: "POST", pattern: "/me/events/{id}/decline", anyOf: calWrite, wl: outlook, mailbox: true, h: s.respond(responseDeclined)},
		{method: "POST", pattern: "/me/calendar/getSchedule", anyOf: []string{"Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite"}, wl: outlook, mailbox: true, h: s.getSchedule},
		{method: "GET", pattern: "/places/microsoft.graph.room", anyOf: placesRead, wl: outlook, h: s.placeRooms},
		{method: "GET", pattern: "/places/microsoft.graph.roomlist", anyOf: placesRead, wl: outlook, h: s.placeRoomLists},
		{method: "GET", pattern: "/places/{list}/microsoft.graph.roomlist/rooms", anyOf: placesRead, wl: outlook, h: s.placeRoomsIn},
		{method: "GET", pattern: "/groups/{group}/members", anyOf: membersRead, wl: directory, h: s.groupMembers},
		{method: "GET", pattern: "/groups/{group}", anyOf: membersRead, wl: directory, h: s.getGroup},
	}
	// Graph's type names are not case-sensitive: the Places page writes
	// both roomlist and roomList.
	for _, rt := range routes {
		if strings.Contains(rt.pattern, "roomlist") {
			rt.pattern = strings.ReplaceAll(rt.pattern, "roomlist", "roomList")
			routes = append(routes, rt)
		}
	}
	for i := range routes {
		routes[i].name = strings.ReplaceAll(routes[i].pattern, "roomList", "roomlist")
		routes[i].name = strings.TrimSuffix(routes[i].name, "/$value")
	}
	return routes
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
// token), the bearer token, the permission, and the user a /users/{user}
// path names: one that exists, and one the caller may reach.
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
		if rt.presence {
			// Every presence request with a token counts against the
			// tenant's budget, refused ones too.
			s.countPresence()
		}
		c.target = c.user
		named := r.PathValue("user")
		if named != "" {
			s.mu.Lock()
			c.target = s.userByAddress(named)
			s.mu.Unlock()
		}
		mailbox := ""
		if rt.mailbox && c.target != nil {
			mailbox = c.target.UPN
		}
		round := ""
		if strings.HasSuffix(r.URL.Path, "/delta") {
			round = "first"
			if q := r.URL.Query(); q.Has("$deltatoken") || q.Has("$skiptoken") {
				round = "next"
			}
		}
		s.logRequest(c.user, name, mailbox, round)
		switch {
		case !c.has(rt.anyOf):
			s.forbidden(w, r, rt.wl, rt.anyOf, c.scopes)
			return
		case c.target == nil:
			s.noSuchUser(w, r, rt.wl, named)
			return
		case c.target != c.user && rt.others != nil && !c.has(rt.others):
			s.forbidden(w, r, rt.wl, rt.others, c.scopes)
			return
		case c.target != c.user && rt.sharing && !sharedWith(c.target, c.user):
			s.forbidden(w, r, outlook, nil, nil)
			return
		}
		if rt.mailbox {
			defer s.beginMailbox(c.target)()
		}
		rt.h(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
	})
}

// sharedWith reports whether owner's calendar is shared with reader, as
// Calendars.Read.Shared needs: the demo tenant shares every room's calendar
// with the organisation (as an administrator does for room displays with
// Set-MailboxFolderPermission ... -User Default -AccessRights Reviewer);
// people's calendars show others their free/busy only (Exchange's
// default), so reading their events is refused with ErrorAccessDenied.
// https://learn.microsoft.com/en-us/graph/api/user-list-calendarview
func sharedWith(owner, reader *user) bool { return owner == reader || owner.Room }

// noSuchUser answers for a /users/{user} that names nobody: the
// directory's Request_ResourceNotFound, Exchange's ErrorInvalidUser (both
// as public threads quote them; unconfirmed by Microsoft's pages).
func (s *Sandbox) noSuchUser(w http.ResponseWriter, r *http.Request, wl workload, named string) {
	if wl == directory {
		s.graphError(w, r, http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf(
			"Resource '%s' does not exist or one of its queried reference-property objects are not present.", named))
		return
	}
	s.graphError(w, r, http.StatusNotFound, "ErrorInvalidUser", fmt.Sprintf("The requested user '%s' is invalid.", named))
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
	u := callerOf(r.Context()).target
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
	u := callerOf(r.Context()).target
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
