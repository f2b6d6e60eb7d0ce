package fleet

import "strings"

// BrowserFamily reads a browser's family from its User-Agent header:
// what an administrator needs to tell a kiosk's Chromium from a TV's own
// browser, never the version or anything else it says of itself. The
// order matters: Edge, Opera and Samsung's browser say "Chrome" too, and
// Chrome says "Safari".
func BrowserFamily(ua string) string {
	for _, f := range []struct{ token, family string }{
		{"Edg/", "Edge"}, {"EdgA/", "Edge"}, {"EdgiOS/", "Edge"},
		{"OPR/", "Opera"}, {"SamsungBrowser/", "Samsung Internet"},
		{"Web0S", "LG webOS"}, {"Tizen", "Samsung Tizen"}, {"SMART-TV", "Smart TV"},
		{"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"},
		{"CriOS/", "Chrome"}, {"HeadlessChrome/", "Chrome (headless)"}, {"Chromium/", "Chromium"}, {"Chrome/", "Chrome"},
		{"Silk/", "Silk"}, {"Safari/", "Safari"},
	} {
		if strings.Contains(ua, f.token) {
			return f.family
		}
	}
	if ua == "" {
		return ""
	}
	return "other"
}
