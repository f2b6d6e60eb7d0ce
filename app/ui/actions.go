package ui

import (
	"fmt"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/placard/placard/app/wire"
)

// actions are what a touch screen's buttons do, and where a booking is:
// asking is the length (15 or 30 minutes) a person chose and has not yet
// confirmed, 0 when none; sent is true from the confirmation until the
// edge server answers.
type actions struct {
	asking int
	sent   bool
	send   func(wire.Message)
	// room is the action a person chose on a room's panel and has not
	// yet confirmed, nil when none.
	room *wire.RoomAction
}

// actionBar is a tablet's buttons: sign out, and book the next free slot
// when the edge server allows booking on this screen. A TV has none.
func actionBar(d *wire.Dashboard, sc wire.Screen, tx *texts, acts *actions) app.UI {
	return app.Div().Class("actions").Body(
		app.If(d.Booking != nil, func() app.UI { return bookingResult(*d.Booking, sc, tx) }).
			ElseIf(acts.sent, func() app.UI {
				return app.Span().Class("booking-result").Role("status").Text(tx.bookingNow)
			}),
		app.If(d.CanBook && d.Agenda != nil, func() app.UI {
			return app.Div().Class("book-buttons").Body(
				bookButton(15, tx.book15, acts),
				bookButton(30, tx.book30, acts),
			)
		}),
		app.Button().Class("action", "sign-out").DataSet("testid", "sign-out").Text(tx.signOut).
			OnClick(func(ctx app.Context, e app.Event) { acts.send(wire.SignOut{}) }),
	)
}

// bookButton asks to book the next free slot of the given length.
func bookButton(minutes int, label string, acts *actions) app.UI {
	b := app.Button().Class("action", "book").
		DataSet("testid", "quick-book").
		DataSet("minutes", minutes).
		Text(label).
		OnClick(func(ctx app.Context, e app.Event) {
			acts.asking = minutes
		})
	if acts.sent {
		// Only when true: the prerendered HTML would write
		// disabled="false", which disables it.
		b = b.Disabled(true)
	}
	return b
}

// confirmBooking asks before booking, naming the slot: "Book 14:05–14:20?".
// The slot is the one the edge server will book from the same agenda
// (wire.NextFree); what it booked is shown in quick-book-result.
func confirmBooking(d *wire.Dashboard, sc wire.Screen, tx *texts, now time.Time, acts *actions) app.UI {
	var today []wire.Event
	if d.Agenda != nil {
		today = d.Agenda.Today
	}
	length := time.Duration(acts.asking) * time.Minute
	start := wire.NextFree(today, now.Truncate(time.Minute), length)
	minutes := acts.asking
	return app.Div().Class("confirm").Role("dialog").Aria("modal", "true").Body(
		app.Div().Class("confirm-box").Body(
			app.P().Class("confirm-question").Text(fmt.Sprintf(tx.confirmBook, timeRange(start, start.Add(length), sc))),
			app.Div().Class("confirm-buttons").Body(
				app.Button().Class("action", "primary").DataSet("testid", "quick-book-confirm").Text(tx.confirm).
					OnClick(func(ctx app.Context, e app.Event) {
						acts.send(wire.QuickBook{Minutes: minutes})
						acts.asking, acts.sent = 0, true
					}),
				app.Button().Class("action").DataSet("testid", "quick-book-cancel").Text(tx.cancel).
					OnClick(func(ctx app.Context, e app.Event) {
						acts.asking = 0
					}),
			),
		),
	)
}

// bookingResult says what happened to the last booking.
func bookingResult(b wire.Booking, sc wire.Screen, tx *texts) app.UI {
	text := fmt.Sprintf(tx.booked, timeRange(b.Start, b.End, sc))
	if !b.OK {
		text = tx.bookFailed
		if why := tx.bookProblems[b.Problem]; why != "" {
			text = fmt.Sprintf(tx.bookFailedWhy, why)
		}
	}
	el := app.Span().Class("booking-result").Role("status").
		DataSet("testid", "quick-book-result").
		DataSet("ok", fmt.Sprint(b.OK))
	if !b.OK {
		el = el.Class("failed")
	}
	return el.Text(text)
}
