package screens

import (
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
)

func TestParseHours(t *testing.T) {
	cases := []struct {
		in   string
		want Hours
		ok   bool
		bad  bool
	}{
		{in: "", ok: false},
		{in: "07:00-19:00", want: Hours{7 * 60, 19 * 60}, ok: true},
		{in: " 22:30 - 06:00 ", want: Hours{22*60 + 30, 6 * 60}, ok: true},
		{in: "7-19", bad: true},
		{in: "07:00", bad: true},
		{in: "07:00-25:00", bad: true},
		{in: "08:00-08:00", bad: true},
	}
	for _, c := range cases {
		h, ok, err := ParseHours(c.in)
		switch {
		case c.bad:
			if err == nil || server.ErrorCode(err) != server.EINVALID {
				t.Errorf("ParseHours(%q) = %v, %v, want an invalid-input error", c.in, h, err)
			}
		case err != nil || ok != c.ok || h != c.want:
			t.Errorf("ParseHours(%q) = %v, %v, %v; want %v, %v", c.in, h, ok, err, c.want, c.ok)
		}
	}
}

func TestScreenSleepsOutsideItsOpeningHoursInItsZone(t *testing.T) {
	// 06:30 UTC is 07:30 in Paris in November (UTC+1).
	now := time.Date(2026, 11, 23, 6, 30, 0, 0, time.UTC)
	cases := []struct {
		hours, zone string
		asleep      bool
	}{
		{"", "UTC", false},
		{"07:00-19:00", "UTC", true},
		{"07:00-19:00", "Europe/Paris", false},
		{"22:00-06:00", "UTC", true},
		{"22:00-07:00", "UTC", false},
		{"not hours", "UTC", false},
	}
	for _, c := range cases {
		if got := asleep(c.hours, now, c.zone); got != c.asleep {
			t.Errorf("asleep(%q in %s at 06:30 UTC) = %v, want %v", c.hours, c.zone, got, c.asleep)
		}
	}
}

func TestPrivacyDropsSubjectOrganiserAndLocationFromACopy(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	ev := wire.Event{ID: "1", Subject: "Merger", Location: "Room 4", Organizer: "Ada", Start: at, End: at.Add(time.Hour)}
	shared := &wire.Agenda{Today: []wire.Event{ev}, Tomorrow: []wire.Event{ev}}
	got := withoutDetails(shared)
	for _, e := range append(got.Today, got.Tomorrow...) {
		if e.Subject != "" || e.Location != "" || e.Organizer != "" {
			t.Errorf("a private event keeps %+v", e)
		}
		if e.ID != "1" || !e.Start.Equal(at) || !e.End.Equal(at.Add(time.Hour)) {
			t.Errorf("a private event lost its id or times: %+v", e)
		}
	}
	if shared.Today[0].Subject != "Merger" || shared.Tomorrow[0].Subject != "Merger" {
		t.Errorf("the account's own agenda was changed: %+v", shared)
	}
	if withoutDetails(nil) != nil {
		t.Errorf("an account without an agenda gained one")
	}
}
