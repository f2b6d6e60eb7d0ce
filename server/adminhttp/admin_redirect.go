package adminhttp

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/front"
	"github.com/placard/placard/server/identity"
	"github.com/placard/placard/server/secret"
)

// An administrator may also sign in with a Microsoft account by
// authorization code with PKCE, redirected in their own browser: the admin
// page sends the browser to the identity platform, which sends it back to
// /admin/signin/callback. Where the tenant blocks the device code (the
// Microsoft-managed "Block device code flow" policy, on by default in new
// tenants: docs/tenant.md), this still works; the device code stays a
// choice. The tenant and role checks are the same (judge).
//
// The callback's state is bound to the browser that started the sign-in
// by a short-lived cookie, so that a callback forged for, or replayed to,
// another browser signs nobody in; the code is redeemed once, with the
// PKCE verifier that never left the server, and the id token's nonce must
// be this sign-in's. A sign-in lives in the memory of the replica that
// started it, as sessions do.

// redirectLifetime is how long a redirected sign-in may take.
const redirectLifetime = 10 * time.Minute

// maxPendingRedirects bounds the redirected sign-ins that wait at once.
const maxPendingRedirects = 100

// adminRedirect is a redirected sign-in in progress, keyed by the hash of
// its state.
type adminRedirect struct {
	ac      *identity.AuthCode
	binding []byte // hash of the browser's cookie
	expires time.Time
	from    string
}

// stateCookie binds a redirected sign-in to its browser; __Host- over
// HTTPS, as the session's. SameSite=Lax: the identity platform's redirect
// back is a top-level navigation from another site, which a Strict cookie
// would not follow.
func stateCookie(r *http.Request) string {
	if front.IsSecure(r) {
		return "__Host-placard_admin_redirect"
	}
	return "placard_admin_redirect"
}

// CallbackPath is where the identity platform sends an administrator's
// browser back: register <public URL>/admin/signin/callback as a redirect
// URI of the application ("Mobile and desktop applications").
const CallbackPath = "/admin/signin/callback"

// startRedirect sends the browser to the identity platform.
func (a *Admin) startRedirect(w http.ResponseWriter, r *http.Request) {
	if a.Identity == nil || a.Verifier == nil || a.RedirectURI == "" {
		a.renderLogin(w, r, http.StatusNotFound, "Signing in with a Microsoft account by redirect is not enabled on this server.")
		return
	}
	now := a.Now()
	a.mu.Lock()
	for k, p := range a.redirects {
		if now.After(p.expires) {
			delete(a.redirects, k)
		}
	}
	pending := len(a.redirects)
	a.mu.Unlock()
	if pending >= maxPendingRedirects {
		a.renderLogin(w, r, http.StatusTooManyRequests, fmt.Sprintf("%d sign-ins already wait: try again in a few minutes.", pending))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	ac, err := a.Identity.StartAdminAuthCode(ctx, a.RedirectURI)
	if err != nil {
		a.Log.Warn("starting an administrator's sign-in by redirect", "err", err)
		a.renderLogin(w, r, http.StatusServiceUnavailable, "Microsoft sign-in could not be reached: try again in a moment.")
		return
	}
	binding := secret.New()
	a.mu.Lock()
	a.redirects[hashKey(ac.State())] = &adminRedirect{ac: ac, binding: secret.Hash(binding), expires: now.Add(redirectLifetime), from: front.ClientAddr(r)}
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: stateCookie(r), Value: binding, Path: "/", MaxAge: int(redirectLifetime / time.Second),
		HttpOnly: true, Secure: front.IsSecure(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, ac.URL(), http.StatusSeeOther)
}

// callback ends a redirected sign-in: the browser comes back with a code
// (or an error) and the state.
func (a *Admin) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	a.mu.Lock()
	p := a.redirects[hashKey(state)]
	if p != nil {
		delete(a.redirects, hashKey(state)) // single use, whatever comes of it
	}
	a.mu.Unlock()
	clear := func() {
		http.SetCookie(w, &http.Cookie{Name: stateCookie(r), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: front.IsSecure(r), SameSite: http.SameSiteLaxMode})
	}
	if p == nil || state == "" || a.Now().After(p.expires) || !p.ac.StateMatches(state) {
		clear()
		a.renderLogin(w, r, http.StatusBadRequest, "That sign-in is unknown here or has expired: sign in again.")
		return
	}
	c, err := r.Cookie(stateCookie(r))
	if err != nil || subtle.ConstantTimeCompare(secret.Hash(c.Value), p.binding) != 1 {
		clear()
		a.failed(r, "Microsoft sign-in (redirect)", "the callback came to a browser that did not start the sign-in")
		a.renderLogin(w, r, http.StatusForbidden, "That sign-in was started in another browser: sign in again from this one.")
		return
	}
	clear()
	from := "Microsoft sign-in by redirect from " + p.from
	var claims identity.IDClaims
	if e := q.Get("error"); e != "" {
		err = identity.AuthorizeError(e, q.Get("error_description"))
	} else {
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		claims, err = p.ac.RedeemAdmin(ctx, q.Get("code"), a.Verifier)
	}
	who, err := a.judge(claims, err, from, p.from)
	if err != nil {
		a.renderLogin(w, r, front.Status(err), "Signing in with Microsoft: "+server.ErrorMessage(err)+".")
		return
	}
	session, _ := a.newSession(who, viaPage, p.from)
	setAdminCookie(w, r, adminCookie(r), session, int(a.MicrosoftSessionLifetime/time.Second))
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}
