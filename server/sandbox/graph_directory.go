package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// The directory as boards read it: rooms and room lists (the Places API),
// a group's members, and the presence of many people at once.

// placesPageSize is the Places API's page: "By default, this operation
// returns 100 places per page", and $top changes it.
// https://learn.microsoft.com/en-us/graph/api/place-list
const placesPageSize = 100

// roomJSON is a room as the Places API returns it.
// https://learn.microsoft.com/en-us/graph/api/resources/room
func roomJSON(u *user) map[string]any {
	ri := u.room
	return map[string]any{
		"id":                     strings.ToUpper(stableGUID("place:" + u.UPN)),
		"emailAddress":           u.UPN,
		"displayName":            u.DisplayName,
		"address":                map[string]any{"street": "", "city": u.Office, "state": "", "postalCode": "", "countryOrRegion": ""},
		"geoCoordinates":         nil,
		"phone":                  nil,
		"nickname":               u.DisplayName,
		"label":                  nil,
		"capacity":               ri.Capacity,
		"building":               ri.Building,
		"floorLabel":             ri.FloorLabel,
		"floorNumber":            ri.FloorNumber,
		"isManaged":              true,
		"isWheelChairAccessible": false,
		"bookingType":            "standard",
		"tags":                   []string{},
		"audioDeviceName":        nil,
		"videoDeviceName":        nil,
		"displayDeviceName":      nil,
	}
}

// roomListJSON is a room list as the Places API returns it.
// https://learn.microsoft.com/en-us/graph/api/resources/roomlist
func roomListJSON(l roomList) map[string]any {
	return map[string]any{
		"id":             strings.ToUpper(stableGUID("place:" + l.Email)),
		"displayName":    l.DisplayName,
		"emailAddress":   l.Email,
		"address":        nil,
		"geoCoordinates": nil,
		"phone":          nil,
	}
}

// placeRooms is GET /places/microsoft.graph.room: every room of the
// tenant, by display name.
func (s *Sandbox) placeRooms(w http.ResponseWriter, r *http.Request) {
	var rooms []map[string]any
	for _, l := range s.roomLists {
		for _, upn := range l.Rooms {
			rooms = append(rooms, roomJSON(s.users[upn]))
		}
	}
	s.places(w, r, rooms, "#places/microsoft.graph.room")
}

// placeRoomLists is GET /places/microsoft.graph.roomlist.
func (s *Sandbox) placeRoomLists(w http.ResponseWriter, r *http.Request) {
	var lists []map[string]any
	for _, l := range s.roomLists {
		lists = append(lists, roomListJSON(l))
	}
	s.places(w, r, lists, "#places/microsoft.graph.roomList")
}

// placeRoomsIn is GET /places/{room list's email}/microsoft.graph.roomlist/rooms:
// "you must specify the room list by its emailAddress property, not by its
// id". What Graph answers for an address that is no room list is
// unconfirmed: 404 ErrorItemNotFound is modelled.
func (s *Sandbox) placeRoomsIn(w http.ResponseWriter, r *http.Request) {
	email := r.PathValue("list")
	l, ok := s.roomListByEmail(email)
	if !ok {
		s.graphError(w, r, http.StatusNotFound, "ErrorItemNotFound",
			fmt.Sprintf("The room list '%s' was not found: name a room list by its email address.", email))
		return
	}
	var rooms []map[string]any
	for _, upn := range l.Rooms {
		rooms = append(rooms, roomJSON(s.users[upn]))
	}
	s.places(w, r, rooms, "#places('"+url.PathEscape(l.Email)+"')/microsoft.graph.roomList/rooms")
}

// places writes a page of places: $top (100 by default), $skip and
// $count=true as the Places page lists them, with @odata.nextLink while
// more follow. $filter, $orderby, $search and $select are not emulated and
// answered 400 saying so, so that a client never takes an unfiltered list
// for a filtered one.
func (s *Sandbox) places(w http.ResponseWriter, r *http.Request, items []map[string]any, context string) {
	q := r.URL.Query()
	for _, p := range []string{"$filter", "$orderby", "$search", "$select", "$expand"} {
		if q.Has(p) {
			s.graphError(w, r, http.StatusBadRequest, "BadRequest", fmt.Sprintf("The sandbox does not emulate %s on places (docs/sandbox.md).", p))
			return
		}
	}
	top, skip, bad := pageParams(q, placesPageSize, 1000)
	if bad != "" {
		s.graphError(w, r, http.StatusBadRequest, "BadRequest", bad)
		return
	}
	if items == nil {
		items = []map[string]any{}
	}
	o := originOf(r)
	body := map[string]any{
		"@odata.context": o.graph + "/v1.0/$metadata" + context,
		"value":          items[min(skip, len(items)):min(skip+top, len(items))],
	}
	if q.Get("$count") == "true" {
		body["@odata.count"] = len(items)
	}
	if skip+top < len(items) {
		nq := r.URL.Query()
		nq.Set("$skip", strconv.Itoa(skip+top))
		nq.Set("$top", strconv.Itoa(top))
		body["@odata.nextLink"] = o.graph + strings.TrimSuffix(r.URL.Path, "/") + "?" + nq.Encode()
	}
	writeGraph(w, r, http.StatusOK, body)
}

// pageParams reads $top (def by default, at most most) and $skip; a bad
// value is named in the OData parser's words.
func pageParams(q url.Values, def, most int) (top, skip int, bad string) {
	top = def
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, fmt.Sprintf("Invalid value '%s' for $top query option found. The $top query option requires a non-negative integer value.", v)
		}
		top = min(n, most)
	}
	if v := q.Get("$skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, fmt.Sprintf("Invalid value '%s' for $skip query option found. The $skip query option requires a non-negative integer value.", v)
		}
		skip = n
	}
	return top, skip, ""
}

// getGroup is GET /groups/{id}: the group's id, name and mail (and the
// properties of a Microsoft 365 group that a client may read; $select is
// not emulated). Its least privileged delegated permission is
// GroupMember.Read.All, as for its members; an unknown id is 404
// Request_ResourceNotFound, as for a user.
// https://learn.microsoft.com/en-us/graph/api/group-get
func (s *Sandbox) getGroup(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("group")
	g, ok := s.groupByID(id)
	if !ok {
		s.noSuchUser(w, r, directory, id)
		return
	}
	writeGraph(w, r, http.StatusOK, map[string]any{
		"@odata.context":  originOf(r).graph + "/v1.0/$metadata#groups/$entity",
		"id":              g.ID,
		"displayName":     g.DisplayName,
		"mail":            g.Mail,
		"mailEnabled":     true,
		"securityEnabled": false,
		"groupTypes":      []string{"Unified"},
		"description":     nil,
	})
}

// membersPageSize is the directory's page of a group's members: 100 by
// default, 999 at most ($top).
// https://learn.microsoft.com/en-us/graph/api/group-list-members
const membersPageSize = 100

// groupMembers is GET /groups/{id}/members. The least privileged delegated
// permission is GroupMember.Read.All, which needs an administrator's
// consent: "The minimum permission required to list group members is
// GroupMember.Read.All, and this permission requires admin consent"
// (Philippe Signoret, Microsoft, Microsoft Q&A 124948; User.ReadBasic.All
// alone gets 403 Authorization_RequestDenied). Members come as
// directoryObjects; without a permission to read users (User.ReadBasic.All
// or more), each user comes with its type and id only, the rest null: "if
// it doesn't have permission to read a certain resource type, members of
// that type are returned but with limited information".
// https://learn.microsoft.com/en-us/graph/permissions-overview#limited-information-returned-for-inaccessible-member-objects
// Pages follow @odata.nextLink with a $skiptoken.
func (s *Sandbox) groupMembers(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r.Context())
	id := r.PathValue("group")
	g, ok := s.groupByID(id)
	if !ok {
		s.noSuchUser(w, r, directory, id)
		return
	}
	q := r.URL.Query()
	top, _, bad := pageParams(q, membersPageSize, 999)
	if bad != "" {
		s.graphError(w, r, http.StatusBadRequest, "Request_BadRequest", bad)
		return
	}
	skip := 0
	if t := q.Get("$skiptoken"); t != "" {
		b, err := base64.RawURLEncoding.DecodeString(t)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "X'"))
		if err != nil || err2 != nil || !strings.HasPrefix(string(b), "X'") || n < 0 {
			s.graphError(w, r, http.StatusBadRequest, "Request_BadRequest", "Invalid $skiptoken.")
			return
		}
		skip = n
	}
	readUsers := c.has(usersRead)
	var values []map[string]any
	s.mu.Lock()
	for _, upn := range g.Members[min(skip, len(g.Members)):min(skip+top, len(g.Members))] {
		u := s.users[upn]
		m := map[string]any{"@odata.type": "#microsoft.graph.user", "id": u.OID}
		for _, k := range []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName"} {
			m[k] = nil
		}
		if readUsers {
			var mail any
			if u.Mailbox {
				mail = u.UPN
			}
			m["businessPhones"], m["displayName"], m["givenName"], m["jobTitle"] = []string{}, u.DisplayName, nullable(u.GivenName), nullable(u.JobTitle)
			m["mail"], m["officeLocation"], m["preferredLanguage"], m["surname"], m["userPrincipalName"] = mail, nullable(u.Office), "en-US", nullable(u.Surname), u.UPN
		}
		values = append(values, m)
	}
	s.mu.Unlock()
	if values == nil {
		values = []map[string]any{}
	}
	o := originOf(r)
	body := map[string]any{"@odata.context": o.graph + "/v1.0/$metadata#directoryObjects", "value": values}
	if skip+top < len(g.Members) {
		nq := url.Values{"$top": {strconv.Itoa(top)}, "$skiptoken": {base64.RawURLEncoding.EncodeToString([]byte("X'" + strconv.Itoa(skip+top)))}}
		body["@odata.nextLink"] = o.graph + "/v1.0/groups/" + g.ID + "/members?" + nq.Encode()
	}
	writeGraph(w, r, http.StatusOK, body)
}

// MaxPresenceIDs is the most ids getPresencesByUserId takes: "Maximum of
// 650 user IDs are supported per API request".
// https://learn.microsoft.com/en-us/graph/api/cloudcommunications-getpresencesbyuserid
const MaxPresenceIDs = 650

var guidForm = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// presencesByUserID is POST /communications/getPresencesByUserId
// {"ids": [object ids]}: one presence per id, in the order asked.
// Unconfirmed by Microsoft's pages, and modelled here in one place: more
// than 650 ids is 400 BadRequest (a public thread saw a bare 400 for "a
// larger number of users", microsoft-graph-docs#9333); an id that is not a
// GUID is 400; an id of nobody, and a user without Teams (Kim, the rooms
// but the lobby), answer PresenceUnknown rather than fail the batch.
func (s *Sandbox) presencesByUserID(w http.ResponseWriter, r *http.Request) {
	var body struct {
		IDs []string `json:"ids"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		s.graphError(w, r, http.StatusBadRequest, "BadRequest", "The request body is not valid JSON with an \"ids\" array: "+err.Error())
		return
	}
	switch {
	case len(body.IDs) == 0:
		s.graphError(w, r, http.StatusBadRequest, "BadRequest", "The request body needs an \"ids\" array of user object ids.")
		return
	case len(body.IDs) > MaxPresenceIDs:
		s.graphError(w, r, http.StatusBadRequest, "BadRequest", fmt.Sprintf(
			"Too many ids: %d. At most %d user ids are supported per request.", len(body.IDs), MaxPresenceIDs))
		return
	}
	for _, id := range body.IDs {
		if !guidForm.MatchString(id) {
			s.graphError(w, r, http.StatusBadRequest, "BadRequest", fmt.Sprintf("'%s' is not a user object id (a GUID).", id))
			return
		}
	}
	values := make([]map[string]any, 0, len(body.IDs))
	s.mu.Lock()
	now := s.now()
	for _, id := range body.IDs {
		availability, activity := "PresenceUnknown", "PresenceUnknown"
		if u := s.userByOID(strings.ToLower(id)); u != nil && u.Teams {
			availability, activity = s.presenceLocked(u)
			if served := [2]string{availability, activity}; served != u.served || u.servedAt.IsZero() {
				u.served, u.servedAt = served, now
			}
		}
		values = append(values, map[string]any{"id": id, "availability": availability, "activity": activity})
	}
	s.mu.Unlock()
	writeGraph(w, r, http.StatusOK, map[string]any{
		"@odata.context": originOf(r).graph + "/v1.0/$metadata#Collection(microsoft.graph.presence)",
		"value":          values,
	})
}
