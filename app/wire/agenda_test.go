package wire

import (
	"testing"
	"time"
)

func TestBusyUntilFreeFromAndNextFree(t *testing.T) {
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	at := func(hm string) time.Time {
		d, err := time.Parse("15:04", hm)
		if err != nil {
			t.Fatal(err)
		}
		return day.Add(time.Duration(d.Hour())*time.Hour + time.Duration(d.Minute())*time.Minute)
	}
	ev := func(start, end string) Event { return Event{Start: at(start), End: at(end)} }
	cancelled := ev("10:00", "11:00")
	cancelled.Cancelled = true
	allDay := Event{Start: day, End: day.Add(24 * time.Hour), AllDay: true}

	cases := []struct {
		name      string
		events    []Event
		now       string
		busy      bool
		until     string // when busy
		freeFrom  string // when free; "" for free for the rest of the day
		slotStart string // NextFree for 30 minutes from now
	}{
		{name: "empty day", now: "09:00", slotStart: "09:00"},
		{name: "before a meeting", events: []Event{ev("10:00", "11:00")}, now: "09:00", freeFrom: "10:00", slotStart: "09:00"},
		{name: "too close to a meeting for 30 minutes", events: []Event{ev("10:00", "11:00")}, now: "09:45", freeFrom: "10:00", slotStart: "11:00"},
		{name: "in a meeting", events: []Event{ev("10:00", "11:00")}, now: "10:15", busy: true, until: "11:00", slotStart: "11:00"},
		{name: "back-to-back meetings make one busy run", events: []Event{ev("10:00", "11:00"), ev("11:00", "11:30"), ev("12:00", "13:00")}, now: "10:15", busy: true, until: "11:30", slotStart: "11:30"},
		{name: "overlapping meetings", events: []Event{ev("10:00", "11:00"), ev("10:30", "12:00")}, now: "10:45", busy: true, until: "12:00", slotStart: "12:00"},
		{name: "a gap too short is skipped", events: []Event{ev("10:00", "11:00"), ev("11:20", "12:00")}, now: "10:15", busy: true, until: "11:00", slotStart: "12:00"},
		{name: "a meeting that ends now no longer blocks", events: []Event{ev("09:00", "10:00")}, now: "10:00", slotStart: "10:00"},
		{name: "cancelled and all-day events do not block", events: []Event{cancelled, allDay}, now: "10:15", slotStart: "10:15"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			now := at(c.now)
			until, busy := BusyUntil(c.events, now)
			if busy != c.busy || (busy && !until.Equal(at(c.until))) {
				t.Errorf("BusyUntil = %v, %v; want busy %v until %s", until.Format("15:04"), busy, c.busy, c.until)
			}
			free := FreeFrom(c.events, now)
			if !c.busy && ((c.freeFrom == "") != free.IsZero() || (c.freeFrom != "" && !free.Equal(at(c.freeFrom)))) {
				t.Errorf("FreeFrom = %v, want %q", free.Format("15:04"), c.freeFrom)
			}
			if got := NextFree(c.events, now, 30*time.Minute); !got.Equal(at(c.slotStart)) {
				t.Errorf("NextFree(30 min) = %s, want %s", got.Format("15:04"), c.slotStart)
			}
		})
	}
}
