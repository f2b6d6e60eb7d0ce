package screens

import (
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
)

func TestParseHours(t *testing.T) {
	every := [7]bool{true, true, true, true, true, true, true}
	weekdays := [7]bool{false, true, true, true, true, true, false}
	cases := []struct {
		in   string
		want Hours
		ok   bool
		bad  string // what the error names
	}{
		{in: "", ok: false},
		{in: "07:00-19:00", want: Hours{every, 7 * 60, 19 * 60}, ok: true},
		{in: " 22:30 - 06:00 ", want: Hours{every, 22*60 + 30, 6 * 60}, ok: true},
		{in: "Mon-Fri 07:00-19:00", want: Hours{weekdays, 7 * 60, 19 * 60}, ok: true},
		{in: "sat,SUN 10:00-16:00", want: Hours{[7]bool{true, false, false, false, false, false, true}, 10 * 60, 16 * 60}, ok: true},
		{in: "Fri-Mon 09:00-12:00", want: Hours{[7]bool{true, true, false, false, false, true, true}, 9 * 60, 12 * 60}, ok: true},
		{in: "Mon-Wed,Fri 08:00-12:00", want: Hours{[7]bool{false, true, true, true, false, true, false}, 8 * 60, 12 * 60}, ok: true},
		{in: "7-19", bad: "HH:MM-HH:MM"},
		{in: "07:00", bad: "HH:MM-HH:MM"},
		{in: "07:00-25:00", bad: `"25:00" is not a time of day`},
		{in: "08:00-08:00", bad: "same time"},
		{in: "Weekdays 07:00-19:00", bad: `"Weekdays" is not a day`},
		{in: "Mon-Fri", bad: "HH:MM-HH:MM"},
	}
	for _, c := range cases {
		h, ok, err := ParseHours(c.in)
		switch {
		case c.bad != "":
			if err == nil || server.ErrorCode(err) != server.EINVALID || !strings.Contains(err.Error(), c.bad) {
				t.Errorf("ParseHours(%q) = %v, %v, want an invalid-input error naming %s", c.in, h, err, c.bad)
			}
		case err != nil || ok != c.ok || h != c.want:
			t.Errorf("ParseHours(%q) = %v, %v, %v; want %v, %v", c.in, h, ok, err, c.want, c.ok)
		}
	}
}

func TestScreenSleepsOutsideItsOpeningHoursInItsZone(t *testing.T) {
	// Monday 23 November 2026. 06:30 UTC is 07:30 in Paris (UTC+1).
	monday := time.Date(2026, 11, 23, 6, 30, 0, 0, time.UTC)
	saturday := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		hours, zone string
		at          time.Time
		asleep      bool
	}{
		{"", "UTC", monday, false},
		{"07:00-19:00", "UTC", monday, true},
		{"07:00-19:00", "Europe/Paris", monday, false},
		{"22:00-06:00", "UTC", monday, true},
		{"22:00-07:00", "UTC", monday, false},
		{"not hours", "UTC", monday, false},
		{"Mon-Fri 07:00-19:00", "UTC", saturday, true},
		{"Mon-Fri 07:00-19:00", "Europe/Paris", monday, false},
		{"Sat,Sun 10:00-16:00", "UTC", saturday, false},
		// Monday 06:30 is the end of Sunday night's opening.
		{"Sun 22:00-07:00", "UTC", monday, false},
		{"Fri 22:00-07:00", "UTC", monday, true},
	}
	for _, c := range cases {
		if got := asleep(c.hours, c.at, c.zone); got != c.asleep {
			t.Errorf("asleep(%q in %s at %s) = %v, want %v", c.hours, c.zone, c.at.Format(time.RFC1123), got, c.asleep)
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
