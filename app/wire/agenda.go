package wire

import "time"

// Blocks reports whether an event keeps its calendar busy: cancelled
// events do not, nor do all-day events (holidays, "working from home"),
// which Outlook shows as free by default.
func (e Event) Blocks() bool { return !e.AllDay && !e.Cancelled && e.End.After(e.Start) }

// BusyUntil reports whether events keep a calendar busy at now, and until
// when: the end of the run of back-to-back or overlapping events that
// covers now. The screen says "Busy until 14:30" with it; quick booking
// starts after it.
func BusyUntil(events []Event, now time.Time) (time.Time, bool) {
	end := now
	for extended := true; extended; {
		extended = false
		for _, e := range events {
			if e.Blocks() && !e.Start.After(end) && e.End.After(end) {
				end, extended = e.End, true
			}
		}
	}
	return end, end.After(now)
}

// FreeFrom is when a calendar that is free at now becomes busy: the start
// of the first blocking event after now, zero when none comes.
func FreeFrom(events []Event, now time.Time) time.Time {
	var next time.Time
	for _, e := range events {
		if e.Blocks() && e.Start.After(now) && (next.IsZero() || e.Start.Before(next)) {
			next = e.Start
		}
	}
	return next
}

// NextFree returns the start of the first slot of length d, from from on,
// that no blocking event overlaps. Both the screen (to ask "Book
// 14:05–14:20?") and the edge server (to book it) use it, so that they
// agree on the slot.
func NextFree(events []Event, from time.Time, d time.Duration) time.Time {
	start := from
	for moved := true; moved; {
		moved = false
		for _, e := range events {
			if e.Blocks() && e.Start.Before(start.Add(d)) && e.End.After(start) {
				start, moved = e.End, true
			}
		}
	}
	return start
}
