package screens

import (
	"bytes"
	"encoding/json"
	"hash/maphash"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/graph"
	"github.com/placard/placard/server/source"
)

// A state is encoded once without its clock (to tell a change); the clock
// written into those bytes must give exactly the state encoded with it.
func TestStampNowGivesTheStateEncodedWithItsClock(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 30, 1, 500, time.FixedZone("CET", 3600))
	st := wire.State{Phase: wire.PhaseDashboard, Screen: wire.Screen{Name: `"now":"0001-01-01T00:00:00Z"`},
		Dashboard: &wire.Dashboard{User: wire.User{Name: "Ada"}, Agenda: &wire.Agenda{Today: []wire.Event{{Subject: "now"}}}}}
	body, err := wire.Encode(st)
	if err != nil {
		t.Fatal(err)
	}
	st.Now = at
	want, _ := wire.Encode(st)
	if got := stampNow(body, at); string(got) != string(want) {
		t.Errorf("stamped:\n got %s\nwant %s", got, want)
	}
}

// testManager is what rendering needs of a manager.
func testManager() *Manager { return &Manager{seed: maphash.MakeSeed(), bookable: true} }

// A dashboard is put together from the part its snapshot and view make
// (shared by every screen with that view) and the screen's own part: the
// bytes must be exactly those of the whole state encoded.
func TestADashboardPutTogetherIsTheStateEncoded(t *testing.T) {
	m := testManager()
	at := time.Date(2026, 11, 23, 9, 30, 1, 500, time.UTC)
	meeting := graph.Event{ID: "e1", Subject: `Plan "Q1" <&>`, Location: graph.Location{DisplayName: "Room 1"},
		Start: graph.DateTimeTimeZone{DateTime: "2026-11-23T09:00:00", TimeZone: "UTC"},
		End:   graph.DateTimeTimeZone{DateTime: "2026-11-23T10:00:00", TimeZone: "UTC"}}
	full := &accountData{name: "Ada Lovelace", photo: newPhoto([]byte("jpeg"), "image/jpeg"),
		presence: &wire.Presence{Availability: "Busy", Activity: "InAMeeting"}, events: []graph.Event{meeting},
		calendar: true, fresh: at.Truncate(time.Minute), stale: true}
	tests := []struct {
		name    string
		data    *accountData
		screen  wire.Screen
		canBook bool
		booking *wire.Booking
	}{
		{name: "everything", data: full, screen: wire.Screen{Name: `Lobby "TV" <1>`, TimeZone: "Europe/Paris", Clock24: true, Lang: "fr", Touch: true},
			canBook: true, booking: &wire.Booking{OK: true, Start: at, End: at.Add(15 * time.Minute)}},
		{name: "buttons", data: full, screen: wire.Screen{Name: "Door", TimeZone: "UTC", Lang: "en", Touch: true}, canBook: true},
		{name: "privacy", data: full, screen: wire.Screen{Name: "Hall", TimeZone: "UTC", Lang: "en", Privacy: true, Asleep: true}},
		{name: "nothing yet", data: &accountData{name: "Kim Park"}, screen: wire.Screen{Name: "Desk", TimeZone: "UTC", Lang: "en"}},
		{name: "a failed booking", data: &accountData{name: "Kim"}, screen: wire.Screen{Name: "Desk", TimeZone: "Asia/Tokyo", Lang: "en", Touch: true},
			booking: &wire.Booking{Problem: wire.BookBusy}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lk := look{id: "sabcdefghijklmnop", now: at, st: wire.State{Phase: wire.PhaseDashboard, Screen: tt.screen},
				snap: &source.Snapshot[*accountData]{Seq: 1, At: at, Value: tt.data}, canBook: tt.canBook, booking: tt.booking}
			r, err := m.render(lk)
			if err != nil {
				t.Fatal(err)
			}
			want, err := wire.Encode(m.state(lk))
			if err != nil {
				t.Fatal(err)
			}
			if got := bytes.Join(m.message(r, lk), nil); string(got) != string(want) {
				t.Errorf("put together:\n got %s\nwant %s", got, want)
			}
			if !json.Valid(want) {
				t.Errorf("invalid JSON: %s", want)
			}
		})
	}
}

// The screens of an account that share a view (zone and privacy) share
// one encoding of each snapshot, made once; another view, or a time after
// what the encoding shows has changed (the end of the day), makes another.
func TestAViewIsEncodedOncePerZoneAndPrivacyOfASnapshot(t *testing.T) {
	m := testManager()
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	snap := &source.Snapshot[*accountData]{Seq: 1, At: at, Value: &accountData{name: "Ada", calendar: true}}
	view := func(now time.Time, zone string, privacy bool) *dashView {
		return m.dashboard(look{now: now, snap: snap, st: wire.State{Screen: wire.Screen{TimeZone: zone, Privacy: privacy}}})
	}
	paris := view(at, "Europe/Paris", false)
	if again := view(at, "Europe/Paris", false); again != paris {
		t.Error("the same view of the same snapshot was encoded twice")
	}
	if again := view(at.Add(time.Hour), "Europe/Paris", false); again != paris {
		t.Error("the same view an hour later, the same day, was encoded again")
	}
	if view(at, "Europe/Paris", true) == paris || view(at, "Asia/Seoul", false) == paris {
		t.Error("another privacy setting or zone shares an encoding")
	}
	if n := m.encodes.Load(); n != 3 {
		t.Errorf("%d encodings for three views", n)
	}
	if view(at.Add(24*time.Hour), "Europe/Paris", false) == paris {
		t.Error("the next day reuses an encoding of the day before")
	}
	other := &source.Snapshot[*accountData]{Seq: 2, At: at, Value: snap.Value}
	if m.dashboard(look{now: at, snap: other, st: wire.State{Screen: wire.Screen{TimeZone: "Europe/Paris"}}}) == paris {
		t.Error("another snapshot reuses an encoding of the one before")
	}
}
