package httpd

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/front"
	"github.com/placard/placard/server/limit"
	"github.com/placard/placard/server/screens"
)

// DefaultNewScreens bounds how many screens one client address may
// register: a browser that loads its page again keeps its screen (its
// cookie), so only a new browser, a new name or a cleared profile counts.
// Ten in ten minutes lets someone set up a row of TVs behind one address,
// and keeps a script from filling the list of waiting screens (or, with
// automatic enrollment, from minting codes through new screens).
var DefaultNewScreens = limit.Rate{Max: 10, Per: 10 * time.Minute}

// screensOnly serves h only to clients in ScreenNetworks, when it is set
// (docs/security.md: an optional allowlist of the networks screens are on).
func (s *Server) screensOnly(h http.Handler) http.Handler {
	return front.NetworksOnly(s.ScreenNetworks, s.Log, "screens", "-screen-networks", h)
}

// limitNewScreens refuses a page request that would register a new screen
// when its client address has registered too many lately. A request with
// a provisioning link is counted where it makes a screen (serveLink).
func (s *Server) limitNewScreens(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		name := q.Get("screen")
		if q.Get("link") != "" || name == "" || wire.ValidateName(name) != nil {
			next(w, r) // a link, a redirect, or a refusal: nothing is registered here
			return
		}
		if cred := credentialOf(r, name); cred != nil {
			_, err := s.Screens.Authenticate(r.Context(), *cred)
			if err == nil || !errors.Is(err, screens.ErrUnknownScreen) {
				next(w, r) // a known screen (or a failure Open reports)
				return
			}
		}
		if !s.allowNewScreen(w, r, name) {
			return
		}
		next(w, r)
	}
}

// allowNewScreen counts a new screen against its client address's limit,
// and answers 429 when it is over.
func (s *Server) allowNewScreen(w http.ResponseWriter, r *http.Request, name string) bool {
	ok, retry := s.newScreens.Allow(front.ClientKey(r))
	if ok {
		return true
	}
	s.Log.Warn("refusing a new screen: too many from one address", "remote", r.RemoteAddr, "name", name)
	w.Header().Set("Retry-After", retryAfter(retry))
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "Too many new screens from "+front.ClientKey(r)+" ("+s.newScreenRate().String()+"): try again after "+
		retry.UTC().Format("15:04 UTC")+".", http.StatusTooManyRequests)
	return false
}

func (s *Server) newScreenRate() limit.Rate {
	if s.NewScreens == (limit.Rate{}) {
		return DefaultNewScreens
	}
	return s.NewScreens
}

func retryAfter(t time.Time) string {
	return strconv.Itoa(max(int(time.Until(t).Round(time.Second)/time.Second), 1))
}
