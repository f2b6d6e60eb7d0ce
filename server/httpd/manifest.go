package httpd

import (
	"encoding/json"
	"net/http"
)

// manifest is the screen's web app manifest. go-app writes its own with
// "display": "standalone"; a screen wants the whole display, with no
// browser bar, so the edge server serves this one in its place.
// https://developer.mozilla.org/en-US/docs/Web/Manifest/display
type manifest struct {
	ID              string         `json:"id"`
	Name            string         `json:"name"`
	ShortName       string         `json:"short_name"`
	Description     string         `json:"description"`
	Lang            string         `json:"lang"`
	StartURL        string         `json:"start_url"`
	Scope           string         `json:"scope"`
	Display         string         `json:"display"`
	DisplayOverride []string       `json:"display_override"`
	Orientation     string         `json:"orientation"`
	BackgroundColor string         `json:"background_color"`
	ThemeColor      string         `json:"theme_color"`
	Icons           []manifestIcon `json:"icons"`
}

type manifestIcon struct {
	Src     string `json:"src"`
	Sizes   string `json:"sizes"`
	Type    string `json:"type"`
	Purpose string `json:"purpose,omitempty"`
}

// screenColour is the screen's background: the theme and splash colour of
// the installed app, so that starting it does not flash white.
const screenColour = "#0b1020"

// serveManifest writes the manifest. Its start URL is "/", which opens the
// screen this browser showed last (see redirectToScreen).
func (s *Server) serveManifest(w http.ResponseWriter, r *http.Request) {
	m := manifest{
		ID:              "/",
		Name:            "placard",
		ShortName:       "placard",
		Description:     "A signed-in Microsoft 365 display",
		Lang:            "en",
		StartURL:        "/",
		Scope:           "/",
		Display:         "fullscreen",
		DisplayOverride: []string{"fullscreen", "standalone"},
		// A TV is landscape and a door panel portrait: the screen
		// follows the device.
		Orientation:     "any",
		BackgroundColor: screenColour,
		ThemeColor:      screenColour,
		Icons: []manifestIcon{
			{Src: "/web/icon-192.png", Sizes: "192x192", Type: "image/png", Purpose: "any"},
			{Src: "/web/icon-512.png", Sizes: "512x512", Type: "image/png", Purpose: "any"},
			{Src: "/web/icon-maskable-512.png", Sizes: "512x512", Type: "image/png", Purpose: "maskable"},
			{Src: "/web/icon.svg", Sizes: "any", Type: "image/svg+xml", Purpose: "any"},
		},
	}
	w.Header().Set("Content-Type", "application/manifest+json")
	w.Header().Set("Cache-Control", "no-cache")
	json.NewEncoder(w).Encode(m)
}
