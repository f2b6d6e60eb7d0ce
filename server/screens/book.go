package screens

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/graph"
)

// ScopeBook is the permission quick booking needs: the edge server asks
// for it only when quick booking is enabled by configuration.
const ScopeBook = "Calendars.ReadWrite"

// bookingShown is how long a screen shows what became of its booking.
const bookingShown = 20 * time.Second

// QuickBook books the next free slot of the given length (15 or 30
// minutes) in the calendar of the account a screen that may act shows, from now
// on, and shows the screen what it booked. The slot is found as the
// screen found it (wire.NextFree) but from the calendar as Graph has it
// now, so that a meeting added since the last poll is not booked over.
func (m *Manager) QuickBook(ctx context.Context, screenID string, minutes int) error {
	if minutes != 15 && minutes != 30 {
		return server.Errorf(server.EINVALID, "a quick booking lasts 15 or 30 minutes, not %d", minutes)
	}
	s := m.session(screenID)
	var w *watch
	var sc wire.Screen
	var refused bool
	if s != nil {
		s.mu.Lock()
		if s.shown != nil {
			w = s.shown.w
		}
		set := s.screen.Settings
		sc, refused = m.screenInfoLocked(s, m.cfg.Now()), set.NoQuickBook || !set.Actions
		s.mu.Unlock()
	}
	switch {
	case s == nil || w == nil:
		return server.Errorf(server.ECONFLICT, "screen %s shows no signed-in account to book for", screenID)
	case refused:
		// The screen offers no button: whoever asks holds its cookie and
		// not its page (a touch screen is the browser's own claim). It
		// is told plainly, and Graph is asked nothing.
		m.showBooking(s, wire.Booking{Problem: wire.BookScreenRefused})
		return server.Errorf(server.EFORBIDDEN, "an administrator does not let screen %s book (settings actions and no_quick_book)", screenID)
	case !m.bookable:
		return server.Errorf(server.EFORBIDDEN, "quick booking is not enabled on this server (it needs %s)", ScopeBook)
	}

	length := time.Duration(minutes) * time.Minute
	now := m.cfg.Now()
	var start time.Time
	var err error = errTooManyBookings
	if m.bookings.allow(screenID, w.account.ID) {
		err = m.withToken(ctx, w, func(token string) error {
			found, err := m.cfg.Graph.CalendarView(ctx, token, now.Add(-12*time.Hour), now.Add(24*time.Hour))
			if err != nil {
				return err
			}
			start = wire.NextFree(blocking(found), now.Truncate(time.Minute), length)
			created, err := m.cfg.Graph.CreateEvent(ctx, token, graph.NewEvent{
				Subject: "Booked on " + sc.Name,
				Start:   graph.At(start, time.UTC),
				End:     graph.At(start.Add(length), time.UTC),
				ShowAs:  "busy",
			})
			if err != nil {
				return err
			}
			// Every screen of the account shows the booking at once, not at
			// the next poll of the calendar.
			w.update(func(d *accountData) { d.events = append(slices.Clone(d.events), created) })
			return nil
		})
	}
	b := wire.Booking{OK: err == nil}
	if err == nil {
		b.Start, b.End = start, start.Add(length)
		m.log.Info("quick booking", "screen", screenID, "account", w.account.Username, "start", start, "minutes", minutes)
	} else {
		b.Problem = bookingProblem(err)
		m.log.Warn("quick booking", "screen", screenID, "account", w.account.Username, "err", err)
	}

	m.showBooking(s, b)
	if err != nil {
		return fmt.Errorf("screens: quick booking on %s: %w", screenID, err)
	}
	return nil
}

// showBooking shows the screen what became of its booking, for a while.
func (m *Manager) showBooking(s *session, b wire.Booking) {
	s.mu.Lock()
	s.booking = &b
	shown := s.booking
	s.mu.Unlock()
	m.publish(s)
	time.AfterFunc(bookingShown, func() {
		s.mu.Lock()
		// Nothing to clear on a session that ended, or after shutdown.
		clear := s.booking == shown && !s.stopped && m.ctx.Err() == nil
		if clear {
			s.booking = nil
		}
		s.mu.Unlock()
		if clear {
			m.publish(s)
		}
	})
}

// blocking are Graph's events in the terms of wire.NextFree. An event
// shown as free or as working elsewhere leaves room to book.
func blocking(events []graph.Event) []wire.Event {
	var out []wire.Event
	for _, ev := range events {
		if ev.ShowAs == "free" || ev.ShowAs == "workingElsewhere" {
			continue
		}
		if e, ok := convert(ev, time.UTC); ok {
			out = append(out, e)
		}
	}
	return out
}

// errTooManyBookings is a booking refused by bookLimits: nothing was
// asked of Graph.
var errTooManyBookings = server.Errorf(server.ETOOMANY, "too many quick bookings from this screen or for this account lately")

// bookingProblem says in a word why a booking failed.
func bookingProblem(err error) string {
	if errors.Is(err, errTooManyBookings) {
		return wire.BookTooMany
	}
	switch graph.StatusOf(err) {
	case http.StatusForbidden:
		return wire.BookNotAllowed
	case http.StatusNotFound:
		return wire.BookNoCalendar
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return wire.BookBusy
	}
	return wire.BookFailed
}
