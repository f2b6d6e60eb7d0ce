package ui

import (
	"fmt"
	"strconv"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/placard/placard/app/wire"
)

// roomUnknown is the status of a panel whose account has no calendar to
// read.
const roomUnknown = "unknown"

// roomTexts are a room panel's words in one language.
type roomTexts struct {
	status     map[string]string // the status word, by wire.Room*
	freeUntil  string            // "Free until %s"
	busyUntil  string            // "Busy until %s"
	freeAllDay string
	noCalendar string
	now, next  string // before the meeting shown: "Now", "Next"
	by         string // "by %s": the organiser
	checkedIn  string
	bookNow    string
	minutes    map[int]string // Book now's lengths
	extend     string
	end        string
	checkIn    string
	ask        map[string]string // the confirmation's question, by wire.Act*
	confirm    string
	done       map[string]string // what an action did, by wire.Act*
	failed     string            // "Could not do it: %s"
	problems   map[string]string // why, by wire.Book*
	working    string
	today      string
}

var roomEnglish = roomTexts{
	status:     map[string]string{wire.RoomFree: "Free", wire.RoomBusy: "Busy", wire.RoomSoon: "Soon"},
	freeUntil:  "Free until %s",
	busyUntil:  "Busy until %s",
	freeAllDay: "Free for the rest of the day",
	noCalendar: "This account has no calendar to show: sign the panel in as the room’s account.",
	now:        "Now",
	next:       "Next",
	by:         "by %s",
	checkedIn:  "Checked in",
	bookNow:    "Book now",
	minutes:    map[int]string{15: "15 min", 30: "30 min", 60: "1 hour"},
	extend:     "Extend 15 min",
	end:        "End now",
	checkIn:    "Check in",
	ask: map[string]string{
		wire.ActBook:    "Book this room %s?",
		wire.ActExtend:  "Extend the meeting to %s?",
		wire.ActEnd:     "End the meeting now and free the room?",
		wire.ActCheckIn: "Check in to %s?",
	},
	confirm: "Confirm",
	done: map[string]string{
		wire.ActBook:    "Booked %s",
		wire.ActExtend:  "Extended to %s",
		wire.ActEnd:     "The room is free",
		wire.ActCheckIn: "Checked in",
	},
	failed: "Could not do it: %s",
	problems: map[string]string{
		wire.BookNotAllowed:    "the room’s account has not allowed it",
		wire.BookNoCalendar:    "the room’s account has no calendar",
		wire.BookBusy:          "Microsoft 365 is busy, try again in a minute",
		wire.BookTooMany:       "too many requests lately, try again later",
		wire.BookScreenRefused: "this screen may not act",
		wire.BookRefused:       "the room’s calendar has changed, look again",
		wire.BookFailed:        "something went wrong",
	},
	working: "One moment…",
	today:   "Today",
}

var roomFrench = roomTexts{
	status:     map[string]string{wire.RoomFree: "Libre", wire.RoomBusy: "Occupée", wire.RoomSoon: "Bientôt"},
	freeUntil:  "Libre jusqu’à %s",
	busyUntil:  "Occupée jusqu’à %s",
	freeAllDay: "Libre jusqu’à la fin de la journée",
	noCalendar: "Ce compte n’a pas de calendrier à afficher : connectez l’écran avec le compte de la salle.",
	now:        "En cours",
	next:       "Ensuite",
	by:         "par %s",
	checkedIn:  "Présence confirmée",
	bookNow:    "Réserver",
	minutes:    map[int]string{15: "15 min", 30: "30 min", 60: "1 heure"},
	extend:     "Prolonger 15 min",
	end:        "Terminer",
	checkIn:    "Confirmer ma présence",
	ask: map[string]string{
		wire.ActBook:    "Réserver cette salle %s ?",
		wire.ActExtend:  "Prolonger la réunion jusqu’à %s ?",
		wire.ActEnd:     "Terminer la réunion maintenant et libérer la salle ?",
		wire.ActCheckIn: "Confirmer la présence à %s ?",
	},
	confirm: "Confirmer",
	done: map[string]string{
		wire.ActBook:    "Réservée %s",
		wire.ActExtend:  "Prolongée jusqu’à %s",
		wire.ActEnd:     "La salle est libre",
		wire.ActCheckIn: "Présence confirmée",
	},
	failed: "Impossible : %s",
	problems: map[string]string{
		wire.BookNotAllowed:    "le compte de la salle ne l’a pas autorisé",
		wire.BookNoCalendar:    "le compte de la salle n’a pas de calendrier",
		wire.BookBusy:          "Microsoft 365 est occupé, réessayez dans une minute",
		wire.BookTooMany:       "trop de demandes récemment, réessayez plus tard",
		wire.BookScreenRefused: "cet écran n’a pas le droit d’agir",
		wire.BookRefused:       "le calendrier de la salle a changé, regardez à nouveau",
		wire.BookFailed:        "une erreur est survenue",
	},
	working: "Un instant…",
	today:   "Aujourd’hui",
}

func roomTextsFor(lang string) *roomTexts {
	if Lang(lang) == "fr" {
		return &roomFrench
	}
	return &roomEnglish
}

// roomView is a meeting room's door panel: the room's name and, over most
// of the screen, a band coloured by its status (free green, soon amber,
// busy red) with the status in letters read from 10 m, until when it
// holds, and the meeting now or next; beside it (below it when upright)
// the room's day. A tablet an administrator lets act has the room's
// actions under the status: Book now, Extend, End now, Check in. The
// status is computed here from the agenda and the clock (wire.RoomStatus),
// so that it turns at the minute without waiting for the edge server.
func roomView(st wire.State, tx *texts, now time.Time, acts *actions) app.UI {
	d := st.Dashboard
	if st.Screen.Asleep {
		return asleepView(st, now)
	}
	sc := st.Screen
	rt := roomTextsFor(sc.Lang)
	var today []wire.Event
	if d.Agenda != nil {
		today = d.Agenda.Today
	}
	status, until := wire.RoomStatus(today, now)
	var untilText string
	switch {
	case d.Agenda == nil && d.Fresh.IsZero():
		// Not read yet: neither free nor busy.
		status, untilText = roomUnknown, "…"
	case d.Agenda == nil:
		// The account has no calendar (or did not let it be read): the
		// panel says so rather than show the room free.
		status, untilText = roomUnknown, rt.noCalendar
	case status == wire.RoomBusy:
		untilText = fmt.Sprintf(rt.busyUntil, clock(until, sc))
	case until.IsZero():
		untilText = rt.freeAllDay
	default:
		untilText = fmt.Sprintf(rt.freeUntil, clock(until, sc))
	}
	shown, isNow := roomMeeting(today, now)
	canAct := sc.Touch && sc.Acts && d.CanBook && d.Agenda != nil
	return app.Div().Class("room-view", "status-"+status).Body(
		app.Section().Class("room-band").
			DataSet("testid", "room-status").
			DataSet("status", status).
			Aria("live", "polite").
			Body(
				app.Header().Class("room-head").Body(
					app.H1().Class("room-name").DataSet("testid", "room-name").Text(d.User.Name),
					app.Div().Class("room-clock").DataSet("testid", "clock").Text(clock(now, sc)),
				),
				app.If(status != roomUnknown, func() app.UI { return app.Div().Class("room-status-word").Text(rt.status[status]) }),
				app.P().Class("room-until").DataSet("testid", "room-until").Text(untilText),
				app.If(shown != nil, func() app.UI { return meetingCard(*shown, isNow, d.Room, sc, tx, rt) }),
				app.If(canAct, func() app.UI { return roomActions(d, today, shown, isNow, status, sc, rt, now, acts) }),
			),
		roomDay(today, d.Room, sc, tx, rt, now),
		app.Footer().Class("room-foot").Body(
			app.Span().Class("screen-label").DataSet("testid", "screen-name").Text(sc.Name),
			freshness(d, sc, tx),
		),
		app.If(canAct && acts.room != nil, func() app.UI { return confirmRoom(*acts.room, today, sc, rt, now, acts) }),
	)
}

// roomMeeting is the meeting a panel names: the one in progress, else the
// next one today; nil when none is left.
func roomMeeting(today []wire.Event, now time.Time) (*wire.Event, bool) {
	if e, ok := current(today, now); ok {
		return &e, true
	}
	for _, e := range today {
		if e.Blocks() && e.Start.After(now) {
			return &e, false
		}
	}
	return nil, false
}

// meetingCard is the meeting now or next: when, what (unless private or
// the panel hides subjects), and who organised it.
func meetingCard(e wire.Event, isNow bool, room *wire.Room, sc wire.Screen, tx *texts, rt *roomTexts) app.UI {
	label := rt.next
	if isNow {
		label = rt.now
	}
	what := ""
	switch {
	case e.Private:
		what = tx.private
	case e.Subject != "" && !sc.Privacy && e.Subject != e.Organizer:
		// Exchange writes the organiser's name as a room's subject by
		// default: it is said once, below.
		what = e.Subject
	}
	return app.Div().Class("room-meeting").DataSet("testid", "room-meeting").DataSet("id", attrSafe(e.ID)).Body(
		app.Div().Class("room-meeting-when").Body(
			app.Span().Class("room-meeting-label").Text(label),
			app.Span().Text(" · "+timeRange(e.Start, e.End, sc)),
			app.If(room.CheckedInTo(e.ID), func() app.UI { return app.Span().Class("room-checked").Text(" · " + rt.checkedIn) }),
		),
		app.If(what != "", func() app.UI { return app.Div().Class("room-meeting-what").Text(what) }),
		app.If(e.Organizer != "", func() app.UI {
			return app.Div().Class("room-meeting-who").Text(fmt.Sprintf(rt.by, e.Organizer))
		}),
	)
}

// bookable is how long Book now may book from now: up to the next
// meeting, at most the longest length; 0 while the room is busy.
func bookable(today []wire.Event, now time.Time) time.Duration {
	if _, busy := wire.BusyUntil(today, now); busy {
		return 0
	}
	room := time.Duration(wire.BookMinutes[len(wire.BookMinutes)-1]) * time.Minute
	if next := wire.FreeFrom(today, now); !next.IsZero() && next.Sub(now) < room {
		room = next.Sub(now)
	}
	return room
}

// extendable reports whether the meeting now can last ExtendStep longer
// without running into the next one.
func extendable(today []wire.Event, e wire.Event) bool {
	end := e.End.Add(wire.ExtendStep)
	for _, o := range today {
		if o.ID != e.ID && o.Blocks() && o.Start.Before(end) && o.End.After(e.End) {
			return false
		}
	}
	return true
}

// roomActions are the buttons of a panel that may act, each asking before
// it acts (confirmRoom), and what the last action did.
func roomActions(d *wire.Dashboard, today []wire.Event, shown *wire.Event, isNow bool, status string, sc wire.Screen, rt *roomTexts, now time.Time, acts *actions) app.UI {
	var buttons []app.UI
	button := func(testid, label string, a wire.RoomAction) app.UI {
		// The handler reads what it asks from the element it was
		// pressed on: go-app keeps an element's first handler when a
		// later rendering puts another button of the same code in its
		// place (End now where Check in was), and a closure over a would
		// ask the other button's action.
		b := app.Button().Class("action", "room-action").DataSet("testid", testid).DataSet("action", a.Action).Text(label).
			OnClick(func(ctx app.Context, e app.Event) { acts.room = pressed(ctx.JSSrc()) })
		if a.Action == wire.ActBook {
			b = b.DataSet("minutes", a.Minutes)
		}
		if a.Event != "" {
			b = b.DataSet("event", attrSafe(a.Event))
		}
		if acts.sent {
			b = b.Disabled(true)
		}
		return b
	}
	if room := bookable(today, now.Truncate(time.Minute)); status != wire.RoomBusy {
		var books []app.UI
		for _, m := range wire.BookMinutes {
			if time.Duration(m)*time.Minute <= room {
				books = append(books, button("room-book", rt.minutes[m], wire.RoomAction{Action: wire.ActBook, Minutes: m}))
			}
		}
		if len(books) > 0 {
			buttons = append(buttons, app.Div().Class("room-book").Role("group").Aria("label", rt.bookNow).Body(
				append([]app.UI{app.Span().Class("room-book-label").Text(rt.bookNow)}, books...)...))
		}
	}
	if shown != nil && !d.Room.CheckedInTo(shown.ID) && wire.CheckInOpen(*shown, now, time.Duration(max(sc.ReleaseAfter, 1))*time.Minute) {
		buttons = append(buttons, button("room-checkin", rt.checkIn, wire.RoomAction{Action: wire.ActCheckIn, Event: shown.ID}))
	}
	if shown != nil && isNow && extendable(today, *shown) {
		buttons = append(buttons, button("room-extend", rt.extend, wire.RoomAction{Action: wire.ActExtend, Event: shown.ID}))
	}
	// A meeting about to start may be ended too: the room is given up.
	if shown != nil && (isNow || status == wire.RoomSoon) {
		buttons = append(buttons, button("room-end", rt.end, wire.RoomAction{Action: wire.ActEnd, Event: shown.ID}))
	}
	return app.Div().Class("room-actions").Body(
		app.Div().Class("room-buttons").Body(buttons...),
		app.If(d.Booking != nil && d.Booking.Action != "", func() app.UI { return roomResult(*d.Booking, sc, rt) }).
			ElseIf(acts.sent, func() app.UI { return app.P().Class("room-result").Role("status").Text(rt.working) }),
	)
}

// pressed is the action of the button a person pressed, from its data-
// attributes.
func pressed(el app.Value) *wire.RoomAction {
	data := el.Get("dataset")
	a := &wire.RoomAction{Action: data.Get("action").String()}
	if ev := data.Get("event"); ev.Truthy() {
		a.Event = ev.String()
	}
	if m := data.Get("minutes"); m.Truthy() {
		a.Minutes, _ = strconv.Atoi(m.String())
	}
	return a
}

// confirmRoom asks before the panel acts, naming what it will do.
func confirmRoom(a wire.RoomAction, today []wire.Event, sc wire.Screen, rt *roomTexts, now time.Time, acts *actions) app.UI {
	question := rt.ask[a.Action]
	var e wire.Event
	for _, o := range today {
		if o.ID == a.Event {
			e = o
		}
	}
	switch a.Action {
	case wire.ActBook:
		start := now.Truncate(time.Minute)
		question = fmt.Sprintf(question, timeRange(start, start.Add(time.Duration(a.Minutes)*time.Minute), sc))
	case wire.ActExtend:
		question = fmt.Sprintf(question, clock(e.End.Add(wire.ExtendStep), sc))
	case wire.ActCheckIn:
		question = fmt.Sprintf(question, timeRange(e.Start, e.End, sc))
	}
	return app.Div().Class("confirm").Role("dialog").Aria("modal", "true").Aria("label", question).Body(
		app.Div().Class("confirm-box").Body(
			app.P().Class("confirm-question").Text(question),
			app.Div().Class("confirm-buttons").Body(
				app.Button().Class("action", "primary").DataSet("testid", "room-confirm").Text(rt.confirm).
					OnClick(func(ctx app.Context, ev app.Event) {
						// What is asked now, not what this handler was
						// made for (see roomActions), and once.
						if acts.room == nil || acts.sent {
							return
						}
						acts.send(*acts.room)
						acts.room, acts.sent = nil, true
					}),
				app.Button().Class("action").DataSet("testid", "room-cancel").Text(textsFor(sc.Lang).cancel).
					OnClick(func(ctx app.Context, ev app.Event) { acts.room = nil }),
			),
		),
	)
}

// roomResult says what the last action did.
func roomResult(b wire.Booking, sc wire.Screen, rt *roomTexts) app.UI {
	outcome := "ok"
	text := rt.done[b.Action]
	switch b.Action {
	case wire.ActBook:
		text = fmt.Sprintf(text, timeRange(b.Start, b.End, sc))
	case wire.ActExtend:
		text = fmt.Sprintf(text, clock(b.End, sc))
	}
	if !b.OK {
		switch b.Problem {
		case wire.BookTooMany:
			outcome = "limited"
		case wire.BookRefused, wire.BookScreenRefused, wire.BookNotAllowed:
			outcome = "refused"
		default:
			outcome = "error"
		}
		why := rt.problems[b.Problem]
		if why == "" {
			why = rt.problems[wire.BookFailed]
		}
		text = fmt.Sprintf(rt.failed, why)
	}
	el := app.P().Class("room-result", "outcome-"+outcome).Role("status").
		DataSet("testid", "room-result").DataSet("outcome", outcome).DataSet("action", token(b.Action))
	return el.Text(text)
}

// roomDay is what is left of the room's day: every meeting of today not
// over yet (as on a dashboard: a panel's height holds a few, and those to
// come matter), the one now stressed.
func roomDay(today []wire.Event, room *wire.Room, sc wire.Screen, tx *texts, rt *roomTexts, now time.Time) app.UI {
	var items []app.UI
	any := false
	for _, e := range today {
		if e.AllDay || e.Cancelled {
			continue
		}
		any = true
		if !e.End.After(now) {
			continue
		}
		li := app.Li().Class("room-agenda-item").DataSet("testid", "room-agenda-item").DataSet("id", attrSafe(e.ID))
		if !e.Start.After(now) {
			li = li.Class("current").Aria("current", "time")
		}
		// A room's meetings are named by their organiser where the
		// subject is hidden (Exchange writes the organiser's name as a
		// room's subject by default, so it is often both).
		what := subject(e, sc, tx)
		switch {
		case e.Private:
			what = tx.private
		case sc.Privacy && e.Organizer != "":
			what = e.Organizer
		case e.Organizer != "" && e.Subject != "" && e.Subject != e.Organizer:
			what += " · " + e.Organizer
		}
		items = append(items, li.Body(
			app.Span().Class("agenda-time").Text(timeRange(e.Start, e.End, sc)),
			app.Span().Class("room-agenda-what").Text(what),
			app.If(room.CheckedInTo(e.ID), func() app.UI { return app.Span().Class("room-checked").Text(rt.checkedIn) }),
		))
	}
	body := []app.UI{app.H2().Class("agenda-day").Text(rt.today)}
	switch {
	case len(items) == 0 && any:
		body = append(body, app.P().Class("agenda-empty").DataSet("testid", "agenda-empty").Text(tx.nothingElse))
	case len(items) == 0:
		body = append(body, app.P().Class("agenda-empty").DataSet("testid", "agenda-empty").Text(tx.nothingToday))
	default:
		body = append(body, app.Ol().Class("room-agenda").Body(items...))
	}
	return app.Section().Class("room-day").Aria("label", rt.today).Body(body...)
}
