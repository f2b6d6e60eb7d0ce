package ui

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/placard/placard/app/wire"
)

// dashboardView is a signed-in screen: who, their presence, the time, and
// how fresh the data is. Panels the account does not have (no Teams, no
// mailbox) are left out, never shown as errors.
func dashboardView(st wire.State, tx *texts, now time.Time, send func(wire.Message)) app.UI {
	d := st.Dashboard
	if d == nil {
		return app.Div()
	}
	return app.Div().Class("dashboard-view").Body(
		app.Header().Class("who").Body(
			avatar(d.User),
			app.Div().Class("who-text").Body(
				app.Div().Class("user-name").DataSet("testid", "user-name").Text(d.User.Name),
				app.If(d.Presence != nil, func() app.UI { return presence(*d.Presence, st.Screen.Lang) }),
			),
			topBar(st, now),
		),
		app.Footer().Class("status-line").Body(
			app.Span().DataSet("testid", "screen-name").Text(st.Screen.Name),
			freshness(d, st.Screen, tx),
			app.If(st.Screen.Touch, func() app.UI {
				return app.Button().Class("action").DataSet("testid", "sign-out").Text(tx.signOut).
					OnClick(func(ctx app.Context, e app.Event) { send(wire.SignOut{}) })
			}),
		),
	)
}

// avatar is the account's photo, or its initials.
func avatar(u wire.User) app.UI {
	if u.Photo != "" {
		// The name is beside it: the photo needs no alt text of its own
		// (and go-app does not HTML-escape attribute values).
		return app.Img().Class("avatar").DataSet("testid", "user-photo").Src(u.Photo).Alt("")
	}
	return app.Div().Class("avatar initials").DataSet("testid", "user-photo").Aria("hidden", "true").Text(u.Initials)
}

// presence is a coloured mark and its label ("Busy · In a call").
func presence(p wire.Presence, lang string) app.UI {
	avail, act := token(p.Availability), token(p.Activity)
	return app.Div().Class("presence", "avail-"+avail).
		DataSet("testid", "presence").
		DataSet("availability", avail).
		DataSet("activity", act).
		Body(
			app.Span().Class("dot").Aria("hidden", "true"),
			app.Span().Class("label").Text(presenceLabel(p, lang)),
		)
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
