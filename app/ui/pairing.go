package ui

import (
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/placard/placard/app/wire"
)

// pairingView is a screen that waits for an administrator to enroll it: its
// name, its pairing number, and what the administrator does.
func pairingView(st wire.State, tx *texts) app.UI {
	number := ""
	if st.Pairing != nil {
		number = st.Pairing.Number
	}
	before, after, _ := strings.Cut(tx.pairingHow, "%s")
	return app.Main().Class("pairing-view").Body(
		app.H1().Class("title").DataSet("testid", "screen-name").Text(st.Screen.Name),
		app.P().Class("lead").Text(tx.pairingTitle),
		app.Div().Class("pairing-code").DataSet("testid", "pairing-code").Text(number),
		app.P().Class("hint").Body(app.Text(before), app.Code().Text(number), app.Text(after)),
	)
}
