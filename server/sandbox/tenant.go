package sandbox

import (
	"fmt"
	"slices"
	"strings"
)

// The demo tenant's directory: people (the group "Team"), meeting rooms in
// two room lists, and the account without a mailbox. What a lobby TV shows
// of it should look like an office: people in several time zones, some
// with a photo and some without (a screen shows their initials), rooms of
// several sizes on several floors.

// person is one row of the demo people's table.
type person struct {
	local, name, given, surname, job, office, zone string
	photo                                          bool
	availability, activity                         string
}

// demoPeopleTable is everyone who is not a room. Ada, Grace, Lobby Room and
// Kim are part of the sandbox's contract (docs/sandbox.md); the others
// fill the group Team.
var demoPeopleTable = []person{
	{"ada", "Ada Lovelace", "Ada", "Lovelace", "Analyst", "London", "Europe/London", true, "Available", "Available"},
	{"grace", "Grace Hopper", "Grace", "Hopper", "Rear Admiral", "New York", "America/New_York", true, "Busy", "InACall"},
	{"kim", "Kim Park", "Kim", "Park", "Designer", "Seoul", "Asia/Seoul", false, "PresenceUnknown", "PresenceUnknown"},
	{"alan", "Alan Turing", "Alan", "Turing", "Mathematician", "London", "Europe/London", true, "Available", "Available"},
	{"katherine", "Katherine Johnson", "Katherine", "Johnson", "Research Mathematician", "New York", "America/New_York", false, "Busy", "InACall"},
	{"margaret", "Margaret Hamilton", "Margaret", "Hamilton", "Engineering Director", "New York", "America/New_York", true, "DoNotDisturb", "Presenting"},
	{"konrad", "Konrad Zuse", "Konrad", "Zuse", "Hardware Engineer", "Berlin", "Europe/Berlin", false, "Away", "Away"},
	{"hedy", "Hedy Lamarr", "Hedy", "Lamarr", "Inventor", "Los Angeles", "America/Los_Angeles", true, "Offline", "OffWork"},
	{"radia", "Radia Perlman", "Radia", "Perlman", "Network Architect", "Denver", "America/Denver", false, "BeRightBack", "BeRightBack"},
	{"tim", "Tim Berners-Lee", "Tim", "Berners-Lee", "Web Architect", "London", "Europe/London", true, "Available", "Available"},
	{"barbara", "Barbara Liskov", "Barbara", "Liskov", "Professor", "New York", "America/New_York", false, "Available", "Available"},
	{"donald", "Donald Knuth", "Donald", "Knuth", "Author", "Los Angeles", "America/Los_Angeles", true, "Away", "OutOfOffice"},
	{"yukihiro", "Yukihiro Matsumoto", "Yukihiro", "Matsumoto", "Language Designer", "Tokyo", "Asia/Tokyo", false, "Available", "Available"},
	{"shakuntala", "Shakuntala Devi", "Shakuntala", "Devi", "Data Scientist", "Bengaluru", "Asia/Kolkata", true, "Busy", "Busy"},
}

// demoPeople returns the people of the demo tenant. Kim has neither a
// mailbox nor a Teams licence; everyone else has both.
func demoPeople() []*user {
	out := make([]*user, 0, len(demoPeopleTable))
	for _, p := range demoPeopleTable {
		u := &user{UPN: p.local + "@" + TenantDomain, DisplayName: p.name, GivenName: p.given, Surname: p.surname,
			JobTitle: p.job, Office: p.office, Mailbox: p.local != "kim", Teams: p.local != "kim",
			Availability: p.availability, Activity: p.activity, TimeZone: p.zone}
		if p.local == "grace" {
			u.Roles = []string{AdminRole}
		}
		if p.photo {
			u.photo = lazyPortrait(u.UPN)
		}
		out = append(out, u)
	}
	return out
}

// roomInfo is what the Places API says of a room, and how the room's
// mailbox processes meeting requests.
// https://learn.microsoft.com/en-us/graph/api/resources/room
type roomInfo struct {
	Capacity    int
	Building    string
	FloorNumber int
	FloorLabel  string
	// List is the email address of the room list the room is in.
	List string
	// KeepSubject is Set-CalendarProcessing's AddOrganizerToSubject and
	// DeleteSubject turned off: the room's copy of a meeting keeps its
	// subject. By default Exchange replaces it with the organiser's name.
	// https://learn.microsoft.com/en-us/powershell/module/exchange/set-calendarprocessing
	KeepSubject bool
	// layout is how the demo lays the room's day around the sandbox's
	// start (see roomDay).
	layout roomLayout
	// standUp is a daily series of the room's calendar, weekdays at 08:30
	// (see calendar.go).
	standUp bool
}

// roomLayout is how a room's day is laid around the sandbox's start, so
// that a rooms board shows some rooms busy and some free, and the lobby's
// door panel starts free.
type roomLayout int

const (
	layoutFree     roomLayout = iota // free now, a meeting in 90 minutes
	layoutBusy                       // a meeting under way
	layoutFreeSoon                   // free now, a meeting in 30 minutes
)

// room is one row of the demo rooms' table.
type room struct {
	local, name, zone, office string
	info                      roomInfo
	teams                     bool
}

// Room lists: distribution groups of rooms, as Outlook's room finder lists
// them.
const (
	parisList  = "paris-hq@" + TenantDomain
	londonList = "london-office@" + TenantDomain
)

var demoRoomsTable = []room{
	// The lobby's account is signed in on a Teams Rooms device, so it has
	// a Teams presence; the other rooms have none.
	{"lobby", "Lobby Room", "Europe/Paris", "Paris", roomInfo{Capacity: 8, Building: "Paris HQ", FloorNumber: 0, FloorLabel: "Ground floor", List: parisList, layout: layoutFree}, true},
	{"boardroom", "Boardroom", "Europe/Paris", "Paris", roomInfo{Capacity: 16, Building: "Paris HQ", FloorNumber: 5, FloorLabel: "5th floor", List: parisList, layout: layoutBusy}, false},
	{"atelier", "Atelier", "Europe/Paris", "Paris", roomInfo{Capacity: 6, Building: "Paris HQ", FloorNumber: 2, FloorLabel: "2nd floor", List: parisList, KeepSubject: true, layout: layoutBusy}, false},
	{"studio", "Studio", "Europe/Paris", "Paris", roomInfo{Capacity: 4, Building: "Paris HQ", FloorNumber: 2, FloorLabel: "2nd floor", List: parisList, layout: layoutFreeSoon, standUp: true}, false},
	{"babbage", "Room 4.1 Babbage", "Europe/London", "London", roomInfo{Capacity: 10, Building: "London Office", FloorNumber: 4, FloorLabel: "4th floor", List: londonList, layout: layoutBusy}, false},
	{"turing", "Room 2.3 Turing", "Europe/London", "London", roomInfo{Capacity: 6, Building: "London Office", FloorNumber: 2, FloorLabel: "2nd floor", List: londonList, layout: layoutFree}, false},
	{"hamilton", "Room 5.2 Hamilton", "Europe/London", "London", roomInfo{Capacity: 4, Building: "London Office", FloorNumber: 5, FloorLabel: "5th floor", List: londonList, layout: layoutFreeSoon}, false},
}

// defaultKeepSubject is a room's KeepSubject in the demo tenant.
func defaultKeepSubject(upn string) bool {
	for _, r := range demoRoomsTable {
		if r.local+"@"+TenantDomain == upn {
			return r.info.KeepSubject
		}
	}
	return false
}

// demoRooms returns the room accounts: mailboxes without a photo.
func demoRooms() []*user {
	out := make([]*user, 0, len(demoRoomsTable))
	for _, r := range demoRoomsTable {
		info := r.info
		out = append(out, &user{UPN: r.local + "@" + TenantDomain, DisplayName: r.name, Room: true, room: &info,
			Office: r.office, Mailbox: true, Teams: r.teams, TimeZone: r.zone,
			Availability: "Available", Activity: "Available"})
	}
	return out
}

// roomList is a room list of the Places API.
// https://learn.microsoft.com/en-us/graph/api/resources/roomlist
type roomList struct {
	Email, DisplayName string
	Rooms              []string // UPNs, in the table's order
}

var roomListNames = map[string]string{parisList: "Paris HQ", londonList: "London Office"}

// demoRoomLists returns the room lists of the rooms in users: the demo's
// two, then those of the numbered rooms.
func demoRoomLists(users map[string]*user) []roomList {
	lists := []roomList{{Email: parisList, DisplayName: roomListNames[parisList]}, {Email: londonList, DisplayName: roomListNames[londonList]}}
	for _, r := range demoRoomsTable {
		u := users[r.local+"@"+TenantDomain]
		for i := range lists {
			if lists[i].Email == u.room.List {
				lists[i].Rooms = append(lists[i].Rooms, u.UPN)
			}
		}
	}
	for i := 1; ; i++ {
		u := users[numberedRoomUPN(i)]
		if u == nil {
			return lists
		}
		if last := len(lists) - 1; lists[last].Email != u.room.List {
			lists = append(lists, roomList{Email: u.room.List, DisplayName: fmt.Sprintf("Numbered rooms %02d", (i-1)/numberedListSize+1)})
		}
		lists[len(lists)-1].Rooms = append(lists[len(lists)-1].Rooms, u.UPN)
	}
}

// MaxNumberedRooms bounds Options.NumberedRooms.
const MaxNumberedRooms = 2_000

// numberedListSize is how many numbered rooms a room list holds.
const numberedListSize = 40

func numberedRoomUPN(i int) string { return fmt.Sprintf("room%04d@%s", i, TenantDomain) }

// numberedRooms returns n rooms named by number, in London's time zone,
// ten to a floor of the Numbered Tower, forty to a room list, of several
// sizes and busy or free in turn when the sandbox starts.
func numberedRooms(n int) []*user {
	out := make([]*user, 0, n)
	for i := 1; i <= n; i++ {
		floor := (i-1)/10 + 1
		info := roomInfo{Capacity: 4 + (i%5)*3, Building: "Numbered Tower", FloorNumber: floor, FloorLabel: fmt.Sprintf("Floor %d", floor),
			List: fmt.Sprintf("numbered-rooms-%02d@%s", (i-1)/numberedListSize+1, TenantDomain), layout: roomLayout(i % 3)}
		out = append(out, &user{UPN: numberedRoomUPN(i), DisplayName: fmt.Sprintf("Room %04d", i), Room: true, room: &info,
			Office: "London", Mailbox: true, TimeZone: "Europe/London", Availability: "Available", Activity: "Available"})
	}
	return out
}

// group is a Microsoft 365 group of the demo tenant.
type group struct {
	ID, DisplayName, Mail string
	Members               []string // UPNs
}

// demoGroups returns the groups: Team, everyone in the people's table;
// and, with numbered users, Numbered people, all of them.
func demoGroups(users map[string]*user) []group {
	team := group{ID: stableGUID("group:team"), DisplayName: "Team", Mail: "team@" + TenantDomain}
	for _, p := range demoPeopleTable {
		team.Members = append(team.Members, p.local+"@"+TenantDomain)
	}
	groups := []group{team}
	numbered := group{ID: stableGUID("group:numbered"), DisplayName: "Numbered people", Mail: "numbered-people@" + TenantDomain}
	for i := 1; users[fmt.Sprintf("user%04d@%s", i, TenantDomain)] != nil; i++ {
		numbered.Members = append(numbered.Members, fmt.Sprintf("user%04d@%s", i, TenantDomain))
	}
	if len(numbered.Members) > 0 {
		groups = append(groups, numbered)
	}
	return groups
}

// groupByID finds a group by id, in any case.
func (s *Sandbox) groupByID(id string) (group, bool) {
	i := slices.IndexFunc(s.groups, func(g group) bool { return strings.EqualFold(g.ID, id) })
	if i < 0 {
		return group{}, false
	}
	return s.groups[i], true
}

// roomListByEmail finds a room list by its email address, in any case.
func (s *Sandbox) roomListByEmail(email string) (roomList, bool) {
	i := slices.IndexFunc(s.roomLists, func(l roomList) bool { return strings.EqualFold(l.Email, email) })
	if i < 0 {
		return roomList{}, false
	}
	return s.roomLists[i], true
}

// userByAddress finds a user by UPN (which is the mail address) or object
// id, in any case; s.mu must be held.
func (s *Sandbox) userByAddress(idOrUPN string) *user {
	if u := s.users[strings.ToLower(idOrUPN)]; u != nil {
		return u
	}
	return s.userByOID(strings.ToLower(idOrUPN))
}
