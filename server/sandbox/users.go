package sandbox

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"sort"
	"sync"
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
	Office      string
	// Mailbox and Teams say which Microsoft 365 services the account has:
	// without them Graph answers calendar or presence requests with the
	// errors it gives such accounts.
	Mailbox bool
	Teams   bool
	// Room is true for a room account (a meeting room's own mailbox);
	// room describes the room as the Places API lists it.
	Room bool
	room *roomInfo
	// Availability and Activity are the presence Teams reports when
	// nothing (a meeting, a status set by hand) says otherwise.
	Availability string
	Activity     string
	// photo draws the account's photo, a PNG, once it is first asked
	// for (most sandboxes, those of tests, never are); nil when the
	// account has none (Graph answers 404).
	photo func() []byte
	// TimeZone is the user's mailbox time zone, in which the demo
	// calendar's working day is laid out.
	TimeZone string
	// Roles are the app roles assigned to the user for the sandbox's
	// application, as the "roles" claim of id tokens carries them.
	Roles []string
	// validSince is when the user's sessions were last revoked: refresh
	// tokens issued before it are refused.
	validSince time.Time
	// consent holds the Graph permissions the user has consented to for
	// the sandbox's application: each sign-in adds the ones it asked for,
	// and tokens carry all of them (see consent.go).
	consent scopeSet
	// served and servedAt are the presence Graph last answered for the
	// user and when it first answered it: when a poller could first see
	// a change (the control API says so, for latency measurements).
	served   [2]string
	servedAt time.Time
	// presenceSet is true once the presence was set by hand (the control
	// API, the /sandbox page): it is kept across restarts, and a meeting
	// no longer changes it.
	presenceSet bool
	// requests are the user's last Graph requests (at most
	// requestLogSize), oldest first, and made how many there were since
	// the start, so that a test counts one account's polls whoever made
	// them. Kept in memory only.
	requests []GraphRequest
	made     int
}

// AdminRole is the app role of placard's administrators; Grace Hopper has
// it in the sandbox.
const AdminRole = "placard.admin"

// demoUsers returns the demo users, always present: people (photo or
// not, in several time zones, in the group Team), rooms, and an account
// without a mailbox or Teams.
func demoUsers() map[string]*user {
	us := demoPeople()
	us = append(us, demoRooms()...)
	m := make(map[string]*user, len(us))
	for _, u := range us {
		u.OID = stableGUID("user:" + u.UPN)
		m[u.UPN] = u
	}
	return m
}

// MaxNumberedUsers bounds Options.NumberedUsers.
const MaxNumberedUsers = 10_000

// numberedUsers returns n demo users named by number, people with a
// mailbox and Teams, available, in London's time zone: many accounts for a
// load test, each with a calendar of its own.
func numberedUsers(n int) []*user {
	out := make([]*user, 0, n)
	for i := 1; i <= n; i++ {
		num := fmt.Sprintf("%04d", i)
		u := &user{UPN: "user" + num + "@" + TenantDomain, DisplayName: "Demo User " + num, GivenName: "Demo",
			Surname: "User " + num, JobTitle: "Tester", Office: "London", Mailbox: true, Teams: true,
			Availability: "Available", Activity: "Available", TimeZone: "Europe/London"}
		u.OID = stableGUID("user:" + u.UPN)
		u.photo = lazyPortrait(u.UPN)
		out = append(out, u)
	}
	return out
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

func (s *Sandbox) userByOID(oid string) *user { return s.byOID[oid] }

// stableGUID derives a GUID-shaped id from a name, so demo ids are the same
// on every start (screens stay signed in to the same demo users).
func stableGUID(name string) string {
	h := sha256.Sum256([]byte("placard-sandbox:" + name))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// lazyPortrait is a user's portrait, drawn when first asked for.
func lazyPortrait(seed string) func() []byte {
	return sync.OnceValue(func() []byte { return portrait(seed) })
}

// portrait draws a small head-and-shoulders picture on a background of the
// user's own colour: a real PNG, as a profile photo is, that a screen shows
// in place of initials.
func portrait(seed string) []byte {
	const size = 96
	h := sha256.Sum256([]byte("portrait:" + seed))
	hue := float64(h[0]) / 255
	bg := hsl(hue, 0.45, 0.55)
	fg := hsl(hue, 0.35, 0.88)
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			fx, fy := float64(x)+0.5, float64(y)+0.5
			c := bg
			head := math.Hypot(fx-48, fy-38) <= 17
			shoulders := fy >= 62 && math.Hypot((fx-48)/1.25, fy-96) <= 36
			if head || shoulders {
				c = fg
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(fmt.Sprintf("sandbox: encoding a photo: %v", err))
	}
	return b.Bytes()
}

// hsl converts a colour from hue, saturation and lightness (0..1).
func hsl(h, s, l float64) color.NRGBA {
	c := (1 - math.Abs(2*l-1)) * s
	hp := h * 6
	x := c * (1 - math.Abs(math.Mod(hp, 2)-1))
	var r, g, b float64
	switch {
	case hp < 1:
		r, g = c, x
	case hp < 2:
		r, g = x, c
	case hp < 3:
		g, b = c, x
	case hp < 4:
		g, b = x, c
	case hp < 5:
		r, b = x, c
	default:
		r, b = c, x
	}
	m := l - c/2
	to := func(v float64) uint8 { return uint8(math.Round((v + m) * 255)) }
	return color.NRGBA{R: to(r), G: to(g), B: to(b), A: 255}
}
