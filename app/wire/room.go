package wire

import (
	"fmt"
	"time"
)

// A room's status on its panel (the room-status element's data-status)
// and for a light key of the room's account is RoomFree, RoomSoon or
// RoomBusy, as on a rooms board (board.go).

// SoonBefore is how long before a meeting a room's panel shows it soon
// (the amber of a door panel: Teams panels and Robin warn about as
// early).
const SoonBefore = 10 * time.Minute

// Room actions: the value of RoomAction.Action, and of Booking.Action on
// what became of one.
const (
	ActBook    = "book"
	ActExtend  = "extend"
	ActEnd     = "end"
	ActCheckIn = "checkin"
)

// Room action limits: Book now lasts one of BookMinutes, up to the next
// meeting; Extend adds ExtendStep; Check in opens CheckInBefore the
// start.
const (
	ExtendStep    = 15 * time.Minute
	CheckInBefore = 5 * time.Minute
)

// BookMinutes are the lengths Book now offers.
var BookMinutes = [...]int{15, 30, 60}

// RoomStatus is a room's status at now from its day's events, and until
// when it holds as the panel says it: the end of the run of meetings while
// busy ("Busy until 11:00"), the start of the next meeting while free or
// soon ("Free until 14:30"), zero when the room is free for the rest of the
// events given.
func RoomStatus(events []Event, now time.Time) (string, time.Time) {
	if until, busy := BusyUntil(events, now); busy {
		return RoomBusy, until
	}
	next := FreeFrom(events, now)
	if !next.IsZero() && next.Sub(now) <= SoonBefore {
		return RoomSoon, next
	}
	return RoomFree, next
}

// RoomChange is when a room's status next changes after now (the start
// of a meeting, SoonBefore it, the end of a run), zero when it does not
// within the events given: a light key is told again then.
func RoomChange(events []Event, now time.Time) time.Time {
	status, until := RoomStatus(events, now)
	switch {
	case until.IsZero():
		return time.Time{}
	case status == RoomFree:
		return until.Add(-SoonBefore)
	}
	return until
}

// Room is what a room's panel shows beyond its agenda: which of its
// meetings were checked in.
type Room struct {
	// CheckedIn holds the ids of today's meetings checked in on a panel of
	// the room.
	CheckedIn []string `json:"checked_in,omitempty"`
}

// CheckedInTo reports whether the meeting with the id was checked in.
func (r *Room) CheckedInTo(id string) bool {
	if r == nil {
		return false
	}
	for _, c := range r.CheckedIn {
		if c == id {
			return true
		}
	}
	return false
}

// CheckInOpen reports whether a meeting may be checked in at now: from
// CheckInBefore its start until its release time (releaseAfter after its
// start), and never after it ended.
func CheckInOpen(e Event, now time.Time, releaseAfter time.Duration) bool {
	if !e.Blocks() {
		return false
	}
	end := e.Start.Add(releaseAfter)
	if e.End.Before(end) {
		end = e.End
	}
	return !now.Before(e.Start.Add(-CheckInBefore)) && now.Before(end)
}

// RoomAction asks the edge server to act on the room a screen shows:
// Action is one of Act*; Minutes the length of a booking (one of
// BookMinutes); Event the Graph id of the meeting extended, ended or
// checked in.
type RoomAction struct {
	Action  string `json:"action"`
	Minutes int    `json:"minutes,omitempty"`
	Event   string `json:"event,omitempty"`
}

// MaxEventID bounds an event id a screen sends: Graph's ids are about 150
// characters.
const MaxEventID = 512

func (a RoomAction) validate() error {
	switch a.Action {
	case ActBook:
		for _, m := range BookMinutes {
			if a.Minutes == m {
				return nil
			}
		}
		return fmt.Errorf("wire: room_action book lasts 15, 30 or 60 minutes, not %d", a.Minutes)
	case ActExtend, ActEnd, ActCheckIn:
		if a.Event == "" || len(a.Event) > MaxEventID {
			return fmt.Errorf("wire: room_action %s needs the id of an event (at most %d bytes)", a.Action, MaxEventID)
		}
		if a.Minutes != 0 {
			return fmt.Errorf("wire: room_action %s takes no minutes", a.Action)
		}
		return nil
	}
	return fmt.Errorf("wire: room_action %q is none of %s, %s, %s or %s", a.Action, ActBook, ActExtend, ActEnd, ActCheckIn)
}

// MessageType is TypeRoomAction.
func (RoomAction) MessageType() string { return TypeRoomAction }
