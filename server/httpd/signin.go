package httpd

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/admit"
	"github.com/placard/placard/server/front"
	"github.com/placard/placard/server/limit"
	"github.com/placard/placard/server/screens"
)

// The phone's side of sign-in by QR code: the page of a screen's one-time
// link, where the phone types the number the screen shows, the callback
// of the identity platform, and the page that says how it ended. Small
// server-rendered pages, no script, in the screen's language. The
// screen's cookie plays no part: the phone is not the screen.

//go:embed signin
var signInFS embed.FS

var signInTmpl = template.Must(template.ParseFS(signInFS, "signin/*.html"))

// ResultPath is where the callback sends the phone: the page that says how
// the sign-in ended, at an address without the code or the state, so
// that neither stays in the phone's history.
const ResultPath = "/signin/result"

// Default limits of the phone's pages per client address. Only failures
// count (an unknown or used link, a forged form or callback): a person
// opens a link, types a number and comes back once, and a whole office
// behind one address does so without ever failing, while guessing links
// or states gets nowhere. A callback whose state and cookie match a
// sign-in in progress is never refused.
var (
	DefaultSignInLinks     = limit.Rate{Max: 30, Per: 10 * time.Minute}
	DefaultSignInCallbacks = limit.Rate{Max: 10, Per: 10 * time.Minute}
)

// callbackTimeout bounds a callback: the code's redemption and the screen
// taking the account.
const callbackTimeout = 30 * time.Second

// Cookies of the phone's pages. The __Host- prefix (over HTTPS) pins each
// to this host. Each is SameSite=Lax: a phone reaches the link from its
// camera (no site), and comes back from the identity platform's site (a
// top-level navigation from another site), and sends neither on another
// site's form or request.
//
//   - hold: a secret of the browser, kept for the links it opens; the
//     first browser to open a link holds it.
//   - signin: what binds a sign-in's state to the browser that started
//     it.
//   - result: how the last sign-in ended, for the result page.
func phoneCookie(r *http.Request, name string) string {
	if front.IsSecure(r) {
		return "__Host-placard_" + name
	}
	return "placard_" + name
}

const (
	holdLifetime    = 30 * time.Minute
	bindingLifetime = 10 * time.Minute
	resultLifetime  = 10 * time.Minute
)

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, value string, life time.Duration) {
	c := &http.Cookie{Name: phoneCookie(r, name), Value: value, Path: "/", MaxAge: int(life / time.Second),
		HttpOnly: true, Secure: front.IsSecure(r), SameSite: http.SameSiteLaxMode}
	if life < 0 {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(phoneCookie(r, name))
	if err != nil || len(c.Value) > 100 {
		return ""
	}
	return c.Value
}

// newHold returns a fresh browser secret.
func newHold() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("httpd: crypto/rand failed: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// formToken is what a link's form sends back beside the number: derived
// from the browser's hold secret and the link, so that only a page served
// to the browser that holds the link carries it. It is the double-submit
// token of the form (cookie and hidden field), whatever the browser sends
// or not of Origin and Sec-Fetch-Site (Safari before 16.4 sends neither,
// and a form of this page sends "Origin: null" under its no-referrer
// policy), and it never shows the cookie's own value.
func formToken(hold, token string) string {
	mac := hmac.New(sha256.New, []byte(hold))
	mac.Write([]byte("placard sign-in form\x00" + token))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

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
	mux.Handle("GET "+screens.CallbackPath, s.signIns.Handler(s.failures(callbacks, s.signInCallback), admit.RefusePage))
	mux.Handle("GET "+ResultPath, s.signIns.Handler(http.HandlerFunc(s.signInResult), admit.RefusePage))
	mux.Handle("GET "+screens.LinkPath+"{token}", s.signIns.Handler(s.failures(links, s.signInLink), admit.RefusePage))
	mux.Handle("POST "+screens.LinkPath+"{token}", s.signIns.Handler(s.failures(links, s.signInType), admit.RefusePage))
	mux.Handle("GET "+screens.ScopePath+"{token}", s.signIns.Handler(s.failures(links, s.scopePage), admit.RefusePage))
	mux.Handle("POST "+screens.ScopePath+"{token}", s.signIns.Handler(s.failures(links, s.scopeChosen), admit.RefusePage))
}

// scopePage is the device-code path's page of a screen of a group that
// shares its sign-ins: the code, and the choice of this screen or all
// the group's, before the phone goes on to the verification address.
func (s *Server) scopePage(w http.ResponseWriter, r *http.Request, limited *refusal) bool {
	offer, err := s.Screens.OpenScope(r.Context(), r.PathValue("token"))
	if err != nil {
		return s.signInRefused(w, r, err, limited)
	}
	tx := phoneTextsFor(offer.Lang, r)
	p := signInPage{Lang: tx.lang, Title: fmt.Sprintf(tx.signInTo, offer.Screen), SignInTo: tx.signInToPrefix, Screen: offer.Screen,
		UserCode: offer.UserCode, EnterCode: tx.enterCode, EnterCodeOn: fmt.Sprintf(tx.enterCodeOn, offer.Screen), Submit: tx.submit}
	p.choice(offer.Choice, tx)
	s.renderSignIn(w, http.StatusOK, p)
	return false
}

// scopeChosen takes the choice and sends the phone on to enter the code.
func (s *Server) scopeChosen(w http.ResponseWriter, r *http.Request, limited *refusal) bool {
	if front.CrossSite(r) {
		http.Error(w, "refused: this form may only be sent from placard's own sign-in page", http.StatusForbidden)
		return true
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the form could not be read", http.StatusBadRequest)
		return true
	}
	onward, err := s.Screens.ChooseDeviceScope(r.Context(), r.PathValue("token"), r.PostForm.Get("scope"))
	if server.ErrorCode(err) == server.EINVALID {
		http.Error(w, server.ErrorMessage(err), http.StatusBadRequest)
		return true
	}
	if err != nil {
		return s.signInRefused(w, r, err, limited)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, onward, http.StatusSeeOther)
	return false
}

// A phoneHandler serves one of the phone's pages, and reports whether it
// failed (a refused link, form or callback): failures are what the
// per-address limit counts.
type phoneHandler func(w http.ResponseWriter, r *http.Request, limited *refusal) (failed bool)

// refusal is how a page answers a client address past its limit of
// failures, in place of a failure: 429, with when to come back.
type refusal struct{ retry time.Time }

// failures counts the failures of each client address (its /64 for
// IPv6) with l; past the limit, a request that fails is answered 429
// instead, and one that succeeds (a live link, a callback of a sign-in in
// progress) is served as any other.
func (s *Server) failures(l *limit.Limiter, h phoneHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := front.ClientKey(r)
		var limited *refusal
		if ok, retry := l.Check(key); !ok {
			limited = &refusal{retry: retry}
		}
		if h(w, r, limited) && limited == nil {
			l.Allow(key)
			if l.Count(key) == l.Rate().Max {
				s.Log.Warn("too many failed sign-in pages from one address: its next failures are answered 429 for a while",
					"remote", front.ClientAddr(r), "limit", l.Rate().String())
			}
		}
	}
}

// tooMany answers a client address past its limit.
func (s *Server) tooMany(w http.ResponseWriter, r *http.Request, lim *refusal, lang string) {
	w.Header().Set("Retry-After", retryAfter(lim.retry))
	tx := phoneTextsFor(lang, r)
	s.renderSignIn(w, http.StatusTooManyRequests, signInPage{Lang: tx.lang, Outcome: screens.LinkFailed,
		Heading: tx.tooMany, Message: tx.tooManyWhy})
}

// signInPage is what the page's template receives: the form to type the
// number in, or an outcome; every text in the screen's language.
type signInPage struct {
	Lang         string
	Title        string
	Screen       string
	Organisation string
	// The form.
	SignInTo, Question, Label, Submit, Hint, Then, Problem string
	Hold                                                   string
	Digits                                                 int
	// The outcome.
	Outcome string
	Heading string
	Message string
	// Choice is offered on a screen whose group shares its sign-ins:
	// this screen, or all of the group's (signin-scope), with its words.
	Choice                                   *screens.GroupChoice
	ShowOn, ThisScreen, AllScreens, ShowHint string
	// UserCode is the device-code path's page of the choice: the code to
	// enter on Microsoft's page, with the words around it.
	UserCode, EnterCode, EnterCodeOn string
}

// choice offers a group's choice on the page, when there is one.
func (p *signInPage) choice(c screens.GroupChoice, tx *phoneText) {
	if c.Screens < 2 {
		return
	}
	p.Choice = &c
	p.ShowOn, p.ThisScreen, p.ShowHint = tx.showOn, tx.thisScreen, tx.showHint
	p.AllScreens = fmt.Sprintf(tx.allScreens, c.Screens, c.Group)
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

// signInLink shows the form to type the number in, to the first browser
// that opens the link and to it alone.
func (s *Server) signInLink(w http.ResponseWriter, r *http.Request, limited *refusal) bool {
	token := r.PathValue("token")
	hold := cookieValue(r, "hold")
	if hold == "" {
		hold = newHold()
	}
	page, err := s.Screens.OpenLink(r.Context(), token, hold)
	if err != nil {
		return s.signInRefused(w, r, err, limited)
	}
	s.setCookie(w, r, "hold", hold, holdLifetime)
	s.renderForm(w, r, http.StatusOK, page, token, hold, "")
	return false
}

// renderForm draws the form of a link the browser holds, with a problem
// of its last try when there was one, and the choice of the screen's
// group when it shares its sign-ins.
func (s *Server) renderForm(w http.ResponseWriter, r *http.Request, status int, page screens.LinkPage, token, hold, problem string) {
	tx := phoneTextsFor(page.Lang, r)
	p := signInPage{
		Lang: tx.lang, Title: fmt.Sprintf(tx.signInTo, page.Screen), SignInTo: tx.signInToPrefix, Screen: page.Screen, Organisation: page.Organisation,
		Question: fmt.Sprintf(tx.question, page.Screen), Label: tx.label, Submit: tx.submit,
		Hint: fmt.Sprintf(tx.hint, page.Screen), Then: fmt.Sprintf(tx.then, page.Screen), Problem: problem,
		Hold: formToken(hold, token), Digits: screens.MatchDigits,
	}
	if choice, ok := s.Screens.LinkGroup(r.Context(), token); ok {
		p.choice(choice, tx)
	}
	s.renderSignIn(w, status, p)
}

// validNumber reports whether the phone typed a number of the screen's
// length.
func validNumber(n string) bool {
	if len(n) != screens.MatchDigits {
		return false
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// signInType takes the number typed: the right one sends the browser on
// to the identity platform, with the state bound to it by a cookie. The
// form must come from the page of the browser that holds the link (its
// hidden field matches its cookie).
func (s *Server) signInType(w http.ResponseWriter, r *http.Request, limited *refusal) bool {
	if front.CrossSite(r) {
		http.Error(w, "refused: this form may only be sent from placard's own sign-in page", http.StatusForbidden)
		return true
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the form could not be read", http.StatusBadRequest)
		return true
	}
	token, hold := r.PathValue("token"), cookieValue(r, "hold")
	if hold == "" || !hmac.Equal([]byte(r.PostForm.Get("hold")), []byte(formToken(hold, token))) {
		// Not this browser's page: a form of another site, or of a
		// browser that never opened the link. Nothing changes.
		s.Log.Warn("refusing a sign-in form without its page's field", "remote", front.ClientAddr(r))
		if limited != nil {
			s.tooMany(w, r, limited, "")
			return true
		}
		tx := phoneTextsFor("", r)
		s.renderSignIn(w, http.StatusForbidden, signInPage{Lang: tx.lang, Outcome: screens.LinkInvalidState,
			Heading: tx.notThisPage, Message: tx.notThisPageWhy + " " + tx.scan})
		return true
	}
	number := strings.TrimSpace(r.PostForm.Get("number"))
	if !validNumber(number) {
		// A typo ends nothing: the form again, with what to type.
		page, err := s.Screens.OpenLink(r.Context(), token, hold)
		if err != nil {
			return s.signInRefused(w, r, err, limited)
		}
		tx := phoneTextsFor(page.Lang, r)
		s.renderForm(w, r, http.StatusBadRequest, page, token, hold, tx.badNumber)
		return false
	}
	authURL, binding, err := s.Screens.TypeNumber(r.Context(), token, hold, number, r.PostForm.Get("scope"))
	if server.ErrorCode(err) == server.EINVALID {
		http.Error(w, server.ErrorMessage(err), http.StatusBadRequest)
		return true
	}
	if err != nil {
		return s.signInRefused(w, r, err, limited)
	}
	s.setCookie(w, r, "signin", binding, bindingLifetime)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, authURL, http.StatusSeeOther)
	return false
}

// signInCallback finishes a sign-in: the identity platform sent the
// phone's browser back with a code (or an error) and the state. Whatever
// the outcome, the phone is sent on (303) to the result page, so that
// the code and the state do not stay in its history.
func (s *Server) signInCallback(w http.ResponseWriter, r *http.Request, limited *refusal) bool {
	q := r.URL.Query()
	cb := screens.Callback{State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error"), ErrorText: q.Get("error_description"),
		Binding: cookieValue(r, "signin")}
	if limited != nil && !s.Screens.Live(r.Context(), cb) {
		s.tooMany(w, r, limited, "")
		return true
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), callbackTimeout)
	defer cancel()
	done, err := s.Screens.FinishLink(ctx, cb)
	var le *screens.LinkError
	if !errors.As(err, &le) || le.Outcome != screens.LinkInvalidState {
		// The sign-in this browser was bound to is over, one way or the
		// other. A callback that matched no sign-in of this browser
		// leaves its cookie alone: it may be another's forgery.
		s.setCookie(w, r, "signin", "", -1)
	}
	res := result{Outcome: screens.LinkSignedIn, Screen: done.Screen, Lang: done.Lang}
	if err != nil {
		if le == nil {
			le = &screens.LinkError{Outcome: screens.LinkFailed}
		}
		res = result{Outcome: le.Outcome, Screen: le.Screen, Lang: le.Lang}
		if le.Outcome == screens.LinkFailed {
			s.Log.Warn("a sign-in by QR code failed", "screen", le.Screen, "err", err)
		}
	} else {
		s.Log.Info("signed in by QR code", "screen", done.Screen)
	}
	s.setCookie(w, r, "result", res.encode(), resultLifetime)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", ResultPath)
	w.WriteHeader(http.StatusSeeOther)
	return err != nil
}

// result is how a sign-in ended, as the result cookie keeps it for the
// result page: nothing secret.
type result struct {
	Outcome, Screen, Lang string
}

func (r result) encode() string {
	return url.Values{"o": {r.Outcome}, "s": {r.Screen}, "l": {r.Lang}}.Encode()
}

func decodeResult(v string) (result, bool) {
	q, err := url.ParseQuery(v)
	if err != nil || q.Get("o") == "" {
		return result{}, false
	}
	return result{Outcome: q.Get("o"), Screen: q.Get("s"), Lang: q.Get("l")}, true
}

// signInResult shows how the phone's last sign-in ended.
func (s *Server) signInResult(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(phoneCookie(r, "result"))
	var res result
	ok := err == nil
	if ok {
		// Cookie values are not escaped by net/http: the query form was
		// written as it is.
		res, ok = decodeResult(c.Value)
	}
	if !ok {
		tx := phoneTextsFor("", r)
		s.renderSignIn(w, http.StatusGone, signInPage{Lang: tx.lang, Outcome: screens.LinkExpired, Heading: tx.noResult, Message: tx.noResultWhy + " " + tx.scan})
		return
	}
	if res.Outcome == screens.LinkSignedIn {
		tx := phoneTextsFor(res.Lang, r)
		s.renderSignIn(w, http.StatusOK, signInPage{Lang: tx.lang, Outcome: screens.LinkSignedIn, Heading: fmt.Sprintf(tx.signedIn, res.Screen)})
		return
	}
	s.renderRefusal(w, r, &screens.LinkError{Outcome: res.Outcome, Screen: res.Screen, Lang: res.Lang})
}

// signInRefused shows why a link or its form did not go on, or 429 past
// the address's limit; it reports whether that counts as a failure (a
// guess, a forgery or a replay, not the server's own trouble).
func (s *Server) signInRefused(w http.ResponseWriter, r *http.Request, err error, limited *refusal) bool {
	var le *screens.LinkError
	if !errors.As(err, &le) {
		le = &screens.LinkError{Outcome: screens.LinkFailed}
	}
	if le.Outcome == screens.LinkFailed {
		s.Log.Warn("a sign-in by QR code failed", "screen", le.Screen, "err", err)
		s.renderRefusal(w, r, le)
		return false
	}
	if limited != nil {
		s.tooMany(w, r, limited, le.Lang)
		return true
	}
	s.renderRefusal(w, r, le)
	return true
}

// renderRefusal draws the page of an outcome that is not a sign-in.
func (s *Server) renderRefusal(w http.ResponseWriter, r *http.Request, le *screens.LinkError) {
	tx := phoneTextsFor(le.Lang, r)
	p := signInPage{Lang: tx.lang, Outcome: le.Outcome}
	status := http.StatusOK
	switch le.Outcome {
	case screens.LinkExpired:
		p.Heading, p.Message, status = tx.expired, tx.expiredWhy+" "+tx.scan, http.StatusGone
	case screens.LinkUsed:
		p.Heading, p.Message, status = tx.used, tx.usedWhy+" "+tx.scan, http.StatusGone
	case screens.LinkOpenedElsewhere:
		p.Heading, p.Message, status = tx.elsewhere, tx.elsewhereWhy, http.StatusForbidden
	case screens.LinkWrongNumber:
		p.Heading, p.Message, status = tx.wrongNumber, tx.wrongNumberWhy, http.StatusForbidden
	case screens.LinkInvalidState:
		p.Heading, p.Message, status = tx.invalidState, tx.invalidStateWhy+" "+tx.scan, http.StatusForbidden
	case screens.LinkDeclined:
		p.Heading, p.Message = tx.declined, tx.nothingChanged+" "+tx.scan
	default:
		p.Outcome = screens.LinkFailed
		p.Heading, p.Message, status = tx.failed, tx.nothingChanged+" "+tx.scan, http.StatusBadGateway
		if le.Screen != "" {
			p.Message = fmt.Sprintf(tx.nothingChangedOn, le.Screen) + " " + tx.scan
		}
	}
	s.renderSignIn(w, status, p)
}

// phoneLang is the language of a phone's page that names no screen: the
// first of the phone's languages (Accept-Language, in its order) that
// the pages speak, else English.
func phoneLang(r *http.Request) string {
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		primary, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if _, ok := phoneTexts[primary]; ok {
			return primary
		}
	}
	return "en"
}
