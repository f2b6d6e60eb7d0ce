package screens

import (
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/graph"
)

func event(id, start, end string, allDay, cancelled bool) graph.Event {
	return graph.Event{ID: id, Subject: "subject " + id,
		Start:    graph.DateTimeTimeZone{DateTime: start, TimeZone: "UTC"},
		End:      graph.DateTimeTimeZone{DateTime: end, TimeZone: "UTC"},
		IsAllDay: allDay, IsCancelled: cancelled}
}

func ids(es []wire.Event) string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return strings.Join(out, ",")
}

func TestAgendaIsTodayInTheScreensZone(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	events := []graph.Event{
		event("late", "2026-11-23T21:30:00.0000000", "2026-11-23T22:00:00.0000000", false, false),
		event("morning", "2026-11-23T08:00:00.0000000", "2026-11-23T09:00:00.0000000", false, false),
		event("allday", "2026-11-23T00:00:00.0000000", "2026-11-24T00:00:00.0000000", true, false),
		event("dropped", "2026-11-23T13:00:00.0000000", "2026-11-23T14:00:00.0000000", false, true),
		event("tomorrow1", "2026-11-24T09:00:00.0000000", "2026-11-24T10:00:00.0000000", false, false),
	}
	tests := []struct {
		name       string
		now        time.Time
		loc        *time.Location
		today      string
		tomorrow   string
		firstStart string
	}{
		// 10:00 in Paris: the 21:30 UTC meeting (22:30 Paris) is today,
		// so tomorrow is not shown yet.
		{"Paris morning", time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), paris, "allday,morning,dropped,late", "", "09:00"},
		// 18:00 in Tokyo: the morning meeting is over, the cancelled one
		// does not count, and the 21:30 UTC one is 06:30 tomorrow there.
		{"Tokyo evening", time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), tokyo, "allday,morning,dropped", "late,tomorrow1", "17:00"},
		// 23:05 in Paris, after the last meeting: tomorrow's first events.
		{"Paris night", time.Date(2026, 11, 23, 22, 5, 0, 0, time.UTC), paris, "allday,morning,dropped,late", "tomorrow1", "09:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := agendaFor(events, tt.now, tt.loc)
			if got := ids(a.Today); got != tt.today {
				t.Errorf("today %s, want %s", got, tt.today)
			}
			if got := ids(a.Tomorrow); got != tt.tomorrow {
				t.Errorf("tomorrow %q, want %q", got, tt.tomorrow)
			}
			if !a.Today[0].AllDay {
				t.Errorf("the all-day event does not come first: %+v", a.Today[0])
			}
			if got := a.Today[1].Start.In(tt.loc).Format("15:04"); got != tt.firstStart {
				t.Errorf("first timed event starts at %s, want %s", got, tt.firstStart)
			}
			for _, e := range a.Today {
				if e.ID == "dropped" && !e.Cancelled {
					t.Errorf("the cancelled meeting is not marked so")
				}
			}
		})
	}
}

func TestAgendaSkipsEventsItCannotDate(t *testing.T) {
	bad := event("bad", "not a date", "2026-11-23T10:00:00.0000000", false, false)
	a := agendaFor([]graph.Event{bad}, time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), time.UTC)
	if len(a.Today) != 0 {
		t.Errorf("an undatable event was shown: %+v", a.Today)
	}
}

func BenchmarkAgendaFor(b *testing.B) {
	paris, _ := time.LoadLocation("Europe/Paris")
	var events []graph.Event
	for d := range 3 {
		for h := 8; h < 18; h++ {
			day := time.Date(2026, 11, 22+d, h, 0, 0, 0, time.UTC)
			events = append(events, event(day.Format(time.RFC3339), day.Format("2006-01-02T15:04:05.0000000"),
				day.Add(45*time.Minute).Format("2006-01-02T15:04:05.0000000"), false, h == 12))
		}
	}
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for b.Loop() {
		agendaFor(events, now, paris)
	}
}

func TestAPrivateMeetingKeepsOnlyItsTimes(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	var events []graph.Event
	for _, s := range []string{"normal", "personal", "private", "confidential", "Private"} {
		ev := event(s, "2026-11-23T10:00:00.0000000", "2026-11-23T11:00:00.0000000", false, false)
		ev.Sensitivity, ev.Location.DisplayName = s, "Room "+s
		ev.Organizer.EmailAddress.Name = "Organiser " + s
		events = append(events, ev)
	}
	for _, e := range agendaFor(events, now, time.UTC).Today {
		private := e.ID == "private" || e.ID == "confidential" || e.ID == "Private"
		if e.Private != private {
			t.Errorf("%s: Private %v, want %v", e.ID, e.Private, private)
		}
		if private && (e.Subject != "" || e.Location != "" || e.Organizer != "") {
			t.Errorf("%s: a private event keeps %q, %q, %q", e.ID, e.Subject, e.Location, e.Organizer)
		}
		if !private && e.Subject != "subject "+e.ID {
			t.Errorf("%s: subject %q", e.ID, e.Subject)
		}
		if e.Start.Format("15:04") != "10:00" || e.End.Format("15:04") != "11:00" {
			t.Errorf("%s: times %v–%v", e.ID, e.Start, e.End)
		}
	}
}
