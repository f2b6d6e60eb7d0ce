package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/placard/placard/app/wire"
)

// codeView asks a person to sign in: the screen's name, the QR code to
// scan, and, when the screen offers a device code, where to go and the
// code in large type; then the time left. Once a phone has opened the QR
// code's link, the screen shows the number to pick on it instead.
func codeView(st wire.State, tx *texts, now time.Time) app.UI {
	c := st.Code
	if c == nil {
		return app.Div()
	}
	left := c.ExpiresAt.Sub(now)
	before, after, _ := strings.Cut(tx.signInTo, "%s")
	authCode := c.QR.To == wire.QRAuthCode
	hasCode := c.UserCode != ""
	var steps []app.UI
	switch {
	case hasCode && authCode:
		// Both: the QR code on the authorization-code path, the code as
		// the other way.
		steps = append(steps,
			app.P().Class("step").Text(tx.orOpen),
			app.P().Class("uri").DataSet("testid", "verification-uri").Text(c.VerificationURI),
			app.P().Class("step").Text(tx.step2),
			userCode(c.UserCode))
	case hasCode:
		steps = append(steps,
			app.P().Class("step").Text(tx.step1),
			app.P().Class("uri").DataSet("testid", "verification-uri").Text(c.VerificationURI),
			app.P().Class("step").Text(tx.step2),
			userCode(c.UserCode))
	default:
		steps = append(steps,
			app.P().Class("scan-lead").Text(tx.scanToSignIn),
			app.P().Class("step").Text(tx.scanHow))
	}
	if c.CodeBlocked {
		steps = append(steps, app.P().Class("notice").DataSet("testid", "code-blocked").Text(tx.codeBlocked))
	}
	// Without a code on screen, what runs out is the QR code's link.
	expires := tx.expiresIn
	if !hasCode {
		expires = tx.linkExpiresIn
	}
	steps = append(steps,
		app.P().Class("expiry").Body(
			app.Text(strings.TrimSuffix(expires, "%s")),
			app.Span().
				DataSet("testid", "countdown").
				DataSet("expires-at", c.ExpiresAt.UTC().Format(time.RFC3339)).
				Text(countdown(left)),
		),
		app.If(left < 10*time.Second, func() app.UI {
			// The edge server replaces a code before it expires; a
			// screen that sees it run out says the next is coming.
			return app.P().Class("expiry").Text(tx.newCodeSoon)
		}),
	)
	var box app.UI
	switch {
	case c.Match != "":
		box = app.Div().Class("qr-box match-box").Body(
			app.P().Class("step scan").Text(tx.typeNumber),
			app.P().Class("match-number").DataSet("testid", "match-number").Aria("live", "polite").Text(c.Match),
		)
	case authCode && hasCode:
		box = app.Div().Class("qr-box").Body(
			app.P().Class("scan-lead").Text(tx.scanToSignIn),
			qrSVG(c.QR, tx.qrLabel),
		)
	case authCode:
		box = app.Div().Class("qr-box").Body(qrSVG(c.QR, tx.qrLabel))
	default:
		box = app.Div().Class("qr-box").Body(
			app.P().Class("step scan").Text(tx.scan),
			qrSVG(c.QR, tx.qrLabel),
		)
	}
	// With both, the QR code is the first way: it comes first where the
	// two are one above the other (portrait).
	qrFirst := ""
	if authCode && hasCode {
		qrFirst = "qr-first"
	}
	return app.Main().Class("code-view").Body(
		topBar(st, now),
		app.H1().Class("title").Body(
			app.Text(before),
			app.Strong().DataSet("testid", "screen-name").Text(st.Screen.Name),
			app.Text(after),
		),
		app.Div().Class("code-body").Class(qrFirst).Body(
			app.Div().Class("steps").Body(steps...),
			box,
		),
	)
}

// userCode shows the code in groups of three or four characters, easier to
// read aloud and to type. The element's text is exactly the code: it is
// written as one piece of HTML, because go-app's prerender would put
// indentation between the groups, which a browser reads as spaces. Only
// letters and digits of the code are kept, so the HTML holds nothing else.
func userCode(code string) app.UI {
	code = token(code)
	size := 3
	if len(code)%3 != 0 && len(code)%4 == 0 {
		size = 4
	}
	var b strings.Builder
	b.WriteString(`<div class="user-code" data-testid="user-code" aria-label="` + spaced(code) + `">`)
	for i := 0; i < len(code); i += size {
		b.WriteString(`<span class="group">` + code[i:min(i+size, len(code))] + `</span>`)
	}
	b.WriteString(`</div>`)
	return app.Raw(b.String())
}

// spaced spells a code out for screen readers: "A B C 1 2 3".
func spaced(code string) string {
	return strings.Join(strings.Split(code, ""), " ")
}

const svgNS = "http://www.w3.org/2000/svg"

// qrSVG draws a QR symbol: dark modules on a white square that keeps the
// quiet zone, scaled by CSS. Its data-path says where it leads.
func qrSVG(q wire.QR, label string) app.UI {
	if q.Size == 0 {
		return app.Div()
	}
	to := q.To
	if to == "" {
		to = wire.QRDeviceCode
	}
	return app.Elem("svg").XMLNS(svgNS).
		DataSet("testid", "qr").
		DataSet("path", to).
		Class("qr").
		Attr("viewBox", fmt.Sprintf("0 0 %d %d", q.Size, q.Size)).
		Attr("shape-rendering", "crispEdges").
		Attr("role", "img").
		Aria("label", label).
		Body(
			app.Elem("rect").XMLNS(svgNS).Attr("width", q.Size).Attr("height", q.Size).Attr("fill", "#fff"),
			app.Elem("path").XMLNS(svgNS).Attr("d", q.Path).Attr("fill", "#000"),
		)
}

// topBar is the clock and date in a corner, on every phase that has them.
func topBar(st wire.State, now time.Time) app.UI {
	return app.Div().Class("top-bar").Body(
		app.Div().Class("clock").DataSet("testid", "clock").Text(clock(now, st.Screen)),
		app.Div().Class("date").Text(date(now, st.Screen)),
	)
}
