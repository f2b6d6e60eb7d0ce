package sandbox

import (
	"crypto/sha256"
	"fmt"
	"sort"
	"time"
)

// user is a demo user of the emulated tenant.
type user struct {
	OID         string
	UPN         string
	DisplayName string
	GivenName   string
	Surname     string
	JobTitle    string
	// Mailbox and Teams say which Microsoft 365 services the account has:
	// without them Graph answers calendar or presence requests with the
	// errors it gives such accounts.
	Mailbox bool
	Teams   bool
	// Room is true for a room account (a meeting room's own mailbox).
	Room         bool
	Availability string
	Activity     string
	// Photo is a PNG, nil when the account has none (Graph answers 404).
	Photo []byte
	// TimeZone is the user's mailbox time zone, in which the demo
	// calendar's working day is laid out.
	TimeZone string
	// Roles are the app roles assigned to the user for the sandbox's
	// application, as the "roles" claim of id tokens carries them.
	Roles []string
	// validSince is when the user's sessions were last revoked: refresh
	// tokens issued before it are refused.
	validSince time.Time
}

// AdminRole is the app role of placard's administrators; Grace Hopper has
// it in the sandbox.
const AdminRole = "placard.admin"

// demoUsers returns the users of TESTIDS.md, always present.
func demoUsers() map[string]*user {
	us := []*user{
		{UPN: "ada@" + TenantDomain, DisplayName: "Ada Lovelace", GivenName: "Ada", Surname: "Lovelace", JobTitle: "Analyst",
			Mailbox: true, Teams: true, Availability: "Available", Activity: "Available", TimeZone: "Europe/London"},
		{UPN: "grace@" + TenantDomain, DisplayName: "Grace Hopper", GivenName: "Grace", Surname: "Hopper", JobTitle: "Rear Admiral",
			Mailbox: true, Teams: true, Availability: "Busy", Activity: "InACall", TimeZone: "America/New_York",
			Roles: []string{AdminRole}},
		{UPN: "lobby@" + TenantDomain, DisplayName: "Lobby Room", Room: true,
			Mailbox: true, Teams: true, Availability: "Available", Activity: "Available", TimeZone: "Europe/Paris"},
		{UPN: "kim@" + TenantDomain, DisplayName: "Kim Park", GivenName: "Kim", Surname: "Park", JobTitle: "Designer",
			Mailbox: false, Teams: false, Availability: "PresenceUnknown", Activity: "PresenceUnknown", TimeZone: "Asia/Seoul"},
	}
	m := make(map[string]*user, len(us))
	for _, u := range us {
		u.OID = stableGUID("user:" + u.UPN)
		m[u.UPN] = u
	}
	return m
}

// sortedUsers returns the users in a stable order, for pages and lists.
func (s *Sandbox) sortedUsers() []*user {
	out := make([]*user, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UPN < out[j].UPN })
	return out
}

func (s *Sandbox) userByOID(oid string) *user {
	for _, u := range s.users {
		if u.OID == oid {
			return u
		}
	}
	return nil
}

// stableGUID derives a GUID-shaped id from a name, so demo ids are the same
// on every start (screens stay signed in to the same demo users).
func stableGUID(name string) string {
	h := sha256.Sum256([]byte("placard-sandbox:" + name))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
