package httpd

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"time"

	"github.com/placard/placard/server/admit"
	"github.com/placard/placard/server/front"
	"github.com/placard/placard/server/limit"
	"github.com/placard/placard/server/screens"
)

// The phone's side of sign-in by QR code: the page of a screen's one-time
// link, where the phone picks the number the screen shows, and the
// callback of the identity platform. A small server-rendered page, no
// script. The screen's cookie plays no part: the phone is not the screen.

//go:embed signin
var signInFS embed.FS

var signInTmpl = template.Must(template.ParseFS(signInFS, "signin/*.html"))

// Default limits of the phone's pages per client address: a person opens
// a link, picks a number and comes back once; a few screens' worth of
// tries is plenty, and guessing links or states gets nowhere.
var (
	DefaultSignInLinks     = limit.Rate{Max: 30, Per: 10 * time.Minute}
	DefaultSignInCallbacks = limit.Rate{Max: 10, Per: 10 * time.Minute}
)

// callbackTimeout bounds a callback: the code's redemption and the screen
// taking the account.
const callbackTimeout = 30 * time.Second

// bindingCookie holds what binds a sign-in's state to the phone's browser.
// The __Host- prefix (over HTTPS) pins it to this host; it is sent back on
// the identity platform's redirect (a top-level navigation from another
// site), so it is SameSite=Lax, and it lives as long as a sign-in may.
func bindingCookie(r *http.Request) string {
	if front.IsSecure(r) {
		return "__Host-placard_signin"
	}
	return "placard_signin"
}

const bindingLifetime = 10 * time.Minute

func (s *Server) registerSignIn(mux *http.ServeMux) {
	linkRate, callbackRate := s.SignInLinks, s.SignInCallbacks
	if linkRate == (limit.Rate{}) {
		linkRate = DefaultSignInLinks
	}
	if callbackRate == (limit.Rate{}) {
		callbackRate = DefaultSignInCallbacks
	}
	links, callbacks := limit.New(linkRate, nil), limit.New(callbackRate, nil)
	mux.HandleFunc("GET /signin/signin.css", func(w http.ResponseWriter, r *http.Request) {
		b, _ := signInFS.ReadFile("signin/signin.css")
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(b)
	})
	mux.Handle("GET "+screens.CallbackPath, s.signIns.Handler(s.limitPhone(callbacks, s.signInCallback), admit.RefusePage))
	mux.Handle("GET "+screens.LinkPath+"{token}", s.signIns.Handler(s.limitPhone(links, s.signInLink), admit.RefusePage))
	mux.Handle("POST "+screens.LinkPath+"{token}", s.signIns.Handler(s.limitPhone(links, s.signInPick), admit.RefusePage))
	mux.Handle("GET "+screens.ScopePath+"{token}", s.signIns.Handler(s.limitPhone(links, s.scopePage), admit.RefusePage))
	mux.Handle("POST "+screens.ScopePath+"{token}", s.signIns.Handler(s.limitPhone(links, s.scopeChosen), admit.RefusePage))
}

// scopePage is the device-code path's page of a screen of a group that
// shares its sign-ins: the code, and the choice of this screen or all
// the group's, before the phone goes on to the verification address.
func (s *Server) scopePage(w http.ResponseWriter, r *http.Request) {
	offer, err := s.Screens.OpenScope(r.Context(), r.PathValue("token"))
	if err != nil {
		s.signInRefused(w, err)
		return
	}
	p := signInPage{Title: "Sign in to " + offer.Screen, Screen: offer.Screen, UserCode: offer.UserCode}
	if offer.Choice.Screens > 1 {
		p.Choice = &offer.Choice
	}
	s.renderSignIn(w, http.StatusOK, p)
}

// scopeChosen takes the choice and sends the phone on to enter the code.
func (s *Server) scopeChosen(w http.ResponseWriter, r *http.Request) {
	if front.CrossSite(r) {
		http.Error(w, "refused: this form may only be sent from placard's own sign-in page", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the form could not be read", http.StatusBadRequest)
		return
	}
	onward, err := s.Screens.ChooseDeviceScope(r.Context(), r.PathValue("token"), r.PostForm.Get("scope"))
	if err != nil {
		s.signInRefused(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, onward, http.StatusSeeOther)
}

// limitPhone refuses a client address that asked too often.
func (s *Server) limitPhone(l *limit.Limiter, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ok, retry := l.Allow(front.ClientKey(r)); !ok {
			s.Log.Warn("refusing a sign-in page: too many from one address", "remote", r.RemoteAddr)
			w.Header().Set("Retry-After", retryAfter(retry))
			s.renderSignIn(w, http.StatusTooManyRequests, signInPage{Outcome: screens.LinkFailed,
				Heading: "Too many tries", Message: "This network asked for sign-in pages too often. Wait a few minutes, then scan the screen's QR code again."})
			return
		}
		h(w, r)
	}
}

// signInPage is what the page's template receives: the numbers to pick
// from, or an outcome.
type signInPage struct {
	Title        string
	Screen       string
	Organisation string
	Numbers      [3]string
	Outcome      string
	Heading      string
	Message      string
	// Choice is offered on a screen whose group shares its sign-ins:
	// this screen, or all of the group's (signin-scope).
	Choice *screens.GroupChoice
	// UserCode and Onward are the device-code path's page of the choice:
	// the code to enter, and where.
	UserCode string
}

func (s *Server) renderSignIn(w http.ResponseWriter, status int, p signInPage) {
	if p.Title == "" {
		p.Title = p.Heading
	}
	var buf bytes.Buffer
	if err := signInTmpl.ExecuteTemplate(&buf, "signin", p); err != nil {
		s.Log.Error("rendering the sign-in page", "err", err)
		http.Error(w, "the sign-in page could not be drawn", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// signInLink shows the numbers to pick from.
func (s *Server) signInLink(w http.ResponseWriter, r *http.Request) {
	page, err := s.Screens.OpenLink(r.PathValue("token"))
	if err != nil {
		s.signInRefused(w, err)
		return
	}
	p := signInPage{Title: "Sign in to " + page.Screen, Screen: page.Screen, Organisation: page.Organisation, Numbers: page.Numbers}
	if choice, ok := s.Screens.LinkGroup(r.Context(), r.PathValue("token")); ok {
		p.Choice = &choice
	}
	s.renderSignIn(w, http.StatusOK, p)
}

// signInPick takes the number picked: the right one sends the browser on
// to the identity platform, with the state bound to it by a cookie.
func (s *Server) signInPick(w http.ResponseWriter, r *http.Request) {
	if front.CrossSite(r) {
		http.Error(w, "refused: this form may only be sent from placard's own sign-in page", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the form could not be read", http.StatusBadRequest)
		return
	}
	if err := s.Screens.ChooseScope(r.Context(), r.PathValue("token"), r.PostForm.Get("scope")); err != nil {
		s.signInRefused(w, err)
		return
	}
	authURL, binding, err := s.Screens.PickNumber(r.Context(), r.PathValue("token"), r.PostForm.Get("number"))
	if err != nil {
		s.signInRefused(w, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: bindingCookie(r), Value: binding, Path: "/", MaxAge: int(bindingLifetime / time.Second),
		HttpOnly: true, Secure: front.IsSecure(r), SameSite: http.SameSiteLaxMode,
	})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, authURL, http.StatusSeeOther)
}

// signInCallback finishes a sign-in: the identity platform sent the
// phone's browser back with a code (or an error) and the state.
func (s *Server) signInCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cb := screens.Callback{State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error"), ErrorText: q.Get("error_description")}
	if c, err := r.Cookie(bindingCookie(r)); err == nil {
		cb.Binding = c.Value
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), callbackTimeout)
	defer cancel()
	screen, err := s.Screens.FinishLink(ctx, cb)
	var le *screens.LinkError
	if !errors.As(err, &le) || le.Outcome != screens.LinkInvalidState {
		// The sign-in this browser was bound to is over, one way or the
		// other. A callback that matched no sign-in of this browser
		// leaves its cookie alone: it may be another's forgery.
		http.SetCookie(w, &http.Cookie{Name: bindingCookie(r), Value: "", Path: "/", MaxAge: -1,
			HttpOnly: true, Secure: front.IsSecure(r), SameSite: http.SameSiteLaxMode})
	}
	if err != nil {
		s.signInRefused(w, err)
		return
	}
	s.Log.Info("signed in by QR code", "screen", screen)
	s.renderSignIn(w, http.StatusOK, signInPage{Outcome: screens.LinkSignedIn, Heading: screen + " now shows your day"})
}

// signInRefused shows why a link or callback did not sign anyone in.
func (s *Server) signInRefused(w http.ResponseWriter, err error) {
	var le *screens.LinkError
	if !errors.As(err, &le) {
		le = &screens.LinkError{Outcome: screens.LinkFailed}
	}
	scan := "Scan the QR code the screen shows now to sign in."
	p := signInPage{Outcome: le.Outcome}
	status := http.StatusOK
	switch le.Outcome {
	case screens.LinkExpired:
		p.Heading, p.Message, status = "This link has expired", "A screen's QR code works for a few minutes, and is replaced with a new one. "+scan, http.StatusGone
	case screens.LinkUsed:
		p.Heading, p.Message, status = "This link was already used", "A screen's QR code works once. "+scan, http.StatusGone
	case screens.LinkWrongNumber:
		p.Heading, p.Message, status = "That is not the number on the screen",
			"For safety, this link no longer works and the screen shows a new QR code. If you cannot see the screen, someone sent you this link: do not sign in with it.", http.StatusForbidden
	case screens.LinkInvalidState:
		p.Heading, p.Message, status = "This sign-in cannot be finished here",
			"It was not started in this browser, or it has already ended. Nothing changed. "+scan, http.StatusForbidden
	case screens.LinkDeclined:
		p.Heading, p.Message = "Sign-in cancelled", "Nothing changed on the screen. "+scan
	default:
		p.Heading, p.Message, status = "Sign-in did not work", "Nothing changed on the screen. "+scan, http.StatusBadGateway
	}
	if le.Screen != "" && le.Outcome == screens.LinkFailed {
		p.Message = "Nothing changed on " + le.Screen + ". " + scan
	}
	if status == http.StatusBadGateway {
		s.Log.Warn("a sign-in by QR code failed", "screen", le.Screen, "err", err)
	}
	s.renderSignIn(w, status, p)
}
