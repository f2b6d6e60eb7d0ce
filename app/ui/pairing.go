package ui

import (
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/placard/placard/app/wire"
)

// pairingView is a screen that waits for an administrator to enroll it: its
// name, its pairing number, and what the administrator does.
func pairingView(st wire.State, tx *texts) app.UI {
	number, why := "", ""
	if st.Pairing != nil {
		number, why = st.Pairing.Number, tx.linkWhy[st.Pairing.Why]
	}
	before, after, _ := strings.Cut(tx.pairingHow, "%s")
	return app.Main().Class("pairing-view").Body(
		app.H1().Class("title").DataSet("testid", "screen-name").Text(st.Screen.Name),
		app.P().Class("lead").Text(tx.pairingTitle),
		app.If(why != "", func() app.UI {
			return app.P().Class("notice").DataSet("testid", "pairing-reason").DataSet("why", st.Pairing.Why).Text(why)
		}),
		app.Div().Class("pairing-code").DataSet("testid", "pairing-code").Text(number),
		app.P().Class("hint").Body(app.Text(before), app.Code().Text(number), app.Text(after)),
	)
}

// identifyView shows the screen's name and a number over everything, for
// whoever stands in front of it to tell an administrator which it is.
func identifyView(id wire.Identify, tx *texts) app.UI {
	return app.Div().Class("identify").DataSet("testid", "identify").DataSet("until", id.Until.UTC().Format(time.RFC3339)).Body(
		app.P().Class("identify-name").Text(id.Name),
		app.P().Class("identify-number").Text(id.Number),
		app.P().Class("hint").Text(tx.identifyHow),
	)
}
