package ui

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/placard/placard/app/wire"
)

// dashboardView is a signed-in screen: who, their presence, the time, the
// day's agenda with whether the calendar is free now, and how fresh the
// data is. Panels the account does not have (no Teams, no mailbox) are left
// out, never shown as errors. Landscape screens put the day's state beside
// the agenda; portrait door panels put it on top, large (placard.css).
func dashboardView(st wire.State, tx *texts, now time.Time, acts *actions) app.UI {
	d := st.Dashboard
	if d == nil {
		return app.Div()
	}
	if st.Screen.Asleep {
		return asleepView(st, now)
	}
	if st.Screen.Layout == wire.LayoutRoom {
		return roomView(st, tx, now, acts)
	}
	view := app.Div().Class("dashboard-view")
	if d.Agenda == nil {
		// No mailbox (or no permission to read it): who and their
		// presence take the room the day would have had.
		view = view.Class("no-agenda")
	}
	return view.Body(
		app.Header().Class("who").Body(
			avatar(d.User),
			app.Div().Class("who-text").Body(
				app.H1().Class("user-name").DataSet("testid", "user-name").Text(d.User.Name),
				// Without a calendar, the presence stands under the name:
				// there is no status card to carry it.
				app.If(d.Agenda == nil && d.Presence != nil, func() app.UI { return presence(*d.Presence, st.Screen.Lang) }),
			),
			topBar(st, now),
		),
		app.If(d.Agenda != nil, func() app.UI {
			return app.Main().Class("day").Body(
				app.Div().Class("status-col").Body(
					statusCard(d, st.Screen, tx, now),
					freeAt(*d.Agenda, st.Screen, tx, now),
				),
				agendaView(*d.Agenda, st.Screen, tx, now),
			)
		}).Else(func() app.UI {
			return app.Div().Class("day-spacer")
		}),
		app.Footer().Class("status-line").Body(
			app.Span().Class("screen-label").DataSet("testid", "screen-name").Text(st.Screen.Name),
			freshness(d, st.Screen, tx),
			app.If(st.Screen.Touch && st.Screen.Acts, func() app.UI { return actionBar(d, st.Screen, tx, acts) }),
		),
		app.If(st.Screen.Touch && st.Screen.Acts && acts.asking > 0, func() app.UI { return confirmBooking(d, st.Screen, tx, now, acts) }),
	)
}

// asleepView is a screen outside its opening hours: a dim clock, nothing
// else, moved now and then like everything else (see Screen.Render).
func asleepView(st wire.State, now time.Time) app.UI {
	return app.Div().Class("asleep-view").Body(
		app.Div().Class("clock").DataSet("testid", "clock").Text(clock(now, st.Screen)),
		app.Div().Class("date").Text(date(now, st.Screen)),
	)
}

// avatar is the account's photo, or its initials.
func avatar(u wire.User) app.UI {
	// Only a photo's address on the edge server goes into the attribute:
	// go-app does not HTML-escape attribute values.
	if strings.HasPrefix(u.Photo, wire.PhotoPath) && len(u.Photo) < 200 && attrSafe(u.Photo) == u.Photo {
		// The name is beside it: the photo needs no alt text of its own.
		// go-app drops an empty alt, so the photo is hidden from
		// assistive technology instead, as the initials are.
		return app.Img().Class("avatar").DataSet("testid", "user-photo").Src(u.Photo).Alt("").Aria("hidden", "true")
	}
	return app.Div().Class("avatar", "initials").DataSet("testid", "user-photo").Aria("hidden", "true").Text(u.Initials)
}

// presence is a coloured mark and its label ("Busy · In a call").
func presence(p wire.Presence, lang string) app.UI {
	avail, act := token(p.Availability), token(p.Activity)
	// Never an empty data- value: a prerendered page would read it as
	// "true" (see httpd's restoreTrue).
	if avail == "" {
		avail = "PresenceUnknown"
	}
	if act == "" {
		act = avail
	}
	word, activity := presenceWords(p, lang)
	return app.Div().Class("presence", "avail-"+avail).
		DataSet("testid", "presence").
		DataSet("availability", avail).
		DataSet("activity", act).
		Body(
			app.Span().Class("dot").Aria("hidden", "true"),
			app.Span().Class("label").Body(
				app.Span().Class("avail-word").Text(word),
				// On the status card the activity has a line of its
				// own; elsewhere it follows the word.
				app.If(activity != "", func() app.UI {
					return app.Span().Class("activity").Body(app.Span().Class("sep").Text(" · "), app.Text(activity))
				}),
			),
		)
}

// statusCard says, large, how the account is now: its Teams presence
// ("Busy", "In a call") when it has one, else whether its calendar is busy
// or free; and the meeting it is in. The presence is shown here only, once:
// the card is what is read from across a lobby. Whether the calendar is
// busy is computed here, from the agenda and the clock, so that it turns
// at the minute without waiting for the edge server.
func statusCard(d *wire.Dashboard, sc wire.Screen, tx *texts, now time.Time) app.UI {
	today := d.Agenda.Today
	_, busy := wire.BusyUntil(today, now)
	detail := ""
	if e, ok := current(today, now); ok && !sc.Privacy {
		detail = subject(e, sc, tx)
	}
	el := app.Section().Class("room-state").
		DataSet("testid", "room-state").
		DataSet("busy", fmt.Sprint(busy))
	var head app.UI
	switch {
	case d.Presence != nil:
		head = presence(*d.Presence, sc.Lang)
		el = el.Class("has-presence", "avail-"+token(d.Presence.Availability))
	case busy:
		head = app.Div().Class("room-word").Text(tx.busy)
		el = el.Class("busy")
	default:
		head = app.Div().Class("room-word").Text(tx.free)
	}
	return el.Body(
		head,
		app.If(detail != "", func() app.UI { return app.Div().Class("room-detail").Text(detail) }),
	)
}

// freeAt says, under the status card, when the calendar is next free or
// busy: "Free at 14:30" while meetings follow one another, "Free until
// 15:00" before the next one, and tomorrow's first meeting once today has
// none left.
func freeAt(a wire.Agenda, sc wire.Screen, tx *texts, now time.Time) app.UI {
	until, busy := wire.BusyUntil(a.Today, now)
	var text string
	switch next := wire.FreeFrom(a.Today, now); {
	case busy:
		text = fmt.Sprintf(tx.freeAt, clock(until, sc))
	case !next.IsZero():
		text = fmt.Sprintf(tx.freeUntil, clock(next, sc))
	default:
		text = tx.freeRestOfDay
		for _, e := range a.Tomorrow {
			if e.Blocks() {
				text = fmt.Sprintf(tx.tomorrowAt, clock(e.Start, sc), subject(e, sc, tx))
				break
			}
		}
	}
	return app.P().Class("free-at").DataSet("testid", "free-at").Text(text)
}

// current is the meeting in progress, the first when several overlap.
func current(events []wire.Event, now time.Time) (wire.Event, bool) {
	for _, e := range events {
		if e.Blocks() && !e.Start.After(now) && e.End.After(now) {
			return e, true
		}
	}
	return wire.Event{}, false
}

// maxItems bounds the events rendered per day: the stylesheet shows as
// many as the screen's shape holds, and a day's first few are what matter.
const maxItems = 8

// agendaView lists what is left of today: events that ended are gone, the
// meeting in progress is stressed and the next one marked. When today is
// done, tomorrow's first events follow.
func agendaView(a wire.Agenda, sc wire.Screen, tx *texts, now time.Time) app.UI {
	var left []wire.Event
	for _, e := range a.Today {
		if e.AllDay || e.End.After(now) {
			left = append(left, e)
		}
	}
	next := ""
	for _, e := range left {
		if e.Blocks() && e.Start.After(now) {
			next = e.ID
			break
		}
	}
	doneToday := len(left) == 0 || (len(a.Tomorrow) > 0 && !hasTimed(left))
	var items []app.UI
	for i, e := range left {
		if i == maxItems {
			break
		}
		items = append(items, agendaItem(e, sc, tx, e.Blocks() && !e.Start.After(now) && e.End.After(now), e.ID == next && next != ""))
	}
	body := []app.UI{app.H2().Class("agenda-day").Text(tx.today)}
	switch {
	case len(items) > 0:
		body = append(body, app.Ol().Class("agenda-list").Body(items...))
	case len(a.Today) > 0:
		body = append(body, app.P().Class("agenda-empty").DataSet("testid", "agenda-empty").Text(tx.nothingElse))
	default:
		body = append(body, app.P().Class("agenda-empty").DataSet("testid", "agenda-empty").Text(tx.nothingToday))
	}
	if doneToday && len(a.Tomorrow) > 0 {
		var more []app.UI
		for i, e := range a.Tomorrow {
			if i == maxItems/2 {
				break
			}
			more = append(more, agendaItem(e, sc, tx, false, false))
		}
		body = append(body,
			app.H2().Class("agenda-day", "tomorrow").Text(tx.tomorrow),
			app.Ol().Class("agenda-list").Body(more...),
		)
	}
	return app.Section().Class("agenda").Aria("label", tx.today).Body(body...)
}

func hasTimed(events []wire.Event) bool {
	for _, e := range events {
		if !e.AllDay {
			return true
		}
	}
	return false
}

// agendaItem is one event: its time (or "All day"), its subject (or
// "Busy" on a screen in privacy mode, "Private" for a private event), and
// where.
func agendaItem(e wire.Event, sc wire.Screen, tx *texts, isCurrent, isNext bool) app.UI {
	// The screen writes times itself, in its zone, the same way as its
	// clock ("9:30–10:00 AM").
	when := timeRange(e.Start, e.End, sc)
	if e.AllDay {
		when = tx.allDay
	}
	li := app.Li().Class("agenda-item").
		DataSet("testid", "agenda-item").
		DataSet("event-id", attrSafe(e.ID))
	switch {
	case isCurrent:
		li = li.Class("current").DataSet("current", "true").Aria("current", "time")
	case isNext:
		li = li.Class("next").DataSet("next", "true")
	}
	if e.Cancelled {
		li = li.Class("cancelled")
	}
	if e.AllDay {
		li = li.Class("all-day")
	}
	var badge string
	switch {
	case e.Cancelled:
		badge = tx.cancelled
	case isCurrent:
		badge = tx.now
	case isNext:
		badge = tx.next
	}
	return li.Body(
		app.Span().Class("agenda-time").DataSet("testid", "agenda-time").Text(when),
		app.Span().Class("agenda-what").Body(
			app.Span().Class("agenda-subject").DataSet("testid", "agenda-subject").Text(subject(e, sc, tx)),
			app.If(e.Location != "" && !sc.Privacy && !e.Private, func() app.UI { return app.Span().Class("agenda-where").Text(e.Location) }),
		),
		app.If(badge != "", func() app.UI { return app.Span().Class("badge").Text(badge) }),
	)
}

// subject is what an event is called on this screen.
func subject(e wire.Event, sc wire.Screen, tx *texts) string {
	switch {
	case sc.Privacy:
		return tx.privateMeeting
	case e.Private:
		return tx.private
	case strings.TrimSpace(e.Subject) == "":
		return tx.untitled
	}
	return e.Subject
}

// freshness says when the data was read, and marks it when it is old.
func freshness(d *wire.Dashboard, sc wire.Screen, tx *texts) app.UI {
	el := app.Span().Class("freshness").DataSet("testid", "freshness").DataSet("stale", fmt.Sprint(d.Stale))
	if d.Stale {
		el = el.Class("stale")
	}
	switch {
	case d.Fresh.IsZero():
		return el.Text("…")
	case d.Stale:
		return el.Text(fmt.Sprintf(tx.stale, clock(d.Fresh, sc)))
	}
	return el.Text(fmt.Sprintf(tx.updated, clock(d.Fresh, sc)))
}

// token keeps only letters and digits of a value that goes into an HTML
// attribute: go-app quotes attribute values the Go way, not the HTML way,
// so nothing from outside may bring a quote into one. Graph's enum values
// (Available, InACall) pass unchanged.
func token(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, s)
}

// attrSafe keeps the ASCII letters, digits and the few signs of Graph's ids
// (base64: "AAMkAGI2...=", "-", "_", "/", "+"): an event id goes into
// data-event-id, where neither a quote nor an entity may appear.
func attrSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		case strings.ContainsRune("-_=+/.", r):
			return r
		}
		return -1
	}, s)
}
