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
	"strings"
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

// AccountID is the id placard gives the account of the demo user upn
// once signed in: MSAL's home account id, its object id and the tenant's.
func AccountID(upn string) string { return stableGUID("user:"+strings.ToLower(upn)) + "." + TenantID }

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

// look is what a generated portrait shows of a person.
type look struct {
	skin, hair int // indexes of skinTones and hairColours
	style      int // a hairStyle
	glasses    bool
}

// Hair styles of the portraits.
const (
	hairShort = iota
	hairLong
	hairBun
	hairReceding
	hairCurly
	hairStyles
)

var (
	skinTones   = []color.NRGBA{{0xFF, 0xDB, 0xAC, 0xFF}, {0xF1, 0xC2, 0x7D, 0xFF}, {0xE0, 0xAC, 0x69, 0xFF}, {0xC6, 0x86, 0x42, 0xFF}, {0x8D, 0x55, 0x24, 0xFF}}
	hairColours = []color.NRGBA{{0x2C, 0x1B, 0x10, 0xFF}, {0x4B, 0x36, 0x21, 0xFF}, {0xA0, 0x52, 0x2D, 0xFF}, {0xD6, 0xB2, 0x5E, 0xFF}, {0x9E, 0x9E, 0x9E, 0xFF}, {0x1B, 0x1B, 0x1B, 0xFF}}
)

// demoLooks are the demo people's portraits, drawn to look like nobody in
// particular but each other person; others' come from their seed.
var demoLooks = map[string]look{
	"ada@" + TenantDomain:        {skin: 0, hair: 1, style: hairBun},
	"grace@" + TenantDomain:      {skin: 0, hair: 4, style: hairShort, glasses: true},
	"alan@" + TenantDomain:       {skin: 1, hair: 0, style: hairShort},
	"margaret@" + TenantDomain:   {skin: 0, hair: 1, style: hairLong, glasses: true},
	"hedy@" + TenantDomain:       {skin: 1, hair: 5, style: hairLong},
	"tim@" + TenantDomain:        {skin: 0, hair: 3, style: hairReceding},
	"donald@" + TenantDomain:     {skin: 1, hair: 4, style: hairReceding, glasses: true},
	"shakuntala@" + TenantDomain: {skin: 3, hair: 5, style: hairBun},
}

// portrait draws a small head-and-shoulders picture of a person, on a
// background of their own colour: a face of one of several skin tones,
// hair of one of several styles and colours, sometimes glasses, a shirt. A
// real PNG, as a profile photo is, that a screen shows in place of
// initials, and that tells people apart on a board (a default silhouette
// would read as "no photo"). Edges are smoothed by sampling each pixel
// nine times.
func portrait(seed string) []byte {
	const size, samples = 96, 3
	h := sha256.Sum256([]byte("portrait:" + seed))
	lk, ok := demoLooks[seed]
	if !ok {
		lk = look{skin: int(h[1]) % len(skinTones), hair: int(h[2]) % len(hairColours), style: int(h[3]) % hairStyles, glasses: h[4]%4 == 0}
	}
	bg := hsl(float64(h[0])/255, 0.40, 0.80)
	shirt := hsl(float64(h[5])/255, 0.45, 0.42)
	skin, hair := skinTones[lk.skin], hairColours[lk.hair]
	shade := color.NRGBA{uint8(float64(skin.R) * 0.85), uint8(float64(skin.G) * 0.85), uint8(float64(skin.B) * 0.85), 0xFF}
	dark := color.NRGBA{0x22, 0x22, 0x22, 0xFF}
	ellipse := func(x, y, cx, cy, rx, ry float64) bool {
		dx, dy := (x-cx)/rx, (y-cy)/ry
		return dx*dx+dy*dy <= 1
	}
	// at is the colour of the picture at a point, drawn back to front.
	at := func(x, y float64) color.NRGBA {
		c := bg
		paint := func(cond bool, col color.NRGBA) {
			if cond {
				c = col
			}
		}
		switch lk.style { // hair behind the head
		case hairLong:
			paint(ellipse(x, y, 48, 50, 23, 32) && y < 78, hair)
		case hairBun:
			paint(ellipse(x, y, 48, 15, 9, 8), hair)
		case hairCurly:
			for i := range 7 {
				a := math.Pi * (0.9 + float64(i)*0.2)
				paint(math.Hypot(x-(48+19*math.Cos(a)), y-(38+19*math.Sin(a))) <= 8, hair)
			}
		}
		paint(y >= 66 && ellipse(x, y, 48, 104, 40, 38), shirt)
		paint(x >= 41 && x <= 55 && y >= 52 && y <= 70, shade)
		paint(ellipse(x, y, 48, 42, 16, 19), skin)
		switch lk.style { // hair over the head
		case hairShort, hairLong, hairBun, hairCurly:
			paint(ellipse(x, y, 48, 32, 17.5, 12) && y < 33+math.Abs(x-48)*0.35, hair)
		case hairReceding:
			paint(ellipse(x, y, 32.5, 38, 3.5, 8) || ellipse(x, y, 63.5, 38, 3.5, 8), hair)
		}
		paint(math.Hypot(x-42, y-42) <= 1.7 || math.Hypot(x-54, y-42) <= 1.7, dark)
		if d := math.Hypot(x-48, y-44); d >= 7.5 && d <= 8.7 && y > 48 && math.Abs(x-48) < 5 {
			c = dark
		}
		if lk.glasses {
			for _, ex := range []float64{42, 54} {
				if d := math.Hypot(x-ex, y-42); d >= 4.6 && d <= 5.8 {
					c = dark
				}
			}
			paint(y >= 41.5 && y <= 42.5 && x >= 46.8 && x <= 49.2, dark)
		}
		return c
	}
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			var r, g, b int
			for sy := range samples {
				for sx := range samples {
					c := at(float64(x)+(float64(sx)+0.5)/samples, float64(y)+(float64(sy)+0.5)/samples)
					r, g, b = r+int(c.R), g+int(c.G), b+int(c.B)
				}
			}
			n := samples * samples
			img.SetNRGBA(x, y, color.NRGBA{uint8(r / n), uint8(g / n), uint8(b / n), 0xFF})
		}
	}
	var out bytes.Buffer
	if err := png.Encode(&out, img); err != nil {
		panic(fmt.Sprintf("sandbox: encoding a photo: %v", err))
	}
	return out.Bytes()
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
