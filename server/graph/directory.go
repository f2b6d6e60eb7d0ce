package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// MaxPresenceIDs is the most users one getPresencesByUserId reads:
// "Maximum of 650 user IDs are supported per API request".
// https://learn.microsoft.com/en-us/graph/api/cloudcommunications-getpresencesbyuserid
const MaxPresenceIDs = 650

// PresencesByUserID reads the presence of users by object id with POST
// /communications/getPresencesByUserId (Presence.Read.All), in requests of
// at most 650 ids, and returns them in the order Graph answers (each names
// its id). Every request counts against the tenant's presence budget.
func (c *Client) PresencesByUserID(ctx context.Context, token string, ids []string) ([]Presence, error) {
	var all []Presence
	for rest := ids; len(rest) > 0; {
		n := min(MaxPresenceIDs, len(rest))
		body, err := json.Marshal(map[string][]string{"ids": rest[:n]})
		if err != nil {
			return nil, fmt.Errorf("graph: encoding presence ids: %w", err)
		}
		res, err := c.do(ctx, token, "getPresencesByUserId", http.MethodPost, "/communications/getPresencesByUserId", nil, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		var out struct {
			Value []Presence `json:"value"`
		}
		err = json.NewDecoder(io.LimitReader(res.Body, 8<<20)).Decode(&out)
		res.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("graph: POST /communications/getPresencesByUserId: decoding the answer: %w", err)
		}
		all = append(all, out.Value...)
		rest = rest[n:]
	}
	return all, nil
}

// Room is a meeting room as the Places API lists it.
// https://learn.microsoft.com/en-us/graph/api/resources/room
type Room struct {
	ID           string `json:"id"`
	EmailAddress string `json:"emailAddress"`
	DisplayName  string `json:"displayName"`
	Nickname     string `json:"nickname"`
	Building     string `json:"building"`
	FloorLabel   string `json:"floorLabel"`
	// FloorNumber and Capacity: the room resource says Int32, while the
	// Places page's own samples write capacity as a string ("50"): both
	// are read.
	FloorNumber FlexInt `json:"floorNumber"`
	Capacity    FlexInt `json:"capacity"`
	BookingType string  `json:"bookingType"`
}

// RoomList is a room list as the Places API lists it: rooms are listed by
// its EmailAddress, not its ID.
// https://learn.microsoft.com/en-us/graph/api/resources/roomlist
type RoomList struct {
	ID           string `json:"id"`
	EmailAddress string `json:"emailAddress"`
	DisplayName  string `json:"displayName"`
}

// FlexInt is an integer Graph may write as a number or as a string.
type FlexInt int

func (n *FlexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("graph: %s is not a whole number", b)
	}
	*n = FlexInt(v)
	return nil
}

// Int is the number.
func (n FlexInt) Int() int { return int(n) }

// placesPages bounds the pages of a list of places (100 each by default).
const placesPages = 100

// list reads every page of a collection, following @odata.nextLink, into
// add's decoding of each page's value.
func (c *Client) list(ctx context.Context, token, endpoint, path string, add func(json.RawMessage) error) error {
	next := path
	for pages := 0; next != ""; pages++ {
		if pages == placesPages {
			return fmt.Errorf("graph: %s has more than %d pages", endpoint, placesPages)
		}
		var page struct {
			Value    json.RawMessage `json:"value"`
			NextLink string          `json:"@odata.nextLink"`
		}
		if err := c.getJSON(ctx, token, endpoint, next, nil, &page); err != nil {
			return err
		}
		if err := add(page.Value); err != nil {
			return fmt.Errorf("graph: %s: decoding a page: %w", endpoint, err)
		}
		next = page.NextLink
	}
	return nil
}

// Rooms lists every room of the tenant (GET /places/microsoft.graph.room,
// Place.Read.All, which needs an administrator's consent).
// https://learn.microsoft.com/en-us/graph/api/place-list
func (c *Client) Rooms(ctx context.Context, token string) ([]Room, error) {
	return c.rooms(ctx, token, "/places/microsoft.graph.room")
}

// RoomsIn lists the rooms of a room list, named by its email address
// (GET /places/{email}/microsoft.graph.roomlist/rooms).
func (c *Client) RoomsIn(ctx context.Context, token, roomList string) ([]Room, error) {
	return c.rooms(ctx, token, "/places/"+url.PathEscape(roomList)+"/microsoft.graph.roomlist/rooms")
}

func (c *Client) rooms(ctx context.Context, token, path string) ([]Room, error) {
	var all []Room
	err := c.list(ctx, token, "places", path, func(v json.RawMessage) error {
		var page []Room
		err := json.Unmarshal(v, &page)
		all = append(all, page...)
		return err
	})
	return all, err
}

// RoomLists lists the tenant's room lists (GET
// /places/microsoft.graph.roomlist, Place.Read.All).
func (c *Client) RoomLists(ctx context.Context, token string) ([]RoomList, error) {
	var all []RoomList
	err := c.list(ctx, token, "places", "/places/microsoft.graph.roomlist", func(v json.RawMessage) error {
		var page []RoomList
		err := json.Unmarshal(v, &page)
		all = append(all, page...)
		return err
	})
	return all, err
}

// Member is a member of a group. Without a permission to read users
// (User.ReadBasic.All), Graph gives a user's type and ID only.
// https://learn.microsoft.com/en-us/graph/api/group-list-members
type Member struct {
	Type              string `json:"@odata.type"`
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName"`
	Mail              string `json:"mail"`
}

// GroupMembers lists a group's direct members (GET /groups/{id}/members;
// GroupMember.Read.All, which needs an administrator's consent, and
// User.ReadBasic.All for their names), every page.
func (c *Client) GroupMembers(ctx context.Context, token, groupID string) ([]Member, error) {
	var all []Member
	err := c.list(ctx, token, "groupMembers", "/groups/"+url.PathEscape(groupID)+"/members", func(v json.RawMessage) error {
		var page []Member
		err := json.Unmarshal(v, &page)
		all = append(all, page...)
		return err
	})
	return all, err
}

// Group is a group's name.
// https://learn.microsoft.com/en-us/graph/api/resources/group
type Group struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Mail        string `json:"mail"`
}

// Group returns a group by id (GET /groups/{id}; GroupMember.Read.All, as
// its members).
// https://learn.microsoft.com/en-us/graph/api/group-get
func (c *Client) Group(ctx context.Context, token, id string) (Group, error) {
	var g Group
	err := c.getJSON(ctx, token, "groups", "/groups/"+url.PathEscape(id)+"?$select=id,displayName,mail", nil, &g)
	return g, err
}

// User returns a user's profile by id or user principal name (GET
// /users/{id}; User.ReadBasic.All for others than oneself).
func (c *Client) User(ctx context.Context, token, idOrUPN string) (User, error) {
	var u User
	err := c.getJSON(ctx, token, "users", "/users/"+url.PathEscape(idOrUPN), nil, &u)
	return u, err
}

// UserPhoto returns a user's photo and its content type (GET
// /users/{id}/photo/$value). A user without one is an *Error with status
// 404: show initials.
func (c *Client) UserPhoto(ctx context.Context, token, idOrUPN string) ([]byte, string, error) {
	return c.photo(ctx, token, "/users/"+url.PathEscape(idOrUPN)+"/photo/$value")
}
