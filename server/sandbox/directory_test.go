package sandbox_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/placard/placard/server/sandbox"
)

func TestPlacesListRoomsAndRoomLists(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t)
	auth := bearer(t, sb, ada, "Place.Read.All")
	rooms := sb.Rooms()
	if len(rooms.Rooms) < 6 || len(rooms.RoomLists) < 2 || !slices.ContainsFunc(rooms.Rooms, func(r sandbox.RoomInfo) bool { return r.UPN == lobby }) {
		t.Fatalf("the demo tenant's rooms: %+v", rooms)
	}

	all := get(t, c, graphBase+"/places/microsoft.graph.room", "Authorization", auth)
	values, _ := all.body["value"].([]any)
	if all.status != 200 || len(values) != len(rooms.Rooms) || all.body["@odata.nextLink"] != nil {
		t.Fatalf("all rooms: %d %s", all.status, all.raw)
	}
	for _, v := range values {
		room := v.(map[string]any)
		for _, k := range []string{"id", "emailAddress", "displayName", "capacity", "building", "floorNumber", "floorLabel"} {
			if room[k] == nil {
				t.Errorf("a room without %s: %v", k, room)
			}
		}
		if room["emailAddress"] == lobby && (room["displayName"] != "Lobby Room" || room["capacity"] != float64(8)) {
			t.Errorf("the lobby: %v", room)
		}
	}

	t.Run("paging with $top", func(t *testing.T) {
		var seen []string
		next := graphBase + "/places/microsoft.graph.room?$top=4"
		for pages := 0; next != ""; pages++ {
			if pages > 5 {
				t.Fatal("no end to the pages")
			}
			a := get(t, c, next, "Authorization", auth)
			if a.status != 200 {
				t.Fatalf("%d %s", a.status, a.raw)
			}
			for _, v := range a.body["value"].([]any) {
				seen = append(seen, v.(map[string]any)["emailAddress"].(string))
			}
			next, _ = a.body["@odata.nextLink"].(string)
		}
		if len(seen) != len(rooms.Rooms) || len(slices.Compact(slices.Sorted(slices.Values(seen)))) != len(seen) {
			t.Errorf("pages of 4 gave %v", seen)
		}
	})
	t.Run("room lists and their rooms", func(t *testing.T) {
		for _, path := range []string{"/places/microsoft.graph.roomlist", "/places/microsoft.graph.roomList"} {
			a := get(t, c, graphBase+path, "Authorization", auth)
			if a.status != 200 || len(a.body["value"].([]any)) != len(rooms.RoomLists) {
				t.Fatalf("%s: %d %s", path, a.status, a.raw)
			}
		}
		for _, l := range rooms.RoomLists {
			a := get(t, c, graphBase+"/places/"+l.Email+"/microsoft.graph.roomlist/rooms", "Authorization", auth)
			var got []string
			for _, v := range a.body["value"].([]any) {
				got = append(got, v.(map[string]any)["emailAddress"].(string))
			}
			if a.status != 200 || !slices.Equal(got, l.Rooms) {
				t.Errorf("%s's rooms: %d %v, want %v", l.Email, a.status, got, l.Rooms)
			}
		}
		// A room list is named by its email address, not its id.
		wantGraph(t, get(t, c, graphBase+"/places/nowhere@placard.example/microsoft.graph.roomlist/rooms", "Authorization", auth), 404, "ErrorItemNotFound")
	})
	t.Run("Place.Read.All is needed", func(t *testing.T) {
		wantGraph(t, get(t, c, graphBase+"/places/microsoft.graph.room", "Authorization", bearer(t, sb, ada, "User.Read", "Calendars.Read")), 403, "ErrorAccessDenied")
	})
	t.Run("what is not emulated says so", func(t *testing.T) {
		msg := wantGraph(t, get(t, c, graphBase+"/places/microsoft.graph.room?$filter="+url.QueryEscape("building eq 'x'"), "Authorization", auth), 400, "BadRequest")
		if !strings.Contains(msg, "$filter") {
			t.Errorf("message %q", msg)
		}
	})
}

func TestGroupMembers(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t)
	groups := sb.Groups()
	i := slices.IndexFunc(groups, func(g sandbox.GroupInfo) bool { return g.DisplayName == "Team" })
	if i < 0 || len(groups[i].Members) < 12 {
		t.Fatalf("groups %+v", groups)
	}
	team := groups[i]
	members := func(auth, first string) (ids, names []string) {
		t.Helper()
		next := first
		for pages := 0; next != ""; pages++ {
			if pages > 20 {
				t.Fatal("no end to the pages")
			}
			a := get(t, c, next, "Authorization", auth)
			if a.status != 200 {
				t.Fatalf("%d %s", a.status, a.raw)
			}
			for _, v := range a.body["value"].([]any) {
				m := v.(map[string]any)
				if m["@odata.type"] != "#microsoft.graph.user" {
					t.Errorf("a member of type %v", m["@odata.type"])
				}
				ids = append(ids, m["id"].(string))
				name, _ := m["userPrincipalName"].(string)
				names = append(names, name)
			}
			next, _ = a.body["@odata.nextLink"].(string)
		}
		return ids, names
	}
	base := graphBase + "/groups/" + team.ID + "/members"

	t.Run("with users' profiles, in pages", func(t *testing.T) {
		_, names := members(bearer(t, sb, grace, "GroupMember.Read.All", "User.ReadBasic.All"), base+"?$top=5")
		if !slices.Equal(names, team.Members) {
			t.Errorf("members %v, want %v", names, team.Members)
		}
	})
	t.Run("without, ids only", func(t *testing.T) {
		ids, names := members(bearer(t, sb, grace, "GroupMember.Read.All"), base)
		if len(ids) != len(team.Members) || slices.ContainsFunc(names, func(n string) bool { return n != "" }) {
			t.Errorf("ids %v, names %v: without a permission to read users, members come with their id only", ids, names)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		wantGraph(t, get(t, c, base, "Authorization", bearer(t, sb, grace, "User.ReadBasic.All")), 403, "Authorization_RequestDenied")
		wantGraph(t, get(t, c, graphBase+"/groups/"+strings.Repeat("0", 8)+"-0000-0000-0000-000000000000/members", "Authorization", bearer(t, sb, grace, "GroupMember.Read.All")), 404, "Request_ResourceNotFound")
	})
}

func TestOtherUsersProfilesAndPhotos(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t)
	auth := bearer(t, sb, ada, "User.ReadBasic.All")
	for _, tc := range []struct {
		upn   string
		photo bool
	}{{grace, true}, {"katherine@placard.example", false}, {lobby, false}} {
		me := get(t, c, graphBase+"/users/"+tc.upn, "Authorization", auth)
		if me.status != 200 || me.body["userPrincipalName"] != tc.upn {
			t.Errorf("/users/%s: %d %s", tc.upn, me.status, me.raw)
		}
		byID := get(t, c, graphBase+"/users/"+me.body["id"].(string), "Authorization", auth)
		if byID.body["userPrincipalName"] != tc.upn {
			t.Errorf("/users/{id} of %s: %s", tc.upn, byID.raw)
		}
		p := get(t, c, graphBase+"/users/"+tc.upn+"/photo/$value", "Authorization", auth)
		if tc.photo && (p.status != 200 || p.header.Get("Content-Type") != "image/png") {
			t.Errorf("%s's photo: %d", tc.upn, p.status)
		}
		if !tc.photo {
			wantGraph(t, p, 404, "ImageNotFound")
		}
	}
	// User.Read reads only oneself.
	wantGraph(t, get(t, c, graphBase+"/users/"+grace, "Authorization", bearer(t, sb, ada, "User.Read")), 403, "Authorization_RequestDenied")
	if a := get(t, c, graphBase+"/users/"+ada, "Authorization", bearer(t, sb, ada, "User.Read")); a.status != 200 {
		t.Errorf("oneself with User.Read: %d", a.status)
	}
	wantGraph(t, get(t, c, graphBase+"/users/nobody@placard.example", "Authorization", auth), 404, "Request_ResourceNotFound")
}

func TestPresencesByUserID(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t)
	auth := bearer(t, sb, ada, "Presence.Read.All")
	oid := func(upn string) string {
		t.Helper()
		a := get(t, c, graphBase+"/users/"+upn, "Authorization", bearer(t, sb, ada, "User.ReadBasic.All"))
		return a.body["id"].(string)
	}
	post := func(auth string, ids []string) answer {
		t.Helper()
		b, _ := json.Marshal(map[string]any{"ids": ids})
		return send(t, c, "POST", graphBase+"/communications/getPresencesByUserId", string(b), "Authorization", auth)
	}
	if err := sb.SetPresence(grace, "DoNotDisturb", "Presenting"); err != nil {
		t.Fatal(err)
	}
	nobody := "00000000-1111-2222-3333-444444444444"
	ids := []string{oid(grace), oid(kim), nobody, oid("alan@placard.example")}
	a := post(auth, ids)
	values, _ := a.body["value"].([]any)
	if a.status != 200 || len(values) != len(ids) {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	got := map[string]string{}
	for _, v := range values {
		m := v.(map[string]any)
		got[m["id"].(string)] = fmt.Sprint(m["availability"], "/", m["activity"])
	}
	want := map[string]string{ids[0]: "DoNotDisturb/Presenting", ids[1]: "PresenceUnknown/PresenceUnknown", nobody: "PresenceUnknown/PresenceUnknown"}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %s, want %s", id, got[id], w)
		}
	}

	many := make([]string, sandbox.MaxPresenceIDs+1)
	for i := range many {
		many[i] = fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
	}
	if a := post(auth, many[:sandbox.MaxPresenceIDs]); a.status != 200 || len(a.body["value"].([]any)) != sandbox.MaxPresenceIDs {
		t.Errorf("650 ids: %d", a.status)
	}
	wantGraph(t, post(auth, many), 400, "BadRequest")
	wantGraph(t, post(auth, []string{"grace@placard.example"}), 400, "BadRequest")
	wantGraph(t, post(bearer(t, sb, ada, "Presence.Read"), ids), 403, "Forbidden")

	// Every request counts, for the tenant's presence budget.
	if n := sb.RequestCounts()["graph /communications/getPresencesByUserId"]; n != 5 {
		t.Errorf("%d requests counted, want 5", n)
	}
	if b := sb.Budgets().Presence; b.Total != 5 || b.InWindow != 5 || b.PeakWindow != 5 || b.Limit != 1500 || b.WindowSeconds != 30 {
		t.Errorf("presence budget %+v", b)
	}
}

func TestNumberedRoomsAndPeople(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t, func(o *sandbox.Options) { o.NumberedRooms, o.NumberedUsers = 45, 61 })
	rooms := sb.Rooms()
	if len(rooms.Rooms) != 7+45 || len(rooms.RoomLists) != 4 || len(rooms.RoomLists[2].Rooms) != 40 || len(rooms.RoomLists[3].Rooms) != 5 {
		t.Fatalf("%d rooms in %d lists", len(rooms.Rooms), len(rooms.RoomLists))
	}
	auth := bearer(t, sb, ada, "Place.Read.All", "Calendars.ReadBasic")
	a := get(t, c, graphBase+"/places/"+rooms.RoomLists[2].Email+"/microsoft.graph.roomlist/rooms?$top=15", "Authorization", auth)
	if a.status != 200 || len(a.body["value"].([]any)) != 15 || a.body["@odata.nextLink"] == nil {
		t.Errorf("a page of a list of 40: %d %s", a.status, a.raw)
	}
	// The numbered rooms have calendars of their own, some busy now.
	busy := 0
	for _, upn := range rooms.RoomLists[2].Rooms[:6] {
		for _, e := range dayOf(t, sb, upn) {
			if now := sb.Now(); !e.IsCancelled && !e.Start.After(now) && e.End.After(now) {
				busy++
			}
		}
	}
	if busy == 0 || busy == 6 {
		t.Errorf("%d of six numbered rooms busy now: a board shows some of each", busy)
	}
	groups := sb.Groups()
	if len(groups) != 2 || groups[1].DisplayName != "Numbered people" || len(groups[1].Members) != 61 {
		t.Errorf("groups %+v", groups)
	}
}
