package screens

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/placard/placard/server/graph"
)

// calEvent is an event of id starting at hh:00 on 7 December, its subject
// telling versions of it apart.
func calEvent(id, hh, subject string) graph.Event {
	return graph.Event{ID: id, Subject: subject, Start: graph.DateTimeTimeZone{DateTime: "2026-12-07T" + hh + ":00:00.0000000", TimeZone: "UTC"}}
}

// heldIDs lists events as "id:subject", in their order.
func heldIDs(evs []graph.Event) string {
	var out []string
	for _, e := range evs {
		out = append(out, e.ID+":"+e.Subject)
	}
	return strings.Join(out, " ")
}

func TestARoundOfDeltaMakesANewSortedListAndLeavesTheShownOneAsItWas(t *testing.T) {
	held := []graph.Event{calEvent("a", "09", "standup"), calEvent("b", "11", "review"), calEvent("c", "15", "retro")}
	for _, tc := range []struct {
		name    string
		removed []string
		changed []graph.Event
		want    string
		changes bool
	}{
		{"nothing", nil, nil, "a:standup b:review c:retro", false},
		{"an id not held is removed", []string{"zz"}, nil, "a:standup b:review c:retro", false},
		{"one removed", []string{"b"}, nil, "a:standup c:retro", true},
		{"one moved later", nil, []graph.Event{calEvent("a", "16", "standup")}, "b:review c:retro a:standup", true},
		{"one added between", nil, []graph.Event{calEvent("d", "10", "1:1")}, "a:standup d:1:1 b:review c:retro", true},
		{"removed and changed: kept, changed", []string{"c"}, []graph.Event{calEvent("c", "08", "retro moved")}, "c:retro moved a:standup b:review", true},
		{"the same id twice in a round: the later", nil, []graph.Event{calEvent("b", "11", "first"), calEvent("b", "12", "second")}, "a:standup b:second c:retro", true},
		{"same start: by id", nil, []graph.Event{calEvent("0", "11", "early id")}, "a:standup 0:early id b:review c:retro", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shown := slices.Clone(held)
			r := rounds{events: shown}
			if got := r.apply(tc.removed, tc.changed); got != tc.changes {
				t.Errorf("apply reports changed = %v, want %v", got, tc.changes)
			}
			if got := heldIDs(r.events); got != tc.want {
				t.Errorf("events held: %s\nwant %s", got, tc.want)
			}
			if got, want := heldIDs(shown), heldIDs(held); got != want {
				t.Errorf("the list a snapshot shows was changed in place: %s, was %s", got, want)
			}
			if tc.changes && len(shown) > 0 && len(r.events) > 0 && &r.events[0] == &shown[0] {
				t.Error("a changed round kept the shown list's array: a later change would write into it")
			}
		})
	}
}

func TestAFirstRoundHoldsOneEventOfEachIdByStart(t *testing.T) {
	got := heldIDs(sortedEvents([]graph.Event{calEvent("c", "15", "retro"), calEvent("a", "09", "old"), calEvent("b", "11", "review"), calEvent("a", "10", "new")}))
	if want := "a:new b:review c:retro"; got != want {
		t.Errorf("first round held %s, want %s", got, want)
	}
}

func TestHeldEventsKeepWhatScreensReadAndNotTheRest(t *testing.T) {
	full := calEvent("a", "09", "standup")
	full.ICalUID, full.SeriesMasterID, full.ChangeKey = "040000008200E00074C5B7101A82E008", "AAMkAGI2master", "DwAAABYAAAA"
	full.Attendees = []graph.Attendee{{Type: "resource"}}
	full.Location.DisplayName, full.Sensitivity, full.ShowAs, full.IsOrganizer = "Room 1", "private", "busy", true
	full.ResponseStatus.Response = "organizer"
	got := sortedEvents([]graph.Event{full})[0]
	if got.ICalUID != "" || got.SeriesMasterID != "" || got.ChangeKey != "" || got.Attendees != nil {
		t.Errorf("held %+v: it keeps fields no screen reads", got)
	}
	want := full
	want.ICalUID, want.SeriesMasterID, want.ChangeKey, want.Attendees = "", "", "", nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("held %+v, want %+v", got, want)
	}
}
