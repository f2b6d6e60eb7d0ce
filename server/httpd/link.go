package httpd

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/admin"
	"github.com/placard/placard/server/front"
)

// A provisioning link is the address a kiosk starts with:
// /?link=pln_<id>.<secret>[&screen=NAME]. The first time, it enrolls a
// new screen into the link's group (or, when the link no longer works,
// makes one that waits for a pairing approval and says why), and sends
// the browser on to /?screen=NAME: the screen keeps its own credential
// (its cookie), and the link's token leaves the address bar. A cookie
// keyed by the link remembers which screen this browser became, so that
// a kiosk that starts with the link again (every morning) comes back to
// the same screen, and counts against the link once.

// linkCookie names the cookie that remembers the screen a browser became
// with a link (its id's hash: the name says nothing of the secret).
func linkCookie(r *http.Request, linkID string) string {
	h := sha256.Sum256([]byte("link:" + linkID))
	n := "placard_link_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h[:10]))
	if front.IsSecure(r) {
		n = "__Host-" + n
	}
	return n
}

// toScreen sends the browser to its screen's page, without the link.
func toScreen(w http.ResponseWriter, r *http.Request, name string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/?screen="+url.QueryEscape(name), http.StatusSeeOther)
}

// serveLink serves a page request that carries a provisioning link.
func (s *Server) serveLink(w http.ResponseWriter, r *http.Request, token string) {
	ctx := r.Context()
	id := admin.LinkID(token)
	key := id
	if key == "" {
		key = "invalid"
	}
	if c, err := r.Cookie(linkCookie(r, key)); err == nil {
		if name, err := url.QueryUnescape(c.Value); err == nil && wire.ValidateName(name) == nil {
			if cred := credentialOf(r, name); cred != nil {
				if _, err := s.Screens.Authenticate(ctx, *cred); err == nil {
					toScreen(w, r, name) // the screen this browser became
					return
				}
			}
		}
	}
	asked := r.URL.Query().Get("screen")
	if wire.ValidateName(asked) != nil {
		asked = ""
	}
	if !s.allowNewScreen(w, r, asked) {
		return
	}
	e, err := s.Links.ClaimLink(ctx, token)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	sc := server.Screen{Name: asked}
	var detail string
	if e.Why == "" {
		sc.Enrolled, sc.Group, sc.Settings, sc.Link = true, e.Group.ID, e.Group.Settings, e.Link.ID
		switch {
		case e.Name != "":
			sc.Name = e.Name
		case sc.Name == "":
			sc.Name = fmt.Sprintf("%s %d", e.Group.Name, e.Number)
		}
		if wire.ValidateName(sc.Name) != nil {
			sc.Name = fmt.Sprintf("Screen %d", e.Number) // a group's name too long for a screen's
		}
		detail = fmt.Sprintf("enrolled by provisioning link %s into group %s (%s), screen %d of %d",
			e.Link.ID, e.Group.ID, e.Group.Name, e.Number, e.Link.MaxScreens)
	} else {
		sc.Note, sc.Link = e.Why, e.Link.ID
		if sc.Name == "" {
			sc.Name = fmt.Sprintf("Screen %04d", rand.IntN(10000))
		}
		detail = "waiting for enrollment: " + e.Refused
	}
	sc, cred, err := s.Screens.Create(ctx, sc, detail)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	setCookie(w, r, cookieName(r, sc.Name), cred.String())
	setCookie(w, r, lastScreenCookie, url.QueryEscape(sc.Name))
	setCookie(w, r, linkCookie(r, key), url.QueryEscape(sc.Name))
	toScreen(w, r, sc.Name)
}
