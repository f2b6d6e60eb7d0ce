package lights

import "github.com/placard/placard/server"

// Colors is the one table from availability to a light's colour: Teams'
// own colours, as "#RRGGBB"; "#000000" means off. An account signed in
// nowhere, or whose presence is unknown, is off.
var Colors = map[string]string{
	"Available":       "#92C353", // green
	"AvailableIdle":   "#92C353",
	"Busy":            "#C4314B", // red
	"BusyIdle":        "#C4314B",
	"DoNotDisturb":    "#B03CDE", // purple
	"BeRightBack":     "#FCD116", // yellow
	"Away":            "#FCD116",
	"Offline":         "#000000", // off
	"PresenceUnknown": "#000000",
	// A room's status, from its calendar (a light key of a room's
	// account): free, a meeting within 10 minutes, busy.
	"free": "#92C353",
	"soon": "#FCD116",
	"busy": "#C4314B",
}

// Color is the colour of p (Colors); off for anything else.
func Color(p server.Presence) string {
	if c, ok := Colors[p.Availability]; ok && p.SignedIn {
		return c
	}
	return "#000000"
}
