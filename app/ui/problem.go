package ui

import (
	"fmt"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/placard/placard/app/wire"
)

// problemView says what went wrong in plain words, what happens next, and
// the code for IT when there is one.
func problemView(st wire.State, tx *texts, now time.Time) app.UI {
	p := st.Problem
	if p == nil {
		p = &wire.Problem{Kind: wire.ProblemFailed}
	}
	words, ok := tx.problems[p.Kind]
	if !ok {
		words = tx.problems[wire.ProblemFailed]
	}
	return app.Main().Class("problem-view").Body(
		app.P().Class("screen-label").DataSet("testid", "screen-name").Text(st.Screen.Name),
		app.H1().Class("title").DataSet("testid", "error-title").Text(words[0]),
		app.P().Class("lead").DataSet("testid", "error-message").Text(words[1]),
		app.If(p.Code != "", func() app.UI {
			return app.P().Class("it-code").Body(
				app.Text(fmt.Sprintf(tx.errorCode, "")),
				app.Code().DataSet("testid", "error-code").Text(p.Code),
			)
		}),
		app.If(p.Retry.IsZero(), func() app.UI {
			return app.P().Class("hint").Text(tx.waitingForIT)
		}).ElseIf(p.Retry.Sub(now) > time.Minute, func() app.UI {
			// A long wait (a Conditional Access block) says when; a short
			// one is "in a moment", as the message says.
			return app.P().Class("hint").Text(fmt.Sprintf(tx.nextTry, clock(p.Retry, st.Screen)))
		}),
	)
}
